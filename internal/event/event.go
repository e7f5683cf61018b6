// Package event carries Fynlo's domain events from the transaction that
// wrote them to everyone who listens.
//
// Every state change writes its Event in the same database transaction as
// the change (a transactional outbox), numbered by a per-organization
// sequence. After commit the store tells a Dispatcher which sequence numbers
// are new; the dispatcher reads them back from the Log in order and publishes
// them to the Hub, which fans them out to live subscribers (WebSockets).
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
}
