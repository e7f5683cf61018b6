package testenv_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/fynlo/fynlo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	return db
}

func queryString(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	var s string
	if err := db.QueryRowContext(t.Context(), query, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s
}

// userTables lists the tables outside PostgreSQL's own schemas.
func userTables(t *testing.T, db *sql.DB) string {
	return queryString(t, db, `SELECT coalesce(string_agg(table_schema || '.' || table_name, ','), '')
		FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`)
}

func TestPostgresGivesSeparateEmptyDatabases(t *testing.T) {
	url1, url2 := testenv.Postgres(t), testenv.Postgres(t)
	if url1 == url2 {
		t.Fatalf("two calls returned the same URL %s", url1)
	}
	for _, u := range []string{url1, url2} {
		if !strings.HasPrefix(u, "postgres://") {
			t.Errorf("URL %q is not postgres://", u)
		}
	}
	db1, db2 := open(t, url1), open(t, url2)

	name1 := queryString(t, db1, "SELECT current_database()")
	name2 := queryString(t, db2, "SELECT current_database()")
	if name1 == name2 {
		t.Fatalf("both URLs connect to database %q", name1)
	}
	for _, db := range []*sql.DB{db1, db2} {
		if got := userTables(t, db); got != "" {
			t.Errorf("new database is not empty: has tables %s", got)
		}
	}

	if _, err := db1.ExecContext(t.Context(), "CREATE TABLE widget (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if got := userTables(t, db1); got != "public.widget" {
		t.Errorf("first database tables = %q, want public.widget", got)
	}
	if got := userTables(t, db2); got != "" {
		t.Errorf("table created in the first database shows up in the second: %s", got)
	}
}

func TestPostgresDropsDatabaseAfterTest(t *testing.T) {
	// The admin side of the check; like every caller it skips (or, with
	// services required, fails) when PostgreSQL is absent.
	other := open(t, testenv.Postgres(t))
	var name string
	t.Run("user", func(t *testing.T) {
		u, err := url.Parse(testenv.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(u.Path, "/")
		// Leave the connection open: the drop must not depend on the test
		// closing everything.
		db, err := sql.Open("pgx", u.String())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PingContext(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	if name == "" {
		t.Fatal("subtest did not get a database")
	}
	var n int
	if err := other.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test finished", name)
	}
}

func TestPostgresParallel(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			db := open(t, testenv.Postgres(t))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if _, err := db.ExecContext(ctx, "CREATE TABLE t (v int)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
