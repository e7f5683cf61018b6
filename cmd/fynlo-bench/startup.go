package main

import (
	"context"
	"flag"
	"fmt"
	"time"
)

// startupConfig is the startup scenario's flags.
type startupConfig struct {
	n        int
	interval time.Duration
	timeout  time.Duration
}

// startupResult is the startup scenario's JSON summary: one entry per
// database engine measured.
type startupResult struct {
	Engines []engineStartup `json:"engines"`
}

type engineStartup struct {
	Engine  string        `json:"engine"`
	Ready   durationStats `json:"ready"` // spawn → /readyz 200
	Stop    durationStats `json:"stop"`  // SIGTERM → exit
	RunsMS  []float64     `json:"runs_ms"`
	Errors  []string      `json:"errors,omitempty"`
	Target  string        `json:"target,omitempty"`
	Met     bool          `json:"target_met"`
	Comment string        `json:"comment,omitempty"`
}

func setupStartup(fs *flag.FlagSet, c *common) runFunc {
	var cfg startupConfig
	c.register(fs, false)
	fs.IntVar(&cfg.n, "n", 10, "servers to start, one after another")
	fs.DurationVar(&cfg.interval, "poll", 2*time.Millisecond, "how often to poll /readyz")
	fs.DurationVar(&cfg.timeout, "timeout", 60*time.Second, "give up on a server not ready after this long")
	return func(ctx context.Context) (any, error) { return runStartup(ctx, c, cfg) }
}

func runStartup(ctx context.Context, c *common, cfg startupConfig) (*startupResult, error) {
	bin, err := findServerBin(c.serverBin)
	if err != nil {
		return nil, err
	}
	c.printf("startup: %d × spawn `%s serve` with a fresh data directory, poll /readyz every %v until 200, SIGTERM\n",
		cfg.n, bin, cfg.interval)
	res := &startupResult{}
	engines := []struct{ name, url, comment string }{{"sqlite", "", "fresh SQLite file each run: creates it, " +
		"generates signing keys and applies migrations"}}
	if c.databaseURL != "" {
		engines = append(engines, struct{ name, url, comment string }{"postgres", c.databaseURL,
			"same database every run: migrations apply only on the first; signing keys are generated each run"})
	}
	for _, eng := range engines {
		var env []string
		if eng.url != "" {
			env = append(env, "FYNLO_DATABASE_URL="+eng.url)
		}
		r := engineStartup{Engine: eng.name, Comment: eng.comment}
		var ready, stop []time.Duration
		for i := range cfg.n {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s, err := startServer(bin, env, c.keep)
			if err != nil {
				return nil, err
			}
			d, err := s.waitReady(ctx, cfg.interval, cfg.timeout)
			took, stopErr := s.Stop()
			if err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("run %d: %v", i+1, err))
				continue
			}
			if stopErr != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("run %d: %v", i+1, stopErr))
			}
			ready, stop = append(ready, d), append(stop, took)
			r.RunsMS = append(r.RunsMS, ms(d))
		}
		r.Ready, r.Stop = summarize(ready), summarize(stop)
		c.printf("\n%s (%s)\n", eng.name, eng.comment)
		c.printf("  runs (ms):")
		for _, v := range r.RunsMS {
			c.printf(" %.1f", v)
		}
		c.printf("\n  spawn → ready: median %.1f ms, min %.1f, max %.1f (%d runs)\n", r.Ready.P50MS, r.Ready.MinMS, r.Ready.MaxMS, r.Ready.N)
		c.printf("  SIGTERM → exit: median %.1f ms, max %.1f\n", r.Stop.P50MS, r.Stop.MaxMS)
		for _, e := range r.Errors {
			c.printf("  error: %s\n", e)
		}
		if eng.name == "sqlite" {
			r.Target, r.Met = "< 300 ms", r.Ready.N == cfg.n && r.Ready.P50MS < 300
			c.printf("  target start to ready on SQLite < 300 ms: %s (median %.1f ms)\n", verdict(r.Met), r.Ready.P50MS)
		}
		res.Engines = append(res.Engines, r)
	}
	return res, nil
}
