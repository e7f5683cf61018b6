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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// The openbanking scenario measures payments by QR code on the built-in
// sandbox bank, the demo's bank provider, in two parts each round:
//
//   - QR creation: -n checks are opened untimed, then each is paid with
//     POST /api/v1/orders/{id}/payments {"method":"open_banking"}, timed
//     per request, at one client and (on -n fresh checks) at -c clients.
//     The sandbox bank is in-process and answers at once, so what is timed
//     is our own path: the payment recorded pending, the bank asked for its
//     link, the payment recorded waiting for the guest.
//   - Status → stream: a POS (one WebSocket on /api/v1/ws, a staff token)
//     listens while a phone answers -m of those payments one at a time: it
//     opens the bank's page (GET, untimed: that is the authorizing
//     webhook), then posts decision=approve to it. The sandbox bank then
//     delivers its signed webhooks (authorized, executed, settled) in
//     process, synchronously, before the approval's answer is written. The
//     time is from just before the approval POST is written to the POS
//     reading the payment.updated event whose subject is that payment with
//     status captured (the executed webhook's doing), and to the settled
//     one and the check's order.updated with status closed.
//
// The round's other QR payments are approved afterwards, untimed, so that
// none is left in flight for the server's open-banking sweep to poll.

// obConfig is the openbanking scenario's flags.
type obConfig struct {
	n           int
	conns       int
	m           int
	rounds      int
	wait        time.Duration
	stations    string
	deviceToken string
	pins        string
}

// Targets.
const (
	targetQRP99MS     = 20  // QR creation, our side, p99
	targetStreamP99MS = 100 // a status change on the POS stream after the webhook, p99
)

// obResult is the openbanking scenario's JSON summary.
type obResult struct {
	Server   string   `json:"server"`
	Engine   string   `json:"engine"`
	LogLevel string   `json:"log_level"`
	CPUs     int      `json:"cpus"`
	LoadAvg  string   `json:"loadavg_before"`
	N        int      `json:"qr_per_phase"`
	Conns    int      `json:"conns"`
	M        int      `json:"approvals_timed_per_round"`
	Rounds   int      `json:"rounds"`
	Items    []string `json:"items"`
	Provider string   `json:"provider"`
	Mode     string   `json:"mode"`
	Link     string   `json:"link_example"`
	Bytes    struct {
		QRRequest   int `json:"qr_request"`
		QRResponse  int `json:"qr_response"`
		PageGet     int `json:"page_get_response"`
		ApproveResp int `json:"approve_response"`
		Event       int `json:"captured_event"`
	} `json:"bytes"`

	QR1          []payPhase `json:"qr1_rounds"` // at one client
	QRN          []payPhase `json:"qrn_rounds"` // at Conns clients
	Stream       []obStream `json:"stream_rounds"`
	QR1Median    payPhase   `json:"qr1_median"`
	QRNMedian    payPhase   `json:"qrn_median"`
	StreamMedian obStream   `json:"stream_median"`
	ServerRSSKB  int64      `json:"server_rss_kb_after,omitempty"`

	QRMet1    bool `json:"target_qr_p99_met1"`    // QR creation p99 < 20 ms at one client, no errors
	QRMetN    bool `json:"target_qr_p99_metn"`    // the same at Conns clients
	StreamMet bool `json:"target_stream_p99_met"` // approval → captured on the stream p99 < 100 ms, none missing
}

// obStream is one round of approvals timed to the POS stream.
type obStream struct {
	Approvals    int           `json:"approvals"`               // timed
	Errors       int           `json:"errors"`                  // approval (or page) answered wrongly
	Missing      int           `json:"missing"`                 // captured event not on the stream within -wait
	Untimed      int           `json:"approved_untimed"`        // the round's other QR payments, approved afterwards
	Page         durationStats `json:"page_get"`                // GET of the bank's page (its authorizing webhook)
	Approve      durationStats `json:"approve_post"`            // POST decision=approve until its answer
	Captured     durationStats `json:"captured"`                // approval sent → payment.updated captured on the stream
	After        durationStats `json:"captured_after_answer"`   // approval answered → that event, when it came after
	BeforeAnswer int           `json:"captured_before_answer"`  // events that came before the approval's answer
	Settled      durationStats `json:"settled"`                 // approval sent → payment.updated open_banking.status settled
	Closed       durationStats `json:"check_closed"`            // approval sent → order.updated status closed
	ErrorSeen    []string      `json:"error_samples,omitempty"` // a few of the errors
}

