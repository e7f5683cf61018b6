package event

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SubscriptionBuffer is how many events a subscriber may lag behind before
// it is dropped. A dropped subscriber catches up from the Log after its
// last sequence number and subscribes again, so dropping loses nothing; it
// only keeps a slow tablet from holding memory. Small, because 10,000
// screens each hold one.
const SubscriptionBuffer = 64

// Frame is an event as delivered live: one allocation shared by every
// subscriber, encoded to JSON once however many screens are listening.
type Frame struct {
	Event
	JSON []byte
}

// Hub fans out published events to live subscribers of an organization.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*Subscription]struct{}
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{subs: make(map[string]map[*Subscription]struct{})} }

// Subscription receives an organization's events as they are published.
type Subscription struct {
	hub     *Hub
	orgID   string
	filter  Filter
	c       chan *Frame
	dropped chan struct{}
	once    sync.Once
}

// C delivers events in sequence order.
func (s *Subscription) C() <-chan *Frame { return s.c }

// Dropped is closed when the subscriber fell more than SubscriptionBuffer
// events behind; it must then resume from the Log.
func (s *Subscription) Dropped() <-chan struct{} { return s.dropped }

// Close removes the subscription from the hub.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	if m := s.hub.subs[s.orgID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(s.hub.subs, s.orgID)
		}
	}
	s.hub.mu.Unlock()
}

// Filter narrows a feed of an organization's events.
type Filter struct {
	// LocationID keeps that location's events and organization-wide ones;
	// "" keeps every location's.
	LocationID string
	// Types keeps only events whose type starts with one of these
	// ("ticket."): a kitchen screen is not sent every payment of a busy
	// restaurant. None keeps every type.
	Types []string
	// Hidden withholds events whose type starts with one of these: what
	// the reader's role may not see (a server is not sent colleagues'
	// wages).
	Hidden []string
	// Check, when set, has the last word on each event the rest keeps:
	// for the few whose audience their data decides (an employee of
	// several locations is seen by those locations' staff only).
	Check func(Event) bool
}

// Keeps reports whether e belongs in the feed.
func (f Filter) Keeps(e Event) bool {
	return Matches(e, f.LocationID) && Wants(f.Types, e.Type) && !prefixed(f.Hidden, e.Type) && (f.Check == nil || f.Check(e))
}

// Subscribe registers a subscriber to orgID's events that f keeps.
func (h *Hub) Subscribe(orgID string, f Filter) *Subscription {
	s := &Subscription{hub: h, orgID: orgID, filter: f,
		c: make(chan *Frame, SubscriptionBuffer), dropped: make(chan struct{})}
	h.mu.Lock()
	m := h.subs[orgID]
	if m == nil {
		m = make(map[*Subscription]struct{})
		h.subs[orgID] = m
	}
	m[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Orgs returns the organizations with live subscribers.
func (h *Hub) Orgs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.subs))
	for org := range h.subs {
		out = append(out, org)
	}
	return out
}

// Subscribers returns how many subscriptions are live.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.subs {
		n += len(m)
	}
	return n
}

// Publish delivers events, all of one organization and in sequence order,
// to its subscribers without ever blocking on a slow one.
func (h *Hub) Publish(events []Event) {
	if len(events) == 0 {
		return
	}
	frames := make([]*Frame, 0, len(events))
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			continue // cannot happen: Data is already JSON
		}
		frames = append(frames, &Frame{Event: e, JSON: b})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[events[0].OrgID] {
		for _, f := range frames {
			if !s.filter.Keeps(f.Event) {
				continue
			}
			select {
			case s.c <- f:
			default:
				s.once.Do(func() { close(s.dropped) })
			}
		}
	}
}

// Wants reports whether an event of type typ belongs in a feed filtered to
// the type prefixes types (none: every type).
func Wants(types []string, typ string) bool {
	return len(types) == 0 || prefixed(types, typ)
}

