package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/payment"
)

var _ payment.Store = (*DB)(nil)

var scanPayment = scanBody[payment.Payment]("payment")

// CreatePayment implements payment.Store.
func (db *DB) CreatePayment(ctx context.Context, p *payment.Payment, apply func(*payment.Payment, *order.Order) error) (*order.Order, error) {
	var out *order.Order
	err := db.inTx(ctx, func(tx *Tx) error {
		lo, err := tx.lockOrder(ctx, db, p.OrgID, p.OrderID)
		if err != nil {
			return err
		}
		// A retry racing its first attempt (the same client ID) finds it
		// here, under the check's lock, before it is priced again.
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments WHERE id = $1`, p.ID).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return errPaymentIDTaken
		}
		if p.DrawerSessionID != "" {
			if err := tx.checkSessionOpen(ctx, db, p.OrgID, p.DrawerSessionID); err != nil {
				return err
			}
		}
		if err := apply(p, lo.Order); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO payments (id, org_id, location_id, order_id, business_date, method, status, amount, tip,
			change_given, refunded, drawer_session_id, provider_ref, body, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (id) DO NOTHING`,
			p.ID, p.OrgID, p.LocationID, p.OrderID, p.BusinessDate, string(p.Method), string(p.Status), p.Amount.Amount, p.Tip.Amount,
			p.Change.Amount, p.Refunded.Amount, nullString(p.DrawerSessionID), nullString(p.ProviderRef), paymentBody(p), p.Version,
			ts(p.CreatedAt), ts(p.UpdatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errPaymentIDTaken
		}
		if err := tx.writeLedger(ctx, p); err != nil {
			return err
		}
		if err := tx.emit(ctx, p.OrgID, payment.EventPaymentCreated, p.LocationID, p.ID, p, p.UpdatedAt); err != nil {
			return err
		}
		out = lo.Order
		return tx.savePaidOrder(ctx, lo)
	})
	return out, err
}

var errPaymentIDTaken = apperr.New(apperr.Conflict, "already_exists", "a payment with this ID exists")

// savePaidOrder saves a check a payment changed, with its event.
func (tx *Tx) savePaidOrder(ctx context.Context, lo lockedOrder) error {
	if err := tx.saveOrder(ctx, lo.Order); err != nil {
		return err
	}
	return tx.saveChange(ctx, lo.Order, &order.Change{Event: order.EventOrderUpdated}, lo.stored, nil)
}

// savePayment writes a changed payment with its event.
func (tx *Tx) savePayment(ctx context.Context, p *payment.Payment) error {
	if _, err := tx.ExecContext(ctx, `UPDATE payments SET status = $1, amount = $2, tip = $3, change_given = $4, refunded = $5,
		provider_ref = $6, body = $7, version = $8, updated_at = $9 WHERE org_id = $10 AND id = $11`,
		string(p.Status), p.Amount.Amount, p.Tip.Amount, p.Change.Amount, p.Refunded.Amount, nullString(p.ProviderRef), paymentBody(p),
		p.Version, ts(p.UpdatedAt), p.OrgID, p.ID); err != nil {
		return err
	}
	if err := tx.writeLedger(ctx, p); err != nil {
		return err
	}
	return tx.emit(ctx, p.OrgID, payment.EventPaymentUpdated, p.LocationID, p.ID, p, p.UpdatedAt)
}

