// Package cash keeps the cash drawers: a session opened with a float, the
// cash payments that go into it, money paid in and out, no-sale opens, and
// a blind count at close, with the variance approved by a manager when it
// is large.
//
// What a drawer should hold is never a running counter: it is summed from
// the rows it comes from (the float, the session's cash payments and its
// movements) whenever it is asked for, so it can always be reproduced.
package cash

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
)

// Drawer is a cash drawer at a location.
type Drawer struct {
	ID            string    `json:"id"`
	OrgID         string    `json:"organization_id"`
	LocationID    string    `json:"location_id"`
	Name          string    `json:"name" example:"Bar till"`
	Archived      bool      `json:"archived"`
	OpenSessionID string    `json:"open_session_id,omitempty" doc:"its session now open, if any"`
	Version       int64     `json:"version"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Session statuses.
const (
	SessionOpen   = "open"
	SessionClosed = "closed"
)

// Session is a drawer's shift: opened with a float, closed with a count.
type Session struct {
	ID           string       `json:"id"`
	OrgID        string       `json:"organization_id"`
	LocationID   string       `json:"location_id"`
	DrawerID     string       `json:"drawer_id"`
	BusinessDate string       `json:"business_date"`
	Status       string       `json:"status" enum:"open,closed"`
	Float        money.Money  `json:"float" doc:"the cash put in at opening"`
	OpenedBy     string       `json:"opened_by"`
	OpenedAt     time.Time    `json:"opened_at"`
	ClosedBy     string       `json:"closed_by,omitempty"`
	ClosedAt     *time.Time   `json:"closed_at,omitempty"`
	Counted      *money.Money `json:"counted,omitempty" doc:"what was counted at close"`
	Expected     *money.Money `json:"expected,omitempty" doc:"what the drawer should have held at close"`
	Variance     *money.Money `json:"variance,omitempty" doc:"counted − expected: negative when short"`
	ApprovedBy   string       `json:"variance_approved_by,omitempty" doc:"the manager who approved a variance over the threshold"`
	Note         string       `json:"note,omitempty"`
	// Summary is what the drawer should hold and where it comes from. A
	// blind count: hidden from staff while the session is open, unless
	// their role may view reports.
	Summary *Summary `json:"summary,omitempty"`
	Version int64    `json:"version"`
}

// Summary is what a drawer session should hold, from its rows.
type Summary struct {
	Float       money.Money `json:"float"`
	CashSales   money.Money `json:"cash_sales" doc:"cash payments taken into the drawer, tips included, change already given back"`
	CashRefunds money.Money `json:"cash_refunds" doc:"refunds paid out of the drawer"`
	PaidIn      money.Money `json:"paid_in"`
	PaidOut     money.Money `json:"paid_out"`
	Expected    money.Money `json:"expected" doc:"float + cash sales − cash refunds + paid in − paid out"`
	Payments    int         `json:"payments" doc:"cash payments counted"`
	NoSales     int         `json:"no_sales" doc:"times the drawer was opened with no sale"`
	How         string      `json:"how" doc:"how to reproduce these figures from the data"`
}

// Sums are a session's totals as the store adds them up.
type Sums struct {
	CashSales   int64 // Σ amount + tip of the session's captured cash payments (refunded ones included)
	CashRefunds int64 // Σ cash refunds paid out of the session
	Payments    int
	PaidIn      int64
	PaidOut     int64
	NoSales     int
}

// summary turns sums into a session's summary.
func (s *Session) summary(x Sums) *Summary {
	m := func(a int64) money.Money { return money.Money{Amount: a, Currency: s.Float.Currency} }
	return &Summary{Float: s.Float, CashSales: m(x.CashSales), CashRefunds: m(x.CashRefunds), PaidIn: m(x.PaidIn), PaidOut: m(x.PaidOut),
		Expected: m(s.Float.Amount + x.CashSales - x.CashRefunds + x.PaidIn - x.PaidOut), Payments: x.Payments, NoSales: x.NoSales,
		How: "float from the session; cash_sales = Σ (amount + tip) of GET /api/v1/payments?drawer_session_id=" + s.ID +
			"&method=cash&status=captured,partially_refunded,refunded; cash_refunds = Σ amount of GET /api/v1/refunds?drawer_session_id=" + s.ID +
			"&status=succeeded; paid_in, paid_out and no_sales from GET /api/v1/cash-drawers/" + s.DrawerID + "/sessions/" + s.ID + "/movements"}
}

// Movement kinds.
const (
	MovePaidIn  = "paid_in"  // cash put in: change from the bank
	MovePaidOut = "paid_out" // cash taken out: a supplier paid at the door
	MoveNoSale  = "no_sale"  // the drawer opened with no sale
)

// Movement is cash put in or taken out of a drawer outside a sale, or a
// no-sale open.
type Movement struct {
	ID        string      `json:"id"`
	OrgID     string      `json:"organization_id"`
	SessionID string      `json:"session_id"`
	Kind      string      `json:"kind" enum:"paid_in,paid_out,no_sale"`
	Amount    money.Money `json:"amount"`
	Reason    string      `json:"reason"`
	By        string      `json:"by"`
	At        time.Time   `json:"at"`
}

// Event types.
const (
	EventDrawerCreated  = "cash_drawer.created"
	EventSessionOpened  = "drawer_session.opened"
	EventSessionClosed  = "drawer_session.closed"
	EventDrawerMovement = "drawer_session.movement"
)

// Store persists drawers. Every write writes its event in the same
// transaction.
type Store interface {
	// CreateDrawer errors: Conflict already_exists (the ID, or the name at
	// the location).
	CreateDrawer(ctx context.Context, d *Drawer) error
	// FindDrawer errors: NotFound.
	FindDrawer(ctx context.Context, orgID, id string) (*Drawer, error)
	// FindDrawers lists a location's drawers by name, with their open
	// sessions.
	FindDrawers(ctx context.Context, orgID, locationID string) ([]*Drawer, error)
	// CreateDrawerSession errors: Conflict session_open if the drawer has one.
	CreateDrawerSession(ctx context.Context, s *Session) error
	// FindDrawerSession returns a session with its sums. Errors: NotFound.
	FindDrawerSession(ctx context.Context, orgID, id string) (*Session, Sums, error)
	// FindDrawerSessions lists a drawer's sessions, newest first.
	FindDrawerSessions(ctx context.Context, orgID, drawerID string, limit int) ([]*Session, error)
	// FindOpenDrawerSessions lists a location's open sessions.
	FindOpenDrawerSessions(ctx context.Context, orgID, locationID string) ([]*Session, error)
	// CreateDrawerMovement records a movement in an open session. Errors:
	// Conflict session_closed.
	CreateDrawerMovement(ctx context.Context, m *Movement) error
	// FindDrawerMovements lists a session's movements, oldest first.
	FindDrawerMovements(ctx context.Context, orgID, sessionID string) ([]*Movement, error)
	// CloseDrawerSession locks an open session, sums it in the same transaction
	// (so no cash payment can slip in between the sum and the close), lets
	// close change it and saves it. Errors: NotFound, close's.
	CloseDrawerSession(ctx context.Context, orgID, id string, close func(s *Session, x Sums) error) (*Session, error)
}

// Authorizer decides what staff may do.
type Authorizer interface {
	Authorize(ctx context.Context, p auth.Principal, perm, approval string) (*auth.Role, error)
	// Approver authorizes, naming who decided: the caller or the manager
	// whose approval they brought.
	Approver(ctx context.Context, p auth.Principal, perm, approval string) (string, error)
}

// Service applies the rules of cash drawers.
type Service struct {
	store     Store
	locations order.Locations
	auth      Authorizer
	// VarianceThreshold is the largest variance, either way, a drawer may
	// close with without a manager's approval (minor units).
	VarianceThreshold int64
	now               func() time.Time
}

// maxAmount bounds every amount a request may give (10^11 minor units),
// so no sum of them can overflow.
const maxAmount = 100_000_000_000

// DefaultVarianceThreshold is £5 (in minor units of any currency).
const DefaultVarianceThreshold = 500

// NewService returns a Service.
func NewService(store Store, locations order.Locations, authz Authorizer, now func() time.Time) *Service {
	return &Service{store: store, locations: locations, auth: authz, VarianceThreshold: DefaultVarianceThreshold, now: now}
}

// CreateDrawer adds a drawer to a location.
func (s *Service) CreateDrawer(ctx context.Context, a order.Actor, in Drawer) (*Drawer, error) {
	var f apperr.Fields
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 60 {
		f.Add("name", "must be 1 to 60 characters")
	}
	if in.ID != "" && !id.Valid(id.Drawer, in.ID) {
		f.Add("id", "must be drw_ followed by a ULID")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if err := atLocation(a, in.LocationID, "location"); err != nil {
		return nil, err
	}
	if _, err := s.locations.Location(ctx, a.OrgID, in.LocationID); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil, apperr.Field("location_id", "is not a location of this organization")
		}
		return nil, err
	}
	if in.ID == "" {
		in.ID = id.New(id.Drawer)
	}
	now := s.now().UTC()
	d := &Drawer{ID: in.ID, OrgID: a.OrgID, LocationID: in.LocationID, Name: in.Name, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateDrawer(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// Drawers lists a location's drawers.
func (s *Service) Drawers(ctx context.Context, a order.Actor, locationID string) ([]*Drawer, error) {
	if err := atLocation(a, locationID, "location"); err != nil {
		return nil, err
	}
	return s.store.FindDrawers(ctx, a.OrgID, locationID)
}

// Drawer returns one drawer.
func (s *Service) Drawer(ctx context.Context, a order.Actor, id string) (*Drawer, error) {
	d, err := s.store.FindDrawer(ctx, a.OrgID, id)
	if err != nil {
		return nil, err
	}
	if err := atLocation(a, d.LocationID, "cash drawer"); err != nil {
		return nil, err
	}
	return d, nil
}

// OpenInput opens a session.
type OpenInput struct {
	ID    string
	Float money.Money
}

// Open starts a drawer's session with a float. The API asks for
// cash.open_drawer first.
func (s *Service) Open(ctx context.Context, a order.Actor, drawerID string, in OpenInput) (*Session, error) {
	d, err := s.Drawer(ctx, a, drawerID)
	if err != nil {
		return nil, err
	}
	if d.Archived {
		return nil, apperr.New(apperr.Conflict, "drawer_archived", "this drawer is no longer in use")
	}
	loc, err := s.locations.Location(ctx, a.OrgID, d.LocationID)
	if err != nil {
		return nil, err
	}
	var f apperr.Fields
	if in.ID != "" && !id.Valid(id.DrawerSession, in.ID) {
		f.Add("id", "must be dss_ followed by a ULID")
	}
	if in.Float.Currency != loc.Currency {
		f.Add("float.currency", "must be the location's currency, "+loc.Currency)
	}
	if in.Float.Amount < 0 || in.Float.Amount > maxAmount {
		f.Add("float.amount", "must be 0 to 10^11")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.ID == "" {
		in.ID = id.New(id.DrawerSession)
	}
	now := s.now().UTC()
	sess := &Session{ID: in.ID, OrgID: a.OrgID, LocationID: d.LocationID, DrawerID: d.ID, BusinessDate: loc.BusinessDate(now),
		Status: SessionOpen, Float: in.Float, OpenedBy: a.UserID, OpenedAt: now, Version: 1}
	if err := s.store.CreateDrawerSession(ctx, sess); err != nil {
		return nil, err
	}
	sess.Summary = sess.summary(Sums{})
	return sess, nil
}

// Session returns a session. Its summary is hidden while it is open from
// those who count it blind: staff whose role may not view reports.
func (s *Service) Session(ctx context.Context, a order.Actor, drawerID, id string) (*Session, error) {
	sess, x, err := s.store.FindDrawerSession(ctx, a.OrgID, id)
	if err != nil {
		return nil, err
	}
	if sess.DrawerID != drawerID {
		return nil, apperr.NotFoundf("drawer session")
	}
	if err := atLocation(a, sess.LocationID, "drawer session"); err != nil {
		return nil, err
	}
	if sess.Status == SessionClosed || s.seesExpected(ctx, a) {
		sess.Summary = sess.summary(x)
	}
	return sess, nil
}

// seesExpected reports whether a may see what an open drawer should hold.
func (s *Service) seesExpected(ctx context.Context, a order.Actor) bool {
	r, err := s.auth.Authorize(ctx, a.Principal, auth.PermReportView, "")
	return err == nil && r != nil
}

// Sessions lists a drawer's sessions, newest first.
func (s *Service) Sessions(ctx context.Context, a order.Actor, drawerID string) ([]*Session, error) {
	if _, err := s.Drawer(ctx, a, drawerID); err != nil {
		return nil, err
	}
	return s.store.FindDrawerSessions(ctx, a.OrgID, drawerID, 100)
}

// MoveInput is cash paid in or out, or a no-sale open.
type MoveInput struct {
	ID     string
	Kind   string
	Amount money.Money
	Reason string
}

// Move records cash paid in or out of an open session, or a no-sale open.
// The API asks for cash.paid_in_out or cash.no_sale first.
func (s *Service) Move(ctx context.Context, a order.Actor, drawerID, sessionID string, in MoveInput) (*Movement, error) {
	sess, _, err := s.store.FindDrawerSession(ctx, a.OrgID, sessionID)
	if err != nil {
		return nil, err
	}
	if sess.DrawerID != drawerID || atLocation(a, sess.LocationID, "") != nil {
		return nil, apperr.NotFoundf("drawer session")
	}
	var f apperr.Fields
	if in.ID != "" && !id.Valid(id.Movement, in.ID) {
		f.Add("id", "must be dmv_ followed by a ULID")
	}
	switch in.Kind {
	case MovePaidIn, MovePaidOut:
		if in.Amount.Amount <= 0 || in.Amount.Amount > maxAmount {
			f.Add("amount.amount", "must be more than zero and at most 10^11")
		}
		if in.Amount.Currency != sess.Float.Currency {
			f.Add("amount.currency", "must be the drawer's currency, "+sess.Float.Currency)
		}
	case MoveNoSale:
		if in.Amount.Amount != 0 {
			f.Add("amount", "must be left out for a no-sale open")
		}
		in.Amount = money.Money{Currency: sess.Float.Currency}
	default:
		f.Add("kind", "must be paid_in, paid_out or no_sale")
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" || utf8.RuneCountInString(in.Reason) > 200 {
		f.Add("reason", "must say why, in 1 to 200 characters")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.ID == "" {
		in.ID = id.New(id.Movement)
	}
	m := &Movement{ID: in.ID, OrgID: a.OrgID, SessionID: sess.ID, Kind: in.Kind, Amount: in.Amount, Reason: in.Reason,
		By: a.UserID, At: s.now().UTC()}
	if err := s.store.CreateDrawerMovement(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Movements lists a session's movements.
func (s *Service) Movements(ctx context.Context, a order.Actor, drawerID, sessionID string) ([]*Movement, error) {
	sess, _, err := s.store.FindDrawerSession(ctx, a.OrgID, sessionID)
	if err != nil {
		return nil, err
	}
	if sess.DrawerID != drawerID || atLocation(a, sess.LocationID, "") != nil {
		return nil, apperr.NotFoundf("drawer session")
	}
	if err := s.blind(ctx, a, sess); err != nil {
		return nil, err
	}
	return s.store.FindDrawerMovements(ctx, a.OrgID, sessionID)
}

// Blind refuses to list what went into an open session to someone who
// counts it blind (staff whose role may not view reports): summed, the
// rows would tell them what the drawer should hold.
func (s *Service) Blind(ctx context.Context, a order.Actor, sessionID string) error {
	sess, _, err := s.store.FindDrawerSession(ctx, a.OrgID, sessionID)
	if apperr.Is(err, apperr.NotFound) {
		return nil // nothing to list anyway
	}
	if err != nil {
		return err
	}
	return s.blind(ctx, a, sess)
}

func (s *Service) blind(ctx context.Context, a order.Actor, sess *Session) error {
	if sess.Status == SessionOpen && !s.seesExpected(ctx, a) {
		return apperr.New(apperr.Forbidden, "blind_count", "an open drawer is counted blind: its rows are listed to roles with report.view, or after it is closed")
	}
	return nil
}

// CloseInput is the count at close.
type CloseInput struct {
	Version int64
	Counted money.Money
	Note    string
}

// Close ends a session with a blind count: the counter says what is in the
// drawer without being told what should be. A variance beyond the
// threshold either way needs cash.approve_variance (a manager's approval).
func (s *Service) Close(ctx context.Context, a order.Actor, drawerID, sessionID string, in CloseInput) (*Session, error) {
	sess, x, err := s.store.FindDrawerSession(ctx, a.OrgID, sessionID)
	if err != nil {
		return nil, err
	}
	if sess.DrawerID != drawerID || atLocation(a, sess.LocationID, "") != nil {
		return nil, apperr.NotFoundf("drawer session")
	}
	var f apperr.Fields
	if in.Counted.Currency != sess.Float.Currency {
		f.Add("counted.currency", "must be the drawer's currency, "+sess.Float.Currency)
	}
	if in.Counted.Amount < 0 || in.Counted.Amount > maxAmount {
		f.Add("counted.amount", "must be 0 to 10^11")
	}
	if utf8.RuneCountInString(in.Note) > 500 {
		f.Add("note", "must be at most 500 characters")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	// Whether the count needs approval is known only under the lock; ask
	// now, on what the sums say, and check again inside.
	approvedBy := ""
	needs := func(x Sums) bool {
		v := in.Counted.Amount - sess.summary(x).Expected.Amount
		return v > s.VarianceThreshold || -v > s.VarianceThreshold
	}
	if sess.Status == SessionOpen && needs(x) {
		if approvedBy, err = s.auth.Approver(ctx, a.Principal, auth.PermCashApproveVariance, a.Approval); err != nil {
			if apperr.Is(err, apperr.Forbidden) {
				return nil, apperr.New(apperr.Forbidden, "variance_needs_approval",
					"the count is off by more than "+money.Money{Amount: s.VarianceThreshold, Currency: sess.Float.Currency}.Decimal()+
						"; a manager must approve it (cash.approve_variance)")
			}
			return nil, err
		}
	}
	now := s.now().UTC()
	out, err := s.store.CloseDrawerSession(ctx, a.OrgID, sessionID, func(sess *Session, x Sums) error {
		if sess.Status != SessionOpen {
			return apperr.New(apperr.Conflict, "session_closed", "this drawer session is already closed")
		}
		if in.Version != sess.Version {
			return apperr.StaleVersion(sess)
		}
		if needs(x) && approvedBy == "" {
			return apperr.New(apperr.Conflict, "session_changed", "cash went in or out while counting; count again")
		}
		sum := sess.summary(x)
		variance := money.Money{Amount: in.Counted.Amount - sum.Expected.Amount, Currency: sess.Float.Currency}
		counted := in.Counted
		sess.Status, sess.ClosedBy, sess.ClosedAt = SessionClosed, a.UserID, &now
		sess.Counted, sess.Expected, sess.Variance, sess.Note = &counted, &sum.Expected, &variance, strings.TrimSpace(in.Note)
		if needs(x) {
			sess.ApprovedBy = approvedBy
		}
		sess.Summary = sum
		sess.Version++
		return nil
	})
	return out, err
}

// OpenSession implements payment.Drawers: the session cash goes into.
func (s *Service) OpenSession(ctx context.Context, orgID, locationID, drawerID string) (string, error) {
	open, err := s.store.FindOpenDrawerSessions(ctx, orgID, locationID)
	if err != nil {
		return "", err
	}
	if drawerID != "" {
		for _, sess := range open {
			if sess.DrawerID == drawerID {
				return sess.ID, nil
			}
		}
		if d, err := s.store.FindDrawer(ctx, orgID, drawerID); err != nil || d.LocationID != locationID {
			return "", apperr.Field("drawer_id", "is not a cash drawer of the check's location")
		}
		return "", apperr.New(apperr.Conflict, "no_open_drawer", "this drawer has no open session; open it with a float first")
	}
	switch len(open) {
	case 1:
		return open[0].ID, nil
	case 0:
		return "", apperr.New(apperr.Conflict, "no_open_drawer", "no cash drawer is open at this location; open one with a float first")
	default:
		return "", apperr.Field("drawer_id", "is needed: several drawers are open at this location")
	}
}

func atLocation(a order.Actor, locationID, what string) error {
	if a.LocationID != "" && a.LocationID != locationID {
		if what == "" {
			what = "location"
		}
		return apperr.NotFoundf(what)
	}
	return nil
}
