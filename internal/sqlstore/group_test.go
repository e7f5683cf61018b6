package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGroupCommitIsolatesJobs runs one batch holding jobs that succeed,
// fail, panic and lose their caller mid-way: each hears its own fate, and
// exactly the successful ones' rows are committed.
func TestGroupCommitIsolatesJobs(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "fynlo.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.group == nil {
		t.Fatal("SQLite runs without group commit")
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE probe (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insertCtx := func(ctx context.Context, tx *Tx, k string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO probe (k) VALUES (?)`, k)
		return err
	}
	insert := func(tx *Tx, k string) error { return insertCtx(ctx, tx, k) }

	// The first job holds the writer until every other job is queued, so
	// they all run in the batch after it.
	gate, started := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.inTx(ctx, func(tx *Tx) error { close(started); <-gate; return insert(tx, "first") })
	}()
	<-started

	errBoom := errors.New("refused")
	type job struct {
		name string
		ctx  context.Context
		fn   func(*Tx) error
		want string // "" = commits; otherwise a substring of its error
	}
	cancelled, cancel := context.WithCancel(ctx)
	gone, goneCancel := context.WithCancel(ctx)
	goneCancel() // its caller left before its turn: never run
	jobs := []job{
		{"ok-1", ctx, func(tx *Tx) error { return insert(tx, "ok-1") }, ""},
		{"fails", ctx, func(tx *Tx) error {
			if err := insert(tx, "fails"); err != nil {
				return err
			}
			return errBoom
		}, "refused"},
		{"panics", ctx, func(tx *Tx) error {
			if err := insert(tx, "panics"); err != nil {
				return err
			}
			panic("a bug")
		}, "panic in a write"},
		{"duplicate", ctx, func(tx *Tx) error {
			if err := insert(tx, "dup"); err != nil {
				return err
			}
			return insert(tx, "dup") // a constraint error mid-job
		}, "conflict"},
		// The caller goes away while its job runs; the job's statements
		// after that still run, and do not take the shared transaction down.
		{"caller-left", cancelled, func(tx *Tx) error {
			if err := insertCtx(cancelled, tx, "caller-left-1"); err != nil {
				return err
			}
			cancel()
			return insertCtx(cancelled, tx, "caller-left-2")
		}, ""},
		{"never-run", gone, func(tx *Tx) error { return insert(tx, "never-run") }, "context canceled"},
		{"ok-2", ctx, func(tx *Tx) error { return insert(tx, "ok-2") }, ""},
	}
	results := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = db.inTx(j.ctx, j.fn)
		}()
		// Queue them in order, each behind the last.
		for deadline := time.Now().Add(5 * time.Second); len(db.group.jobs) < i+1; {
			if time.Now().After(deadline) {
				t.Fatalf("job %s never queued", j.name)
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(gate)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first: %v", err)
	}
	for i, j := range jobs {
		err := results[i]
		switch {
		case j.want == "" && err != nil:
			t.Errorf("%s: %v, want success", j.name, err)
		case j.want != "" && (err == nil || !strings.Contains(fmt.Sprint(err), j.want)):
			t.Errorf("%s: %v, want an error with %q", j.name, err, j.want)
		}
	}

	rows, err := db.read.QueryContext(ctx, `SELECT k FROM probe`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		got = append(got, k)
	}
	sort.Strings(got)
	if want := []string{"caller-left-1", "caller-left-2", "first", "ok-1", "ok-2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("committed %v, want %v", got, want)
	}

	// Closed: waiting work finished, new work refused.
	db.stopWriter()
	if err := db.inTx(ctx, func(tx *Tx) error { return insert(tx, "late") }); err == nil {
		t.Fatal("a write after close succeeded")
	}
}
