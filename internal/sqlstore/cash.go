package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/cash"
)

var _ cash.Store = (*DB)(nil)

const drawerCols = `d.id, d.org_id, d.location_id, d.name, d.archived, d.version, d.created_at, d.updated_at,
	(SELECT s.id FROM drawer_sessions s WHERE s.drawer_id = d.id AND s.status = 'open')`

func scanDrawer(row rowScanner) (*cash.Drawer, error) {
	var d cash.Drawer
	var open sql.NullString
	if err := row.Scan(&d.ID, &d.OrgID, &d.LocationID, &d.Name, &d.Archived, &d.Version, &d.CreatedAt, &d.UpdatedAt, &open); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt, d.OpenSessionID = d.CreatedAt.UTC(), d.UpdatedAt.UTC(), open.String
	return &d, nil
}

// CreateDrawer implements cash.Store.
func (db *DB) CreateDrawer(ctx context.Context, d *cash.Drawer) error {
	err := db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cash_drawers (id, org_id, location_id, name, archived, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, d.ID, d.OrgID, d.LocationID, d.Name, d.Archived, d.Version, ts(d.CreatedAt), ts(d.UpdatedAt)); err != nil {
			return err
		}
		return tx.emit(ctx, d.OrgID, cash.EventDrawerCreated, d.LocationID, d.ID, d, d.CreatedAt)
	})
	if apperr.Is(err, apperr.Conflict) {
		if _, ferr := db.FindDrawer(ctx, d.OrgID, d.ID); ferr == nil {
			return apperr.New(apperr.Conflict, "already_exists", "a cash drawer with this ID exists")
		}
		return &apperr.Error{Kind: apperr.Conflict, Code: "drawer_name_taken", Detail: "the location has a drawer called " + d.Name,
			Fields: []apperr.FieldError{{Field: "name", Reason: "is taken at this location"}}}
	}
	return err
}

