package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/fynlo/fynlo/internal/id"
)

// checksConfig is the checks scenario's flags.
type checksConfig struct {
	conns       int
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	ceilingTxs  int
	settle      time.Duration
	stations    string
	deviceToken string
	pins        string
	oneRequest  bool
}

// checksResult is the checks scenario's JSON summary.
type checksResult struct {
	Server     string   `json:"server"`
	Engine     string   `json:"engine"`
	LogLevel   string   `json:"log_level"`
	CPUs       int      `json:"cpus"`
	Conns      int      `json:"conns"`
	Rounds     int      `json:"rounds"`
	DurationS  float64  `json:"duration_s"`
	WarmupS    float64  `json:"warmup_s"`
	OneRequest bool     `json:"one_request"` // open and send in one POST (send: true)
	CeilingTxs int      `json:"ceiling_transactions_per_check"`
	Items      []string `json:"items"` // name @ station
	Bytes      struct {
		CreateRequest  int `json:"create_request"`
		CreateResponse int `json:"create_response"`
		SendResponse   int `json:"send_response"`
	} `json:"bytes"`

	Ceiling       []checkPhase `json:"ceiling_rounds"`
	Fynlo         []checkPhase `json:"fynlo_rounds"`
	CeilingMedian checkPhase   `json:"ceiling_median"`
	FynloMedian   checkPhase   `json:"fynlo_median"`
	Ratio         float64      `json:"ratio"` // median fynlo checks/s ÷ median ceiling checks/s
	RoundRatios   []float64    `json:"round_ratios"`
	ServerRSSKB   int64        `json:"server_rss_kb_after,omitempty"`

	ThroughputMet bool `json:"target_throughput_met"` // ≥ 2,000 checks/s
	P99Met        bool `json:"target_p99_met"`        // < 50 ms, no errors
	RatioMet      bool `json:"target_ratio_met"`      // ≥ 0.5
	TicketMet     bool `json:"target_ticket_met"`     // p99 < 100 ms, none missing
}

// checkPhase is one load phase. RPS is checks a second; a check is the
// open and the send (one request against the one-transaction ceiling).
type checkPhase struct {
	loadResult
	CreateP50MS float64     `json:"create_p50_ms,omitempty"`
	CreateP99MS float64     `json:"create_p99_ms,omitempty"`
	SendP50MS   float64     `json:"send_p50_ms,omitempty"`
	SendP99MS   float64     `json:"send_p99_ms,omitempty"`
	DBCPU       float64     `json:"db_cpu_pct,omitempty"` // database server processes (PostgreSQL), % of one CPU
	DBCPUUS     float64     `json:"db_cpu_us_per_check,omitempty"`
	WriteKB     float64     `json:"write_kb_per_check"`    // storage writes of the server (and database processes), /proc/<pid>/io write_bytes
	WriteCalls  float64     `json:"write_calls_per_check"` // their write system calls (syscw)
	Tickets     ticketStats `json:"tickets"`
}

// ticketStats is how long tickets took to reach the kitchen screen, from
// just before the send was written. AfterAnswer times the last ticket of a
// check from the send's answer (the publishing path alone: the commit is
// done when the answer leaves); checks whose tickets all came before the
// answer count in BeforeAnswer instead.
type ticketStats struct {
	Expected     uint64  `json:"expected"`
	Received     uint64  `json:"received"`
	Missing      uint64  `json:"missing"`
	P50MS        float64 `json:"p50_ms"`
	P90MS        float64 `json:"p90_ms"`
	P99MS        float64 `json:"p99_ms"`
	MaxMS        float64 `json:"max_ms"`
	AfterP50MS   float64 `json:"after_answer_p50_ms"`
	AfterP99MS   float64 `json:"after_answer_p99_ms"`
	AfterMaxMS   float64 `json:"after_answer_max_ms"`
	BeforeAnswer uint64  `json:"checks_all_tickets_before_answer"`
}

func setupChecks(fs *flag.FlagSet, c *common) runFunc {
	var cfg checksConfig
	c.register(fs, true)
	fs.IntVar(&cfg.conns, "c", 32, "concurrent clients, each with its own keep-alive connection (closed loop: one check at a time)")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration of each phase")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unrecorded warm-up before each phase")
	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds of (ceiling, fynlo); medians are reported")
	fs.IntVar(&cfg.ceilingTxs, "ceiling-txs", 1, "transactions per check in the ceiling: 1 (the whole check in one POST) or 2 (an open and a send, as fynlo's API)")
	fs.DurationVar(&cfg.settle, "settle", 3*time.Second, "after a fynlo phase, how long to wait for tickets still on their way")
	fs.StringVar(&cfg.stations, "stations", "grill,cold,bar", "three kitchen stations: a line for the first item of each with no modifier groups")
	fs.StringVar(&cfg.deviceToken, "device-token", "", "with -url: the demo iPad's device token (DATA_DIR/demo-device-token) for the staff PIN sign-ins")
	fs.StringVar(&cfg.pins, "pins", "2222,3333", "staff PINs to sign in on the demo iPad; clients take their tokens in turn")
	fs.BoolVar(&cfg.oneRequest, "one-request", false, "open and send in one request (send: true on POST /api/v1/orders, with a client-chosen ID): "+
		"the counter and bar way; the ceiling then writes what that writes and answers what it answers")
	return func(ctx context.Context) (any, error) { return runChecks(ctx, c, cfg) }
}

