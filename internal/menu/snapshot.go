package menu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Snapshot is everything a POS needs to show one location's menu, encoded
// once and served to every iPad that asks until the menu changes.
type Snapshot struct {
	JSON []byte // the body of GET /locations/{id}/menu
	ETag string // a strong validator of JSON
	// Expires is when an 86 with an until time lapses: the snapshot must
	// be rebuilt then, though nothing was written. Zero for never.
	Expires time.Time
	// Catalog looks up the same menu's objects, for pricing orders.
	Catalog *Catalog

	seq     atomic.Int64 // the organization's event log was at most here when built
	checked atomic.Int64 // when seq was last compared with the log, Unix ns
}

// recheckEvery is how often a cached menu asks the event log whether
// another process (a second node, `fynlo menu import`) changed the menu.
// This node's own writes and the events it relays drop it at once.
const recheckEvery = time.Second

// ChangeLog tells whether a menu changed, from the event log.
type ChangeLog interface {
	// MenuChangedSince reports the organization's latest event sequence
	// number, and whether an event after seq has a type with one of the
	// prefixes.
	MenuChangedSince(ctx context.Context, orgID string, seq int64, prefixes []string) (last int64, changed bool, err error)
}

// snapshotView is the shape of the menu document.
type snapshotView struct {
	LocationID     string           `json:"location_id"`
	BuiltAt        time.Time        `json:"built_at"`
	TaxCategories  []*TaxCategory   `json:"tax_categories"`
	Categories     []*Category      `json:"categories"`
	Items          []*Item          `json:"items"`
	ModifierGroups []*ModifierGroup `json:"modifier_groups"`
	// Availability holds this location's 86s, stock counts and prices,
	// by item ID; items absent from it are available at their own prices.
	Availability map[string]*Availability `json:"availability"`
}

// snapshots caches built menus per location. An organization's entries are
// dropped whenever its menu changes: at once by this node's own writes,
// and through the events for changes made elsewhere.
type snapshots struct {
	mu  sync.Mutex
	m   map[string]map[string]*Snapshot // org → location → snapshot
	gen map[string]uint64               // org → times dropped
}

// generation returns org's drop count, read before building a snapshot:
// one built while a change was being written must not be kept.
func (c *snapshots) generation(orgID string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen[orgID]
}

func (c *snapshots) get(orgID, locationID string) *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[orgID][locationID]
}

func (c *snapshots) put(orgID, locationID string, s *Snapshot, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[orgID] != gen {
		return // dropped while it was built: it may predate the change
	}
	if c.m == nil {
		c.m = make(map[string]map[string]*Snapshot)
	}
	if c.m[orgID] == nil {
		c.m[orgID] = make(map[string]*Snapshot)
	}
	c.m[orgID][locationID] = s
}

func (c *snapshots) drop(orgID string) {
	c.mu.Lock()
	delete(c.m, orgID)
	if c.gen == nil {
		c.gen = make(map[string]uint64)
	}
	c.gen[orgID]++
	c.mu.Unlock()
}

// eventPrefixes start the types of the events that change menus.
var eventPrefixes = []string{"tax_category.", "category.", "item.", "modifier_group.", "availability."}

// IsMenuEvent reports whether an event type changes menus.
func IsMenuEvent(typ string) bool {
	for _, p := range eventPrefixes {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}

// Invalidate forgets org's built menus; the wiring calls it for every menu
// event, so changes made on another node show here too.
func (s *Service) Invalidate(orgID string) { s.cache.drop(orgID) }

// CachedMenu returns the menu of one of org's locations if it is cached
// and current, or nil. Only Menu caches, and only after the caller checked
// the location is org's, so a cached menu needs no second check.
func (s *Service) CachedMenu(ctx context.Context, orgID, locationID string) (*Snapshot, error) {
	now := s.now().UTC()
	if snap := s.cache.get(orgID, locationID); snap != nil && (snap.Expires.IsZero() || now.Before(snap.Expires)) {
		fresh, err := s.stillFresh(ctx, orgID, snap, now)
		if err != nil || fresh {
			return snap, err
		}
	}
	return nil, nil
}

// Menu returns the menu of one of org's locations (the caller checks the
// location is org's), building it if it is not cached.
func (s *Service) Menu(ctx context.Context, orgID, locationID string) (*Snapshot, error) {
	if snap, err := s.CachedMenu(ctx, orgID, locationID); snap != nil || err != nil {
		return snap, err
	}
	now := s.now().UTC()
	gen := s.cache.generation(orgID)
	seq, _, err := s.changes.MenuChangedSince(ctx, orgID, 0, nil)
	if err != nil {
		return nil, err
	}
	view := snapshotView{LocationID: locationID, BuiltAt: now, Availability: map[string]*Availability{}}
	var expires time.Time
	avail, err := s.avail.FindAvailability(ctx, orgID, locationID)
	if err != nil {
		return nil, err
	}
	for _, a := range avail {
		if a.Unavailable && a.Until != nil {
			if !now.Before(*a.Until) {
				a.Unavailable, a.Until, a.Reason = false, nil, "" // back by itself
			} else if expires.IsZero() || a.Until.Before(expires) {
				expires = *a.Until
			}
		}
		if a.Stock != nil && *a.Stock <= 0 && !a.Unavailable {
			// Counted down to nothing: shown as 86'd, so a POS reading only
			// "unavailable" greys it out too.
			a.Unavailable, a.Reason = true, "sold out"
		}
		view.Availability[a.ItemID] = a
	}
	if view.TaxCategories, err = s.store.FindTaxCategories(ctx, orgID); err != nil {
		return nil, err
	}
	if view.Categories, err = s.store.FindCategories(ctx, orgID); err != nil {
		return nil, err
	}
	if view.ModifierGroups, err = s.modifiers.FindModifierGroups(ctx, orgID); err != nil {
		return nil, err
	}
	for after := ""; ; {
		page, err := s.items.FindItems(ctx, orgID, ItemFilter{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		view.Items = append(view.Items, page...)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	if view.Items == nil {
		view.Items = []*Item{}
	}
	// The ETag is of the menu, not of when it was built: a snapshot rebuilt
	// after an event (this node's cache invalidated, another node's) with
	// nothing changed keeps its ETag, and an iPad holding it gets its 304.
	view.BuiltAt = time.Time{}
	stable, err := json.Marshal(view)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(stable)
	view.BuiltAt = now
	body, err := json.Marshal(view)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{JSON: append(body, '\n'), ETag: `"` + hex.EncodeToString(sum[:12]) + `"`, Expires: expires,
		Catalog: newCatalog(&view)}
	snap.seq.Store(seq)
	snap.checked.Store(now.UnixNano())
	s.cache.put(orgID, locationID, snap, gen)
	return snap, nil
}

// stillFresh reports whether a cached snapshot still shows the menu: at
// most once a second it asks the event log for menu changes made since.
func (s *Service) stillFresh(ctx context.Context, orgID string, snap *Snapshot, now time.Time) (bool, error) {
	checked := snap.checked.Load()
	if now.UnixNano()-checked < int64(recheckEvery) || !snap.checked.CompareAndSwap(checked, now.UnixNano()) {
		return true, nil // checked lately, or being checked by another request
	}
	last, changed, err := s.changes.MenuChangedSince(ctx, orgID, snap.seq.Load(), eventPrefixes)
	if err != nil {
		return false, err
	}
	if changed {
		s.Invalidate(orgID) // no request may be served this one again
		return false, nil
	}
	snap.seq.Store(last)
	return true, nil
}
