// Package demo seeds the demo restaurant: its menu, staff and a paired iPad,
// so the whole system can be tried without setup.
package demo

import (
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
)

// Menu returns the demo restaurant's menu as one batch, its objects
// referring to each other by #client IDs.
//
// The Fynlo Arms is a London gastropub: food from the kitchen's grill, fryer,
// cold and pastry sections, drinks from the bar and the coffee machine, priced
// in GBP with VAT included. Barcodes are made-up EAN-13s (valid check digits)
// on the bottled drinks.
func Menu() *menu.Batch {
	// The allergens and dietary flags, as menu.Allergens and
	// menu.DietaryFlags spell them.
	const (
		celery      = "celery"
		gluten      = "cereals_gluten"
		crustaceans = "crustaceans"
		eggs        = "eggs"
		fish        = "fish"
		milk        = "milk"
		molluscs    = "molluscs"
		mustard     = "mustard"
		sesame      = "sesame"
		soya        = "soya"
		sulphites   = "sulphites"
		treeNuts    = "tree_nuts"

		vegan = "vegan"
		veg   = "vegetarian"
		gf    = "gluten_free"
		df    = "dairy_free"
	)
	// Tax categories.
	const (
		vatHot     = "#vat-hot"
		vatCold    = "#vat-cold"
		vatSoft    = "#vat-soft"
		vatAlcohol = "#vat-alcohol"
		vatZero    = "#vat-zero"
		vatSweets  = "#vat-sweets"
	)

	gbp := func(p int64) money.Money { return money.Money{Amount: p, Currency: "GBP"} }
	l := func(s ...string) []string { return append([]string{}, s...) } // never nil, so it encodes as []
	v := func(name string, price int64, barcodes ...string) menu.Variant {
		return menu.Variant{Name: name, Price: gbp(price), Barcodes: barcodes}
	}
	one := func(price int64) []menu.Variant { return []menu.Variant{v("Regular", price)} }
	// glass is a wine by the glass and by the bottle.
	glass := func(ml125, ml175, ml250, bottle int64) []menu.Variant {
		return []menu.Variant{v("125ml", ml125), v("175ml", ml175), v("250ml", ml250), v("Bottle", bottle)}
	}
	pint := func(half, pint int64) []menu.Variant { return []menu.Variant{v("Half", half), v("Pint", pint)} }
	// section returns a maker of items sharing a category, tax category,
	// kitchen station and course; a cost of 0 leaves the cost price unset.
	section := func(cat, tax, station string, course int) func(id, name, desc string, vs []menu.Variant, cost int64, allergens, dietary []string, groups ...string) *menu.Item {
		return func(id, name, desc string, vs []menu.Variant, cost int64, allergens, dietary []string, groups ...string) *menu.Item {
			it := &menu.Item{ID: id, Name: name, Description: desc, CategoryID: cat, TaxCategoryID: tax, KitchenStation: station,
				Course: course, Variants: vs, ModifierGroups: l(groups...), Allergens: l(allergens...), Dietary: l(dietary...)}
			if cost > 0 {
				c := gbp(cost)
				it.CostPrice = &c
			}
			return it
		}
	}
	mod := func(name string, price int64, allergens ...string) menu.Modifier {
		return menu.Modifier{Name: name, Price: gbp(price), Allergens: allergens}
	}
	plant := func(m menu.Modifier) menu.Modifier { m.Dietary = []string{vegan, veg, df}; return m }
	cooked := func(name string) menu.Modifier { return mod(name, 0) }

	b := &menu.Batch{}

	// UK VAT: hot food and all drinks are standard-rated however served;
	// cold food is zero-rated taken away or delivered.
	b.TaxCategories = []*menu.TaxCategory{
		{ID: vatHot, Name: "Hot food", Rates: menu.Rates{DineIn: 2000, Takeaway: 2000, Delivery: 2000}},
		{ID: vatCold, Name: "Cold food", Rates: menu.Rates{DineIn: 2000, Takeaway: 0, Delivery: 0}},
		{ID: vatSoft, Name: "Soft drinks", Rates: menu.Rates{DineIn: 2000, Takeaway: 2000, Delivery: 2000}},
		{ID: vatAlcohol, Name: "Alcohol", Rates: menu.Rates{DineIn: 2000, Takeaway: 2000, Delivery: 2000}},
		{ID: vatSweets, Name: "Ice cream & sweets", Rates: menu.Rates{DineIn: 2000, Takeaway: 2000, Delivery: 2000}}, // standard-rated, though cold
		{ID: vatZero, Name: "Zero-rated", Rates: menu.Rates{DineIn: 0, Takeaway: 0, Delivery: 0}},                    // e.g. a charity donation line
	}

	b.Categories = []*menu.Category{
		{ID: "#starters", Name: "Starters", Position: 0, Color: "#C0392B"},
		{ID: "#small-plates", Name: "Small plates", Position: 1, Color: "#E67E22"},
		{ID: "#mains", Name: "Mains", Position: 2, Color: "#8E44AD"},
		{ID: "#grill", Name: "Grill", Position: 3, Color: "#922B21"},
		{ID: "#fish", Name: "Fish", Position: 4, Color: "#2E86C1"},
		{ID: "#burgers", Name: "Burgers", Position: 5, Color: "#D68910"},
		{ID: "#sides", Name: "Sides", Position: 6, Color: "#7D8C3A"},
		{ID: "#desserts", Name: "Desserts", Position: 7, Color: "#D81B60"},
		{ID: "#hot-drinks", Name: "Hot drinks", Position: 8, Color: "#6D4C41"},
		{ID: "#soft-drinks", Name: "Soft drinks", Position: 9, Color: "#17A589"},
		{ID: "#beer-cider", Name: "Beer & cider", Position: 10, Color: "#F1C40F"},
		{ID: "#wine", Name: "Wine", Position: 11, Color: "#7B241C"},
		{ID: "#red-wine", Name: "Red wine", ParentID: "#wine", Position: 0, Color: "#641E16"},
		{ID: "#cocktails", Name: "Cocktails & spirits", Position: 12, Color: "#1ABC9C"},
	}

	b.ModifierGroups = []*menu.ModifierGroup{
		{ID: "#cook", Name: "How would you like it cooked?", MinSelect: 1, MaxSelect: 1, PreModifiers: l(),
			Modifiers: []menu.Modifier{cooked("Blue"), cooked("Rare"), cooked("Medium rare"), cooked("Medium"), cooked("Medium well"), cooked("Well done")}},
		{ID: "#steak-sauce", Name: "Sauce", MinSelect: 0, MaxSelect: 2, FreeAllowance: 1, PreModifiers: l("on_the_side"),
			Modifiers: []menu.Modifier{
				mod("Peppercorn", 250, celery, milk, sulphites),
				mod("Béarnaise", 250, eggs, milk, sulphites),
				plant(mod("Chimichurri", 250, sulphites)),
				mod("Stilton butter", 250, milk),
				mod("Red wine jus", 250, celery, sulphites),
			}},
		{ID: "#chips-swap", Name: "Swap your chips", MinSelect: 0, MaxSelect: 1, PreModifiers: l(),
			Modifiers: []menu.Modifier{
				plant(mod("Triple-cooked chips", 0)),
				plant(mod("Sweet potato fries", 150)),
				mod("Truffle & Parmesan fries", 200, milk),
				plant(mod("House salad", 0, mustard, sulphites)),
				mod("Buttery mash", 0, milk),
			}},
		{ID: "#burger-extras", Name: "Burger extras", MinSelect: 0, MaxSelect: 5, PreModifiers: l("no", "extra"),
			Modifiers: []menu.Modifier{
				mod("Smoked streaky bacon", 200),
				mod("Cheddar", 150, milk),
				mod("Stilton", 150, milk),
				mod("Fried egg", 150, eggs),
				plant(mod("Jalapeños", 100)),
				plant(mod("Caramelised onions", 100)),
				plant(mod("Smashed avocado", 200)),
				mod("Extra beef patty", 450),
				plant(mod("Pickles", 0, sulphites)),
				mod("Burger sauce", 0, eggs, mustard),
			}},
		{ID: "#salad-protein", Name: "Add to your salad", MinSelect: 0, MaxSelect: 1, PreModifiers: l(),
			Modifiers: []menu.Modifier{
				mod("Grilled chicken", 500),
				mod("Grilled halloumi", 400, milk),
				mod("Hot-smoked salmon", 600, fish),
				plant(mod("Crispy tofu", 350, soya)),
			}},
		{ID: "#dessert-side", Name: "Served with", MinSelect: 0, MaxSelect: 1, PreModifiers: l("on_the_side"),
			Modifiers: []menu.Modifier{
				mod("Vanilla ice cream", 0, eggs, milk),
				mod("Clotted cream", 0, milk),
				mod("Custard", 0, eggs, milk),
				mod("Pouring cream", 0, milk),
				plant(mod("Vegan vanilla ice cream", 0, soya)),
			}},
		{ID: "#ice-cream-flavours", Name: "Ice cream flavours", MinSelect: 1, MaxSelect: 3, PreModifiers: l(),
			Modifiers: []menu.Modifier{
				mod("Madagascan vanilla", 0, eggs, milk),
				mod("Salted caramel", 0, eggs, milk),
				mod("Dark chocolate", 0, eggs, milk, soya),
				mod("Pistachio", 0, eggs, milk, treeNuts),
				mod("Strawberry", 0, milk),
				plant(mod("Raspberry sorbet", 0)),
				plant(mod("Alphonso mango sorbet", 0)),
			}},
		{ID: "#milk", Name: "Milk", MinSelect: 0, MaxSelect: 1, PreModifiers: l("light", "extra"),
			Modifiers: []menu.Modifier{
				mod("Whole milk", 0, milk),
				mod("Semi-skimmed milk", 0, milk),
				plant(mod("Oat milk", 40, gluten)), // oats: not gluten-free unless certified
				plant(mod("Soy milk", 40, soya)),
				plant(mod("Almond milk", 40, treeNuts)),
			}},
		{ID: "#syrup", Name: "Syrup", MinSelect: 0, MaxSelect: 2, PreModifiers: l("light", "extra"),
			Modifiers: []menu.Modifier{plant(mod("Vanilla syrup", 60)), plant(mod("Caramel syrup", 60)), plant(mod("Hazelnut syrup", 60))}},
		{ID: "#mixer", Name: "Mixer", MinSelect: 0, MaxSelect: 1, PreModifiers: l("on_the_side"),
			Modifiers: []menu.Modifier{
				plant(mod("Fever-Tree Indian tonic", 250)),
				plant(mod("Fever-Tree Refreshingly Light tonic", 250)),
				plant(mod("Fever-Tree ginger ale", 250)),
				plant(mod("Fever-Tree ginger beer", 250)),
				plant(mod("Coca-Cola", 200)),
				plant(mod("Diet Coke", 200)),
				plant(mod("Lemonade", 150)),
				plant(mod("Soda water", 0)),
			}},
	}

	starter := section("#starters", vatHot, "grill", 1)
	coldStarter := section("#starters", vatCold, "cold", 1)
	b.Items = append(b.Items,
		starter("#soup", "Soup of the day", "Seasonal vegetable soup, sourdough, salted butter", one(850), 230, l(celery, gluten, milk), l(veg)),
		section("#starters", vatHot, "fryer", 1)("#scotch-egg", "Scotch egg", "Runny free-range egg, Cumberland sausage, brown sauce", one(950), 290, l(eggs, gluten, sulphites), nil),
		coldStarter("#parfait", "Chicken liver parfait", "Madeira jelly, red onion chutney, toasted brioche", one(1050), 310, l(eggs, gluten, milk, sulphites), nil),
		coldStarter("#prawn-cocktail", "Prawn cocktail", "Atlantic prawns, Marie Rose, Little Gem, buttered brown bread", one(1150), 380, l(crustaceans, eggs, fish, gluten, milk, mustard), nil),
		coldStarter("#burrata", "Burrata", "Heritage tomatoes, basil oil, aged balsamic, grilled focaccia", one(1200), 400, l(gluten, milk, sulphites), l(veg)),
		coldStarter("#mackerel-pate", "Smoked mackerel pâté", "Pickled cucumber, horseradish crème fraîche, toasted sourdough", one(950), 280, l(fish, gluten, milk, mustard, sulphites), nil),
		coldStarter("#goats-cheese", "Whipped goat's cheese", "Roast beetroot, candied walnuts, wildflower honey", one(1050), 330, l(milk, treeNuts), l(veg, gf)),
		starter("#garlic-mushrooms", "Garlic mushrooms on toast", "Wild mushrooms, garlic and tarragon cream, sourdough", one(950), 260, l(gluten, milk, sulphites), l(veg)),
	)

	small := section("#small-plates", vatHot, "fryer", 1)
	coldSmall := section("#small-plates", vatCold, "cold", 1)
	b.Items = append(b.Items,
		section("#small-plates", vatHot, "pastry", 1)("#sausage-roll", "Pork & fennel sausage roll", "All-butter puff pastry, English mustard", one(750), 210, l(eggs, gluten, milk, mustard, sulphites), nil),
		small("#squid", "Salt & pepper squid", "Lime, red chilli, garlic aioli", one(1050), 320, l(eggs, gluten, molluscs, mustard), nil),
		section("#small-plates", vatHot, "grill", 1)("#padron", "Padrón peppers", "Blistered, Maldon sea salt", one(650), 180, nil, l(vegan, veg, gf, df)),
		small("#wings", "Buffalo chicken wings", "Blue cheese dip, celery sticks", one(950), 300, l(celery, eggs, milk, mustard), nil),
		small("#halloumi-fries", "Halloumi fries", "Za'atar yoghurt, pomegranate, mint", one(850), 250, l(gluten, milk, sesame), l(veg)),
		small("#tempura-prawns", "Tempura king prawns", "Sriracha mayonnaise, lime", one(1100), 360, l(crustaceans, eggs, gluten, mustard), nil),
		coldSmall("#sourdough", "Sourdough & cultured butter", "Warm sourdough, cultured butter, Maldon salt", one(550), 140, l(gluten, milk), l(veg)),
		coldSmall("#olives", "Gordal olives", "Orange zest, rosemary, chilli", one(550), 160, nil, l(vegan, veg, gf, df)),
		section("#small-plates", vatHot, "grill", 1)("#rarebit", "Welsh rarebit", "Mature Cheddar, stout, Worcestershire sauce, sourdough", one(850), 230, l(eggs, fish, gluten, milk, mustard), nil),
		small("#arancini", "Wild mushroom arancini", "Truffle mayonnaise, rocket", one(850), 240, l(celery, eggs, gluten, milk, mustard, sulphites), l(veg)),
	)

	mainCourse := section("#mains", vatHot, "grill", 2)
	coldMain := section("#mains", vatCold, "cold", 2)
	b.Items = append(b.Items,
		mainCourse("#pie", "Steak & ale pie", "Braised beef, Fynlo Arms bitter, shortcrust pastry, mash, greens, gravy", one(2150), 680, l(celery, eggs, gluten, milk, sulphites), nil),
		mainCourse("#roast-beef", "Roast sirloin of beef", "Sundays only: Yorkshire pudding, roast potatoes, seasonal veg, horseradish, gravy", one(2650), 860, l(celery, eggs, gluten, milk, mustard, sulphites), nil),
		mainCourse("#roast-chicken", "Half roast chicken", "Lemon and thyme, roast new potatoes, watercress, garlic aioli", one(2300), 720, l(eggs, mustard), l(gf, df)),
		mainCourse("#sausage-mash", "Sausage & mash", "Cumberland sausages, buttery mash, onion gravy", one(1850), 520, l(celery, gluten, milk, sulphites), nil),
		mainCourse("#pork-belly", "Slow-roast pork belly", "Crackling, black pudding, apple purée, cider jus", one(2400), 720, l(celery, gluten, sulphites), l(df)),
		mainCourse("#lamb-shoulder", "Braised lamb shoulder", "Pomme purée, roast carrots, salsa verde", one(2850), 950, l(celery, fish, milk, mustard, sulphites), l(gf)),
		coldMain("#caesar", "Chicken Caesar salad", "Roast chicken, Cos lettuce, anchovies, Parmesan, sourdough croutons", one(1750), 520, l(eggs, fish, gluten, milk, mustard), nil),
		coldMain("#grain-salad", "Roast squash & freekeh salad", "Feta, pomegranate, pumpkin seeds, tahini dressing", one(1650), 450, l(gluten, milk, sesame), l(veg), "#salad-protein"),
		mainCourse("#wellington", "Mushroom & chestnut Wellington", "Vegan puff pastry, wilted spinach, red wine gravy", one(1950), 540, l(celery, gluten, sulphites), l(vegan, veg, df)),
		mainCourse("#risotto", "Spring pea risotto", "Broad beans, mint, lemon, goat's curd", one(1850), 480, l(celery, milk, sulphites), l(veg, gf)),
	)

	grill := section("#grill", vatHot, "grill", 2)
	steak := []string{"#cook", "#steak-sauce", "#chips-swap"}
	b.Items = append(b.Items,
		grill("#ribeye", "Ribeye steak 300g", "35-day dry-aged Hereford, watercress, triple-cooked chips", one(3800), 1250, nil, l(gf, df), steak...),
		grill("#sirloin", "Sirloin steak 250g", "28-day dry-aged, watercress, triple-cooked chips", one(3200), 1050, nil, l(gf, df), steak...),
		grill("#fillet", "Fillet steak 200g", "Grass-fed Scottish beef, watercress, triple-cooked chips", one(4200), 1450, nil, l(gf, df), steak...),
		grill("#flat-iron", "Flat iron steak 225g", "Served pink, watercress, triple-cooked chips", one(2400), 760, nil, l(gf, df), steak...),
		grill("#lamb-cutlets", "Lamb cutlets", "Three Welsh lamb cutlets, charred hispi cabbage, salsa verde", one(2900), 980, l(fish, mustard, sulphites), l(gf, df)),
		grill("#pork-chop", "Tamworth pork chop", "Burnt apple, cavolo nero, wholegrain mustard sauce", one(2600), 820, l(milk, mustard, sulphites), l(gf)),
	)

	fishMain := section("#fish", vatHot, "grill", 2)
	fried := section("#fish", vatHot, "fryer", 2)
	b.Items = append(b.Items,
		fried("#fish-and-chips", "Fish and chips", "Beer-battered haddock, triple-cooked chips, mushy peas, tartare sauce",
			[]menu.Variant{v("Regular", 2100), v("Large", 2500)}, 650, l(eggs, fish, gluten, mustard, sulphites), nil, "#chips-swap"),
		fried("#scampi", "Whitby scampi", "Breaded langoustine tails, chips, garden peas, tartare sauce", one(1950), 600, l(crustaceans, eggs, gluten, mustard, sulphites), nil),
		fishMain("#mussels", "Cornish mussels", "White wine, garlic, cream, parsley, skin-on fries",
			[]menu.Variant{v("Starter", 1150), v("Main", 2050)}, 360, l(milk, molluscs, sulphites), nil),
		fishMain("#sea-bass", "Pan-fried sea bass", "Crushed new potatoes, samphire, brown shrimp butter", one(2600), 850, l(crustaceans, fish, milk), l(gf)),
		fishMain("#fish-pie", "Fish pie", "Smoked haddock, salmon, king prawns, leeks, mash, Cheddar crust", one(2200), 680, l(celery, crustaceans, fish, gluten, milk, sulphites), nil),
		fishMain("#crab-linguine", "Crab linguine", "Devon crab, chilli, garlic, lemon, parsley", one(2400), 820, l(crustaceans, eggs, gluten, sulphites), l(df)),
		fishMain("#salmon", "Roast salmon fillet", "Puy lentils, tenderstem broccoli, salsa verde", one(2450), 800, l(fish, mustard, sulphites), l(gf, df)),
	)

	burger := section("#burgers", vatHot, "grill", 2)
	extras := []string{"#burger-extras", "#chips-swap"}
	b.Items = append(b.Items,
		burger("#arms-burger", "Fynlo Arms burger", "Dry-aged beef patty, Cheddar, pickles, burger sauce, brioche bun, fries", one(1850), 560, l(eggs, gluten, milk, mustard, sulphites), nil, extras...),
		burger("#smash-burger", "Double smash burger", "Two smashed patties, American cheese, onions, mustard, pickles, fries", one(1950), 610, l(eggs, gluten, milk, mustard, sulphites), nil, extras...),
		section("#burgers", vatHot, "fryer", 2)("#chicken-burger", "Buttermilk chicken burger", "Fried chicken thigh, slaw, sriracha mayonnaise, fries", one(1800), 520, l(eggs, gluten, milk, mustard), nil, extras...),
		burger("#plant-burger", "Plant burger", "Plant-based patty, vegan cheese, smoked tomato relish, vegan bun, fries", one(1750), 520, l(gluten, mustard, soya), l(vegan, veg, df), "#chips-swap"),
		burger("#halloumi-burger", "Halloumi burger", "Grilled halloumi, roast red pepper, rocket, harissa mayonnaise, fries", one(1700), 480, l(eggs, gluten, milk, mustard), l(veg), extras...),
		burger("#lamb-burger", "Spiced lamb burger", "Feta, tzatziki, pickled red onion, flatbread bun, fries", one(1900), 600, l(gluten, milk, sulphites), nil, extras...),
	)

	side := section("#sides", vatHot, "fryer", 2)
	hotSide := section("#sides", vatHot, "grill", 2)
	coldSide := section("#sides", vatCold, "cold", 2)
	b.Items = append(b.Items,
		side("#chips", "Triple-cooked chips", "Crisp and fluffy, sea salt", one(550), 150, nil, l(vegan, veg, df)),
		side("#fries", "Skin-on fries", "Rosemary salt", one(500), 130, nil, l(vegan, veg, df)),
		side("#sweet-potato-fries", "Sweet potato fries", "Chipotle salt", one(600), 160, nil, l(vegan, veg, df)),
		side("#truffle-fries", "Truffle & Parmesan fries", "Truffle oil, grated Parmesan", one(700), 190, l(milk), nil),
		side("#onion-rings", "Beer-battered onion rings", "Vegan batter", one(550), 140, l(gluten), l(vegan, veg, df)),
		hotSide("#mash", "Buttery mash", "Maris Piper, butter, cream", one(550), 140, l(milk), l(veg, gf)),
		hotSide("#greens", "Seasonal greens", "Tenderstem, peas and kale, lemon butter", one(550), 150, l(milk), l(veg, gf)),
		hotSide("#mac-cheese", "Mac & cheese", "Three cheeses, English mustard, crispy crumb", one(650), 180, l(gluten, milk, mustard), l(veg)),
		hotSide("#garlic-bread", "Garlic bread", "Sourdough, garlic and parsley butter", []menu.Variant{v("Regular", 500), v("With cheese", 600)}, 130, l(gluten, milk), l(veg)),
		hotSide("#mushy-peas", "Mushy peas", "Marrowfat peas, mint", one(350), 90, nil, l(vegan, veg, gf, df)),
		coldSide("#house-salad", "House salad", "Little Gem, cucumber, radish, mustard vinaigrette", one(500), 130, l(mustard, sulphites), l(vegan, veg, gf, df), "#salad-protein"),
		coldSide("#slaw", "House slaw", "Red cabbage, carrot, apple, mayonnaise", one(400), 100, l(eggs, mustard), l(veg, gf)),
	)

	pudding := section("#desserts", vatHot, "pastry", 3)
	coldPudding := section("#desserts", vatCold, "pastry", 3)
	b.Items = append(b.Items,
		pudding("#sticky-toffee", "Sticky toffee pudding", "Medjool dates, toffee sauce", one(900), 230, l(eggs, gluten, milk), l(veg), "#dessert-side"),
		pudding("#crumble", "Apple & blackberry crumble", "Bramley apples, oat and brown sugar crumble", one(850), 230, l(gluten, milk), l(veg), "#dessert-side"),
		pudding("#brownie", "Warm chocolate brownie", "Salted caramel sauce", one(850), 220, l(eggs, gluten, milk, soya), l(veg), "#dessert-side"),
		coldPudding("#eton-mess", "Eton mess", "Meringue, Kentish strawberries, Chantilly cream", one(850), 230, l(eggs, milk), l(veg, gf)),
		coldPudding("#posset", "Lemon posset", "Raspberries, shortbread", one(800), 210, l(gluten, milk), l(veg)),
		coldPudding("#creme-brulee", "Vanilla crème brûlée", "Poached Yorkshire rhubarb", one(850), 220, l(eggs, milk), l(veg, gf)),
		coldPudding("#bakewell", "Bakewell tart", "Almond frangipane, raspberry jam, crème fraîche", one(800), 200, l(eggs, gluten, milk, treeNuts), l(veg)),
		coldPudding("#choc-torte", "Dark chocolate torte", "Almond base, coconut yoghurt, raspberries", one(850), 220, l(soya, treeNuts), l(vegan, veg, gf, df)),
		section("#desserts", vatCold, "cold", 3)("#cheeseboard", "British cheeseboard", "Three cheeses, oatcakes, fig chutney, grapes", one(1300), 450, l(gluten, milk, sulphites), nil),
		// Ice cream is standard-rated even taken away, unlike other cold food.
		section("#desserts", vatSweets, "cold", 3)("#ice-cream", "Ice cream & sorbet", "Choose your flavours",
			[]menu.Variant{v("1 scoop", 350), v("2 scoops", 600), v("3 scoops", 800)}, 100, nil, l(gf), "#ice-cream-flavours"),
	)

	coffee := section("#hot-drinks", vatSoft, "coffee", 0)
	milky := []string{"#milk", "#syrup"}
	smallLarge := func(small, large int64) []menu.Variant { return []menu.Variant{v("Small", small), v("Large", large)} }
	b.Items = append(b.Items,
		coffee("#espresso", "Espresso", "Fynlo house blend", []menu.Variant{v("Single", 280), v("Double", 340)}, 0, nil, l(vegan, veg, gf, df)),
		coffee("#americano", "Americano", "Double shot, hot water", smallLarge(360, 410), 0, nil, l(vegan, veg, gf, df), milky...),
		coffee("#flat-white", "Flat white", "Double shot, steamed milk", one(390), 0, l(milk), l(veg, gf), milky...),
		coffee("#cappuccino", "Cappuccino", "Double shot, foamed milk, cocoa", smallLarge(390, 440), 0, l(milk), l(veg, gf), milky...),
		coffee("#latte", "Latte", "Double shot, steamed milk", smallLarge(400, 450), 0, l(milk), l(veg, gf), milky...),
		coffee("#mocha", "Mocha", "Double shot, dark chocolate, steamed milk", smallLarge(440, 490), 0, l(milk), l(veg, gf), milky...),
		coffee("#hot-chocolate", "Hot chocolate", "70% dark chocolate, steamed milk", smallLarge(420, 470), 0, l(milk), l(veg, gf), "#milk"),
		coffee("#breakfast-tea", "English breakfast tea", "Loose leaf, pot for one", one(330), 0, nil, l(vegan, veg, gf, df), "#milk"),
		coffee("#mint-tea", "Fresh mint tea", "Garden mint, honey on the side", one(350), 0, nil, l(veg, gf, df)),
		coffee("#chai-latte", "Chai latte", "Spiced black tea, steamed milk", one(420), 0, l(milk), l(veg, gf), "#milk"),
		section("#hot-drinks", vatAlcohol, "coffee", 0)("#irish-coffee", "Irish coffee", "Jameson, coffee, brown sugar, whipped cream", one(950), 0, l(milk), l(veg, gf)),
	)

	soft := section("#soft-drinks", vatSoft, "bar", 0)
	bottle := func(price int64, barcode string) []menu.Variant { return []menu.Variant{v("Bottle", price, barcode)} }
	b.Items = append(b.Items,
		soft("#coke", "Coca-Cola 330ml", "Glass bottle", bottle(400, "5060424200016"), 0, nil, l(vegan, veg, gf, df)),
		soft("#diet-coke", "Diet Coke 330ml", "Glass bottle", bottle(380, "5060424200023"), 0, nil, l(vegan, veg, gf, df)),
		soft("#ginger-beer", "Fever-Tree ginger beer 200ml", "Glass bottle", bottle(350, "5060424200030"), 0, nil, l(vegan, veg, gf, df)),
		soft("#rose-lemonade", "Fentimans rose lemonade 275ml", "Glass bottle", bottle(420, "5060424200047"), 0, nil, l(vegan, veg, gf, df)),
		soft("#limonata", "San Pellegrino limonata 330ml", "Can", []menu.Variant{v("Can", 380, "5060424200054")}, 0, nil, l(vegan, veg, gf, df)),
		soft("#elderflower", "Belvoir elderflower pressé 250ml", "Glass bottle", bottle(420, "5060424200061"), 0, nil, l(vegan, veg, gf, df)),
		soft("#still-water", "Still mineral water", "Glass bottle",
			[]menu.Variant{v("330ml", 300, "5060424200078"), v("750ml", 550, "5060424200085")}, 0, nil, l(vegan, veg, gf, df)),
		soft("#sparkling-water", "Sparkling mineral water", "Glass bottle",
			[]menu.Variant{v("330ml", 300, "5060424200092"), v("750ml", 550, "5060424200108")}, 0, nil, l(vegan, veg, gf, df)),
		soft("#orange-juice", "Orange juice", "Freshly squeezed", smallLarge(350, 500), 0, nil, l(vegan, veg, gf, df)),
		soft("#apple-juice", "Cloudy apple juice", "Pressed Kentish apples", smallLarge(300, 450), 0, nil, l(vegan, veg, gf, df)),
		soft("#lemonade", "Homemade lemonade", "Lemon, mint, soda", one(450), 0, nil, l(vegan, veg, gf, df)),
	)

	beer := section("#beer-cider", vatAlcohol, "bar", 0)
	noBeer := section("#beer-cider", vatSoft, "bar", 0) // alcohol-free
	b.Items = append(b.Items,
		beer("#hells", "Camden Hells lager", "4.6%, draught", pint(380, 720), 0, l(gluten), l(vegan, veg, df)),
		beer("#neck-oil", "Beavertown Neck Oil", "Session IPA 4.3%, draught", pint(390, 750), 0, l(gluten), l(vegan, veg, df)),
		beer("#guinness", "Guinness", "Stout 4.2%, draught", pint(370, 700), 0, l(gluten), l(vegan, veg, df)),
		beer("#london-pride", "London Pride", "Cask bitter 4.1%", pint(340, 650), 0, l(gluten), nil),
		beer("#peroni", "Peroni Nastro Azzurro", "Lager 5.0%, draught", pint(390, 750), 0, l(gluten), l(vegan, veg, df)),
		beer("#aspall", "Aspall Suffolk cyder", "Dry cider 5.5%, draught", pint(380, 720), 0, l(sulphites), l(vegan, veg, gf, df)),
		beer("#cornish-orchards", "Cornish Orchards Gold cider 500ml", "Medium-dry cider 5.0%", bottle(650, "5060424200115"), 0, l(sulphites), l(gf)),
		beer("#camden-pale", "Camden Pale Ale 330ml", "Pale ale 4.0%, can", []menu.Variant{v("Can", 550, "5060424200122")}, 0, l(gluten), l(vegan, veg, df)),
		noBeer("#lucky-saint", "Lucky Saint 330ml", "Unfiltered lager 0.5%", bottle(500, "5060424200139"), 0, l(gluten), l(vegan, veg, df)),
		noBeer("#guinness-zero", "Guinness 0.0 440ml", "Alcohol-free stout", []menu.Variant{v("Can", 500, "5060424200146")}, 0, l(gluten), l(vegan, veg, df)),
		noBeer("#peroni-libera", "Peroni Libera 0.0% 330ml", "Alcohol-free lager", bottle(450, "5060424200153"), 0, l(gluten), l(vegan, veg, df)),
	)

	wine := section("#wine", vatAlcohol, "bar", 0)
	red := section("#red-wine", vatAlcohol, "bar", 0)
	b.Items = append(b.Items,
		wine("#house-white", "Grillo, Sicily", "House white: crisp, citrus, almond blossom", glass(550, 750, 1050, 2900), 0, l(sulphites), nil),
		wine("#picpoul", "Picpoul de Pinet", "Languedoc: zesty, saline, perfect with seafood", glass(650, 850, 1200, 3400), 0, l(sulphites), nil),
		wine("#sauvignon", "Sauvignon Blanc, Marlborough", "New Zealand: gooseberry, passion fruit", glass(750, 1000, 1400, 3900), 0, l(sulphites), nil),
		wine("#rose", "Côtes de Provence rosé", "Pale, dry, red berries", glass(700, 950, 1350, 3800), 0, l(sulphites), nil),
		wine("#prosecco", "Prosecco DOC", "Extra dry", []menu.Variant{v("125ml", 800), v("Bottle", 3800)}, 0, l(sulphites), nil),
		wine("#champagne", "Pol Roger Brut Réserve", "Champagne", []menu.Variant{v("125ml", 1600), v("Bottle", 8500)}, 0, l(sulphites), nil),
		wine("#nyetimber", "Nyetimber Classic Cuvée", "English sparkling, West Sussex", []menu.Variant{v("Bottle", 7800)}, 0, l(sulphites), nil),
		red("#house-red", "Montepulciano d'Abruzzo", "House red: plum, cherry, soft tannins", glass(550, 750, 1050, 2900), 0, l(sulphites), nil),
		red("#malbec", "Malbec, Mendoza", "Argentina: blackberry, violet, velvety", glass(750, 1000, 1400, 3900), 0, l(sulphites), nil),
		red("#rioja", "Rioja Reserva", "Spain: oak, vanilla, dried cherry", glass(800, 1100, 1550, 4200), 0, l(sulphites), nil),
		red("#pinot-noir", "Pinot Noir, Central Otago", "New Zealand: cherry, spice, silky", glass(900, 1250, 1750, 4800), 0, l(sulphites), nil),
	)

	cocktail := section("#cocktails", vatAlcohol, "bar", 0)
	spirit := func(single, double int64) []menu.Variant { return []menu.Variant{v("25ml", single), v("50ml", double)} }
	b.Items = append(b.Items,
		cocktail("#espresso-martini", "Espresso martini", "Ketel One, coffee liqueur, fresh espresso", one(1300), 0, nil, nil),
		cocktail("#negroni", "Negroni", "Sipsmith gin, Campari, sweet vermouth", one(1250), 0, l(sulphites), nil),
		cocktail("#aperol-spritz", "Aperol spritz", "Aperol, prosecco, soda, orange", one(1200), 0, l(sulphites), nil),
		cocktail("#passion-fruit-martini", "Passion fruit martini", "Vanilla vodka, passion fruit, shot of prosecco", one(1350), 0, l(sulphites), nil),
		cocktail("#margarita", "Margarita", "Tequila, Cointreau, lime, salt rim", one(1250), 0, nil, nil),
		cocktail("#old-fashioned", "Old fashioned", "Woodford Reserve, demerara, Angostura bitters", one(1350), 0, nil, nil),
		cocktail("#whisky-sour", "Whisky sour", "Monkey Shoulder, lemon, sugar, egg white", one(1250), 0, l(eggs), nil),
		cocktail("#bloody-mary", "Bloody Mary", "Vodka, tomato, Worcestershire sauce, Tabasco, celery salt", one(1200), 0, l(celery, fish, gluten), nil),
		section("#cocktails", vatSoft, "bar", 0)("#nojito", "Nojito", "Alcohol-free: lime, mint, apple, soda", one(750), 0, nil, l(vegan, veg, gf, df)),
		cocktail("#gin", "Sipsmith London Dry gin", "Served with your choice of mixer", spirit(650, 1050), 0, nil, nil, "#mixer"),
		cocktail("#vodka", "Ketel One vodka", "Served with your choice of mixer", spirit(600, 950), 0, nil, nil, "#mixer"),
		cocktail("#rum", "Diplomático Reserva rum", "Venezuelan dark rum", spirit(700, 1150), 0, nil, nil, "#mixer"),
		cocktail("#whisky", "Monkey Shoulder whisky", "Blended malt Scotch", spirit(650, 1050), 0, nil, nil, "#mixer"),
	)
	return b
}
