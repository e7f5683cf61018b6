package app_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read the database afterwards
	_ "modernc.org/sqlite"             // the "sqlite" driver, for PRAGMA integrity_check

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/testenv"
)

// The chaos test's size. The defaults are CI's short form; the long form
// is documented in docs/testing.md.
func chaosSize(t *testing.T) (flows, kills, clients int) {
	get := func(name string, def int) int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return get("FYNLO_CHAOS_FLOWS", 500), get("FYNLO_CHAOS_KILLS", 10), get("FYNLO_CHAOS_CLIENTS", 8)
}

// TestChaos drives check-and-payment flows from several clients while the
// server is killed with SIGKILL at random moments (SQLite) or PostgreSQL
// is crashed under it (PostgreSQL), and clients retry every write with the
// same IDs and Idempotency-Keys until they get an answer. Afterwards every
// acknowledged check and payment is there exactly once, nothing else is,
// every check's money adds up, and the database is sound.
func TestChaos(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		cfg := testConfig(t, "")
		c := newChaos(t, cfg)
		c.run(func(rng *rand.Rand) error {
			if err := c.node.kill(); err != nil {
				return err
			}
			return c.node.start()
		})
		c.node.kill()
		db, err := sql.Open("sqlite", "file:"+cfg.DatabaseDSN()+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var res string
		if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
			t.Errorf("PRAGMA integrity_check: %q %v", res, err)
		}
		c.checkDatabase(db)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := testenv.StartPrivatePostgres(t)
		cfg := testConfig(t, pg.URL)
		c := newChaos(t, cfg)
		c.run(func(rng *rand.Rand) error {
			if err := pg.Crash(); err != nil {
				return err
			}
			// /readyz says so while the database is down...
			if err := c.waitReady(false, 10*time.Second); err != nil {
				return err
			}
			time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
			if err := pg.Start(); err != nil {
				return err
			}
			// ...and the server recovers by itself.
			return c.waitReady(true, 30*time.Second)
		})
		c.node.kill()
		db, err := sql.Open("pgx", pg.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		c.checkDatabase(db)
	})
}

// chaos is one run: the server, the demo restaurant's staff, and what the
// clients were told.
type chaos struct {
	t                 *testing.T
	node              *chaosNode
	tom, maya, owner  string
	loc               string
	drawer, session   string
	dishes            [][2]string // item and variant IDs of dishes without modifiers
	flows, kills, cli int

	mu     sync.Mutex
	checks map[string]*ackCheck   // acknowledged checks by ID
	pays   map[string]*ackPayment // acknowledged payments by ID

	retries, lost atomic.Int64 // retried calls; answers "applied, response lost"
	internal      atomic.Int64 // 500s: an outage should be a 503 to retry, not an error of ours
}

type ackCheck struct {
	lines int    // lines acknowledged
	opID  string // the add_line operation acknowledged
	done  bool   // fully paid, as the last payment's answer said
}

type ackPayment struct {
	order, method string
	amount        int64 // 0: the rest of the balance
}

