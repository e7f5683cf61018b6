// Package menu holds what a restaurant sells: categories, items and their
// variants and modifiers, the tax categories that decide their VAT, the
// allergens on them, and their availability at each location.
//
// So far: tax categories, categories and items with their variants,
// barcodes, allergens and dietary flags; modifiers, availability and the
// one-request menu snapshot follow (issue 4).
package menu

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
)

// Rates are a tax category's rates in basis points (2000 = 20%) for each
// way an order is served: UK VAT differs between eating in and taking away.
type Rates struct {
	DineIn   int `json:"dine_in" minimum:"0" maximum:"10000" doc:"basis points: 2000 = 20%"`
	Takeaway int `json:"takeaway" minimum:"0" maximum:"10000"`
	Delivery int `json:"delivery" minimum:"0" maximum:"10000"`
}

// TaxCategory says how items in it are taxed, e.g. "Cold food": 20% eaten
// in, zero-rated taken away.
type TaxCategory struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"organization_id"`
	Name      string    `json:"name"`
	Rates     Rates     `json:"rates"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Category groups items on the POS grid; categories may nest.
type Category struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"organization_id"`
	Name      string    `json:"name"`
	ParentID  string    `json:"parent_id,omitempty"`
	Position  int       `json:"position" doc:"order among its siblings, smallest first"`
	Color     string    `json:"color,omitempty" doc:"#RRGGBB for the POS button"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Event types of this domain.
const (
	EventTaxCategoryCreated = "tax_category.created"
	EventTaxCategoryUpdated = "tax_category.updated"
	EventTaxCategoryDeleted = "tax_category.deleted"
	EventCategoryCreated    = "category.created"
	EventCategoryUpdated    = "category.updated"
	EventCategoryDeleted    = "category.deleted"
)

// Store persists the menu. Every change writes its event in the same
// transaction.
type Store interface {
	// CreateTaxCategory errors: Conflict if the ID is taken.
	CreateTaxCategory(ctx context.Context, t *TaxCategory) error
	// FindTaxCategory errors: NotFound.
	FindTaxCategory(ctx context.Context, orgID, id string) (*TaxCategory, error)
	FindTaxCategories(ctx context.Context, orgID string) ([]*TaxCategory, error)
	// UpdateTaxCategory loads, lets update change, saves. Errors: NotFound, update's.
	UpdateTaxCategory(ctx context.Context, orgID, id string, update func(*TaxCategory) error) (*TaxCategory, error)
	// DeleteTaxCategory errors: NotFound, Conflict if items use it.
	DeleteTaxCategory(ctx context.Context, orgID, id string) error

	// CreateCategory errors: Conflict if the ID is taken.
	CreateCategory(ctx context.Context, c *Category) error
	// FindCategory errors: NotFound.
	FindCategory(ctx context.Context, orgID, id string) (*Category, error)
	// FindCategories returns org's categories by position, then name.
	FindCategories(ctx context.Context, orgID string) ([]*Category, error)
	// UpdateCategory loads, lets update change, saves. Errors: NotFound, update's.
	UpdateCategory(ctx context.Context, orgID, id string, update func(*Category) error) (*Category, error)
	// DeleteCategory errors: NotFound, Conflict (code category_in_use) if
	// categories or items are in it.
	DeleteCategory(ctx context.Context, orgID, id string) error
}

// Service applies the menu's rules.
type Service struct {
	store     Store
	items     ItemStore
	modifiers ModifierStore
	avail     AvailabilityStore
	batches   BatchStore
	changes   ChangeLog
	now       func() time.Time
	cache     snapshots
}

// Stores are what the menu persists through; one database implements all.
type Stores interface {
	Store
	ItemStore
	ModifierStore
	AvailabilityStore
	BatchStore
	ChangeLog
}

// NewService returns a Service.
func NewService(stores Stores, now func() time.Time) *Service {
	return &Service{store: stores, items: stores, modifiers: stores, avail: stores, batches: stores, changes: stores, now: now}
}

func validName(f *apperr.Fields, name string, max int) string {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > max {
		f.Add("name", "must be 1 to "+strconv.Itoa(max)+" characters")
	}
	return name
}

func (t *TaxCategory) validate() error {
	var f apperr.Fields
	t.Name = validName(&f, t.Name, 80)
	for field, r := range map[string]int{"rates.dine_in": t.Rates.DineIn, "rates.takeaway": t.Rates.Takeaway, "rates.delivery": t.Rates.Delivery} {
		if r < 0 || r > 10000 {
			f.Add(field, "must be 0 to 10000 basis points (0% to 100%)")
		}
	}
	return f.Err()
}

// TaxCategories lists org's tax categories.
func (s *Service) TaxCategories(ctx context.Context, orgID string) ([]*TaxCategory, error) {
	return s.store.FindTaxCategories(ctx, orgID)
}

// TaxCategory returns one of org's tax categories.
func (s *Service) TaxCategory(ctx context.Context, orgID, id string) (*TaxCategory, error) {
	return s.store.FindTaxCategory(ctx, orgID, id)
}

