package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/event"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/idempotency"
	"github.com/fynlo/fynlo/internal/sqlstore"
	"github.com/fynlo/fynlo/internal/tenant"
	"github.com/fynlo/fynlo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// engines runs fn once on a fresh SQLite file and once on a fresh
// PostgreSQL database.
func engines(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, open(t, filepath.Join(t.TempDir(), "fynlo.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, open(t, testenv.Postgres(t)))
	})
}

func open(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

var now = time.Date(2026, 11, 26, 12, 0, 0, 123456000, time.UTC)

func signup(t *testing.T, db *sqlstore.DB, email string) (*tenant.Organization, *tenant.Location, *auth.User) {
	t.Helper()
	org := &tenant.Organization{ID: id.New(id.Organization), Name: "Dishoom", Country: "GB", Currency: "GBP", Timezone: "Europe/London", CreatedAt: now}
	loc, err := tenant.NewLocation(org, tenant.LocationInput{Name: "Shoreditch"}, now)
	if err != nil {
		t.Fatal(err)
	}
	u := &auth.User{ID: id.New(id.User), OrgID: org.ID, Name: "Shamil", Email: email, Role: auth.RoleOwner, CreatedAt: now}
	if err := db.CreateSignup(context.Background(), org, loc, u, "hash"); err != nil {
		t.Fatal(err)
	}
	return org, loc, u
}

func TestSignupAndLocations(t *testing.T) {
	engines(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		var notices []event.Notice
		var mu sync.Mutex
		db.OnCommit = func(n event.Notice) { mu.Lock(); notices = append(notices, n); mu.Unlock() }

		org, loc, u := signup(t, db, "owner@example.com")
		if len(notices) != 1 || notices[0].OrgID != org.ID || notices[0].FirstSeq != 1 || notices[0].LastSeq != 3 {
			t.Fatalf("notices after signup = %+v, want one for seqs 1..3", notices)
		}
		// The notice brings the events as the log gives them back, byte
		// for byte: a screen sees the same live as on replay.
		logged, err := db.EventsAfter(ctx, org.ID, 0, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if !notices[0].Complete() || !reflect.DeepEqual(notices[0].Events, logged) {
			t.Fatalf("carried events differ from the log's:\n got %+v\nwant %+v", notices[0].Events, logged)
		}

		// The same email again is a Conflict naming the field.
		org2 := &tenant.Organization{ID: id.New(id.Organization), Name: "Other", Country: "GB", Currency: "GBP", Timezone: "Europe/London", CreatedAt: now}
		loc2, _ := tenant.NewLocation(org2, tenant.LocationInput{Name: "X"}, now)
		err = db.CreateSignup(ctx, org2, loc2, &auth.User{ID: id.New(id.User), OrgID: org2.ID, Name: "x", Email: "owner@example.com", Role: "owner", CreatedAt: now}, "h")
		if ae, ok := err.(*apperr.Error); !ok || ae.Code != "email_taken" {
			t.Fatalf("duplicate email: err = %v, want email_taken", err)
		}
		if _, err := db.FindOrganizationByID(ctx, org2.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("failed signup left its organization behind: %v", err)
		}

		got, err := db.FindLocationByID(ctx, org.ID, loc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, loc) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, loc)
		}
		if _, err := db.FindLocationByID(ctx, org2.ID, loc.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("another org's location: err = %v, want NotFound", err)
		}
		gotUser, hash, err := db.FindCredentials(ctx, "owner@example.com")
		if err != nil || hash != "hash" || !reflect.DeepEqual(gotUser, u) {
			t.Fatalf("FindCredentials = %+v, %q, %v", gotUser, hash, err)
		}

		// Update with the right version, then a stale one.
		updated, err := db.UpdateLocation(ctx, org.ID, loc.ID, func(l *tenant.Location) error {
			l.Name = "Shoreditch Yard"
			l.Version++
			return nil
		})
		if err != nil || updated.Version != 2 {
			t.Fatalf("update = %+v, %v", updated, err)
		}
		_, err = db.UpdateLocation(ctx, org.ID, loc.ID, func(l *tenant.Location) error { return apperr.StaleVersion(l) })
		if !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("stale update err = %v", err)
		}

		// The check settings: defaults as made, round trip, changed.
		if !reflect.DeepEqual(got.GratuityPresetsBP, []int{500, 1000, 2000}) || !got.GratuityEnabled ||
			got.ServiceChargeBP != 0 || got.ServiceChargeMinCovers != 0 || got.TaxRounding != tenant.TaxRoundPerCheck {
			t.Fatalf("default check settings: %+v", got)
		}
		updated, err = db.UpdateLocation(ctx, org.ID, loc.ID, func(l *tenant.Location) error {
			l.ServiceChargeBP, l.ServiceChargeMinCovers, l.GratuityEnabled = 1250, 6, false
			l.GratuityPresetsBP, l.TaxRounding = []int{1000, 1500, 2000, 2500, 10000}, tenant.TaxRoundPerLine
			l.Version++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.FindLocationByID(ctx, org.ID, loc.ID); err != nil || !reflect.DeepEqual(got, updated) {
			t.Fatalf("check settings round trip:\n got %+v, %v\nwant %+v", got, err, updated)
		}
		off := false
		custom, err := tenant.NewLocation(org, tenant.LocationInput{Name: "Brasserie", ServiceChargeBP: 1000, ServiceChargeMinCovers: 8,
			GratuityEnabled: &off, GratuityPresetsBP: []int{1200}, TaxRounding: tenant.TaxRoundPerLine}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateLocation(ctx, custom); err != nil {
			t.Fatal(err)
		}
		if got, err := db.FindLocationByID(ctx, org.ID, custom.ID); err != nil || !reflect.DeepEqual(got, custom) {
			t.Fatalf("created check settings round trip:\n got %+v, %v\nwant %+v", got, err, custom)
		}

		for i := 0; i < 2; i++ {
			l, _ := tenant.NewLocation(org, tenant.LocationInput{Name: "Site"}, now)
			if err := db.CreateLocation(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		page, err := db.FindLocations(ctx, org.ID, tenant.LocationFilter{Limit: 2})
		if err != nil || len(page) != 2 {
			t.Fatalf("page 1 = %d, %v", len(page), err)
		}
		rest, err := db.FindLocations(ctx, org.ID, tenant.LocationFilter{After: page[1].ID, Limit: 10})
		if err != nil || len(rest) != 2 {
			t.Fatalf("page 2 = %d, %v", len(rest), err)
		}

		evs, err := db.EventsAfter(ctx, org.ID, 0, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
			types = append(types, e.Type)
		}
		want := []string{"organization.created", "location.created", "user.created", "location.updated", "location.updated", "location.created", "location.created", "location.created"}
		if !reflect.DeepEqual(types, want) {
			t.Fatalf("event types = %v, want %v", types, want)
		}
		filtered, err := db.EventsAfter(ctx, org.ID, 0, loc.ID, 100)
		if err != nil || len(filtered) != 5 { // org + user events are organization-wide
			t.Fatalf("filtered events = %d, %v", len(filtered), err)
		}
	})
}

func TestRefreshTokenRotation(t *testing.T) {
	engines(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		org, _, u := signup(t, db, "a@example.com")
		s := &auth.Session{ID: id.New(id.Session), OrgID: org.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, s, &auth.RefreshToken{Hash: "h1", SessionID: s.ID, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := db.RotateRefreshToken(ctx, "h1", now, &auth.RefreshToken{Hash: "h2", SessionID: s.ID, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		err := db.RotateRefreshToken(ctx, "h1", now, &auth.RefreshToken{Hash: "h3", SessionID: s.ID, CreatedAt: now})
		if !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("second rotation of h1: %v, want Conflict", err)
		}
		tok, sess, err := db.FindRefreshToken(ctx, "h1")
		if err != nil || tok.UsedAt == nil || sess.RevokedAt != nil {
			t.Fatalf("h1 = %+v %+v %v", tok, sess, err)
		}
		if err := db.RevokeSession(ctx, s.ID, now); err != nil {
			t.Fatal(err)
		}
		if _, sess, _ := db.FindRefreshToken(ctx, "h2"); sess.RevokedAt == nil {
			t.Fatal("session not revoked")
		}
	})
}

func TestIdempotencyKeys(t *testing.T) {
	engines(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clock := now
		svc := idempotency.NewService(db, func() time.Time { return clock })
		resp, err := svc.Begin(ctx, "org:usr", "k1", "fp")
		if err != nil || resp != nil {
			t.Fatalf("first Begin = %v, %v", resp, err)
		}
		if _, err := svc.Begin(ctx, "org:usr", "k1", "fp"); err != idempotency.ErrInFlight {
			t.Fatalf("concurrent Begin err = %v, want in flight", err)
		}
		if _, err := svc.Begin(ctx, "org:usr", "k1", "other"); err != idempotency.ErrMismatch {
			t.Fatalf("mismatch err = %v", err)
		}
		body := []byte(`{"id":"loc_1"}` + "\n")
		if err := svc.Complete(ctx, "org:usr", "k1", &idempotency.Response{Status: 201, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: body}); err != nil {
			t.Fatal(err)
		}
		resp, err = svc.Begin(ctx, "org:usr", "k1", "fp")
		if err != nil || resp == nil || resp.Status != 201 || string(resp.Body) != string(body) || resp.Header["Content-Type"][0] != "application/json" {
			t.Fatalf("replay = %+v, %v", resp, err)
		}
		// Another scope has its own keys.
		if resp, err := svc.Begin(ctx, "org2:usr", "k1", "other"); err != nil || resp != nil {
			t.Fatalf("other scope = %v, %v", resp, err)
		}
		// A claim whose node died is taken over after the lease.
		clock = clock.Add(svc.Lease + time.Second)
		if resp, err := svc.Begin(ctx, "org2:usr", "k1", "other"); err != nil || resp != nil {
			t.Fatalf("take over = %v, %v", resp, err)
		}
		// Released keys can be claimed again.
		if err := svc.Release(ctx, "org2:usr", "k1"); err != nil {
			t.Fatal(err)
		}
		if resp, err := svc.Begin(ctx, "org2:usr", "k1", "third"); err != nil || resp != nil {
			t.Fatalf("after release = %v, %v", resp, err)
		}
		clock = clock.Add(svc.TTL + time.Hour)
		n, err := svc.Reap(ctx)
		if err != nil || n != 2 {
			t.Fatalf("reap = %d, %v", n, err)
		}
	})
}

// TestIdempotencyCrashAfterCommit: a request whose change committed but
// whose answer was never stored (the node died) is not run again.
func TestIdempotencyCrashAfterCommit(t *testing.T) {
	engines(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		org, _, _ := signup(t, db, "crash@example.com")
		clock := now
		svc := idempotency.NewService(db, func() time.Time { return clock })
		for _, k := range []string{"committed", "not-committed"} {
			if resp, err := svc.Begin(ctx, "s", k, "fp"); err != nil || resp != nil {
				t.Fatalf("Begin %s = %v, %v", k, resp, err)
			}
		}
		l, _ := tenant.NewLocation(org, tenant.LocationInput{Name: "Site"}, now)
		if err := db.CreateLocation(idempotency.WithClaim(ctx, "s", "committed"), l); err != nil {
			t.Fatal(err)
		}
		// A write that fails rolls back its mark too.
		err := db.CreateLocation(idempotency.WithClaim(ctx, "s", "not-committed"), l)
		if !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("duplicate ID: %v", err)
		}
		clock = clock.Add(svc.Lease + time.Second) // both nodes "died"
		if _, err := svc.Begin(ctx, "s", "committed", "fp"); err != idempotency.ErrResponseLost {
			t.Fatalf("retry after committed crash: %v, want response lost", err)
		}
		if resp, err := svc.Begin(ctx, "s", "not-committed", "fp"); err != nil || resp != nil {
			t.Fatalf("retry after uncommitted crash: %v, %v, want a fresh run", resp, err)
		}
	})
}

// TestSchemasMatch checks that both engines hold the same migration
// versions and end with the same tables and columns.
func TestSchemasMatch(t *testing.T) {
	lite, err := sqlstore.Migrations(sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := sqlstore.Migrations(sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version || lite[i].Name != pg[i].Name {
			t.Fatalf("migration %d: sqlite %s, postgres %s", i, lite[i].Name, pg[i].Name)
		}
	}
	schemas := map[string]map[string][]string{}
	engines(t, func(t *testing.T, db *sqlstore.DB) {
		s, err := db.Schema(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		schemas[t.Name()] = s
	})
	a, b := schemas["TestSchemasMatch/sqlite"], schemas["TestSchemasMatch/postgres"]
	if a == nil || b == nil {
		return // an engine was skipped
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("schemas differ:\nsqlite   %v\npostgres %v", a, b)
	}
}

func TestConcurrentWritesKeepSequenceGapless(t *testing.T) {
	engines(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		org, _, _ := signup(t, db, "c@example.com")
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, _ := tenant.NewLocation(org, tenant.LocationInput{Name: "Site"}, now)
				if err := db.CreateLocation(ctx, l); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		evs, err := db.EventsAfter(ctx, org.ID, 0, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		seqs := make([]int, len(evs))
		for i, e := range evs {
			seqs[i] = int(e.Seq)
		}
		if !sort.IntsAreSorted(seqs) || len(seqs) != 23 || seqs[22] != 23 {
			t.Fatalf("seqs = %v", seqs)
		}
	})
}

// BenchmarkFindRole is the database part of a permission check by a
// custom role: one prepared primary-key read.
func BenchmarkFindRole(b *testing.B) {
	for _, eng := range []string{"sqlite", "postgres"} {
		b.Run(eng, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "fynlo.db")
			if eng == "postgres" {
				dsn = testenv.Postgres(b)
			}
			ctx := context.Background()
			db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			org := &tenant.Organization{ID: id.New(id.Organization), Name: "B", Country: "GB", Currency: "GBP", Timezone: "Europe/London", CreatedAt: now}
			loc, _ := tenant.NewLocation(org, tenant.LocationInput{Name: "B"}, now)
			u := &auth.User{ID: id.New(id.User), OrgID: org.ID, Name: "B", Email: id.New("e") + "@example.com", Role: auth.RoleOwner, CreatedAt: now}
			if err := db.CreateSignup(ctx, org, loc, u, "h"); err != nil {
				b.Fatal(err)
			}
			r := &auth.Role{ID: id.New(id.Role), OrgID: org.ID, Name: "Lead", Grants: []auth.Grant{{Permission: auth.PermStaffManage}}, Version: 1, CreatedAt: now, UpdatedAt: now}
			if err := db.CreateRole(ctx, r); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := db.FindRole(ctx, org.ID, r.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMigrateLocationCheckSettings upgrades a database made before
// migration 13 holding a location, and finds the check settings' defaults
// on it.
func TestMigrateLocationCheckSettings(t *testing.T) {
	run := func(t *testing.T, engine sqlstore.Engine, driver, rawDSN, dsn string) {
		ctx := context.Background()
		raw, err := sql.Open(driver, rawDSN)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		ms, err := sqlstore.Migrations(engine)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Version >= 13 {
				break
			}
			if _, err := raw.ExecContext(ctx, m.SQL); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, now.Format(time.RFC3339)); err != nil {
				t.Fatal(err)
			}
		}
		orgID, locID := id.New(id.Organization), id.New(id.Location)
		if _, err := raw.ExecContext(ctx, `INSERT INTO organizations (id, name, country, currency, timezone, created_at)
			VALUES ($1, 'Dishoom', 'GB', 'GBP', 'Europe/London', $2)`, orgID, now); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO locations (id, org_id, name, address, country, timezone, currency, vat_number,
			business_day_cutoff, tax_mode, version, created_at, updated_at)
			VALUES ($1, $2, 'Shoreditch', '{"country":"GB"}', 'GB', 'Europe/London', 'GBP', '', '04:00', 'inclusive', 1, $3, $3)`, locID, orgID, now); err != nil {
			t.Fatal(err)
		}
		raw.Close()

		db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		applied, err := db.Migrate(ctx)
		if err != nil || len(applied) == 0 || applied[0] != 13 {
			t.Fatalf("Migrate = %v, %v; want 13 first", applied, err)
		}
		l, err := db.FindLocationByID(ctx, orgID, locID)
		if err != nil {
			t.Fatal(err)
		}
		if l.ServiceChargeBP != 0 || l.ServiceChargeMinCovers != 0 || !l.GratuityEnabled ||
			!reflect.DeepEqual(l.GratuityPresetsBP, []int{500, 1000, 2000}) || l.TaxRounding != tenant.TaxRoundPerCheck {
			t.Fatalf("an existing location after migration 13: %+v", l)
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("an existing location is not valid after migration 13: %v", err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fynlo.db")
		run(t, sqlstore.SQLite, "sqlite", "file:"+path+"?_time_format=sqlite&_pragma=foreign_keys(1)", path)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.Postgres(t)
		run(t, sqlstore.Postgres, "pgx", dsn, dsn)
	})
}

// TestNULRefusedOnBothEngines: PostgreSQL's text cannot hold a NUL
// character, so a write holding one is refused with invalid_character on
// SQLite too, and writes nothing.
func TestNULRefusedOnBothEngines(t *testing.T) {
	engines(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		org, _, _ := signup(t, db, "nul@example.com")
		before, err := db.LastSeq(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := tenant.NewLocation(org, tenant.LocationInput{Name: "Soho\x00Yard"}, now)
		err = db.CreateLocation(ctx, l)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || ae.Code != "invalid_character" {
			t.Fatalf("a name with NUL: err = %v, want invalid_character", err)
		}
		if _, err := db.FindLocationByID(ctx, org.ID, l.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("the refused location was stored: %v", err)
		}
		if after, _ := db.LastSeq(ctx, org.ID); after != before {
			t.Fatalf("the refused write appended events: seq %d → %d", before, after)
		}
	})
}