// lockPayment loads a payment and its check, locked: the check first, as
// every writer of both takes them, so none waits for another in a circle.
func (tx *Tx) lockPayment(ctx context.Context, db *DB, orgID, id string) (*payment.Payment, lockedOrder, error) {
	var orderID string
	if err := tx.QueryRowContext(ctx, `SELECT order_id FROM payments WHERE org_id = $1 AND id = $2`, orgID, id).Scan(&orderID); err != nil {
		return nil, lockedOrder{}, notFound(err, "payment")
	}
	lo, err := tx.lockOrder(ctx, db, orgID, orderID)
	if err != nil {
		return nil, lockedOrder{}, err
	}
	p, err := scanPayment(tx.QueryRowContext(ctx, `SELECT body FROM payments WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
	if err != nil {
		return nil, lockedOrder{}, notFound(err, "payment")
	}
	return p, lo, nil
}

// checkSessionOpen refuses cash into or out of a drawer session that was
// closed since the request began. Shared: cash payments into one drawer go
// on side by side; a close, which locks it for update, waits for them.
func (tx *Tx) checkSessionOpen(ctx context.Context, db *DB, orgID, sessionID string) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM drawer_sessions WHERE org_id = $1 AND id = $2`+db.forShare(),
		orgID, sessionID).Scan(&status)
	if err != nil {
		return notFound(err, "drawer session")
	}
	if status != "open" {
		return apperr.New(apperr.Conflict, "drawer_closed", "the drawer session was closed; open the drawer again")
	}
	return nil
}

func paymentBody(p *payment.Payment) string { return mustJSON(p) }

// UpdatePayment implements payment.Store.
func (db *DB) UpdatePayment(ctx context.Context, orgID, id string, update func(*payment.Payment, *order.Order) error) (*payment.Payment, *order.Order, error) {
	var p *payment.Payment
	var o *order.Order
	err := db.inTx(ctx, func(tx *Tx) error {
		var lo lockedOrder
		var err error
		if p, lo, err = tx.lockPayment(ctx, db, orgID, id); err != nil {
			return err
		}
		o = lo.Order
		before, orderBefore := p.Version, o.Version
		if err := update(p, o); err != nil {
			return err
		}
		if p.Version != before {
			if err := tx.savePayment(ctx, p); err != nil {
				return err
			}
		}
		if o.Version != orderBefore {
			return tx.savePaidOrder(ctx, lo)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return p, o, nil
}

// FindPayment implements payment.Store.
func (db *DB) FindPayment(ctx context.Context, orgID, id string) (*payment.Payment, error) {
	p, err := scanPayment(db.queryRow(ctx, `SELECT body FROM payments WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "payment")
	}
	return p, nil
}

// FindPaymentByRef implements payment.Store.
func (db *DB) FindPaymentByRef(ctx context.Context, orgID, ref string) (*payment.Payment, error) {
	p, err := scanPayment(db.queryRow(ctx, `SELECT body FROM payments WHERE org_id = $1 AND provider_ref = $2`, orgID, ref))
	if err != nil {
		return nil, notFound(err, "payment")
	}
	return p, nil
}

// FindPayments implements payment.Store.
func (db *DB) FindPayments(ctx context.Context, orgID string, f payment.Filter) ([]*payment.Payment, error) {
	where, args := []string{"org_id = $1"}, []any{orgID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.LocationID != "" {
		add("location_id = $%d", f.LocationID)
	}
	if f.OrderID != "" {
		add("order_id = $%d", f.OrderID)
	}
	if f.BusinessDate != "" {
		add("business_date = $%d", f.BusinessDate)
	}
	if f.DrawerSessionID != "" {
		add("drawer_session_id = $%d", f.DrawerSessionID)
	}
	if f.Method != "" {
		add("method = $%d", string(f.Method))
	}
	if len(f.Statuses) > 0 {
		in := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			args = append(args, string(s))
			in[i] = fmt.Sprintf("$%d", len(args))
		}
		where = append(where, "status IN ("+strings.Join(in, ", ")+")")
	}
	if f.After != "" {
		add("id > $%d", f.After)
	}
	args = append(args, f.Limit)
	return queryAll(ctx, db, scanPayment, `SELECT body FROM payments WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args)), args...)
}

// FindBankPaymentsInFlight implements payment.Store. It reads across
// organizations: it is the server's sweep, not a request's.
func (db *DB) FindBankPaymentsInFlight(ctx context.Context, after string, limit int) ([]*payment.Payment, error) {
	return queryAll(ctx, db, scanPayment, `SELECT body FROM payments
		WHERE method = 'open_banking' AND status IN ('pending', 'requires_action', 'authorized', 'surplus') AND id > $1
		ORDER BY id LIMIT $2`, after, limit)
}