// prefixed reports whether typ starts with one of prefixes.
func prefixed(prefixes []string, typ string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}

// Matches reports whether e belongs in a feed filtered to locationID.
func Matches(e Event, locationID string) bool {
	return locationID == "" || e.LocationID == "" || e.LocationID == locationID
}

// Dispatcher moves committed events from the Log to the Hub, in order, once.
type Dispatcher struct {
	log    Log
	hub    *Hub
	logger *slog.Logger

	mu      sync.Mutex
	pending map[string]Notice // org → the span of sequence numbers noticed
	wake    chan struct{}

	last      map[string]int64     // org → highest sequence number published; owned by Run
	gapSince  map[string]time.Time // org → when a notice ahead of a missing one was first held; owned by Run
	fromHeads bool                 // last was loaded from the log's heads at start
	// catchUp asks Run to read every known organization's log for events
	// no notice was received for (set under mu).
	catchUp bool
	// OnPublish, when set, is called with each batch after it reached the hub.
	OnPublish func([]Event)
	// Stats counts how the events got to the hub.
	Stats DispatchStats
}

// DispatchStats counts a dispatcher's work, for monitoring: on a healthy
// cluster nearly every event is Carried, and Reads stay few.
type DispatchStats struct {
	Carried     atomic.Uint64 // events published from the notice that brought them
	Read        atomic.Uint64 // events published after reading them from the log
	Reads       atomic.Uint64 // reads of the log
	Held        atomic.Uint64 // notices held for an earlier one that was missing
	GapTimeouts atomic.Uint64 // holds that ended in a read of the log: a notice lost, or later than GapWait
}

// Heads is a Log that can say, for every organization, its latest
// committed event's sequence number. A dispatcher that starts from the
// heads never skips an event, whatever order notices come in; without it,
// an organization's first notice is taken as where its log stood.
type Heads interface {
	Heads(ctx context.Context) (map[string]int64, error)
}

// NewDispatcher returns a dispatcher reading from log and publishing to
// hub. Make it before anything commits: it starts from where every log
// stands now (when log can say, see Heads).
func NewDispatcher(log Log, hub *Hub, logger *slog.Logger) *Dispatcher {
	d := &Dispatcher{log: log, hub: hub, logger: logger,
		pending: make(map[string]Notice), wake: make(chan struct{}, 1), last: make(map[string]int64),
		gapSince: make(map[string]time.Time)}
	if h, ok := log.(Heads); ok {
		// An organization with no entry has no events yet: its log is read
		// from the start.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if heads, err := h.Heads(ctx); err == nil {
			d.last, d.fromHeads = heads, true
		} else {
			logger.Error("event dispatch: read log heads; an organization's first notices may be taken out of order", "err", err)
		}
	}
	return d
}

// Notify records that n.OrgID's log has grown and wakes Run.
// It never blocks: notices for one organization coalesce.
func (d *Dispatcher) Notify(n Notice) {
	d.mu.Lock()
	if p, ok := d.pending[n.OrgID]; ok {
		n = p.Merge(n)
	}
	d.pending[n.OrgID] = n
	d.mu.Unlock()
	d.poke()
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// CatchUp makes Run read the log of every organization with subscribers
// on this node, for events whose notices were lost (a cross-node bus that
// was away).
func (d *Dispatcher) CatchUp() {
	d.mu.Lock()
	d.catchUp = true
	d.mu.Unlock()
	d.poke()
}

// Run publishes noticed events until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
		d.mu.Lock()
		work := d.pending
		d.pending = make(map[string]Notice)
		catchUp := d.catchUp
		d.catchUp = false
		d.mu.Unlock()
		if catchUp {
			// Only where someone is listening on this node: one read each.
			for _, org := range d.hub.Orgs() {
				if _, known := d.last[org]; !known && !d.fromHeads {
					continue // where its log stood is unknown; its subscribers replayed it themselves
				}
				n := work[org]
				n.OrgID, n.LastSeq, n.Events = org, math.MaxInt64, nil // to the end of its log, wherever that is
				work[org] = n
			}
		}
		for _, n := range work {
			d.publish(ctx, n)
		}
	}
}

