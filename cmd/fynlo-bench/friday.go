package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/fynlo/fynlo/internal/id"
)

// The friday scenario is a Friday night on the platform: -restaurants
// restaurants, each its own organization signed up through the API, with
// -ipads iPads in closed loops (or, with -pace, each starting a flow at a
// steady rate). An iPad's flow is a check's life: open it
// with two lines sent to the kitchen at once (send: true), add a line,
// send that, pay part in cash and the rest by card (the simulated
// provider), which closes it; every -menu-every flows it reloads the menu
// with its ETag. Each restaurant has a kitchen screen (a WebSocket on its
// location) that bumps every ticket as it arrives, and -screens idle
// screens are spread over the locations: every screen times the ticket of
// each check's separate send from the send's answer (the fan-out). With
// -nodes 3 the tool starts three servers on one PostgreSQL joined by a
// throwaway redis-server and spreads iPads and screens over them in turn,
// as a load balancer would.

type fridayConfig struct {
	restaurants, ipads, screens, nodes, rounds, menuEvery, dialConc int
	perLocation                                                     int // screens per location; 0: all on the busy ones
	noRedis                                                         bool
	duration, warmup, settle                                        time.Duration
	pace                                                            time.Duration // an iPad starts a flow this often; 0: as soon as the last ends
}

// Steps of a flow, and the kitchen's bump.
const (
	stOpen = iota
	stAdd
	stSend
	stCash
	stCard
	stMenu
	stBump
	nSteps
)

var stepNames = [nSteps]string{"open+send", "add line", "send", "pay cash", "pay card", "menu", "bump"}

// Targets of issue 8.
const (
	targetFridayChecks = 1000
	targetFridayP99MS  = 100
	targetFanoutP99MS  = 50
	targetScreens      = 10000
)

func setupFriday(fs *flag.FlagSet, c *common) runFunc {
	var cfg fridayConfig
	c.register(fs, false)
	fs.StringVar(&c.logLevel, "log-level", "warn", "FYNLO_LOG_LEVEL for the spawned servers")
	fs.IntVar(&cfg.restaurants, "restaurants", 16, "restaurants, each its own organization and location")
	fs.IntVar(&cfg.ipads, "ipads", 4, "iPads per restaurant, each a closed loop of flows (at most 9: pairing is rate limited per address)")
	fs.IntVar(&cfg.screens, "screens", 0, "idle kitchen screens (WebSockets) spread over the restaurants' locations and the nodes, for the fan-out")
	fs.IntVar(&cfg.perLocation, "screens-per-location", 0, "place the screens this many to a location, as a platform's are: the busy\n"+
		"restaurants' locations get this many (their bumping screen and idle ones), the rest go to quiet locations\n"+
		"added to the same organizations, where nothing happens; 0 spreads every idle screen over the busy locations")
	fs.BoolVar(&cfg.noRedis, "no-redis", false, "with -nodes > 1, start the nodes without Redis, not told of each other's commits: a screen\n"+
		"then sees another node's events only when its own node next writes for that organization and\n"+
		"reads the gap from the log. Against the same nodes joined, this measures what coordination costs")
	fs.BoolVar(&allEvents, "all-events", false, "screens take every event of their location (types= unset), not just tickets as /kds does")
	fs.IntVar(&cfg.nodes, "nodes", 1, "server processes on one database: 1, or several joined by a throwaway redis-server (needs -database-url)")
	fs.IntVar(&cfg.rounds, "rounds", 3, "measured rounds on the same servers; medians are reported")
	fs.DurationVar(&cfg.duration, "d", 20*time.Second, "measured time of each round")
	fs.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "unrecorded warm-up before each round")
	fs.DurationVar(&cfg.settle, "settle", 2*time.Second, "after a round, how long to wait for tickets still on their way to the screens")
	fs.DurationVar(&cfg.pace, "pace", 0, "each iPad starts a flow this often (staggered), as a waiter with other things to do;\n"+
		"0 starts the next as soon as the last ends (a closed loop: the most the machine can do, with queueing)")
	fs.IntVar(&cfg.menuEvery, "menu-every", 20, "an iPad reloads the menu (GET with If-None-Match) every this many flows; 0 never")
	fs.IntVar(&cfg.dialConc, "dial-concurrency", 100, "screen handshakes in flight at once")
	return func(ctx context.Context) (any, error) { return runFriday(ctx, c, cfg) }
}

// fridayResult is the JSON summary.
type fridayResult struct {
	Engine      string        `json:"engine"`
	Nodes       int           `json:"nodes"`
	Redis       bool          `json:"redis"`
	CPUs        int           `json:"cpus"`
	LoadAvg     string        `json:"loadavg_before"`
	Restaurants int           `json:"restaurants"`
	IPads       int           `json:"ipads_per_restaurant"`
	Screens     int           `json:"idle_screens_requested"`
	PerLocation int           `json:"screens_per_location,omitempty"`
	PaceS       float64       `json:"pace_s,omitempty"`
	Quiet       int           `json:"quiet_locations,omitempty"`
	Connected   int           `json:"screens_connected"` // idle + kitchen screens
	DialFailed  int           `json:"screens_failed"`
	SetupS      float64       `json:"setup_s"`
	NofileBench string        `json:"nofile_bench"`
	Rounds      []fridayRound `json:"rounds"`
	Median      fridayRound   `json:"median"`

	ThroughputMet bool `json:"target_throughput_met"` // ≥ 1,000 fully paid checks/s
	P99Met        bool `json:"target_p99_met"`        // every step p99 < 100 ms
	ErrorsMet     bool `json:"target_zero_errors"`
	FanoutMet     bool `json:"target_fanout_met"` // p99 < 50 ms with 10,000 screens connected
}

// fridayRound is one measured round.
type fridayRound struct {
	ElapsedS   float64           `json:"elapsed_s"`
	Paid       uint64            `json:"checks_paid"`
	PaidPerSec float64           `json:"checks_paid_per_s"`
	Steps      [nSteps]stepStats `json:"steps"`
	Errors     uint64            `json:"errors"`
	// SendConflicts are sends answered 409 version_conflict (the kitchen
	// had bumped a ticket of the check) and made again at once.
	SendConflicts uint64             `json:"send_conflicts_retried"`
	ErrorSeen     []string           `json:"error_samples,omitempty"`
	Fanout        fanoutStats        `json:"fanout"`
	RSSKB         []int64            `json:"server_rss_kb"`      // per node, at the end of the round
	PeakRSSKB     []int64            `json:"server_peak_rss_kb"` // per node, sampled each second
	CPU           map[string]float64 `json:"cpu_pct"`            // nodes, db, redis, bench, other: % of one CPU
	NodeCPU       []float64          `json:"node_cpu_pct"`
}

