// Package event carries Fynlo's domain events from the transaction that
// wrote them to everyone who listens.
//
// Every state change writes its Event in the same database transaction as
// the change (a transactional outbox), numbered by a per-organization
// sequence. After commit the store tells a Dispatcher which sequence numbers
// are new, handing over the events it wrote; the dispatcher publishes them in
// order to the Hub, which fans them out to live subscribers (WebSockets).
// Whenever it cannot be sure it holds every event of a span (a notice from
// another node arrived before an earlier one, a notice was lost) it reads
// the span back from the Log instead.
// Because the Log is the source of truth, a subscriber that falls behind or
// reconnects replays from its last sequence number and misses nothing.
package event

import (
	"context"
	"encoding/json"
	"time"
)

// Event is one committed state change.
type Event struct {
	Seq        int64           `json:"seq"`                   // per-organization, gapless, starts at 1
	OrgID      string          `json:"organization_id"`       // tenant
	LocationID string          `json:"location_id,omitempty"` // empty for organization-wide events
	Type       string          `json:"type"`                  // e.g. "location.created"
	SubjectID  string          `json:"subject_id"`            // the object that changed
	Data       json.RawMessage `json:"data"`                  // the object after the change
	At         time.Time       `json:"at"`                    // commit time, UTC
}

// New builds an event about subject, to be appended by a store; data is
// marshalled to JSON now so the event records the object as it was.
func New(typ, locationID, subjectID string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	return Event{Type: typ, LocationID: locationID, SubjectID: subjectID, Data: raw}, nil
}

// Log reads committed events back in sequence order.
type Log interface {
	// EventsAfter returns up to limit events of org with Seq > after, in
	// order; locationID, when set, keeps only that location's events and
	// organization-wide ones. Errors: Internal.
	EventsAfter(ctx context.Context, orgID string, after int64, locationID string, limit int) ([]Event, error)
	// LastSeq returns the sequence number of org's latest committed event
	// (0 for none). Errors: Internal.
	LastSeq(ctx context.Context, orgID string) (int64, error)
}

// Notice says that an organization's log has grown by the events
// FirstSeq..LastSeq. Stores send one after each commit; a cross-node bus
// relays them.
type Notice struct {
	OrgID    string `json:"org"`
	FirstSeq int64  `json:"first"`
	LastSeq  int64  `json:"last"`
	// Events, when the sender had them, are the events FirstSeq..LastSeq
	// themselves, so the dispatcher can publish them without reading them
	// back. The log stays the truth: a notice without them, or with a
	// span it cannot use, is read from the log.
	Events []Event `json:"events,omitempty"`
}

// Carried returns the events n brings that run, one after another, up to
// its last: the part of its span it can vouch for. A notice merged from
// two with a gap between them still carries the later run.
func (n Notice) Carried() []Event {
	k := len(n.Events)
	if k == 0 || n.Events[k-1].Seq != n.LastSeq {
		return nil
	}
	i := k - 1
	for i > 0 && n.Events[i-1].Seq == n.Events[i].Seq-1 {
		i--
	}
	run := n.Events[i:]
	if run[0].Seq < n.FirstSeq {
		return nil
	}
	for _, e := range run {
		if e.OrgID != n.OrgID {
			return nil
		}
	}
	return run
}

// Complete reports whether n carries every event it announces, in order.
func (n Notice) Complete() bool {
	c := n.Carried()
	return len(c) > 0 && c[0].Seq == n.FirstSeq
}

// maxCarried bounds the events a coalesced notice keeps in memory; past
// it they are dropped and read from the log instead.
const maxCarried = 512

// Merge joins two notices of one organization into one spanning both. It
// keeps the events that run without a gap up to the end of the span: all
// of them when together they cover it.
func (n Notice) Merge(o Notice) Notice {
	m := Notice{OrgID: n.OrgID, FirstSeq: min(n.FirstSeq, o.FirstSeq), LastSeq: max(n.LastSeq, o.LastSeq)}
	a, b := n.Carried(), o.Carried()
	if len(b) == 0 || (len(a) > 0 && a[len(a)-1].Seq > b[len(b)-1].Seq) {
		a, b = b, a // b ends the span
	}
	if len(b) == 0 || b[len(b)-1].Seq != m.LastSeq {
		return m
	}
	run := b
	if len(a) > 0 && a[0].Seq < b[0].Seq && a[len(a)-1].Seq >= b[0].Seq-1 {
		// a reaches back further and joins b: a's part before b, then b.
		run = append(a[:b[0].Seq-a[0].Seq:b[0].Seq-a[0].Seq], b...)
	}
	if len(run) > maxCarried {
		run = run[len(run)-maxCarried:]
	}
	m.Events = run
	return m
}
