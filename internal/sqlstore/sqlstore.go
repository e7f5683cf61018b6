// Package sqlstore is the only package that speaks SQL. It implements the
// domain Store interfaces on SQLite (one file, no setup) and PostgreSQL
// (many restaurants, many API nodes) with one query set.
//
// Every write runs in a transaction that also appends the domain events of
// the change to the outbox; after commit, OnCommit hears which sequence
// numbers are new so the dispatcher can publish them.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/event"
)

// Engine names a database engine.
type Engine string

// The engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DB is a handle on the database.
type DB struct {
	engine Engine
	read   *sql.DB
	// write is the pool writes go through. On SQLite it holds one
	// connection: SQLite has one writer at a time anyway, and queueing in Go
	// instead of in busy-retry loops keeps write latency flat under load.
	write *sql.DB
	// stmts caches prepared read statements by query text: SQLite spends
	// as long parsing a small query as running it.
	stmts sync.Map // string → *sql.Stmt
	// OnCommit is called after each committed transaction that appended
	// events, once per organization. Set it before serving.
	OnCommit func(event.Notice)
	// group runs SQLite's writes (see group.go); nil on PostgreSQL.
	group *group
}

// Options tune Open.
type Options struct {
	// MaxConns bounds the PostgreSQL pool (and SQLite's read pool).
	MaxConns int
}

// Open connects to the database named by dsn: a postgres:// or
// postgresql:// URL, or a path to an SQLite file (created if missing).
// It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	if opt.MaxConns <= 0 {
		opt.MaxConns = 16
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn, opt)
	}
	return openSQLite(ctx, dsn, opt)
}

func openPostgres(ctx context.Context, dsn string, opt Options) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pool.SetMaxOpenConns(opt.MaxConns)
	pool.SetMaxIdleConns(opt.MaxConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	// Reads get connections of their own: writers of one organization
	// queue on its row, and while they wait they hold their connections; a
	// read (a menu, a device check, the event dispatcher) must not queue
	// behind them.
	read, err := sql.Open("pgx", dsn)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	readConns := max(opt.MaxConns/2, 4)
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	read.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{engine: Postgres, read: read, write: pool}, nil
}

func openSQLite(ctx context.Context, path string, opt Options) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	// WAL lets readers run beside the writer; synchronous=FULL makes every
	// commit durable (money must survive a power cut); foreign keys are off
	// by default in SQLite; the busy timeout covers the moments when the
	// read pool checkpoints. _txlock=immediate takes the write lock at BEGIN
	// so a transaction never fails half-way on an upgrade deadlock.
	// temp_store=MEMORY keeps the statement journals of group commit's
	// savepoints in memory rather than in temporary files (they hold only
	// what a failed job rolls back; durability is the WAL's).
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "busy_timeout(10000)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_time_format", "sqlite")
	writeQ := url.Values{}
	for k, v := range q {
		writeQ[k] = v
	}
	writeQ.Set("_txlock", "immediate")

	write, err := sql.Open("sqlite", "file:"+path+"?"+writeQ.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	q.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	read.SetMaxOpenConns(opt.MaxConns)
	read.SetMaxIdleConns(opt.MaxConns)
	db := &DB{engine: SQLite, read: read, write: write}
	db.startWriter()
	return db, nil
}

// Engine reports which engine db runs on.
func (db *DB) Engine() Engine { return db.engine }

// Close closes the pools.
func (db *DB) Close() error {
	if db.group != nil {
		db.stopWriter()
		db.group.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	}
	db.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// prepared returns the cached prepared statement for a read query.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a read query through its prepared statement.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs a read query through its prepared statement.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

type rowScanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return translate(err)
	}
	return nil
}

// Tx is a write transaction that collects the events it appends.
type Tx struct {
	*sql.Tx
	db      *DB
	pending []pendingEvent // appended, not yet written
	notices map[string]*event.Notice
}

// inTx runs fn in a write transaction and commits it, then reports the
// events it appended. fn's error rolls everything back, events included.
func (db *DB) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	if db.group != nil {
		return db.groupTx(ctx, fn)
	}
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	tx := &Tx{Tx: sqlTx, db: db}
	err = fn(tx)
	if err == nil {
		err = tx.flushEvents(ctx)
	}
	if err == nil && len(tx.notices) > 0 {
		// Every state change appends an event; that is the change an
		// idempotent request must not repeat.
		err = markCommitted(ctx, tx)
	}
	if err != nil {
		_ = sqlTx.Rollback()
		return translate(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return translate(err)
	}
	if db.OnCommit != nil {
		for _, n := range tx.notices {
			db.OnCommit(*n)
		}
	}
	return nil
}

// appendEvent queues e for orgID's outbox; flushEvents writes the queue
// when the transaction's work is done.
func (tx *Tx) appendEvent(ctx context.Context, orgID string, e event.Event, at time.Time) error {
	// Every change is also an audit entry, by whoever the request acts for.
	actor := audit.ActorFrom(ctx)
	tx.pending = append(tx.pending, pendingEvent{orgID: orgID, e: e, at: ts(at),
		audit: audit.Entry{LocationID: e.LocationID, ActorID: actor.ID, Action: e.Type, SubjectID: e.SubjectID, Detail: e.Data}})
	return nil
}

// pendingEvent is an event and its audit entry waiting for the end of
// their transaction.
type pendingEvent struct {
	orgID string
	e     event.Event
	at    time.Time
	audit audit.Entry
}

