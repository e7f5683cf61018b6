package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/fynlo/fynlo/internal/app"
)

// TestEventFeedRespectsPermissions: the event feed (GET /events and the
// WebSocket, replayed and live) is no way around the permissions the API
// asks before it shows an object. A server is not sent colleagues'
// details and wages, roles, devices or an open drawer's rows (counted
// blind); a manager is, for the employees of their location only; the
// owner is sent everything.
func TestEventFeedRespectsPermissions(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		tl := openTill(t, cfg)
		f, s := tl.demoFloor, tl.s
		before := int64(0)
		for _, x := range s.call("GET", "/api/v1/events?after=0&limit=500", f.owner, nil).json(t)["events"].([]any) {
			before = max(before, int64(x.(map[string]any)["seq"].(float64)))
		}
		live := dial(t, s, f.tom, "")

		must := func(r response, what string) map[string]any {
			t.Helper()
			if r.Status != 201 && r.Status != 200 {
				t.Fatalf("%s: %d %s", what, r.Status, r.Body)
			}
			return r.json(t)
		}
		loc2 := must(s.call("POST", "/api/v1/locations", f.owner, map[string]any{"name": "Second site"}), "location 2")["id"].(string)
		loc3 := must(s.call("POST", "/api/v1/locations", f.owner, map[string]any{"name": "Third site"}), "location 3")["id"].(string)
		employee := func(name string, locs ...string) string {
			var roles []map[string]any
			for _, l := range locs {
				roles = append(roles, map[string]any{"location_id": l, "role_id": "server"})
			}
			return must(s.call("POST", "/api/v1/employees", f.owner, map[string]any{"name": name, "email": strings.ToLower(name) + "@example.com",
				"hourly_wage": gbp(1250), "roles": roles}), name)["id"].(string)
		}
		here := employee("Hana", f.loc)           // this location's
		both := employee("Bo", f.loc, loc2)       // here and elsewhere: the organization's event
		elsewhere := employee("Elsa", loc2, loc3) // elsewhere only: also the organization's event
		must(s.call("POST", "/api/v1/roles", f.owner, map[string]any{"name": "Host", "grants": []any{}}), "role")
		must(s.call("POST", "/api/v1/devices", f.owner, map[string]any{"location_id": f.loc, "name": "iPad 9"}), "device")
		must(s.call("POST", "/api/v1/cash-drawers/"+tl.drawer+"/sessions/"+tl.session+"/movements", f.maya,
			map[string]any{"kind": "paid_in", "amount": gbp(500), "reason": "change from the bank"}), "paid in")
		// Something every member of the location is sent, to end on.
		o := f.openCheck(t, f.tom, 1)

		// What each reader is sent, by type and subject.
		type seen struct{ types, subjects map[string]bool }
		read := func(token string) seen {
			t.Helper()
			out := seen{map[string]bool{}, map[string]bool{}}
			after := before
			for {
				r := s.call("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=50", after), token, nil)
				if r.Status != 200 {
					t.Fatalf("events: %d %s", r.Status, r.Body)
				}
				var page struct {
					Events []struct {
						Type      string `json:"type"`
						SubjectID string `json:"subject_id"`
					} `json:"events"`
					NextAfter int64 `json:"next_after"`
					HasMore   bool  `json:"has_more"`
				}
				if err := json.Unmarshal(r.Body, &page); err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Events {
					out.types[e.Type], out.subjects[e.SubjectID] = true, true
				}
				if !page.HasMore {
					return out
				}
				after = page.NextAfter
			}
		}
		withheld := []string{"employee.created", "role.created", "device.created", "drawer_session.movement"}
		server, manager, owner := read(f.tom), read(f.maya), read(f.owner)
		for _, typ := range withheld {
			if server.types[typ] {
				t.Errorf("a server was sent %s", typ)
			}
			if !owner.types[typ] {
				t.Errorf("the owner was not sent %s", typ)
			}
		}
		if !server.types["order.created"] || !server.subjects[o["id"].(string)] {
			t.Errorf("a server was not sent the check they opened: %v", server.types)
		}
		for id, want := range map[string]bool{here: true, both: true, elsewhere: false} {
			if manager.subjects[id] != want {
				t.Errorf("manager of location 1 sent employee %s: %v, want %v", id, manager.subjects[id], want)
			}
			if !owner.subjects[id] {
				t.Errorf("owner not sent employee %s", id)
			}
		}
		if !manager.types["drawer_session.movement"] || !manager.types["role.created"] {
			t.Errorf("a manager (report.view, staff.manage) was not sent the drawer's rows or roles: %v", manager.types)
		}

		// The stream: live, and replayed from the same point.
		replay := dial(t, s, f.tom, fmt.Sprintf("?after=%d", before))
		for _, st := range []struct {
			name string
			conn *websocket.Conn
		}{{"live", live}, {"replay", replay}} {
			for {
				e := next(t, st.conn)
				for _, typ := range withheld {
					if e.Type == typ {
						t.Fatalf("%s stream: a server was sent %s", st.name, typ)
					}
				}
				if e.SubjectID == o["id"].(string) && e.Type == "order.created" {
					break
				}
			}
		}
	})
}
