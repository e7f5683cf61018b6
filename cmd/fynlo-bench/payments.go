package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fynlo/fynlo/internal/id"
)

// The payments scenario takes payments that close checks: cash at -c
// clients, then a card through the simulated provider (which charges
// nothing and answers at once, so what is timed is our own path) at -c
// clients and at one. The checks are opened untimed before each phase,
// from the same number of clients, each with its lines sent to the
// kitchen in the same request; a phase pays each at most once.

// paymentsConfig is the payments scenario's flags.
type paymentsConfig struct {
	conns       int
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	checks      int // open checks ready before a phase at -c clients; 0: auto
	checks1     int // before the one-client card phase; 0: auto
	stations    string
	deviceToken string
	pins        string
	managerPIN  string
	cardPM      string
}

// Rates the automatic -checks and -checks-1 are sized for, over warm-up
// and measured time: above the target at -c clients, and above what one
// client waiting for each answer can reach.
const (
	checksRateConns = 2500
	checksRateOne   = 1000
)

// Targets.
const (
	targetCashPerSec = 1500
	targetCardP99MS  = 20
)

// paymentsResult is the payments scenario's JSON summary.
type paymentsResult struct {
	Server    string   `json:"server"`
	Engine    string   `json:"engine"`
	LogLevel  string   `json:"log_level"`
	CPUs      int      `json:"cpus"`
	LoadAvg   string   `json:"loadavg_before"` // /proc/loadavg's 1, 5 and 15 minute figures before the run
	Conns     int      `json:"conns"`
	Rounds    int      `json:"rounds"`
	DurationS float64  `json:"duration_s"`
	WarmupS   float64  `json:"warmup_s"`
	Items     []string `json:"items"` // the lines of every check: name @ station
	Provider  string   `json:"card_provider"`
	Bytes     struct {
		CheckRequest  int `json:"check_request"`
		CheckResponse int `json:"check_response"`
		CashRequest   int `json:"cash_request"`
		CashResponse  int `json:"cash_response"`
		CardRequest   int `json:"card_request"`
		CardResponse  int `json:"card_response"`
	} `json:"bytes"`

	Cash        []payPhase `json:"cash_rounds"`  // at Conns clients
	Card        []payPhase `json:"card_rounds"`  // at Conns clients
	Card1       []payPhase `json:"card1_rounds"` // at one client
	CashMedian  payPhase   `json:"cash_median"`
	CardMedian  payPhase   `json:"card_median"`
	Card1Median payPhase   `json:"card1_median"`
	ServerRSSKB int64      `json:"server_rss_kb_after,omitempty"`

	CashMet     bool `json:"target_cash_met"`      // ≥ 1,500 cash payments/s at Conns clients
	CardP99Met1 bool `json:"target_card_p99_met1"` // card p99 < 20 ms at one client, no errors
	CardP99MetN bool `json:"target_card_p99_metn"` // the same at Conns clients
}

// payPhase is one load phase of payments. RPS is payments a second that
// were answered as they should be (201, captured, check closed).
type payPhase struct {
	loadResult
	Method     string  `json:"method"`
	Clients    int     `json:"clients"`
	DBCPU      float64 `json:"db_cpu_pct,omitempty"` // database server processes (PostgreSQL), % of one CPU
	DBCPUUS    float64 `json:"db_cpu_us_per_payment,omitempty"`
	WriteKB    float64 `json:"write_kb_per_payment"`    // storage writes of the server (and database processes)
	WriteCalls float64 `json:"write_calls_per_payment"` // their write system calls
	Opened     int     `json:"checks_opened_before"`    // opened untimed just before the phase
	OpenS      float64 `json:"checks_open_s"`           // how long that took
	Ready      int     `json:"checks_ready"`            // open checks at the start of the phase
	Used       int     `json:"checks_used"`             // checks taken, warm-up included
	RanOut     bool    `json:"ran_out,omitempty"`       // the phase ended early: no checks left
}