// flushEvents writes the transaction's events with their sequence numbers,
// and their audit entries chained by hash, in one statement per table. The
// organization's row holds both counters and is locked from here until
// commit, so an organization's events commit in sequence order and a
// reader never sees seq N+1 before N; taking it last keeps the time it is
// held, and so the time other writers of the organization wait, short.
func (tx *Tx) flushEvents(ctx context.Context) error {
	for len(tx.pending) > 0 {
		org := tx.pending[0].orgID
		var mine, rest []pendingEvent
		for _, p := range tx.pending {
			if p.orgID == org {
				mine = append(mine, p)
			} else {
				rest = append(rest, p)
			}
		}
		if err := tx.writeEvents(ctx, org, mine); err != nil {
			return err
		}
		tx.pending = rest
	}
	return nil
}

func (tx *Tx) writeEvents(ctx context.Context, orgID string, evs []pendingEvent) error {
	n := int64(len(evs))
	var lastSeq, lastAudit int64
	var head string
	err := tx.QueryRowContext(ctx, `UPDATE organizations SET event_seq = event_seq + $1, audit_seq = audit_seq + $1 WHERE id = $2
		RETURNING event_seq, audit_seq, audit_head`, n, orgID).Scan(&lastSeq, &lastAudit, &head)
	if err != nil {
		return fmt.Errorf("next event seq: %w", notFound(err, "organization"))
	}
	first := lastSeq - n + 1
	written := make([]event.Event, 0, len(evs))
	evArgs := make([]any, 0, 7*len(evs))
	auArgs := make([]any, 0, 10*len(evs))
	for i, p := range evs {
		e := p.e
		e.OrgID, e.Seq, e.At = orgID, first+int64(i), p.at
		written = append(written, e)
		evArgs = append(evArgs, orgID, e.Seq, e.LocationID, e.Type, e.SubjectID, string(e.Data), e.At)
		a := p.audit
		a.OrgID, a.At, a.Seq, a.PrevHash = orgID, p.at, lastAudit-n+1+int64(i), head
		if len(a.Detail) == 0 {
			a.Detail = []byte("{}")
		}
		a.Hash = a.ComputeHash()
		head = a.Hash
		auArgs = append(auArgs, orgID, a.Seq, a.LocationID, a.ActorID, a.Action, a.SubjectID, string(a.Detail), a.At, a.PrevHash, a.Hash)
	}
	if tx.db != nil && tx.db.engine == Postgres && len(evs) <= eventChunk {
		// One round trip for both inserts and the head, while the
		// organization's row is held: each one saved is time every other
		// writer of the organization waits.
		args := append(append(evArgs, auArgs...), head, orgID)
		n := len(args)
		if _, err := tx.ExecContext(ctx, `WITH e AS (INSERT INTO events (org_id, seq, location_id, type, subject_id, data, created_at) VALUES `+
			placeholdersFrom(1, len(evs), 7)+`), a AS (INSERT INTO audit_events (org_id, seq, location_id, actor_id, action, subject_id, detail, created_at, prev_hash, hash) VALUES `+
			placeholdersFrom(1+len(evArgs), len(evs), 10)+`) UPDATE organizations SET audit_head = $`+strconv.Itoa(n-1)+` WHERE id = $`+strconv.Itoa(n), args...); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		tx.notice(orgID, first, lastSeq, written)
		return nil
	}
	// In chunks: a menu import can write thousands of events, and both
	// engines bound the parameters of one statement.
	for lo := 0; lo < len(evs); lo += eventChunk {
		hi := min(lo+eventChunk, len(evs))
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (org_id, seq, location_id, type, subject_id, data, created_at) VALUES `+
			placeholders(hi-lo, 7), evArgs[lo*7:hi*7]...); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (org_id, seq, location_id, actor_id, action, subject_id, detail, created_at, prev_hash, hash) VALUES `+
			placeholders(hi-lo, 10), auArgs[lo*10:hi*10]...); err != nil {
			return fmt.Errorf("insert audit entries: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE organizations SET audit_head = $1 WHERE id = $2`, head, orgID); err != nil {
		return fmt.Errorf("advance audit head: %w", err)
	}
	tx.notice(orgID, first, lastSeq, written)
	return nil
}

// notice records, for after commit, that orgID's log grew by written
// (first..last). The notice carries the events, so that the dispatcher
// need not read back what this transaction has just written.
func (tx *Tx) notice(orgID string, first, last int64, written []event.Event) {
	if tx.notices == nil {
		tx.notices = make(map[string]*event.Notice)
	}
	if nt := tx.notices[orgID]; nt != nil {
		nt.LastSeq = last
		nt.Events = append(nt.Events, written...)
	} else {
		tx.notices[orgID] = &event.Notice{OrgID: orgID, FirstSeq: first, LastSeq: last, Events: written}
	}
}

// eventChunk is how many events one INSERT writes at most.
const eventChunk = 500

// placeholders returns "($1, $2), ($3, $4)" for rows of cols values.
func placeholders(rows, cols int) string { return placeholdersFrom(1, rows, cols) }

// placeholdersFrom is placeholders numbered from start.
func placeholdersFrom(start, rows, cols int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(start + r*cols + c))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// emit builds an event from the object that changed and appends it.
func (tx *Tx) emit(ctx context.Context, orgID, typ, locationID, subjectID string, data any, at time.Time) error {
	e, err := event.New(typ, locationID, subjectID, data)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return tx.appendEvent(ctx, orgID, e, at)
}

// ts prepares an instant for storage: UTC, to the microsecond (PostgreSQL's
// precision, so both engines give back what they were given).
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTS is ts for an optional instant.
func nullTS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}