// publishPage bounds one read from the log.
const publishPage = 500

// GapWait is how long a notice that arrives ahead of an earlier one of its
// organization is held for the earlier one before the dispatcher reads the
// missing events from the log instead. Such gaps are ordinary — commits on
// several nodes reach Redis in any order, and two commits' hooks on one
// node race — and almost all close within a millisecond or two, with the
// events in hand; a read for each would cost the database a query per
// commit per node.
const GapWait = 50 * time.Millisecond

// hold keeps n, whose events start after a missing one, for the next
// wake-up, and reports whether it did: only a notice that brought events,
// and for no longer than GapWait.
func (d *Dispatcher) hold(n Notice, last int64) bool {
	if c := n.Carried(); len(c) == 0 || c[0].Seq <= last+1 {
		return false
	}
	since, waiting := d.gapSince[n.OrgID]
	if !waiting {
		d.gapSince[n.OrgID] = time.Now()
		d.Stats.Held.Add(1)
		time.AfterFunc(GapWait, d.poke)
	} else if time.Since(since) >= GapWait {
		d.Stats.GapTimeouts.Add(1)
		return false
	}
	d.mu.Lock()
	if p, ok := d.pending[n.OrgID]; ok {
		n = p.Merge(n)
	}
	d.pending[n.OrgID] = n
	d.mu.Unlock()
	return true
}

func (d *Dispatcher) publish(ctx context.Context, n Notice) {
	org, upTo := n.OrgID, n.LastSeq
	last, known := d.last[org]
	switch {
	case !known && d.fromHeads:
		last = 0 // an organization with no events when this process started
	case !known:
		// The first notice this process sees for org: earlier events were
		// published by an earlier process or had no live listeners here;
		// subscribers replay those from the Log themselves.
		last = n.FirstSeq - 1
	}
	if last >= upTo {
		return // already published (an echo, or a notice that lost a race)
	}
	if d.hold(n, last) {
		return
	}
	delete(d.gapSince, org)
	// The log fills only what the notice did not bring: everything, for a
	// notice without events; the gap before them, for one whose earlier
	// neighbour is lost or late.
	c := n.Carried()
	readTo := upTo
	if len(c) > 0 {
		readTo = c[0].Seq - 1
	}
	retry := func() {
		// Try again shortly; nothing is lost, only late.
		d.last[org] = last
		time.AfterFunc(time.Second, func() { d.Notify(Notice{OrgID: org, FirstSeq: last + 1, LastSeq: upTo, Events: c}) })
	}
	for last < readTo {
		d.Stats.Reads.Add(1)
		events, err := d.log.EventsAfter(ctx, org, last, "", int(min(publishPage, readTo-last)))
		if err != nil {
			d.logger.Error("event dispatch: read log", "org", org, "after", last, "err", err)
			retry()
			return
		}
		if len(events) == 0 {
			break
		}
		d.Stats.Read.Add(uint64(len(events)))
		d.publishEvents(events)
		last = events[len(events)-1].Seq
	}
	if len(c) > 0 {
		if last+1 < c[0].Seq {
			// The log lacks what comes before the notice's events (it
			// cannot: they committed first); never publish past a gap.
			d.logger.Error("event dispatch: the log lacks events before a notice's", "org", org, "after", last, "first", c[0].Seq)
			retry()
			return
		}
		if events := c[last+1-c[0].Seq:]; len(events) > 0 {
			d.Stats.Carried.Add(uint64(len(events)))
			d.publishEvents(events)
			last = upTo
		}
	}
	d.last[org] = last
}

// publishEvents hands events to the hub and to OnPublish.
func (d *Dispatcher) publishEvents(events []Event) {
	d.hub.Publish(events)
	if d.OnPublish != nil {
		d.OnPublish(events)
	}
}
