package app_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/testenv"
)

// TestKitchenDisplay drives the kitchen display at /kds in headless
// Chromium, as a cook would: pair the tablet with a code from the back
// office, choose the grill, see a check sent from the till arrive with its
// allergens, acknowledge them, bump the ticket, recall it, and lose the
// connection while another check comes in, which then shows exactly once.
func TestKitchenDisplay(t *testing.T) {
	browser := kdsStartChromium(t)
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		owner := s.signup("kds@example.com")
		tok := owner.Token

		// The location, and the currency its prices are in.
		var loc, currency string
		locs := s.call("GET", "/api/v1/locations", tok, nil)
		if locs.Status != 200 {
			t.Fatalf("locations: %d %s", locs.Status, locs.Body)
		}
		for _, l := range locs.json(t)["items"].([]any) {
			if l := l.(map[string]any); l["id"] == owner.LocationID {
				loc, currency = l["id"].(string), l["currency"].(string)
			}
		}
		if loc == "" {
			t.Fatalf("signed-up location %s not listed: %s", owner.LocationID, locs.Body)
		}

		// A menu with one dish for the grill, with allergens.
		tax := kdsCreated(t, s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Hot food",
			"rates": map[string]int{"dine_in": 2000, "takeaway": 2000, "delivery": 2000}}), "tax category")
		cat := kdsCreated(t, s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Mains"}), "category")
		item := kdsCreated(t, s.call("POST", "/api/v1/items", tok, map[string]any{
			"category_id": cat["id"], "name": "Fish and chips", "tax_category_id": tax["id"], "kitchen_station": "grill",
			"allergens": []string{"fish", "cereals_gluten"},
			"variants":  []map[string]any{{"name": "Regular", "price": map[string]any{"amount": 1450, "currency": currency}}},
		}), "item")
		itemID := item["id"].(string)
		variantID := item["variants"].([]any)[0].(map[string]any)["id"].(string)
		kdsCreated(t, s.call("POST", "/api/v1/kitchen/stations", tok, map[string]any{"location_id": loc, "key": "grill", "name": "Grill"}), "station")

		// The manager registers the tablet and reads its pairing code.
		reg := kdsCreated(t, s.call("POST", "/api/v1/devices", tok, map[string]any{"location_id": loc, "name": "Grill screen"}), "device")
		code := reg["pairing_code"].(string)

		// The tablet reaches the server through a proxy the test can cut.
		px := newKDSProxy(t, strings.TrimPrefix(s.URL, "http://"))
		tab := browser.newTab(t)
		tab.do(t, chromedp.Navigate(px.URL+"/kds"), chromedp.WaitVisible(chromedp.ID("pair-code")))
		tab.do(t, chromedp.SendKeys(chromedp.ID("pair-code"), code), chromedp.Click(chromedp.ID("pair-submit")))
		tab.do(t, chromedp.WaitVisible(chromedp.CSS(`[data-station="grill"]`)), chromedp.Click(chromedp.CSS(`[data-station="grill"]`)))
		tab.waitFor(t, "the stream to be live", kdsConnIs("live"), 5*time.Second)
		device := kdsEval[string](t, tab, `localStorage.getItem('fynlo.kds.device_token') || ''`)
		if !strings.HasPrefix(device, "dt_") {
			t.Fatalf("the page keeps no device token: %q", device)
		}

		// A waiter sends a check to the kitchen.
		sendCheck := func(opID, notes string) (orderID string, sent time.Time) {
			t.Helper()
			o := kdsCreated(t, s.call("POST", "/api/v1/orders", tok, map[string]any{"location_id": loc, "type": "dine_in", "covers": 2,
				"lines": []map[string]any{{"op_id": opID, "item_id": itemID, "variant_id": variantID, "quantity": 2, "notes": notes}}}), "order")
			orderID = o["id"].(string)
			sent = time.Now()
			if r := s.call("POST", "/api/v1/orders/"+orderID+"/send", tok, map[string]any{"version": o["version"]}); r.Status != 200 {
				t.Fatalf("send %s: %d %s", orderID, r.Status, r.Body)
			}
			return orderID, sent
		}
		orderID, sent := sendCheck("op-1", "no salt")
		card := `.ticket[data-order-id="` + orderID + `"]`
		tab.waitFor(t, "the ticket", fmt.Sprintf(`[...document.querySelectorAll('%s')].some((c) => c.textContent.includes('Fish and chips'))`, card), 5*time.Second)
		latency := time.Since(sent)
		t.Logf("send → ticket on the screen: %v", latency)
		if latency > time.Second {
			t.Logf("slower than the 1 s target (tolerated up to 5 s for a loaded CI machine)")
		}
		ticketID := kdsEval[string](t, tab, `document.querySelector('`+card+`').getAttribute('data-ticket-id')`)
		if text := kdsEval[string](t, tab, `document.querySelector('`+card+` .l-allergens').textContent`); !strings.Contains(text, "FISH") {
			t.Fatalf("allergen banner = %q, want FISH in it", text)
		}
		if text := kdsEval[string](t, tab, `document.querySelector('`+card+`').textContent`); !strings.Contains(text, "no salt") || !strings.Contains(text, "2×") {
			t.Fatalf("card lacks the note or the quantity: %q", text)
		}
		if !kdsEval[bool](t, tab, `document.querySelector('`+card+` .bump').disabled`) {
			t.Fatal("bump is enabled before the allergens are acknowledged")
		}

		// Acknowledge, then bump: the card leaves.
		tab.do(t, chromedp.Click(chromedp.CSS(card+" .ack")))
		tab.waitFor(t, "bump to be enabled", `!document.querySelector('`+card+` .bump').disabled`, 5*time.Second)
		tab.do(t, chromedp.Click(chromedp.CSS(card+" .bump")))
		tab.waitFor(t, "the card to leave", `!document.querySelector('`+card+`')`, 5*time.Second)

		// The till sees the dish ready; the kitchen lists the ticket as done.
		kdsEventually(t, "the line to be ready", func() string {
			r := s.call("GET", "/api/v1/orders/"+orderID, tok, nil)
			if r.Status != 200 {
				return fmt.Sprintf("%d %s", r.Status, r.Body)
			}
			lines, _ := r.json(t)["lines"].([]any)
			if len(lines) != 1 || lines[0].(map[string]any)["kitchen_state"] != "ready" {
				return string(r.Body)
			}
			return ""
		})
		ticketsAt := func(status string) string {
			return "/api/v1/kitchen/tickets?location_id=" + loc + "&station=grill&status=" + status
		}
		kdsEventually(t, "the ticket among the done ones", func() string {
			return kdsTicketStatus(t, s, device, ticketsAt("done"), ticketID, "done")
		})

		// Recall it: back on the screen, and open again. The button is
		// enabled once the page has recorded the bump.
		tab.waitFor(t, "recall to be enabled", `!document.getElementById('recall').disabled`, 5*time.Second)
		tab.do(t, chromedp.Click(chromedp.ID("recall")))
		tab.waitFor(t, "the recalled card", `!!document.querySelector('`+card+`')`, 5*time.Second)
		kdsEventually(t, "the ticket open again", func() string {
			return kdsTicketStatus(t, s, device, ticketsAt("open"), ticketID, "open")
		})

		// The connection drops (every TCP connection cut, new ones held) while
		// a second check is sent. The page shows it once it is back, once.
		px.hold()
		px.cut()
		tab.waitFor(t, "the page to notice", kdsConnIs("offline"), 5*time.Second)
		second, _ := sendCheck("op-2", "")
		secondCard := `.ticket[data-order-id="` + second + `"]`
		time.Sleep(300 * time.Millisecond)
		if n := kdsEval[int](t, tab, `document.querySelectorAll('`+secondCard+`').length`); n != 0 {
			t.Fatalf("%d cards for the second check while offline", n)
		}
		back := time.Now()
		px.release()
		tab.waitFor(t, "the second check", `document.querySelectorAll('`+secondCard+`').length > 0`, 15*time.Second)
		t.Logf("reconnect → missed ticket on the screen: %v", time.Since(back))
		tab.waitFor(t, "the stream to be live again", kdsConnIs("live"), 5*time.Second)
		time.Sleep(500 * time.Millisecond) // room for a duplicate to show up
		if n := kdsEval[int](t, tab, `document.querySelectorAll('`+secondCard+`').length`); n != 1 {
			t.Fatalf("%d cards for the second check, want 1", n)
		}
		if n := kdsEval[int](t, tab, `document.querySelectorAll('`+card+`').length`); n != 1 {
			t.Fatalf("%d cards for the first check, want 1", n)
		}

		tab.checkConsole(t)
	})
}