// checkSetup is what the load needs, found on the demo restaurant.
type checkSetup struct {
	base       string
	locationID string
	tokens     []string // staff access tokens
	lines      []map[string]any
	stations   int  // tickets a check makes
	oneRequest bool // open and send in one request
}

// runChecks opens checks with three lines and sends them to the kitchen,
// against a ceiling writing the same rows with plain SQL, and times each
// ticket to a kitchen screen's WebSocket.
func runChecks(ctx context.Context, c *common, cfg checksConfig) (*checksResult, error) {
	if cfg.conns < 1 || cfg.rounds < 1 || cfg.duration <= 0 || (cfg.ceilingTxs != 1 && cfg.ceilingTxs != 2) || (cfg.oneRequest && cfg.ceilingTxs != 1) {
		return nil, fmt.Errorf("-c, -rounds and -d must be positive and -ceiling-txs 1 or 2 (1 with -one-request)")
	}
	t, err := openTarget(ctx, c, "FYNLO_DEMO=true")
	if err != nil {
		return nil, err
	}
	defer t.Close()
	engine := "sqlite"
	if c.databaseURL != "" {
		engine = "postgres"
	}
	res := &checksResult{Server: t.describe(), Engine: engine, LogLevel: effectiveLogLevel(c, t), CPUs: runtime.NumCPU(), Conns: cfg.conns,
		Rounds: cfg.rounds, DurationS: cfg.duration.Seconds(), WarmupS: cfg.warmup.Seconds(), CeilingTxs: cfg.ceilingTxs, OneRequest: cfg.oneRequest}
	if cfg.oneRequest {
		c.printf("checks: open a check with 3 lines and send it in one request (POST /api/v1/orders with send: true), %d clients,\n", cfg.conns)
	} else {
		c.printf("checks: open a check with 3 lines (POST /api/v1/orders) and send it (POST /api/v1/orders/{id}/send), %d clients,\n", cfg.conns)
	}
	c.printf("        %v per phase after %v warm-up, %d rounds of (ceiling, fynlo); engine %s\n", cfg.duration, cfg.warmup, cfg.rounds, engine)
	c.printf("server: %s, log level %s\n", res.Server, res.LogLevel)

	su, err := setUpChecks(ctx, c, cfg, t)
	if err != nil {
		return nil, err
	}
	su.oneRequest = cfg.oneRequest
	for _, l := range su.lines {
		res.Items = append(res.Items, fmt.Sprint(l["_name"], " @ ", l["_station"]))
		delete(l, "_name")
		delete(l, "_station")
	}
	c.printf("lines: %s; staff tokens: %d\n", strings.Join(res.Items, ", "), len(su.tokens))

	// A check made by hand gives the ceiling its row bodies and answer sizes.
	tmpl, err := su.trialCheck(ctx)
	if err != nil {
		return nil, err
	}
	res.Bytes.CreateRequest, res.Bytes.CreateResponse, res.Bytes.SendResponse = len(su.body("x", 0)), len(tmpl.Create), len(tmpl.Send)
	if cfg.oneRequest {
		n, err := su.trialOneRequest(ctx)
		if err != nil {
			return nil, err
		}
		res.Bytes.CreateResponse, res.Bytes.SendResponse = n, 0
	}
	dir, err := os.MkdirTemp("", "fynlo-bench-checks-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tb, _ := json.Marshal(tmpl)
	tmplFile := filepath.Join(dir, "check.json")
	if err := os.WriteFile(tmplFile, tb, 0o600); err != nil {
		return nil, err
	}
	dbArg := dir
	if c.databaseURL != "" {
		dbArg = c.databaseURL
	}
	maxConns := 16
	if v, err := strconv.Atoi(os.Getenv("FYNLO_DB_MAX_CONNS")); err == nil && v > 0 {
		maxConns = v
	}
	ceil, err := spawnSelf(ctx, checkCeilingCommand, "-db", dbArg, "-template", tmplFile, "-max-conns", strconv.Itoa(maxConns))
	if err != nil {
		return nil, err
	}
	defer ceil.Stop()
	ceilWhat := "the whole check in one transaction, one POST"
	switch {
	case cfg.oneRequest:
		ceilWhat = "the whole check in one transaction, one POST, the rows and events of send: true"
	case cfg.ceilingTxs == 2:
		ceilWhat = "an open and a send, two transactions, two POSTs like fynlo's"
	}
	c.printf("ceiling: net/http + database/sql in a child process (pid %d) writing the same rows with prepared plain SQL, %s,\n"+
		"         into a fresh %s database with the server's schema and connection settings\n", ceil.PID(), ceilWhat, engine)
	if cfg.oneRequest {
		c.printf("bytes: request %d, answer %d\n", res.Bytes.CreateRequest, res.Bytes.CreateResponse)
	} else {
		c.printf("bytes: open request %d, open answer %d, send answer %d\n", res.Bytes.CreateRequest, res.Bytes.CreateResponse, res.Bytes.SendResponse)
	}

	watch, err := watchTickets(ctx, su, su.stations)
	if err != nil {
		return nil, err
	}
	defer watch.close()
	c.printf("kitchen screen: one WebSocket on /api/v1/ws?location_id=… timing every ticket.created from just before its send is written\n")
	c.printf("note: the load generator, fynlo, the ceiling (and PostgreSQL) share this machine's %d CPUs; CPU%% is of one CPU\n\n", res.CPUs)

	var dbPIDs func() []int
	if engine == "postgres" {
		port := "5432"
		if u, err := url.Parse(c.databaseURL); err == nil && u.Port() != "" {
			port = u.Port()
		}
		if pm := postmasterOn(port); pm != 0 {
			dbPIDs = func() []int { return postgresFamily(pm) }
			c.printf("database: PostgreSQL postmaster pid %d and its children counted as \"db\" CPU\n", pm)
		} else {
			c.printf("database: no postmaster started with port %s found here; its CPU counts as \"other\"\n", port)
		}
	}
	c.printf("%-6s %-8s %8s %8s %8s %8s %8s %6s %26s %9s %9s %15s\n", "round", "target", "checks/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
		"errors", "CPU% server/db/bench/other", "µs/check", "db µs/chk", "write KB/calls")
	row := func(label, name string, r checkPhase) {
		c.printf("%-6s %-8s %8.0f %8.2f %8.2f %8.2f %8.2f %6d %26s %9.0f %9.0f %15s\n", label, name, r.RPS, r.P50MS, r.P90MS, r.P99MS, r.MaxMS,
			r.Errors, fmt.Sprintf("%.0f/%.0f/%.0f/%.0f", r.CPU.Target, r.DBCPU, r.CPU.Bench, r.CPU.Other), r.SrvCPUUS, r.DBCPUUS,
			fmt.Sprintf("%.1f/%.0f", r.WriteKB, r.WriteCalls))
		for _, e := range r.ErrorSeen {
			c.printf("       error: %s\n", e)
		}
	}
	for round := 1; round <= cfg.rounds; round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cr := runCheckLoad(ctx, checkLoadSpec{Conns: cfg.conns, Warmup: cfg.warmup, Duration: cfg.duration, PID: ceil.PID(), DBPIDs: dbPIDs,
			Do: su.ceilingCheck(ceil.URL, cfg.ceilingTxs)})
		res.Ceiling = append(res.Ceiling, cr)
		row(fmt.Sprint(round), "ceiling", cr)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		watch.start()
		fr := runCheckLoad(ctx, checkLoadSpec{Conns: cfg.conns, Warmup: cfg.warmup, Duration: cfg.duration, PID: t.PID(), DBPIDs: dbPIDs,
			Do: su.fynloCheck(watch)})
		fr.Tickets = watch.stop(cfg.settle)
		res.Fynlo = append(res.Fynlo, fr)
		row(fmt.Sprint(round), "fynlo", fr)
		res.RoundRatios = append(res.RoundRatios, fr.RPS/max(cr.RPS, 1e-9))
	}
	res.CeilingMedian, res.FynloMedian = medianChecks(res.Ceiling), medianChecks(res.Fynlo)
	res.Ratio = res.FynloMedian.RPS / max(res.CeilingMedian.RPS, 1e-9)
	row("median", "ceiling", res.CeilingMedian)
	row("median", "fynlo", res.FynloMedian)

	c.printf("\nfynlo per round: open and send p50/p99 ms; tickets on the kitchen screen, send written → ticket.created read (p50, p90, p99,\n" +
		"max ms); a check's last ticket after the send's answer (p50/p99/max ms; \"before\": checks whose tickets all beat the answer)\n")
	c.printf("%-6s %13s %13s %8s %7s %7s %7s %7s %7s %19s %7s %6s\n", "round", "open p50/p99", "send p50/p99", "tickets", "missing", "p50", "p90",
		"p99", "max", "after answer", "before", "ratio")
	frow := func(label string, r checkPhase, ratio float64) {
		t := r.Tickets
		c.printf("%-6s %13s %13s %8d %7d %7.2f %7.2f %7.2f %7.2f %19s %7d %6.2f\n", label, fmt.Sprintf("%.1f/%.1f", r.CreateP50MS, r.CreateP99MS),
			fmt.Sprintf("%.1f/%.1f", r.SendP50MS, r.SendP99MS), t.Received, t.Missing, t.P50MS, t.P90MS, t.P99MS, t.MaxMS,
			fmt.Sprintf("%.2f/%.2f/%.2f", t.AfterP50MS, t.AfterP99MS, t.AfterMaxMS), t.BeforeAnswer, ratio)
	}
	for i, r := range res.Fynlo {
		frow(fmt.Sprint(i+1), r, res.RoundRatios[i])
	}
	frow("median", res.FynloMedian, res.Ratio)

	if t.proc != nil {
		if exited, werr := t.proc.Exited(); exited {
			c.printf("\nWARNING: the fynlo server exited during the run: %v\n%s\n", werr, t.proc.tailLog())
		}
	}
	if pid := t.PID(); pid != 0 {
		res.ServerRSSKB, _ = procStatusKB(pid, "VmRSS")
	}
	f := res.FynloMedian
	var errs uint64
	for _, r := range res.Fynlo {
		errs += r.Errors
	}
	res.ThroughputMet = f.RPS >= 2000
	res.P99Met = f.P99MS < 50 && errs == 0
	res.RatioMet = res.Ratio >= 0.5
	res.TicketMet = f.Tickets.P99MS < 100 && f.Tickets.Missing == 0
	c.printf("\nfynlo/ceiling checks/s: %.2f (per round:", res.Ratio)
	for _, r := range res.RoundRatios {
		c.printf(" %.2f", r)
	}
	c.printf(")\n")
	if res.ServerRSSKB > 0 {
		c.printf("fynlo RSS after the run: %.1f MB\n", float64(res.ServerRSSKB)/1024)
	}
	c.printf("target ≥ 2,000 checks/s at %d clients: %s (%.0f)\n", cfg.conns, verdict(res.ThroughputMet), f.RPS)
	c.printf("target p99 < 50 ms: %s (%.2f ms; %d errors in all rounds)\n", verdict(res.P99Met), f.P99MS, errs)
	c.printf("target ≥ 50%% of the ceiling: %s (%.1f%%)\n", verdict(res.RatioMet), 100*res.Ratio)
	c.printf("target ticket on the kitchen screen p99 < 100 ms: %s (p99 %.2f ms, max %.2f ms, %d missing)\n", verdict(res.TicketMet),
		f.Tickets.P99MS, f.Tickets.MaxMS, f.Tickets.Missing)
	return res, nil
}