func setupPayments(fs *flag.FlagSet, c *common) runFunc {
	var cfg paymentsConfig
	c.register(fs, true)
	fs.IntVar(&cfg.conns, "c", 32, "concurrent clients in the cash phase and the first card phase (closed loop: one payment at a time); the second card phase has one")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration of each phase")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unrecorded warm-up before each phase (it uses checks too)")
	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds of (cash at -c, card at -c, card at 1 client); medians are reported")
	fs.IntVar(&cfg.checks, "checks", 0, fmt.Sprintf("open checks ready before each phase at -c clients (what the last phase left is kept and topped up); "+
		"0: (warmup + d) × %d/s. A phase that runs out ends early and says so", checksRateConns))
	fs.IntVar(&cfg.checks1, "checks-1", 0, fmt.Sprintf("the same before the one-client card phase; 0: (warmup + d) × %d/s", checksRateOne))
	fs.StringVar(&cfg.stations, "stations", "grill,cold,bar", "kitchen stations: each check has a line for the first item of each with no modifier groups")
	fs.StringVar(&cfg.deviceToken, "device-token", "", "with -url: the demo iPad's device token (DATA_DIR/demo-device-token) for the staff PIN sign-ins")
	fs.StringVar(&cfg.pins, "pins", "2222,3333", "staff PINs on the demo iPad that open checks and take payments; clients take their tokens in turn")
	fs.StringVar(&cfg.managerPIN, "manager-pin", "1111", "a manager's PIN on the demo iPad, to open the cash drawer's session")
	fs.StringVar(&cfg.cardPM, "card-payment-method", "pm_card_visa", "the card's payment method (the simulated provider captures pm_card_visa at once)")
	return func(ctx context.Context) (any, error) { return runPayments(ctx, c, cfg) }
}

// phaseChecks is how many open checks a phase starts with: flagValue, or
// with 0 enough for warm-up and measured time at rate a second.
func phaseChecks(flagValue int, warmup, d time.Duration, rate int) int {
	if flagValue > 0 {
		return flagValue
	}
	return int((warmup+d).Seconds()*float64(rate) + 0.5)
}

