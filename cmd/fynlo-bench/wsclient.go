package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// wsClient is one live WebSocket. Only its reader goroutine touches msgs
// and err until readerDone is closed (see closeAll).
type wsClient struct {
	conn       *websocket.Conn
	msgs       []wsMsg
	err        error         // why reading stopped
	endAt      time.Duration // when reading stopped, on the shared clock
	readerDone chan struct{}
}

// wsMsg is a received message and when it arrived on the shared clock.
type wsMsg struct {
	at   time.Duration
	data []byte
}

// dialer opens the scenario's WebSockets.
type dialer struct {
	cfg       wsConfig
	url       string
	opts      *websocket.DialOptions
	clock0    time.Time
	received  *atomic.Int64
	handshake []time.Duration // successful handshake times
	retries   int
	failures  map[string]int // error → clients given up on
}

func newDialer(cfg wsConfig, base, token string, clock0 time.Time, received *atomic.Int64) *dialer {
	nd := &net.Dialer{Timeout: 10 * time.Second}
	hc := &http.Client{Transport: &http.Transport{DialContext: nd.DialContext, DisableCompression: true}}
	return &dialer{cfg: cfg, url: "ws" + strings.TrimPrefix(base, "http") + "/api/v1/ws", clock0: clock0, received: received,
		failures: map[string]int{},
		opts: &websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
			CompressionMode: websocket.CompressionDisabled}}
}

// dial connects n WebSockets, cfg.dialConc at a time, each retried with
// backoff, and starts a reader on each.
func (d *dialer) dial(ctx context.Context, c *common, n int) ([]*wsClient, error) {
	cfg, wsURL, opts, clock0, received := d.cfg, d.url, d.opts, d.clock0, d.received
	var (
		mu      sync.Mutex
		clients []*wsClient
	)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(cfg.dialConc, n) {
		wg.Go(func() {
			for range jobs {
				var lastErr error
				for attempt := 0; attempt <= cfg.dialRetries && ctx.Err() == nil; attempt++ {
					if attempt > 0 {
						mu.Lock()
						d.retries++
						mu.Unlock()
						time.Sleep(min(50*time.Millisecond<<attempt, 2*time.Second))
					}
					dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
					t0 := time.Now()
					conn, resp, err := websocket.Dial(dctx, wsURL, opts)
					took := time.Since(t0)
					cancel()
					if err != nil {
						lastErr = err
						if resp != nil {
							lastErr = fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
						}
						continue
					}
					conn.SetReadLimit(1 << 20)
					cl := &wsClient{conn: conn, readerDone: make(chan struct{})}
					go cl.read(clock0, received)
					mu.Lock()
					clients = append(clients, cl)
					d.handshake = append(d.handshake, took)
					mu.Unlock()
					lastErr = nil
					break
				}
				if lastErr != nil {
					mu.Lock()
					d.failures[simplifyErr(lastErr)]++
					mu.Unlock()
				}
			}
		})
	}
	progress := time.NewTicker(2 * time.Second)
	defer progress.Stop()
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		case <-progress.C:
			mu.Lock()
			c.printf("  … %d connected\n", len(clients))
			mu.Unlock()
			jobs <- i
		}
	}
	close(jobs)
	wg.Wait()
	return clients, ctx.Err()
}

// read records every message with its arrival time until the connection
// ends, counting it in received.
func (cl *wsClient) read(clock0 time.Time, received *atomic.Int64) {
	defer close(cl.readerDone)
	for {
		// A context without Done: coder/websocket then sets up no timer per Read.
		_, data, err := cl.conn.Read(context.Background())
		at := time.Since(clock0)
		if err != nil {
			cl.err, cl.endAt = err, at
			return
		}
		cl.msgs = append(cl.msgs, wsMsg{at: at, data: data})
		received.Add(1)
	}
}

// closeAll closes every connection and waits for its reader to stop; after
// it returns the clients' msgs and err may be read.
func closeAll(clients []*wsClient) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, cl := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cl.conn.CloseNow()
			<-cl.readerDone
		})
	}
	wg.Wait()
}
