package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/event"
)

type eventListInput struct {
	After      int64  `query:"after" minimum:"0" doc:"return events with a sequence number after this one; 0 for the beginning"`
	LocationID string `query:"location_id" maxLength:"64" doc:"only this location's events (and organization-wide ones)"`
	Limit      int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type eventListOutput struct {
	Body struct {
		Events []event.Event `json:"events"`
		// NextAfter is the sequence number to pass as after for the next page.
		NextAfter int64 `json:"next_after" doc:"pass as after to continue; equals after when there is nothing new"`
		HasMore   bool  `json:"has_more"`
	}
}

func (s *Server) routeEvents() {
	huma.Register(s.api, huma.Operation{
		OperationID: "event-list", Method: http.MethodGet, Path: "/api/v1/events", Tags: []string{"Events"},
		Summary: "Page through the organization's events",
		Description: "Every change writes an event with a per-organization sequence number, in the same transaction as the change. " +
			"Page with after=<last seq seen>. For a live stream open the WebSocket at /api/v1/ws?after=<seq>: " +
			"it sends every event after that sequence number, in order and exactly once, then new ones as they commit. " +
			"Authenticate it with the Authorization header or, from a browser, ?access_token=. " +
			"Narrow it with location_id= (that location's events and the organization's) and types= (comma-separated type " +
			"prefixes, e.g. types=ticket.,station. for a kitchen screen, which then is not sent every payment). " +
			"Staff and screens get their own location's events and the organization's, and only the kinds their role may read " +
			"through the API: employee., role., device. and user. events need staff.manage (and an employee of several locations " +
			"goes to the staff of those locations only), drawer_session.movement needs report.view (an open drawer is counted blind), " +
			"payment_provider. needs settings.manage. next_after moves past withheld events too.",
		Security: bearer, Errors: []int{401, 403},
	}, s.handleEventList)

	// The stream is served by handleWebSocket, outside huma; it is only
	// described here so the reference shows it.
	s.api.OpenAPI().AddOperation(&huma.Operation{
		OperationID: "event-stream", Method: http.MethodGet, Path: "/api/v1/ws", Tags: []string{"Events"},
		Summary: "Stream events live (WebSocket)",
		Description: "Upgrades to a WebSocket. Each text message is one event, the same JSON as in GET /api/v1/events. " +
			"With after=<seq> it first sends every event after that sequence number, then live ones: in order and exactly once. " +
			"Without after it sends live events only. The server closes with 4001 when the token expires and 1001 when it restarts; " +
			"in both cases reconnect with after=<last seq received>. A client that reads slowly is not dropped: it is caught up from the log. " +
			"It sends the events GET /api/v1/events would: the kinds the caller's role may not read are withheld, as there.",
		Security: bearer,
		Parameters: []*huma.Param{
			{Name: "after", In: "query", Description: "replay events after this sequence number first", Schema: &huma.Schema{Type: "integer", Minimum: ptr(0.0)}},
			{Name: "location_id", In: "query", Description: "only this location's events and organization-wide ones", Schema: &huma.Schema{Type: "string"}},
			{Name: "access_token", In: "query", Description: "for browsers, which cannot set headers on a WebSocket", Schema: &huma.Schema{Type: "string"}},
		},
		Responses: map[string]*huma.Response{
			"101": {Description: "Switching protocols: the stream begins"},
			"401": {Description: "No or bad token (problem details)"},
			"403": {Description: "The caller's role no longer exists (problem details)"},
			"422": {Description: "Bad after (problem details)"},
		},
	})
}

func ptr[T any](v T) *T { return &v }

// eventReadPermissions are what a reader's role needs to be sent events of
// a type, by type prefix: what the API asks before it shows those objects,
// so that the feed is no way around it. Every other event goes to every
// member of its location: a POS follows checks, tickets, tables and
// payments live.
var eventReadPermissions = []struct{ prefix, permission string }{
	{"employee.", auth.PermStaffManage}, // names, contacts and wages
	{"role.", auth.PermStaffManage},
	{"device.", auth.PermStaffManage},
	{"user.", auth.PermStaffManage},
	{"drawer_session.movement", auth.PermReportView}, // an open drawer's rows: it is counted blind
	{"payment_provider.", auth.PermSettingsManage},
}

// feedFilter is the part of a feed p may read: their location's events
// (staff and screens) or the ones asked for, the types asked for, and none
// of those p's role may not see.
func (s *Server) feedFilter(ctx context.Context, p auth.Principal, locationID string, types []string) (event.Filter, error) {
	f := event.Filter{LocationID: locationID, Types: types}
	if p.LocationID != "" {
		f.LocationID = p.LocationID // staff and screens follow their own location
	}
	r, err := s.auth.Role(ctx, p.OrgID, p.Role)
	if apperr.Is(err, apperr.NotFound) {
		return f, apperr.New(apperr.Forbidden, "unknown_role", "your role no longer exists; sign in again")
	}
	if err != nil {
		return f, err
	}
	for _, g := range eventReadPermissions {
		if !r.Allows(g.permission) {
			f.Hidden = append(f.Hidden, g.prefix)
		}
	}
	if p.LocationID != "" {
		// An employee of several locations belongs to none of them alone:
		// their events are the organization's, and go to the staff of the
		// locations they work at only.
		f.Check = func(e event.Event) bool {
			if e.LocationID != "" || !strings.HasPrefix(e.Type, "employee.") {
				return true
			}
			var emp auth.Employee
			return json.Unmarshal(e.Data, &emp) == nil && p.Sees(&emp)
		}
	}
	return f, nil
}

func (s *Server) handleEventList(ctx context.Context, in *eventListInput) (*eventListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	f, err := s.feedFilter(ctx, p, in.LocationID, nil)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	evs, err := s.events.EventsAfter(ctx, p.OrgID, in.After, f.LocationID, in.Limit+1)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &eventListOutput{}
	if len(evs) > in.Limit {
		evs, out.Body.HasMore = evs[:in.Limit], true
	}
	// next_after moves past what was withheld too, so paging goes on.
	out.Body.Events, out.Body.NextAfter = []event.Event{}, in.After
	for _, e := range evs {
		if f.Keeps(e) {
			out.Body.Events = append(out.Body.Events, e)
		}
		out.Body.NextAfter = e.Seq
	}
	return out, nil
}

// closeTokenExpired is a close code in the private range: refresh the
// token and reconnect with ?after=<last seq>.
const closeTokenExpired websocket.StatusCode = 4001

// backlogPage bounds each read of missed events on (re)connect.
const backlogPage = 500

// handleWebSocket streams the caller's organization's events. On connect it
// subscribes to live events first and then replays the Log from ?after, so
// nothing committed in between is missed; live events at or below the last
// replayed sequence number are skipped, so nothing arrives twice.
// screenStreamTTL is how long a paired screen's stream lasts before it
// must reconnect.
const screenStreamTTL = time.Hour

func (s *Server) handleWebSocket(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, ok := ctx.Value(keyPrincipal).(auth.Principal)
	d, screen := ctx.Value(keyDevice).(*auth.Device)
	if tok := r.URL.Query().Get("access_token"); !ok && !screen && strings.HasPrefix(tok, auth.DeviceTokenPrefix) {
		var err error
		if d, err = s.auth.AuthenticateDevice(ctx, tok); err != nil {
			writeProblem(w, r, problemFor(ctx, s.logger, err))
			return
		}
		screen = true
	}
	if screen {
		// A paired screen streams its own location's events. Its token does
		// not expire, so the stream ends each hour and the screen comes back
		// through a fresh check of its token: a revoked screen goes dark.
		p, ok = auth.Principal{OrgID: d.OrgID, UserID: d.ID, Role: auth.RoleKitchen, LocationID: d.LocationID, DeviceID: d.ID,
			ExpiresAt: time.Now().Add(screenStreamTTL)}, true
	}
	if !ok {
		tok := r.URL.Query().Get("access_token")
		if tok == "" {
			if err, bad := ctx.Value(keyAuthErr).(error); bad {
				writeProblem(w, r, problemFor(ctx, s.logger, err))
				return
			}
			writeProblem(w, r, errNoToken)
			return
		}
		var err error
		if p, err = s.auth.Authenticate(tok); err != nil {
			writeProblem(w, r, problemFor(ctx, s.logger, err))
			return
		}
	}
	q := r.URL.Query()
	after := int64(-1) // live only, unless after is given
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			writeProblem(w, r, &Problem{Status: http.StatusUnprocessableEntity, Code: "invalid_field",
				Detail: "after must be a sequence number", Errors: fieldErr("query.after", "must be a non-negative integer")})
			return
		}
		after = n
	}
	var types []string
	if v := q.Get("types"); v != "" {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" || len(t) > 64 || strings.ContainsFunc(t, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c == '_' || c == '.') }) || len(types) == 16 {
				writeProblem(w, r, &Problem{Status: http.StatusUnprocessableEntity, Code: "invalid_field",
					Detail: "types must be up to 16 event type prefixes, comma-separated (ticket.,station.)",
					Errors: fieldErr("query.types", "must be up to 16 comma-separated prefixes of lowercase letters, _ and .")})
				return
			}
			types = append(types, t)
		}
	}
	// Staff and screens work at one location: they stream its events (and
	// the organization's), not other restaurants', and only the kinds their
	// role may see.
	filter, err := s.feedFilter(ctx, p, q.Get("location_id"), types)
	if err != nil {
		writeProblem(w, r, problemFor(ctx, s.logger, err))
		return
	}
	if !s.trackStream() {
		writeProblem(w, r, &Problem{Status: http.StatusServiceUnavailable, Code: "shutting_down",
			Detail: "the server is restarting; reconnect in a moment"})
		return
	}
	defer s.wsWG.Done()

	// The server's read and write timeouts are for requests; a stream lives
	// as long as the client stays. Hijacked connections keep the deadlines
	// already set on them, so clear them first.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	// Any origin may connect: the token, not a cookie, is the credential, so
	// a foreign page cannot ride on a user's session.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the client
	}
	s.metrics.wsConns.Inc()
	defer s.metrics.wsConns.Dec()

	// The server only writes; CloseRead handles pings and the client's close.
	// The stream ends when the client goes, the token expires or the server
	// stops: one context carries all three, so the hot loop selects on
	// three channels, not five.
	ctx = conn.CloseRead(context.WithoutCancel(ctx))
	ctx, cancel := context.WithDeadlineCause(ctx, p.ExpiresAt, errTokenExpired)
	defer cancel()
	stopOnShutdown := context.AfterFunc(s.stopping, func() {
		cancel()
		// A write stuck on a client that stopped reading would hold up the
		// shutdown; give the goodbye a moment, then cut the connection.
		time.AfterFunc(2*time.Second, func() { conn.CloseNow() })
	})
	defer stopOnShutdown()
	// Writes take no context: a per-write deadline costs a timer per event
	// per screen. A client that stops reading blocks only its own
	// goroutine; its subscription is dropped after SubscriptionBuffer
	// events, so it holds no memory, and TCP ends it if it is gone.
	send := func(b []byte) error { return conn.Write(context.Background(), websocket.MessageText, b) }

	last := after
	for {
		// Subscribe before replaying, so nothing committed in between is
		// missed; then replay the Log after last; then go live, skipping
		// what the replay already sent.
		sub := s.hub.Subscribe(p.OrgID, filter)
		if last >= 0 {
			var err error
			if last, err = s.replay(ctx, p.OrgID, filter, last, send); err != nil {
				sub.Close()
				s.closeStream(ctx, conn, last, websocket.StatusInternalError, "could not read events")
				return
			}
		}
		lagged := s.stream(ctx, sub, &last, send)
		sub.Close()
		if !lagged {
			s.closeStream(ctx, conn, last, 0, "")
			return
		}
		// Fell behind: catch up from the Log on a fresh subscription.
	}
}

