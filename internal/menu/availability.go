package menu

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
)

// Availability is how an item stands at one location: off the menu for
// now ("86"), priced differently, or counted down from a stock.
type Availability struct {
	LocationID     string                 `json:"location_id"`
	ItemID         string                 `json:"item_id"`
	Unavailable    bool                   `json:"unavailable" doc:"86'd: shown greyed out, cannot be ordered"`
	Reason         string                 `json:"reason,omitempty" doc:"why, for the floor: e.g. 'sold out', 'fryer down'"`
	Until          *time.Time             `json:"until,omitempty" doc:"when it comes back by itself"`
	Stock          *int                   `json:"stock,omitempty" doc:"for stock-tracked items: how many are left; 0 means 86'd"`
	PriceOverrides map[string]money.Money `json:"price_overrides,omitempty" doc:"variant ID → this location's price"`
	Version        int64                  `json:"version"`
	UpdatedAt      time.Time              `json:"updated_at"`
}

// AvailableAt reports whether the item can be ordered at t.
func (a *Availability) AvailableAt(t time.Time) bool {
	if a.Stock != nil && *a.Stock <= 0 {
		return false
	}
	return !a.Unavailable || (a.Until != nil && !t.Before(*a.Until))
}

// EventAvailabilityUpdated is written when an item's availability at a
// location changes.
const EventAvailabilityUpdated = "availability.updated"

// AvailabilityStore persists availability.
type AvailabilityStore interface {
	// FindAvailability returns the availability rows of a location.
	FindAvailability(ctx context.Context, orgID, locationID string) ([]*Availability, error)
	// PutAvailability loads the row (zero, version 0, if none), lets update
	// change it and saves it. Errors: update's.
	PutAvailability(ctx context.Context, orgID, locationID, itemID string, update func(*Availability) error) (*Availability, error)
}

// AvailabilityInput is the whole new state of an item at a location.
type AvailabilityInput struct {
	Version        int64 // the version last read; 0 when there was none
	Unavailable    bool
	Reason         string
	Until          *time.Time
	Stock          *int
	PriceOverrides map[string]money.Money
}

// SetAvailability replaces an item's availability at a location of org
// (the caller checks the location is org's).
func (s *Service) SetAvailability(ctx context.Context, orgID, locationID, itemID string, in AvailabilityInput) (*Availability, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	item, err := s.items.FindItem(ctx, orgID, itemID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var f apperr.Fields
	reason := strings.TrimSpace(in.Reason)
	if utf8.RuneCountInString(reason) > 120 {
		f.Add("reason", "must be at most 120 characters")
	}
	if in.Until != nil && !in.Until.After(now) {
		f.Add("until", "must be in the future")
	}
	if in.Until != nil && !in.Unavailable {
		f.Add("until", "applies only while unavailable")
	}
	if in.Stock != nil && (*in.Stock < 0 || *in.Stock > 1_000_000) {
		f.Add("stock", "must be 0 to 1000000")
	}
	for vid, p := range in.PriceOverrides {
		found := false
		for _, v := range item.Variants {
			found = found || v.ID == vid
		}
		if !found {
			f.Add("price_overrides."+vid, "is not a variant of this item")
			continue
		}
		validPrice(&f, "price_overrides."+vid, p)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return s.avail.PutAvailability(ctx, orgID, locationID, itemID, func(a *Availability) error {
		if in.Version != a.Version {
			return apperr.StaleVersion(a)
		}
		a.Unavailable, a.Reason, a.Until, a.Stock, a.PriceOverrides = in.Unavailable, reason, in.Until, in.Stock, in.PriceOverrides
		a.Version++
		a.UpdatedAt = now
		return nil
	})
}
