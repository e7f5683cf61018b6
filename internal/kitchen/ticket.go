package kitchen

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/idempotency"
	"github.com/fynlo/fynlo/internal/order"
)

// SendInput says what to send.
type SendInput struct {
	Version int64
	// Hold lists courses to keep back: their lines wait as held until
	// fired. Empty sends everything new.
	Hold []int
	// Fire, when not 0, sends the held lines of this course (and nothing
	// else): "fire the mains".
	Fire int
}

// Send sends a check's new lines to the kitchen: one ticket per station,
// only lines never sent before. Errors: Conflict (stale version,
// illegal_transition, nothing_to_send), NotFound.
func (s *Service) Send(ctx context.Context, a order.Actor, orderID string, in SendInput) (*order.Order, []*Ticket, error) {
	cur, err := s.orders.Order(ctx, a.OrgID, orderID)
	if err != nil {
		return nil, nil, err
	}
	if a.LocationID != "" && a.LocationID != cur.LocationID {
		return nil, nil, apperr.NotFoundf("order")
	}
	r, err := s.router(ctx, cur)
	if err != nil {
		return nil, nil, err
	}
	return s.store.SendOrder(ctx, a.OrgID, orderID, func(o *order.Order) (*order.Change, []*Ticket, error) {
		if o.Version != in.Version {
			return nil, nil, apperr.StaleVersion(o)
		}
		if o.TableID != cur.TableID {
			r.tableName = "" // moved since read: no table name rather than a wrong one
		}
		return r.send(o, in, s.now().UTC())
	})
}

// OpenAndSend opens a check with its lines and sends them to the kitchen
// in one transaction: the counter service and bar way of working, and one
// commit instead of two. A retry with the same check ID returns the check
// (created false) and sends nothing more.
func (s *Service) OpenAndSend(ctx context.Context, a order.Actor, in order.OpenInput, hold []int) (*order.Order, []*Ticket, bool, error) {
	if in.ID != "" {
		ctx = idempotency.Repeatable(ctx) // a retry finds the check by its ID
	}
	o, ch, err := s.orders.Prepare(ctx, a, in)
	if err != nil {
		return nil, nil, false, err
	}
	r, err := s.router(ctx, o)
	if err != nil {
		return nil, nil, false, err
	}
	tickets, err := s.store.CreateAndSend(ctx, o, ch, func(o *order.Order) (*order.Change, []*Ticket, error) {
		return r.send(o, SendInput{Version: o.Version, Hold: hold}, o.CreatedAt)
	})
	if apperr.Is(err, apperr.Conflict) && in.ID != "" {
		if prev, ferr := s.orders.Order(ctx, a.OrgID, in.ID); ferr == nil && prev.LocationID == o.LocationID {
			return prev, nil, false, nil
		}
	}
	if err != nil {
		return nil, nil, false, err
	}
	s.orders.StockMoved(a.OrgID, ch)
	return o, tickets, true, nil
}

// router routes a check's lines: the location's stations, and the names
// its tickets print, read before the transaction.
type router struct {
	stations   []*Station
	tableName  string
	serverName string
}

func (s *Service) router(ctx context.Context, o *order.Order) (*router, error) {
	stations, err := s.store.FindStations(ctx, o.OrgID, o.LocationID)
	if err != nil {
		return nil, err
	}
	r := &router{stations: stations}
	if o.TableID != "" {
		if t, err := s.orders.Table(ctx, o.OrgID, o.TableID); err == nil {
			r.tableName = t.Name
		}
	}
	if o.ServerID != "" && s.names != nil {
		r.serverName = s.names(ctx, o.OrgID, o.ServerID)
	}
	return r, nil
}

// send moves the check's new lines (or a fired course's held ones) to the
// kitchen and makes a ticket per station.
func (r *router) send(o *order.Order, in SendInput, now time.Time) (*order.Change, []*Ticket, error) {
	to, err := o.Status.Move(order.ActSend)
	if err != nil {
		return nil, nil, err
	}
	ch := &order.Change{Event: order.EventOrderUpdated}
	byStation := map[string]*Ticket{}
	var tickets []*Ticket
	sent := 0
	for _, l := range o.Lines {
		var act order.LineAction
		switch {
		case in.Fire != 0:
			if l.KitchenState != order.LineHeld || l.Course != in.Fire {
				continue
			}
			act = order.LineActSend
		case l.KitchenState == order.LineNew && slices.Contains(in.Hold, l.Course) && l.Course != 0:
			act = order.LineActHold
		case l.KitchenState == order.LineNew:
			act = order.LineActSend
		default:
			continue
		}
		st, err := l.KitchenState.Move(act)
		if err != nil {
			return nil, nil, err
		}
		l.KitchenState, l.UpdatedAt = st, now
		ch.Lines = append(ch.Lines, l)
		if act != order.LineActSend {
			continue
		}
		sent++
		key := route(l, r.stations)
		if key == "" {
			continue // no station makes it: sent, with no ticket
		}
		t := byStation[key]
		if t == nil {
			t = &Ticket{ID: id.New(id.Ticket), OrgID: o.OrgID, LocationID: o.LocationID, OrderID: o.ID, OrderNumber: o.Number,
				TableName: r.tableName, OrderType: o.Type, ServerName: r.serverName, Station: key, Status: TicketOpen,
				Lines: []TicketLine{}, CreatedAt: now, Version: 1, UpdatedAt: now}
			byStation[key] = t
			tickets = append(tickets, t)
		}
		t.Lines = append(t.Lines, ticketLine(l, o.Type))
		if len(l.Allergens) > 0 {
			t.AllergenAlert = true
		}
	}
	if len(ch.Lines) == 0 {
		return nil, nil, apperr.New(apperr.Conflict, "nothing_to_send", "every line of the check is already with the kitchen")
	}
	if sent > 0 {
		o.Status = to
		if o.SentAt == nil {
			o.SentAt = &now
		}
	}
	o.Version++
	o.UpdatedAt = now
	return ch, tickets, nil
}

