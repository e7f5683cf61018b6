// Package redisbus joins several Fynlo nodes through Redis: it tells every
// node when an organization's event log has grown, with the new events, so
// that each node's dispatcher pushes them to its own WebSocket clients in
// order with no gap, and it keeps rate limits in one place so they hold
// across nodes.
//
// A notice carries the events it announces (up to maxPayload; a bigger
// one goes without, and the nodes read those events from the shared log).
// The database's log stays the one source of truth: a node that gets a
// notice out of order, or without its events, reads the log, and a notice
// lost while Redis is away costs only delay — on resubscribing, every node
// catches up from the log.
package redisbus

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fynlo/fynlo/internal/event"
	"github.com/fynlo/fynlo/internal/id"
)

// channel is the pub/sub channel notices travel on.
const channel = "fynlo:events"

// maxPayload bounds a notice on the wire; past it (a menu import of
// thousands of items) the events stay behind and are read from the log.
const maxPayload = 64 << 10

// wire is a notice as published: the sending node's name, so that a node
// can skip its own notices, which Redis echoes back to it.
type wire struct {
	Node string `json:"node"`
	event.Notice
}

// Bus is one node's connection to the others.
type Bus struct {
	client *redis.Client
	logger *slog.Logger
	node   string // this process, unique among the nodes
	joined atomic.Bool
	out    chan event.Notice
	once   sync.Once
	done   chan struct{}
}

// New connects to the Redis at url (redis://, rediss:// or unix://) and
// checks that it answers.
func New(ctx context.Context, url string, logger *slog.Logger) (*Bus, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, time.Second, time.Second
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, errors.New("redis: " + err.Error())
	}
	return &Bus{client: c, logger: logger, node: id.New("node"), out: make(chan event.Notice, 4096), done: make(chan struct{})}, nil
}

// Publish tells the other nodes that n.OrgID's log grew. It never blocks a
// commit: notices queue for a sender goroutine, and if Redis is so slow
// that the queue fills, the notice is dropped — the other nodes find the
// events at their next notice for the organization, or on resubscribing.
func (b *Bus) Publish(n event.Notice) {
	select {
	case b.out <- n:
	default:
		b.logger.Warn("redis: notice queue full; dropped one", "org", n.OrgID)
	}
}

// Run sends this node's notices and hands the others' to notify until ctx
// ends. caughtUp is called each time the subscription is (re)established:
// notices sent while it was down are lost, so the node reads the log for
// everything it may have missed.
func (b *Bus) Run(ctx context.Context, notify func(event.Notice), caughtUp func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.send(ctx) }()
	defer wg.Wait()
	ps := b.client.Subscribe(ctx, channel)
	defer ps.Close()
	// A blocked Receive does not notice its context ending; closing the
	// subscription ends it.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// go-redis reconnects and resubscribes by itself; wait a
			// little rather than spin while Redis is away.
			b.logger.Warn("redis: subscription", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.joined.Store(true)
				if caughtUp != nil {
					caughtUp()
				}
			}
		case *redis.Message:
			var w wire
			if err := json.Unmarshal([]byte(m.Payload), &w); err != nil || w.OrgID == "" || w.Node == b.node {
				continue // garbled, or this node's own: its dispatcher heard it at commit
			}
			notify(w.Notice)
		}
	}
}

// sendBatch bounds the notices sent in one pipeline.
const sendBatch = 256

// send publishes this node's notices, as many as are waiting in one
// pipelined round trip: one at a time, a busy node's notices would queue
// behind each other's round trips and reach the other nodes late.
func (b *Bus) send(ctx context.Context) {
	batch := make([]event.Notice, 0, sendBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-b.out:
			batch = append(batch[:0], n)
		}
	drain:
		for len(batch) < sendBatch {
			select {
			case n := <-b.out:
				batch = append(batch, n)
			default:
				break drain
			}
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := b.client.Pipelined(pctx, func(p redis.Pipeliner) error {
			for _, n := range batch {
				p.Publish(pctx, channel, b.encode(n))
			}
			return nil
		})
		cancel()
		if err != nil && ctx.Err() == nil {
			b.logger.Warn("redis: publish", "error", err, "notices", len(batch))
		}
	}
}

// encode is a notice's payload: with its events, unless that is over
// maxPayload.
func (b *Bus) encode(n event.Notice) []byte {
	payload, _ := json.Marshal(wire{Node: b.node, Notice: n})
	if len(payload) > maxPayload {
		n.Events = nil
		payload, _ = json.Marshal(wire{Node: b.node, Notice: n})
	}
	return payload
}

// gcra is the generic cell rate algorithm: one key per bucket holding the
// theoretical arrival time, on Redis's own clock so that the nodes' clocks
// need not agree. It answers {remaining, wait_ms}.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local per = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new = tat + per
local allowAt = new - burst * per
if allowAt > now then
  return {0, allowAt - now}
end
redis.call('SET', KEYS[1], new, 'PX', math.max(new - now, 1))
return {math.floor((now - allowAt) / per), 0}
`)

// Take spends a token from the bucket name|key (burst tokens, one more
// every per), shared by every node. It returns how many are left and,
// when none was, how long until one is.
func (b *Bus) Take(ctx context.Context, name string, per time.Duration, burst int, key string) (remaining int, wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	res, err := gcra.Run(ctx, b.client, []string{"fynlo:rate:" + name + "|" + key},
		strconv.FormatInt(per.Milliseconds(), 10), strconv.Itoa(burst)).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	return int(res[0]), time.Duration(res[1]) * time.Millisecond, nil
}

// Joined reports whether this node has heard the other nodes' notices at
// least once: until then it is not ready for traffic, or its screens would
// learn of other nodes' changes only when it catches up. (Once joined, a
// Redis outage does not make it unready: it serves on its own and catches
// up when Redis is back.)
func (b *Bus) Joined() bool { return b.joined.Load() }

// Ping reports whether Redis answers, for readiness.
func (b *Bus) Ping(ctx context.Context) error { return b.client.Ping(ctx).Err() }

// Close disconnects.
func (b *Bus) Close() error {
	var err error
	b.once.Do(func() { err = b.client.Close() })
	return err
}
