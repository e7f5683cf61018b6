package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/fynlo/fynlo/internal/app"
)

// station finds a station of a location by its key.
func (k *rulesKit) station(t *testing.T, loc, key string) map[string]any {
	t.Helper()
	r := k.s.call("GET", "/api/v1/kitchen/stations?location_id="+loc, k.owner, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("stations: %d %s", r.Status, r.Body)
	}
	for _, x := range r.json(t)["stations"].([]any) {
		if st := x.(map[string]any); st["key"] == key {
			return st
		}
	}
	t.Fatalf("no station %s at %s", key, loc)
	return nil
}

// tickets lists every ticket at the demo location, oldest first.
func (k *rulesKit) tickets(t *testing.T) []map[string]any {
	t.Helper()
	r := k.s.call("GET", "/api/v1/kitchen/tickets?status=all&location_id="+k.loc, k.owner, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("tickets: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, x := range r.json(t)["tickets"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// ticketLines maps each line on a ticket to its station and state.
func ticketLines(tk map[string]any) map[string]string {
	out := map[string]string{}
	for _, x := range tk["lines"].([]any) {
		l := x.(map[string]any)
		out[l["line_id"].(string)] = l["state"].(string)
	}
	return out
}

// byStation groups a send's tickets by station key.
func byStation(t *testing.T, sent map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, x := range sent["tickets"].([]any) {
		tk := x.(map[string]any)
		st := tk["station"].(string)
		if out[st] != nil {
			t.Fatalf("two tickets for %s in one send", st)
		}
		out[st] = tk
	}
	return out
}

// sameIDs reports whether a ticket holds exactly the lines.
func sameIDs(tk map[string]any, lines ...string) bool {
	got := ticketLines(tk)
	if len(got) != len(lines) {
		return false
	}
	for _, l := range lines {
		if _, ok := got[l]; !ok {
			return false
		}
	}
	return true
}

// TestKitchenStationRules: stations are settings, keyed once per location,
// and lines find theirs by the station their item names, else by their
// category, else the default one.
func TestKitchenStationRules(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		create := func(token string, body map[string]any) response {
			return s.call("POST", "/api/v1/kitchen/stations", token, body)
		}
		if r := s.call("GET", "/api/v1/kitchen/stations", k.tom, nil); r.Status != 200 || len(r.json(t)["stations"].([]any)) != 6 {
			t.Fatalf("the demo's stations, listed for a server: %d %s", r.Status, r.Body)
		}
		expectProblem(t, create(k.tom, map[string]any{"location_id": k.loc, "key": "salads", "name": "Salads"}), 403, "permission_denied")
		salads := kdsCreated(t, create(k.owner, map[string]any{"location_id": k.loc, "key": "salads", "name": "Salads",
			"category_ids": []string{k.category}}), "station")
		if salads["version"] != float64(1) || salads["default"] != false {
			t.Fatalf("new station: %v", salads)
		}
		expectProblem(t, create(k.owner, map[string]any{"location_id": k.loc, "key": "salads", "name": "Other salads"}), 409, "station_key_taken", "key")
		expectProblem(t, create(k.owner, map[string]any{"location_id": k.loc, "key": "grill", "name": "Second grill"}), 409, "station_key_taken", "key")
		expectProblem(t, create(k.owner, map[string]any{"location_id": k.loc, "key": "Hot Line", "name": "Hot line"}), 422, "invalid_field", "key")
		expectProblem(t, create(k.owner, map[string]any{"location_id": k.loc, "key": "pass", "name": " "}), 422, "invalid_field", "name")
		expectProblem(t, create(k.owner, map[string]any{"key": "pass", "name": "Pass"}), 422, "invalid_field", "location_id")
		expectProblem(t, create(k.other.Token, map[string]any{"location_id": k.loc, "key": "theirs", "name": "Theirs"}), 404, "not_found")
		// The same key at another location is another station.
		loc2 := kdsCreated(t, s.call("POST", "/api/v1/locations", k.owner, map[string]any{"name": "Rules Two"}), "location")["id"].(string)
		far := kdsCreated(t, create(k.owner, map[string]any{"location_id": loc2, "key": "salads", "name": "Salads"}), "station")
		// One who manages settings, signed in at the first location, changes
		// only its stations.
		lead := mintToken(t, cfg, tenant{Token: k.owner}, func(c jwt.MapClaims) { c["loc"] = k.loc })
		expectProblem(t, create(lead, map[string]any{"location_id": loc2, "key": "pass", "name": "Pass"}), 404, "not_found")
		expectProblem(t, s.call("PATCH", "/api/v1/kitchen/stations/"+far["id"].(string), lead, map[string]any{"version": 1, "name": "Mine"}), 404, "not_found")
		if n := len(s.call("GET", "/api/v1/kitchen/stations?location_id="+loc2, k.owner, nil).json(t)["stations"].([]any)); n != 1 {
			t.Fatalf("%d stations at the second location", n)
		}
		// A server lists their own location's stations only.
		expectProblem(t, s.call("GET", "/api/v1/kitchen/stations?location_id="+loc2, k.tom, nil), 404, "not_found")

		path := "/api/v1/kitchen/stations/" + salads["id"].(string)
		expectProblem(t, s.call("PATCH", path, k.tom, map[string]any{"version": 1, "name": "Salad bar"}), 403, "permission_denied")
		expectProblem(t, s.call("PATCH", path, k.other.Token, map[string]any{"version": 1, "name": "Salad bar"}), 404, "not_found")
		r := s.call("PATCH", path, k.owner, map[string]any{"version": 1, "name": "Salad bar"})
		if r.Status != 200 || r.json(t)["version"] != float64(2) || r.json(t)["name"] != "Salad bar" || r.json(t)["key"] != "salads" {
			t.Fatalf("rename: %d %s", r.Status, r.Body)
		}
		p := expectProblem(t, s.call("PATCH", path, k.owner, map[string]any{"version": 1, "name": "Stale"}), 409, "version_conflict")
		if p["current"].(map[string]any)["name"] != "Salad bar" {
			t.Fatalf("stale rename: current %v", p["current"])
		}

		// Routing: the salad by its category, the steak by the station it
		// names, the bread (neither) to the default, the grill.
		send := func(lines ...map[string]any) (map[string]any, map[string]map[string]any) {
			t.Helper()
			o := k.open(t, k.tom, map[string]any{"type": "dine_in", "lines": lines})
			sent := k.act(t, k.tom, o["id"].(string), "send", map[string]any{"version": o["version"]})
			return sent["order"].(map[string]any), byStation(t, sent)
		}
		o, tickets := send(rulesLine(k.salad, 1), rulesLine(k.steak, 1, k.cook[0]), rulesLine(k.bread, 1))
		ids := rulesLineIDs(o)
		if len(tickets) != 2 || !sameIDs(tickets["salads"], ids[0]) || !sameIDs(tickets["grill"], ids[1], ids[2]) {
			t.Fatalf("routed: %v", tickets)
		}
		for _, id := range ids {
			l := rulesLineOf(t, o, id)
			if l["kitchen_state"] != "sent" {
				t.Fatalf("line after sending: %v", l)
			}
		}
		if tk := tickets["grill"]; tk["order_number"] != o["number"] || tk["status"] != "open" || tk["server_name"] != "Tom Hughes" {
			t.Fatalf("ticket: %v", tk)
		}

		// The salads station takes no category now, and the cold section
		// becomes the default: the salad and the bread go there; the steak
		// still goes where it says.
		r = s.call("PATCH", path, k.owner, map[string]any{"version": 2, "category_ids": []string{}})
		if r.Status != 200 {
			t.Fatalf("clear categories: %d %s", r.Status, r.Body)
		}
		grill, cold := k.station(t, k.loc, "grill"), k.station(t, k.loc, "cold")
		for _, x := range []struct {
			st  map[string]any
			def bool
		}{{grill, false}, {cold, true}} {
			if r := s.call("PATCH", "/api/v1/kitchen/stations/"+x.st["id"].(string), k.owner, map[string]any{"version": x.st["version"], "default": x.def}); r.Status != 200 {
				t.Fatalf("default: %d %s", r.Status, r.Body)
			}
		}
		o, tickets = send(rulesLine(k.salad, 1), rulesLine(k.steak, 1, k.cook[0]), rulesLine(k.bread, 1))
		ids = rulesLineIDs(o)
		if len(tickets) != 2 || !sameIDs(tickets["cold"], ids[0], ids[2]) || !sameIDs(tickets["grill"], ids[1]) {
			t.Fatalf("routed after the change: %v", tickets)
		}
	})
}

// TestKitchenCoursesAndRecall: the mains are held while the starters and
// drinks go; firing them makes a ticket of their own; nothing goes twice;
// a recalled ticket comes back; a void shows on the ticket.
func TestKitchenCoursesAndRecall(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		drink, drinkVar := k.item(t, "bar", 0)
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "covers": 2, "lines": []map[string]any{
			rulesLine(k.salad, 1), rulesLine(k.steak, 2, k.cook[1]), {"item_id": drink, "variant_id": drinkVar, "quantity": 2}, rulesLine(k.bread, 1)}})
		id := o["id"].(string)
		ids := rulesLineIDs(o)
		salad, steak, beer, bread := ids[0], ids[1], ids[2], ids[3]
		if l := rulesLineOf(t, o, beer); l["course"] != float64(0) {
			t.Fatalf("the drink is course %v", l["course"])
		}
		send := func(body map[string]any) response { return s.call("POST", "/api/v1/orders/"+id+"/send", k.tom, body) }

		// Hold course 2.
		r := send(map[string]any{"version": o["version"], "hold": []int{2}})
		if r.Status != 200 {
			t.Fatalf("send holding the mains: %d %s", r.Status, r.Body)
		}
		first := r.json(t)
		o = first["order"].(map[string]any)
		tickets := byStation(t, first)
		if len(tickets) != 2 || !sameIDs(tickets["grill"], salad, bread) || !sameIDs(tickets["bar"], beer) {
			t.Fatalf("first tickets: %v", tickets)
		}
		want := map[string]string{salad: "sent", steak: "held", beer: "sent", bread: "sent"}
		for l, st := range want {
			if got := rulesLineOf(t, o, l)["kitchen_state"]; got != st {
				t.Fatalf("line %s is %v, want %s", l, got, st)
			}
		}
		if o["status"] != "sent" {
			t.Fatalf("status %v", o["status"])
		}
		// Nothing new to send: the held course waits to be fired.
		before := k.check(t, id)
		expectProblem(t, send(map[string]any{"version": o["version"]}), 409, "nothing_to_send")
		expectProblem(t, send(map[string]any{"version": o["version"], "fire": 3}), 409, "nothing_to_send")
		k.unchanged(t, before)

		// Fire the mains: a second grill ticket with only the steak.
		r = send(map[string]any{"version": o["version"], "fire": 2})
		if r.Status != 200 {
			t.Fatalf("fire: %d %s", r.Status, r.Body)
		}
		fired := r.json(t)
		o = fired["order"].(map[string]any)
		tickets = byStation(t, fired)
		if len(tickets) != 1 || !sameIDs(tickets["grill"], steak) {
			t.Fatalf("fired tickets: %v", tickets)
		}
		mains := tickets["grill"]["id"].(string)
		if rulesLineOf(t, o, steak)["kitchen_state"] != "sent" {
			t.Fatalf("fired steak: %v", rulesLineOf(t, o, steak))
		}
		expectProblem(t, send(map[string]any{"version": o["version"], "fire": 2}), 409, "nothing_to_send")
		expectProblem(t, send(map[string]any{"version": o["version"]}), 409, "nothing_to_send")

		// Bump the starters, then recall them: back on the screen, lines
		// acknowledged (the kitchen has seen them).
		starters := byStation(t, first)["grill"]["id"].(string)
		ticket := func(id, action string) response {
			return s.call("POST", "/api/v1/kitchen/tickets/"+id+"/"+action, k.maya, map[string]any{})
		}
		if r := ticket(starters, "bump"); r.Status != 200 || r.json(t)["status"] != "done" {
			t.Fatalf("bump: %d %s", r.Status, r.Body)
		}
		o = k.check(t, id)
		if rulesLineOf(t, o, salad)["kitchen_state"] != "ready" || rulesLineOf(t, o, beer)["kitchen_state"] != "sent" {
			t.Fatalf("after the bump: salad %v, beer %v", rulesLineOf(t, o, salad)["kitchen_state"], rulesLineOf(t, o, beer)["kitchen_state"])
		}
		expectProblem(t, ticket(starters, "bump"), 409, "ticket_done")
		r = ticket(starters, "recall")
		if r.Status != 200 {
			t.Fatalf("recall: %d %s", r.Status, r.Body)
		}
		recalled := r.json(t)
		if recalled["status"] != "open" || recalled["bumped_at"] != nil {
			t.Fatalf("recalled: %v", recalled)
		}
		for l, st := range ticketLines(recalled) {
			if st != "acknowledged" {
				t.Fatalf("recalled line %s is %s", l, st)
			}
		}
		o = k.check(t, id)
		for _, l := range []string{salad, bread} {
			if st := rulesLineOf(t, o, l)["kitchen_state"]; st != "acknowledged" {
				t.Fatalf("recalled line %s on the check is %v", l, st)
			}
		}
		expectProblem(t, ticket(starters, "recall"), 409, "ticket_open")
		if r := s.call("GET", "/api/v1/kitchen/tickets?status=open&station=grill", k.tom, nil); len(r.json(t)["tickets"].([]any)) != 2 {
			t.Fatalf("open grill tickets: %s", r.Body)
		}

		// The manager voids the steak: its ticket shows it voided, and the
		// kitchen hears (ticket.updated).
		_, seq := k.events(t, k.owner, 0)
		o = k.applied(t, k.maya, id, map[string]any{"op_id": "void-steak", "type": "void_line", "line_id": steak, "reason": "guest left"})
		tk := s.call("GET", "/api/v1/kitchen/tickets/"+mains, k.tom, nil).json(t)
		if st := ticketLines(tk)[steak]; st != "voided" {
			t.Fatalf("the steak on its ticket is %q", st)
		}
		evs, _ := k.events(t, k.owner, seq)
		heard := false
		for _, e := range evs {
			if e["type"] == "ticket.updated" && e["subject_id"] == mains {
				heard = ticketLines(e["data"].(map[string]any))[steak] == "voided"
			}
		}
		if !heard {
			t.Fatalf("no ticket.updated with the steak voided among %v", evs)
		}

		// A late salad goes on a ticket of its own; every line sent is
		// on exactly one ticket.
		o = k.applied(t, k.tom, id, rulesAdd("late", rulesLine(k.salad, 1)))
		late := rulesLineIDs(o)[4]
		r = send(map[string]any{"version": o["version"]})
		if r.Status != 200 || !sameIDs(byStation(t, r.json(t))["grill"], late) {
			t.Fatalf("late send: %d %s", r.Status, r.Body)
		}
		o = r.json(t)["order"].(map[string]any)
		rulesOneTicketEach(t, k, o)
	})
}