func newChaos(t *testing.T, cfg app.Config) *chaos {
	flows, kills, clients := chaosSize(t)
	c := &chaos{t: t, flows: flows, kills: kills, cli: clients, checks: map[string]*ackCheck{}, pays: map[string]*ackPayment{}}
	c.node = &chaosNode{t: t, env: []string{"FYNLO_ADDR=127.0.0.1:0", "FYNLO_DATA_DIR=" + cfg.DataDir, "FYNLO_DATABASE_URL=" + cfg.DatabaseURL,
		"FYNLO_DEMO=true", "FYNLO_LOG_LEVEL=info", "FYNLO_ACCESS_TOKEN_TTL=24h", "FYNLO_SHUTDOWN_TIMEOUT=0s", "FYNLO_IDEMPOTENCY_LEASE=1s"}, logs: &syncBuffer{}}
	t.Cleanup(func() {
		c.node.kill()
		if t.Failed() {
			var keep []string
			for _, l := range strings.Split(c.node.logs.String(), "\n") {
				if !strings.Contains(l, `"msg":"request"`) {
					keep = append(keep, l)
				}
			}
			t.Logf("server log, but for requests (tail):\n%s", tail(strings.Join(keep, "\n"), 40))
		}
	})
	if err := c.node.start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, URL: c.node.url(), logs: &syncBuffer{}}
	login := s.call("POST", "/api/v1/auth/login", "", map[string]any{"email": app.DemoEmail, "password": app.DemoPassword})
	if login.Status != 200 {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	c.owner = login.json(t)["access_token"].(string)
	device, err := os.ReadFile(filepath.Join(cfg.DataDir, "demo-device-token"))
	if err != nil {
		t.Fatal(err)
	}
	pin := func(p string) string {
		r := s.call("POST", "/api/v1/auth/pin", strings.TrimSpace(string(device)), map[string]any{"pin": p})
		if r.Status != 200 {
			t.Fatalf("PIN %s: %d %s", p, r.Status, r.Body)
		}
		return r.json(t)["access_token"].(string)
	}
	c.maya, c.tom = pin("1111"), pin("2222")
	c.loc = s.call("GET", "/api/v1/locations", c.owner, nil).json(t)["items"].([]any)[0].(map[string]any)["id"].(string)
	menu := s.call("GET", "/api/v1/locations/"+c.loc+"/menu", c.owner, nil).json(t)
	for _, x := range menu["items"].([]any) {
		it := x.(map[string]any)
		if len(it["modifier_group_ids"].([]any)) == 0 {
			c.dishes = append(c.dishes, [2]string{it["id"].(string), it["variants"].([]any)[0].(map[string]any)["id"].(string)})
		}
	}
	if len(c.dishes) < 3 {
		t.Fatalf("%d demo dishes without modifiers", len(c.dishes))
	}
	c.drawer = s.call("GET", "/api/v1/cash-drawers?location_id="+c.loc, c.maya, nil).json(t)["drawers"].([]any)[0].(map[string]any)["id"].(string)
	sess := s.call("POST", "/api/v1/cash-drawers/"+c.drawer+"/sessions", c.maya, map[string]any{"float": gbp(10000)})
	if sess.Status != 201 {
		t.Fatalf("open the drawer: %d %s", sess.Status, sess.Body)
	}
	c.session = sess.json(t)["id"].(string)
	return c
}

// run has the clients work through the flows while chaosEvent strikes at
// random moments, kills times, then checks everything the clients were
// told through the API.
func (c *chaos) run(event func(rng *rand.Rand) error) {
	t := c.t
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The clients run at least the flows asked for, and on until every
	// crash has happened.
	var next atomic.Int64
	var killed atomic.Bool
	errs := make(chan error, c.cli+1)
	var wg sync.WaitGroup
	for range c.cli {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if (n > int64(c.flows) && killed.Load()) || ctx.Err() != nil {
					return
				}
				if err := c.flow(ctx, int(n)); err != nil {
					errs <- fmt.Errorf("flow %d: %w", n, err)
					cancel()
					return
				}
			}
		}()
	}
	var struck atomic.Int64
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		defer killed.Store(true)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		for range c.kills {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(200+rng.IntN(600)) * time.Millisecond):
			}
			if err := event(rng); err != nil {
				errs <- fmt.Errorf("chaos event %d: %w", struck.Load()+1, err)
				cancel()
				return
			}
			struck.Add(1)
		}
	}()
	wg.Wait()
	cancel()
	<-killerDone
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d flows by %d clients, %d crashes, %d retried calls, %d answers lost to a crash, %d answered 500, in %v",
		len(c.checks), c.cli, struck.Load(), c.retries.Load(), c.lost.Load(), c.internal.Load(), time.Since(start).Round(time.Millisecond))
	c.verify()
}