type stepStats struct {
	Step   string  `json:"step"`
	N      uint64  `json:"n"`
	Errors uint64  `json:"errors"`
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
}

type fanoutStats struct {
	Expected  uint64  `json:"expected"`
	Received  uint64  `json:"received"`
	Missing   uint64  `json:"missing"`
	BeforeAck uint64  `json:"before_ack"` // arrived before the send's answer: counted as 0 ms
	P50MS     float64 `json:"p50_ms"`     // the send's answer → the ticket on a screen
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	SentP50MS float64 `json:"from_request_p50_ms"` // the send written → the ticket on a screen
	SentP99MS float64 `json:"from_request_p99_ms"`
}

// restaurant is one signed-up organization, ready for the load.
type restaurant struct {
	idx       int
	xff       string
	loc       string
	owner     string   // the owner's token: quiet locations and their screens
	quiet     []string // locations with screens and no service (-screens-per-location)
	manager   string   // manager's staff token: kitchen screen, bumps, the drawer
	staff     []string // one server's token per iPad
	drawer    string
	lines     []map[string]any // open: grill and cold
	extra     map[string]any   // add: bar
	etag      string
	screens   atomic.Int64  // screens on this location (kitchen + idle)
	sends     atomic.Uint64 // measured sends answered this round
	conflicts atomic.Uint64 // sends answered 409 and made again, this round
}

// fleet is the nodes a run talks to.
type fleet struct {
	procs    []*serverProc
	urls     []string
	redis    *exec.Cmd
	redisDir string
	keysDir  string
}

func (f *fleet) url(i int) string { return f.urls[i%len(f.urls)] }

func (f *fleet) stop() {
	for _, p := range f.procs {
		p.Stop()
	}
	if f.redis != nil {
		_ = f.redis.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = f.redis.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = f.redis.Process.Kill()
			<-done
		}
		os.RemoveAll(f.redisDir)
	}
	if f.keysDir != "" {
		os.RemoveAll(f.keysDir)
	}
}

// startFleet starts the nodes: the first alone (it migrates and writes the
// shared keys), then the others.
func startFleet(ctx context.Context, c *common, nodes int, joined bool) (*fleet, error) {
	bin, err := findServerBin(c.serverBin)
	if err != nil {
		return nil, err
	}
	f := &fleet{}
	f.keysDir, err = os.MkdirTemp("", "fynlo-bench-keys-")
	if err != nil {
		return nil, err
	}
	env := []string{"FYNLO_ACCESS_TOKEN_TTL=2h", "FYNLO_TRUST_PROXY=true", "FYNLO_KEYS_DIR=" + f.keysDir}
	if c.logLevel != "" {
		env = append(env, "FYNLO_LOG_LEVEL="+c.logLevel)
	}
	if c.databaseURL != "" {
		env = append(env, "FYNLO_DATABASE_URL="+c.databaseURL)
	}
	if joined {
		url, err := f.startRedis()
		if err != nil {
			f.stop()
			return nil, err
		}
		env = append(env, "FYNLO_REDIS_URL="+url)
	}
	for i := range nodes {
		p, err := spawnServer(ctx, bin, env, c.keep)
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("node %d: %w", i+1, err)
		}
		f.procs = append(f.procs, p)
		f.urls = append(f.urls, p.URL)
	}
	return f, nil
}

