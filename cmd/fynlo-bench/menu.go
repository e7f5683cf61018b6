package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// menuConfig is the menu scenario's flags.
type menuConfig struct {
	conns    int
	duration time.Duration
	warmup   time.Duration
	rounds   int
	changes  int
}

// menuResult is the menu scenario's JSON summary.
type menuResult struct {
	Server    string `json:"server"`
	LogLevel  string `json:"log_level"`
	CPUs      int    `json:"cpus"`
	Conns     int    `json:"conns"`
	Rounds    int    `json:"rounds"`
	Items     int    `json:"items"`
	BodyBytes int    `json:"body_bytes"`

	Full    phasePair `json:"full_menu"`    // 200 with the whole menu
	NotMod  phasePair `json:"not_modified"` // 304 to a matching If-None-Match
	Visible struct {
		Write    durationStats `json:"write"`    // the PUT that 86es or brings back the item
		Stream   durationStats `json:"stream"`   // from before the PUT to the event on a WebSocket
		Snapshot durationStats `json:"snapshot"` // from before the PUT to a menu request showing it
		Failures int           `json:"failures"` // changes not seen within 5 s
	} `json:"change_visible"`

	FullMet, NotModMet, VisibleMet bool `json:"-"`
}

// phasePair is one phase's ceiling and fynlo rounds and medians.
type phasePair struct {
	Ceiling       []loadResult `json:"ceiling_rounds"`
	Fynlo         []loadResult `json:"fynlo_rounds"`
	CeilingMedian loadResult   `json:"ceiling_median"`
	FynloMedian   loadResult   `json:"fynlo_median"`
	Ratio         float64      `json:"ratio"`
}

func setupMenu(fs *flag.FlagSet, c *common) runFunc {
	var cfg menuConfig
	c.register(fs, true)
	fs.IntVar(&cfg.conns, "c", 64, "concurrent keep-alive connections")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration of each phase")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unrecorded warm-up before each phase")
	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds of (ceiling, fynlo) for each phase; medians are reported")
	fs.IntVar(&cfg.changes, "changes", 20, "86es (and returns) of an item, timed until seen on the stream and in the menu")
	return func(ctx context.Context) (any, error) { return runMenu(ctx, c, cfg) }
}