// setUpChecks signs in the demo's owner and staff and picks the lines.
func setUpChecks(ctx context.Context, c *common, cfg checksConfig, t *target) (*checkSetup, error) {
	su := &checkSetup{base: t.URL}
	owner := newAPIClient(t.URL)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if err := owner.call(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": "demo@fynlo.test", "password": "fynlo-demo"},
		&login, http.StatusOK); err != nil {
		return nil, fmt.Errorf("demo sign-in (a -url server must have been started with --demo): %w", err)
	}
	owner.token = login.AccessToken
	var locs struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := owner.call(ctx, http.MethodGet, "/api/v1/locations", nil, &locs, http.StatusOK); err != nil || len(locs.Items) == 0 {
		return nil, fmt.Errorf("locations: %v", err)
	}
	su.locationID = locs.Items[0].ID

	raw, err := owner.get(ctx, "/api/v1/locations/"+su.locationID+"/menu")
	if err != nil {
		return nil, err
	}
	var menu struct {
		Items []struct {
			ID               string   `json:"id"`
			Name             string   `json:"name"`
			KitchenStation   string   `json:"kitchen_station"`
			ModifierGroupIDs []string `json:"modifier_group_ids"`
			Variants         []struct {
				ID string `json:"id"`
			} `json:"variants"`
		} `json:"items"`
		Availability map[string]json.RawMessage `json:"availability"`
	}
	if err := json.Unmarshal(raw, &menu); err != nil {
		return nil, fmt.Errorf("menu: %w", err)
	}
	for _, st := range strings.Split(cfg.stations, ",") {
		st = strings.TrimSpace(st)
		found := false
		for _, it := range menu.Items {
			if it.KitchenStation != st || len(it.ModifierGroupIDs) > 0 || len(it.Variants) == 0 || menu.Availability[it.ID] != nil {
				continue
			}
			su.lines = append(su.lines, map[string]any{"item_id": it.ID, "variant_id": it.Variants[0].ID, "quantity": 1,
				"_name": it.Name, "_station": st})
			found = true
			break
		}
		if !found {
			return nil, fmt.Errorf("the menu has no item for station %q without modifier groups and stock counting", st)
		}
	}
	su.stations = len(su.lines)

	tok := cfg.deviceToken
	if tok == "" && t.proc != nil {
		b, err := os.ReadFile(filepath.Join(t.proc.Dir, "data", "demo-device-token"))
		if err != nil {
			return nil, fmt.Errorf("the demo iPad's token: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		return nil, fmt.Errorf("with -url, give -device-token (the server's DATA_DIR/demo-device-token)")
	}
	ipad := newAPIClient(t.URL)
	ipad.token = tok
	for _, pin := range strings.Split(cfg.pins, ",") {
		var out struct {
			AccessToken string `json:"access_token"`
		}
		if err := ipad.call(ctx, http.MethodPost, "/api/v1/auth/pin", map[string]string{"pin": strings.TrimSpace(pin)}, &out, http.StatusOK); err != nil {
			return nil, fmt.Errorf("PIN sign-in (a database the demo seeded in an earlier run, with other keys, fails here: "+
				"start from a fresh database or keep FYNLO_KEYS_DIR): %w", err)
		}
		su.tokens = append(su.tokens, out.AccessToken)
	}
	return su, nil
}

// body is the JSON of one check: three lines, each with its own op_id.
func (su *checkSetup) body(check string, w int) []byte {
	lines := make([]map[string]any, len(su.lines))
	for i, l := range su.lines {
		m := make(map[string]any, len(l)+1)
		for k, v := range l {
			m[k] = v
		}
		m["op_id"] = fmt.Sprintf("op-%d-%s-%d", w, check, i)
		lines[i] = m
	}
	b, _ := json.Marshal(map[string]any{"type": "dine_in", "covers": 2, "lines": lines})
	return b
}

// bodyOneRequest is a check opened and sent at once, with its own ID.
func (su *checkSetup) bodyOneRequest(orderID, check string, w int) []byte {
	var m map[string]any
	_ = json.Unmarshal(su.body(check, w), &m)
	m["id"], m["send"] = orderID, true
	b, _ := json.Marshal(m)
	return b
}

// trialOneRequest opens and sends a check in one request and returns the
// size of the answer.
func (su *checkSetup) trialOneRequest(ctx context.Context) (int, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	status, b, err := postJSON(ctx, hc, su.base+"/api/v1/orders", su.tokens[0], su.bodyOneRequest(id.New(id.Order), "trial1", 0))
	if err != nil || status != http.StatusCreated {
		return 0, fmt.Errorf("trial check with send: true: status %d, %v: %s", status, err, truncate(string(b), 300))
	}
	var o struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(b, &o); err != nil || o.Status != "sent" {
		return 0, fmt.Errorf("the check opened with send: true is %q, not sent: does this server know send: true? (%v)", o.Status, err)
	}
	return len(bytes.TrimSpace(b)), nil
}

// trialCheck opens and sends one check and returns its answers.
func (su *checkSetup) trialCheck(ctx context.Context) (checkTemplate, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	status, created, err := postJSON(ctx, hc, su.base+"/api/v1/orders", su.tokens[0], su.body("trial", 0))
	if err != nil || status != http.StatusCreated {
		return checkTemplate{}, fmt.Errorf("trial check: status %d, %v: %s", status, err, truncate(string(created), 300))
	}
	var o struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}
	if err := json.Unmarshal(created, &o); err != nil {
		return checkTemplate{}, err
	}
	status, sent, err := postJSON(ctx, hc, su.base+"/api/v1/orders/"+o.ID+"/send", su.tokens[0], []byte(`{"version":`+strconv.FormatInt(o.Version, 10)+`}`))
	if err != nil || status != http.StatusOK {
		return checkTemplate{}, fmt.Errorf("trial send: status %d, %v: %s", status, err, truncate(string(sent), 300))
	}
	var s struct {
		Tickets []json.RawMessage `json:"tickets"`
	}
	if err := json.Unmarshal(sent, &s); err != nil {
		return checkTemplate{}, err
	}
	if len(s.Tickets) != su.stations {
		return checkTemplate{}, fmt.Errorf("the trial check made %d tickets, not %d: are the stations there?", len(s.Tickets), su.stations)
	}
	return checkTemplate{Create: bytes.TrimSpace(created), Send: bytes.TrimSpace(sent)}, nil
}

// postJSON posts body with a bearer token and returns the whole answer.
func postJSON(ctx context.Context, hc *http.Client, url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// checkDo makes one check; measured says whether it counts (it started
// in the measured window). It returns the time each of its requests took.
type checkDo func(ctx context.Context, hc *http.Client, w int, n uint64, measured bool) (open, send time.Duration, err error)

// openAndSend is a check as a POS makes it: open with the lines, then send.
func (su *checkSetup) openAndSend(base string, watch *ticketWatch) checkDo {
	return func(ctx context.Context, hc *http.Client, w int, n uint64, measured bool) (time.Duration, time.Duration, error) {
		tok := su.tokens[w%len(su.tokens)]
		start := time.Now()
		status, b, err := postJSON(ctx, hc, base+"/api/v1/orders", tok, su.body(strconv.FormatUint(n, 10), w))
		open := time.Since(start)
		if err != nil {
			return open, 0, err
		}
		if status != http.StatusCreated {
			return open, 0, fmt.Errorf("open: status %d: %s", status, truncate(string(b), 200))
		}
		var o struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
		}
		if err := json.Unmarshal(b, &o); err != nil || o.ID == "" {
			return open, 0, fmt.Errorf("open: answer without an id (%v)", err)
		}
		sendStart := time.Now()
		if measured && watch != nil {
			watch.expect(o.ID, sendStart)
		}
		status, b, err = postJSON(ctx, hc, base+"/api/v1/orders/"+o.ID+"/send", tok, []byte(`{"version":`+strconv.FormatInt(o.Version, 10)+`}`))
		send := time.Since(sendStart)
		if err != nil {
			return open, send, err
		}
		if status != http.StatusOK {
			return open, send, fmt.Errorf("send: status %d: %s", status, truncate(string(b), 200))
		}
		if measured && watch != nil {
			watch.answered(o.ID, sendStart.Add(send))
		}
		return open, send, nil
	}
}

func (su *checkSetup) fynloCheck(watch *ticketWatch) checkDo {
	if su.oneRequest {
		return su.oneRequestCheck(su.base+"/api/v1/orders", watch)
	}
	return su.openAndSend(su.base, watch)
}

// oneRequestCheck is a check opened and sent in one request (send: true),
// with a client-chosen ID so that its tickets can be timed from the
// request; the ceiling takes the same request at its own URL.
func (su *checkSetup) oneRequestCheck(url string, watch *ticketWatch) checkDo {
	return func(ctx context.Context, hc *http.Client, w int, n uint64, measured bool) (time.Duration, time.Duration, error) {
		orderID := id.New(id.Order)
		body := su.bodyOneRequest(orderID, strconv.FormatUint(n, 10), w)
		start := time.Now()
		if measured && watch != nil {
			watch.expect(orderID, start)
		}
		status, b, err := postJSON(ctx, hc, url, su.tokens[w%len(su.tokens)], body)
		took := time.Since(start)
		if err == nil && status != http.StatusCreated {
			err = fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
		}
		if err == nil && measured && watch != nil {
			watch.answered(orderID, start.Add(took))
		}
		return took, 0, err
	}
}

// ceilingCheck drives the ceiling: one POST per check, or the same two
// requests as fynlo.
func (su *checkSetup) ceilingCheck(base string, txs int) checkDo {
	if su.oneRequest {
		return su.oneRequestCheck(base+"/api/v1/checks", nil)
	}
	if txs == 2 {
		return su.openAndSend(base, nil)
	}
	return func(ctx context.Context, hc *http.Client, w int, n uint64, measured bool) (time.Duration, time.Duration, error) {
		start := time.Now()
		status, b, err := postJSON(ctx, hc, base+"/api/v1/checks", su.tokens[w%len(su.tokens)], su.body(strconv.FormatUint(n, 10), w))
		took := time.Since(start)
		if err == nil && status != http.StatusCreated {
			err = fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
		}
		return took, 0, err
	}
}

// checkLoadSpec is a closed-loop run of checks.
type checkLoadSpec struct {
	Conns            int
	Warmup, Duration time.Duration
	PID              int          // the server driven
	DBPIDs           func() []int // database server processes, read when measuring starts; nil for none
	Do               checkDo
}

// runCheckLoad drives spec: each client makes a check, then the next.
func runCheckLoad(ctx context.Context, spec checkLoadSpec) checkPhase {
	var dials atomic.Int64
	tr := newLoadTransport(spec.Conns, &dials)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	measureFrom := time.Now().Add(spec.Warmup)
	stopAt := measureFrom.Add(spec.Duration)
	type hists struct{ check, open, send *Histogram }
	hs := make([]hists, spec.Conns)
	var errs atomic.Uint64
	var errMu sync.Mutex
	errSeen := map[string]bool{}
	var counter atomic.Uint64
	type cpuFrom struct {
		s   cpuSample
		db  []int
		dbS map[int]int64
		io  ioCounters
	}
	from := make(chan cpuFrom, 1)
	go func() {
		time.Sleep(time.Until(measureFrom))
		var db []int
		if spec.DBPIDs != nil {
			db = spec.DBPIDs()
		}
		from <- cpuFrom{sampleCPU(spec.PID, os.Getpid()), db, procTicks(db), readIO(append([]int{spec.PID}, db...))}
	}()
	var wg sync.WaitGroup
	for w := range spec.Conns {
		h := hists{NewHistogram(), NewHistogram(), NewHistogram()}
		hs[w] = h
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(stopAt) {
					return
				}
				measured := !start.Before(measureFrom)
				open, send, err := spec.Do(ctx, hc, w, counter.Add(1), measured)
				took := time.Since(start)
				if !measured {
					continue
				}
				if err != nil {
					errs.Add(1)
					errMu.Lock()
					if len(errSeen) < 5 {
						errSeen[simplifyErr(err)] = true
					}
					errMu.Unlock()
					continue
				}
				h.check.Record(took)
				h.open.Record(open)
				if send > 0 {
					h.send.Record(send)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	f := <-from
	end := sampleCPU(spec.PID, os.Getpid())
	dbEnd := procTicks(f.db)
	ioEnd := readIO(append([]int{spec.PID}, f.db...))
	cpu := cpuBetween(f.s, end, spec.PID, os.Getpid())

	all, open, send := NewHistogram(), NewHistogram(), NewHistogram()
	for _, h := range hs {
		all.Merge(h.check)
		open.Merge(h.open)
		send.Merge(h.send)
	}
	r := checkPhase{loadResult: loadResult{Requests: all.Count(), Errors: errs.Load(), ElapsedS: elapsed.Seconds(),
		RPS: float64(all.Count()) / elapsed.Seconds(), P50MS: ms(all.Quantile(.5)), P90MS: ms(all.Quantile(.9)),
		P99MS: ms(all.Quantile(.99)), MaxMS: ms(all.Max()), NewConns: dials.Load(), CPU: cpu},
		CreateP50MS: ms(open.Quantile(.5)), CreateP99MS: ms(open.Quantile(.99)), SendP50MS: ms(send.Quantile(.5)), SendP99MS: ms(send.Quantile(.99))}
	if secs := end.at.Sub(f.s.at).Seconds(); secs > 0 && len(f.db) > 0 {
		var ticks int64
		for pid, t := range dbEnd {
			ticks += t - f.dbS[pid]
		}
		r.DBCPU = 100 * float64(ticks) / clockTicks / secs
		r.CPU.Other = max(r.CPU.Other-r.DBCPU, 0)
	}
	if r.RPS > 0 {
		r.SrvCPUUS = cpu.Target / 100 * 1e6 / r.RPS
		r.DBCPUUS = r.DBCPU / 100 * 1e6 / r.RPS
		checks := r.RPS * end.at.Sub(f.s.at).Seconds()
		r.WriteKB = float64(ioEnd.writeBytes-f.io.writeBytes) / 1024 / checks
		r.WriteCalls = float64(ioEnd.writeCalls-f.io.writeCalls) / checks
	}
	for e := range errSeen {
		r.ErrorSeen = append(r.ErrorSeen, e)
	}
	return r
}

// procTicks reads the CPU ticks of each process (those gone are left out).
func procTicks(pids []int) map[int]int64 {
	m := make(map[int]int64, len(pids))
	for _, p := range pids {
		if t := procCPUTicks(p); t > 0 {
			m[p] = t
		}
	}
	return m
}

// ioCounters are storage write counters summed over processes.
type ioCounters struct{ writeBytes, writeCalls int64 }

// readIO sums /proc/<pid>/io write_bytes and syscw (processes gone, or
// unreadable, count nothing).
func readIO(pids []int) ioCounters {
	var c ioCounters
	for _, p := range pids {
		if p <= 0 {
			continue
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/io")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch k {
			case "write_bytes":
				c.writeBytes += n
			case "syscw":
				c.writeCalls += n
			}
		}
	}
	return c
}

// postgresProcs lists the processes named postgres with their parents.
func postgresProcs() map[int]int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		st := string(b)
		open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || end < open || st[open+1:end] != "postgres" {
			continue
		}
		f := strings.Fields(st[end+1:]) // state ppid ...
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out[pid] = ppid
	}
	return out
}

// postmasterOn finds the PostgreSQL postmaster whose command line names
// port (-p PORT or port=PORT), so that other clusters on the machine are
// not counted; 0 if there is none.
func postmasterOn(port string) int {
	procs := postgresProcs()
	for pid, ppid := range procs {
		if _, child := procs[ppid]; child {
			continue
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i, a := range args {
			if (a == "-p" && i+1 < len(args) && args[i+1] == port) || a == "-p"+port || strings.Contains(a, "port="+port) {
				return pid
			}
		}
	}
	return 0
}

// postgresFamily is the postmaster and its children (backends and
// background workers) as they are now.
func postgresFamily(postmaster int) []int {
	out := []int{postmaster}
	for pid, ppid := range postgresProcs() {
		if ppid == postmaster {
			out = append(out, pid)
		}
	}
	return out
}

// medianChecks takes the median of each measurement across rounds.
func medianChecks(rs []checkPhase) checkPhase {
	pick := func(f func(checkPhase) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	lrs := make([]loadResult, len(rs))
	for i, r := range rs {
		lrs[i] = r.loadResult
	}
	return checkPhase{loadResult: medianLoad(lrs),
		CreateP50MS: pick(func(r checkPhase) float64 { return r.CreateP50MS }),
		CreateP99MS: pick(func(r checkPhase) float64 { return r.CreateP99MS }),
		SendP50MS:   pick(func(r checkPhase) float64 { return r.SendP50MS }),
		SendP99MS:   pick(func(r checkPhase) float64 { return r.SendP99MS }),
		DBCPU:       pick(func(r checkPhase) float64 { return r.DBCPU }),
		DBCPUUS:     pick(func(r checkPhase) float64 { return r.DBCPUUS }),
		WriteKB:     pick(func(r checkPhase) float64 { return r.WriteKB }),
		WriteCalls:  pick(func(r checkPhase) float64 { return r.WriteCalls }),
		Tickets: ticketStats{
			Expected: uint64(pick(func(r checkPhase) float64 { return float64(r.Tickets.Expected) })),
			Received: uint64(pick(func(r checkPhase) float64 { return float64(r.Tickets.Received) })),
			Missing:  uint64(pick(func(r checkPhase) float64 { return float64(r.Tickets.Missing) })),
			P50MS:    pick(func(r checkPhase) float64 { return r.Tickets.P50MS }),
			P90MS:    pick(func(r checkPhase) float64 { return r.Tickets.P90MS }),
			P99MS:    pick(func(r checkPhase) float64 { return r.Tickets.P99MS }),
			MaxMS:    pick(func(r checkPhase) float64 { return r.Tickets.MaxMS }),

			AfterP50MS:   pick(func(r checkPhase) float64 { return r.Tickets.AfterP50MS }),
			AfterP99MS:   pick(func(r checkPhase) float64 { return r.Tickets.AfterP99MS }),
			AfterMaxMS:   pick(func(r checkPhase) float64 { return r.Tickets.AfterMaxMS }),
			BeforeAnswer: uint64(pick(func(r checkPhase) float64 { return float64(r.Tickets.BeforeAnswer) })),
		},
	}
}

// ticketWatch is the kitchen screen: one WebSocket on the location's
// events, timing each ticket.created against its check's send.
type ticketWatch struct {
	conn      *websocket.Conn
	perCheck  int
	done      chan struct{}
	mu        sync.Mutex
	pending   map[string]*pendingCheck // order ID → its send
	hist      *Histogram
	after     *Histogram // last ticket of a check after the send's answer
	before    uint64     // checks whose tickets all came before the answer
	expected  uint64
	received  uint64
	unmatched uint64 // ticket.created for checks not being timed
	readErr   error
}

type pendingCheck struct {
	sentAt, answeredAt, lastAt time.Time
	seen                       int
}

var (
	ticketCreatedType = []byte(`"type":"ticket.created"`)
	orderIDField      = []byte(`"order_id":"`)
)

// watchTickets connects the kitchen screen and starts reading.
func watchTickets(ctx context.Context, su *checkSetup, perCheck int) (*ticketWatch, error) {
	wsURL := "ws" + strings.TrimPrefix(su.base, "http") + "/api/v1/ws?location_id=" + su.locationID
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + su.tokens[0]}},
		CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, fmt.Errorf("kitchen screen WebSocket: %w", err)
	}
	conn.SetReadLimit(8 << 20)
	w := &ticketWatch{conn: conn, perCheck: perCheck, done: make(chan struct{}), pending: map[string]*pendingCheck{}, hist: NewHistogram(),
		after: NewHistogram()}
	go w.read(context.WithoutCancel(ctx))
	return w, nil
}