// ticketLine is a line as the cook reads it.
func ticketLine(l *order.Line, checkType string) TicketLine {
	mods := make([]string, len(l.Modifiers))
	for i, m := range l.Modifiers {
		name := m.Name
		if m.Pre != "" {
			name = strings.ToUpper(m.Pre[:1]) + strings.ReplaceAll(m.Pre[1:], "_", " ") + " " + strings.ToLower(name)
		}
		mods[i] = name
	}
	notes := l.Notes
	if l.OrderType != "" && l.OrderType != checkType {
		notes = strings.TrimSpace(strings.ToUpper(strings.ReplaceAll(l.OrderType, "_", " ")) + " " + notes)
	}
	return TicketLine{LineID: l.ID, Name: l.Name, VariantName: l.VariantName, Quantity: l.Quantity, Modifiers: mods,
		Notes: notes, Seat: l.Seat, Course: l.Course, Allergens: append([]string{}, l.Allergens...), State: l.KitchenState}
}

// Tickets lists a location's tickets.
func (s *Service) Tickets(ctx context.Context, orgID string, f TicketFilter) ([]*Ticket, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 500
	}
	return s.store.FindTickets(ctx, orgID, f)
}

// Ticket returns one ticket.
func (s *Service) Ticket(ctx context.Context, orgID, id string) (*Ticket, error) {
	return s.store.FindTicket(ctx, orgID, id)
}

// Acknowledge says the kitchen has seen the ticket and its allergens.
func (s *Service) Acknowledge(ctx context.Context, a order.Actor, ticketID string) (*Ticket, error) {
	return s.update(ctx, a, ticketID, func(t *Ticket, os []*order.Order, chs []*order.Change, now time.Time) error {
		if t.AcknowledgedAt == nil {
			t.AcknowledgedAt = &now
		}
		return moveLines(t, os, chs, order.LineActAcknowledge, now)
	})
}

// Bump says the ticket is cooked: its lines are ready and it leaves the
// screen. A ticket with allergens must be acknowledged first.
func (s *Service) Bump(ctx context.Context, a order.Actor, ticketID string) (*Ticket, error) {
	return s.update(ctx, a, ticketID, func(t *Ticket, os []*order.Order, chs []*order.Change, now time.Time) error {
		if t.Status == TicketDone {
			return apperr.New(apperr.Conflict, "ticket_done", "the ticket is already bumped")
		}
		if t.AllergenAlert && t.AcknowledgedAt == nil {
			return apperr.New(apperr.Conflict, "allergens_not_acknowledged", "acknowledge the allergens on this ticket before bumping it")
		}
		t.Status, t.BumpedAt = TicketDone, &now
		return moveLines(t, os, chs, order.LineActBump, now)
	})
}

// Recall brings a bumped ticket back to the screen.
func (s *Service) Recall(ctx context.Context, a order.Actor, ticketID string) (*Ticket, error) {
	return s.update(ctx, a, ticketID, func(t *Ticket, os []*order.Order, chs []*order.Change, now time.Time) error {
		if t.Status != TicketDone {
			return apperr.New(apperr.Conflict, "ticket_open", "the ticket is still on the screen")
		}
		t.Status, t.BumpedAt = TicketOpen, nil
		return moveLines(t, os, chs, order.LineActRecall, now)
	})
}

// moveLines moves the ticket's lines that can make the move, on whichever
// check each is now (chs[i] records check os[i]'s); lines elsewhere
// (voided, served) stay as they are.
func moveLines(t *Ticket, os []*order.Order, chs []*order.Change, act order.LineAction, now time.Time) error {
	for _, tl := range t.Lines {
		for i, o := range os {
			l := o.Line(tl.LineID)
			if l == nil || !l.KitchenState.CanMove(act) {
				continue
			}
			st, err := l.KitchenState.Move(act)
			if err != nil {
				return err
			}
			l.KitchenState, l.UpdatedAt = st, now
			chs[i].Lines = append(chs[i].Lines, l)
		}
	}
	return nil
}

func (s *Service) update(ctx context.Context, a order.Actor, ticketID string, act func(*Ticket, []*order.Order, []*order.Change, time.Time) error) (*Ticket, error) {
	return s.store.UpdateTicket(ctx, a.OrgID, ticketID, func(t *Ticket, os []*order.Order) ([]*order.Change, error) {
		if a.LocationID != "" && a.LocationID != t.LocationID {
			return nil, apperr.NotFoundf("ticket")
		}
		now := s.now().UTC()
		chs := make([]*order.Change, len(os))
		for i := range chs {
			chs[i] = &order.Change{Event: order.EventOrderUpdated}
		}
		if err := act(t, os, chs, now); err != nil {
			return nil, err
		}
		t.Version++
		t.UpdatedAt = now
		for i, o := range os {
			if len(chs[i].Lines) > 0 {
				o.Version++
				o.UpdatedAt = now
			}
		}
		t.Refresh(os...)
		return chs, nil
	})
}
