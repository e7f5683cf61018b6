package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/fynlo/fynlo/internal/auth"
)

var _ auth.ApprovalStore = (*DB)(nil)

const approvalColumns = `id, org_id, device_id, location_id, requester_id, approver_id, permission, reason, expires_at, used_at, created_at`

// CreateApproval implements auth.ApprovalStore.
func (db *DB) CreateApproval(ctx context.Context, a *auth.Approval, tokenHash string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO approvals (`+approvalColumns+`, token_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $11)`, a.ID, a.OrgID, a.DeviceID, a.LocationID, a.RequesterID,
			a.ApproverID, a.Permission, a.Reason, ts(a.ExpiresAt), ts(a.CreatedAt), tokenHash); err != nil {
			return fmt.Errorf("insert approval: %w", err)
		}
		return tx.emit(ctx, a.OrgID, auth.EventApprovalGranted, a.LocationID, a.ID, a, a.CreatedAt)
	})
}

// UseApproval implements auth.ApprovalStore.
func (db *DB) UseApproval(ctx context.Context, tokenHash, permission, deviceID, requesterID string, t time.Time) (*auth.Approval, error) {
	var out *auth.Approval
	err := db.inTx(ctx, func(tx *Tx) error {
		// One conditional UPDATE: of two requests racing with one approval,
		// exactly one uses it.
		var a auth.Approval
		var used sql.NullTime
		err := tx.QueryRowContext(ctx, `UPDATE approvals SET used_at = $1
			WHERE token_hash = $2 AND permission = $3 AND device_id = $4 AND requester_id = $5 AND used_at IS NULL AND expires_at > $1
			RETURNING `+approvalColumns, ts(t), tokenHash, permission, deviceID, requesterID).
			Scan(&a.ID, &a.OrgID, &a.DeviceID, &a.LocationID, &a.RequesterID, &a.ApproverID, &a.Permission, &a.Reason, &a.ExpiresAt, &used, &a.CreatedAt)
		if err != nil {
			return notFound(err, "approval")
		}
		a.UsedAt, a.ExpiresAt, a.CreatedAt = timePtr(used), a.ExpiresAt.UTC(), a.CreatedAt.UTC()
		out = &a
		return nil
	})
	return out, err
}