// rulesOneTicketEach checks that every line of the check the kitchen was
// sent is on exactly one ticket, and no line it was not sent is on any.
func rulesOneTicketEach(t *testing.T, k *rulesKit, o map[string]any) {
	t.Helper()
	seen := map[string]int{}
	for _, tk := range k.tickets(t) {
		for l := range ticketLines(tk) {
			seen[l]++
		}
	}
	for _, x := range o["lines"].([]any) {
		l := x.(map[string]any)
		want := 1
		if st := l["kitchen_state"]; st == "new" || st == "held" {
			want = 0
		}
		if n := seen[l["id"].(string)]; n != want {
			t.Errorf("line %s (%v) is on %d tickets, want %d", l["id"], l["kitchen_state"], n, want)
		}
	}
}

// TestKitchenSendRace: ten iPads send the same check at the same version
// at once. One send wins; the others are told the check changed; every
// line reaches the kitchen once.
func TestKitchenSendRace(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		drink, drinkVar := k.item(t, "bar", 0)
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{
			rulesLine(k.salad, 1), rulesLine(k.steak, 1, k.cook[0]), rulesLine(k.bread, 2),
			{"item_id": drink, "variant_id": drinkVar, "quantity": 1}, rulesLine(k.salad, 3)}})
		id := o["id"].(string)
		for round := 0; round < 3; round++ {
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[string]int{}
			for i := 0; i < 10; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status, body, err := post(k.s.URL+"/api/v1/orders/"+id+"/send", k.tom, map[string]any{"version": o["version"]})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						codes[err.Error()]++
					case status == 200:
						codes["200"]++
					default:
						codes[fmt.Sprintf("%d %v", status, body["code"])]++
					}
				}()
			}
			wg.Wait()
			if codes["200"] != 1 || codes["409 version_conflict"] != 9 {
				t.Fatalf("round %d: %v", round, codes)
			}
			o = k.check(t, id)
			rulesOneTicketEach(t, k, o)
			o = k.applied(t, k.aisha, id, rulesAdd(fmt.Sprintf("round-%d-a", round), rulesLine(k.bread, 1)),
				rulesAdd(fmt.Sprintf("round-%d-b", round), rulesLine(k.salad, 1)))
		}
		if n := len(o["lines"].([]any)); n != 11 {
			t.Fatalf("%d lines", n)
		}
	})
}