func setupOpenBanking(fs *flag.FlagSet, c *common) runFunc {
	var cfg obConfig
	c.register(fs, true)
	fs.IntVar(&cfg.n, "n", 300, "QR payments per creation phase, each on a check opened untimed beforehand (one phase at 1 client, one at -c)")
	fs.IntVar(&cfg.conns, "c", 8, "concurrent clients in the second creation phase (closed loop); the first has one")
	fs.IntVar(&cfg.m, "m", 100, "approvals timed to the POS stream per round, one at a time (at most 2 × -n); the round's other QR payments are approved untimed")
	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds of (QR at 1 client, QR at -c clients, approvals); medians are reported")
	fs.DurationVar(&cfg.wait, "wait", 2*time.Second, "how long to wait for an approval's events on the stream before counting them missing")
	fs.StringVar(&cfg.stations, "stations", "grill,cold,bar", "kitchen stations: each check has a line for the first item of each with no modifier groups")
	fs.StringVar(&cfg.deviceToken, "device-token", "", "with -url: the demo iPad's device token (DATA_DIR/demo-device-token) for the staff PIN sign-ins")
	fs.StringVar(&cfg.pins, "pins", "2222,3333", "staff PINs on the demo iPad that open checks and take payments; the first one's token is the POS stream's")
	return func(ctx context.Context) (any, error) { return runOpenBanking(ctx, c, cfg) }
}

// obPay is a QR payment waiting for the guest.
type obPay struct {
	id, orderID, link string
}

// obPays collects the payments a phase created.
type obPays struct {
	mu sync.Mutex
	ps []obPay
}

func (o *obPays) add(p obPay) {
	o.mu.Lock()
	o.ps = append(o.ps, p)
	o.mu.Unlock()
}