// FindDrawer implements cash.Store.
func (db *DB) FindDrawer(ctx context.Context, orgID, id string) (*cash.Drawer, error) {
	d, err := scanDrawer(db.queryRow(ctx, `SELECT `+drawerCols+` FROM cash_drawers d WHERE d.org_id = $1 AND d.id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "cash drawer")
	}
	return d, nil
}

// FindDrawers implements cash.Store.
func (db *DB) FindDrawers(ctx context.Context, orgID, locationID string) ([]*cash.Drawer, error) {
	return queryAll(ctx, db, scanDrawer, `SELECT `+drawerCols+` FROM cash_drawers d WHERE d.org_id = $1 AND d.location_id = $2
		AND NOT d.archived ORDER BY d.name`, orgID, locationID)
}

var scanSession = scanBody[cash.Session]("drawer session")

func sessionBody(s *cash.Session) string {
	c := *s
	c.Summary = nil // worked out from the rows whenever asked for
	b, err := json.Marshal(&c)
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	return string(b)
}

// CreateDrawerSession implements cash.Store.
func (db *DB) CreateDrawerSession(ctx context.Context, s *cash.Session) error {
	err := db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO drawer_sessions (id, org_id, location_id, drawer_id, status, business_date, body, version, opened_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, s.ID, s.OrgID, s.LocationID, s.DrawerID, s.Status, s.BusinessDate, sessionBody(s),
			s.Version, ts(s.OpenedAt)); err != nil {
			return err
		}
		return tx.emit(ctx, s.OrgID, cash.EventSessionOpened, s.LocationID, s.ID, s, s.OpenedAt)
	})
	if apperr.Is(err, apperr.Conflict) {
		if _, _, ferr := db.FindDrawerSession(ctx, s.OrgID, s.ID); ferr == nil {
			return apperr.New(apperr.Conflict, "already_exists", "a drawer session with this ID exists")
		}
		return apperr.New(apperr.Conflict, "session_open", "this drawer already has an open session; close it first")
	}
	return err
}

// FindDrawerSession implements cash.Store.
func (db *DB) FindDrawerSession(ctx context.Context, orgID, id string) (*cash.Session, cash.Sums, error) {
	s, err := scanSession(db.queryRow(ctx, `SELECT body FROM drawer_sessions WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, cash.Sums{}, notFound(err, "drawer session")
	}
	x, err := sessionSums(ctx, db.read, orgID, id)
	return s, x, translate(err)
}

// sessionSums adds up what went in and out of a drawer session. The rows
// are the figures' source: GET /payments?drawer_session_id= and the
// session's movements list the same rows.
func sessionSums(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, orgID, sessionID string) (cash.Sums, error) {
	var x cash.Sums
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(amount + tip), 0) FROM payments
		WHERE org_id = $1 AND drawer_session_id = $2 AND method = 'cash' AND status IN ('captured', 'partially_refunded', 'refunded')`,
		orgID, sessionID).Scan(&x.Payments, &x.CashSales); err != nil {
		return x, err
	}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM refunds
		WHERE org_id = $1 AND drawer_session_id = $2 AND method = 'cash' AND status = 'succeeded'`,
		orgID, sessionID).Scan(&x.CashRefunds); err != nil {
		return x, err
	}
	err := q.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN kind = 'paid_in' THEN amount ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN kind = 'paid_out' THEN amount ELSE 0 END), 0),
		COUNT(CASE WHEN kind = 'no_sale' THEN 1 END)
		FROM drawer_movements WHERE org_id = $1 AND session_id = $2`, orgID, sessionID).Scan(&x.PaidIn, &x.PaidOut, &x.NoSales)
	return x, err
}

// FindDrawerSessions implements cash.Store.
func (db *DB) FindDrawerSessions(ctx context.Context, orgID, drawerID string, limit int) ([]*cash.Session, error) {
	return queryAll(ctx, db, scanSession, `SELECT body FROM drawer_sessions WHERE org_id = $1 AND drawer_id = $2
		ORDER BY opened_at DESC, id DESC LIMIT $3`, orgID, drawerID, limit)
}

// FindOpenDrawerSessions implements cash.Store.
func (db *DB) FindOpenDrawerSessions(ctx context.Context, orgID, locationID string) ([]*cash.Session, error) {
	return queryAll(ctx, db, scanSession, `SELECT body FROM drawer_sessions WHERE org_id = $1 AND location_id = $2 AND status = 'open'
		ORDER BY id`, orgID, locationID)
}

// CreateDrawerMovement implements cash.Store.
func (db *DB) CreateDrawerMovement(ctx context.Context, m *cash.Movement) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var status, locationID string
		if err := tx.QueryRowContext(ctx, `SELECT status, location_id FROM drawer_sessions WHERE org_id = $1 AND id = $2`+db.forShare(),
			m.OrgID, m.SessionID).Scan(&status, &locationID); err != nil {
			return notFound(err, "drawer session")
		}
		if status != cash.SessionOpen {
			return apperr.New(apperr.Conflict, "session_closed", "this drawer session is closed")
		}
		body, err := json.Marshal(m)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO drawer_movements (id, org_id, session_id, kind, amount, body, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`, m.ID, m.OrgID, m.SessionID, m.Kind, m.Amount.Amount, string(body), ts(m.At))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return apperr.New(apperr.Conflict, "already_exists", "a movement with this ID exists")
		}
		return tx.emit(ctx, m.OrgID, cash.EventDrawerMovement, locationID, m.SessionID, m, m.At)
	})
}

var scanMovement = scanBody[cash.Movement]("drawer movement")

// FindDrawerMovements implements cash.Store.
func (db *DB) FindDrawerMovements(ctx context.Context, orgID, sessionID string) ([]*cash.Movement, error) {
	return queryAll(ctx, db, scanMovement, `SELECT body FROM drawer_movements WHERE org_id = $1 AND session_id = $2
		ORDER BY created_at, id`, orgID, sessionID)
}

// CloseDrawerSession implements cash.Store.
func (db *DB) CloseDrawerSession(ctx context.Context, orgID, id string, close func(*cash.Session, cash.Sums) error) (*cash.Session, error) {
	var out *cash.Session
	err := db.inTx(ctx, func(tx *Tx) error {
		s, err := scanSession(tx.QueryRowContext(ctx, `SELECT body FROM drawer_sessions WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "drawer session")
		}
		x, err := sessionSums(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		if err := close(s, x); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE drawer_sessions SET status = $1, body = $2, version = $3, closed_at = $4
			WHERE org_id = $5 AND id = $6`, s.Status, sessionBody(s), s.Version, nullTS(s.ClosedAt), orgID, id); err != nil {
			return err
		}
		out = s
		return tx.emit(ctx, orgID, cash.EventSessionClosed, s.LocationID, s.ID, s, *s.ClosedAt)
	})
	return out, err
}