// runMenu loads the demo restaurant's menu: the whole document, the 304
// path, and how fast a change shows.
func runMenu(ctx context.Context, c *common, cfg menuConfig) (*menuResult, error) {
	if cfg.conns < 1 || cfg.rounds < 1 || cfg.duration <= 0 {
		return nil, fmt.Errorf("-c, -rounds and -d must be positive")
	}
	t, err := openTarget(ctx, c, "FYNLO_DEMO=true")
	if err != nil {
		return nil, err
	}
	defer t.Close()
	res := &menuResult{Server: t.describe(), LogLevel: effectiveLogLevel(c, t), CPUs: runtime.NumCPU(), Conns: cfg.conns, Rounds: cfg.rounds}
	c.printf("menu: GET /api/v1/locations/{id}/menu of the demo restaurant, %d connections, %v per phase after %v warm-up, %d rounds\n",
		cfg.conns, cfg.duration, cfg.warmup, cfg.rounds)
	c.printf("server: %s, log level %s (a -url server must have been started with --demo)\n", res.Server, res.LogLevel)

	api := newAPIClient(t.URL)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if err := api.call(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": "demo@fynlo.test", "password": "fynlo-demo"},
		&login, http.StatusOK); err != nil {
		return nil, fmt.Errorf("demo sign-in: %w", err)
	}
	api.token = login.AccessToken
	var locs struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := api.call(ctx, http.MethodGet, "/api/v1/locations", nil, &locs, http.StatusOK); err != nil || len(locs.Items) == 0 {
		return nil, fmt.Errorf("locations: %v", err)
	}
	path := "/api/v1/locations/" + locs.Items[0].ID + "/menu"
	body, etag, err := getMenu(ctx, api, path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Items) == 0 {
		return nil, fmt.Errorf("the menu is empty or unreadable (%v): is this the demo restaurant?", err)
	}
	res.Items, res.BodyBytes = len(doc.Items), len(body)

	// The ceiling serves the very bytes and ETag.
	dir, err := os.MkdirTemp("", "fynlo-bench-menu-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "menu.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		return nil, err
	}
	ceil, err := spawnCeilingArgs(ctx, "-body-file", file, "-etag", etag)
	if err != nil {
		return nil, err
	}
	defer ceil.Stop()
	c.printf("menu: %d items, %d bytes, ETag %s; ceiling: bare net/http (pid %d) serving the same bytes and ETag\n\n",
		res.Items, res.BodyBytes, etag, ceil.PID())

	hdr := http.Header{"Authorization": {"Bearer " + api.token}, "Accept": {"application/json"}}
	cond := hdr.Clone()
	cond.Set("If-None-Match", etag)
	c.printf("%-9s %-6s %-8s %9s %8s %8s %8s %8s %6s %24s %8s\n", "phase", "round", "target", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
		"errors", "CPU% server/bench/other", "µs/req")
	for _, ph := range []struct {
		name string
		hdr  http.Header
		want int
		out  *phasePair
	}{{"full", hdr, http.StatusOK, &res.Full}, {"304", cond, http.StatusNotModified, &res.NotMod}} {
		row := func(label, name string, r loadResult) {
			c.printf("%-9s %-6s %-8s %9.0f %8.2f %8.2f %8.2f %8.2f %6d %24s %8.0f\n", ph.name, label, name, r.RPS, r.P50MS, r.P90MS, r.P99MS,
				r.MaxMS, r.Errors, fmt.Sprintf("%.0f/%.0f/%.0f", r.CPU.Target, r.CPU.Bench, r.CPU.Other), r.SrvCPUUS)
			for _, e := range r.ErrorSeen {
				c.printf("          error: %s\n", e)
			}
		}
		for round := 1; round <= cfg.rounds; round++ {
			for _, side := range []struct {
				name, url string
				pid       int
				out       *[]loadResult
			}{{"ceiling", ceil.URL + path, ceil.PID(), &ph.out.Ceiling}, {"fynlo", t.URL + path, t.PID(), &ph.out.Fynlo}} {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				r := runLoad(ctx, loadSpec{URL: side.url, Header: ph.hdr, Conns: cfg.conns, Warmup: cfg.warmup, Duration: cfg.duration,
					PID: side.pid, Want: ph.want})
				*side.out = append(*side.out, r)
				row(fmt.Sprint(round), side.name, r)
			}
		}
		ph.out.CeilingMedian, ph.out.FynloMedian = medianLoad(ph.out.Ceiling), medianLoad(ph.out.Fynlo)
		if ph.out.CeilingMedian.RPS > 0 {
			ph.out.Ratio = ph.out.FynloMedian.RPS / ph.out.CeilingMedian.RPS
		}
		row("median", "ceiling", ph.out.CeilingMedian)
		row("median", "fynlo", ph.out.FynloMedian)
		c.printf("\n")
	}

	if err := timeChanges(ctx, api, t.URL, locs.Items[0].ID, path, doc.Items[0].ID, cfg.changes, res); err != nil {
		return nil, err
	}
	v := &res.Visible
	c.printf("change visible (%d 86es and returns of %q): write p50 %.1f ms; on the stream p50 %.1f ms, max %.1f ms; "+
		"in the menu p50 %.1f ms, max %.1f ms; %d not seen\n\n", cfg.changes, doc.Items[0].Name, v.Write.P50MS, v.Stream.P50MS,
		v.Stream.MaxMS, v.Snapshot.P50MS, v.Snapshot.MaxMS, v.Failures)

	full, nm := res.Full.FynloMedian, res.NotMod.FynloMedian
	res.FullMet = full.RPS >= 10000 && full.P99MS < 20 && full.Errors == 0
	res.NotModMet = nm.RPS >= 20000 && nm.Errors == 0
	res.VisibleMet = v.Failures == 0 && v.Stream.MaxMS < 100 && v.Snapshot.MaxMS < 100
	c.printf("target full menu ≥ 10,000 req/s, p99 < 20 ms at %d connections: %s (%.0f req/s, p99 %.2f ms; %.0f%% of the ceiling)\n",
		cfg.conns, verdict(res.FullMet), full.RPS, full.P99MS, 100*res.Full.Ratio)
	c.printf("target 304 ≥ 20,000 req/s: %s (%.0f req/s; %.0f%% of the ceiling)\n", verdict(res.NotModMet), nm.RPS, 100*res.NotMod.Ratio)
	c.printf("target change visible < 100 ms on the stream and in the menu: %s\n", verdict(res.VisibleMet))
	return res, nil
}

