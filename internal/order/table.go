package order

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
)

// TableStatus is how a table stands, derived from the checks open on it.
type TableStatus string

// The table statuses.
const (
	TableFree    TableStatus = "free"    // no open check
	TableSeated  TableStatus = "seated"  // a check is open, nothing ordered yet
	TableOrdered TableStatus = "ordered" // something is ordered
	TablePaying  TableStatus = "paying"  // the bill is split or paid, not yet closed
)

// Table is a table of a location's floor.
type Table struct {
	ID         string      `json:"id"`
	OrgID      string      `json:"organization_id"`
	LocationID string      `json:"location_id"`
	Area       string      `json:"area" doc:"the floor area, e.g. Terrace, Bar, Main room"`
	Name       string      `json:"name" doc:"what staff call it, e.g. 12"`
	Seats      int         `json:"seats"`
	Position   int         `json:"position" doc:"order on the floor plan list, smallest first"`
	Archived   bool        `json:"archived"`
	Status     TableStatus `json:"status" enum:"free,seated,ordered,paying" doc:"from the checks open on it, when read"`
	OrderIDs   []string    `json:"order_ids" doc:"the checks open on it"`
	Version    int64       `json:"version"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

// Event types of tables.
const (
	EventTableCreated = "table.created"
	EventTableUpdated = "table.updated"
)

// TableStore persists tables.
type TableStore interface {
	// CreateTable errors: Conflict (already_exists, table_name_taken).
	CreateTable(ctx context.Context, t *Table) error
	// FindTable errors: NotFound.
	FindTable(ctx context.Context, orgID, id string) (*Table, error)
	// FindTables lists a location's tables by area, position and name.
	FindTables(ctx context.Context, orgID, locationID string, archived bool) ([]*Table, error)
	// UpdateTable loads, lets update change, saves. Errors: NotFound,
	// Conflict table_name_taken, update's.
	UpdateTable(ctx context.Context, orgID, id string, update func(*Table) error) (*Table, error)
}

// TableInput is a new table.
type TableInput struct {
	ID         string
	LocationID string
	Area       string
	Name       string
	Seats      int
	Position   int
}

func (t *Table) validate() error {
	var f apperr.Fields
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || utf8.RuneCountInString(t.Name) > 30 {
		f.Add("name", "must be 1 to 30 characters")
	}
	t.Area = strings.TrimSpace(t.Area)
	if utf8.RuneCountInString(t.Area) > 60 {
		f.Add("area", "must be at most 60 characters")
	}
	if t.Seats < 1 || t.Seats > 100 {
		f.Add("seats", "must be 1 to 100")
	}
	return f.Err()
}

// CreateTable adds a table to one of org's locations.
func (s *Service) CreateTable(ctx context.Context, orgID string, in TableInput) (*Table, error) {
	if _, err := s.locations.Location(ctx, orgID, in.LocationID); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil, apperr.Field("location_id", "is not a location of this organization")
		}
		return nil, err
	}
	if in.ID == "" {
		in.ID = id.New(id.Table)
	} else if !id.Valid(id.Table, in.ID) {
		return nil, apperr.Field("id", "must be tbl_ followed by a ULID")
	}
	now := s.now().UTC()
	t := &Table{ID: in.ID, OrgID: orgID, LocationID: in.LocationID, Area: in.Area, Name: in.Name, Seats: in.Seats,
		Position: in.Position, Status: TableFree, OrderIDs: []string{}, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := t.validate(); err != nil {
		return nil, err
	}
	if err := s.tables.CreateTable(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// TablePatch changes a table; nil fields stay.
type TablePatch struct {
	Version  int64
	Area     *string
	Name     *string
	Seats    *int
	Position *int
	Archived *bool
}

// UpdateTable changes one of org's tables.
func (s *Service) UpdateTable(ctx context.Context, orgID, id string, p TablePatch) (*Table, error) {
	t, err := s.tables.UpdateTable(ctx, orgID, id, func(t *Table) error {
		if p.Version != t.Version {
			return apperr.StaleVersion(t)
		}
		if p.Area != nil {
			t.Area = *p.Area
		}
		if p.Name != nil {
			t.Name = *p.Name
		}
		if p.Seats != nil {
			t.Seats = *p.Seats
		}
		if p.Position != nil {
			t.Position = *p.Position
		}
		if p.Archived != nil {
			t.Archived = *p.Archived
		}
		if err := t.validate(); err != nil {
			return err
		}
		t.Version++
		t.UpdatedAt = s.now().UTC()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, s.withStatus(ctx, orgID, t.LocationID, []*Table{t})
}

// Table returns one of org's tables with its status.
func (s *Service) Table(ctx context.Context, orgID, id string) (*Table, error) {
	t, err := s.tables.FindTable(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	return t, s.withStatus(ctx, orgID, t.LocationID, []*Table{t})
}

// Tables lists a location's tables with their status.
func (s *Service) Tables(ctx context.Context, orgID, locationID string, archived bool) ([]*Table, error) {
	ts, err := s.tables.FindTables(ctx, orgID, locationID, archived)
	if err != nil {
		return nil, err
	}
	return ts, s.withStatus(ctx, orgID, locationID, ts)
}

// withStatus works out the tables' status from the location's open checks.
func (s *Service) withStatus(ctx context.Context, orgID, locationID string, ts []*Table) error {
	open, err := s.store.FindOrders(ctx, orgID, OrderFilter{LocationID: locationID,
		Statuses: []Status{StatusOpen, StatusSent, StatusPaid}, Limit: 10000})
	if err != nil {
		return err
	}
	byTable := map[string][]*Order{}
	for _, o := range open {
		if o.TableID != "" {
			byTable[o.TableID] = append(byTable[o.TableID], o)
		}
	}
	for _, t := range ts {
		t.Status, t.OrderIDs = TableFree, []string{}
		for _, o := range byTable[t.ID] {
			t.OrderIDs = append(t.OrderIDs, o.ID)
			t.Status = worse(t.Status, o.tableStatus())
		}
	}
	return nil
}

// tableStatus is what the check says of its table.
func (o *Order) tableStatus() TableStatus {
	if o.Status == StatusPaid || o.Split != nil {
		return TablePaying
	}
	for _, l := range o.Lines {
		if l.live() {
			return TableOrdered
		}
	}
	return TableSeated
}

// worse is the further along of two statuses: a table with several checks
// shows the one nearest the bill, so staff see it coming.
func worse(a, b TableStatus) TableStatus {
	rank := map[TableStatus]int{TableFree: 0, TableSeated: 1, TableOrdered: 2, TablePaying: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
