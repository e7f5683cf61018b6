// Package kitchen runs the kitchen's side of a check: its stations (grill,
// fryer, bar, pastry...), the routing of each line to one of them, and the
// tickets a send creates — one per station, with only the lines not sent
// before, never twice — which the kitchen acknowledges, bumps and recalls.
package kitchen

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/order"
)

// Station is a place in the kitchen that gets tickets.
type Station struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"organization_id"`
	LocationID  string    `json:"location_id"`
	Key         string    `json:"key" doc:"what items name in kitchen_station, e.g. grill"`
	Name        string    `json:"name" example:"Grill"`
	CategoryIDs []string  `json:"category_ids" doc:"items of these categories come here unless they name a station"`
	Default     bool      `json:"default" doc:"gets the lines no other station takes"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Ticket statuses.
const (
	TicketOpen = "open" // on the screen
	TicketDone = "done" // bumped: every line ready
)

// TicketLine is a line as the kitchen sees it.
type TicketLine struct {
	LineID      string          `json:"line_id"`
	Name        string          `json:"name"`
	VariantName string          `json:"variant_name"`
	Quantity    int             `json:"quantity"`
	Modifiers   []string        `json:"modifiers" doc:"as the cook reads them, e.g. 'No onion'"`
	Notes       string          `json:"notes,omitempty"`
	Seat        int             `json:"seat"`
	Course      int             `json:"course"`
	Allergens   []string        `json:"allergens"`
	State       order.LineState `json:"state" enum:"sent,acknowledged,ready,served,voided"`
}