// runOpenBanking creates QR payments, then times their approvals to the
// POS stream.
func runOpenBanking(ctx context.Context, c *common, cfg obConfig) (*obResult, error) {
	if cfg.n < 1 || cfg.conns < 1 || cfg.rounds < 1 || cfg.m < 0 || cfg.m > 2*cfg.n || cfg.wait <= 0 {
		return nil, fmt.Errorf("-n, -c, -rounds and -wait must be positive, -m between 0 and 2 × -n")
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
	res := &obResult{Server: t.describe(), Engine: engine, LogLevel: effectiveLogLevel(c, t), CPUs: runtime.NumCPU(), LoadAvg: loadAvg,
		N: cfg.n, Conns: cfg.conns, M: cfg.m, Rounds: cfg.rounds}
	c.printf("openbanking: QR payments on the sandbox bank (POST /api/v1/orders/{id}/payments {\"method\":\"open_banking\"}), %d per phase\n", cfg.n)
	c.printf("             at 1 client and at %d clients, each on a check opened untimed before the phase; then %d approvals one at a time,\n", cfg.conns, cfg.m)
	c.printf("             each timed from the approval POST to the POS stream; %d rounds; engine %s\n", cfg.rounds, engine)
	c.printf("server: %s, log level %s\n", res.Server, res.LogLevel)

	su, err := setUpChecks(ctx, c, checksConfig{stations: cfg.stations, deviceToken: cfg.deviceToken, pins: cfg.pins}, t)
	if err != nil {
		return nil, err
	}
	if len(su.tokens) == 0 {
		return nil, fmt.Errorf("-pins names no staff")
	}
	su.oneRequest = true
	for _, l := range su.lines {
		res.Items = append(res.Items, fmt.Sprint(l["_name"], " @ ", l["_station"]))
		delete(l, "_name")
		delete(l, "_station")
	}
	c.printf("checks: %s, opened and sent in one request (send: true); staff tokens: %d\n", strings.Join(res.Items, ", "), len(su.tokens))

	// The POS: one WebSocket with the first staff token, on the location's
	// events, connected before anything is measured.
	watch, err := watchOpenBanking(ctx, su)
	if err != nil {
		return nil, err
	}
	defer watch.close()

	qrBody := []byte(`{"method":"open_banking"}`)
	phone := &http.Client{Timeout: 30 * time.Second} // the guest's phone: its own keep-alive connection
	var seq atomic.Uint64
	if err := trialOpenBanking(ctx, su, &seq, qrBody, phone, watch, cfg.wait, res); err != nil {
		return nil, err
	}
	c.printf("bytes: QR request %d, answer %d; bank page %d; approval answer %d; captured event %d\n", res.Bytes.QRRequest,
		res.Bytes.QRResponse, res.Bytes.PageGet, res.Bytes.ApproveResp, res.Bytes.Event)
	c.printf("provider: %s, mode %s; link %s\n", res.Provider, res.Mode, res.Link)
	if res.Provider != "sandbox_bank" {
		c.printf("WARNING: not the in-process sandbox bank: QR creation includes the provider's latency\n")
	}

	dbPIDs, dbMsg := databaseProcesses(c)
	c.printf("machine: %d CPUs, load average before the run %s (1, 5, 15 min)\n", res.CPUs, loadAvg)
	c.printf("note: the load generator, fynlo (and PostgreSQL) share this machine's %d CPUs; CPU%% is of one CPU over a phase,\n"+
		"      \"other\" is everything else on the machine\n", res.CPUs)
	if dbMsg != "" {
		c.printf("database: %s\n", dbMsg)
	}

	c.printf("\nQR creation (each request timed; a phase ends when its %d checks are used)\n", cfg.n)
	c.printf("%-6s %7s %8s %8s %8s %8s %8s %6s %26s %8s %8s\n", "round", "clients", "QR/s", "p50 ms", "p90 ms", "p99 ms",
		"max ms", "errors", "CPU% server/db/bench/other", "µs/QR", "open s")
	qrRow := func(label string, r payPhase) {
		c.printf("%-6s %7d %8.0f %8.2f %8.2f %8.2f %8.2f %6d %26s %8.0f %8.1f\n", label, r.Clients, r.RPS, r.P50MS, r.P90MS, r.P99MS,
			r.MaxMS, r.Errors, fmt.Sprintf("%.0f/%.0f/%.0f/%.0f", r.CPU.Target, r.DBCPU, r.CPU.Bench, r.CPU.Other), r.SrvCPUUS, r.OpenS)
		for _, e := range r.ErrorSeen {
			c.printf("       error: %s\n", e)
		}
	}
	var rows []string // stream rows, printed after the QR table
	for round := 1; round <= cfg.rounds; round++ {
		var made obPays
		for _, conns := range []int{1, cfg.conns} {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			start := time.Now()
			checks, err := openChecks(ctx, su, cfg.n, cfg.conns, &seq)
			if err != nil {
				return nil, err
			}
			opened := time.Since(start)
			pool := &checkPool{checks: checks}
			// The pool ends the phase: the duration only bounds it.
			r := runPayLoad(ctx, payLoadSpec{Conns: conns, Duration: time.Hour, PID: t.PID(), DBPIDs: dbPIDs, Pool: pool,
				Pay: qrPayWith(su, qrBody, &made)})
			r.Method, r.Opened, r.OpenS, r.Ready, r.RanOut = "open_banking", len(checks), opened.Seconds(), len(checks), false
			if conns == 1 {
				res.QR1 = append(res.QR1, r)
			} else {
				res.QRN = append(res.QRN, r)
			}
			qrRow(strconv.Itoa(round), r)
		}
		s := approveAll(ctx, su, phone, watch, made.ps, cfg)
		res.Stream = append(res.Stream, s)
		rows = append(rows, streamRow(strconv.Itoa(round), s))
	}
	res.QR1Median, res.QRNMedian, res.StreamMedian = medianPay(res.QR1), medianPay(res.QRN), medianStream(res.Stream)
	qrRow("median", res.QR1Median)
	qrRow("median", res.QRNMedian)

	c.printf("\nstatus → stream: a phone approves on the sandbox bank's page, one payment at a time; the POS's WebSocket times\n")
	c.printf("payment.updated (captured), payment.updated (settled) and order.updated (closed) from just before the approval POST\n")
	c.printf("%-6s %6s %6s %7s %17s %17s %19s %8s %17s %17s %8s\n", "round", "timed", "errors", "missing", "approve p50/p99",
		"captured p50/p99", "captured max/after", "before", "settled p50/p99", "closed p50/p99", "page p50")
	for _, r := range rows {
		c.printf("%s", r)
	}
	c.printf("%s", streamRow("median", res.StreamMedian))
	for _, s := range res.Stream {
		for _, e := range s.ErrorSeen {
			c.printf("       error: %s\n", e)
		}
	}
	c.printf("(ms; \"after\" is the captured event's p50 from the approval's answer, for those that came after it; \"before\" counts those\n" +
		" read before the answer: the webhooks are delivered in process, before the approval POST is answered)\n")

	if t.proc != nil {
		if exited, werr := t.proc.Exited(); exited {
			c.printf("\nWARNING: the fynlo server exited during the run: %v\n%s\n", werr, t.proc.tailLog())
		}
	}
	if pid := t.PID(); pid != 0 {
		res.ServerRSSKB, _ = procStatusKB(pid, "VmRSS")
		if res.ServerRSSKB > 0 {
			c.printf("\nfynlo RSS after the run: %.1f MB\n", float64(res.ServerRSSKB)/1024)
		}
	}
	qr1Errs, qrNErrs := sumErrors(res.QR1), sumErrors(res.QRN)
	var streamErrs, missing int
	for _, s := range res.Stream {
		streamErrs += s.Errors
		missing += s.Missing
	}
	res.QRMet1 = res.QR1Median.P99MS < targetQRP99MS && qr1Errs == 0 && res.QR1Median.Requests > 0
	res.QRMetN = res.QRNMedian.P99MS < targetQRP99MS && qrNErrs == 0 && res.QRNMedian.Requests > 0
	res.StreamMet = res.StreamMedian.Captured.P99MS < targetStreamP99MS && streamErrs == 0 && missing == 0 && res.StreamMedian.Captured.N > 0
	c.printf("target QR creation our side p99 < %d ms: %s (at 1 client: %.2f ms; at %d clients: %.2f ms; errors %d and %d in all rounds)\n",
		targetQRP99MS, cardVerdict(res.QRMet1, res.QRMetN, cfg.conns), res.QR1Median.P99MS, cfg.conns, res.QRNMedian.P99MS, qr1Errs, qrNErrs)
	c.printf("target status change on the POS stream < %d ms after the webhook: %s (p99 %.2f ms, max %.2f ms from the approval POST;\n"+
		"      %d missing, %d errors in all rounds)\n", targetStreamP99MS, verdict(res.StreamMet), res.StreamMedian.Captured.P99MS,
		res.StreamMedian.Captured.MaxMS, missing, streamErrs)
	c.printf("      the sandbox bank delivers its webhooks in process during the approval POST, so \"from the webhook\" is measured\n" +
		"      from the approval POST: an upper bound, which includes the page's form handling and the authorized webhook before executed\n")
	return res, nil
}

func streamRow(label string, s obStream) string {
	return fmt.Sprintf("%-6s %6d %6d %7d %17s %17s %19s %8d %17s %17s %8.2f\n", label, s.Approvals, s.Errors, s.Missing,
		pair(s.Approve), pair(s.Captured), fmt.Sprintf("%.2f/%s", s.Captured.MaxMS, afterP50(s.After)), s.BeforeAnswer,
		pair(s.Settled), pair(s.Closed), s.Page.P50MS)
}

// afterP50 is the p50 of the events that came after the answer; "-" if
// none did.
func afterP50(d durationStats) string {
	if d.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", d.P50MS)
}

func pair(d durationStats) string { return fmt.Sprintf("%.2f/%.2f", d.P50MS, d.P99MS) }

// qrPayWith starts an open-banking payment of a check's whole balance,
// checks the answer and keeps the payment for the approvals.
func qrPayWith(su *checkSetup, body []byte, made *obPays) payFunc {
	return func(ctx context.Context, hc *http.Client, w int, c openCheck) error {
		status, b, err := postJSON(ctx, hc, su.base+"/api/v1/orders/"+c.id+"/payments", su.tokens[w%len(su.tokens)], body)
		if err != nil {
			return err
		}
		p, _, err := checkQRAnswer(status, b, c)
		if err != nil {
			return err
		}
		made.add(p)
		return nil
	}
}

// qrAnswer is what the answer to a QR payment says.
type qrAnswer struct {
	Payment struct {
		ID          string                 `json:"id"`
		Method      string                 `json:"method"`
		Status      string                 `json:"status"`
		Provider    string                 `json:"provider"`
		Amount      struct{ Amount int64 } `json:"amount"`
		OpenBanking *struct {
			Status string `json:"status"`
			Link   string `json:"link"`
			Mode   string `json:"mode"`
		} `json:"open_banking"`
	} `json:"payment"`
	Order struct {
		ID string `json:"id"`
	} `json:"order"`
}

// checkQRAnswer accepts only a 201 whose payment, by open banking for the
// check's whole total, waits for the guest with a link to the bank.
func checkQRAnswer(status int, b []byte, c openCheck) (obPay, qrAnswer, error) {
	var a qrAnswer
	if status != http.StatusCreated {
		return obPay{}, a, fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return obPay{}, a, fmt.Errorf("answer: %w", err)
	}
	p := a.Payment
	switch {
	case p.Method != "open_banking":
		return obPay{}, a, fmt.Errorf("a %q payment answered to an open_banking one", p.Method)
	case p.Status != "requires_action" || p.OpenBanking == nil || p.OpenBanking.Link == "":
		return obPay{}, a, fmt.Errorf("open-banking payment %s without a link to the bank (want requires_action): %s", p.Status, truncate(string(b), 200))
	case p.OpenBanking.Status != "authorization_required":
		return obPay{}, a, fmt.Errorf("bank status %q, want authorization_required", p.OpenBanking.Status)
	case a.Order.ID != c.id:
		return obPay{}, a, fmt.Errorf("the answer's check is not the one paid")
	case c.total > 0 && p.Amount.Amount != c.total:
		return obPay{}, a, fmt.Errorf("payment of %d for a check of %d", p.Amount.Amount, c.total)
	}
	return obPay{id: p.ID, orderID: c.id, link: p.OpenBanking.Link}, a, nil
}

// trialOpenBanking makes one QR payment and approves it by hand: the
// answers as they should be, their sizes, and a warm path.
func trialOpenBanking(ctx context.Context, su *checkSetup, seq *atomic.Uint64, qrBody []byte, phone *http.Client, watch *obWatch,
	wait time.Duration, res *obResult) error {
	checks, err := openChecks(ctx, su, 1, 1, seq)
	if err != nil {
		return fmt.Errorf("trial check: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	status, b, err := postJSON(ctx, hc, su.base+"/api/v1/orders/"+checks[0].id+"/payments", su.tokens[0], qrBody)
	if err != nil {
		return fmt.Errorf("trial QR payment: %w", err)
	}
	p, a, err := checkQRAnswer(status, b, checks[0])
	if err != nil {
		return fmt.Errorf("trial QR payment: %w", err)
	}
	res.Bytes.QRRequest, res.Bytes.QRResponse = len(qrBody), len(b)
	res.Provider, res.Mode, res.Link = a.Payment.Provider, a.Payment.OpenBanking.Mode, p.link
	if !strings.Contains(p.link, "/sandbox-bank/") {
		return fmt.Errorf("trial QR payment: link %q is not this server's sandbox bank (is a bank provider connected?)", p.link)
	}
	seen := watch.expect(p)
	pageN, _, err := openPage(ctx, phone, p.link)
	if err != nil {
		return fmt.Errorf("trial: the bank's page: %w", err)
	}
	approveN, _, err := approve(ctx, phone, p.link)
	if err != nil {
		return fmt.Errorf("trial: approve: %w", err)
	}
	res.Bytes.PageGet, res.Bytes.ApproveResp = pageN, approveN
	if !watch.wait(seen, time.Now().Add(wait)) {
		return fmt.Errorf("trial: the stream did not show payment %s captured and settled and its check closed within %v", p.id, wait)
	}
	watch.mu.Lock()
	res.Bytes.Event = seen.eventBytes
	watch.mu.Unlock()
	watch.forget(p)
	return nil
}

// openPage is the phone opening the QR code's link: the bank's page.
func openPage(ctx context.Context, hc *http.Client, link string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, took, err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`id="approve"`)) {
		return len(b), took, fmt.Errorf("bank page: status %d without the approve button: %s", resp.StatusCode, truncate(string(b), 200))
	}
	return len(b), took, nil
}

// approve is the guest approving on the bank's page.
func approve(ctx context.Context, hc *http.Client, link string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, link, strings.NewReader(url.Values{"decision": {"approve"}}.Encode()))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, took, err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("Payment approved")) {
		return len(b), took, fmt.Errorf("approve: status %d: %s", resp.StatusCode, truncate(string(b), 200))
	}
	return len(b), took, nil
}

