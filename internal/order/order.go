// Package order holds the checks waiters open: their lines, each added,
// changed, voided or comped by an operation applied exactly once; the
// state machine of a check and of each line's way through the kitchen;
// the pricing engine, the one place totals are computed; splitting,
// moving, merging and transferring checks; and the restaurant's tables,
// whose status follows from the checks open on them.
package order

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/idempotency"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/tenant"
)

// Order types: how the guest is served, which decides the VAT of food.
const (
	TypeDineIn   = "dine_in"
	TypeTakeaway = "takeaway"
	TypeDelivery = "delivery"
	TypeBarTab   = "bar_tab"
)

// Types lists the order types.
var Types = []string{TypeDineIn, TypeTakeaway, TypeDelivery, TypeBarTab}

// ChosenModifier is a choice made for a line, priced as it was when ordered.
type ChosenModifier struct {
	ModifierID string      `json:"modifier_id"`
	GroupID    string      `json:"group_id"`
	Name       string      `json:"name"`
	Pre        string      `json:"pre,omitempty" doc:"no, light, extra or on_the_side"`
	Price      money.Money `json:"price" doc:"per unit of the line; 0 inside the group's free allowance"`
	Allergens  []string    `json:"allergens,omitempty"`
}

// Mark records who did something to a line, when and why (a comp, a void).
type Mark struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// LineTotals is a line's part of the check's totals.
type LineTotals struct {
	Gross         money.Money `json:"gross" doc:"unit price with modifiers × quantity"`
	Discount      money.Money `json:"discount" doc:"its own discount or comp plus its share of the check's discount"`
	Net           money.Money `json:"net" doc:"gross − discount"`
	Tax           money.Money `json:"tax" doc:"its share of the check's tax"`
	ServiceCharge money.Money `json:"service_charge" doc:"its share of the service charge"`
	Total         money.Money `json:"total" doc:"its share of the check total; the lines' totals add up to it exactly"`
}

