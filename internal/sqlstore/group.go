package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/event"
)

// Group commit (SQLite). SQLite has one writer and makes every commit
// durable with an fsync, so one transaction per request caps writes at the
// disk's fsync rate and pays BEGIN and COMMIT for each. Instead one writer
// goroutine takes the transactions waiting for it, runs each inside a
// savepoint of one shared transaction, and commits them together: one
// fsync for the batch. A transaction that fails is rolled back to its
// savepoint and hears its error at once; the others commit. A caller hears
// success only after the batch's commit, so nothing is acknowledged that a
// crash could lose. Transactions see each other's writes in order, exactly
// as if run one after another, which they are.

// maxBatch bounds a batch, so the first caller's wait stays short.
const maxBatch = 64

// writeJob is a transaction waiting for the writer.
type writeJob struct {
	ctx     context.Context
	fn      func(*Tx) error
	done    chan error
	notices map[string]*event.Notice
}

// group is the writer's state.
type group struct {
	mu     sync.RWMutex // held for reading while enqueuing, for writing by Close
	closed bool
	jobs   chan *writeJob
	exited chan struct{}

	// stmts holds the writes' statements, prepared on the one write
	// connection between batches: SQLite takes as long to parse a small
	// statement as to run it. query → *sql.Stmt.
	stmts   sync.Map
	nstmts  int
	unknown map[string]bool // seen in a batch, to prepare after it; writer only
}

var errClosed = apperr.Wrap(errors.New("database closed"), "write")

func (db *DB) startWriter() {
	db.group = &group{jobs: make(chan *writeJob, 1024), exited: make(chan struct{}), unknown: map[string]bool{}}
	go db.writer()
}

// stopWriter lets the writer finish the transactions already waiting.
func (db *DB) stopWriter() {
	g := db.group
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.jobs)
	}
	g.mu.Unlock()
	<-g.exited
}

// groupTx hands fn to the writer and waits for the batch's fate.
func (db *DB) groupTx(ctx context.Context, fn func(*Tx) error) error {
	j := &writeJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g := db.group
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errClosed
	}
	g.jobs <- j
	g.mu.RUnlock()
	return <-j.done // even if ctx ends: the job may be running, and its fate is its caller's to hear
}

func (db *DB) writer() {
	g := db.group
	defer close(g.exited)
	for j := range g.jobs {
		batch := []*writeJob{j}
	fill:
		for len(batch) < maxBatch {
			select {
			case j, ok := <-g.jobs:
				if !ok {
					break fill
				}
				batch = append(batch, j)
			default:
				break fill
			}
		}
		db.runBatch(batch)
		db.prepareSeen()
	}
}

// runBatch runs a batch in one transaction, each job in a savepoint.
func (db *DB) runBatch(batch []*writeJob) {
	bg := context.Background()
	sqlTx, err := db.write.BeginTx(bg, nil)
	if err != nil {
		for _, j := range batch {
			j.done <- translate(err)
		}
		return
	}
	var ok []*writeJob
	fail := func(err error) { // the transaction itself broke: nobody commits
		_ = sqlTx.Rollback()
		for _, j := range ok {
			j.done <- translate(err)
		}
	}
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.done <- translate(err) // gone before its turn: not run
			continue
		}
		if _, err := sqlTx.ExecContext(bg, `SAVEPOINT job`); err != nil {
			fail(err)
			failRest(batch[i:], err)
			return
		}
		tx := &Tx{Tx: sqlTx, db: db}
		err := runJob(j, tx)
		if err == nil {
			err = tx.flushEvents(j.ctx)
		}
		if err == nil && len(tx.notices) > 0 {
			err = markCommitted(j.ctx, tx)
		}
		if err != nil {
			if _, rerr := sqlTx.ExecContext(bg, `ROLLBACK TO job`); rerr != nil {
				fail(rerr)
				failRest(batch[i:], err)
				return
			}
		}
		if _, rerr := sqlTx.ExecContext(bg, `RELEASE job`); rerr != nil {
			fail(rerr)
			failRest(batch[i:], rerr)
			return
		}
		if err != nil {
			j.done <- translate(err)
			continue
		}
		j.notices = tx.notices
		ok = append(ok, j)
	}
	if err := sqlTx.Commit(); err != nil {
		for _, j := range ok {
			j.done <- translate(err)
		}
		return
	}
	for _, j := range ok {
		if db.OnCommit != nil {
			for _, n := range j.notices {
				db.OnCommit(*n)
			}
		}
		j.done <- nil
	}
}

// runJob runs a job's function; a panic in it (a bug) fails that job, not
// the writer every other request depends on.
func runJob(j *writeJob, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = apperr.Wrap(fmt.Errorf("panic in a write: %v\n%s", p, debug.Stack()), "write")
		}
	}()
	return j.fn(tx)
}

func failRest(jobs []*writeJob, err error) {
	for _, j := range jobs {
		j.done <- translate(fmt.Errorf("write batch aborted: %w", err))
	}
}

// stmt returns the write statement prepared for query, bound to tx, or
// nil: the statement is prepared after the batch that first used it.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.db == nil || tx.db.group == nil {
		return nil
	}
	g := tx.db.group
	if st, ok := g.stmts.Load(query); ok {
		return tx.Tx.StmtContext(ctx, st.(*sql.Stmt))
	}
	if g.nstmts < 1000 { // queries built with IN lists vary; keep the cache bounded
		g.unknown[query] = true
	}
	return nil
}

// prepareSeen prepares the statements the last batch used for the first
// time, while the write connection is free.
func (db *DB) prepareSeen() {
	g := db.group
	for q := range g.unknown {
		if st, err := db.write.PrepareContext(context.Background(), q); err == nil {
			g.stmts.Store(q, st)
			g.nstmts++
		}
		delete(g.unknown, q)
	}
}

// shared detaches a statement of a batched transaction from its caller's
// cancellation: SQLite answers an interrupted write inside a transaction by
// rolling back the whole transaction, which here holds other callers' work.
// The job runs to its end; its caller hears the outcome (groupTx).
func (tx *Tx) shared(ctx context.Context) context.Context {
	if tx.db != nil && tx.db.group != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// ExecContext runs a write through its prepared statement when it has one.
// A write holding a NUL character is refused on both engines alike:
// PostgreSQL's text cannot store one, and SQLite would.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	for _, a := range args {
		if s, ok := a.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return nil, refuseNUL(nil)
		}
	}
	ctx = tx.shared(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryRowContext runs a query through its prepared statement when it has one.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = tx.shared(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// QueryContext runs a query through its prepared statement when it has one.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.shared(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}