// flow opens a check with two dishes sent to the kitchen, adds a third by
// operation, pays a part in cash and the rest by card — each write with
// the client's own IDs and an Idempotency-Key, retried until answered.
func (c *chaos) flow(ctx context.Context, n int) error {
	orderID := id.New("ord")
	dish := func(i int) map[string]any {
		d := c.dishes[(n+i*7)%len(c.dishes)]
		return map[string]any{"item_id": d[0], "variant_id": d[1], "quantity": 1 + (n+i)%2}
	}
	a, err := c.write(ctx, "/api/v1/orders", map[string]any{"id": orderID, "type": "dine_in", "covers": 2,
		"lines": []any{dish(0), dish(1)}, "send": true}, "open-"+orderID, 200, 201)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.checks[orderID] = &ackCheck{lines: 2}
	c.mu.Unlock()
	if a != nil && a["id"] != orderID {
		return fmt.Errorf("opened %v, asked for %s", a["id"], orderID)
	}

	opID := "op-" + orderID
	if _, err := c.write(ctx, "/api/v1/orders/"+orderID+"/ops", map[string]any{"ops": []any{map[string]any{"op_id": opID,
		"type": "add_line", "line": dish(2)}}}, "ops-"+orderID, 200); err != nil {
		return err
	}
	c.mu.Lock()
	c.checks[orderID].lines, c.checks[orderID].opID = 3, opID
	c.mu.Unlock()

	o, err := c.read(ctx, "/api/v1/orders/"+orderID)
	if err != nil {
		return err
	}
	total := amount(o["totals"].(map[string]any)["total"])
	cashID, cardID := id.New("pay"), id.New("pay")
	part := total / 3
	if _, err := c.write(ctx, "/api/v1/orders/"+orderID+"/payments", map[string]any{"id": cashID, "method": "cash",
		"amount": gbp(part), "tendered": gbp(part)}, "cash-"+cashID, 200, 201); err != nil {
		return err
	}
	c.mu.Lock()
	c.pays[cashID] = &ackPayment{order: orderID, method: "cash", amount: part}
	c.mu.Unlock()
	a, err = c.write(ctx, "/api/v1/orders/"+orderID+"/payments", map[string]any{"id": cardID, "method": "card",
		"card": map[string]any{"payment_method": "pm_card_visa"}}, "card-"+cardID, 200, 201)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.pays[cardID] = &ackPayment{order: orderID, method: "card"}
	c.checks[orderID].done = true
	c.mu.Unlock()
	if a != nil {
		if p := a["payment"].(map[string]any); p["status"] != "captured" || amount(p["amount"]) != total-part {
			return fmt.Errorf("card payment %v of %d, want captured %d", p["status"], amount(p["amount"]), total-part)
		}
		if a["order"].(map[string]any)["status"] != "closed" {
			return fmt.Errorf("the check is %v after its last payment", a["order"].(map[string]any)["status"])
		}
	}
	return nil
}

// errLost is the server saying a write was applied but its answer lost.
var errLost = errors.New("applied, answer lost")

// write POSTs body with an Idempotency-Key as Tom, retrying on connection
// errors, 5xx and "still in flight" until the server gives a definite
// answer, which must be one of want. It returns the answer's body, or nil
// when the server said the write was applied but its answer was lost.
func (c *chaos) write(ctx context.Context, path string, body any, key string, want ...int) (map[string]any, error) {
	b, _ := json.Marshal(body)
	deadline := time.Now().Add(3 * time.Minute)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.retries.Add(1)
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("POST %s: no answer after 3 minutes of retries", path)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(20+rand.IntN(80)) * time.Millisecond):
			}
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", c.node.url()+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.tom)
		req.Header.Set("Idempotency-Key", key)
		status, out, raw, err := send(req)
		if status == http.StatusInternalServerError {
			c.internal.Add(1)
		}
		if err != nil || status >= 500 {
			continue
		}
		if status == http.StatusConflict && out["code"] == "idempotency_key_in_use" {
			continue
		}
		if status == http.StatusConflict && out["code"] == "idempotency_response_lost" {
			c.lost.Add(1)
			return nil, nil
		}
		for _, w := range want {
			if status == w {
				return out, nil
			}
		}
		return nil, fmt.Errorf("POST %s: %d %s", path, status, raw)
	}
}