// startRedis starts a throwaway redis-server on a Unix socket, as the tests do.
func (f *fleet) startRedis() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("-nodes > 1 needs redis-server: %w", err)
	}
	f.redisDir, err = os.MkdirTemp("", "fynlo-redis-")
	if err != nil {
		return "", err
	}
	sock := filepath.Join(f.redisDir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
		"--dir", f.redisDir, "--loglevel", "warning", "--maxclients", "10000")
	logf, err := os.Create(filepath.Join(f.redisDir, "redis.log"))
	if err != nil {
		return "", err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	f.redis = cmd
	for deadline := time.Now().Add(10 * time.Second); ; {
		conn, err := net.DialTimeout("unix", sock, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return "unix://" + sock, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("redis-server did not come up: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runFriday(ctx context.Context, c *common, cfg fridayConfig) (*fridayResult, error) {
	if cfg.restaurants < 1 || cfg.ipads < 1 || cfg.ipads > 9 || cfg.nodes < 1 || cfg.rounds < 1 || cfg.duration <= 0 || cfg.screens < 0 || cfg.perLocation < 0 || cfg.pace < 0 {
		return nil, errors.New("-restaurants, -nodes, -rounds and -d must be positive, -ipads 1 to 9, -screens, -screens-per-location and -pace not negative")
	}
	if cfg.nodes > 1 && c.databaseURL == "" {
		return nil, errors.New("-nodes > 1 needs -database-url: several nodes share one PostgreSQL")
	}
	res := &fridayResult{Engine: "sqlite", Nodes: cfg.nodes, Redis: cfg.nodes > 1 && !cfg.noRedis, CPUs: runtime.NumCPU(), LoadAvg: readLoadAvg(),
		Restaurants: cfg.restaurants, IPads: cfg.ipads, Screens: cfg.screens, PerLocation: cfg.perLocation, PaceS: cfg.pace.Seconds()}
	if c.databaseURL != "" {
		res.Engine = "postgres"
	}
	// Before spawning: the servers inherit the raised limit.
	lim, err := raiseNofile(uint64(cfg.screens) + 4096)
	res.NofileBench = fmt.Sprintf("%d (hard %d)", lim.Cur, lim.Max)
	if err != nil {
		c.printf("warning: could not raise RLIMIT_NOFILE: %v\n", err)
	}
	fl, err := startFleet(ctx, c, cfg.nodes, res.Redis)
	if err != nil {
		return nil, err
	}
	defer fl.stop()
	c.printf("friday: %d restaurants × %d iPads on %d node(s) (%s%s), %d idle screens; engine %s; %v per round after %v warm-up, %d rounds\n",
		cfg.restaurants, cfg.ipads, cfg.nodes, strings.Join(fl.urls, " "), map[bool]string{true: ", joined by redis-server", false: ""}[res.Redis],
		cfg.screens, res.Engine, cfg.duration, cfg.warmup, cfg.rounds)
	if cfg.pace > 0 {
		c.printf("pace: each iPad starts a flow every %v (%.0f flows/s offered across the platform)\n", cfg.pace,
			float64(cfg.restaurants*cfg.ipads)/cfg.pace.Seconds())
	}
	c.printf("machine: %d CPUs, load average before %s; open files limit %s\n", res.CPUs, res.LoadAvg, res.NofileBench)

	start := time.Now()
	rs := make([]*restaurant, cfg.restaurants)
	{
		sctx, cancel := context.WithCancelCause(ctx)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i := range rs {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				r, err := setUpRestaurant(sctx, fl.url(i), i, cfg.ipads)
				if err != nil {
					cancel(fmt.Errorf("restaurant %d: %w", i+1, err))
					return
				}
				rs[i] = r
			})
		}
		wg.Wait()
		if err := context.Cause(sctx); err != nil {
			cancel(nil)
			return nil, err
		}
		cancel(nil)
	}
	c.printf("set-up: %d organizations signed up, menus (4 items, 3 stations), a manager and %d servers with PINs, %d paired iPads each,\n"+
		"        a cash drawer session open: %.1f s\n", cfg.restaurants, cfg.ipads, cfg.ipads, time.Since(start).Seconds())

	fo := newFanout()
	measuring := &atomic.Bool{}
	var bumpH []*Histogram // one per kitchen screen
	errs := newErrCounter()

	// Kitchen screens: one per restaurant, bumping every ticket.
	var kitchens []*wsClientF
	for i, r := range rs {
		h := NewHistogram()
		bumpH = append(bumpH, h)
		k, err := dialScreen(ctx, fl.url(i+1), r, screenAt{r.loc, r.manager, true}, fo, measuring, h, errs)
		if err != nil {
			return nil, fmt.Errorf("kitchen screen %d: %w", i+1, err)
		}
		kitchens = append(kitchens, k)
	}
	defer func() {
		for _, k := range kitchens {
			k.conn.CloseNow()
		}
	}()

	// Idle screens.
	if cfg.perLocation > 0 {
		n, err := addQuietLocations(ctx, fl, rs, cfg)
		if err != nil {
			return nil, err
		}
		res.Quiet = n
		c.printf("quiet locations: %d added to the organizations, %d screens each\n", n, cfg.perLocation)
	}
	idle, failed := dialIdleScreens(ctx, c, fl, rs, cfg, fo)
	defer func() {
		var wg sync.WaitGroup
		for _, s := range idle {
			wg.Go(func() { s.conn.CloseNow() })
		}
		wg.Wait()
	}()
	res.Connected, res.DialFailed = len(idle)+len(kitchens), failed
	res.SetupS = time.Since(start).Seconds()
	c.printf("screens: %d connected (%d kitchen screens bumping, %d idle), %d failed; set-up in all %.1f s\n",
		res.Connected, len(kitchens), len(idle), failed, res.SetupS)

	dbPIDs, dbMsg := databaseProcesses(c)
	if dbMsg != "" {
		c.printf("database: %s\n", dbMsg)
	}
	c.printf("\n%-6s %9s %7s %7s %7s %7s %7s %7s %7s %6s %17s %10s %s\n", "round", "paid/s", "open", "add", "send", "cash", "card", "menu",
		"bump", "errors", "fan-out p50/p99", "RSS MB", "CPU% nodes/db/redis/bench/other")
	c.printf("%-6s %9s %7s %7s %7s %7s %7s %7s %7s %6s %17s %10s\n", "", "", "p99 ms", "", "", "", "", "", "", "", "ms (missing)", "per node")

	tr := newLoadTransport(cfg.restaurants*cfg.ipads*2, new(atomic.Int64))
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()

	for round := 1; round <= cfg.rounds; round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, h := range bumpH {
			h.reset()
		}
		errs.reset()
		fo.reset()
		for _, r := range rs {
			r.sends.Store(0)
			r.conflicts.Store(0)
		}
		rd := runFridayRound(ctx, cfg, fl, rs, hc, fo, measuring, errs, dbPIDs)
		bump := NewHistogram()
		for _, h := range bumpH {
			bump.Merge(h)
		}
		rd.Steps[stBump] = stepOf(stBump, bump, errs.byStep(stBump))
		rd.Errors += errs.byStep(stBump)
		var expected uint64
		for _, r := range rs {
			expected += r.sends.Load() * uint64(r.screens.Load())
			rd.SendConflicts += r.conflicts.Load()
		}
		rd.Fanout = fo.stats(expected)
		rd.ErrorSeen = errs.samples()
		res.Rounds = append(res.Rounds, rd)
		printFridayRow(c, strconv.Itoa(round), rd)
		for _, e := range rd.ErrorSeen {
			c.printf("       error: %s\n", e)
		}
	}
	res.Median = medianFriday(res.Rounds)
	printFridayRow(c, "median", res.Median)

	for i, p := range fl.procs {
		if exited, werr := p.Exited(); exited {
			c.printf("\nWARNING: node %d exited during the run: %v\n%s\n", i+1, werr, p.tailLog())
		}
	}
	var errsAll uint64
	p99ok := true
	for _, rd := range res.Rounds {
		errsAll += rd.Errors
	}
	c.printf("\nper step, median of rounds: n, errors (all rounds), p50 / p99 / max ms\n")
	for s := range nSteps {
		m := res.Median.Steps[s]
		var e uint64
		for _, rd := range res.Rounds {
			e += rd.Steps[s].Errors
		}
		c.printf("  %-10s %8d %6d %8.2f %8.2f %8.2f\n", m.Step, m.N, e, m.P50MS, m.P99MS, m.MaxMS)
		if m.N > 0 && m.P99MS >= targetFridayP99MS {
			p99ok = false
		}
	}
	c.printf("sends answered 409 version_conflict (a bump had moved the check) and made again at the version the 409 carries: %d a round (median)\n",
		res.Median.SendConflicts)
	f := res.Median.Fanout
	c.printf("fan-out (median of rounds): %d screens; the ticket of each check's separate send, from its answer to each screen of the\n"+
		"  location: p50 %.2f ms, p99 %.2f ms, max %.2f ms (from the request: p50 %.2f, p99 %.2f); %d received of %d, %d missing, %d before the answer\n",
		res.Connected, f.P50MS, f.P99MS, f.MaxMS, f.SentP50MS, f.SentP99MS, f.Received, f.Expected, f.Missing, f.BeforeAck)
	res.ThroughputMet = res.Median.PaidPerSec >= targetFridayChecks
	res.P99Met = p99ok
	res.ErrorsMet = errsAll == 0
	res.FanoutMet = res.Connected >= targetScreens && f.P99MS < targetFanoutP99MS && f.Missing == 0
	c.printf("target ≥ %d fully paid checks/s: %s (%.0f)\n", targetFridayChecks, verdict(res.ThroughputMet), res.Median.PaidPerSec)
	c.printf("target p99 < %d ms per step: %s\n", targetFridayP99MS, verdict(res.P99Met))
	c.printf("target zero errors: %s (%d in all rounds)\n", verdict(res.ErrorsMet), errsAll)
	c.printf("target fan-out p99 < %d ms with %d screens: %s (%d screens, p99 %.2f ms, %d missing)\n", targetFanoutP99MS, targetScreens,
		verdict(res.FanoutMet), res.Connected, f.P99MS, f.Missing)
	return res, nil
}