// runPayments drives cash and card payments that each close a check.
func runPayments(ctx context.Context, c *common, cfg paymentsConfig) (*paymentsResult, error) {
	if cfg.conns < 1 || cfg.rounds < 1 || cfg.duration <= 0 || cfg.warmup < 0 || cfg.checks < 0 || cfg.checks1 < 0 {
		return nil, fmt.Errorf("-c, -rounds and -d must be positive, -warmup, -checks and -checks-1 not negative")
	}
	loadAvg := readLoadAvg()
	t, err := openTarget(ctx, c, "FYNLO_DEMO=true")
	if err != nil {
		return nil, err
	}
	defer t.Close()
	engine := "sqlite"
	if c.databaseURL != "" {
		engine = "postgres"
	}
	res := &paymentsResult{Server: t.describe(), Engine: engine, LogLevel: effectiveLogLevel(c, t), CPUs: runtime.NumCPU(), LoadAvg: loadAvg,
		Conns: cfg.conns, Rounds: cfg.rounds, DurationS: cfg.duration.Seconds(), WarmupS: cfg.warmup.Seconds()}
	nChecks := phaseChecks(cfg.checks, cfg.warmup, cfg.duration, checksRateConns)
	nChecks1 := phaseChecks(cfg.checks1, cfg.warmup, cfg.duration, checksRateOne)
	c.printf("payments: a payment that closes a check (POST /api/v1/orders/{id}/payments, the whole balance): cash at %d clients,\n", cfg.conns)
	c.printf("          then card (%s) at %d clients and at 1 client; %v per phase after %v warm-up, %d rounds; engine %s\n",
		cfg.cardPM, cfg.conns, cfg.duration, cfg.warmup, cfg.rounds, engine)
	c.printf("server: %s, log level %s\n", res.Server, res.LogLevel)

	// The demo's lines, staff and PIN sign-ins, as the checks scenario
	// finds them; the manager's token comes first and is set aside.
	su, err := setUpChecks(ctx, c, checksConfig{stations: cfg.stations, deviceToken: cfg.deviceToken,
		pins: cfg.managerPIN + "," + cfg.pins}, t)
	if err != nil {
		return nil, err
	}
	if len(su.tokens) < 2 {
		return nil, fmt.Errorf("-pins names no staff")
	}
	manager := su.tokens[0]
	su.tokens = su.tokens[1:]
	su.oneRequest = true
	for _, l := range su.lines {
		res.Items = append(res.Items, fmt.Sprint(l["_name"], " @ ", l["_station"]))
		delete(l, "_name")
		delete(l, "_station")
	}
	c.printf("checks: %s, opened and sent in one request (send: true); staff tokens: %d\n", strings.Join(res.Items, ", "), len(su.tokens))

	drawerMsg, drawerID, err := openDrawer(ctx, t.URL, su.locationID, manager)
	if err != nil {
		return nil, err
	}
	c.printf("cash drawer: %s\n", drawerMsg)
	cashBody := []byte(`{"method":"cash"}`)
	if drawerID != "" {
		cashBody = []byte(`{"method":"cash","drawer_id":"` + drawerID + `"}`)
	}
	cardBody, _ := json.Marshal(map[string]any{"method": "card", "card": map[string]any{"payment_method": cfg.cardPM}})

	// One of each by hand: the answers as they should be, and their sizes.
	var seq atomic.Uint64
	if err := trialPayments(ctx, su, &seq, cashBody, cardBody, res); err != nil {
		return nil, err
	}
	c.printf("bytes: check request %d, answer %d; cash request %d, answer %d; card request %d, answer %d\n", res.Bytes.CheckRequest,
		res.Bytes.CheckResponse, res.Bytes.CashRequest, res.Bytes.CashResponse, res.Bytes.CardRequest, res.Bytes.CardResponse)
	if res.Provider == "simulated" {
		c.printf("card provider: simulated (charges nothing, answers at once: the card's latency is our own path)\n")
	} else {
		c.printf("card provider: %s: NOT the simulated one; card latency includes the provider's\n", res.Provider)
	}
	c.printf("open checks before each phase: %d at %d clients, %d at 1 client (opened untimed, from %d clients; what a phase leaves is kept)\n",
		nChecks, cfg.conns, nChecks1, cfg.conns)

	dbPIDs, dbMsg := databaseProcesses(c)
	c.printf("machine: %d CPUs, load average before the run %s (1, 5, 15 min)\n", res.CPUs, loadAvg)
	c.printf("note: the load generator, fynlo (and PostgreSQL) share this machine's %d CPUs; CPU%% is of one CPU over the measured part\n"+
		"      of a phase, \"other\" is everything else on the machine: a phase with much \"other\" was measured on a busy machine\n", res.CPUs)
	if dbMsg != "" {
		c.printf("database: %s\n", dbMsg)
	}
	c.printf("\n%-6s %-5s %7s %8s %8s %8s %8s %8s %6s %26s %8s %9s %15s\n", "round", "pay", "clients", "pays/s", "p50 ms", "p90 ms", "p99 ms",
		"max ms", "errors", "CPU% server/db/bench/other", "µs/pay", "db µs/pay", "write KB/calls")
	row := func(label string, r payPhase) {
		mark := ""
		if r.RanOut {
			mark = "  ran out of checks"
		}
		c.printf("%-6s %-5s %7d %8.0f %8.2f %8.2f %8.2f %8.2f %6d %26s %8.0f %9.0f %15s%s\n", label, r.Method, r.Clients, r.RPS, r.P50MS,
			r.P90MS, r.P99MS, r.MaxMS, r.Errors, fmt.Sprintf("%.0f/%.0f/%.0f/%.0f", r.CPU.Target, r.DBCPU, r.CPU.Bench, r.CPU.Other),
			r.SrvCPUUS, r.DBCPUUS, fmt.Sprintf("%.1f/%.0f", r.WriteKB, r.WriteCalls), mark)
		for _, e := range r.ErrorSeen {
			c.printf("       error: %s\n", e)
		}
	}

	type phase struct {
		method string
		body   []byte
		conns  int
		ready  int
		out    *[]payPhase
	}
	phases := []phase{{"cash", cashBody, cfg.conns, nChecks, &res.Cash}, {"card", cardBody, cfg.conns, nChecks, &res.Card},
		{"card", cardBody, 1, nChecks1, &res.Card1}}
	var left []openCheck // open checks no phase has taken yet
	for round := 1; round <= cfg.rounds; round++ {
		for _, ph := range phases {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			start := time.Now()
			more, err := openChecks(ctx, su, ph.ready-len(left), cfg.conns, &seq)
			if err != nil {
				return nil, err
			}
			opened := time.Since(start)
			pool := &checkPool{checks: append(left, more...)}
			r := runPayLoad(ctx, payLoadSpec{Conns: ph.conns, Warmup: cfg.warmup, Duration: cfg.duration, PID: t.PID(), DBPIDs: dbPIDs,
				Pool: pool, Pay: payWith(su, ph.method, ph.body)})
			r.Method, r.Opened, r.OpenS, r.Ready = ph.method, len(more), opened.Seconds(), len(pool.checks)
			left = pool.rest()
			*ph.out = append(*ph.out, r)
			row(strconv.Itoa(round), r)
		}
	}
	res.CashMedian, res.CardMedian, res.Card1Median = medianPay(res.Cash), medianPay(res.Card), medianPay(res.Card1)
	row("median", res.CashMedian)
	row("median", res.CardMedian)
	row("median", res.Card1Median)

	c.printf("\nchecks per phase: opened untimed just before it (from %d clients, one POST with send: true each), ready at its start, used\n", cfg.conns)
	c.printf("%-6s %-5s %7s %8s %8s %8s %8s %8s\n", "round", "pay", "clients", "opened", "open s", "open/s", "ready", "used")
	for round := range cfg.rounds {
		for _, rs := range [][]payPhase{res.Cash, res.Card, res.Card1} {
			r := rs[round]
			c.printf("%-6d %-5s %7d %8d %8.1f %8.0f %8d %8d\n", round+1, r.Method, r.Clients, r.Opened, r.OpenS, float64(r.Opened)/max(r.OpenS, 1e-9),
				r.Ready, r.Used)
		}
	}

	if t.proc != nil {
		if exited, werr := t.proc.Exited(); exited {
			c.printf("\nWARNING: the fynlo server exited during the run: %v\n%s\n", werr, t.proc.tailLog())
		}
	}
	if pid := t.PID(); pid != 0 {
		res.ServerRSSKB, _ = procStatusKB(pid, "VmRSS")
	}
	ranOut := false
	for _, rs := range [][]payPhase{res.Cash, res.Card, res.Card1} {
		for _, r := range rs {
			ranOut = ranOut || r.RanOut
		}
	}
	if ranOut {
		c.printf("\nWARNING: a phase ran out of open checks and ended early (its rate is over the time it ran); raise -checks or -checks-1\n")
	}
	if res.ServerRSSKB > 0 {
		c.printf("\nfynlo RSS after the run: %.1f MB\n", float64(res.ServerRSSKB)/1024)
	}
	cashErrs, cardErrs, card1Errs := sumErrors(res.Cash), sumErrors(res.Card), sumErrors(res.Card1)
	res.CashMet = res.CashMedian.RPS >= targetCashPerSec
	res.CardP99Met1 = res.Card1Median.P99MS < targetCardP99MS && card1Errs == 0 && res.Card1Median.Requests > 0
	res.CardP99MetN = res.CardMedian.P99MS < targetCardP99MS && cardErrs == 0 && res.CardMedian.Requests > 0
	c.printf("target ≥ 1,500 cash payments/s at %d clients: %s (%.0f; %d errors in all rounds)\n", cfg.conns, verdict(res.CashMet),
		res.CashMedian.RPS, cashErrs)
	c.printf("target card path p99 < %d ms: %s (at 1 client: %.2f ms; at %d clients: %.2f ms; errors %d and %d in all rounds)\n", targetCardP99MS,
		cardVerdict(res.CardP99Met1, res.CardP99MetN, cfg.conns), res.Card1Median.P99MS, cfg.conns, res.CardMedian.P99MS, card1Errs, cardErrs)
	c.printf("      at 1 client nothing queues: that p99 is our own path with the %s provider; at %d clients it includes waiting\n"+
		"      for the CPUs (shared with this tool) and for the writer behind other clients' payments\n", res.Provider, cfg.conns)
	return res, nil
}