// read GETs path, retrying until the server answers 200.
func (c *chaos) read(ctx context.Context, path string) (map[string]any, error) {
	deadline := time.Now().Add(3 * time.Minute)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("GET %s: no answer after 3 minutes of retries", path)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(20+rand.IntN(80)) * time.Millisecond):
			}
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", c.node.url()+path, nil)
		req.Header.Set("Authorization", "Bearer "+c.tom)
		status, out, raw, err := send(req)
		if err != nil || status >= 500 {
			continue
		}
		if status != 200 {
			return nil, fmt.Errorf("GET %s: %d %s", path, status, raw)
		}
		return out, nil
	}
}

var chaosHTTP = &http.Client{Timeout: 30 * time.Second}

func send(req *http.Request) (int, map[string]any, []byte, error) {
	res, err := chaosHTTP.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, nil, err // cut off mid-answer: as good as no answer
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil && res.StatusCode < 500 {
		return 0, nil, nil, fmt.Errorf("answer is not JSON: %w: %s", err, raw)
	}
	return res.StatusCode, out, raw, nil
}

// verify checks, through the API, every check and payment the clients
// were told about, and the drawer that took the cash.
func (c *chaos) verify() {
	t := c.t
	ctx := context.Background()
	var cashTotal int64
	var cashCount int
	for orderID, ac := range c.checks {
		o, err := c.read(ctx, "/api/v1/orders/"+orderID)
		if err != nil {
			t.Errorf("acknowledged check %s: %v", orderID, err)
			continue
		}
		reconcile(t, o)
		lines := o["lines"].([]any)
		if len(lines) != ac.lines {
			t.Errorf("check %s has %d lines, acknowledged %d", orderID, len(lines), ac.lines)
		}
		total := amount(o["totals"].(map[string]any)["total"])
		p, pend, bal, _ := paid(o)
		if bal != total-p-pend {
			t.Errorf("check %s: balance %d ≠ total %d − paid %d − pending %d", orderID, bal, total, p, pend)
		}
		if o["status"] == "closed" && bal != 0 {
			t.Errorf("check %s is closed with a balance of %d", orderID, bal)
		}
		if ac.done && (o["status"] != "closed" || p != total || pend != 0) {
			t.Errorf("check %s: %v, paid %d of %d, pending %d; acknowledged as paid in full", orderID, o["status"], p, total, pend)
		}
		pays, err := c.read(ctx, "/api/v1/payments?order_id="+orderID)
		if err != nil {
			t.Errorf("payments of %s: %v", orderID, err)
			continue
		}
		var captured, held int64
		seen := map[string]int{}
		for _, x := range pays["payments"].([]any) {
			py := x.(map[string]any)
			pid := py["id"].(string)
			seen[pid]++
			ap := c.pays[pid]
			if ap == nil {
				// Only a flow cut short may leave a payment it was never
				// told about, and then one in flight at most.
				t.Errorf("check %s: payment %s (%v, %v) that no client was told of", orderID, pid, py["method"], py["status"])
				continue
			}
			switch py["status"] {
			case "captured":
				captured += amount(py["amount"])
			case "pending", "authorized", "requires_action":
				held += amount(py["amount"])
			}
			if ap.amount != 0 && amount(py["amount"]) != ap.amount {
				t.Errorf("payment %s is %d, acknowledged %d", pid, amount(py["amount"]), ap.amount)
			}
			if py["method"] != ap.method {
				t.Errorf("payment %s is %v, acknowledged %s", pid, py["method"], ap.method)
			}
			if py["method"] == "cash" && py["status"] == "captured" {
				cashTotal += amount(py["amount"])
				cashCount++
			}
		}
		for pid, ap := range c.pays {
			if ap.order == orderID && seen[pid] != 1 {
				t.Errorf("acknowledged payment %s appears %d times on its check", pid, seen[pid])
			}
		}
		if captured != p || held != pend {
			t.Errorf("check %s: captured payments add up to %d and held ones to %d; the check says paid %d, pending %d",
				orderID, captured, held, p, pend)
		}
	}
	// Nothing more is listed than the clients were told of.
	all, err := c.read(ctx, "/api/v1/payments?limit=500&location_id="+c.loc)
	if err == nil && all["next_cursor"] == nil && len(all["payments"].([]any)) > len(c.pays) {
		t.Errorf("%d payments listed, %d acknowledged", len(all["payments"].([]any)), len(c.pays))
	}
	// The drawer expects exactly the acknowledged cash.
	req, _ := http.NewRequest("GET", c.node.url()+"/api/v1/cash-drawers/"+c.drawer+"/sessions/"+c.session, nil)
	req.Header.Set("Authorization", "Bearer "+c.maya)
	status, sess, raw, err := send(req)
	if err != nil || status != 200 {
		t.Fatalf("drawer session: %d %s %v", status, raw, err)
	}
	sum := sess["summary"].(map[string]any)
	if amount(sum["cash_sales"]) != cashTotal || int(sum["payments"].(float64)) != cashCount || amount(sum["expected"]) != 10000+cashTotal {
		t.Errorf("the drawer counts %v cash sales in %v payments, expects %v; the checks hold %d in %d", amount(sum["cash_sales"]),
			sum["payments"], amount(sum["expected"]), cashTotal, cashCount)
	}
}