func printFridayRow(c *common, label string, rd fridayRound) {
	var rss []string
	for _, kb := range rd.RSSKB {
		rss = append(rss, fmt.Sprintf("%.0f", float64(kb)/1024))
	}
	c.printf("%-6s %9.0f %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %6d %17s %10s %s\n", label, rd.PaidPerSec, rd.Steps[stOpen].P99MS,
		rd.Steps[stAdd].P99MS, rd.Steps[stSend].P99MS, rd.Steps[stCash].P99MS, rd.Steps[stCard].P99MS, rd.Steps[stMenu].P99MS,
		rd.Steps[stBump].P99MS, rd.Errors, fmt.Sprintf("%.1f/%.1f (%d)", rd.Fanout.P50MS, rd.Fanout.P99MS, rd.Fanout.Missing),
		strings.Join(rss, "/"), fmt.Sprintf("%.0f/%.0f/%.0f/%.0f/%.0f", rd.CPU["nodes"], rd.CPU["db"], rd.CPU["redis"], rd.CPU["bench"], rd.CPU["other"]))
}

// reset empties a histogram in place.
func (h *Histogram) reset() {
	clear(h.counts)
	h.n, h.max, h.min = 0, 0, math.MaxInt64
}

func stepOf(s int, h *Histogram, errs uint64) stepStats {
	return stepStats{Step: stepNames[s], N: h.Count(), Errors: errs, P50MS: ms(h.Quantile(.5)), P99MS: ms(h.Quantile(.99)), MaxMS: ms(h.Max())}
}

// errCounter counts errors by step and keeps a few samples.
type errCounter struct {
	n    [nSteps]atomic.Uint64
	mu   sync.Mutex
	seen map[string]bool
}

func newErrCounter() *errCounter { return &errCounter{seen: map[string]bool{}} }

func (e *errCounter) add(step int, err error) {
	e.n[step].Add(1)
	e.mu.Lock()
	if len(e.seen) < 8 {
		e.seen[stepNames[step]+": "+simplifyErr(err)] = true
	}
	e.mu.Unlock()
}

func (e *errCounter) byStep(s int) uint64 { return e.n[s].Load() }

func (e *errCounter) reset() {
	for i := range e.n {
		e.n[i].Store(0)
	}
	e.mu.Lock()
	e.seen = map[string]bool{}
	e.mu.Unlock()
}

func (e *errCounter) samples() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for s := range e.seen {
		out = append(out, s)
	}
	return out
}