// approveAll approves a round's QR payments: the first -m one at a time,
// each timed to the POS stream, then the rest untimed from -c clients.
func approveAll(ctx context.Context, su *checkSetup, phone *http.Client, watch *obWatch, ps []obPay, cfg obConfig) obStream {
	var s obStream
	var page, appr, captured, after, settled, closed []time.Duration
	errSeen := map[string]bool{}
	fail := func(err error) {
		s.Errors++
		if len(errSeen) < 5 {
			errSeen[simplifyErr(err)] = true
		}
	}
	timed := min(cfg.m, len(ps))
	for _, p := range ps[:timed] {
		if ctx.Err() != nil {
			break
		}
		_, took, err := openPage(ctx, phone, p.link)
		if err != nil {
			fail(err)
			continue
		}
		page = append(page, took)
		seen := watch.expect(p)
		sentAt := time.Now()
		_, took, err = approve(ctx, phone, p.link)
		answeredAt := sentAt.Add(took)
		if err != nil {
			fail(err)
			watch.forget(p)
			continue
		}
		s.Approvals++
		appr = append(appr, took)
		ok := watch.wait(seen, time.Now().Add(cfg.wait))
		watch.mu.Lock()
		c, st, cl := seen.captured, seen.settled, seen.closed
		watch.mu.Unlock()
		watch.forget(p)
		if c.IsZero() {
			s.Missing++
			continue
		}
		captured = append(captured, c.Sub(sentAt))
		if d := c.Sub(answeredAt); d >= 0 {
			after = append(after, d)
		} else {
			s.BeforeAnswer++
		}
		if !st.IsZero() {
			settled = append(settled, st.Sub(sentAt))
		}
		if !cl.IsZero() {
			closed = append(closed, cl.Sub(sentAt))
		}
		if !ok && (st.IsZero() || cl.IsZero()) {
			fail(fmt.Errorf("payment %s captured on the stream, but its settled event or the check's close did not come within %v", p.id, cfg.wait))
		}
	}
	// The rest, so that nothing stays in flight for the sweep.
	rest := ps[timed:]
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(cfg.conns, len(rest)) {
		wg.Go(func() {
			hc := &http.Client{Timeout: 30 * time.Second}
			defer hc.CloseIdleConnections()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(rest)) {
					return
				}
				_, _, err := openPage(ctx, hc, rest[i].link)
				if err == nil {
					_, _, err = approve(ctx, hc, rest[i].link)
				}
				mu.Lock()
				if err != nil {
					fail(fmt.Errorf("untimed: %w", err))
				} else {
					s.Untimed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	s.Page, s.Approve, s.Captured, s.After = summarize(page), summarize(appr), summarize(captured), summarize(after)
	s.Settled, s.Closed = summarize(settled), summarize(closed)
	for e := range errSeen {
		s.ErrorSeen = append(s.ErrorSeen, e)
	}
	return s
}

// medianStream takes the median of each measurement across rounds.
func medianStream(rs []obStream) obStream {
	if len(rs) == 0 {
		return obStream{}
	}
	pickInt := func(f func(obStream) int) int {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = float64(f(r))
		}
		return int(median(xs) + 0.5)
	}
	stats := func(f func(obStream) durationStats) durationStats {
		ds := make([]durationStats, len(rs))
		for i, r := range rs {
			ds[i] = f(r)
		}
		return medianStats(ds)
	}
	return obStream{
		Approvals:    pickInt(func(r obStream) int { return r.Approvals }),
		Errors:       pickInt(func(r obStream) int { return r.Errors }),
		Missing:      pickInt(func(r obStream) int { return r.Missing }),
		Untimed:      pickInt(func(r obStream) int { return r.Untimed }),
		BeforeAnswer: pickInt(func(r obStream) int { return r.BeforeAnswer }),
		Page:         stats(func(r obStream) durationStats { return r.Page }),
		Approve:      stats(func(r obStream) durationStats { return r.Approve }),
		Captured:     stats(func(r obStream) durationStats { return r.Captured }),
		After:        stats(func(r obStream) durationStats { return r.After }),
		Settled:      stats(func(r obStream) durationStats { return r.Settled }),
		Closed:       stats(func(r obStream) durationStats { return r.Closed }),
	}
}

// medianStats is the median of each field of ds across rounds (rounds
// with no samples left out).
func medianStats(ds []durationStats) durationStats {
	var some []durationStats
	for _, d := range ds {
		if d.N > 0 {
			some = append(some, d)
		}
	}
	if len(some) == 0 {
		return durationStats{}
	}
	pick := func(f func(durationStats) float64) float64 {
		xs := make([]float64, len(some))
		for i, d := range some {
			xs[i] = f(d)
		}
		return median(xs)
	}
	return durationStats{N: int(pick(func(d durationStats) float64 { return float64(d.N) }) + 0.5),
		MinMS: pick(func(d durationStats) float64 { return d.MinMS }), P50MS: pick(func(d durationStats) float64 { return d.P50MS }),
		P90MS: pick(func(d durationStats) float64 { return d.P90MS }), P99MS: pick(func(d durationStats) float64 { return d.P99MS }),
		MaxMS: pick(func(d durationStats) float64 { return d.MaxMS }), MeanMS: pick(func(d durationStats) float64 { return d.MeanMS })}
}

// obWatch is the POS: one WebSocket on the location's events, noting when
// the payments being timed (and their checks) show on it.
type obWatch struct {
	conn   *websocket.Conn
	done   chan struct{}
	notify chan struct{} // a timed payment's event came
	mu     sync.Mutex
	pay    map[string]*obSeen // payment ID → what the stream showed
	ord    map[string]*obSeen // its check's ID → the same
	err    error              // why reading stopped
}

// obSeen is when the stream showed a payment captured, settled, and its
// check closed (zero: not yet).
type obSeen struct {
	captured, settled, closed time.Time
	eventBytes                int // the captured event's size
}

var (
	paymentUpdatedType = []byte(`"type":"payment.updated"`)
	orderUpdatedType   = []byte(`"type":"order.updated"`)
)

// watchOpenBanking connects the POS and starts reading.
func watchOpenBanking(ctx context.Context, su *checkSetup) (*obWatch, error) {
	wsURL := "ws" + strings.TrimPrefix(su.base, "http") + "/api/v1/ws?location_id=" + su.locationID
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + su.tokens[0]}},
		CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, fmt.Errorf("POS WebSocket: %w", err)
	}
	conn.SetReadLimit(8 << 20)
	w := &obWatch{conn: conn, done: make(chan struct{}), notify: make(chan struct{}, 1), pay: map[string]*obSeen{}, ord: map[string]*obSeen{}}
	go w.read()
	return w, nil
}

