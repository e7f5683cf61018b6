package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/kitchen"
	"github.com/fynlo/fynlo/internal/order"
)

const stationCols = `id, org_id, location_id, key, body, version, created_at, updated_at`

func scanStation(row rowScanner) (*kitchen.Station, error) {
	var st kitchen.Station
	var id, org, loc, key, body string
	var version int64
	var created, updated time.Time
	if err := row.Scan(&id, &org, &loc, &key, &body, &version, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return nil, fmt.Errorf("station %s: %w", id, err)
	}
	st.ID, st.OrgID, st.LocationID, st.Key, st.Version, st.CreatedAt, st.UpdatedAt = id, org, loc, key, version, created.UTC(), updated.UTC()
	return &st, nil
}

// CreateStation implements kitchen.Store.
func (db *DB) CreateStation(ctx context.Context, st *kitchen.Station) error {
	body, err := json.Marshal(st)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kitchen_stations (`+stationCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			st.ID, st.OrgID, st.LocationID, st.Key, string(body), st.Version, ts(st.CreatedAt), ts(st.UpdatedAt)); err != nil {
			return err
		}
		return tx.emit(ctx, st.OrgID, kitchen.EventStationCreated, st.LocationID, st.ID, st, st.CreatedAt)
	})
	if apperr.Is(err, apperr.Conflict) {
		if _, ferr := db.FindStation(ctx, st.OrgID, st.ID); ferr == nil {
			return apperr.New(apperr.Conflict, "already_exists", "a station with this ID exists")
		}
		return &apperr.Error{Kind: apperr.Conflict, Code: "station_key_taken", Detail: "the location has a station with this key",
			Fields: []apperr.FieldError{{Field: "key", Reason: "is taken at this location"}}}
	}
	return err
}

// FindStation implements kitchen.Store.
func (db *DB) FindStation(ctx context.Context, orgID, id string) (*kitchen.Station, error) {
	st, err := scanStation(db.queryRow(ctx, `SELECT `+stationCols+` FROM kitchen_stations WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "station")
	}
	return st, nil
}

// FindStations implements kitchen.Store.
func (db *DB) FindStations(ctx context.Context, orgID, locationID string) ([]*kitchen.Station, error) {
	return queryAll(ctx, db, scanStation, `SELECT `+stationCols+` FROM kitchen_stations WHERE org_id = $1 AND location_id = $2 ORDER BY key`,
		orgID, locationID)
}

// UpdateStation implements kitchen.Store.
func (db *DB) UpdateStation(ctx context.Context, orgID, id string, update func(*kitchen.Station) error) (*kitchen.Station, error) {
	var out *kitchen.Station
	err := db.inTx(ctx, func(tx *Tx) error {
		st, err := scanStation(tx.QueryRowContext(ctx, `SELECT `+stationCols+` FROM kitchen_stations WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "station")
		}
		if err := update(st); err != nil {
			return err
		}
		body, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE kitchen_stations SET body = $1, version = $2, updated_at = $3 WHERE id = $4`,
			string(body), st.Version, ts(st.UpdatedAt), st.ID); err != nil {
			return err
		}
		out = st
		return tx.emit(ctx, orgID, kitchen.EventStationUpdated, st.LocationID, st.ID, st, st.UpdatedAt)
	})
	return out, err
}

const ticketCols = `id, body, version, updated_at`

func scanTicket(row rowScanner) (*kitchen.Ticket, error) {
	var t kitchen.Ticket
	var id, body string
	var version int64
	var updated time.Time
	if err := row.Scan(&id, &body, &version, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return nil, fmt.Errorf("ticket %s: %w", id, err)
	}
	t.ID, t.Version, t.UpdatedAt = id, version, updated.UTC()
	return &t, nil
}

// saveTicket rewrites a ticket and announces it.
func (tx *Tx) saveTicket(ctx context.Context, t *kitchen.Ticket) error {
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET status = $1, body = $2, version = $3, updated_at = $4 WHERE id = $5`,
		t.Status, string(body), t.Version, ts(t.UpdatedAt), t.ID); err != nil {
		return err
	}
	return tx.emit(ctx, t.OrgID, kitchen.EventTicketUpdated, t.LocationID, t.ID, t, t.UpdatedAt)
}

// SendOrder implements kitchen.Store.
func (db *DB) SendOrder(ctx context.Context, orgID, orderID string, send func(*order.Order) (*order.Change, []*kitchen.Ticket, error)) (*order.Order, []*kitchen.Ticket, error) {
	var out *order.Order
	var tickets []*kitchen.Ticket
	err := db.inTx(ctx, func(tx *Tx) error {
		lo, err := tx.lockOrder(ctx, db, orgID, orderID)
		if err != nil {
			return err
		}
		o := lo.Order
		ch, made, err := send(o)
		if err != nil {
			return err
		}
		if err := tx.saveOrder(ctx, o); err != nil {
			return err
		}
		if err := tx.saveChange(ctx, o, ch, lo.stored, nil); err != nil {
			return err
		}
		out, tickets = o, made
		return tx.insertTickets(ctx, made)
	})
	return out, tickets, err
}

// CreateAndSend implements kitchen.Store. The send is worked out before
// anything is written, so the check's lines are written once, already sent.
func (db *DB) CreateAndSend(ctx context.Context, o *order.Order, ch *order.Change, send func(*order.Order) (*order.Change, []*kitchen.Ticket, error)) ([]*kitchen.Ticket, error) {
	var tickets []*kitchen.Ticket
	err := db.inTx(ctx, func(tx *Tx) error {
		_, made, err := send(o)
		if err != nil {
			return err
		}
		// The receipt number's row is locked until commit; taken after
		// the send is worked out, it is held a little less.
		if err := tx.numberOrder(ctx, o); err != nil {
			return err
		}
		for _, t := range made {
			t.OrderNumber = o.Number
		}
		tickets = made
		if err := tx.insertOrder(ctx, o, ch); err != nil {
			return err
		}
		return tx.insertTickets(ctx, tickets)
	})
	return tickets, err
}

// insertTickets writes new tickets and the key of each of their lines. A
// line already at its station breaks the key and rolls the whole send
// back: a ticket line is never doubled.
func (tx *Tx) insertTickets(ctx context.Context, made []*kitchen.Ticket) error {
	for _, t := range made {
		body, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tickets (id, org_id, location_id, order_id, station, status, body, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, t.ID, t.OrgID, t.LocationID, t.OrderID, t.Station, t.Status, string(body),
			t.Version, ts(t.CreatedAt), ts(t.UpdatedAt)); err != nil {
			return fmt.Errorf("insert ticket: %w", err)
		}
		for _, l := range t.Lines {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_lines (line_id, station, ticket_id) VALUES ($1, $2, $3)`,
				l.LineID, t.Station, t.ID); err != nil {
				return fmt.Errorf("ticket line: %w", err)
			}
		}
		if err := tx.emit(ctx, t.OrgID, kitchen.EventTicketCreated, t.LocationID, t.ID, t, t.CreatedAt); err != nil {
			return err
		}
	}
	return nil
}