// read takes each message's arrival time first and looks only for
// ticket.created events, without decoding the rest.
func (w *ticketWatch) read(ctx context.Context) {
	defer close(w.done)
	for {
		_, b, err := w.conn.Read(ctx)
		at := time.Now()
		if err != nil {
			w.mu.Lock()
			w.readErr = err
			w.mu.Unlock()
			return
		}
		if !bytes.Contains(b, ticketCreatedType) {
			continue
		}
		i := bytes.Index(b, orderIDField)
		if i < 0 {
			continue
		}
		rest := b[i+len(orderIDField):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 {
			continue
		}
		w.mu.Lock()
		if p := w.pending[string(rest[:j])]; p != nil {
			w.hist.Record(at.Sub(p.sentAt))
			w.received++
			if p.seen++; p.seen == w.perCheck {
				p.lastAt = at
				w.finish(string(rest[:j]), p)
			}
		} else {
			w.unmatched++
		}
		w.mu.Unlock()
	}
}

// finish forgets a check once all its tickets came and its send was
// answered. Called with mu held.
func (w *ticketWatch) finish(orderID string, p *pendingCheck) {
	if p.seen < w.perCheck || p.answeredAt.IsZero() {
		return
	}
	if d := p.lastAt.Sub(p.answeredAt); d >= 0 {
		w.after.Record(d)
	} else {
		w.before++
	}
	delete(w.pending, orderID)
}

// start begins a phase: nothing is pending.
func (w *ticketWatch) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending, w.hist, w.after, w.before, w.expected, w.received = map[string]*pendingCheck{}, NewHistogram(), NewHistogram(), 0, 0, 0
}

