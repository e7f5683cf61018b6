package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"
)

// meConfig is the me scenario's flags.
type meConfig struct {
	conns    int
	duration time.Duration
	warmup   time.Duration
	rounds   int
	logins   int
	path     string
}

// meResult is the me scenario's JSON summary.
type meResult struct {
	Server        string        `json:"server"`
	LogLevel      string        `json:"log_level"`
	CPUs          int           `json:"cpus"`
	Conns         int           `json:"conns"`
	DurationS     float64       `json:"duration_s"`
	WarmupS       float64       `json:"warmup_s"`
	Rounds        int           `json:"rounds"`
	BodyBytes     int           `json:"body_bytes"`
	Login         durationStats `json:"login"`
	Ceiling       []loadResult  `json:"ceiling_rounds"`
	Fynlo         []loadResult  `json:"fynlo_rounds"`
	CeilingMedian loadResult    `json:"ceiling_median"`
	FynloMedian   loadResult    `json:"fynlo_median"`
	Ratio         float64       `json:"ratio"` // median fynlo req/s ÷ median ceiling req/s
	RoundRatios   []float64     `json:"round_ratios"`
	ServerRSSKB   int64         `json:"server_rss_kb_after,omitempty"`
	ServerLogB    int64         `json:"server_log_bytes,omitempty"`
	RatioMet      bool          `json:"target_ratio_met"` // ≥ 0.5
	P99Met        bool          `json:"target_p99_met"`   // < 10 ms
}

func setupMe(fs *flag.FlagSet, c *common) runFunc {
	var cfg meConfig
	c.register(fs, true)
	fs.IntVar(&cfg.conns, "c", 64, "concurrent keep-alive connections (closed loop: one request in flight each)")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration of each phase")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unrecorded warm-up before each phase")
	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds of (ceiling, fynlo); medians are reported")
	fs.IntVar(&cfg.logins, "logins", 5, "sequential logins to time")
	fs.StringVar(&cfg.path, "path", "/api/v1/me", "the GET endpoint to drive (sent with the bearer token); the ceiling mimics its body size")
	return func(ctx context.Context) (any, error) { return runMe(ctx, c, cfg) }
}

