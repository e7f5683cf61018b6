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
}

func (l *memLog) append(org string, n int) Notice {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := int64(len(l.events[org]) + 1)
	for range n {
		l.events[org] = append(l.events[org], Event{OrgID: org, Seq: int64(len(l.events[org]) + 1), Type: "t"})
	}
	return Notice{OrgID: org, FirstSeq: first, LastSeq: int64(len(l.events[org]))}
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
	sub := hub.Subscribe("org_a", "")
	defer sub.Close()
	other := hub.Subscribe("org_b", "")
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
	for want := int64(6); want <= 55; want++ {
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
	select {
	case e := <-other.C():
		t.Fatalf("another organization's subscriber got %+v", e)
	default:
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	hub := NewHub()
	sub := hub.Subscribe("org", "loc_1")
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
	s2 := hub.Subscribe("org", "loc_2")
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
	sub := hub.Subscribe("org_new", "")
	defer sub.Close()
	first, second := log.append("org_new", 3), log.append("org_new", 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	d.Notify(second) // the later commit's notice first
	d.Notify(first)
	for want := int64(1); want <= 6; want++ {
		select {
		case e := <-sub.C():
			if e.Seq != want {
				t.Fatalf("got seq %d, want %d", e.Seq, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for seq %d", want)
		}
	}
}

// TestDispatcherCatchUp: events whose notices were lost (Redis away) reach
// this node's subscribers when the dispatcher is told to catch up.
func TestDispatcherCatchUp(t *testing.T) {
	log := &memLog{events: map[string][]Event{}}
	log.append("org_a", 2)
	hub := NewHub()
	d := NewDispatcher(log, hub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sub := hub.Subscribe("org_a", "")
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	log.append("org_a", 3) // committed on another node; its notice lost
	d.CatchUp()
	for want := int64(3); want <= 5; want++ {
		select {
		case e := <-sub.C():
			if e.Seq != want {
				t.Fatalf("got seq %d, want %d", e.Seq, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for seq %d", want)
		}
	}
}