// Ticket is what one station gets from one send of a check.
type Ticket struct {
	ID             string       `json:"id"`
	OrgID          string       `json:"organization_id"`
	LocationID     string       `json:"location_id"`
	OrderID        string       `json:"order_id"`
	OrderNumber    int          `json:"order_number"`
	TableName      string       `json:"table_name,omitempty"`
	OrderType      string       `json:"order_type"`
	ServerName     string       `json:"server_name,omitempty"`
	Station        string       `json:"station"`
	Status         string       `json:"status" enum:"open,done"`
	AllergenAlert  bool         `json:"allergen_alert" doc:"a line has allergens: the kitchen must acknowledge before bumping"`
	AcknowledgedAt *time.Time   `json:"acknowledged_at"`
	Lines          []TicketLine `json:"lines"`
	CreatedAt      time.Time    `json:"created_at"`
	BumpedAt       *time.Time   `json:"bumped_at"`
	Version        int64        `json:"version"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// Refresh copies the lines' kitchen states from the checks, which keep
// them: a ticket shows the line as it is now (voided, recalled...). Lines
// on none of the checks stay as they are.
func (t *Ticket) Refresh(checks ...*order.Order) {
	for i := range t.Lines {
		for _, o := range checks {
			if l := o.Line(t.Lines[i].LineID); l != nil {
				t.Lines[i].State = l.KitchenState
			}
		}
	}
}

// Event types of the kitchen.
const (
	EventStationCreated = "station.created"
	EventStationUpdated = "station.updated"
	EventTicketCreated  = "ticket.created"
	EventTicketUpdated  = "ticket.updated"
)

// TicketFilter selects tickets.
type TicketFilter struct {
	LocationID string
	Station    string // "" for all
	Status     string // "" for all
	Since      time.Time
	Limit      int
}

// Store persists stations and tickets.
type Store interface {
	// CreateStation errors: Conflict (already_exists, station_key_taken).
	CreateStation(ctx context.Context, st *Station) error
	// FindStation errors: NotFound.
	FindStation(ctx context.Context, orgID, id string) (*Station, error)
	FindStations(ctx context.Context, orgID, locationID string) ([]*Station, error)
	// UpdateStation loads, lets update change, saves. Errors: NotFound, update's.
	UpdateStation(ctx context.Context, orgID, id string, update func(*Station) error) (*Station, error)

	// SendOrder locks and loads a check, lets send change it and make
	// tickets, and saves the check, its changed lines and the tickets with
	// their events. A line reaches a station at most once: the store
	// refuses a second ticket line for the same line and station.
	// Errors: NotFound, send's.
	SendOrder(ctx context.Context, orgID, orderID string, send func(*order.Order) (*order.Change, []*Ticket, error)) (*order.Order, []*Ticket, error)
	// CreateAndSend stores a new check as order.Store's CreateOrder does,
	// then sends it as SendOrder does, in one transaction. Errors: those
	// of both.
	CreateAndSend(ctx context.Context, o *order.Order, ch *order.Change, send func(*order.Order) (*order.Change, []*Ticket, error)) ([]*Ticket, error)
	// FindTicket errors: NotFound.
	FindTicket(ctx context.Context, orgID, id string) (*Ticket, error)
	// FindTickets returns tickets oldest first, their line states current.
	FindTickets(ctx context.Context, orgID string, f TicketFilter) ([]*Ticket, error)
	// UpdateTicket locks and loads a ticket and the checks its lines are
	// on — the one it was sent from, and any its lines were moved or merged
	// into since — lets update change them (one change per check, in the
	// same order), and saves them with their events. Errors: NotFound,
	// update's.
	UpdateTicket(ctx context.Context, orgID, id string, update func(*Ticket, []*order.Order) ([]*order.Change, error)) (*Ticket, error)
}

// Orders is what the kitchen needs of checks and tables.
type Orders interface {
	Order(ctx context.Context, orgID, id string) (*order.Order, error)
	Table(ctx context.Context, orgID, id string) (*order.Table, error)
	// Prepare builds and prices a new check without saving it.
	Prepare(ctx context.Context, a order.Actor, in order.OpenInput) (*order.Order, *order.Change, error)
	// StockMoved is told of a prepared check once stored: its sale may
	// have counted stock, which the menu shows.
	StockMoved(orgID string, ch *order.Change)
}

// Service applies the kitchen's rules.
type Service struct {
	store  Store
	orders Orders
	names  func(ctx context.Context, orgID, employeeID string) string
	now    func() time.Time
}

// NewService returns a Service. names gives an employee's name for
// tickets ("" if unknown).
func NewService(store Store, orders Orders, names func(ctx context.Context, orgID, employeeID string) string, now func() time.Time) *Service {
	return &Service{store: store, orders: orders, names: names, now: now}
}

var keyRE = regexp.MustCompile(`^[a-z0-9_\-]{1,32}$`)

func (st *Station) validate() error {
	var f apperr.Fields
	if !keyRE.MatchString(st.Key) {
		f.Add("key", "must be 1 to 32 lower-case letters, digits, - or _")
	}
	st.Name = strings.TrimSpace(st.Name)
	if st.Name == "" || utf8.RuneCountInString(st.Name) > 60 {
		f.Add("name", "must be 1 to 60 characters")
	}
	if len(st.CategoryIDs) > 200 {
		f.Add("category_ids", "must hold at most 200 categories")
	}
	if st.CategoryIDs == nil {
		st.CategoryIDs = []string{}
	}
	return f.Err()
}

// StationInput is a new station.
type StationInput struct {
	ID          string
	LocationID  string
	Key         string
	Name        string
	CategoryIDs []string
	Default     bool
}

// CreateStation adds a station to a location of org (the caller checks
// the location is org's).
func (s *Service) CreateStation(ctx context.Context, orgID string, in StationInput) (*Station, error) {
	if in.ID == "" {
		in.ID = id.New(id.Station)
	} else if !id.Valid(id.Station, in.ID) {
		return nil, apperr.Field("id", "must be kst_ followed by a ULID")
	}
	now := s.now().UTC()
	st := &Station{ID: in.ID, OrgID: orgID, LocationID: in.LocationID, Key: in.Key, Name: in.Name,
		CategoryIDs: append([]string{}, in.CategoryIDs...), Default: in.Default, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := st.validate(); err != nil {
		return nil, err
	}
	if err := s.store.CreateStation(ctx, st); err != nil {
		return nil, err
	}
	return st, nil
}

// StationPatch changes a station; nil fields stay.
type StationPatch struct {
	// AtLocation, when not empty, is the caller's own location (a staff
	// token's): a station of another location is not found.
	AtLocation  string
	Version     int64
	Name        *string
	CategoryIDs *[]string
	Default     *bool
}

// UpdateStation changes one of org's stations.
func (s *Service) UpdateStation(ctx context.Context, orgID, id string, p StationPatch) (*Station, error) {
	return s.store.UpdateStation(ctx, orgID, id, func(st *Station) error {
		if p.AtLocation != "" && p.AtLocation != st.LocationID {
			return apperr.NotFoundf("station")
		}
		if p.Version != st.Version {
			return apperr.StaleVersion(st)
		}
		if p.Name != nil {
			st.Name = *p.Name
		}
		if p.CategoryIDs != nil {
			st.CategoryIDs = append([]string{}, (*p.CategoryIDs)...)
		}
		if p.Default != nil {
			st.Default = *p.Default
		}
		if err := st.validate(); err != nil {
			return err
		}
		st.Version++
		st.UpdatedAt = s.now().UTC()
		return nil
	})
}

// Stations lists a location's stations.
func (s *Service) Stations(ctx context.Context, orgID, locationID string) ([]*Station, error) {
	return s.store.FindStations(ctx, orgID, locationID)
}

// route picks the station a line goes to: the one its item names, else
// the one taking its category, else the default; "" when none does (a
// bottle of water sold over the bar needs no ticket).
func route(l *order.Line, stations []*Station) string {
	var byCategory, fallback string
	for _, st := range stations {
		switch {
		case l.Station != "" && st.Key == l.Station:
			return st.Key
		case byCategory == "" && slices.Contains(st.CategoryIDs, l.CategoryID):
			byCategory = st.Key
		case fallback == "" && st.Default:
			fallback = st.Key
		}
	}
	if byCategory != "" {
		return byCategory
	}
	return fallback
}