// checkDatabase reads the stopped server's database: every check and
// payment in it was acknowledged (none half-written, none doubled), every
// line belongs to a check, and every payment's check holds it.
func (c *chaos) checkDatabase(db *sql.DB) {
	t := c.t
	ids := func(q string) map[string]int {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out[s]++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	orders := ids("SELECT id FROM orders")
	for oid := range orders {
		if c.checks[oid] == nil {
			t.Errorf("check %s in the database was never acknowledged", oid)
		}
	}
	for oid := range c.checks {
		if orders[oid] != 1 {
			t.Errorf("acknowledged check %s is in the database %d times", oid, orders[oid])
		}
	}
	pays := ids("SELECT id FROM payments")
	for pid := range pays {
		if c.pays[pid] == nil {
			t.Errorf("payment %s in the database was never acknowledged", pid)
		}
	}
	for pid := range c.pays {
		if pays[pid] != 1 {
			t.Errorf("acknowledged payment %s is in the database %d times", pid, pays[pid])
		}
	}
	for oid, n := range ids("SELECT order_id FROM order_lines") {
		if ac := c.checks[oid]; ac == nil || n != ac.lines {
			t.Errorf("check %s has %d line rows", oid, n)
		}
	}
	for oid := range ids("SELECT order_id FROM payments") {
		if orders[oid] != 1 {
			t.Errorf("a payment of check %s, which is not in the database", oid)
		}
	}
	t.Logf("database: %d checks, %d payments, all acknowledged, none doubled", len(orders), len(pays))
}

// waitReady polls /readyz until it answers 200 (ready) or anything else.
func (c *chaos) waitReady(ready bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		res, err := chaosHTTP.Get(c.node.url() + "/readyz")
		if err == nil {
			res.Body.Close()
			if (res.StatusCode == 200) == ready {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("/readyz did not say ready=%v within %v", ready, limit)
}

// chaosNode is `fynlo serve` in its own process, killed and started again
// on the same address.
type chaosNode struct {
	t    *testing.T
	env  []string
	logs *syncBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	addr string
}

func (n *chaosNode) url() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return "http://" + n.addr
}

// start runs the server and waits until it listens.
func (n *chaosNode) start() error {
	bin := fynloBinary(n.t)
	n.mu.Lock()
	env := append(os.Environ(), n.env...)
	if n.addr != "" {
		env = append(env, "FYNLO_ADDR="+n.addr) // the last of a name wins
	}
	n.mu.Unlock()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(n.logs, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			_ = cmd.Wait()
			return fmt.Errorf("the server exited before listening:\n%s", tail(n.logs.String(), 20))
		}
		n.mu.Lock()
		n.cmd, n.addr = cmd, a
		n.mu.Unlock()
		return nil
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return errors.New("the server did not start within a minute")
	}
}

// kill stops the server as a power cut would: SIGKILL, nothing flushed.
func (n *chaosNode) kill() error {
	n.mu.Lock()
	cmd := n.cmd
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Kill(); err != nil {
		return err
	}
	_ = cmd.Wait()
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