// kdsCreated checks r is a 201 and returns its JSON.
func kdsCreated(t *testing.T, r response, what string) map[string]any {
	t.Helper()
	if r.Status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", what, r.Status, r.Body)
	}
	return r.json(t)
}

// kdsTicketStatus returns "" if the ticket list at path holds ticket id with
// status want, or what it holds instead.
func kdsTicketStatus(t *testing.T, s *server, token, path, id, want string) string {
	t.Helper()
	r := s.call("GET", path, token, nil)
	if r.Status != 200 {
		return fmt.Sprintf("%d %s", r.Status, r.Body)
	}
	list, _ := r.json(t)["tickets"].([]any)
	for _, tk := range list {
		if tk := tk.(map[string]any); tk["id"] == id && tk["status"] == want {
			return ""
		}
	}
	return string(r.Body)
}

// kdsEventually retries check, which returns "" when satisfied, for up to 5 s.
func kdsEventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := check()
		if got == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s", what, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func kdsConnIs(s string) string {
	return `document.getElementById('conn').textContent === '` + s + `'`
}

// kdsBrowser is one headless browser shared by a test's subtests.
type kdsBrowser struct {
	ctx context.Context
}

// kdsStartChromium starts Debian's Chromium for t, or skips t without it
// (fails it when services are required, as in CI).
func kdsStartChromium(t *testing.T) *kdsBrowser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		path, err = exec.LookPath("/usr/bin/chromium")
	}
	if err != nil {
		msg := "chromium not found (apt-get install chromium)"
		if testenv.RequireServices() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	begin := time.Now()
	// The first Do starts the browser, which lives as long as the context
	// it was given: so ctx itself, not one with a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Logf("chromium started in %v", time.Since(begin))
	return &kdsBrowser{ctx: ctx}
}

