package order

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestStateDiagramMatchesTable keeps docs/orders.md's diagrams and the
// state tables in step: every move in the code is drawn, every arrow is a
// move.
func TestStateDiagramMatchesTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/orders.md")
	if err != nil {
		t.Fatal(err)
	}
	diagrams := regexp.MustCompile("(?s)```mermaid\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(diagrams) != 2 {
		t.Fatalf("docs/orders.md has %d mermaid diagrams, want 2 (checks, lines)", len(diagrams))
	}
	arrow := regexp.MustCompile(`(?m)^\s*(\w+) --> (\w+): (\w+)$`)
	drawn := func(d string) []string {
		var out []string
		for _, m := range arrow.FindAllStringSubmatch(d, -1) {
			out = append(out, m[3]+": "+m[1]+" → "+m[2])
		}
		sort.Strings(out)
		return out
	}
	var checks, lines []string
	for act, from := range checkMoves {
		for f, to := range from {
			checks = append(checks, string(act)+": "+string(f)+" → "+string(to))
		}
	}
	for act, from := range lineMoves {
		for f, to := range from {
			lines = append(lines, string(act)+": "+string(f)+" → "+string(to))
		}
	}
	sort.Strings(checks)
	sort.Strings(lines)
	if got := drawn(diagrams[0][1]); strings.Join(got, "\n") != strings.Join(checks, "\n") {
		t.Errorf("check diagram:\n%s\nstate table:\n%s", strings.Join(got, "\n"), strings.Join(checks, "\n"))
	}
	if got := drawn(diagrams[1][1]); strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Errorf("line diagram:\n%s\nstate table:\n%s", strings.Join(got, "\n"), strings.Join(lines, "\n"))
	}
}

// TestMoves checks a few moves each way, and the codes of refusals.
func TestMoves(t *testing.T) {
	for _, c := range []struct {
		from Status
		act  Action
		to   Status
		ok   bool
	}{
		{StatusOpen, ActSend, StatusSent, true},
		{StatusSent, ActCancel, StatusSent, false},
		{StatusPaid, ActVoid, StatusPaid, false},
		{StatusClosed, ActReopen, StatusOpen, true},
		{StatusOpen, ActReopen, StatusOpen, false},
		{StatusCancelled, ActSend, StatusCancelled, false},
	} {
		to, err := c.from.Move(c.act)
		if (err == nil) != c.ok || to != c.to {
			t.Errorf("%s %s: %s, %v", c.from, c.act, to, err)
		}
		if err != nil && !strings.Contains(err.Error(), "illegal_transition") {
			t.Errorf("%s %s: %v, want illegal_transition", c.from, c.act, err)
		}
	}
	if _, err := LineReady.Move(LineActSend); err == nil || !strings.Contains(err.Error(), "illegal_line_transition") {
		t.Errorf("ready → send: %v", err)
	}
}