// Line is one thing ordered on a check.
type Line struct {
	ID           string           `json:"id"`
	ItemID       string           `json:"item_id"`
	VariantID    string           `json:"variant_id"`
	CategoryID   string           `json:"category_id"`
	Name         string           `json:"name"`
	VariantName  string           `json:"variant_name"`
	Quantity     int              `json:"quantity"`
	UnitPrice    money.Money      `json:"unit_price" doc:"the variant's price at this location when ordered, modifiers not included"`
	Modifiers    []ChosenModifier `json:"modifiers"`
	Notes        string           `json:"notes,omitempty"`
	Seat         int              `json:"seat" doc:"the guest's seat, 1 up; 0 for the table (shared)"`
	Course       int              `json:"course" doc:"0 for none (drinks), 1 starters, 2 mains..."`
	OrderType    string           `json:"order_type,omitempty" doc:"set when this line is served differently from the check, e.g. one dish taken away"`
	TaxRates     menu.Rates       `json:"tax_rates" doc:"its tax category's rates when ordered"`
	TaxRateBP    int              `json:"tax_rate_bp" doc:"the rate that applies, from the line's or the check's order type"`
	Discount     *Discount        `json:"discount,omitempty"`
	Comp         *Mark            `json:"comp,omitempty"`
	Void         *Mark            `json:"void,omitempty"`
	KitchenState LineState        `json:"kitchen_state" enum:"new,held,sent,acknowledged,ready,served,voided"`
	Station      string           `json:"station,omitempty" doc:"the kitchen station its ticket goes to"`
	Allergens    []string         `json:"allergens" doc:"the item's and its modifiers' allergens"`
	StockCounted bool             `json:"stock_counted" doc:"the item's stock was counted down for it (and is put back if it is voided)"`
	Price        LineTotals       `json:"price"`
	CreatedBy    string           `json:"created_by"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
}

// live reports whether the line counts on the check (it is not voided).
func (l *Line) live() bool { return l.KitchenState != LineVoided }

// unitPrice is one unit with its modifiers.
func (l *Line) unitPrice() int64 {
	p := l.UnitPrice.Amount
	for _, m := range l.Modifiers {
		p += m.Price.Amount
	}
	return p
}

// ServiceCharge is the check's service charge.
type ServiceCharge struct {
	RateBP int  `json:"rate_bp" doc:"from the location's policy when the check was opened or its covers changed"`
	Waived bool `json:"waived" doc:"the guest declined the discretionary charge"`
}

// TaxTotal is the tax of one rate on a check: what a VAT receipt lists.
type TaxTotal struct {
	RateBP int         `json:"rate_bp"`
	Net    money.Money `json:"net" doc:"excluding tax"`
	Tax    money.Money `json:"tax"`
	Gross  money.Money `json:"gross" doc:"including tax"`
}

// TipSuggestion is a gratuity preset worked out on the check's total.
type TipSuggestion struct {
	PercentBP int         `json:"percent_bp"`
	Amount    money.Money `json:"amount"`
}

// Totals are a check's totals. Subtotal − discounts + service charge (+ tax
// when prices exclude it) = total, to the penny.
type Totals struct {
	Subtotal       money.Money     `json:"subtotal" doc:"the lines' gross"`
	Discounts      money.Money     `json:"discounts" doc:"line discounts, comps and the check's discount"`
	ServiceCharge  money.Money     `json:"service_charge"`
	Tax            money.Money     `json:"tax" doc:"included in the prices or added, per tax_mode"`
	Total          money.Money     `json:"total" doc:"what the guest pays, before any tip"`
	Taxes          []TaxTotal      `json:"taxes" doc:"one per rate, for the VAT receipt"`
	TipSuggestions []TipSuggestion `json:"tip_suggestions" doc:"the location's gratuity presets; empty when it offers none"`
}

// Order is a check.
type Order struct {
	ID            string        `json:"id"`
	OrgID         string        `json:"organization_id"`
	LocationID    string        `json:"location_id"`
	Number        int           `json:"number" doc:"the receipt number, counted per location and business day; never an identifier"`
	BusinessDate  string        `json:"business_date" doc:"the location's business day, YYYY-MM-DD"`
	Type          string        `json:"type" enum:"dine_in,takeaway,delivery,bar_tab"`
	TableID       string        `json:"table_id,omitempty"`
	Covers        int           `json:"covers"`
	ServerID      string        `json:"server_id,omitempty" doc:"the employee serving it; tips go to them"`
	CustomerName  string        `json:"customer_name,omitempty"`
	Notes         string        `json:"notes,omitempty"`
	Status        Status        `json:"status" enum:"open,sent,paid,closed,cancelled,voided"`
	Currency      string        `json:"currency"`
	TaxMode       string        `json:"tax_mode" enum:"inclusive,exclusive" doc:"the location's, when opened"`
	TaxRounding   string        `json:"tax_rounding" enum:"per_check,per_line"`
	Lines         []*Line       `json:"lines"`
	Discount      *Discount     `json:"discount,omitempty" doc:"a discount on the whole check"`
	ServiceCharge ServiceCharge `json:"service_charge"`
	Totals        Totals        `json:"totals"`
	Split         *Split        `json:"split,omitempty" doc:"how the bill is divided for paying"`
	Payments      Payments      `json:"payments" doc:"what has been paid toward it, and the balance"`
	Reason        string        `json:"reason,omitempty" doc:"why it was cancelled, voided or reopened"`
	Version       int64         `json:"version"`
	CreatedBy     string        `json:"created_by"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	SentAt        *time.Time    `json:"sent_at,omitempty"`
	ClosedAt      *time.Time    `json:"closed_at,omitempty"`

	// Ops maps the client operation IDs already applied to the line each
	// made (or ""); the store loads it with the check, under its lock.
	Ops map[string]string `json:"-"`
}

// Line returns the check's line with the ID, or nil.
func (o *Order) Line(lineID string) *Line {
	for _, l := range o.Lines {
		if l.ID == lineID {
			return l
		}
	}
	return nil
}

// Event types of checks.
const (
	EventOrderCreated = "order.created"
	EventOrderUpdated = "order.updated"
)

// OrderFilter selects checks.
type OrderFilter struct {
	LocationID string
	TableID    string
	Statuses   []Status // none for all
	After      string   // the cursor: checks after this ID
	Limit      int
}

// AppliedOp records an operation as applied.
type AppliedOp struct {
	OpID   string
	Type   string
	LineID string
}

// StockMove changes an item's stock at the check's location: negative
// when sold, positive when a void puts it back.
type StockMove struct {
	ItemID string
	Delta  int
}

// Change is what an update to a check writes besides the check itself.
type Change struct {
	Lines []*Line     // new or changed lines
	Ops   []AppliedOp // operations to remember as applied
	Stock []StockMove
	Event string // the event's type; the check is its data
}