var errTokenExpired = errors.New("token expired")

// closeStream says goodbye with the reason the stream ended.
func (s *Server) closeStream(ctx context.Context, conn *websocket.Conn, last int64, code websocket.StatusCode, reason string) {
	switch {
	case errors.Is(context.Cause(ctx), errTokenExpired):
		code, reason = closeTokenExpired, "token expired; refresh it"
	case s.stopping.Err() != nil:
		code, reason = websocket.StatusGoingAway, "server shutting down"
	case code == 0:
		conn.CloseNow() // the client went away or a write failed
		return
	}
	conn.Close(code, reason+"; reconnect with after="+strconv.FormatInt(last, 10))
}

// replay sends the Log's events after last and returns the new last.
func (s *Server) replay(ctx context.Context, orgID string, f event.Filter, last int64, send func([]byte) error) (int64, error) {
	for {
		evs, err := s.events.EventsAfter(ctx, orgID, last, f.LocationID, backlogPage)
		if err != nil {
			return last, err
		}
		for _, e := range evs {
			if !f.Keeps(e) {
				last = e.Seq // read, and not wanted: past it
				continue
			}
			b, err := json.Marshal(e)
			if err != nil {
				return last, err
			}
			if err := send(b); err != nil {
				return last, err
			}
			last = e.Seq
		}
		if len(evs) < backlogPage {
			return last, nil
		}
	}
}

// stream sends live events until the stream should end (false) or the
// subscriber fell behind (true), in which case the caller catches up from
// the Log. A slow screen thus never holds more than its small buffer in
// memory and never misses an event.
func (s *Server) stream(ctx context.Context, sub *event.Subscription, last *int64, send func([]byte) error) (lagged bool) {
	for {
		select {
		case f := <-sub.C():
			if *last < 0 {
				*last = f.Seq - 1 // a live-only stream starts at its first event
			}
			if f.Seq <= *last {
				continue
			}
			if err := send(f.JSON); err != nil {
				return false
			}
			*last = f.Seq
		case <-sub.Dropped():
			if *last < 0 {
				select {
				case f := <-sub.C():
					*last = f.Seq - 1
				default:
				}
			}
			return true
		case <-ctx.Done():
			return false
		}
	}
}
