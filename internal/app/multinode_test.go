package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fynlo/fynlo/internal/testenv"
)

// TestSeveralNodes runs three nodes on one PostgreSQL joined by Redis, as
// behind a load balancer: checks opened and sent through all three at
// once reach WebSocket clients on every node in order with no gap; a
// token from one is good on the others; rate limits, idempotency keys and
// the menu cache hold across them.
func TestSeveralNodes(t *testing.T) {
	pgURL, rds := testenv.Postgres(t), testenv.Redis(t)
	redisURL := rds.URL
	keys := t.TempDir()
	node := func() *server {
		cfg := testConfig(t, pgURL)
		cfg.KeysDir, cfg.RedisURL = keys, redisURL
		return start(t, cfg)
	}
	// The first node seeds the demo restaurant; the others join it.
	cfgA := testConfig(t, pgURL)
	cfgA.KeysDir, cfgA.RedisURL = keys, redisURL
	f := startDemoFloor(t, cfgA)
	nodes := []*server{f.s, node(), node()}
	// A node is ready once it hears the others: from then on its screens
	// get their changes as they happen.
	for i, n := range nodes {
		for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
			if r := n.call("GET", "/readyz", "", nil); r.Status == 200 {
				break
			} else if time.Since(start) > 10*time.Second {
				t.Fatalf("node %d not ready: %d %s", i, r.Status, r.Body)
			}
		}
	}

	// A token issued by one node is good on the others.
	for i, n := range nodes {
		if r := n.call("GET", "/api/v1/locations/"+f.loc, f.tom, nil); r.Status != 200 {
			t.Fatalf("node %d refused node A's token: %d %s", i, r.Status, r.Body)
		}
	}

	// Screens on nodes B and C follow the organization's whole stream.
	wsB, wsC := dial(t, nodes[1], f.owner, "?after=0"), dial(t, nodes[2], f.owner, "?after=0")

	// Waiters on all three nodes open and send checks at once.
	const perNode = 15
	var wg sync.WaitGroup
	errs := make(chan error, 3*perNode)
	for i, n := range nodes {
		fn := *f
		fn.s = n
		token := []string{f.tom, f.aisha, f.maya}[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perNode {
				var lines []map[string]any
				it, v := fn.item(t, "grill", 0)
				lines = append(lines, map[string]any{"item_id": it, "variant_id": v, "quantity": 1})
				r := n.call("POST", "/api/v1/orders", token, map[string]any{"type": "dine_in", "covers": 2, "lines": lines, "send": true})
				if r.Status != 201 {
					errs <- fmt.Errorf("open check: %d %s", r.Status, r.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	last := int64(0)
	for _, x := range f.s.call("GET", "/api/v1/events?after=0&limit=500", f.owner, nil).json(t)["events"].([]any) {
		last = max(last, int64(x.(map[string]any)["seq"].(float64)))
	}
	for name, c := range map[string]*websocket.Conn{"B": wsB, "C": wsC} {
		seen := int64(0)
		for seen < last {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, b, err := c.Read(ctx)
			cancel()
			if err != nil {
				t.Fatalf("node %s: stream stopped at %d of %d: %v", name, seen, last, err)
			}
			var e struct {
				Seq int64 `json:"seq"`
			}
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			if e.Seq != seen+1 {
				t.Fatalf("node %s: event %d after %d: a gap or a repeat", name, e.Seq, seen)
			}
			seen = e.Seq
		}
	}
	// Node B publishes a change made through node A from the notice that
	// announced it, not by reading it back from the database. (Under load
	// a notice may overtake another and, if the gap lasts, the gap is read
	// from the log; here B is caught up, so the next notice follows on.)
	stats := func() (carried, read float64) {
		m := string(nodes[1].call("GET", "/metrics", "", nil).Body)
		return metricValue(t, m, "fynlo_dispatch_events_carried_total"), metricValue(t, m, "fynlo_dispatch_events_read_total")
	}
	carried0, read0 := stats()
	if r := nodes[0].call("POST", "/api/v1/tables", f.owner, map[string]any{"location_id": f.loc, "name": "Carried", "seats": 2}); r.Status != 201 {
		t.Fatalf("table: %d %s", r.Status, r.Body)
	}
	for name, c := range map[string]*websocket.Conn{"B": wsB, "C": wsC} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := c.Read(ctx)
		cancel()
		if err != nil || !strings.Contains(string(b), `"table.created"`) || !strings.Contains(string(b), fmt.Sprintf(`"seq":%d,`, last+1)) {
			t.Fatalf("node %s's stream after a table made on node A (seq %d): %s %v", name, last+1, b, err)
		}
	}
	last++
	if carried, read := stats(); carried <= carried0 || read != read0 {
		t.Errorf("node B published the change from its notice %v times and read %v events back; want from the notice, none read",
			carried-carried0, read-read0)
	}
	// Redis goes away: every node keeps serving on its own. Events made
	// meanwhile reach the other nodes' screens once it is back (each node
	// reads the log for what it was not told of), still in order.
	rds.Stop()
	before := last // where both screens stand
	for i := range 3 {
		fn := *f
		fn.s = nodes[0]
		it, v := fn.item(t, "grill", 0)
		r := nodes[0].call("POST", "/api/v1/orders", f.tom, map[string]any{"type": "dine_in", "covers": 1,
			"lines": []map[string]any{{"item_id": it, "variant_id": v, "quantity": 1}}, "send": true})
		if r.Status != 201 {
			t.Fatalf("check %d with Redis down: %d %s", i, r.Status, r.Body)
		}
	}
	rds.Start(t)
	for _, x := range f.s.call("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=500", last), f.owner, nil).json(t)["events"].([]any) {
		last = max(last, int64(x.(map[string]any)["seq"].(float64)))
	}
	for name, c := range map[string]*websocket.Conn{"B": wsB, "C": wsC} {
		got := before
		for got < last {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			_, b, err := c.Read(ctx)
			cancel()
			if err != nil {
				t.Fatalf("node %s: after Redis came back the stream stopped at %d of %d: %v", name, got, last, err)
			}
			var e struct {
				Seq int64 `json:"seq"`
			}
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			if e.Seq != got+1 {
				t.Fatalf("node %s: event %d after %d across the Redis outage", name, e.Seq, got)
			}
			got = e.Seq
		}
	}

	// Every check's tickets are on the kitchen screen of every node.
	var counts []int
	for _, n := range nodes {
		counts = append(counts, len(n.call("GET", "/api/v1/kitchen/tickets?station=grill", f.tom, nil).json(t)["tickets"].([]any)))
	}
	if counts[0] < 3*perNode || counts[0] != counts[1] || counts[1] != counts[2] {
		t.Fatalf("grill tickets per node: %v, want the same ≥ %d", counts, 3*perNode)
	}

	// Rate limits hold across nodes: pairing allows 10 a client every 10 s,
	// whichever node the requests land on.
	limited := 0
	for i := range 14 {
		r := nodes[i%3].call("POST", "/api/v1/devices/pair", "", map[string]string{"code": "000000"})
		if r.Status == 429 {
			limited++
		}
	}
	if limited < 4 {
		t.Fatalf("%d of 14 pairings across 3 nodes were limited; the limit of 10 is not shared", limited)
	}

	// One idempotency key, sent to two nodes at once: one table.
	key := fmt.Sprintf("multi-node-%d", time.Now().UnixNano())
	var st [2]int
	var wg2 sync.WaitGroup
	for i := range 2 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			st[i] = nodes[i+1].call("POST", "/api/v1/tables", f.owner, map[string]any{"location_id": f.loc, "name": "T-" + key[len(key)-6:], "seats": 4},
				"Idempotency-Key", key).Status
		}()
	}
	wg2.Wait()
	created := 0
	for _, x := range nodes[0].call("GET", "/api/v1/tables?location_id="+f.loc, f.owner, nil).json(t)["tables"].([]any) {
		if x.(map[string]any)["name"] == "T-"+key[len(key)-6:] {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("one key on two nodes made %d tables (answers %v)", created, st)
	}

	// The menu cache: a change made through node A shows on node C at once,
	// not at its next look at the log.
	menuC := nodes[2].call("GET", "/api/v1/locations/"+f.loc+"/menu", f.tom, nil)
	etag := menuC.Header.Get("ETag")
	it, _ := f.item(t, "bar", 0)
	item := f.s.call("GET", "/api/v1/items/"+it, f.owner, nil).json(t)
	if r := f.s.call("PATCH", "/api/v1/items/"+it, f.owner, map[string]any{"version": item["version"], "name": "Renamed on node A"}); r.Status != 200 {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(500 * time.Millisecond)
	for {
		if r := nodes[2].call("GET", "/api/v1/locations/"+f.loc+"/menu", f.tom, nil); r.Header.Get("ETag") != etag {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node C still serves the old menu half a second after the change on node A")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metricValue reads an unlabelled sample from a /metrics page.
func metricValue(t *testing.T, page, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}