func runMe(ctx context.Context, c *common, cfg meConfig) (*meResult, error) {
	if cfg.conns < 1 || cfg.rounds < 1 || cfg.duration <= 0 {
		return nil, fmt.Errorf("-c, -rounds and -d must be positive")
	}
	t, err := openTarget(ctx, c)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	res := &meResult{Server: t.describe(), LogLevel: effectiveLogLevel(c, t), CPUs: runtime.NumCPU(), Conns: cfg.conns,
		DurationS: cfg.duration.Seconds(), WarmupS: cfg.warmup.Seconds(), Rounds: cfg.rounds}
	c.printf("me: GET %s, %d connections, %v per phase after %v warm-up, %d rounds of (ceiling, fynlo)\n",
		cfg.path, cfg.conns, cfg.duration, cfg.warmup, cfg.rounds)
	c.printf("server: %s, log level %s\n", res.Server, res.LogLevel)
	c.printf("note: the load generator, fynlo and the ceiling server all share this machine's %d CPUs;\n"+
		"      CPU%% is of one CPU over the measured part of a phase; µs/req is server CPU time per request\n", res.CPUs)

	api := newAPIClient(t.URL)
	acc, err := api.signup(ctx)
	if err != nil {
		return nil, fmt.Errorf("signup: %w", err)
	}
	var logins []time.Duration
	for range cfg.logins {
		d, err := api.login(ctx, acc)
		if err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		logins = append(logins, d)
	}
	res.Login = summarize(logins)
	c.printf("login: %d sequential, median %.1f ms (min %.1f, max %.1f)\n",
		res.Login.N, res.Login.P50MS, res.Login.MinMS, res.Login.MaxMS)

	body, err := api.get(ctx, cfg.path)
	if err != nil {
		return nil, err
	}
	res.BodyBytes = len(body)
	ceil, err := spawnCeiling(ctx, len(body))
	if err != nil {
		return nil, err
	}
	defer ceil.Stop()
	c.printf("ceiling: bare net/http in a child process (pid %d) answering every request with a %d-byte JSON body, like %s\n\n",
		ceil.PID(), len(body), cfg.path)

	hdr := http.Header{"Authorization": {"Bearer " + acc.Token}, "Accept": {"application/json"}}
	c.printf("%-6s %-8s %9s %8s %8s %8s %8s %6s %5s %24s %8s\n", "round", "target", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
		"errors", "conns", "CPU% server/bench/other", "µs/req")
	row := func(label, name string, r loadResult) {
		c.printf("%-6s %-8s %9.0f %8.2f %8.2f %8.2f %8.2f %6d %5d %24s %8.0f\n", label, name, r.RPS, r.P50MS, r.P90MS, r.P99MS, r.MaxMS,
			r.Errors, r.NewConns, fmt.Sprintf("%.0f/%.0f/%.0f", r.CPU.Target, r.CPU.Bench, r.CPU.Other), r.SrvCPUUS)
	}
	for round := 1; round <= cfg.rounds; round++ {
		for _, side := range []struct {
			name, url string
			pid       int
			out       *[]loadResult
		}{{"ceiling", ceil.URL + cfg.path, ceil.PID(), &res.Ceiling}, {"fynlo", t.URL + cfg.path, t.PID(), &res.Fynlo}} {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r := runLoad(ctx, loadSpec{URL: side.url, Header: hdr, Conns: cfg.conns, Warmup: cfg.warmup, Duration: cfg.duration, PID: side.pid})
			*side.out = append(*side.out, r)
			row(fmt.Sprint(round), side.name, r)
			for _, e := range r.ErrorSeen {
				c.printf("       error: %s\n", e)
			}
		}
		res.RoundRatios = append(res.RoundRatios, res.Fynlo[round-1].RPS/res.Ceiling[round-1].RPS)
	}
	res.CeilingMedian, res.FynloMedian = medianLoad(res.Ceiling), medianLoad(res.Fynlo)
	res.Ratio = res.FynloMedian.RPS / res.CeilingMedian.RPS
	row("median", "ceiling", res.CeilingMedian)
	row("median", "fynlo", res.FynloMedian)

	if t.proc != nil {
		if exited, werr := t.proc.Exited(); exited {
			c.printf("\nWARNING: the fynlo server exited during the run: %v\n%s\n", werr, t.proc.tailLog())
		}
		if fi, err := os.Stat(t.proc.LogPath); err == nil {
			res.ServerLogB = fi.Size()
		}
	}
	if pid := t.PID(); pid != 0 {
		res.ServerRSSKB, _ = procStatusKB(pid, "VmRSS")
	}
	res.RatioMet = res.Ratio >= 0.5
	res.P99Met = res.FynloMedian.P99MS < 10 && res.FynloMedian.Errors == 0
	c.printf("\nfynlo/ceiling throughput: %.2f (per round:", res.Ratio)
	for _, r := range res.RoundRatios {
		c.printf(" %.2f", r)
	}
	c.printf(")\n")
	if res.ServerRSSKB > 0 {
		c.printf("fynlo RSS after the run: %.1f MB; server log written: %.1f MB\n", float64(res.ServerRSSKB)/1024, float64(res.ServerLogB)/(1<<20))
	}
	c.printf("target fynlo ≥ 50%% of ceiling req/s: %s (%.0f%%)\n", verdict(res.RatioMet), 100*res.Ratio)
	c.printf("target fynlo p99 < 10 ms at %d connections: %s (%.2f ms, %d errors)\n", cfg.conns, verdict(res.P99Met),
		res.FynloMedian.P99MS, res.FynloMedian.Errors)
	return res, nil
}

// medianLoad takes the median of each measurement across rounds.
func medianLoad(rs []loadResult) loadResult {
	pick := func(f func(loadResult) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	return loadResult{
		Requests: uint64(pick(func(r loadResult) float64 { return float64(r.Requests) })),
		Errors:   uint64(pick(func(r loadResult) float64 { return float64(r.Errors) })),
		ElapsedS: pick(func(r loadResult) float64 { return r.ElapsedS }),
		RPS:      pick(func(r loadResult) float64 { return r.RPS }),
		P50MS:    pick(func(r loadResult) float64 { return r.P50MS }),
		P90MS:    pick(func(r loadResult) float64 { return r.P90MS }),
		P99MS:    pick(func(r loadResult) float64 { return r.P99MS }),
		MaxMS:    pick(func(r loadResult) float64 { return r.MaxMS }),
		NewConns: int64(pick(func(r loadResult) float64 { return float64(r.NewConns) })),
		SrvCPUUS: pick(func(r loadResult) float64 { return r.SrvCPUUS }),
		CPU: cpuShare{
			Target: pick(func(r loadResult) float64 { return r.CPU.Target }),
			Bench:  pick(func(r loadResult) float64 { return r.CPU.Bench }),
			Other:  pick(func(r loadResult) float64 { return r.CPU.Other }),
		},
	}
}

// effectiveLogLevel is the spawned server's FYNLO_LOG_LEVEL.
func effectiveLogLevel(c *common, t *target) string {
	switch {
	case t.proc == nil:
		return "unknown (server given by -url)"
	case c.logLevel != "":
		return c.logLevel
	case os.Getenv("FYNLO_LOG_LEVEL") != "":
		return os.Getenv("FYNLO_LOG_LEVEL") + " (from the environment)"
	default:
		return "info (server default)"
	}
}