// cardVerdict renders the card target, measured at one client (our own
// path) and at many (with queueing).
func cardVerdict(one, many bool, conns int) string {
	switch {
	case one && many:
		return "MET"
	case !one && !many:
		return "MISSED"
	case one:
		return fmt.Sprintf("MET at 1 client, MISSED at %d clients", conns)
	default:
		return fmt.Sprintf("MISSED at 1 client, MET at %d clients", conns)
	}
}

func sumErrors(rs []payPhase) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.Errors
	}
	return n
}

// readLoadAvg is /proc/loadavg's three load averages.
func readLoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// databaseProcesses finds the PostgreSQL server of -database-url, as the
// checks scenario does, so that its CPU counts as "db"; nil on SQLite.
func databaseProcesses(c *common) (func() []int, string) {
	if c.databaseURL == "" {
		return nil, ""
	}
	port := "5432"
	if u, err := url.Parse(c.databaseURL); err == nil && u.Port() != "" {
		port = u.Port()
	}
	pm := postmasterOn(port)
	if pm == 0 {
		return nil, fmt.Sprintf("no postmaster started with port %s found here; its CPU counts as \"other\"", port)
	}
	return func() []int { return postgresFamily(pm) }, fmt.Sprintf("PostgreSQL postmaster pid %d and its children counted as \"db\" CPU", pm)
}

