package menu

import "context"

// Catalog is one location's menu indexed for lookups: what an order needs
// to price a line without a database read. It is shared by every request
// that uses the same snapshot, so its objects must not be changed.
type Catalog struct {
	items      map[string]*Item
	groups     map[string]*ModifierGroup
	taxes      map[string]*TaxCategory
	categories map[string]*Category
	avail      map[string]*Availability
}

func newCatalog(v *snapshotView) *Catalog {
	c := &Catalog{items: make(map[string]*Item, len(v.Items)), groups: make(map[string]*ModifierGroup, len(v.ModifierGroups)),
		taxes: make(map[string]*TaxCategory, len(v.TaxCategories)), categories: make(map[string]*Category, len(v.Categories)),
		avail: v.Availability}
	for _, it := range v.Items {
		c.items[it.ID] = it
	}
	for _, g := range v.ModifierGroups {
		c.groups[g.ID] = g
	}
	for _, t := range v.TaxCategories {
		c.taxes[t.ID] = t
	}
	for _, cat := range v.Categories {
		c.categories[cat.ID] = cat
	}
	return c
}

// Item returns an item on the menu (archived items are not), or nil.
func (c *Catalog) Item(id string) *Item { return c.items[id] }

// ModifierGroup returns a modifier group, or nil.
func (c *Catalog) ModifierGroup(id string) *ModifierGroup { return c.groups[id] }

// TaxCategory returns a tax category, or nil.
func (c *Catalog) TaxCategory(id string) *TaxCategory { return c.taxes[id] }

// Category returns a category, or nil.
func (c *Catalog) Category(id string) *Category { return c.categories[id] }

// Availability returns the item's availability at the location, or nil
// when it is simply available at its own prices.
func (c *Catalog) Availability(itemID string) *Availability { return c.avail[itemID] }

// Catalog returns the menu of one of org's locations for lookups (the
// caller checks the location is org's). It is the cached snapshot's, so it
// costs nothing while the menu is unchanged.
func (s *Service) Catalog(ctx context.Context, orgID, locationID string) (*Catalog, error) {
	snap, err := s.Menu(ctx, orgID, locationID)
	if err != nil {
		return nil, err
	}
	return snap.Catalog, nil
}