// getMenu fetches the menu once and returns its body as sent and its ETag.
func getMenu(ctx context.Context, api *apiClient, path string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.base+path, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+api.token)
	resp, err := api.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		return nil, "", fmt.Errorf("GET %s: status %d, ETag %q", path, resp.StatusCode, resp.Header.Get("ETag"))
	}
	return b, resp.Header.Get("ETag"), nil
}

// timeChanges 86es an item and brings it back, n times in all, and times
// each change until a WebSocket has its event and the menu shows it.
func timeChanges(ctx context.Context, api *apiClient, base, locationID, path, itemID string, n int, res *menuResult) error {
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/ws?location_id=" + locationID
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + api.token}}})
	if err != nil {
		return fmt.Errorf("websocket: %w", err)
	}
	defer conn.CloseNow()
	type seen struct {
		subject string
		at      time.Time // when the frame was read, not when the loop below got to it
	}
	events := make(chan seen, 256) // availability events
	go func() {
		for {
			_, b, err := conn.Read(ctx)
			at := time.Now()
			if err != nil {
				close(events)
				return
			}
			var e struct{ Type, SubjectID string }
			var raw map[string]any
			if json.Unmarshal(b, &raw) == nil {
				e.Type, _ = raw["type"].(string)
				e.SubjectID, _ = raw["subject_id"].(string)
			}
			if strings.HasPrefix(e.Type, "availability.") {
				events <- seen{e.SubjectID, at}
			}
		}
	}()
	_, etag, err := getMenu(ctx, api, path)
	if err != nil {
		return err
	}
	var writes, stream, snap []time.Duration
	version := int64(0)
	for i := range n {
		var out struct {
			Version int64 `json:"version"`
		}
		start := time.Now()
		if err := api.call(ctx, http.MethodPut, "/api/v1/locations/"+locationID+"/availability/"+itemID,
			map[string]any{"version": version, "unavailable": i%2 == 0, "reason": "bench"}, &out, http.StatusOK); err != nil {
			return err
		}
		writes = append(writes, time.Since(start))
		version = out.Version
		deadline := time.After(5 * time.Second)
		seenStream, seenMenu := false, false
		for !seenStream || !seenMenu {
			select {
			case e, ok := <-events:
				if !ok {
					return fmt.Errorf("the WebSocket closed")
				}
				if e.subject == itemID && !seenStream {
					seenStream = true
					stream = append(stream, e.at.Sub(start))
				}
			case <-deadline:
				res.Visible.Failures++
				seenStream, seenMenu = true, true
			default:
				if !seenMenu {
					if _, tag, err := getMenu(ctx, api, path); err == nil && tag != etag {
						seenMenu, etag = true, tag
						snap = append(snap, time.Since(start))
					}
				} else {
					time.Sleep(100 * time.Microsecond)
				}
			}
		}
	}
	res.Visible.Write, res.Visible.Stream, res.Visible.Snapshot = summarize(writes), summarize(stream), summarize(snap)
	return nil
}