// kdsTab is a browser tab with storage of its own, whose console is watched.
type kdsTab struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func (c *kdsBrowser) newTab(t *testing.T) *kdsTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(c.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &kdsTab{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	// Console errors, uncaught exceptions and browser log errors (a CSP
	// violation, a failed request) all fail the test.
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				tb.mu.Lock()
				tb.errors = append(tb.errors, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				tb.mu.Unlock()
			}
		}
	}()
	return tb
}

func (tb *kdsTab) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func kdsEval[T any](t *testing.T, tb *kdsTab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls expr in the page until it is true.
func (tb *kdsTab) waitFor(t *testing.T, what, expr string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !kdsEval[bool](t, tb, expr) {
		if time.Now().After(deadline) {
			tb.checkConsole(t)
			t.Fatalf("waited %v for %s (%s)", limit, what, expr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (tb *kdsTab) checkConsole(t *testing.T) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.errors {
		t.Errorf("browser console: %s", e)
	}
	tb.errors = nil
}

// kdsProxy forwards TCP connections to a server. It can cut them all, as a
// dropped Wi-Fi does, and hold new ones until released.
type kdsProxy struct {
	URL    string
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	held   chan struct{} // closed on release; nil when not holding
}

func newKDSProxy(t *testing.T, target string) *kdsProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &kdsProxy{URL: "http://" + l.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		l.Close()
		p.release()
		p.cut()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *kdsProxy) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[c] = true
}

func (p *kdsProxy) serve(c net.Conn) {
	p.track(c)
	p.mu.Lock()
	held := p.held
	p.mu.Unlock()
	if held != nil {
		<-held
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.track(up)
	go func() {
		_, _ = io.Copy(up, c)
		up.Close()
	}()
	_, _ = io.Copy(c, up)
	c.Close()
}

// cut closes every connection through the proxy.
func (p *kdsProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// hold makes new connections wait until release.
func (p *kdsProxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = make(chan struct{})
	}
}

func (p *kdsProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
}
