package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/kitchen"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/order"
)

var _ order.Store = (*DB)(nil)

const orderCols = `id, org_id, location_id, number, business_date, type, table_id, status, body, version, created_at, updated_at`

func scanOrder(row rowScanner) (*order.Order, error) { return scanOrderWith(row) }

// scanOrderWith scans a check's columns followed by more.
func scanOrderWith(row rowScanner, more ...any) (*order.Order, error) {
	var o order.Order
	var table sql.NullString
	var body string
	var id, org, loc, date, typ, status string
	var number int
	var version int64
	var created, updated time.Time
	if err := row.Scan(append([]any{&id, &org, &loc, &number, &date, &typ, &table, &status, &body, &version, &created, &updated}, more...)...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	o.ID, o.OrgID, o.LocationID, o.Number, o.BusinessDate, o.Type, o.TableID = id, org, loc, number, date, typ, table.String
	o.Status, o.Version, o.CreatedAt, o.UpdatedAt = order.Status(status), version, created.UTC(), updated.UTC()
	o.Lines = []*order.Line{}
	return &o, nil
}

// queryer is a pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// lineSep joins a check's line bodies in one column. The bodies are JSON
// this package wrote, where a control character is always escaped, so
// the separator cannot occur inside one.
const lineSep = "\x1e"

// linesQuery selects, for the check $2 of organization $1, its lines'
// bodies in the order they were ordered (joined by lineSep) and, when ops,
// its applied operations as a JSON array of [op ID, line ID]; with check,
// the check's own columns before them. One round trip where there were
// three, for what every change to a check reads first.
//
// A check to change is locked by a statement of its own before this one
// reads its lines: on PostgreSQL a statement that waits for a row lock
// sees the row as its holder left it, but its subqueries still see the
// snapshot taken before the wait.
func (db *DB) linesQuery(check, ops bool) string {
	lines := `(SELECT group_concat(l.body, char(30) ORDER BY l.created_at, l.id) FROM order_lines l WHERE l.order_id = o.id)`
	applied := `(SELECT json_group_array(json_array(p.op_id, p.line_id)) FROM order_ops p WHERE p.order_id = o.id)`
	if db.engine == Postgres {
		lines = `(SELECT string_agg(l.body, chr(30) ORDER BY l.created_at, l.id) FROM order_lines l WHERE l.order_id = o.id)`
		applied = `(SELECT json_agg(json_build_array(p.op_id, p.line_id))::text FROM order_ops p WHERE p.order_id = o.id)`
	}
	if !ops {
		applied = `NULL`
	}
	cols := ""
	if check {
		cols = `o.id, o.org_id, o.location_id, o.number, o.business_date, o.type, o.table_id, o.status, o.body, o.version, o.created_at, o.updated_at, `
	}
	return `SELECT ` + cols + lines + `, ` + applied + ` FROM orders o WHERE o.org_id = $1 AND o.id = $2`
}

// scanFullOrder reads a row of linesQuery(true, …) into a check, and
// returns its lines' stored bodies by ID.
func scanFullOrder(row rowScanner) (*order.Order, map[string]string, error) {
	var lines, ops sql.NullString
	o, err := scanOrderWith(row, &lines, &ops)
	if err != nil {
		return nil, nil, err
	}
	stored, err := fillLines(o, lines, ops)
	return o, stored, err
}

// fillLines adds to o the lines and operations read by linesQuery, and
// returns each line's stored body by ID (so a save writes only lines that
// changed).
func fillLines(o *order.Order, lines, ops sql.NullString) (map[string]string, error) {
	stored := map[string]string{}
	if lines.String != "" {
		for body := range strings.SplitSeq(lines.String, lineSep) {
			var l order.Line
			if err := json.Unmarshal([]byte(body), &l); err != nil {
				return nil, fmt.Errorf("line of %s: %w", o.ID, err)
			}
			o.Lines = append(o.Lines, &l)
			stored[l.ID] = body
		}
	}
	if ops.Valid {
		var pairs [][2]string
		if err := json.Unmarshal([]byte(ops.String), &pairs); err != nil {
			return nil, fmt.Errorf("operations of %s: %w", o.ID, err)
		}
		o.Ops = make(map[string]string, len(pairs))
		for _, p := range pairs {
			o.Ops[p[0]] = p[1]
		}
	} else {
		o.Ops = map[string]string{}
	}
	return stored, nil
}

// loadLines reads a check's lines, in the order they were ordered, and
// returns each one's stored body by ID.
func loadLines(ctx context.Context, q queryer, o *order.Order) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT body FROM order_lines WHERE order_id = $1 ORDER BY created_at, id`, o.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	bodies := map[string]string{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var l order.Line
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			return nil, fmt.Errorf("line of %s: %w", o.ID, err)
		}
		o.Lines = append(o.Lines, &l)
		bodies[l.ID] = body
	}
	return bodies, rows.Err()
}

// FindOrder implements order.Store.
func (db *DB) FindOrder(ctx context.Context, orgID, id string) (*order.Order, error) {
	o, _, err := scanFullOrder(db.queryRow(ctx, db.linesQuery(true, false), orgID, id))
	if err != nil {
		return nil, notFound(err, "order")
	}
	o.Ops = nil
	return o, nil
}

// FindOrders implements order.Store.
func (db *DB) FindOrders(ctx context.Context, orgID string, f order.OrderFilter) ([]*order.Order, error) {
	q := `SELECT ` + orderCols + ` FROM orders WHERE org_id = $1 AND ($2 = '' OR location_id = $2)
		AND ($3 = '' OR table_id = $3) AND ($4 = '' OR id < $4)`
	args := []any{orgID, f.LocationID, f.TableID, f.After}
	if len(f.Statuses) > 0 {
		ph := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			args = append(args, string(s))
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		q += ` AND status IN (` + strings.Join(ph, ", ") + `)`
	}
	args = append(args, f.Limit)
	q += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	os, err := queryAll(ctx, db, scanOrder, q, args...)
	if err != nil {
		return nil, err
	}
	for _, o := range os {
		if _, err := loadLines(ctx, db.read, o); err != nil {
			return nil, translate(err)
		}
	}
	return os, nil
}

// CreateOrder implements order.Store.
func (db *DB) CreateOrder(ctx context.Context, o *order.Order, ch *order.Change) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if err := tx.numberOrder(ctx, o); err != nil {
			return err
		}
		return tx.insertOrder(ctx, o, ch)
	})
}

// numberOrder gives a new check the next receipt number of its location's
// business day.
func (tx *Tx) numberOrder(ctx context.Context, o *order.Order) error {
	err := tx.QueryRowContext(ctx, `INSERT INTO order_numbers (location_id, business_date, last) VALUES ($1, $2, 1)
		ON CONFLICT (location_id, business_date) DO UPDATE SET last = order_numbers.last + 1 RETURNING last`,
		o.LocationID, o.BusinessDate).Scan(&o.Number)
	if err != nil {
		return fmt.Errorf("number order: %w", err)
	}
	return nil
}

// insertOrder writes a new check with its lines, operations, stock moves
// and event.
func (tx *Tx) insertOrder(ctx context.Context, o *order.Order, ch *order.Change) error {
	body, err := orderBody(o)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (`+orderCols+`, currency, total) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		o.ID, o.OrgID, o.LocationID, o.Number, o.BusinessDate, o.Type, nullString(o.TableID), string(o.Status), body, o.Version,
		ts(o.CreatedAt), ts(o.UpdatedAt), o.Currency, o.Totals.Total.Amount); err != nil {
		return err
	}
	return tx.saveChange(ctx, o, ch, nil, nil)
}

// orderBody is the check as stored in its row: everything but its lines.
func orderBody(o *order.Order) (string, error) {
	c := *o
	c.Lines = nil
	b, err := json.Marshal(&c)
	return string(b), err
}

// lockedOrder is a check loaded for a change, with its lines as stored.
type lockedOrder struct {
	*order.Order
	stored map[string]string // line ID → body
}

// lockOrder loads a check with its lines and applied operations, locked
// until the transaction ends (SQLite's write transaction already is).
func (tx *Tx) lockOrder(ctx context.Context, db *DB, orgID, id string) (lockedOrder, error) {
	o, err := scanOrder(tx.QueryRowContext(ctx, `SELECT `+orderCols+` FROM orders WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
	if err != nil {
		return lockedOrder{}, notFound(err, "order")
	}
	var lines, ops sql.NullString
	if err := tx.QueryRowContext(ctx, db.linesQuery(false, true), orgID, id).Scan(&lines, &ops); err != nil {
		return lockedOrder{}, err
	}
	stored, err := fillLines(o, lines, ops)
	return lockedOrder{o, stored}, err
}

