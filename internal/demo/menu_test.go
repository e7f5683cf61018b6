package demo

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
)

func TestMenuShape(t *testing.T) {
	b := Menu()
	if n := len(b.Items); n < 115 || n > 130 {
		t.Errorf("%d items, want 115 to 130", n)
	}
	if n := len(b.Categories); n < 9 || n > 14 {
		t.Errorf("%d categories, want 9 to 14", n)
	}
	if n := len(b.ModifierGroups); n < 6 || n > 10 {
		t.Errorf("%d modifier groups, want 6 to 10", n)
	}

	// Client IDs are one namespace across the batch.
	kind := map[string]string{}
	claim := func(id, k string) {
		if len(id) < 2 || len(id) > 64 || id[0] != '#' {
			t.Errorf("%s %q is not a client ID", k, id)
		}
		if other, dup := kind[id]; dup {
			t.Errorf("%s ID %s is also a %s's", k, id, other)
		}
		kind[id] = k
	}
	for _, o := range b.TaxCategories {
		claim(o.ID, "tax category")
	}
	for _, o := range b.Categories {
		claim(o.ID, "category")
	}
	for _, o := range b.ModifierGroups {
		claim(o.ID, "modifier group")
	}
	for _, o := range b.Items {
		claim(o.ID, "item")
	}
	refers := func(owner, ref, k string) {
		if kind[ref] != k {
			t.Errorf("%s refers to %q, which is not a %s in the batch", owner, ref, k)
		}
	}
	for _, c := range b.Categories {
		if c.ParentID != "" {
			refers(c.ID, c.ParentID, "category")
		}
	}

	labels := func(owner string, allergens, dietary []string) {
		for _, a := range allergens {
			if !slices.Contains(menu.Allergens, a) {
				t.Errorf("%s: allergen %q is not in menu.Allergens", owner, a)
			}
		}
		for _, d := range dietary {
			if !slices.Contains(menu.DietaryFlags, d) {
				t.Errorf("%s: dietary flag %q is not in menu.DietaryFlags", owner, d)
			}
		}
		// The flags must not contradict the allergens.
		clash := map[string][]string{
			"vegan":       {"milk", "eggs", "fish", "crustaceans", "molluscs"},
			"vegetarian":  {"fish", "crustaceans", "molluscs"},
			"dairy_free":  {"milk"},
			"gluten_free": {"cereals_gluten"},
		}
		for _, d := range dietary {
			for _, a := range clash[d] {
				if slices.Contains(allergens, a) {
					t.Errorf("%s: %s but contains %s", owner, d, a)
				}
			}
		}
	}
	gbp := func(owner string, m money.Money, zeroOK bool) {
		if m.Currency != "GBP" || m.Amount < 0 || (m.Amount == 0 && !zeroOK) {
			t.Errorf("%s: price %+v, want a positive GBP amount", owner, m)
		}
	}

	for _, g := range b.ModifierGroups {
		if g.Name == "" || g.MinSelect < 0 || g.MaxSelect < 1 || g.MinSelect > g.MaxSelect ||
			g.FreeAllowance < 0 || g.FreeAllowance > g.MaxSelect || len(g.Modifiers) == 0 || len(g.Modifiers) > 100 || g.MinSelect > len(g.Modifiers) {
			t.Errorf("modifier group %s breaks the group rules: %+v", g.ID, g)
		}
		for _, p := range g.PreModifiers {
			if !slices.Contains(menu.PreModifiers, p) {
				t.Errorf("modifier group %s: pre-modifier %q is not in menu.PreModifiers", g.ID, p)
			}
		}
		names := map[string]bool{}
		for _, m := range g.Modifiers {
			owner := g.ID + " " + m.Name
			if m.Name == "" || names[m.Name] {
				t.Errorf("%s: empty or repeated modifier name", owner)
			}
			names[m.Name] = true
			gbp(owner, m.Price, true)
			labels(owner, m.Allergens, m.Dietary)
		}
	}

	stations := []string{"grill", "fryer", "cold", "pastry", "bar", "coffee"}
	barcodes := map[string]string{}
	for _, it := range b.Items {
		refers(it.ID, it.CategoryID, "category")
		refers(it.ID, it.TaxCategoryID, "tax category")
		for _, g := range it.ModifierGroups {
			refers(it.ID, g, "modifier group")
		}
		if it.Name == "" || it.Description == "" {
			t.Errorf("%s has no name or description", it.ID)
		}
		if !slices.Contains(stations, it.KitchenStation) {
			t.Errorf("%s: kitchen station %q", it.ID, it.KitchenStation)
		}
		if it.Course < 0 || it.Course > 3 {
			t.Errorf("%s: course %d", it.ID, it.Course)
		}
		labels(it.ID, it.Allergens, it.Dietary)
		if len(it.Variants) == 0 || len(it.Variants) > 20 {
			t.Errorf("%s has %d variants", it.ID, len(it.Variants))
		}
		names := map[string]bool{}
		for _, v := range it.Variants {
			owner := it.ID + " " + v.Name
			if v.Name == "" || len([]rune(v.Name)) > 60 || names[v.Name] {
				t.Errorf("%s: empty, long or repeated variant name", owner)
			}
			names[v.Name] = true
			gbp(owner, v.Price, false)
			for _, code := range v.Barcodes {
				if other, dup := barcodes[code]; dup {
					t.Errorf("%s: barcode %s is also on %s", owner, code, other)
				}
				barcodes[code] = owner
				if !validEAN13(code) {
					t.Errorf("%s: barcode %s is not an EAN-13 starting 50", owner, code)
				}
			}
		}
		// Food has a cost price at a realistic margin; drinks have none.
		if it.Course > 0 {
			if it.CostPrice == nil {
				t.Errorf("%s: food without a cost price", it.ID)
				continue
			}
			gbp(it.ID+" cost", *it.CostPrice, false)
			if p := it.Variants[0].Price.Amount; it.CostPrice.Amount*100 < p*25 || it.CostPrice.Amount*100 > p*35 {
				t.Errorf("%s: cost %d is not 25%% to 35%% of %d", it.ID, it.CostPrice.Amount, p)
			}
		}
	}
	if n := len(barcodes); n < 12 || n > 20 {
		t.Errorf("%d barcodes, want about 15", n)
	}

	i := slices.IndexFunc(b.Items, func(it *menu.Item) bool { return it.ID == "#fish-and-chips" })
	if i < 0 {
		t.Fatal("no #fish-and-chips")
	}
	fc := b.Items[i]
	if fc.Name != "Fish and chips" || fc.CategoryID != "#fish" || len(fc.Variants) != 2 ||
		fc.Variants[0].Name != "Regular" || fc.Variants[1].Name != "Large" {
		t.Errorf("fish and chips: %+v", fc)
	}
}

