package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/payment"
)

var _ payment.RefundStore = (*DB)(nil)

var scanRefund = scanBody[payment.Refund]("refund")

func refundBody(r *payment.Refund) string { return mustJSON(r) }

// CreateRefund implements payment.RefundStore.
func (db *DB) CreateRefund(ctx context.Context, r *payment.Refund, apply func(*payment.Refund, *payment.Payment, *order.Order) error) error {
	return db.inTx(ctx, func(tx *Tx) error {
		p, lo, err := tx.lockPayment(ctx, db, r.OrgID, r.PaymentID)
		if err != nil {
			return err
		}
		if r.DrawerSessionID != "" {
			if err := tx.checkSessionOpen(ctx, db, r.OrgID, r.DrawerSessionID); err != nil {
				return err
			}
		}
		orderBefore := lo.Version
		if err := apply(r, p, lo.Order); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO refunds (id, org_id, location_id, payment_id, order_id, business_date, method, status,
			amount, drawer_session_id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (id) DO NOTHING`, r.ID, r.OrgID, r.LocationID, r.PaymentID, r.OrderID, r.BusinessDate, string(r.Method), r.Status,
			r.Amount.Amount, nullString(r.DrawerSessionID), refundBody(r), ts(r.CreatedAt), ts(r.UpdatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return apperr.New(apperr.Conflict, "already_exists", "a refund with this ID exists; choose another ID or none")
		}
		if err := tx.emit(ctx, r.OrgID, payment.EventRefundCreated, r.LocationID, r.ID, r, r.UpdatedAt); err != nil {
			return err
		}
		if err := tx.savePayment(ctx, p); err != nil {
			return err
		}
		if lo.Version != orderBefore {
			return tx.savePaidOrder(ctx, lo)
		}
		return nil
	})
}

// UpdateRefund implements payment.RefundStore.
func (db *DB) UpdateRefund(ctx context.Context, orgID, id string, update func(*payment.Refund, *payment.Payment, *order.Order) error) (*payment.Refund, *payment.Payment, *order.Order, error) {
	var r *payment.Refund
	var p *payment.Payment
	var o *order.Order
	err := db.inTx(ctx, func(tx *Tx) (err error) {
		r, p, o, err = tx.updateRefund(ctx, db, orgID, id, update)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return r, p, o, nil
}

// ApplyRefundEvent implements payment.RefundStore.
func (db *DB) ApplyRefundEvent(ctx context.Context, orgID, provider, eventID, eventType, refundID string,
	update func(*payment.Refund, *payment.Payment, *order.Order) error) (applied bool, err error) {
	err = db.inTx(ctx, func(tx *Tx) error {
		first, err := tx.firstProviderEvent(ctx, orgID, provider, eventID, eventType)
		if err != nil || !first {
			return err
		}
		applied = true
		_, _, _, err = tx.updateRefund(ctx, db, orgID, refundID, update)
		if apperr.Is(err, apperr.NotFound) {
			return nil // not ours: acknowledged
		}
		return err
	})
	return applied, err
}

// updateRefund locks a refund with its payment and check, lets update
// change them, and saves what changed.
func (tx *Tx) updateRefund(ctx context.Context, db *DB, orgID, id string,
	update func(*payment.Refund, *payment.Payment, *order.Order) error) (*payment.Refund, *payment.Payment, *order.Order, error) {
	var paymentID string
	if err := tx.QueryRowContext(ctx, `SELECT payment_id FROM refunds WHERE org_id = $1 AND id = $2`, orgID, id).Scan(&paymentID); err != nil {
		return nil, nil, nil, notFound(err, "refund")
	}
	p, lo, err := tx.lockPayment(ctx, db, orgID, paymentID)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := scanRefund(tx.QueryRowContext(ctx, `SELECT body FROM refunds WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
	if err != nil {
		return nil, nil, nil, notFound(err, "refund")
	}
	o := lo.Order
	before, paymentBefore, orderBefore := r.UpdatedAt, p.Version, o.Version
	if err := update(r, p, o); err != nil {
		return nil, nil, nil, err
	}
	if !r.UpdatedAt.Equal(before) {
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = $1, body = $2, updated_at = $3, provider_ref = $4 WHERE org_id = $5 AND id = $6`,
			r.Status, refundBody(r), ts(r.UpdatedAt), nullString(r.ProviderRef), orgID, id); err != nil {
			return nil, nil, nil, err
		}
		if err := tx.emit(ctx, orgID, payment.EventRefundUpdated, r.LocationID, r.ID, r, r.UpdatedAt); err != nil {
			return nil, nil, nil, err
		}
	}
	if p.Version != paymentBefore {
		if err := tx.savePayment(ctx, p); err != nil {
			return nil, nil, nil, err
		}
	}
	if o.Version != orderBefore {
		if err := tx.savePaidOrder(ctx, lo); err != nil {
			return nil, nil, nil, err
		}
	}
	return r, p, o, nil
}

// FindRefund implements payment.RefundStore.
func (db *DB) FindRefund(ctx context.Context, orgID, id string) (*payment.Refund, error) {
	r, err := scanRefund(db.queryRow(ctx, `SELECT body FROM refunds WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "refund")
	}
	return r, nil
}

// FindRefundByRef implements payment.RefundStore.
func (db *DB) FindRefundByRef(ctx context.Context, orgID, ref string) (*payment.Refund, error) {
	r, err := scanRefund(db.queryRow(ctx, `SELECT body FROM refunds WHERE org_id = $1 AND provider_ref = $2`, orgID, ref))
	if err != nil {
		return nil, notFound(err, "refund")
	}
	return r, nil
}

// FindRefunds implements payment.RefundStore.
func (db *DB) FindRefunds(ctx context.Context, orgID string, f payment.RefundFilter) ([]*payment.Refund, error) {
	where, args := []string{"org_id = $1"}, []any{orgID}
	add := func(col, v string) {
		if v != "" {
			args = append(args, v)
			where = append(where, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	add("payment_id", f.PaymentID)
	add("location_id", f.LocationID)
	add("business_date", f.BusinessDate)
	add("drawer_session_id", f.DrawerSessionID)
	add("status", f.Status)
	if f.After != "" {
		args = append(args, f.After)
		where = append(where, fmt.Sprintf("id > $%d", len(args)))
	}
	args = append(args, f.Limit)
	return queryAll(ctx, db, scanRefund, `SELECT body FROM refunds WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(" ORDER BY id LIMIT $%d", len(args)), args...)
}