// loadOps reads the operations applied to one of org's checks: op ID →
// the line it made or changed.
func loadOps(ctx context.Context, q queryer, orgID, orderID string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.op_id, p.line_id FROM order_ops p JOIN orders o ON o.id = p.order_id
		WHERE o.org_id = $1 AND p.order_id = $2`, orgID, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ops := map[string]string{}
	for rows.Next() {
		var op, line string
		if err := rows.Scan(&op, &line); err != nil {
			return nil, err
		}
		ops[op] = line
	}
	return ops, rows.Err()
}

// FindAppliedOps implements order.Store.
func (db *DB) FindAppliedOps(ctx context.Context, orgID, orderID string) (map[string]string, error) {
	ops, err := loadOps(ctx, db.read, orgID, orderID)
	return ops, translate(err)
}

// saveOrder writes the check's row.
func (tx *Tx) saveOrder(ctx context.Context, o *order.Order) error {
	body, err := orderBody(o)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE orders SET type = $1, table_id = $2, status = $3, total = $4, body = $5, version = $6, updated_at = $7
		WHERE org_id = $8 AND id = $9`, o.Type, nullString(o.TableID), string(o.Status), o.Totals.Total.Amount, body, o.Version,
		ts(o.UpdatedAt), o.OrgID, o.ID)
	return err
}

