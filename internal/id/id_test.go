package id

import (
	"sort"
	"strings"
	"testing"
)

func TestNewIsValidAndTimeOrdered(t *testing.T) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = New(Location)
		if !Valid(Location, ids[i]) {
			t.Fatalf("New made an invalid ID %q", ids[i])
		}
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs made in sequence do not sort in sequence")
	}
	for _, bad := range []string{"", "loc_", "org_" + strings.TrimPrefix(ids[0], "loc_"), ids[0] + "x", "loc_" + strings.Repeat("u", 26), "loc_" + strings.ToUpper(ids[0][4:]) + "!"} {
		if Valid(Location, bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
}
