package event

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// memLog is an in-memory Log.
type memLog struct {
	mu     sync.Mutex
	events map[string][]Event
	reads  int // EventsAfter calls
}

// append commits n events of org and returns their notice, without the
// events (as a notice from before notices carried them).
func (l *memLog) append(org string, n int) Notice {
	nt := l.appendCarried(org, n)
	nt.Events = nil
	return nt
}

// appendCarried commits n events of org and returns their notice, events
// included, as the store sends it.
func (l *memLog) appendCarried(org string, n int) Notice {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := int64(len(l.events[org]) + 1)
	for range n {
		l.events[org] = append(l.events[org], Event{OrgID: org, Seq: int64(len(l.events[org]) + 1), Type: "t"})
	}
	return Notice{OrgID: org, FirstSeq: first, LastSeq: int64(len(l.events[org])),
		Events: append([]Event(nil), l.events[org][first-1:]...)}
}

func (l *memLog) readCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads
}

func (l *memLog) LastSeq(_ context.Context, org string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.events[org])), nil
}

// Heads implements Heads, as the real store does.
func (l *memLog) Heads(context.Context) (map[string]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int64{}
	for org, evs := range l.events {
		out[org] = int64(len(evs))
	}
	return out, nil
}

func (l *memLog) EventsAfter(_ context.Context, org string, after int64, _ string, limit int) ([]Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	var out []Event
	for _, e := range l.events[org] {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func TestDispatcherPublishesInOrderOnce(t *testing.T) {
	log := &memLog{events: map[string][]Event{}}
	log.append("org_a", 5) // history before this process started
	hub := NewHub()
	sub := hub.Subscribe("org_a", Filter{})
	defer sub.Close()
	other := hub.Subscribe("org_b", Filter{})
	defer other.Close()
	d := NewDispatcher(log, hub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)

	// Notices arrive out of order and some twice, as concurrent commits'
	// hooks race; subscribers still see 6..55 once each, in order.
	var notices []Notice
	for range 10 { // 50 events: within one subscriber buffer
		notices = append(notices, log.append("org_a", 5))
	}
	for i := len(notices) - 1; i >= 0; i-- {
		d.Notify(notices[i])
		if i%7 == 0 {
			d.Notify(notices[i])
		}
	}
	expectSeqs(t, sub, 6, 55)
	select {
	case e := <-other.C():
		t.Fatalf("another organization's subscriber got %+v", e)
	default:
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	hub := NewHub()
	sub := hub.Subscribe("org", Filter{LocationID: "loc_1"})
	defer sub.Close()
	for i := range SubscriptionBuffer + 1 {
		hub.Publish([]Event{{OrgID: "org", Seq: int64(i + 1), LocationID: "loc_1"}})
	}
	select {
	case <-sub.Dropped():
	default:
		t.Fatal("a subscriber over its buffer was not dropped")
	}
	// Events of other locations never count against the buffer.
	s2 := hub.Subscribe("org", Filter{LocationID: "loc_2"})
	defer s2.Close()
	hub.Publish([]Event{{OrgID: "org", Seq: 1, LocationID: "loc_1"}})
	if len(s2.C()) != 0 {
		t.Fatal("filtered subscriber got another location's event")
	}
	if hub.Subscribers() != 2 {
		t.Fatalf("subscribers = %d", hub.Subscribers())
	}
}

// TestDispatcherNewOrganizationOutOfOrder: an organization with no events
// when the dispatcher started is read from its log's start, so its first
// notices arriving out of order (commits on several nodes) skip nothing.
func TestDispatcherNewOrganizationOutOfOrder(t *testing.T) {
	log := &memLog{events: map[string][]Event{}}
	hub := NewHub()
	d := NewDispatcher(log, hub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sub := hub.Subscribe("org_new", Filter{})
	defer sub.Close()
	first, second := log.append("org_new", 3), log.append("org_new", 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	d.Notify(second) // the later commit's notice first
	d.Notify(first)
	expectSeqs(t, sub, 1, 6)
}

// TestDispatcherCatchUp: events whose notices were lost (Redis away) reach
// this node's subscribers when the dispatcher is told to catch up.
func TestDispatcherCatchUp(t *testing.T) {
	log := &memLog{events: map[string][]Event{}}
	log.append("org_a", 2)
	hub := NewHub()
	d := NewDispatcher(log, hub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sub := hub.Subscribe("org_a", Filter{})
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	log.append("org_a", 3) // committed on another node; its notice lost
	d.CatchUp()
	expectSeqs(t, sub, 3, 5)
}

// expectSeqs reads sequence numbers from..to from sub, in order.
func expectSeqs(t *testing.T, sub *Subscription, from, to int64) {
	t.Helper()
	for want := from; want <= to; want++ {
		select {
		case e := <-sub.C():
			if e.Seq != want {
				t.Fatalf("got seq %d, want %d", e.Seq, want)
			}
		case <-sub.Dropped():
			t.Fatal("dropped")
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for seq %d", want)
		}
	}
}

// TestDispatcherUsesCarriedEvents: notices that bring their events, in
// order, are published without reading the log; out of order, or with a
// notice lost in between, the log fills the gap and nothing is skipped or
// sent twice.
func TestDispatcherUsesCarriedEvents(t *testing.T) {
	log := &memLog{events: map[string][]Event{}}
	log.append("org_a", 4) // history
	hub := NewHub()
	sub := hub.Subscribe("org_a", Filter{})
	defer sub.Close()
	d := NewDispatcher(log, hub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)

	for range 5 {
		d.Notify(log.appendCarried("org_a", 2))
	}
	expectSeqs(t, sub, 5, 14)
	if r := log.readCount(); r != 0 {
		t.Fatalf("in-order notices with their events read the log %d times", r)
	}

	// Out of order: 17..18 arrives before 15..16 and is held for it;
	// both are published from their events, once each, in order.
	early, late := log.appendCarried("org_a", 2), log.appendCarried("org_a", 2)
	d.Notify(late)
	time.Sleep(GapWait / 4)
	d.Notify(early)
	d.Notify(late) // an echo
	expectSeqs(t, sub, 15, 18)
	if r := log.readCount(); r != 0 {
		t.Fatalf("a gap that closed in time read the log %d times", r)
	}
	// A lost notice: 19..20 is never heard of, 21 is; after GapWait the
	// log fills the gap.
	log.appendCarried("org_a", 2)
	start := time.Now()
	d.Notify(log.appendCarried("org_a", 1))
	expectSeqs(t, sub, 19, 21)
	if waited := time.Since(start); waited < GapWait || log.readCount() == 0 {
		t.Fatalf("a gap was filled after %v with %d log reads; want after GapWait (%v), from the log", waited, log.readCount(), GapWait)
	}
	if read, carried := d.Stats.Read.Load(), d.Stats.Carried.Load(); read != 2 || carried != 15 {
		t.Fatalf("%d events read from the log and %d carried; want the 2 of the gap read, the other 15 carried", read, carried)
	}
	select {
	case e := <-sub.C():
		t.Fatalf("event %d published twice", e.Seq)
	case <-time.After(50 * time.Millisecond):
	}
	// A notice whose events do not match its span is not trusted.
	bad := log.appendCarried("org_a", 3)
	bad.Events = bad.Events[1:]
	d.Notify(bad)
	expectSeqs(t, sub, 22, 24)
}

func TestNoticeMerge(t *testing.T) {
	ev := func(from, to int64) Notice {
		n := Notice{OrgID: "o", FirstSeq: from, LastSeq: to}
		for s := from; s <= to; s++ {
			n.Events = append(n.Events, Event{OrgID: "o", Seq: s})
		}
		return n
	}
	for _, c := range []struct {
		name       string
		a, b       Notice
		first, end int64
		carried    int64 // the first event it vouches for; 0: none
	}{
		{"adjacent", ev(1, 3), ev(4, 5), 1, 5, 1},
		{"adjacent, reversed", ev(4, 5), ev(1, 3), 1, 5, 1},
		{"overlapping", ev(1, 4), ev(3, 6), 1, 6, 1},
		{"same", ev(2, 3), ev(2, 3), 2, 3, 2},
		{"gap", ev(1, 2), ev(4, 5), 1, 5, 4},
		{"an echo, then a notice past a gap", ev(1, 2), ev(5, 5), 1, 5, 5},
		{"later one bare", ev(1, 2), Notice{OrgID: "o", FirstSeq: 3, LastSeq: 4}, 1, 4, 0},
		{"earlier one bare", Notice{OrgID: "o", FirstSeq: 1, LastSeq: 2}, ev(3, 4), 1, 4, 3},
		{"too many", ev(1, maxCarried), ev(maxCarried+1, maxCarried+1), 1, maxCarried + 1, 2},
	} {
		m := c.a.Merge(c.b)
		got := int64(0)
		if cr := m.Carried(); len(cr) > 0 {
			got = cr[0].Seq
		}
		if m.FirstSeq != c.first || m.LastSeq != c.end || got != c.carried || m.Complete() != (c.carried == c.first) {
			t.Errorf("%s: merged %d..%d carrying from %d (complete %v), want %d..%d from %d", c.name, m.FirstSeq, m.LastSeq, got, m.Complete(), c.first, c.end, c.carried)
		}
	}
}

func TestFilterKeeps(t *testing.T) {
	f := Filter{LocationID: "loc_1", Types: []string{"ticket.", "employee."}, Hidden: []string{"employee."},
		Check: func(e Event) bool { return e.SubjectID != "tkt_secret" }}
	for _, c := range []struct {
		e    Event
		want bool
	}{
		{Event{Type: "ticket.created", LocationID: "loc_1"}, true},
		{Event{Type: "ticket.created"}, true}, // the organization's
		{Event{Type: "ticket.created", LocationID: "loc_2"}, false},
		{Event{Type: "order.created", LocationID: "loc_1"}, false},    // not asked for
		{Event{Type: "employee.created", LocationID: "loc_1"}, false}, // asked for, withheld
		{Event{Type: "ticket.updated", LocationID: "loc_1", SubjectID: "tkt_secret"}, false},
	} {
		if got := f.Keeps(c.e); got != c.want {
			t.Errorf("Keeps(%+v) = %v, want %v", c.e, got, c.want)
		}
	}
	hub := NewHub()
	sub := hub.Subscribe("org", f)
	defer sub.Close()
	hub.Publish([]Event{{OrgID: "org", Seq: 1, Type: "employee.updated", LocationID: "loc_1"}, {OrgID: "org", Seq: 2, Type: "ticket.created", LocationID: "loc_1"}})
	if got := <-sub.C(); got.Seq != 2 || len(sub.C()) != 0 {
		t.Fatalf("subscriber got seq %d (and %d more), want only 2", got.Seq, len(sub.C()))
	}
}