// runFridayRound runs every iPad's loop for warm-up and the measured time.
func runFridayRound(ctx context.Context, cfg fridayConfig, fl *fleet, rs []*restaurant, hc *http.Client, fo *fanout,
	measuring *atomic.Bool, errs *errCounter, dbPIDs func() []int) fridayRound {
	measureFrom := time.Now().Add(cfg.warmup)
	stopAt := measureFrom.Add(cfg.duration)
	nIPads := len(rs) * cfg.ipads
	hs := make([][nSteps]*Histogram, nIPads)
	var paid atomic.Uint64
	var wg sync.WaitGroup
	pids := make([]int, len(fl.procs))
	for i, p := range fl.procs {
		pids[i] = p.PID()
	}
	redisPID := 0
	if fl.redis != nil {
		redisPID = fl.redis.Process.Pid
	}
	peak := make([]int64, len(pids))
	type sample struct {
		cpu cpuSample
		db  []int
		dbT map[int]int64
	}
	from := make(chan sample, 1)
	stopMon := make(chan struct{})
	monDone := make(chan struct{})
	go func() {
		defer close(monDone)
		time.Sleep(time.Until(measureFrom))
		measuring.Store(true)
		var db []int
		if dbPIDs != nil {
			db = dbPIDs()
		}
		from <- sample{sampleCPU(append([]int{os.Getpid(), redisPID}, pids...)...), db, procTicks(db)}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			for i, p := range pids {
				if kb, err := procStatusKB(p, "VmRSS"); err == nil {
					peak[i] = max(peak[i], kb)
				}
			}
			select {
			case <-stopMon:
				return
			case <-tick.C:
			}
		}
	}()
	for i := range nIPads {
		for s := range nSteps {
			hs[i][s] = NewHistogram()
		}
		r := rs[i/cfg.ipads]
		ipad := i % cfg.ipads
		base := fl.url(i) // round-robin over the nodes, as a load balancer
		wg.Go(func() {
			next := time.Now()
			if cfg.pace > 0 { // spread the iPads' starts over one pace
				next = next.Add(cfg.pace * time.Duration(i) / time.Duration(nIPads))
			}
			for n := 0; ctx.Err() == nil; n++ {
				if cfg.pace > 0 {
					if d := time.Until(next); d > 0 {
						select {
						case <-ctx.Done():
							return
						case <-time.After(d):
						}
					}
					next = next.Add(cfg.pace)
					if now := time.Now(); next.Before(now) {
						next = now // late: no burst to catch up
					}
				}
				start := time.Now()
				if !start.Before(stopAt) {
					return
				}
				measured := !start.Before(measureFrom)
				if cfg.menuEvery > 0 && n%cfg.menuEvery == cfg.menuEvery-1 {
					t0 := time.Now()
					err := r.reloadMenu(ctx, hc, base, ipad)
					if measured {
						if err != nil {
							errs.add(stMenu, err)
						} else {
							hs[i][stMenu].Record(time.Since(t0))
						}
					}
				}
				if r.flow(ctx, hc, base, ipad, measured, hs[i], errs, fo) && measured {
					paid.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	a := <-from
	b := sampleCPU(append([]int{os.Getpid(), redisPID}, pids...)...)
	dbEnd := procTicks(a.db)
	time.Sleep(cfg.settle)
	measuring.Store(false)
	close(stopMon)
	<-monDone

	rd := fridayRound{ElapsedS: elapsed.Seconds(), Paid: paid.Load(), PaidPerSec: float64(paid.Load()) / elapsed.Seconds(), CPU: map[string]float64{}}
	for s := range stBump { // the bumps are the kitchen screens'
		all := NewHistogram()
		for i := range hs {
			all.Merge(hs[i][s])
		}
		rd.Steps[s] = stepOf(s, all, errs.byStep(s))
		rd.Errors += errs.byStep(s)
	}
	secs := b.at.Sub(a.cpu.at).Seconds()
	pct := func(t int64) float64 { return 100 * float64(t) / clockTicks / secs }
	var nodesT int64
	for _, p := range pids {
		t := b.procs[p] - a.cpu.procs[p]
		nodesT += t
		rd.NodeCPU = append(rd.NodeCPU, pct(t))
	}
	var dbT int64
	for p, t := range dbEnd {
		dbT += t - a.dbT[p]
	}
	benchT := b.procs[os.Getpid()] - a.cpu.procs[os.Getpid()]
	var redisT int64
	if redisPID != 0 {
		redisT = b.procs[redisPID] - a.cpu.procs[redisPID]
	}
	rd.CPU["nodes"], rd.CPU["db"], rd.CPU["redis"], rd.CPU["bench"] = pct(nodesT), pct(dbT), pct(redisT), pct(benchT)
	rd.CPU["other"] = max(pct(b.busy-a.cpu.busy-nodesT-dbT-redisT-benchT), 0)
	for i, p := range pids {
		kb, _ := procStatusKB(p, "VmRSS")
		rd.RSSKB = append(rd.RSSKB, kb)
		rd.PeakRSSKB = append(rd.PeakRSSKB, max(peak[i], kb))
	}
	return rd
}

// flow is one check's life on an iPad; it reports whether the check was
// paid and closed. A failed step ends the flow (the check is left open).
func (r *restaurant) flow(ctx context.Context, hc *http.Client, base string, ipad int, measured bool, hs [nSteps]*Histogram,
	errs *errCounter, fo *fanout) bool {
	tok := r.staff[ipad]
	step := func(s int, t0 time.Time, err error) bool {
		if !measured {
			return err == nil
		}
		if err != nil {
			errs.add(s, err)
			return false
		}
		hs[s].Record(time.Since(t0))
		return true
	}
	orderID := id.New(id.Order)
	body, _ := json.Marshal(map[string]any{"id": orderID, "type": "dine_in", "covers": 2, "lines": r.lines, "send": true})
	t0 := time.Now()
	status, b, err := r.post(ctx, hc, base+"/api/v1/orders", tok, body)
	if err == nil && status != http.StatusCreated {
		err = fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
	}
	if !step(stOpen, t0, err) {
		return false
	}

	add, _ := json.Marshal(map[string]any{"ops": []map[string]any{{"op_id": "add-" + orderID, "type": "add_line", "line": r.extra}}})
	t0 = time.Now()
	status, b, err = r.post(ctx, hc, base+"/api/v1/orders/"+orderID+"/ops", tok, add)
	var ops struct {
		Order struct {
			Version int64 `json:"version"`
		} `json:"order"`
	}
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
	} else if err == nil {
		if err = json.Unmarshal(b, &ops); err == nil && ops.Order.Version == 0 {
			err = errors.New("answer without the check's version")
		}
	}
	if !step(stAdd, t0, err) {
		return false
	}

	var fp *fanPending
	if measured {
		fp = fo.expect(orderID)
	}
	t0 = time.Now()
	version := ops.Order.Version
	for try := 0; ; try++ {
		status, b, err = r.post(ctx, hc, base+"/api/v1/orders/"+orderID+"/send", tok, []byte(`{"version":`+strconv.FormatInt(version, 10)+`}`))
		if err != nil || status != http.StatusConflict || try == 3 {
			break
		}
		// The kitchen bumped a ticket of this check since the iPad read
		// it (a bump moves its lines, so the check's version): as a POS
		// does, send again at the version the 409 carries.
		var p struct {
			Code    string `json:"code"`
			Current struct {
				Version int64 `json:"version"`
			} `json:"current"`
		}
		if json.Unmarshal(b, &p) != nil || p.Code != "version_conflict" || p.Current.Version == 0 {
			break
		}
		version = p.Current.Version
		if measured {
			r.conflicts.Add(1)
		}
	}
	if fp != nil {
		fp.ack.Store(time.Now().UnixNano())
	}
	var sent struct {
		Order struct {
			Totals struct {
				Total struct {
					Amount int64 `json:"amount"`
				} `json:"total"`
			} `json:"totals"`
		} `json:"order"`
		Tickets []json.RawMessage `json:"tickets"`
	}
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
	} else if err == nil {
		if err = json.Unmarshal(b, &sent); err == nil && (len(sent.Tickets) != 1 || sent.Order.Totals.Total.Amount <= 1000) {
			err = fmt.Errorf("send made %d tickets (want 1), total %d", len(sent.Tickets), sent.Order.Totals.Total.Amount)
		}
	}
	if !step(stSend, t0, err) {
		return false
	}
	if measured {
		r.sends.Add(1)
	}

	cash, _ := json.Marshal(map[string]any{"method": "cash", "amount": map[string]any{"amount": 1000, "currency": "GBP"}, "drawer_id": r.drawer})
	t0 = time.Now()
	status, b, err = r.post(ctx, hc, base+"/api/v1/orders/"+orderID+"/payments", tok, cash)
	if err == nil {
		err = checkPaid(status, b, "cash", 1000, "sent")
	}
	if !step(stCash, t0, err) {
		return false
	}

	t0 = time.Now()
	status, b, err = r.post(ctx, hc, base+"/api/v1/orders/"+orderID+"/payments", tok, []byte(`{"method":"card","card":{"payment_method":"pm_card_visa"}}`))
	if err == nil {
		err = checkPaid(status, b, "card", sent.Order.Totals.Total.Amount-1000, "closed")
	}
	return step(stCard, t0, err)
}

// checkPaid accepts a 201 with a captured payment of method for amount
// that leaves the check in orderStatus.
func checkPaid(status int, b []byte, method string, amount int64, orderStatus string) error {
	if status != http.StatusCreated {
		return fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
	}
	var a struct {
		Payment struct {
			Method string                 `json:"method"`
			Status string                 `json:"status"`
			Amount struct{ Amount int64 } `json:"amount"`
		} `json:"payment"`
		Order struct {
			Status string `json:"status"`
		} `json:"order"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if a.Payment.Method != method || a.Payment.Status != "captured" || a.Payment.Amount.Amount != amount || a.Order.Status != orderStatus {
		return fmt.Errorf("%s payment %s of %d, check %s; want captured %d, check %s", a.Payment.Method, a.Payment.Status,
			a.Payment.Amount.Amount, a.Order.Status, amount, orderStatus)
	}
	return nil
}

// reloadMenu is GET menu with the ETag last seen: 304, or 200 with a new one.
func (r *restaurant) reloadMenu(ctx context.Context, hc *http.Client, base string, ipad int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/locations/"+r.loc+"/menu", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.staff[ipad])
	req.Header.Set("X-Forwarded-For", r.xff)
	if r.etag != "" {
		req.Header.Set("If-None-Match", r.etag)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	switch {
	case err != nil:
		return err
	case resp.StatusCode == http.StatusNotModified:
		return nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "":
		return nil
	}
	return fmt.Errorf("menu: status %d: %s", resp.StatusCode, truncate(buf.String(), 200))
}

// post sends body as the restaurant's address (each restaurant is behind
// its own, as it would be: the tool is the load balancer).
func (r *restaurant) post(ctx context.Context, hc *http.Client, url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Forwarded-For", r.xff)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

// setUpRestaurant signs a restaurant up and makes it ready for service.
func setUpRestaurant(ctx context.Context, base string, idx, ipads int) (*restaurant, error) {
	r := &restaurant{idx: idx, xff: fmt.Sprintf("10.%d.%d.%d", 60+idx/62500, idx/250%250, idx%250+1)}
	hc := &http.Client{Timeout: 60 * time.Second}
	call := func(method, path, token string, body, out any, want int) error {
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", r.xff)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, truncate(buf.String(), 300))
		}
		if want == http.StatusOK && path == "/api/v1/locations/"+r.loc+"/menu" {
			r.etag = resp.Header.Get("ETag")
		}
		if out != nil {
			return json.Unmarshal(buf.Bytes(), out)
		}
		return nil
	}
	var su struct {
		AccessToken string `json:"access_token"`
		Location    struct {
			ID string `json:"id"`
		} `json:"location"`
	}
	email := fmt.Sprintf("friday-%d-%s@example.com", idx, strings.ToLower(id.New(id.Order)[4:]))
	if err := call("POST", "/api/v1/signup", "", map[string]string{"business_name": fmt.Sprintf("Friday Bistro %d", idx+1),
		"owner_name": "Owner", "email": email, "password": "friday-night-" + email, "country": "GB", "currency": "GBP",
		"timezone": "Europe/London"}, &su, http.StatusCreated); err != nil {
		return nil, err
	}
	owner := su.AccessToken
	r.loc, r.owner = su.Location.ID, owner
	var obj struct {
		ID       string `json:"id"`
		Variants []struct {
			ID string `json:"id"`
		} `json:"variants"`
	}
	if err := call("POST", "/api/v1/tax-categories", owner, map[string]any{"name": "Food",
		"rates": map[string]int{"dine_in": 2000, "takeaway": 2000, "delivery": 2000}}, &obj, http.StatusCreated); err != nil {
		return nil, err
	}
	tax := obj.ID
	if err := call("POST", "/api/v1/categories", owner, map[string]any{"name": "Mains"}, &obj, http.StatusCreated); err != nil {
		return nil, err
	}
	cat := obj.ID
	item := func(name, station string, price int) (map[string]any, error) {
		if err := call("POST", "/api/v1/items", owner, map[string]any{"category_id": cat, "name": name, "tax_category_id": tax,
			"kitchen_station": station, "variants": []map[string]any{{"name": "Regular", "price": map[string]any{"amount": price, "currency": "GBP"}}}},
			&obj, http.StatusCreated); err != nil {
			return nil, err
		}
		return map[string]any{"item_id": obj.ID, "variant_id": obj.Variants[0].ID, "quantity": 1}, nil
	}
	for _, st := range []string{"grill", "cold", "bar"} {
		if err := call("POST", "/api/v1/kitchen/stations", owner, map[string]any{"location_id": r.loc, "key": st, "name": st}, nil, http.StatusCreated); err != nil {
			return nil, err
		}
	}
	for _, it := range []struct {
		name, station string
		price         int
	}{{"Steak frites", "grill", 2250}, {"Burrata", "cold", 950}, {"Negroni", "bar", 1100}, {"Chips", "grill", 450}} {
		l, err := item(it.name, it.station, it.price)
		if err != nil {
			return nil, err
		}
		if it.station == "bar" {
			r.extra = l
		} else if len(r.lines) < 2 {
			r.lines = append(r.lines, l)
		}
	}
	addEmployee := func(name, role, pin string) error {
		return call("POST", "/api/v1/employees", owner, map[string]any{"name": name, "pin": pin,
			"roles": []map[string]string{{"location_id": r.loc, "role_id": role}}}, nil, http.StatusCreated)
	}
	if err := addEmployee("Manager", "manager", "1357"); err != nil {
		return nil, err
	}
	for i := range ipads {
		if err := addEmployee(fmt.Sprintf("Server %d", i+1), "server", fmt.Sprintf("24%02d", i)); err != nil {
			return nil, err
		}
	}
	for i := range ipads {
		var reg struct {
			Code string `json:"pairing_code"`
		}
		if err := call("POST", "/api/v1/devices", owner, map[string]any{"location_id": r.loc, "name": fmt.Sprintf("iPad %d", i+1)}, &reg, http.StatusCreated); err != nil {
			return nil, err
		}
		var pair struct {
			Token string `json:"device_token"`
		}
		if err := call("POST", "/api/v1/devices/pair", "", map[string]string{"code": reg.Code}, &pair, http.StatusOK); err != nil {
			return nil, err
		}
		var pin struct {
			AccessToken string `json:"access_token"`
		}
		if err := call("POST", "/api/v1/auth/pin", pair.Token, map[string]string{"pin": fmt.Sprintf("24%02d", i)}, &pin, http.StatusOK); err != nil {
			return nil, err
		}
		r.staff = append(r.staff, pin.AccessToken)
		if i == 0 {
			if err := call("POST", "/api/v1/auth/pin", pair.Token, map[string]string{"pin": "1357"}, &pin, http.StatusOK); err != nil {
				return nil, err
			}
			r.manager = pin.AccessToken
		}
	}
	if err := call("POST", "/api/v1/cash-drawers", owner, map[string]any{"location_id": r.loc, "name": "Friday till"}, &obj, http.StatusCreated); err != nil {
		return nil, err
	}
	r.drawer = obj.ID
	if err := call("POST", "/api/v1/cash-drawers/"+r.drawer+"/sessions", r.manager, map[string]any{"float": map[string]any{"amount": 20000, "currency": "GBP"}},
		nil, http.StatusCreated); err != nil {
		return nil, err
	}
	if err := call("GET", "/api/v1/locations/"+r.loc+"/menu", r.staff[0], nil, nil, http.StatusOK); err != nil {
		return nil, err
	}
	if r.etag == "" {
		return nil, errors.New("the menu came without an ETag")
	}
	return r, nil
}

// fanPending is a check whose separate send is being timed.
type fanPending struct {
	sent int64        // UnixNano just before the send was written
	ack  atomic.Int64 // UnixNano when its answer was read; 0 before
}

// fanout times the bar ticket of each measured send on every screen of
// its location.
type fanout struct {
	pending atomic.Pointer[sync.Map] // order ID → *fanPending
	shards  [64]fanShard
}

type fanShard struct {
	mu                sync.Mutex
	fromAck, fromSend *Histogram
	received, before  uint64
}

func newFanout() *fanout {
	f := &fanout{}
	f.reset()
	return f
}

func (f *fanout) reset() {
	f.pending.Store(&sync.Map{})
	for i := range f.shards {
		s := &f.shards[i]
		s.mu.Lock()
		s.fromAck, s.fromSend, s.received, s.before = NewHistogram(), NewHistogram(), 0, 0
		s.mu.Unlock()
	}
}

func (f *fanout) expect(orderID string) *fanPending {
	p := &fanPending{sent: time.Now().UnixNano()}
	f.pending.Load().Store(orderID, p)
	return p
}

var (
	barStation    = []byte(`"station":"bar"`)
	subjectIDJSON = []byte(`"subject_id":"`)
)

// seen handles a message read at at by screen n.
func (f *fanout) seen(n int, b []byte, at time.Time) {
	if !bytes.Contains(b, ticketCreatedType) || !bytes.Contains(b, barStation) {
		return
	}
	oid := fieldAfter(b, orderIDField)
	if oid == "" {
		return
	}
	v, ok := f.pending.Load().Load(oid)
	if !ok {
		return
	}
	p := v.(*fanPending)
	s := &f.shards[n%len(f.shards)]
	ack := p.ack.Load()
	s.mu.Lock()
	s.received++
	s.fromSend.Record(time.Duration(at.UnixNano() - p.sent))
	if ack == 0 || at.UnixNano() < ack {
		s.before++
		s.fromAck.Record(0)
	} else {
		s.fromAck.Record(time.Duration(at.UnixNano() - ack))
	}
	s.mu.Unlock()
}

func (f *fanout) stats(expected uint64) fanoutStats {
	a, s := NewHistogram(), NewHistogram()
	var st fanoutStats
	for i := range f.shards {
		sh := &f.shards[i]
		sh.mu.Lock()
		a.Merge(sh.fromAck)
		s.Merge(sh.fromSend)
		st.Received += sh.received
		st.BeforeAck += sh.before
		sh.mu.Unlock()
	}
	st.Expected = expected
	st.Missing = expected - min(expected, st.Received)
	st.P50MS, st.P99MS, st.MaxMS = ms(a.Quantile(.5)), ms(a.Quantile(.99)), ms(a.Max())
	st.SentP50MS, st.SentP99MS = ms(s.Quantile(.5)), ms(s.Quantile(.99))
	return st
}

// fieldAfter is the JSON string value that follows key (which ends in '"').
func fieldAfter(b, key []byte) string {
	i := bytes.Index(b, key)
	if i < 0 {
		return ""
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// wsClientF is a screen: a WebSocket on a location.
type wsClientF struct {
	conn *websocket.Conn
}

var screenSeq atomic.Int64

// allEvents makes screens take every event of their location, as before
// the kitchen display asked for tickets only (-all-events).
var allEvents bool

// screenAt is where a screen is: a location of r's, the token it
// connects with, and whether the location is the busy one (its screens are
// timed).
type screenAt struct {
	loc, token string
	busy       bool
}

// dialScreen connects a screen of r's at where; with bump set it is a
// kitchen screen, which bumps every ticket it is shown, timing each bump.
func dialScreen(ctx context.Context, base string, r *restaurant, where screenAt, fo *fanout, measuring *atomic.Bool, bump *Histogram,
	errs *errCounter) (*wsClientF, error) {
	kitchen := bump != nil
	// As the kitchen display (/kds) does: its location's tickets only.
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/ws?location_id=" + where.loc + "&types=ticket."
	if allEvents {
		wsURL = "ws" + strings.TrimPrefix(base, "http") + "/api/v1/ws?location_id=" + where.loc
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + where.token},
		"X-Forwarded-For": {r.xff}}, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(8 << 20)
	if where.busy {
		r.screens.Add(1)
	}
	n := int(screenSeq.Add(1))
	var tickets chan string
	if kitchen {
		tickets = make(chan string, 1<<16)
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		go func() {
			for tid := range tickets {
				t0 := time.Now()
				status, b, err := r.post(context.Background(), hc, base+"/api/v1/kitchen/tickets/"+tid+"/bump", r.manager, nil)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
				}
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errs.add(stBump, err)
				} else {
					bump.Record(time.Since(t0))
				}
			}
		}()
	}
	go func() {
		if tickets != nil {
			defer close(tickets)
		}
		for {
			_, b, err := conn.Read(context.Background())
			at := time.Now()
			if err != nil {
				return
			}
			fo.seen(n, b, at)
			if tickets != nil && bytes.Contains(b, ticketCreatedType) {
				if tid := fieldAfter(b, subjectIDJSON); tid != "" {
					select {
					case tickets <- tid:
					default: // the screen is hopelessly behind; the bump is not made
					}
				}
			}
		}
	}()
	return &wsClientF{conn: conn}, nil
}

// addQuietLocations adds to the restaurants' organizations, in turn, the
// locations the screens that do not fit on the busy ones at
// -screens-per-location need, and returns how many it added.
func addQuietLocations(ctx context.Context, fl *fleet, rs []*restaurant, cfg fridayConfig) (int, error) {
	rest := cfg.screens - (cfg.perLocation-1)*len(rs)
	if rest <= 0 {
		return 0, nil
	}
	n := (rest + cfg.perLocation - 1) / cfg.perLocation
	ectx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			hc := &http.Client{Timeout: 60 * time.Second}
			for j := i; j < n && ectx.Err() == nil; j += len(rs) {
				body, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("Quiet site %d", j+1)})
				status, b, err := r.post(ectx, hc, fl.url(j)+"/api/v1/locations", r.owner, body)
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("status %d: %s", status, truncate(string(b), 200))
				}
				var loc struct {
					ID string `json:"id"`
				}
				if err == nil {
					err = json.Unmarshal(b, &loc)
				}
				if err != nil {
					cancel(fmt.Errorf("quiet location %d: %w", j+1, err))
					return
				}
				mu.Lock()
				r.quiet = append(r.quiet, loc.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return n, context.Cause(ectx)
}

// screenPlaces lists where the idle screens go: spread over the busy
// locations in turn or, with -screens-per-location, that many to each
// location, the busy ones first.
func screenPlaces(rs []*restaurant, cfg fridayConfig) ([]*restaurant, []screenAt) {
	var owners []*restaurant
	var places []screenAt
	add := func(r *restaurant, at screenAt) {
		if len(places) < cfg.screens {
			owners, places = append(owners, r), append(places, at)
		}
	}
	if cfg.perLocation == 0 {
		for i := range cfg.screens {
			r := rs[i%len(rs)]
			add(r, screenAt{r.loc, r.manager, true})
		}
		return owners, places
	}
	for range cfg.perLocation - 1 { // beside each busy location's kitchen screen
		for _, r := range rs {
			add(r, screenAt{r.loc, r.manager, true})
		}
	}
	for _, r := range rs {
		for _, q := range r.quiet {
			for range cfg.perLocation {
				add(r, screenAt{q, r.owner, false})
			}
		}
	}
	return owners, places
}

// dialIdleScreens connects -screens idle screens, node in turn, dialConc
// at a time.
func dialIdleScreens(ctx context.Context, c *common, fl *fleet, rs []*restaurant, cfg fridayConfig, fo *fanout) ([]*wsClientF, int) {
	owners, places := screenPlaces(rs, cfg)
	var mu sync.Mutex
	var out []*wsClientF
	failed := 0
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(cfg.dialConc, len(places))) {
		wg.Go(func() {
			for i := range jobs {
				var s *wsClientF
				var err error
				for attempt := range 4 {
					if attempt > 0 {
						time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
					}
					if s, err = dialScreen(ctx, fl.url(i), owners[i], places[i], fo, nil, nil, nil); err == nil {
						break
					}
				}
				mu.Lock()
				if err != nil {
					failed++
				} else {
					out = append(out, s)
				}
				mu.Unlock()
			}
		})
	}
	last := time.Now()
	for i := range places {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
		if time.Since(last) > 3*time.Second {
			mu.Lock()
			c.printf("  … %d screens connected\n", len(out))
			mu.Unlock()
			last = time.Now()
		}
	}
	close(jobs)
	wg.Wait()
	return out, failed
}

