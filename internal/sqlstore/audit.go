package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fynlo/fynlo/internal/audit"
)

var _ audit.Store = (*DB)(nil)

// appendAudit chains e onto orgID's log. Like the event sequence, the
// counter row stays locked until commit, so the chain has one order.
func (tx *Tx) appendAudit(ctx context.Context, orgID string, e audit.Entry, at time.Time) error {
	e.OrgID, e.At = orgID, ts(at)
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage("{}")
	}
	err := tx.QueryRowContext(ctx,
		`UPDATE organizations SET audit_seq = audit_seq + 1 WHERE id = $1 RETURNING audit_seq, audit_head`, orgID).
		Scan(&e.Seq, &e.PrevHash)
	if err != nil {
		return notFound(err, "organization")
	}
	e.Hash = e.ComputeHash()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (org_id, seq, location_id, actor_id, action, subject_id, detail, created_at, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		orgID, e.Seq, e.LocationID, e.ActorID, e.Action, e.SubjectID, string(e.Detail), e.At, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("insert audit entry: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE organizations SET audit_head = $1 WHERE id = $2`, e.Hash, orgID); err != nil {
		return fmt.Errorf("advance audit head: %w", err)
	}
	return nil
}

// AppendAudit implements audit.Store.
func (db *DB) AppendAudit(ctx context.Context, orgID string, e audit.Entry) error {
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	return db.inTx(ctx, func(tx *Tx) error { return tx.appendAudit(ctx, orgID, e, at) })
}

// FindAudit implements audit.Store.
func (db *DB) FindAudit(ctx context.Context, orgID string, f audit.Filter) ([]audit.Entry, error) {
	rows, err := db.query(ctx, `SELECT seq, location_id, actor_id, action, subject_id, detail, created_at, prev_hash, hash
		FROM audit_events WHERE org_id = $1 AND seq > $2
			AND ($3 = '' OR action = $3) AND ($4 = '' OR actor_id = $4) AND ($5 = '' OR subject_id = $5)
			AND ($6 = '' OR location_id = $6)
		ORDER BY seq LIMIT $7`, orgID, f.After, f.Action, f.ActorID, f.SubjectID, f.LocationID, f.Limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []audit.Entry{}
	for rows.Next() {
		e := audit.Entry{OrgID: orgID}
		var detail string
		if err := rows.Scan(&e.Seq, &e.LocationID, &e.ActorID, &e.Action, &e.SubjectID, &detail, &e.At, &e.PrevHash, &e.Hash); err != nil {
			return nil, translate(err)
		}
		e.Detail, e.At = json.RawMessage(detail), e.At.UTC()
		out = append(out, e)
	}
	return out, translate(rows.Err())
}

// AuditHead implements audit.Store.
func (db *DB) AuditHead(ctx context.Context, orgID string) (int64, string, error) {
	var seq int64
	var head string
	err := db.queryRow(ctx, `SELECT audit_seq, audit_head FROM organizations WHERE id = $1`, orgID).Scan(&seq, &head)
	if err != nil {
		return 0, "", notFound(err, "organization")
	}
	return seq, head, nil
}