// read takes each message's arrival time first; it decodes only the
// payment.updated and order.updated events of what is being timed.
func (w *obWatch) read() {
	defer close(w.done)
	for {
		_, b, err := w.conn.Read(context.Background())
		at := time.Now()
		if err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			return
		}
		isPay := bytes.Contains(b, paymentUpdatedType)
		if !isPay && !bytes.Contains(b, orderUpdatedType) {
			continue
		}
		subject := subjectOf(b)
		w.mu.Lock()
		var seen *obSeen
		if isPay {
			seen = w.pay[subject]
		} else {
			seen = w.ord[subject]
		}
		w.mu.Unlock()
		if seen == nil {
			continue
		}
		e, err := parseOBEvent(b)
		if err != nil {
			continue
		}
		w.mu.Lock()
		changed := false
		switch {
		case e.Type == "payment.updated" && e.Data.Status == "captured":
			if seen.captured.IsZero() {
				seen.captured, seen.eventBytes, changed = at, len(b), true
			}
			if e.Data.OpenBanking != nil && e.Data.OpenBanking.Status == "settled" && seen.settled.IsZero() {
				seen.settled, changed = at, true
			}
		case e.Type == "order.updated" && e.Data.Status == "closed" && seen.closed.IsZero():
			seen.closed, changed = at, true
		}
		w.mu.Unlock()
		if changed {
			select {
			case w.notify <- struct{}{}:
			default:
			}
		}
	}
}