// medianFriday takes the median of each figure across rounds.
func medianFriday(rs []fridayRound) fridayRound {
	pick := func(f func(fridayRound) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	m := fridayRound{CPU: map[string]float64{}}
	m.ElapsedS = pick(func(r fridayRound) float64 { return r.ElapsedS })
	m.Paid = uint64(pick(func(r fridayRound) float64 { return float64(r.Paid) }))
	m.PaidPerSec = pick(func(r fridayRound) float64 { return r.PaidPerSec })
	m.Errors = uint64(pick(func(r fridayRound) float64 { return float64(r.Errors) }))
	m.SendConflicts = uint64(pick(func(r fridayRound) float64 { return float64(r.SendConflicts) }))
	for s := range nSteps {
		m.Steps[s] = stepStats{Step: stepNames[s],
			N:      uint64(pick(func(r fridayRound) float64 { return float64(r.Steps[s].N) })),
			Errors: uint64(pick(func(r fridayRound) float64 { return float64(r.Steps[s].Errors) })),
			P50MS:  pick(func(r fridayRound) float64 { return r.Steps[s].P50MS }),
			P99MS:  pick(func(r fridayRound) float64 { return r.Steps[s].P99MS }),
			MaxMS:  pick(func(r fridayRound) float64 { return r.Steps[s].MaxMS })}
	}
	m.Fanout = fanoutStats{
		Expected:  uint64(pick(func(r fridayRound) float64 { return float64(r.Fanout.Expected) })),
		Received:  uint64(pick(func(r fridayRound) float64 { return float64(r.Fanout.Received) })),
		Missing:   uint64(pick(func(r fridayRound) float64 { return float64(r.Fanout.Missing) })),
		BeforeAck: uint64(pick(func(r fridayRound) float64 { return float64(r.Fanout.BeforeAck) })),
		P50MS:     pick(func(r fridayRound) float64 { return r.Fanout.P50MS }),
		P99MS:     pick(func(r fridayRound) float64 { return r.Fanout.P99MS }),
		MaxMS:     pick(func(r fridayRound) float64 { return r.Fanout.MaxMS }),
		SentP50MS: pick(func(r fridayRound) float64 { return r.Fanout.SentP50MS }),
		SentP99MS: pick(func(r fridayRound) float64 { return r.Fanout.SentP99MS }),
	}
	for _, k := range []string{"nodes", "db", "redis", "bench", "other"} {
		m.CPU[k] = pick(func(r fridayRound) float64 { return r.CPU[k] })
	}
	if len(rs) > 0 {
		for i := range rs[0].RSSKB {
			m.RSSKB = append(m.RSSKB, int64(pick(func(r fridayRound) float64 { return float64(r.RSSKB[i]) })))
			m.PeakRSSKB = append(m.PeakRSSKB, int64(pick(func(r fridayRound) float64 { return float64(r.PeakRSSKB[i]) })))
			m.NodeCPU = append(m.NodeCPU, pick(func(r fridayRound) float64 { return r.NodeCPU[i] }))
		}
	}
	return m
}