// touch records that a line was added or changed.
func (c *Change) touch(l *Line) {
	for _, x := range c.Lines {
		if x == l {
			return
		}
	}
	c.Lines = append(c.Lines, l)
}

// Store persists checks. Every write also writes the check's event, and
// the stock moves with their availability events, in one transaction.
type Store interface {
	// CreateOrder stores a new check, numbering it (o.Number is set) and
	// saving its lines. Errors: Conflict already_exists if the ID is taken,
	// Conflict out_of_stock.
	CreateOrder(ctx context.Context, o *Order, ch *Change) error
	// FindOrder errors: NotFound.
	FindOrder(ctx context.Context, orgID, id string) (*Order, error)
	// FindAppliedOps returns the operations already applied to a check:
	// op ID → the line each made or changed ("" for none).
	FindAppliedOps(ctx context.Context, orgID, id string) (map[string]string, error)
	// FindOrders returns checks newest first... by ID (ULIDs sort by time).
	FindOrders(ctx context.Context, orgID string, f OrderFilter) ([]*Order, error)
	// UpdateOrder locks and loads a check (Ops included), lets update
	// change it and saves it. Errors: NotFound, Conflict out_of_stock,
	// update's.
	UpdateOrder(ctx context.Context, orgID, id string, update func(*Order) (*Change, error)) (*Order, error)
	// UpdateOrders does the same for two checks at once (moving lines,
	// merging), locking them in ID order so two moves never deadlock.
	UpdateOrders(ctx context.Context, orgID, a, b string, update func(a, b *Order) (*Change, *Change, error)) (*Order, *Order, error)
}

// Locations finds locations.
type Locations interface {
	Location(ctx context.Context, orgID, id string) (*tenant.Location, error)
}

// Catalogs finds a location's menu.
type Catalogs interface {
	Catalog(ctx context.Context, orgID, locationID string) (*menu.Catalog, error)
	// Invalidate forgets org's built menus. A sale of a counted item
	// changes the menu (its stock): this node must show it on the very
	// next request, not when the event reaches it a moment later.
	Invalidate(orgID string)
}

// Authorizer decides what a member of staff may do.
type Authorizer interface {
	Authorize(ctx context.Context, p auth.Principal, perm, approval string) (*auth.Role, error)
	AuthorizeDiscount(ctx context.Context, p auth.Principal, percentBP int, approval string) error
	// Employee finds a member of staff. Errors: NotFound.
	Employee(ctx context.Context, orgID, id string) (*auth.Employee, error)
}

// Actor is who asks, with a manager's approval token if they brought one.
type Actor struct {
	auth.Principal
	Approval string
}

// Service applies the rules of checks.
type Service struct {
	store     Store
	tables    TableStore
	locations Locations
	catalogs  Catalogs
	auth      Authorizer
	now       func() time.Time
}

// NewService returns a Service.
func NewService(store Store, tables TableStore, locations Locations, catalogs Catalogs, authz Authorizer, now func() time.Time) *Service {
	return &Service{store: store, tables: tables, locations: locations, catalogs: catalogs, auth: authz, now: now}
}

// OpenInput opens a check.
type OpenInput struct {
	ID           string // optional, client-chosen (ord_ + ULID): a retry finds the check it made
	LocationID   string
	Type         string
	TableID      string
	Covers       int
	ServerID     string
	CustomerName string
	Notes        string
	Lines        []LineInput // lines to add at once, each an add_line operation
}

// Open opens a check. A retry with the same ID returns the check as it is
// (created false). Errors: Invalid, NotFound (location), Conflict.
func (s *Service) Open(ctx context.Context, a Actor, in OpenInput) (o *Order, created bool, err error) {
	if in.ID != "" {
		ctx = idempotency.Repeatable(ctx) // a retry finds the check by its ID
	}
	o, ch, err := s.draft(ctx, a, in)
	if err != nil {
		return nil, false, err
	}
	if err := s.store.CreateOrder(ctx, o, ch); err != nil {
		if apperr.Is(err, apperr.Conflict) && in.ID != "" {
			if prev, ferr := s.store.FindOrder(ctx, a.OrgID, in.ID); ferr == nil && prev.LocationID == o.LocationID {
				return prev, false, nil
			}
		}
		return nil, false, err
	}
	s.StockMoved(a.OrgID, ch)
	return o, true, nil
}