// rulesEvent is an event as the stream sends it, data included.
type rulesEvent struct {
	Seq       int64          `json:"seq"`
	Type      string         `json:"type"`
	SubjectID string         `json:"subject_id"`
	Data      map[string]any `json:"data"`
}

// rulesAwait reads the stream until an event matches, for up to 5 s.
func rulesAwait(t *testing.T, c *websocket.Conn, what string, match func(rulesEvent) bool) rulesEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var seen []string
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v (saw %v)", what, err, seen)
		}
		var e rulesEvent
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if match(e) {
			return e
		}
		seen = append(seen, e.Type)
	}
}

// TestKitchenLiveOnSecondIPad: Aisha's iPad streams events; Tom adds a
// line on his, and hers hears the check with the line in it, then the
// kitchen's ticket once he sends it.
func TestKitchenLiveOnSecondIPad(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		_, seq := k.events(t, k.owner, 0)
		ipad2 := dial(t, k.s, k.aisha, fmt.Sprintf("?after=%d", seq))

		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "covers": 2})
		id := o["id"].(string)
		rulesAwait(t, ipad2, "order.created", func(e rulesEvent) bool { return e.Type == "order.created" && e.SubjectID == id })
		o = k.applied(t, k.tom, id, rulesAdd("tom-1", rulesLine(k.steak, 1, k.cook[2], k.sauces[1])))
		line := rulesLineIDs(o)[0]
		e := rulesAwait(t, ipad2, "order.updated with Tom's line", func(e rulesEvent) bool {
			return e.Type == "order.updated" && e.SubjectID == id
		})
		if lines, _ := e.Data["lines"].([]any); len(lines) != 1 || lines[0].(map[string]any)["id"] != line ||
			e.Data["version"] != o["version"] || amount(e.Data["totals"].(map[string]any)["total"]) != rulesTotal(o) {
			t.Fatalf("iPad 2 heard %v", e.Data)
		}

		sent := k.act(t, k.tom, id, "send", map[string]any{"version": o["version"]})
		tk := rulesAwait(t, ipad2, "ticket.created", func(e rulesEvent) bool { return e.Type == "ticket.created" && e.Data["order_id"] == id })
		if tk.SubjectID != sent["tickets"].([]any)[0].(map[string]any)["id"] || !sameIDs(tk.Data, line) || tk.Data["station"] != "grill" {
			t.Fatalf("ticket heard: %v", tk.Data)
		}
		// Its modifiers as the cook reads them.
		mods := tk.Data["lines"].([]any)[0].(map[string]any)["modifiers"].([]any)
		if fmt.Sprint(mods) != "[Well done Béarnaise]" {
			t.Fatalf("modifiers on the ticket: %v", mods)
		}
	})
}

