package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// wsConfig is the ws-fanout scenario's flags.
type wsConfig struct {
	clients        int
	dialConc       int
	dialRetries    int
	events         int
	interval       time.Duration
	settle         time.Duration
	deliverTimeout time.Duration
	idle           time.Duration
}

// wsResult is the ws-fanout scenario's JSON summary.
type wsResult struct {
	Server           string         `json:"server"`
	CPUs             int            `json:"cpus"`
	ClientsRequested int            `json:"clients_requested"`
	Connected        int            `json:"connected"`
	DialFailures     map[string]int `json:"dial_failures,omitempty"` // error → clients that gave up
	DialRetries      int            `json:"dial_retries"`
	ConnectS         float64        `json:"connect_s"` // wall time to dial everyone
	Dial             durationStats  `json:"dial"`      // successful handshake times
	NofileBench      string         `json:"nofile_bench"`
	NofileServer     string         `json:"nofile_server,omitempty"`
	RSSBeforeKB      int64          `json:"server_rss_before_kb,omitempty"`
	RSSIdleKB        int64          `json:"server_rss_idle_kb,omitempty"`
	RSSAfterEventsKB int64          `json:"server_rss_after_events_kb,omitempty"`
	PerConnKB        float64        `json:"server_kb_per_conn,omitempty"` // VmRSS growth ÷ connected
	RSSHalfKB        int64          `json:"server_rss_half_kb,omitempty"` // with the first half connected
	MarginalKB       float64        `json:"server_marginal_kb_per_conn,omitempty"`
	GoMemBefore      goMem          `json:"server_go_mem_before"`
	GoMemHalf        goMem          `json:"server_go_mem_half"`
	GoMemIdle        goMem          `json:"server_go_mem_idle"`
	GoMemMarginal    goMem          `json:"server_go_mem_marginal_per_conn"` // growth from half to all ÷ connections added
	IdleS            float64        `json:"idle_s"`                          // extra idle time before the events
	ConnsAfterIdle   float64        `json:"server_ws_connections_after_idle"`
	NetRun           netCounters    `json:"net_run"`    // kernel counters over the whole run (machine-wide)
	NetEvents        netCounters    `json:"net_events"` // … over the event phase
	ServerWSGauge    float64        `json:"server_ws_connections_gauge"`
	ServerGoroutines float64        `json:"server_goroutines"`
	ClientRSSKB      int64          `json:"bench_rss_kb"`
	Events           []eventReport  `json:"events"`
	EventCPU         cpuShare       `json:"event_phase_cpu"`         // first POST → last delivery
	ServerCPUPerEvMS float64        `json:"server_cpu_ms_per_event"` // server CPU time per fanned-out event
	BenchCPUPerEvMS  float64        `json:"bench_cpu_ms_per_event"`  // client CPU time per event (all clients)
	Delivery         durationStats  `json:"delivery"`                // POST sent → client received, all (client, event) pairs
	Expected         int            `json:"deliveries_expected"`
	Delivered        int            `json:"deliveries"`
	Missing          int            `json:"missing"`
	Duplicates       int            `json:"duplicates"`
	OutOfOrder       int            `json:"out_of_order"`
	Unexpected       int            `json:"unexpected_messages"`
	SeqMismatch      int            `json:"seq_mismatches"`
	EarlyMessages    int            `json:"messages_before_first_event"`
	Dropped          map[string]int `json:"dropped,omitempty"` // connections the server ended mid-run, by reason
	ServerExited     bool           `json:"server_exited"`
	AllConnectedMet  bool           `json:"target_all_connected_met"`
	P99Met           bool           `json:"target_p99_met"`      // < 50 ms
	MemoryMet        bool           `json:"target_memory_met"`   // < 40 KB per connection
	ExactlyOnceMet   bool           `json:"target_exactly_once"` // every client got every event once, in order
}

