package menucsv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
)

func catalogue() *Catalogue {
	gbp := func(a int64) money.Money { return money.Money{Amount: a, Currency: "GBP"} }
	return &Catalogue{
		Currency:       "GBP",
		TaxCategories:  []*menu.TaxCategory{{ID: "txc_hot", Name: "Hot food"}},
		Categories:     []*menu.Category{{ID: "cat_wine", Name: "Wine"}, {ID: "cat_red", Name: "Red", ParentID: "cat_wine"}},
		ModifierGroups: []*menu.ModifierGroup{{ID: "mgp_sauce", Name: "Sauce"}},
		Items: []*menu.Item{{ID: "itm_rioja", CategoryID: "cat_red", Name: "Rioja", TaxCategoryID: "txc_hot", Course: 0,
			Variants:       []menu.Variant{{ID: "var_glass", Name: "Glass", Price: gbp(850)}, {ID: "var_bottle", Name: "Bottle", Price: gbp(3200), Barcodes: []string{"5000001"}}},
			ModifierGroups: []string{"mgp_sauce"}, Allergens: []string{"sulphites"}, Dietary: []string{"vegan"}}},
	}
}

func TestRoundTrip(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, catalogue()); err != nil {
		t.Fatal(err)
	}
	want := "item_id,category,item,variant,price,currency,sku,barcodes,tax_category,kitchen_station,course,allergens,dietary,modifier_groups,description,image_url,cost_price\n" +
		"itm_rioja,Wine > Red,Rioja,Glass,8.50,GBP,,,Hot food,,,sulphites,vegan,Sauce,,,\n" +
		"itm_rioja,Wine > Red,Rioja,Bottle,32.00,GBP,,5000001,Hot food,,,sulphites,vegan,Sauce,,,\n"
	if out.String() != want {
		t.Fatalf("export:\n%s\nwant:\n%s", out.String(), want)
	}
	p, err := Read(&out, catalogue())
	if err != nil {
		t.Fatal(err)
	}
	if rej, _ := p.Rejected(nil); len(rej) != 0 || len(p.Batch.Items) != 1 || len(p.Batch.Categories) != 0 {
		t.Fatalf("re-read: %v, %+v", rej, p.Batch)
	}
	it := p.Batch.Items[0]
	if it.ID != "itm_rioja" || it.Variants[0].ID != "var_glass" || it.Variants[1].ID != "var_bottle" || it.ModifierGroups[0] != "mgp_sauce" ||
		it.Variants[1].Price.Amount != 3200 || it.CategoryID != "cat_red" {
		t.Fatalf("re-read item: %+v", it)
	}
}

func TestReadMatchesAndCreates(t *testing.T) {
	file := "\ufeffItem,Category,Price,Tax_Category,Variant,Allergens\n" +
		"Rioja,wine > red,9.00,hot food,glass,Sulphites\n" + // matches by name, case aside
		"Chips,Sides,4.50,Hot food,,\n" +
		"Chips,Sides,6.00,Hot food,Large,\n" +
		"\n" +
		"Gravy,Sides > Sauces,1.5,Hot food,,Celery\n" +
		"Bad,Sides,4.505,Hot food,,\n" +
		"Worse,Sides,4,Cold food,,\n" +
		"Chips,Sides,7,Hot food,Huge,milk\n"
	p, err := Read(strings.NewReader(file), catalogue())
	if err != nil {
		t.Fatal(err)
	}
	if p.Rows != 7 {
		t.Fatalf("rows = %d", p.Rows)
	}
	rej, _ := p.Rejected(nil)
	if fmt.Sprint(rej) != "[line 7: price: \"4.505\" is not an amount like 12.55 line 8: tax_category: no tax category is named \"Cold food\" "+
		"line 9: allergens: differs from line 3, where this item starts (leave it empty on its other rows)]" {
		t.Fatalf("rejected: %v", rej)
	}
	b := p.Batch
	if len(b.Items) != 3 || b.Items[0].ID != "itm_rioja" || b.Items[0].Variants[0].ID != "var_glass" || len(b.Items[0].Variants) != 1 {
		t.Fatalf("items: %+v", b.Items)
	}
	if r := b.Items[0]; r.ModifierGroups[0] != "mgp_sauce" || r.Dietary[0] != "vegan" || r.Allergens[0] != "sulphites" {
		t.Fatalf("columns the file lacks were not kept as stored: %+v", r)
	}
	if len(b.Items[1].Variants) != 2 || b.Items[1].Variants[1].Name != "Large" || b.Items[1].Variants[0].Name != "Regular" {
		t.Fatalf("chips: %+v", b.Items[1])
	}
	if len(b.Categories) != 2 || b.Categories[1].ParentID != b.Categories[0].ID || b.Items[2].CategoryID != b.Categories[1].ID {
		t.Fatalf("categories: %+v", b.Categories)
	}

	// A refused batch maps back to lines and columns.
	batchErr := &apperr.Error{Kind: apperr.Invalid, Fields: []apperr.FieldError{
		{Field: "items[1].variants[1].price.amount", Reason: "must not be negative"},
		{Field: "items[2].allergens[0]", Reason: "is not one of the 14 declared allergens"},
		{Field: "categories[1].name", Reason: "must be 1 to 80 characters"},
		{Field: "items[0].variants[0].barcodes[0]", Reason: "5000001 is also on items[1].variants[0].barcodes[0]"},
	}}
	rej, err = p.Rejected(batchErr)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rej)
	for _, want := range []string{"line 2: barcodes: 5000001 is also on line 3", "line 4: price: must not be negative",
		"line 6: allergens: is not one of", "line 6: allergens: is not one of the 14 declared allergens; category: must be"} {
		if !strings.Contains(got, want) {
			t.Errorf("rejected %s\nlacks %q", got, want)
		}
	}
	if _, err := p.Rejected(errors.New("database gone")); err == nil {
		t.Error("an error that is not about fields was swallowed")
	}
}

func TestReadHeader(t *testing.T) {
	for _, file := range []string{"", "item,category,price\n", "item,category,price,tax_category,colour\n", "item,item,category,price,tax_category\n"} {
		if _, err := Read(strings.NewReader(file), catalogue()); !errors.Is(err, ErrHeader) {
			t.Errorf("%q: %v, want ErrHeader", file, err)
		}
	}
}

// FuzzRead: any file is read or refused, never a panic, and every row is
// either in the batch or rejected.
func FuzzRead(f *testing.F) {
	f.Add("item,category,price,tax_category\nChips,Sides,4.50,Hot food\n")
	f.Add("item,category,price,tax_category,variant,barcodes\nRioja,Wine > Red,9,Hot food,Glass,1234|5678\n\"unterminated,\n")
	f.Fuzz(func(t *testing.T, file string) {
		p, err := Read(strings.NewReader(file), catalogue())
		if err != nil {
			return
		}
		rej, _ := p.Rejected(nil)
		variants := 0
		for _, it := range p.Batch.Items {
			variants += len(it.Variants)
		}
		if variants+len(rej) < p.Rows {
			t.Fatalf("%d rows, %d variants, %d rejected", p.Rows, variants, len(rej))
		}
	})
}