// openDrawer makes sure the location has a cash drawer with an open
// session, opening the first drawer's with a £100 float as the manager if
// none is open. It returns what it did, and the drawer to name in cash
// payments when several are open ("" when one is: the server finds it).
func openDrawer(ctx context.Context, base, locationID, managerToken string) (string, string, error) {
	api := newAPIClient(base)
	api.token = managerToken
	var list struct {
		Drawers []struct {
			ID            string `json:"id"`
			Name          string `json:"name"`
			OpenSessionID string `json:"open_session_id"`
		} `json:"drawers"`
	}
	if err := api.call(ctx, http.MethodGet, "/api/v1/cash-drawers?location_id="+url.QueryEscape(locationID), nil, &list, http.StatusOK); err != nil {
		return "", "", fmt.Errorf("cash drawers: %w", err)
	}
	if len(list.Drawers) == 0 {
		return "", "", fmt.Errorf("the demo location has no cash drawer (a demo seeded before drawers existed?)")
	}
	var open []int
	for i, d := range list.Drawers {
		if d.OpenSessionID != "" {
			open = append(open, i)
		}
	}
	switch len(open) {
	case 0:
		d := list.Drawers[0]
		var sess struct {
			ID string `json:"id"`
		}
		if err := api.call(ctx, http.MethodPost, "/api/v1/cash-drawers/"+d.ID+"/sessions",
			map[string]any{"float": map[string]any{"amount": 10000, "currency": "GBP"}}, &sess, http.StatusCreated); err != nil {
			return "", "", fmt.Errorf("open the drawer as the manager: %w", err)
		}
		return fmt.Sprintf("%q, session %s opened by the manager with a £100.00 float", d.Name, sess.ID), "", nil
	case 1:
		d := list.Drawers[open[0]]
		return fmt.Sprintf("%q, its session %s was already open", d.Name, d.OpenSessionID), "", nil
	default:
		d := list.Drawers[open[0]]
		return fmt.Sprintf("%q (session %s), named in each cash payment: %d drawers are open", d.Name, d.OpenSessionID, len(open)), d.ID, nil
	}
}