// StockMoved drops the menus a committed change made stale by counting
// stock; another domain that stores a check it prepared (the kitchen,
// opening and sending at once) calls it after committing. ch may be nil.
func (s *Service) StockMoved(orgID string, ch *Change) {
	if ch != nil && len(ch.Stock) > 0 {
		s.catalogs.Invalidate(orgID)
	}
}

// Quote prices a check as Open would build it, without saving anything.
func (s *Service) Quote(ctx context.Context, a Actor, in OpenInput) (*Order, error) {
	o, _, err := s.draft(ctx, a, in)
	return o, err
}

// Prepare builds and prices a new check as Open would, for another domain
// to store with more of its own (the kitchen opens and sends at once).
func (s *Service) Prepare(ctx context.Context, a Actor, in OpenInput) (*Order, *Change, error) {
	return s.draft(ctx, a, in)
}

// draft builds and prices a new check with its lines.
func (s *Service) draft(ctx context.Context, a Actor, in OpenInput) (*Order, *Change, error) {
	if in.LocationID == "" {
		in.LocationID = a.LocationID
	}
	var f apperr.Fields
	if a.LocationID != "" && in.LocationID != a.LocationID {
		f.Add("location_id", "must be the location you are signed in at")
	}
	if in.ID == "" {
		in.ID = id.New(id.Order)
	} else if !id.Valid(id.Order, in.ID) {
		f.Add("id", "must be ord_ followed by a ULID")
	}
	if !oneOf(in.Type, Types) {
		f.Add("type", "must be one of "+strings.Join(Types, ", "))
	}
	if in.Covers < 0 || in.Covers > 500 {
		f.Add("covers", "must be 0 to 500")
	}
	in.CustomerName = strings.TrimSpace(in.CustomerName)
	if utf8.RuneCountInString(in.CustomerName) > 120 {
		f.Add("customer_name", "must be at most 120 characters")
	}
	if utf8.RuneCountInString(in.Notes) > 1000 {
		f.Add("notes", "must be at most 1000 characters")
	}
	if len(in.Lines) > 200 {
		f.Add("lines", "must be at most 200 lines; add more with operations")
	}
	if err := f.Err(); err != nil {
		return nil, nil, err
	}
	loc, err := s.locations.Location(ctx, a.OrgID, in.LocationID)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil, apperr.Field("location_id", "is not a location of this organization")
	}
	if err != nil {
		return nil, nil, err
	}
	if in.TableID != "" {
		t, err := s.tables.FindTable(ctx, a.OrgID, in.TableID)
		if apperr.Is(err, apperr.NotFound) || (err == nil && (t.LocationID != loc.ID || t.Archived)) {
			return nil, nil, apperr.Field("table_id", "is not a table of this location")
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if in.ServerID == "" && strings.HasPrefix(a.UserID, id.Employee+"_") {
		in.ServerID = a.UserID // the employee who opens it serves it unless told otherwise
	} else if in.ServerID != "" && in.ServerID != a.UserID {
		if err := s.checkServer(ctx, a.OrgID, in.ServerID); err != nil {
			return nil, nil, err
		}
	}
	now := s.now().UTC()
	o := &Order{ID: in.ID, OrgID: a.OrgID, LocationID: loc.ID, BusinessDate: loc.BusinessDate(now), Type: in.Type,
		TableID: in.TableID, Covers: in.Covers, ServerID: in.ServerID, CustomerName: in.CustomerName, Notes: in.Notes,
		Status: StatusOpen, Currency: loc.Currency, TaxMode: loc.TaxMode, TaxRounding: loc.TaxRounding,
		Lines: []*Line{}, Version: 1, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now, Ops: map[string]string{}}
	o.ServiceCharge.RateBP = loc.ServiceChargeFor(o.Type, o.Covers)
	ch := &Change{Event: EventOrderCreated}
	if len(in.Lines) > 0 {
		ops := make([]Op, len(in.Lines))
		for i := range in.Lines {
			ops[i] = Op{OpID: in.Lines[i].OpID, Type: OpAddLine, Line: &in.Lines[i]}
		}
		if err := opIDsOnce(ops, "lines"); err != nil {
			return nil, nil, err
		}
		cat, err := s.catalogs.Catalog(ctx, a.OrgID, loc.ID)
		if err != nil {
			return nil, nil, err
		}
		if _, err := s.apply(ctx, a, o, ops, cat, ch, now, "lines"); err != nil {
			return nil, nil, err
		}
	}
	if err := o.Reprice(loc); err != nil {
		return nil, nil, err
	}
	return o, ch, nil
}

// checkServer refuses a server who is not an active employee of org: tips
// follow the server, so the name must be a real one.
func (s *Service) checkServer(ctx context.Context, orgID, employeeID string) error {
	e, err := s.auth.Employee(ctx, orgID, employeeID)
	if apperr.Is(err, apperr.NotFound) {
		return apperr.Field("server_id", "is not an employee of this organization")
	}
	if err != nil {
		return err
	}
	if !e.Active {
		return apperr.Field("server_id", "is no longer an active employee")
	}
	return nil
}

// Order returns one of org's checks.
func (s *Service) Order(ctx context.Context, orgID, id string) (*Order, error) {
	return s.store.FindOrder(ctx, orgID, id)
}

// Orders lists org's checks.
func (s *Service) Orders(ctx context.Context, orgID string, f OrderFilter) ([]*Order, error) {
	return s.store.FindOrders(ctx, orgID, f)
}

// Reprice works out the check's totals from its lines: every stored total
// can be recomputed this way, and is, on every change. loc gives the
// gratuity presets (nil for none).
func (o *Order) Reprice(loc *tenant.Location) error {
	lines := make([]PriceLine, 0, len(o.Lines))
	live := make([]*Line, 0, len(o.Lines))
	for _, l := range o.Lines {
		if !l.live() {
			l.Price = LineTotals{Gross: o.money(0), Discount: o.money(0), Net: o.money(0), Tax: o.money(0),
				ServiceCharge: o.money(0), Total: o.money(0)}
			continue
		}
		l.TaxRateBP = l.rate(o.Type)
		lines = append(lines, PriceLine{UnitPrice: l.unitPrice(), Quantity: l.Quantity, TaxRateBP: l.TaxRateBP,
			Discount: l.Discount, Comp: l.Comp != nil})
		live = append(live, l)
	}
	rules := PriceRules{TaxMode: o.TaxMode, Rounding: o.TaxRounding}
	if !o.ServiceCharge.Waived {
		rules.ServiceChargeBP = o.ServiceCharge.RateBP
	}
	t, err := Price(rules, lines, o.Discount)
	if err != nil {
		return err
	}
	for i, l := range live {
		p := t.Lines[i]
		l.Price = LineTotals{Gross: o.money(p.Gross), Discount: o.money(p.Discount), Net: o.money(p.Net), Tax: o.money(p.Tax),
			ServiceCharge: o.money(p.ServiceCharge), Total: o.money(p.Total)}
	}
	o.Totals = Totals{Subtotal: o.money(t.Subtotal), Discounts: o.money(t.Discounts), ServiceCharge: o.money(t.ServiceCharge),
		Tax: o.money(t.Tax), Total: o.money(t.Total), Taxes: make([]TaxTotal, len(t.Taxes)), TipSuggestions: []TipSuggestion{}}
	for i, x := range t.Taxes {
		o.Totals.Taxes[i] = TaxTotal{RateBP: x.RateBP, Net: o.money(x.Net), Tax: o.money(x.Tax), Gross: o.money(x.Gross)}
	}
	if loc != nil && loc.GratuityEnabled {
		for _, bp := range loc.GratuityPresetsBP {
			o.Totals.TipSuggestions = append(o.Totals.TipSuggestions, TipSuggestion{PercentBP: bp, Amount: o.money(TipOn(t.Total, bp))})
		}
	}
	return o.settleBalance()
}

func (o *Order) money(amount int64) money.Money {
	return money.Money{Amount: amount, Currency: o.Currency}
}

// rate is the line's tax rate for how it is served.
func (l *Line) rate(checkType string) int {
	typ := l.OrderType
	if typ == "" {
		typ = checkType
	}
	switch typ {
	case TypeTakeaway:
		return l.TaxRates.Takeaway
	case TypeDelivery:
		return l.TaxRates.Delivery
	default: // eaten in, at the bar too
		return l.TaxRates.DineIn
	}
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// TipOn is a gratuity preset on a total, rounded half-up.
// Split in two so that no product overflows.
func TipOn(total int64, bp int) int64 {
	return total/10000*int64(bp) + (total%10000*int64(bp)+5000)/10000
}
