package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fynlo/fynlo/internal/event"
)

var _ event.Log = (*DB)(nil)

// EventsAfter implements event.Log.
func (db *DB) EventsAfter(ctx context.Context, orgID string, after int64, locationID string, limit int) ([]event.Event, error) {
	rows, err := db.query(ctx, `SELECT seq, location_id, type, subject_id, data, created_at FROM events
		WHERE org_id = $1 AND seq > $2 AND ($3 = '' OR location_id = '' OR location_id = $3)
		ORDER BY seq LIMIT $4`, orgID, after, locationID, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []event.Event{}
	for rows.Next() {
		e := event.Event{OrgID: orgID}
		var data string
		if err := rows.Scan(&e.Seq, &e.LocationID, &e.Type, &e.SubjectID, &data, &e.At); err != nil {
			return nil, translate(err)
		}
		e.Data, e.At = json.RawMessage(data), e.At.UTC()
		out = append(out, e)
	}
	return out, translate(rows.Err())
}

// LastEventSeq returns the sequence number of org's latest event (0 if none).
func (db *DB) LastEventSeq(ctx context.Context, orgID string) (int64, error) {
	var seq int64
	err := db.queryRow(ctx, `SELECT event_seq FROM organizations WHERE id = $1`, orgID).Scan(&seq)
	return seq, notFound(err, "organization")
}

// MenuChangedSince implements menu.ChangeLog with one round trip: the
// organization's sequence number, and a look at the events after seq
// (a range of the primary key, so only those are read).
func (db *DB) MenuChangedSince(ctx context.Context, orgID string, seq int64, prefixes []string) (last int64, changed bool, err error) {
	if len(prefixes) == 0 {
		err = db.queryRow(ctx, `SELECT event_seq FROM organizations WHERE id = $1`, orgID).Scan(&last)
		return last, false, notFound(err, "organization")
	}
	args := []any{orgID, seq}
	var match []string
	for _, p := range prefixes {
		args = append(args, p+"%")
		match = append(match, fmt.Sprintf("type LIKE $%d", len(args)))
	}
	err = db.queryRow(ctx, `SELECT event_seq, EXISTS (SELECT 1 FROM events WHERE org_id = $1 AND seq > $2 AND (`+
		strings.Join(match, " OR ")+`)) FROM organizations WHERE id = $1`, args...).Scan(&last, &changed)
	return last, changed, notFound(err, "organization")
}

// LastSeq implements event.Log.
func (db *DB) LastSeq(ctx context.Context, orgID string) (int64, error) {
	var last int64
	err := db.queryRow(ctx, `SELECT event_seq FROM organizations WHERE id = $1`, orgID).Scan(&last)
	return last, notFound(err, "organization")
}

// Heads implements event.Heads: every organization's latest committed
// event, from the counter each commit moves.
func (db *DB) Heads(ctx context.Context) (map[string]int64, error) {
	rows, err := db.query(ctx, `SELECT id, event_seq FROM organizations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, err
		}
		out[id] = seq
	}
	return out, rows.Err()
}
