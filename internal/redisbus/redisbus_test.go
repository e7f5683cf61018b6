package redisbus

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/event"
	"github.com/fynlo/fynlo/internal/testenv"
)

// TestNoticesCarryEvents: a node's notices reach the other nodes with their
// events, in the order sent; a node does not hear its own; a notice too
// big for the wire arrives without its events (its span intact), so the
// receiver reads them from the log.
func TestNoticesCarryEvents(t *testing.T) {
	rds := testenv.Redis(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type node struct {
		bus      *Bus
		got      chan event.Notice
		subbed   chan struct{}
		subOnce  bool
		finished chan struct{}
	}
	start := func() *node {
		b, err := New(ctx, rds.URL, logger)
		if err != nil {
			t.Fatal(err)
		}
		n := &node{bus: b, got: make(chan event.Notice, 1024), subbed: make(chan struct{}), finished: make(chan struct{})}
		go func() {
			defer close(n.finished)
			b.Run(ctx, func(nt event.Notice) { n.got <- nt }, func() {
				if !n.subOnce {
					n.subOnce = true
					close(n.subbed)
				}
			})
		}()
		<-n.subbed
		t.Cleanup(func() { cancel(); <-n.finished; b.Close() })
		return n
	}
	a, b := start(), start()

	notice := func(first, last int64, size int) event.Notice {
		n := event.Notice{OrgID: "org_1", FirstSeq: first, LastSeq: last}
		for s := first; s <= last; s++ {
			data, _ := json.Marshal(map[string]string{"note": strings.Repeat("x", size)})
			n.Events = append(n.Events, event.Event{Seq: s, OrgID: "org_1", Type: "order.updated", SubjectID: "ord_1",
				Data: data, At: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)})
		}
		return n
	}
	const count = 300 // more than one pipeline
	for i := range int64(count) {
		a.bus.Publish(notice(2*i+1, 2*i+2, 10))
	}
	big := notice(2*count+1, 2*count+1, maxPayload)
	a.bus.Publish(big)

	for i := range int64(count) {
		select {
		case n := <-b.got:
			want := notice(2*i+1, 2*i+2, 10)
			if !n.Complete() || n.FirstSeq != want.FirstSeq || string(n.Events[1].Data) != string(want.Events[1].Data) ||
				!n.Events[0].At.Equal(want.Events[0].At) {
				t.Fatalf("notice %d arrived as %+v", i, n)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("notice %d never arrived", i)
		}
	}
	select {
	case n := <-b.got:
		if n.FirstSeq != big.FirstSeq || n.LastSeq != big.LastSeq || n.Events != nil {
			t.Fatalf("oversized notice arrived as %d..%d with %d events; want its span without events", n.FirstSeq, n.LastSeq, len(n.Events))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("oversized notice never arrived")
	}
	select {
	case n := <-a.got:
		t.Fatalf("a node heard its own notice %d..%d", n.FirstSeq, n.LastSeq)
	case <-time.After(200 * time.Millisecond):
	}
}