// openCheck is a check sent to the kitchen and not yet paid.
type openCheck struct {
	id    string
	total int64 // its total, in minor units: the balance a payment clears
}

// parseOpened reads the answer to opening a check with send: true.
func parseOpened(status int, b []byte) (openCheck, error) {
	if status != http.StatusCreated {
		return openCheck{}, fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
	}
	var o struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Totals struct {
			Total struct {
				Amount int64 `json:"amount"`
			} `json:"total"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return openCheck{}, fmt.Errorf("answer: %w", err)
	}
	if o.ID == "" || o.Status != "sent" || o.Totals.Total.Amount <= 0 {
		return openCheck{}, fmt.Errorf("answer with id %q, status %q (want sent) and total %d", o.ID, o.Status, o.Totals.Total.Amount)
	}
	return openCheck{id: o.ID, total: o.Totals.Total.Amount}, nil
}

// checkPayAnswer accepts only a 201 whose payment, of method, is captured
// for the check's whole total and whose check is closed.
func checkPayAnswer(status int, b []byte, c openCheck, method string) error {
	if status != http.StatusCreated {
		return fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
	}
	var a struct {
		Payment struct {
			Method  string                 `json:"method"`
			Status  string                 `json:"status"`
			Amount  struct{ Amount int64 } `json:"amount"`
			Failure *struct {
				Code string `json:"code"`
			} `json:"failure"`
		} `json:"payment"`
		Order struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"order"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	p, o := a.Payment, a.Order
	switch {
	case p.Method != method:
		return fmt.Errorf("a %q payment answered to a %s one", p.Method, method)
	case p.Status != "captured":
		failure := ""
		if p.Failure != nil {
			failure = " (" + p.Failure.Code + ")"
		}
		return fmt.Errorf("%s payment %s%s, not captured", method, p.Status, failure)
	case o.ID != c.id:
		return fmt.Errorf("the answer's check is not the one paid")
	case o.Status != "closed":
		return fmt.Errorf("%s payment captured but the check is %s, not closed", method, o.Status)
	case c.total > 0 && p.Amount.Amount != c.total:
		return fmt.Errorf("%s payment of %d for a check of %d", method, p.Amount.Amount, c.total)
	}
	return nil
}

// openChecks opens n checks from conns clients, each with su's lines sent
// to the kitchen in the same request. The first failure stops it.
func openChecks(ctx context.Context, su *checkSetup, n, conns int, seq *atomic.Uint64) ([]openCheck, error) {
	if n <= 0 {
		return nil, nil
	}
	var dials atomic.Int64
	tr := newLoadTransport(conns, &dials)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	out := make([]openCheck, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(conns, n) {
		wg.Go(func() {
			tok := su.tokens[w%len(su.tokens)]
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				body := su.bodyOneRequest(id.New(id.Order), "p"+strconv.FormatUint(seq.Add(1), 10), w)
				status, b, err := postJSON(ctx, hc, su.base+"/api/v1/orders", tok, body)
				if err == nil {
					out[i], err = parseOpened(status, b)
				}
				if err != nil {
					cancel(fmt.Errorf("opening checks for the next phase: %w", err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// trialPayments pays one check in cash and one by card, and notes the
// sizes and the card provider.
func trialPayments(ctx context.Context, su *checkSetup, seq *atomic.Uint64, cashBody, cardBody []byte, res *paymentsResult) error {
	hc := &http.Client{Timeout: 30 * time.Second}
	res.Bytes.CheckRequest = len(su.bodyOneRequest(id.New(id.Order), "trial", 0))
	for _, m := range []struct {
		method    string
		body      []byte
		req, resp *int
	}{{"cash", cashBody, &res.Bytes.CashRequest, &res.Bytes.CashResponse}, {"card", cardBody, &res.Bytes.CardRequest, &res.Bytes.CardResponse}} {
		status, b, err := postJSON(ctx, hc, su.base+"/api/v1/orders", su.tokens[0], su.bodyOneRequest(id.New(id.Order), "trial-"+m.method, 0))
		if err != nil {
			return fmt.Errorf("trial check: %w", err)
		}
		chk, err := parseOpened(status, b)
		if err != nil {
			return fmt.Errorf("trial check: %w", err)
		}
		res.Bytes.CheckResponse = len(b)
		status, b, err = postJSON(ctx, hc, su.base+"/api/v1/orders/"+chk.id+"/payments", su.tokens[0], m.body)
		if err == nil {
			err = checkPayAnswer(status, b, chk, m.method)
		}
		if err != nil {
			return fmt.Errorf("trial %s payment: %w", m.method, err)
		}
		*m.req, *m.resp = len(m.body), len(b)
		if m.method == "card" {
			var a struct {
				Payment struct {
					Provider string `json:"provider"`
				} `json:"payment"`
			}
			_ = json.Unmarshal(b, &a)
			res.Provider = a.Payment.Provider
		}
	}
	return nil
}

// payWith pays a check's whole balance with body, and checks the answer.
func payWith(su *checkSetup, method string, body []byte) payFunc {
	return func(ctx context.Context, hc *http.Client, w int, c openCheck) error {
		status, b, err := postJSON(ctx, hc, su.base+"/api/v1/orders/"+c.id+"/payments", su.tokens[w%len(su.tokens)], body)
		if err != nil {
			return err
		}
		return checkPayAnswer(status, b, c, method)
	}
}

// payFunc makes one payment from client w.
type payFunc func(ctx context.Context, hc *http.Client, w int, c openCheck) error

// checkPool hands out open checks, each once.
type checkPool struct {
	checks []openCheck
	next   atomic.Int64
}

func (p *checkPool) take() (openCheck, bool) {
	i := p.next.Add(1) - 1
	if i >= int64(len(p.checks)) {
		return openCheck{}, false
	}
	return p.checks[i], true
}

// used is how many checks were taken.
func (p *checkPool) used() int { return min(int(p.next.Load()), len(p.checks)) }

// rest is the checks not taken.
func (p *checkPool) rest() []openCheck { return p.checks[p.used():] }

// payLoadSpec is a closed-loop run of payments over a pool of checks.
type payLoadSpec struct {
	Conns            int
	Warmup, Duration time.Duration
	PID              int          // the server driven
	DBPIDs           func() []int // database server processes, read when measuring starts; nil for none
	Pool             *checkPool
	Pay              payFunc
}

// runPayLoad drives spec: each client pays a check, then the next, until
// the time is up or no check is left. It is runCheckLoad's loop with a
// finite supply: runCheckLoad's clients cannot stop early.
func runPayLoad(ctx context.Context, spec payLoadSpec) payPhase {
	var dials atomic.Int64
	tr := newLoadTransport(spec.Conns, &dials)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	measureFrom := time.Now().Add(spec.Warmup)
	stopAt := measureFrom.Add(spec.Duration)
	from := make(chan phaseSample, 1)
	go func() {
		time.Sleep(time.Until(measureFrom))
		var db []int
		if spec.DBPIDs != nil {
			db = spec.DBPIDs()
		}
		from <- samplePhase(spec.PID, db)
	}()
	hs := make([]*Histogram, spec.Conns)
	var errs atomic.Uint64
	var ranOut atomic.Bool
	var errMu sync.Mutex
	errSeen := map[string]bool{}
	var wg sync.WaitGroup
	for w := range spec.Conns {
		h := NewHistogram()
		hs[w] = h
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(stopAt) {
					return
				}
				c, ok := spec.Pool.take()
				if !ok {
					ranOut.Store(true)
					return
				}
				err := spec.Pay(ctx, hc, w, c)
				took := time.Since(start)
				if start.Before(measureFrom) {
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
				h.Record(took)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	a := <-from // waits out a warm-up the checks did not last through
	b := samplePhase(spec.PID, a.db)

	all := NewHistogram()
	for _, h := range hs {
		all.Merge(h)
	}
	r := payPhase{Clients: spec.Conns, Used: spec.Pool.used(), RanOut: ranOut.Load(),
		loadResult: loadResult{Requests: all.Count(), Errors: errs.Load(), ElapsedS: max(elapsed.Seconds(), 0),
			P50MS: ms(all.Quantile(.5)), P90MS: ms(all.Quantile(.9)), P99MS: ms(all.Quantile(.99)), MaxMS: ms(all.Max()), NewConns: dials.Load()}}
	if elapsed > 0 {
		r.RPS = float64(all.Count()) / elapsed.Seconds()
	}
	r.account(a, b, spec.PID)
	for e := range errSeen {
		r.ErrorSeen = append(r.ErrorSeen, e)
	}
	return r
}

// phaseSample is what a phase's accounting reads at its start and end:
// CPU time (the server's, this tool's, the machine's and the database's)
// and the storage writes of the server and the database.
type phaseSample struct {
	cpu     cpuSample
	db      []int
	dbTicks map[int]int64
	io      ioCounters
}

func samplePhase(pid int, db []int) phaseSample {
	return phaseSample{cpu: sampleCPU(pid, os.Getpid()), db: db, dbTicks: procTicks(db), io: readIO(append([]int{pid}, db...))}
}

// account sets r's CPU shares and per-payment costs from a to b, as
// runCheckLoad does for a check (a small copy: its accounting is inline).
func (r *payPhase) account(a, b phaseSample, pid int) {
	r.CPU = cpuBetween(a.cpu, b.cpu, pid, os.Getpid())
	secs := b.cpu.at.Sub(a.cpu.at).Seconds()
	if secs <= 0 {
		return
	}
	if len(a.db) > 0 {
		var ticks int64
		for p, t := range b.dbTicks {
			ticks += t - a.dbTicks[p]
		}
		r.DBCPU = 100 * float64(ticks) / clockTicks / secs
		r.CPU.Other = max(r.CPU.Other-r.DBCPU, 0)
	}
	if r.RPS > 0 {
		r.SrvCPUUS = r.CPU.Target / 100 * 1e6 / r.RPS
		r.DBCPUUS = r.DBCPU / 100 * 1e6 / r.RPS
		n := r.RPS * secs
		r.WriteKB = float64(b.io.writeBytes-a.io.writeBytes) / 1024 / n
		r.WriteCalls = float64(b.io.writeCalls-a.io.writeCalls) / n
	}
}

// medianPay takes the median of each measurement across rounds.
func medianPay(rs []payPhase) payPhase {
	if len(rs) == 0 {
		return payPhase{}
	}
	pick := func(f func(payPhase) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	lrs := make([]loadResult, len(rs))
	ranOut := false
	for i, r := range rs {
		lrs[i] = r.loadResult
		ranOut = ranOut || r.RanOut
	}
	return payPhase{loadResult: medianLoad(lrs), Method: rs[0].Method, Clients: rs[0].Clients, RanOut: ranOut,
		DBCPU:      pick(func(r payPhase) float64 { return r.DBCPU }),
		DBCPUUS:    pick(func(r payPhase) float64 { return r.DBCPUUS }),
		WriteKB:    pick(func(r payPhase) float64 { return r.WriteKB }),
		WriteCalls: pick(func(r payPhase) float64 { return r.WriteCalls }),
		Opened:     int(pick(func(r payPhase) float64 { return float64(r.Opened) })),
		OpenS:      pick(func(r payPhase) float64 { return r.OpenS }),
		Ready:      int(pick(func(r payPhase) float64 { return float64(r.Ready) })),
		Used:       int(pick(func(r payPhase) float64 { return float64(r.Used) })),
	}
}