// eventReport is one triggered event's fan-out.
type eventReport struct {
	Index     int     `json:"index"`
	Seq       int64   `json:"seq"`
	SubjectID string  `json:"subject_id"`
	PostMS    float64 `json:"post_ms"`
	Received  int     `json:"received"`
	FirstMS   float64 `json:"first_ms"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	LastMS    float64 `json:"last_ms"` // time to the last client
	Err       string  `json:"error,omitempty"`
}

func setupWSFanout(fs *flag.FlagSet, c *common) runFunc {
	var cfg wsConfig
	c.register(fs, true)
	fs.IntVar(&cfg.clients, "clients", 10000, "live WebSocket clients")
	fs.IntVar(&cfg.dialConc, "dial-concurrency", 200, "handshakes in flight at once")
	fs.IntVar(&cfg.dialRetries, "dial-retries", 5, "retries per client before giving up")
	fs.IntVar(&cfg.events, "events", 20, "events to trigger with POST /api/v1/locations")
	fs.DurationVar(&cfg.interval, "interval", 200*time.Millisecond, "time between event POSTs")
	fs.DurationVar(&cfg.settle, "settle", 5*time.Second, "idle time after connecting before measuring memory")
	fs.DurationVar(&cfg.idle, "idle", 0, "extra time to hold the connections idle after measuring memory, before the events "+
		"(beyond ~2.5 min on loopback, bursts of TCP keep-alive probes can overflow net.core.netdev_max_backlog and abort connections; "+
		"the kernel counters in the report show it)")
	fs.DurationVar(&cfg.deliverTimeout, "deliver-timeout", 15*time.Second, "how long after the last POST to wait for deliveries")
	return func(ctx context.Context) (any, error) { return runWSFanout(ctx, c, cfg) }
}

func runWSFanout(ctx context.Context, c *common, cfg wsConfig) (*wsResult, error) {
	if cfg.clients < 1 || cfg.dialConc < 1 || cfg.events < 0 {
		return nil, errors.New("-clients and -dial-concurrency must be positive")
	}
	res := &wsResult{CPUs: runtime.NumCPU(), ClientsRequested: cfg.clients, DialFailures: map[string]int{}, Dropped: map[string]int{}}
	// Raise the limit before spawning: the server inherits it.
	lim, err := raiseNofile(uint64(cfg.clients) + 1024)
	res.NofileBench = fmt.Sprintf("%d (hard %d)", lim.Cur, lim.Max)
	if err != nil {
		c.printf("warning: could not raise RLIMIT_NOFILE: %v\n", err)
	}
	t, err := openTarget(ctx, c)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	pid := t.PID()
	res.Server = t.describe()
	c.printf("ws-fanout: %d live WebSocket clients, %d events %v apart\n", cfg.clients, cfg.events, cfg.interval)
	c.printf("server: %s\n", res.Server)
	c.printf("note: the %d clients run in this process on the same %d CPUs as the server; delivery times include the\n"+
		"      client's own scheduling delay waking %d reader goroutines\n", cfg.clients, res.CPUs, cfg.clients)
	if pid != 0 {
		res.NofileServer = procNofile(pid)
	}
	c.printf("open-files limit: bench %s, server %s\n", res.NofileBench, orDash(res.NofileServer))

	api := newAPIClient(t.URL)
	acc, err := api.signup(ctx)
	if err != nil {
		return nil, fmt.Errorf("signup: %w", err)
	}
	// Sign-up hashed a password (argon2id, 19 MiB); give the runtime a
	// moment with it before taking the baseline.
	time.Sleep(cfg.settle)
	if pid != 0 {
		res.RSSBeforeKB, _ = procStatusKB(pid, "VmRSS")
	}
	res.GoMemBefore = readGoMem(ctx, api)
	net0 := readNetCounters()

	clock0 := time.Now()      // the shared monotonic clock: every timestamp is time.Since(clock0)
	var received atomic.Int64 // messages received by all clients
	// Connect in two halves, letting each settle, so that memory is read
	// at half and at full load: the growth between the two is the marginal
	// cost of a connection, free of any fixed offset in the baseline.
	d := newDialer(cfg, t.URL, acc.Token, clock0, &received)
	start := time.Now()
	half := cfg.clients / 2
	clients, err := d.dial(ctx, c, half)
	defer func() { closeAll(clients) }()
	if err != nil {
		return nil, err
	}
	connectTime := time.Since(start)
	time.Sleep(cfg.settle)
	halfConnected := len(clients)
	if pid != 0 {
		res.RSSHalfKB, _ = procStatusKB(pid, "VmRSS")
	}
	res.GoMemHalf = readGoMem(ctx, api)
	start = time.Now()
	more, err := d.dial(ctx, c, cfg.clients-half)
	clients = append(clients, more...)
	if err != nil {
		return nil, err
	}
	connectTime += time.Since(start)
	res.ConnectS, res.Dial, res.DialRetries, res.DialFailures = connectTime.Seconds(), summarize(d.handshake), d.retries, d.failures
	res.Connected = len(clients)
	c.printf("connected %d/%d in %.1f s (handshake p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d retries)\n",
		res.Connected, cfg.clients, res.ConnectS, res.Dial.P50MS, res.Dial.P99MS, res.Dial.MaxMS, res.DialRetries)
	for e, n := range res.DialFailures {
		c.printf("  gave up on %d clients: %s\n", n, e)
	}
	if res.Connected == 0 {
		return res, errors.New("no client connected")
	}

	time.Sleep(cfg.settle)
	if pid != 0 {
		res.RSSIdleKB, _ = procStatusKB(pid, "VmRSS")
		res.PerConnKB = float64(res.RSSIdleKB-res.RSSBeforeKB) / float64(res.Connected)
		if n := res.Connected - halfConnected; n > 0 {
			res.MarginalKB = float64(res.RSSIdleKB-res.RSSHalfKB) / float64(n)
		}
	}
	res.GoMemIdle = readGoMem(ctx, api)
	if n := float64(res.Connected - halfConnected); n > 0 {
		res.GoMemMarginal = goMem{HeapKB: (res.GoMemIdle.HeapKB - res.GoMemHalf.HeapKB) / n,
			StackKB: (res.GoMemIdle.StackKB - res.GoMemHalf.StackKB) / n}
	}
	res.ServerWSGauge, _ = api.metric(ctx, "fynlo_websocket_connections")
	res.ServerGoroutines, _ = api.metric(ctx, "go_goroutines")
	res.ClientRSSKB, _ = procStatusKB(os.Getpid(), "VmRSS")
	if pid != 0 {
		c.printf("server VmRSS: %.1f MB before, %.1f MB with %d idle clients (after %v) → %.1f KB per connection\n",
			kbToMB(res.RSSBeforeKB), kbToMB(res.RSSIdleKB), res.Connected, cfg.settle, res.PerConnKB)
		c.printf("server VmRSS at %d clients: %.1f MB → marginal %.1f KB per connection from %d to %d\n",
			halfConnected, kbToMB(res.RSSHalfKB), res.MarginalKB, halfConnected, res.Connected)
	} else {
		c.printf("server memory: not measured (give -server-pid with -url)\n")
	}
	c.printf("server Go memory in use (from /metrics) before / at %d / at %d clients: heap %.1f / %.1f / %.1f MB, stacks %.1f / %.1f / %.1f MB\n"+
		"  → marginal per connection: %.1f KB heap (live or not yet collected) + %.1f KB stack\n",
		halfConnected, res.Connected, res.GoMemBefore.HeapKB/1024, res.GoMemHalf.HeapKB/1024, res.GoMemIdle.HeapKB/1024,
		res.GoMemBefore.StackKB/1024, res.GoMemHalf.StackKB/1024, res.GoMemIdle.StackKB/1024,
		res.GoMemMarginal.HeapKB, res.GoMemMarginal.StackKB)
	c.printf("server reports %.0f WebSocket connections, %.0f goroutines; bench VmRSS %.1f MB\n",
		res.ServerWSGauge, res.ServerGoroutines, kbToMB(res.ClientRSSKB))
	if cfg.idle > 0 {
		c.printf("holding the connections idle for %v…\n", cfg.idle)
		time.Sleep(cfg.idle)
		res.IdleS = cfg.idle.Seconds()
		res.ConnsAfterIdle, _ = api.metric(ctx, "fynlo_websocket_connections")
		c.printf("server reports %.0f WebSocket connections after the idle time\n", res.ConnsAfterIdle)
	}
	// Live-only clients must not have been sent anything yet.
	res.EarlyMessages = int(received.Load())

	// Trigger the events and wait for them to arrive everywhere.
	cpu0, netEv0 := sampleCPU(pid, os.Getpid()), readNetCounters()
	sendAt, ids, postErrs := triggerEvents(ctx, api, cfg, clock0, res)
	for _, e := range postErrs {
		if e == nil {
			res.Expected += res.Connected
		}
	}
	deadline := time.Now().Add(cfg.deliverTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil && int(received.Load()) < res.Expected+res.EarlyMessages {
		time.Sleep(20 * time.Millisecond)
	}
	cpu1, net1 := sampleCPU(pid, os.Getpid()), readNetCounters()
	res.NetRun, res.NetEvents = net1.sub(net0), net1.sub(netEv0)
	res.EventCPU = cpuBetween(cpu0, cpu1, pid, os.Getpid())
	if cfg.events > 0 {
		perEvent := func(p int) float64 {
			return float64(cpu1.procs[p]-cpu0.procs[p]) * 1000 / clockTicks / float64(cfg.events)
		}
		res.ServerCPUPerEvMS, res.BenchCPUPerEvMS = perEvent(pid), perEvent(os.Getpid())
	}
	if pid != 0 {
		res.RSSAfterEventsKB, _ = procStatusKB(pid, "VmRSS")
	}
	if t.proc != nil {
		res.ServerExited, _ = t.proc.Exited()
	}
	closeStart := time.Since(clock0)
	closeAll(clients)
	analyze(clients, sendAt, ids, postErrs, closeStart, res)
	report(c, cfg, res)
	return res, nil
}

// triggerEvents POSTs cfg.events locations, cfg.interval apart, and returns
// when each POST was sent (on the shared clock) and the location IDs.
func triggerEvents(ctx context.Context, api *apiClient, cfg wsConfig, clock0 time.Time, res *wsResult) ([]time.Duration, []string, []error) {
	sendAt := make([]time.Duration, cfg.events)
	ids := make([]string, cfg.events)
	errs := make([]error, cfg.events)
	first := time.Now()
	for i := range cfg.events {
		time.Sleep(time.Until(first.Add(time.Duration(i) * cfg.interval)))
		sendAt[i] = time.Since(clock0)
		ids[i], errs[i] = api.createLocation(ctx, fmt.Sprintf("Fan-out %d", i+1))
		r := eventReport{Index: i + 1, SubjectID: ids[i], PostMS: ms(time.Since(clock0) - sendAt[i])}
		if errs[i] != nil {
			r.Err = errs[i].Error()
		}
		res.Events = append(res.Events, r)
	}
	return sendAt, ids, errs
}

// goMem is the server's Go heap and stack memory in use, from the Go
// collector on /metrics: spans holding objects (live, or garbage not yet
// collected) and goroutine stacks, whether or not their pages are resident.
type goMem struct {
	HeapKB  float64 `json:"heap_kb"`
	StackKB float64 `json:"stack_kb"`
}

func readGoMem(ctx context.Context, api *apiClient) goMem {
	heap, _ := api.metric(ctx, "go_memstats_heap_inuse_bytes")
	stack, _ := api.metric(ctx, "go_memstats_stack_inuse_bytes")
	return goMem{HeapKB: heap / 1024, StackKB: stack / 1024}
}

// simplifyErr strips per-connection detail (ports) so errors group.
func simplifyErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s, "127.0.0.1:") {
		return "…" + s[i:]
	}
	return s
}

func kbToMB(kb int64) float64 { return float64(kb) / 1024 }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