// saveChange writes what a change to a check touched besides its row: its
// lines that differ from stored (repricing moves every line's share of the
// totals; a line not in stored is new, and inserted), its operations, the
// stock it moved, the tickets showing the lines the change touched (except
// those in skip, which the caller writes), and its event.
func (tx *Tx) saveChange(ctx context.Context, o *order.Order, ch *order.Change, stored map[string]string, skip map[string]bool) error {
	for _, l := range o.Lines {
		body, err := json.Marshal(l)
		if err != nil {
			return err
		}
		prev, own := stored[l.ID]
		if own && prev == string(body) {
			continue
		}
		if own {
			if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET order_id = $1, kitchen_state = $2, body = $3 WHERE org_id = $4 AND id = $5`,
				o.ID, string(l.KitchenState), string(body), o.OrgID, l.ID); err != nil {
				return fmt.Errorf("save line: %w", err)
			}
			continue
		}
		// A new line. Its ID may be the client's: one already taken, by a
		// line of another check (of any organization), is refused rather
		// than written over, which would take that line from its check.
		res, err := tx.ExecContext(ctx, `INSERT INTO order_lines (id, org_id, order_id, item_id, kitchen_state, body, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			l.ID, o.OrgID, o.ID, l.ItemID, string(l.KitchenState), string(body), ts(l.CreatedAt))
		if err != nil {
			return fmt.Errorf("save line: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return apperr.New(apperr.Conflict, "already_exists", "a line with ID "+l.ID+" exists; choose another ID or none")
		}
	}
	for _, op := range ch.Ops {
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_ops (order_id, op_id, type, line_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
			o.ID, op.OpID, op.Type, op.LineID, ts(o.UpdatedAt)); err != nil {
			return fmt.Errorf("save op: %w", err)
		}
	}
	for _, m := range ch.Stock {
		if err := tx.moveStock(ctx, o, m); err != nil {
			return err
		}
	}
	if err := tx.refreshTickets(ctx, o, ch, skip); err != nil {
		return err
	}
	return tx.emit(ctx, o.OrgID, ch.Event, o.LocationID, o.ID, o, o.UpdatedAt)
}

// moveStock counts an item's stock at the check's location up or down,
// refusing to go below zero; reaching zero takes the item off (86).
func (tx *Tx) moveStock(ctx context.Context, o *order.Order, m order.StockMove) error {
	// The count is read, then written only if no one wrote it since (the
	// version): two tills selling the last one at once on PostgreSQL would
	// otherwise both read 1 and both write 0. The loser's write waits for
	// the winner's commit, matches nothing, and it reads again.
	for range 50 {
		var body string
		var version int64
		err := tx.QueryRowContext(ctx, `SELECT body, version FROM item_availability WHERE org_id = $1 AND location_id = $2 AND item_id = $3`,
			o.OrgID, o.LocationID, m.ItemID).Scan(&body, &version)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // no longer counted
		}
		if err != nil {
			return err
		}
		var a menu.Availability
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			return err
		}
		if a.Stock == nil {
			return nil
		}
		left := *a.Stock + m.Delta
		if left < 0 {
			return apperr.New(apperr.Conflict, "out_of_stock", "only "+strconv.Itoa(*a.Stock)+" left of an item on this check")
		}
		a.Stock, a.LocationID, a.ItemID, a.Version, a.UpdatedAt = &left, o.LocationID, m.ItemID, version+1, o.UpdatedAt
		nb, err := json.Marshal(&a)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE item_availability SET body = $1, version = $2, updated_at = $3
			WHERE org_id = $4 AND location_id = $5 AND item_id = $6 AND version = $7`,
			string(nb), a.Version, ts(a.UpdatedAt), o.OrgID, o.LocationID, m.ItemID, version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			continue // counted meanwhile: read it again
		}
		return tx.emit(ctx, o.OrgID, menu.EventAvailabilityUpdated, o.LocationID, m.ItemID, &a, a.UpdatedAt)
	}
	return apperr.New(apperr.Conflict, "retry", "the item's stock kept changing; retry")
}

// refreshTickets rewrites the tickets showing lines the change touched
// after they reached the kitchen (a void, a serve), so kitchen screens hear.
func (tx *Tx) refreshTickets(ctx context.Context, o *order.Order, ch *order.Change, skip map[string]bool) error {
	// The tickets showing the lines (a line may be on a ticket at more
	// than one station), found in one query.
	var ids []any
	for _, l := range ch.Lines {
		if l.KitchenState != order.LineNew && l.KitchenState != order.LineHeld {
			ids = append(ids, l.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ph := make([]string, len(ids))
	for i := range ids {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	rows, err := tx.QueryContext(ctx, `SELECT line_id, ticket_id FROM ticket_lines WHERE line_id IN (`+strings.Join(ph, ", ")+`) ORDER BY station`, ids...)
	if err != nil {
		return err
	}
	ticketsOf := map[string][]string{}
	for rows.Next() {
		var line, tid string
		if err := rows.Scan(&line, &tid); err != nil {
			rows.Close()
			return err
		}
		ticketsOf[line] = append(ticketsOf[line], tid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Each ticket once, in the order of the change's lines.
	var refresh []string
	seen := map[string]bool{}
	for _, id := range ids {
		for _, tid := range ticketsOf[id.(string)] {
			if !skip[tid] && !seen[tid] {
				seen[tid] = true
				refresh = append(refresh, tid)
			}
		}
	}
	for _, tid := range refresh {
		t, err := scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketCols+` FROM tickets WHERE id = $1`, tid))
		if err != nil {
			return err
		}
		t.Refresh(o)
		t.Version++
		t.UpdatedAt = o.UpdatedAt
		if err := tx.saveTicket(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// UpdateOrder implements order.Store.
func (db *DB) UpdateOrder(ctx context.Context, orgID, id string, update func(*order.Order) (*order.Change, error)) (*order.Order, error) {
	var out *order.Order
	err := db.inTx(ctx, func(tx *Tx) error {
		lo, err := tx.lockOrder(ctx, db, orgID, id)
		if err != nil {
			return err
		}
		o := lo.Order
		before := o.Version
		ch, err := update(o)
		if err != nil {
			return err
		}
		out = o
		if o.Version == before {
			return nil // nothing changed (every operation a replay)
		}
		if err := tx.saveOrder(ctx, o); err != nil {
			return err
		}
		return tx.saveChange(ctx, o, ch, lo.stored, nil)
	})
	return out, err
}

// UpdateOrders implements order.Store.
func (db *DB) UpdateOrders(ctx context.Context, orgID, a, b string, update func(a, b *order.Order) (*order.Change, *order.Change, error)) (*order.Order, *order.Order, error) {
	var oa, ob *order.Order
	err := db.inTx(ctx, func(tx *Tx) error {
		first, second := a, b
		if b < a {
			first, second = b, a // always lock in ID order: two moves between the same checks never deadlock
		}
		l1, err := tx.lockOrder(ctx, db, orgID, first)
		if err != nil {
			return err
		}
		l2, err := tx.lockOrder(ctx, db, orgID, second)
		if err != nil {
			return err
		}
		la, lb := l1, l2
		if first != a {
			la, lb = l2, l1
		}
		oa, ob = la.Order, lb.Order
		cha, chb, err := update(oa, ob)
		if err != nil {
			return err
		}
		// A line moved between the two is rewritten with its new check's
		// ID: its row exists, naming the check it left.
		for _, p := range [][2]lockedOrder{{la, lb}, {lb, la}} {
			to, from := p[0], p[1]
			for _, l := range to.Lines {
				if _, own := to.stored[l.ID]; !own {
					if _, moved := from.stored[l.ID]; moved {
						to.stored[l.ID] = ""
					}
				}
			}
		}
		for _, p := range []struct {
			lo lockedOrder
			ch *order.Change
		}{{la, cha}, {lb, chb}} {
			if err := tx.saveOrder(ctx, p.lo.Order); err != nil {
				return err
			}
			if err := tx.saveChange(ctx, p.lo.Order, p.ch, p.lo.stored, nil); err != nil {
				return err
			}
		}
		return nil
	})
	return oa, ob, err
}

var _ kitchen.Store = (*DB)(nil)