// answered notes when a check's send was answered.
func (w *ticketWatch) answered(orderID string, at time.Time) {
	w.mu.Lock()
	if p := w.pending[orderID]; p != nil {
		p.answeredAt = at
		w.finish(orderID, p)
	}
	w.mu.Unlock()
}

// expect times the tickets of a check whose send is about to be written.
func (w *ticketWatch) expect(orderID string, at time.Time) {
	w.mu.Lock()
	w.pending[orderID] = &pendingCheck{sentAt: at}
	w.expected += uint64(w.perCheck)
	w.mu.Unlock()
}

// stop waits up to settle for tickets still on their way and reports.
// A check whose send failed is not expected to have tickets, but is
// counted as missing here; the load's errors say how many there were.
func (w *ticketWatch) stop(settle time.Duration) ticketStats {
	deadline := time.Now().Add(settle)
	for {
		w.mu.Lock()
		n := w.expected - min(w.received, w.expected)
		w.mu.Unlock()
		if n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := ticketStats{Expected: w.expected, Received: w.received, Missing: w.expected - min(w.received, w.expected),
		P50MS: ms(w.hist.Quantile(.5)), P90MS: ms(w.hist.Quantile(.9)), P99MS: ms(w.hist.Quantile(.99)), MaxMS: ms(w.hist.Max()),
		AfterP50MS: ms(w.after.Quantile(.5)), AfterP99MS: ms(w.after.Quantile(.99)), AfterMaxMS: ms(w.after.Max()), BeforeAnswer: w.before}
	w.pending = map[string]*pendingCheck{}
	return s
}

func (w *ticketWatch) close() {
	w.conn.CloseNow()
	<-w.done
}