// subjectOf finds an event's subject_id without decoding it: the
// envelope's comes before its data.
func subjectOf(b []byte) string { return fieldAfter(b, subjectIDJSON) }

// obEvent is the part of a payment.updated or order.updated event read.
type obEvent struct {
	Type      string `json:"type"`
	SubjectID string `json:"subject_id"`
	Data      struct {
		Status      string `json:"status"`
		OpenBanking *struct {
			Status string `json:"status"`
		} `json:"open_banking"`
	} `json:"data"`
}

func parseOBEvent(b []byte) (obEvent, error) {
	var e obEvent
	err := json.Unmarshal(b, &e)
	return e, err
}

// expect starts watching a payment and its check.
func (w *obWatch) expect(p obPay) *obSeen {
	s := &obSeen{}
	w.mu.Lock()
	w.pay[p.id], w.ord[p.orderID] = s, s
	w.mu.Unlock()
	return s
}

// forget stops watching a payment.
func (w *obWatch) forget(p obPay) {
	w.mu.Lock()
	delete(w.pay, p.id)
	delete(w.ord, p.orderID)
	w.mu.Unlock()
}

// wait waits until s has all three events, or deadline; it reports
// whether they came.
func (w *obWatch) wait(s *obSeen, deadline time.Time) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		w.mu.Lock()
		ok := !s.captured.IsZero() && !s.settled.IsZero() && !s.closed.IsZero()
		w.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-w.notify:
		case <-timer.C:
			return false
		case <-w.done:
			return false
		}
	}
}

func (w *obWatch) close() {
	w.conn.CloseNow()
	<-w.done
}
