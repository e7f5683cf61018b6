package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec is a closed-loop HTTP load: conns workers, each with its own
// keep-alive connection, send a request, wait for the whole answer and
// send the next, for warmup (not recorded) and then duration.
type loadSpec struct {
	URL      string
	Header   http.Header
	Conns    int
	Warmup   time.Duration
	Duration time.Duration
	PID      int // the server process, for CPU accounting; 0 if unknown
	Want     int // the status that counts as success; 0 for 200
}

// loadResult is what one closed-loop run measured.
type loadResult struct {
	Requests  uint64   `json:"requests"`
	Errors    uint64   `json:"errors"`
	ElapsedS  float64  `json:"elapsed_s"`
	RPS       float64  `json:"rps"`
	P50MS     float64  `json:"p50_ms"`
	P90MS     float64  `json:"p90_ms"`
	P99MS     float64  `json:"p99_ms"`
	MaxMS     float64  `json:"max_ms"`
	NewConns  int64    `json:"new_conns"` // TCP connections dialled, warm-up included; Conns when keep-alive works
	CPU       cpuShare `json:"cpu"`       // during the measured part
	SrvCPUUS  float64  `json:"server_cpu_us_per_req"`
	ErrorSeen []string `json:"error_samples,omitempty"`
}

// newLoadTransport is the client every closed-loop run uses: HTTP/1.1, one
// idle connection kept per worker, no compression.
func newLoadTransport(conns int, dials *atomic.Int64) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// runLoad drives spec and returns its measurements. Errors (transport
// failures and answers other than spec.Want) are counted, not fatal.
func runLoad(ctx context.Context, spec loadSpec) loadResult {
	var dials atomic.Int64
	tr := newLoadTransport(spec.Conns, &dials)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	measureFrom := time.Now().Add(spec.Warmup)
	stopAt := measureFrom.Add(spec.Duration)
	hists := make([]*Histogram, spec.Conns)
	var errs atomic.Uint64
	var errMu sync.Mutex
	errSeen := map[string]bool{}
	var wg sync.WaitGroup
	cpuFrom := make(chan cpuSample, 1)
	go func() {
		time.Sleep(time.Until(measureFrom))
		cpuFrom <- sampleCPU(spec.PID, os.Getpid())
	}()
	for w := range spec.Conns {
		h := NewHistogram()
		hists[w] = h
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(stopAt) {
					return
				}
				err := oneRequest(ctx, hc, spec)
				took := time.Since(start)
				if start.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs.Add(1)
					errMu.Lock()
					if len(errSeen) < 5 {
						errSeen[err.Error()] = true
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
	cpu := cpuBetween(<-cpuFrom, sampleCPU(spec.PID, os.Getpid()), spec.PID, os.Getpid())

	all := NewHistogram()
	for _, h := range hists {
		all.Merge(h)
	}
	r := loadResult{Requests: all.Count(), Errors: errs.Load(), ElapsedS: elapsed.Seconds(),
		RPS: float64(all.Count()) / elapsed.Seconds(), P50MS: ms(all.Quantile(.5)), P90MS: ms(all.Quantile(.9)),
		P99MS: ms(all.Quantile(.99)), MaxMS: ms(all.Max()), NewConns: dials.Load(), CPU: cpu}
	if r.RPS > 0 {
		r.SrvCPUUS = cpu.Target / 100 * 1e6 / r.RPS
	}
	for e := range errSeen {
		r.ErrorSeen = append(r.ErrorSeen, e)
	}
	return r
}

func oneRequest(ctx context.Context, hc *http.Client, spec loadSpec) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, spec.URL, nil)
	if err != nil {
		return err
	}
	for k, v := range spec.Header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if want := cmp.Or(spec.Want, http.StatusOK); resp.StatusCode != want {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
