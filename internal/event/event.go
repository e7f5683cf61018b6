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

// Complete reports whether n carries every event it announces, in order.
func (n Notice) Complete() bool {
	if n.FirstSeq > n.LastSeq || int64(len(n.Events)) != n.LastSeq-n.FirstSeq+1 {
		return false
	}
	for i, e := range n.Events {
		if e.Seq != n.FirstSeq+int64(i) || e.OrgID != n.OrgID {
			return false
		}
	}
	return true
}

// maxCarried bounds the events a coalesced notice keeps in memory; past
// it they are dropped and read from the log instead.
const maxCarried = 512

// Merge joins two notices of one organization into one spanning both. The
// events are kept when together they cover the whole span.
func (n Notice) Merge(o Notice) Notice {
	m := Notice{OrgID: n.OrgID, FirstSeq: min(n.FirstSeq, o.FirstSeq), LastSeq: max(n.LastSeq, o.LastSeq)}
	if !n.Complete() || !o.Complete() || m.LastSeq-m.FirstSeq >= maxCarried {
		return m
	}
	a, b := n, o
	if b.FirstSeq < a.FirstSeq {
		a, b = b, a
	}
	if b.FirstSeq > a.LastSeq+1 {
		return m // a gap between them
	}
	m.Events = make([]Event, 0, m.LastSeq-m.FirstSeq+1)
	m.Events = append(m.Events, a.Events...)
	for _, e := range b.Events {
		if e.Seq > a.LastSeq {
			m.Events = append(m.Events, e)
		}
	}
	return m
}