// TestKitchenTicketsFollowMovedLines: a sent check merged into another at
// the table, and lines moved to a third: the kitchen bumps the tickets it
// has, and the lines on the checks they are on now become ready.
func TestKitchenTicketsFollowMovedLines(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		a := k.open(t, k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{rulesLine(k.salad, 1)}})
		b := k.open(t, k.aisha, map[string]any{"type": "dine_in", "lines": []map[string]any{rulesLine(k.bread, 1), rulesLine(k.salad, 2)}})
		sentA := k.act(t, k.tom, a["id"].(string), "send", map[string]any{"version": a["version"]})
		sentB := k.act(t, k.aisha, b["id"].(string), "send", map[string]any{"version": b["version"]})
		a, b = sentA["order"].(map[string]any), sentB["order"].(map[string]any)
		ticketB := sentB["tickets"].([]any)[0].(map[string]any)["id"].(string)

		m := k.act(t, k.tom, a["id"].(string), "merge", map[string]any{"version": a["version"], "from_order_id": b["id"], "from_version": b["version"]})
		a = m["order"].(map[string]any)
		r := s.call("POST", "/api/v1/kitchen/tickets/"+ticketB+"/bump", k.maya, map[string]any{})
		if r.Status != 200 {
			t.Fatalf("bump B's ticket after the merge: %d %s", r.Status, r.Body)
		}
		for l, st := range ticketLines(r.json(t)) {
			if st != "ready" {
				t.Errorf("line %s on the bumped ticket is %s", l, st)
			}
		}
		a = k.check(t, a["id"].(string))
		for _, id := range rulesLineIDs(b) {
			if st := rulesLineOf(t, a, id)["kitchen_state"]; st != "ready" {
				t.Errorf("B's line %s on A after the bump is %v", id, st)
			}
		}
		rulesOneTicketEach(t, k, a)

		// Move one of B's lines (now A's) to a new check, then recall the
		// ticket: the moved line follows on its new check.
		c := k.open(t, k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{rulesLine(k.bread, 1)}})
		moved := rulesLineIDs(b)[1]
		mv := k.act(t, k.tom, a["id"].(string), "move-lines", map[string]any{"version": a["version"], "line_ids": []string{moved},
			"to_order_id": c["id"], "to_version": c["version"]})
		c = mv["other"].(map[string]any)
		r = s.call("POST", "/api/v1/kitchen/tickets/"+ticketB+"/recall", k.maya, map[string]any{})
		if r.Status != 200 {
			t.Fatalf("recall: %d %s", r.Status, r.Body)
		}
		for l, st := range ticketLines(r.json(t)) {
			if st != "acknowledged" {
				t.Errorf("line %s on the recalled ticket is %s", l, st)
			}
		}
		if st := rulesLineOf(t, k.check(t, c["id"].(string)), moved)["kitchen_state"]; st != "acknowledged" {
			t.Errorf("the moved line on C after the recall is %v", st)
		}
		if st := rulesLineOf(t, k.check(t, a["id"].(string)), rulesLineIDs(b)[0])["kitchen_state"]; st != "acknowledged" {
			t.Errorf("the line left on A after the recall is %v", st)
		}
	})
}
