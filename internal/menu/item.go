package menu

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/money"
)

// Allergens are the 14 the UK requires businesses to declare (Food
// Information Regulations 2014).
var Allergens = []string{"celery", "cereals_gluten", "crustaceans", "eggs", "fish", "lupin", "milk", "molluscs",
	"mustard", "peanuts", "sesame", "soya", "sulphites", "tree_nuts"}

// DietaryFlags are what an item suits.
var DietaryFlags = []string{"vegan", "vegetarian", "gluten_free", "dairy_free", "halal", "kosher"}

// Variant is a size or form of an item with its own price, e.g. a small
// and a large glass. Every item has at least one.
type Variant struct {
	ID       string      `json:"id,omitempty" required:"false" doc:"var_ + ULID; chosen by the server unless given"`
	Name     string      `json:"name" example:"Large"`
	Price    money.Money `json:"price" doc:"in minor units, VAT included or not as the location prices"`
	SKU      string      `json:"sku,omitempty" required:"false"`
	Barcodes []string    `json:"barcodes,omitempty" required:"false" doc:"unique in the organization"`
}

// Item is something the restaurant sells.
type Item struct {
	ID             string       `json:"id"`
	OrgID          string       `json:"organization_id"`
	CategoryID     string       `json:"category_id"`
	Name           string       `json:"name"`
	Description    string       `json:"description,omitempty"`
	ImageURL       string       `json:"image_url,omitempty"`
	TaxCategoryID  string       `json:"tax_category_id"`
	KitchenStation string       `json:"kitchen_station,omitempty" doc:"where tickets for it print, e.g. grill, bar"`
	Course         int          `json:"course,omitempty" doc:"1 starters, 2 mains, 3 desserts...; 0 for none"`
	CostPrice      *money.Money `json:"cost_price,omitempty" doc:"for the cost of goods sold"`
	Variants       []Variant    `json:"variants"`
	ModifierGroups []string     `json:"modifier_group_ids" doc:"asked in this order when the item is ordered"`
	Allergens      []string     `json:"allergens"`
	Dietary        []string     `json:"dietary"`
	Archived       bool         `json:"archived" doc:"deleted from the menu; kept for the history of orders"`
	Version        int64        `json:"version"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// Event types of items.
const (
	EventItemCreated  = "item.created"
	EventItemUpdated  = "item.updated"
	EventItemArchived = "item.archived"
)

// ItemFilter selects items.
type ItemFilter struct {
	CategoryID string
	Barcode    string
	Archived   bool // include archived items
	After      string
	Limit      int
}

// ItemStore persists items.
type ItemStore interface {
	// CreateItem errors: Conflict (barcode_taken, already_exists).
	CreateItem(ctx context.Context, it *Item) error
	// FindItem errors: NotFound.
	FindItem(ctx context.Context, orgID, id string) (*Item, error)
	FindItems(ctx context.Context, orgID string, f ItemFilter) ([]*Item, error)
	// UpdateItem loads, lets update change, saves (barcodes included).
	// Errors: NotFound, Conflict (barcode_taken), update's.
	UpdateItem(ctx context.Context, orgID, id string, update func(*Item) error) (*Item, error)
}

var (
	barcodeRE = regexp.MustCompile(`^[0-9A-Za-z\-]{4,32}$`)
	stationRE = regexp.MustCompile(`^[a-z0-9_\-]{1,32}$`)
)

// validateItem checks it against org's categories, tax categories and
// modifier groups.
func validateItem(ctx context.Context, l lookup, it *Item) error {
	var f apperr.Fields
	it.Name = validName(&f, it.Name, 120)
	it.Description = strings.TrimSpace(it.Description)
	if utf8.RuneCountInString(it.Description) > 1000 {
		f.Add("description", "must be at most 1000 characters")
	}
	if it.ImageURL != "" {
		if u, err := url.Parse(it.ImageURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			f.Add("image_url", "must be an http(s) URL")
		}
	}
	if _, err := l.Category(ctx, it.OrgID, it.CategoryID); err != nil {
		if !apperr.Is(err, apperr.NotFound) {
			return err
		}
		f.Add("category_id", "is not a category of this organization")
	}
	if _, err := l.TaxCategory(ctx, it.OrgID, it.TaxCategoryID); err != nil {
		if !apperr.Is(err, apperr.NotFound) {
			return err
		}
		f.Add("tax_category_id", "is not a tax category of this organization")
	}
	if it.KitchenStation != "" && !stationRE.MatchString(it.KitchenStation) {
		f.Add("kitchen_station", "must be 1 to 32 lower-case letters, digits, - or _")
	}
	if it.Course < 0 || it.Course > 9 {
		f.Add("course", "must be 0 to 9")
	}
	if c := it.CostPrice; c != nil {
		validPrice(&f, "cost_price", *c)
	}
	if len(it.Variants) == 0 || len(it.Variants) > 20 {
		f.Add("variants", "must hold 1 to 20 variants (an item with one price has one)")
	}
	seen := map[string]bool{}
	names, ids := map[string]bool{}, map[string]bool{}
	for i := range it.Variants {
		v := &it.Variants[i]
		field := "variants[" + strconv.Itoa(i) + "]"
		if v.ID == "" {
			v.ID = id.New(id.Variant)
		} else if !id.Valid(id.Variant, v.ID) {
			f.Add(field+".id", "must be var_ followed by a ULID")
		}
		v.Name = strings.TrimSpace(v.Name)
		if v.Name == "" || utf8.RuneCountInString(v.Name) > 60 {
			f.Add(field+".name", "must be 1 to 60 characters")
		}
		if key := strings.ToLower(v.Name); names[key] {
			f.Add(field+".name", "is the name of another variant of this item")
		} else {
			names[key] = true
		}
		if ids[v.ID] {
			f.Add(field+".id", "is the ID of another variant of this item")
		}
		ids[v.ID] = true
		if v.Price.Currency == "" {
			f.Add(field+".price", "is required: every variant has a price")
		} else {
			validPrice(&f, field+".price", v.Price)
		}
		if len(v.SKU) > 64 {
			f.Add(field+".sku", "must be at most 64 characters")
		}
		for j, b := range v.Barcodes {
			bf := field + ".barcodes[" + strconv.Itoa(j) + "]"
			switch {
			case !barcodeRE.MatchString(b):
				f.Add(bf, "must be 4 to 32 letters, digits or -")
			case seen[b]:
				f.Add(bf, "appears twice on this item")
			}
			seen[b] = true
		}
	}
	if it.ModifierGroups == nil {
		it.ModifierGroups = []string{}
	}
	for i, g := range it.ModifierGroups {
		field := "modifier_group_ids[" + strconv.Itoa(i) + "]"
		if slices.Index(it.ModifierGroups, g) != i {
			f.Add(field, "appears twice")
			continue
		}
		if _, err := l.ModifierGroup(ctx, it.OrgID, g); err != nil {
			if !apperr.Is(err, apperr.NotFound) {
				return err
			}
			f.Add(field, "is not a modifier group of this organization")
		}
	}
	validLabels(&f, "", &it.Allergens, &it.Dietary)
	return f.Err()
}

// validLabels checks allergens and dietary flags against the lists, and
// sorts them without repeats; prefix is the field path they sit under.
func validLabels(f *apperr.Fields, prefix string, allergens, dietary *[]string) {
	for i, a := range *allergens {
		if !slices.Contains(Allergens, a) {
			f.Add(prefix+"allergens["+strconv.Itoa(i)+"]", "is not one of the 14 declared allergens")
		}
	}
	for i, d := range *dietary {
		if !slices.Contains(DietaryFlags, d) {
			f.Add(prefix+"dietary["+strconv.Itoa(i)+"]", "is not a dietary flag ("+strings.Join(DietaryFlags, ", ")+")")
		}
	}
	slices.Sort(*allergens)
	*allergens = slices.Compact(*allergens)
	slices.Sort(*dietary)
	*dietary = slices.Compact(*dietary)
}

func validPrice(f *apperr.Fields, field string, m money.Money) {
	if _, ok := money.LookupCurrency(m.Currency); !ok {
		f.Add(field+".currency", "must be a supported ISO 4217 currency")
	}
	if m.Amount < 0 {
		f.Add(field+".amount", "must not be negative")
	}
}

// ItemInput is what a caller sets on a new item.
type ItemInput struct {
	ID             string
	CategoryID     string
	Name           string
	Description    string
	ImageURL       string
	TaxCategoryID  string
	KitchenStation string
	Course         int
	CostPrice      *money.Money
	Variants       []Variant
	ModifierGroups []string
	Allergens      []string
	Dietary        []string
}

// CreateItem adds an item to org.
func (s *Service) CreateItem(ctx context.Context, orgID string, in ItemInput) (*Item, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	now := s.now().UTC()
	it := &Item{ID: in.ID, OrgID: orgID, CategoryID: in.CategoryID, Name: in.Name, Description: in.Description, ImageURL: in.ImageURL,
		TaxCategoryID: in.TaxCategoryID, KitchenStation: in.KitchenStation, Course: in.Course, CostPrice: in.CostPrice,
		Variants: append([]Variant{}, in.Variants...), ModifierGroups: append([]string{}, in.ModifierGroups...), Allergens: append([]string{}, in.Allergens...), Dietary: append([]string{}, in.Dietary...),
		Version: 1, CreatedAt: now, UpdatedAt: now}
	if it.ID == "" {
		it.ID = id.New(id.Item)
	} else if !id.Valid(id.Item, it.ID) {
		return nil, apperr.Field("id", "must be itm_ followed by a ULID")
	}
	if err := validateItem(ctx, s, it); err != nil {
		return nil, err
	}
	return it, s.items.CreateItem(ctx, it)
}

// Item returns one of org's items.
func (s *Service) Item(ctx context.Context, orgID, id string) (*Item, error) {
	return s.items.FindItem(ctx, orgID, id)
}

// Items returns a page of org's items.
func (s *Service) Items(ctx context.Context, orgID string, f ItemFilter) ([]*Item, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 500+1)
	return s.items.FindItems(ctx, orgID, f)
}

// ItemPatch changes an item; Version is the one last read. A given slice
// replaces the item's whole list.
type ItemPatch struct {
	Version        int64
	CategoryID     *string
	Name           *string
	Description    *string
	ImageURL       *string
	TaxCategoryID  *string
	KitchenStation *string
	Course         *int
	CostPrice      *money.Money
	Variants       *[]Variant
	ModifierGroups *[]string
	Allergens      *[]string
	Dietary        *[]string
}

// UpdateItem changes one of org's items.
func (s *Service) UpdateItem(ctx context.Context, orgID, id string, p ItemPatch) (*Item, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	return s.items.UpdateItem(ctx, orgID, id, func(it *Item) error {
		if p.Version != it.Version {
			return apperr.StaleVersion(it)
		}
		setStr := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		setStr(&it.CategoryID, p.CategoryID)
		setStr(&it.Name, p.Name)
		setStr(&it.Description, p.Description)
		setStr(&it.ImageURL, p.ImageURL)
		setStr(&it.TaxCategoryID, p.TaxCategoryID)
		setStr(&it.KitchenStation, p.KitchenStation)
		if p.Course != nil {
			it.Course = *p.Course
		}
		if p.CostPrice != nil {
			it.CostPrice = p.CostPrice
		}
		if p.Variants != nil {
			it.Variants = append([]Variant{}, (*p.Variants)...)
		}
		if p.ModifierGroups != nil {
			it.ModifierGroups = append([]string{}, (*p.ModifierGroups)...)
		}
		if p.Allergens != nil {
			it.Allergens = append([]string{}, (*p.Allergens)...)
		}
		if p.Dietary != nil {
			it.Dietary = append([]string{}, (*p.Dietary)...)
		}
		if err := validateItem(ctx, s, it); err != nil {
			return err
		}
		it.Version++
		it.UpdatedAt = s.now().UTC()
		return nil
	})
}

// ArchiveItem takes an item off the menu; orders that sold it keep it.
func (s *Service) ArchiveItem(ctx context.Context, orgID, id string) (*Item, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	return s.items.UpdateItem(ctx, orgID, id, func(it *Item) error {
		if !it.Archived {
			it.Archived = true
			it.Version++
			it.UpdatedAt = s.now().UTC()
		}
		return nil
	})
}
