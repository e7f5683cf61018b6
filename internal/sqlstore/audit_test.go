package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/testenv"
)

// TestAuditChainDetectsTampering edits the log behind the server's back, as
// someone with database access would, and expects Verify to name the entry.
func TestAuditChainDetectsTampering(t *testing.T) {
	for _, eng := range []struct{ name, driver string }{{"sqlite", "sqlite"}, {"postgres", "pgx"}} {
		t.Run(eng.name, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "fynlo.db")
			if eng.name == "postgres" {
				dsn = testenv.Postgres(t)
			}
			db := open(t, dsn)
			raw, err := sql.Open(eng.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			ctx := context.Background()
			org, _, u := signup(t, db, "audit@example.com")
			if err := db.AppendAudit(ctx, org.ID, audit.Entry{Action: audit.ActionLoginSucceeded, ActorID: u.ID, SubjectID: u.ID}); err != nil {
				t.Fatal(err)
			}
			es, err := db.FindAudit(ctx, org.ID, audit.Filter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range es {
				actions = append(actions, e.Action)
			}
			if len(es) != 4 || es[0].PrevHash != "" || es[1].PrevHash != es[0].Hash || es[3].Action != "auth.login" {
				t.Fatalf("log = %v", actions)
			}
			check := func(wantIntact bool, wantBad int64) {
				t.Helper()
				r, err := audit.Verify(ctx, db, org.ID)
				if err != nil {
					t.Fatal(err)
				}
				if r.Intact != wantIntact || r.BadSeq != wantBad {
					t.Fatalf("verify = %+v, want intact=%v bad=%d", r, wantIntact, wantBad)
				}
			}
			check(true, 0)

			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := raw.ExecContext(ctx, q, args...); err != nil {
					t.Fatal(err)
				}
			}
			// Alter one entry's detail.
			exec(`UPDATE audit_events SET detail = '{"name":"forged"}' WHERE org_id = $1 AND seq = 2`, org.ID)
			check(false, 2)
			exec(`UPDATE audit_events SET detail = $1 WHERE org_id = $2 AND seq = 2`, string(es[1].Detail), org.ID)
			check(true, 0)
			// Re-hash an altered entry: the next one no longer follows it.
			exec(`UPDATE audit_events SET actor_id = 'usr_someone_else', hash = 'recomputed' WHERE org_id = $1 AND seq = 2`, org.ID)
			check(false, 2)
			exec(`UPDATE audit_events SET actor_id = $1, hash = $2 WHERE org_id = $3 AND seq = 2`, es[1].ActorID, es[1].Hash, org.ID)
			check(true, 0)
			// Remove the last entry, then one in the middle.
			exec(`DELETE FROM audit_events WHERE org_id = $1 AND seq = 4`, org.ID)
			check(false, 4)
			exec(`DELETE FROM audit_events WHERE org_id = $1 AND seq = 2`, org.ID)
			check(false, 2)
		})
	}
}