// TestMenuApplies runs the batch through the menu service's own checks, as
// a dry run on an empty organization.
func TestMenuApplies(t *testing.T) {
	svc := menu.NewService(emptyStores{}, time.Now)
	b := Menu()
	res, err := svc.ApplyBatch(context.Background(), "org_demo", b, menu.BatchOptions{DryRun: true})
	if err != nil {
		t.Fatalf("ApplyBatch: %v", err)
	}
	if res.Created != b.Len() || len(res.IDMappings) != b.Len() {
		t.Errorf("created %d with %d client IDs, want %d", res.Created, len(res.IDMappings), b.Len())
	}
}

// Menu returns a new batch each call: applying one changes its IDs.
func TestMenuFresh(t *testing.T) {
	a, b := Menu(), Menu()
	a.Items[0].ID = "changed"
	if b.Items[0].ID == "changed" {
		t.Error("two Menu calls share their objects")
	}
}

func validEAN13(code string) bool {
	if len(code) != 13 || code[:2] != "50" {
		return false
	}
	sum := 0
	for i, c := range code {
		if c < '0' || c > '9' {
			return false
		}
		if i < 12 {
			sum += int(c-'0') * (1 + 2*(i%2))
		}
	}
	return (10-sum%10)%10 == int(code[12]-'0')
}

// emptyStores is an organization with no menu: every lookup finds nothing.
// A dry run writes nothing, so the other methods are never called.
type emptyStores struct{ menu.Stores }

func (emptyStores) FindTaxCategory(context.Context, string, string) (*menu.TaxCategory, error) {
	return nil, apperr.NotFoundf("tax category")
}

func (emptyStores) FindCategory(context.Context, string, string) (*menu.Category, error) {
	return nil, apperr.NotFoundf("category")
}

func (emptyStores) FindModifierGroup(context.Context, string, string) (*menu.ModifierGroup, error) {
	return nil, apperr.NotFoundf("modifier group")
}

func (emptyStores) FindItem(context.Context, string, string) (*menu.Item, error) {
	return nil, apperr.NotFoundf("item")
}

func (emptyStores) FindItems(context.Context, string, menu.ItemFilter) ([]*menu.Item, error) {
	return nil, nil
}
