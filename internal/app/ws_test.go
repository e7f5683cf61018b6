package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fynlo/fynlo/internal/app"
)

type wsEvent struct {
	Seq        int64  `json:"seq"`
	Type       string `json:"type"`
	LocationID string `json:"location_id"`
	SubjectID  string `json:"subject_id"`
}

func dial(t *testing.T, s *server, token, query string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(s.URL, "http") + "/api/v1/ws" + query
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial %s: %v", query, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func next(t *testing.T, c *websocket.Conn) wsEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read event: %v", err)
	}
	var e wsEvent
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// expectSilence checks no further message arrives for a moment.
func expectSilence(t *testing.T, c *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, b, err := c.Read(ctx); err == nil {
		t.Fatalf("unexpected message %s", b)
	}
}

func TestWebSocketReplayAndLive(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("ws@example.com")
		b := s.signup("ws-other@example.com")

		c := dial(t, s, a.Token, "?after=0")
		for want := int64(1); want <= 3; want++ {
			if e := next(t, c); e.Seq != want {
				t.Fatalf("replay: seq %d, want %d", e.Seq, want)
			}
		}
		live := dial(t, s, a.Token, "") // live only
		filtered := dial(t, s, a.Token, "?after=3&location_id="+a.LocationID)

		created := s.call("POST", "/api/v1/locations", a.Token, map[string]any{"name": "Live"}).json(t)
		s.call("POST", "/api/v1/locations", b.Token, map[string]any{"name": "Not yours"})
		for _, conn := range []*websocket.Conn{c, live} {
			e := next(t, conn)
			for e.Seq <= 3 { // a live-only stream may still catch sign-up's events
				e = next(t, conn)
			}
			if e.Seq != 4 || e.Type != "location.created" || e.SubjectID != created["id"] {
				t.Fatalf("live event = %+v", e)
			}
			expectSilence(t, conn) // nothing of tenant B's
		}
		// The filtered stream sees changes to its own location only.
		s.call("PATCH", "/api/v1/locations/"+a.LocationID, a.Token, map[string]any{"version": 1, "name": "Renamed"})
		if e := next(t, filtered); e.Seq != 5 || e.Type != "location.updated" || e.LocationID != a.LocationID {
			t.Fatalf("filtered event = %+v", e)
		}

		// Drop the connection, miss three changes, reconnect: exactly those, in order.
		c.CloseNow()
		for range 3 {
			s.call("POST", "/api/v1/locations", a.Token, map[string]any{"name": "While away"})
		}
		c2 := dial(t, s, a.Token, "?after=4")
		for want := int64(5); want <= 8; want++ {
			if e := next(t, c2); e.Seq != want {
				t.Fatalf("catch-up: seq %d, want %d", e.Seq, want)
			}
		}
		expectSilence(t, c2)
	})
}

func TestWebSocketAuth(t *testing.T) {
	s := start(t, testConfig(t, ""))
	a := s.signup("wsauth@example.com")
	expectProblem(t, s.call("GET", "/api/v1/ws", "", nil), 401, "unauthenticated")
	expectProblem(t, s.call("GET", "/api/v1/ws", "garbage", nil), 401, "invalid_token")
	expectProblem(t, s.call("GET", "/api/v1/ws?after=x", a.Token, nil), 422, "invalid_field", "query.after")
	// Browsers cannot set headers on WebSockets: the token may come in the query.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/api/v1/ws?after=0&access_token="+a.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if e := next(t, c); e.Seq != 1 {
		t.Fatalf("first event %+v", e)
	}
}

// TestGracefulShutdown stops a real listening server with a WebSocket open:
// the client is told "going away", and the data survives.
func TestGracefulShutdown(t *testing.T) {
	cfg := testConfig(t, "")
	a, err := app.New(context.Background(), cfg, app.NewLogger(discard{}, 8))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, l) }()
	s := &server{t: t, URL: "http://" + l.Addr().String()}
	ten := s.signup("shutdown@example.com")
	c := dial(t, s, ten.Token, "")
	stop()
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for err == nil { // sign-up's own events may arrive first
		_, _, err = c.Read(rctx)
	}
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("client saw %v, want close 1001 going away", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := start(t, cfg)
	if r := s2.call("GET", "/api/v1/me", ten.Token, nil); r.Status != 200 {
		t.Fatalf("after restart: %d %s", r.Status, r.Body)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestWebSocketSlowReaderMissesNothing bursts events at a client that is
// not reading yet: whether it stays within its buffer or falls behind and
// is caught up from the log, it gets every event once, in order.
func TestWebSocketSlowReaderMissesNothing(t *testing.T) {
	s := start(t, testConfig(t, ""))
	a := s.signup("slow@example.com")
	c := dial(t, s, a.Token, "?after=3") // after sign-up's three events
	const n = 150
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 6 {
				s.call("POST", "/api/v1/locations", a.Token, map[string]any{"name": "Burst"})
			}
		}()
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	for want := int64(4); want < 4+n; want++ {
		if e := next(t, c); e.Seq != want {
			t.Fatalf("seq %d, want %d", e.Seq, want)
		}
	}
	expectSilence(t, c)
}

func TestWebSocketClosesWhenTokenExpires(t *testing.T) {
	cfg := testConfig(t, "")
	s := start(t, cfg)
	a := s.signup("expiry@example.com")
	c := dial(t, s, shortToken(t, cfg, a, 2*time.Second), "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	for err == nil { // sign-up's own events may still arrive first
		_, _, err = c.Read(ctx)
	}
	if websocket.CloseStatus(err) != 4001 {
		t.Fatalf("got %v, want close 4001 (token expired)", err)
	}
}

// TestWebSocketTypesFilter: a kitchen screen asks for tickets only, live
// and on replay, and is sent nothing else; a bad filter is refused.
func TestWebSocketTypesFilter(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		f := startDemoFloor(t, cfg)
		s := f.s
		before := int64(0)
		for _, x := range s.call("GET", "/api/v1/events?after=0&limit=500", f.owner, nil).json(t)["events"].([]any) {
			before = max(before, int64(x.(map[string]any)["seq"].(float64)))
		}
		live := dial(t, s, f.tom, "?types=ticket.")
		o := f.openCheck(t, f.tom, 4) // grill and bar: two tickets
		f.pay(t, f.tom, o["id"].(string), map[string]any{"method": "card"}, 201)
		for range 2 {
			if e := next(t, live); e.Type != "ticket.created" {
				t.Fatalf("a ticket-only stream sent %s", e.Type)
			}
		}
		expectSilence(t, live)
		replay := dial(t, s, f.tom, fmt.Sprintf("?types=ticket.,payment.&after=%d", before))
		var got []string
		for range 3 {
			got = append(got, next(t, replay).Type)
		}
		if strings.Join(got, ",") != "ticket.created,ticket.created,payment.created" && !strings.HasPrefix(strings.Join(got, ","), "ticket.created,ticket.created,payment.") {
			t.Fatalf("replay of tickets and payments: %v", got)
		}
		for _, bad := range []string{"Ticket.", "ticket.,,x", strings.Repeat("a", 65)} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/api/v1/ws?types="+url.QueryEscape(bad),
				&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + f.tom}}})
			cancel()
			if err == nil || res == nil || res.StatusCode != 422 {
				t.Fatalf("types=%q: %v %v", bad, res, err)
			}
		}
	})
}