// CreateTaxCategory adds a tax category to org.
func (s *Service) CreateTaxCategory(ctx context.Context, orgID, name string, rates Rates) (*TaxCategory, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	now := s.now().UTC()
	t := &TaxCategory{ID: id.New(id.TaxCategory), OrgID: orgID, Name: name, Rates: rates, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, s.store.CreateTaxCategory(ctx, t)
}

// TaxCategoryPatch changes a tax category; Version is the one last read.
type TaxCategoryPatch struct {
	Version int64
	Name    *string
	Rates   *Rates
}

// UpdateTaxCategory changes one of org's tax categories.
func (s *Service) UpdateTaxCategory(ctx context.Context, orgID, id string, p TaxCategoryPatch) (*TaxCategory, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	return s.store.UpdateTaxCategory(ctx, orgID, id, func(t *TaxCategory) error {
		if p.Version != t.Version {
			return apperr.StaleVersion(t)
		}
		if p.Name != nil {
			t.Name = *p.Name
		}
		if p.Rates != nil {
			t.Rates = *p.Rates
		}
		if err := t.validate(); err != nil {
			return err
		}
		t.Version++
		t.UpdatedAt = s.now().UTC()
		return nil
	})
}

// DeleteTaxCategory removes one of org's tax categories no item uses.
func (s *Service) DeleteTaxCategory(ctx context.Context, orgID, id string) error {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	return s.store.DeleteTaxCategory(ctx, orgID, id)
}

var colorRE = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// lookup finds the objects a menu object refers to: the stored ones, or in
// a batch, also those written alongside it. *Service is the plain one.
type lookup interface {
	Category(ctx context.Context, orgID, id string) (*Category, error)
	TaxCategory(ctx context.Context, orgID, id string) (*TaxCategory, error)
	ModifierGroup(ctx context.Context, orgID, id string) (*ModifierGroup, error)
}

// validateCategory checks c, walking its parent chain for existence and cycles.
func validateCategory(ctx context.Context, l lookup, c *Category) error {
	var f apperr.Fields
	c.Name = validName(&f, c.Name, 80)
	if c.Color != "" && !colorRE.MatchString(c.Color) {
		f.Add("color", "must be #RRGGBB")
	}
	if c.Position < 0 || c.Position > 100000 {
		f.Add("position", "must be 0 to 100000")
	}
	// The parent must be one of org's categories, and not this one or
	// below it: a category cannot contain itself.
	for depth, parent := 0, c.ParentID; parent != ""; depth++ {
		if parent == c.ID || depth > 16 {
			f.Add("parent_id", "would put the category inside itself (or nest deeper than 16)")
			break
		}
		p, err := l.Category(ctx, c.OrgID, parent)
		if apperr.Is(err, apperr.NotFound) {
			f.Add("parent_id", "is not a category of this organization")
			break
		}
		if err != nil {
			return err
		}
		parent = p.ParentID
	}
	return f.Err()
}

// Categories lists org's categories.
func (s *Service) Categories(ctx context.Context, orgID string) ([]*Category, error) {
	return s.store.FindCategories(ctx, orgID)
}

// Category returns one of org's categories.
func (s *Service) Category(ctx context.Context, orgID, id string) (*Category, error) {
	return s.store.FindCategory(ctx, orgID, id)
}

// CategoryInput is what a caller sets on a new category.
type CategoryInput struct {
	ID       string // optional, client-chosen
	Name     string
	ParentID string
	Position int
	Color    string
}

// CreateCategory adds a category to org.
func (s *Service) CreateCategory(ctx context.Context, orgID string, in CategoryInput) (*Category, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	now := s.now().UTC()
	c := &Category{ID: in.ID, OrgID: orgID, Name: in.Name, ParentID: in.ParentID, Position: in.Position, Color: in.Color,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	if c.ID == "" {
		c.ID = id.New(id.Category)
	} else if !id.Valid(id.Category, c.ID) {
		return nil, apperr.Field("id", "must be cat_ followed by a ULID")
	}
	if err := validateCategory(ctx, s, c); err != nil {
		return nil, err
	}
	return c, s.store.CreateCategory(ctx, c)
}

// CategoryPatch changes a category; Version is the one last read.
type CategoryPatch struct {
	Version  int64
	Name     *string
	ParentID *string // "" moves it to the top level
	Position *int
	Color    *string
}

// UpdateCategory changes one of org's categories.
func (s *Service) UpdateCategory(ctx context.Context, orgID, id string, p CategoryPatch) (*Category, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	return s.store.UpdateCategory(ctx, orgID, id, func(c *Category) error {
		if p.Version != c.Version {
			return apperr.StaleVersion(c)
		}
		if p.Name != nil {
			c.Name = *p.Name
		}
		if p.ParentID != nil {
			c.ParentID = *p.ParentID
		}
		if p.Position != nil {
			c.Position = *p.Position
		}
		if p.Color != nil {
			c.Color = *p.Color
		}
		if err := validateCategory(ctx, s, c); err != nil {
			return err
		}
		c.Version++
		c.UpdatedAt = s.now().UTC()
		return nil
	})
}

// DeleteCategory removes one of org's categories that holds nothing.
func (s *Service) DeleteCategory(ctx context.Context, orgID, id string) error {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	return s.store.DeleteCategory(ctx, orgID, id)
}