// FindTicket implements kitchen.Store.
func (db *DB) FindTicket(ctx context.Context, orgID, id string) (*kitchen.Ticket, error) {
	t, err := scanTicket(db.queryRow(ctx, `SELECT `+ticketCols+` FROM tickets WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "ticket")
	}
	return t, nil
}

// FindTickets implements kitchen.Store.
func (db *DB) FindTickets(ctx context.Context, orgID string, f kitchen.TicketFilter) ([]*kitchen.Ticket, error) {
	return queryAll(ctx, db, scanTicket, `SELECT `+ticketCols+` FROM tickets WHERE org_id = $1 AND location_id = $2
		AND ($3 = '' OR station = $3) AND ($4 = '' OR status = $4) AND created_at >= $5
		ORDER BY created_at, id LIMIT $6`, orgID, f.LocationID, f.Station, f.Status, ts(f.Since), f.Limit)
}

// UpdateTicket implements kitchen.Store.
func (db *DB) UpdateTicket(ctx context.Context, orgID, id string, update func(*kitchen.Ticket, []*order.Order) ([]*order.Change, error)) (*kitchen.Ticket, error) {
	var out *kitchen.Ticket
	err := db.inTx(ctx, func(tx *Tx) error {
		// The check the ticket was sent from, and the checks its lines are
		// on now: moving lines to another check or merging checks takes them
		// away from the first, and the kitchen must still move them on.
		rows, err := tx.QueryContext(ctx, `SELECT t.order_id, l.order_id FROM tickets t
			LEFT JOIN ticket_lines tl ON tl.ticket_id = t.id
			LEFT JOIN order_lines l ON l.id = tl.line_id AND l.org_id = t.org_id
			WHERE t.org_id = $1 AND t.id = $2`, orgID, id)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var sentFrom string
			var now sql.NullString
			if err := rows.Scan(&sentFrom, &now); err != nil {
				rows.Close()
				return err
			}
			for _, oid := range []string{sentFrom, now.String} {
				if oid != "" && !slices.Contains(ids, oid) {
					ids = append(ids, oid)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return apperr.NotFoundf("ticket")
		}
		// The checks first, in ID order as UpdateOrders locks them, then the
		// ticket: the same order as a send.
		slices.Sort(ids)
		locked := make([]lockedOrder, len(ids))
		os := make([]*order.Order, len(ids))
		for i, oid := range ids {
			if locked[i], err = tx.lockOrder(ctx, db, orgID, oid); err != nil {
				return err
			}
			os[i] = locked[i].Order
		}
		t, err := scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketCols+` FROM tickets WHERE id = $1`+db.forUpdate(), id))
		if err != nil {
			return notFound(err, "ticket")
		}
		before := make([]int64, len(os))
		for i, o := range os {
			before[i] = o.Version
		}
		chs, err := update(t, os)
		if err != nil {
			return err
		}
		for i, o := range os {
			if o.Version == before[i] {
				continue
			}
			if err := tx.saveOrder(ctx, o); err != nil {
				return err
			}
			if err := tx.saveChange(ctx, o, chs[i], locked[i].stored, map[string]bool{t.ID: true}); err != nil {
				return err
			}
		}
		out = t
		return tx.saveTicket(ctx, t)
	})
	return out, err
}
