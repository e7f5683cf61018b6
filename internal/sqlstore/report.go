package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/fynlo/fynlo/internal/cash"
	"github.com/fynlo/fynlo/internal/order"
)

var _ cash.ReportStore = (*DB)(nil)

// Reports read rows; the figures are worked out in Go (cash.BuildDayReport),
// so the same few queries serve both engines. Each report reads in one
// read-only transaction: a payment committed half-way through cannot be in
// the payments and missing from its check.

// readTx runs fn in a read-only transaction: one snapshot (repeatable read
// on PostgreSQL; a read transaction on SQLite sees one state of the WAL).
func (db *DB) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	return translate(fn(tx))
}

// txAll runs a query in tx and scans every row with scan.
func txAll[T any](ctx context.Context, tx *sql.Tx, scan func(rowScanner) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// dayCTE names a location's business day's checks ($1 org, $2 location,
// $3 date), its drawer sessions, and every payment a day's report needs:
// the day's own, and those of the day's checks, drawer sessions and
// refunds whatever their date. Each part of the union has its index.
const dayCTE = `WITH day_orders AS (
		SELECT id FROM orders WHERE org_id = $1 AND location_id = $2 AND business_date = $3
	), day_sessions AS (
		SELECT s.id FROM drawer_sessions s JOIN cash_drawers d ON d.id = s.drawer_id
		WHERE d.org_id = $1 AND d.location_id = $2 AND s.business_date = $3
	), day_payments AS (
		SELECT id FROM payments WHERE org_id = $1 AND location_id = $2 AND business_date = $3
		UNION SELECT id FROM payments WHERE order_id IN (SELECT id FROM day_orders)
		UNION SELECT id FROM payments WHERE drawer_session_id IN (SELECT id FROM day_sessions)
		UNION SELECT payment_id FROM refunds WHERE org_id = $1 AND location_id = $2 AND business_date = $3
		UNION SELECT payment_id FROM refunds WHERE drawer_session_id IN (SELECT id FROM day_sessions)
	) `

// FindDayRows implements cash.ReportStore.
func (db *DB) FindDayRows(ctx context.Context, orgID, locationID, businessDate string) (*cash.DayRows, error) {
	rows := &cash.DayRows{}
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		args := []any{orgID, locationID, businessDate}
		var err error
		if rows.Orders, err = txAll(ctx, tx, scanOrder, `SELECT `+orderCols+` FROM orders
			WHERE org_id = $1 AND location_id = $2 AND business_date = $3 ORDER BY id`, args...); err != nil {
			return err
		}
		if err := dayLines(ctx, tx, rows.Orders, args); err != nil {
			return err
		}
		if rows.Payments, err = txAll(ctx, tx, scanPayment, dayCTE+`SELECT body FROM payments
			WHERE id IN (SELECT id FROM day_payments) ORDER BY id`, args...); err != nil {
			return err
		}
		if rows.Refunds, err = txAll(ctx, tx, scanRefund, dayCTE+`SELECT body FROM refunds
			WHERE payment_id IN (SELECT id FROM day_payments) ORDER BY id`, args...); err != nil {
			return err
		}
		if rows.Sessions, err = daySessions(ctx, tx, args); err != nil {
			return err
		}
		ids := map[string]bool{}
		for _, o := range rows.Orders {
			ids[o.ServerID] = true
			for _, l := range o.Lines {
				if l.Void != nil {
					ids[l.Void.By] = true
				}
			}
		}
		for _, p := range rows.Payments {
			ids[p.ServerID] = true
		}
		for _, x := range rows.Sessions {
			ids[x.Session.OpenedBy], ids[x.Session.ClosedBy], ids[x.Session.ApprovedBy] = true, true, true
		}
		rows.Names, err = staffNames(ctx, tx, orgID, ids)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// dayLines reads the lines of the day's checks in one query, in the order
// they were ordered, as loadLines does for one check.
func dayLines(ctx context.Context, tx *sql.Tx, orders []*order.Order, args []any) error {
	byID := make(map[string]*order.Order, len(orders))
	for _, o := range orders {
		byID[o.ID] = o
	}
	rs, err := tx.QueryContext(ctx, `SELECT l.order_id, l.body FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE o.org_id = $1 AND o.location_id = $2 AND o.business_date = $3 ORDER BY l.created_at, l.id`, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var orderID, body string
		if err := rs.Scan(&orderID, &body); err != nil {
			return err
		}
		o := byID[orderID]
		if o == nil {
			continue // a check of the day that began after the checks were read: the snapshot rules it out
		}
		var l order.Line
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			return fmt.Errorf("line of %s: %w", orderID, err)
		}
		o.Lines = append(o.Lines, &l)
	}
	return rs.Err()
}

// daySessions reads the day's drawer sessions, oldest first, each with its
// drawer's name and the sums its summary is made of (the same sums as the
// session's own endpoint).
func daySessions(ctx context.Context, tx *sql.Tx, args []any) ([]cash.SessionSums, error) {
	rs, err := tx.QueryContext(ctx, `SELECT s.body, d.name FROM drawer_sessions s JOIN cash_drawers d ON d.id = s.drawer_id
		WHERE d.org_id = $1 AND d.location_id = $2 AND s.business_date = $3 ORDER BY s.opened_at, s.id`, args...)
	if err != nil {
		return nil, err
	}
	var out []cash.SessionSums
	for rs.Next() {
		var body, name string
		if err := rs.Scan(&body, &name); err != nil {
			rs.Close()
			return nil, err
		}
		var s cash.Session
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			rs.Close()
			return nil, fmt.Errorf("drawer session body: %w", err)
		}
		out = append(out, cash.SessionSums{Session: &s, DrawerName: name})
	}
	if err := rs.Close(); err != nil {
		return nil, err
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Sums, err = sessionSums(ctx, tx, args[0].(string), out[i].Session.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// staffNames maps the IDs of employees and users of org to their names.
func staffNames(ctx context.Context, tx *sql.Tx, orgID string, ids map[string]bool) (map[string]string, error) {
	names := map[string]string{}
	args := []any{orgID}
	ph := []string{}
	for id := range ids {
		if id != "" {
			args = append(args, id)
			ph = append(ph, "$"+strconv.Itoa(len(args)))
		}
	}
	if len(ph) == 0 {
		return names, nil
	}
	in := strings.Join(ph, ", ")
	rs, err := tx.QueryContext(ctx, `SELECT id, name FROM employees WHERE org_id = $1 AND id IN (`+in+`)
		UNION ALL SELECT id, name FROM users WHERE org_id = $1 AND id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var id, name string
		if err := rs.Scan(&id, &name); err != nil {
			return nil, err
		}
		names[id] = name
	}
	return names, rs.Err()
}

// FindSessionRows implements cash.ReportStore.
func (db *DB) FindSessionRows(ctx context.Context, orgID, sessionID string) (*cash.SessionRows, error) {
	out := &cash.SessionRows{}
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		var body string
		if err := tx.QueryRowContext(ctx, `SELECT s.body, d.name FROM drawer_sessions s JOIN cash_drawers d ON d.id = s.drawer_id
			WHERE s.org_id = $1 AND s.id = $2`, orgID, sessionID).Scan(&body, &out.DrawerName); err != nil {
			return notFound(err, "drawer session")
		}
		var s cash.Session
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			return fmt.Errorf("drawer session body: %w", err)
		}
		out.Session = &s
		var err error
		if out.Sums, err = sessionSums(ctx, tx, orgID, sessionID); err != nil {
			return err
		}
		// The rows sessionSums adds up, with the same conditions.
		if out.Payments, err = txAll(ctx, tx, scanPayment, `SELECT body FROM payments WHERE org_id = $1 AND drawer_session_id = $2
			AND method = 'cash' AND status IN ('captured', 'partially_refunded', 'refunded') ORDER BY id`, orgID, sessionID); err != nil {
			return err
		}
		if out.Refunds, err = txAll(ctx, tx, scanRefund, `SELECT body FROM refunds WHERE org_id = $1 AND drawer_session_id = $2
			AND method = 'cash' AND status = 'succeeded' ORDER BY id`, orgID, sessionID); err != nil {
			return err
		}
		if out.Movements, err = txAll(ctx, tx, scanMovement, `SELECT body FROM drawer_movements WHERE org_id = $1 AND session_id = $2
			ORDER BY created_at, id`, orgID, sessionID); err != nil {
			return err
		}
		out.Names, err = staffNames(ctx, tx, orgID, map[string]bool{s.OpenedBy: true, s.ClosedBy: true, s.ApprovedBy: true})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
