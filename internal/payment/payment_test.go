package payment

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
)

func gbp(a int64) money.Money { return money.Money{Amount: a, Currency: "GBP"} }

func TestStatusMoves(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		from, to Status
		ok       bool
	}{
		{StatusPending, StatusCaptured, true},
		{StatusPending, StatusRequiresAction, true},
		{StatusRequiresAction, StatusAuthorized, true},
		{StatusAuthorized, StatusCaptured, true},
		{StatusAuthorized, StatusCancelled, true},
		{StatusCaptured, StatusPartiallyRefunded, true},
		{StatusPartiallyRefunded, StatusRefunded, true},
		{StatusCaptured, StatusCancelled, false},
		{StatusFailed, StatusCaptured, false}, // a card's; open banking's is below
		{StatusCancelled, StatusAuthorized, false},
		{StatusRefunded, StatusPartiallyRefunded, false},
	} {
		p := &Payment{Status: c.from, Method: MethodCard}
		err := p.move(c.to, "emp", "", at)
		if (err == nil) != c.ok {
			t.Errorf("%s → %s: err %v, want ok=%v", c.from, c.to, err, c.ok)
		}
		if c.ok && (p.Status != c.to || len(p.History) != 1 || p.History[0].From != c.from) {
			t.Errorf("%s → %s: status %s, history %v", c.from, c.to, p.Status, p.History)
		}
	}
}

func TestLateBankMoneyMoves(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, from := range []Status{StatusFailed, StatusCancelled, StatusExpired} {
		for _, to := range []Status{StatusCaptured, StatusSurplus} {
			if err := (&Payment{Status: from, Method: MethodOpenBanking}).move(to, "", "", at); err != nil {
				t.Errorf("open banking %s → %s: %v", from, to, err)
			}
			if err := (&Payment{Status: from, Method: MethodCard}).move(to, "", "", at); err == nil {
				t.Errorf("card %s → %s allowed", from, to)
			}
		}
	}
}

func TestCashPriceGivesChange(t *testing.T) {
	o := &order.Order{Currency: "GBP", Status: order.StatusSent}
	o.Totals.Total = gbp(4760)
	o.Payments.Balance = gbp(2760)
	for _, c := range []struct {
		name                          string
		in                            PayInput
		amount, tip, tendered, change int64
		bad                           bool
	}{
		{"the balance, exact", PayInput{}, 2760, 0, 2760, 0, false},
		{"a £50 note with a 10% tip", PayInput{TipPercentBP: ptr(1000), Tendered: ptrM(5000)}, 2760, 276, 5000, 1964, false},
		{"more than the balance, no tendered", PayInput{Amount: ptrM(3000)}, 2760, 0, 3000, 240, false},
		{"too little handed over", PayInput{Tendered: ptrM(2000)}, 0, 0, 0, 0, true},
	} {
		p := &Payment{Method: MethodCash, Amount: gbp(0), Tip: gbp(0), Change: gbp(0)}
		err := p.price(c.in, o)
		if (err != nil) != c.bad {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.bad {
			continue
		}
		if p.Amount.Amount != c.amount || p.Tip.Amount != c.tip || p.Tendered.Amount != c.tendered || p.Change.Amount != c.change {
			t.Errorf("%s: amount %d tip %d tendered %d change %d", c.name, p.Amount.Amount, p.Tip.Amount, p.Tendered.Amount, p.Change.Amount)
		}
		if p.Tendered.Amount-p.Change.Amount != p.Amount.Amount+p.Tip.Amount {
			t.Errorf("%s: tendered − change ≠ amount + tip", c.name)
		}
	}
}

func TestFeesAndSurchargeBan(t *testing.T) {
	fs := DefaultFees("loc", "GBP")
	if got := fs.processing(MethodCard, 4760) + fs.platform(MethodCard, 4760); got != 138+30+48 {
		t.Errorf("card on £47.60 costs %d", got)
	}
	if got := fs.processing(MethodCash, 4760) + fs.platform(MethodCash, 4760); got != 0 {
		t.Errorf("cash costs %d", got)
	}
	for country, banned := range map[string]bool{"GB": true, "FR": true, "NO": true, "US": false, "AU": false} {
		if SurchargeBanned(country) != banned {
			t.Errorf("surcharge banned in %s = %v", country, !banned)
		}
	}
}

func ptr(i int) *int            { return &i }
func ptrM(a int64) *money.Money { m := gbp(a); return &m }

// TestStateDiagramMatchesTable keeps docs/payments.md's diagram and the
// payment state table in step.
func TestStateDiagramMatchesTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/payments.md")
	if err != nil {
		t.Fatal(err)
	}
	d := regexp.MustCompile("(?s)```mermaid\n(.*?)```").FindStringSubmatch(string(doc))
	if d == nil {
		t.Fatal("docs/payments.md has no mermaid diagram")
	}
	var drawn, table []string
	for _, m := range regexp.MustCompile(`(?m)^\s*(\w+) --> (\w+)$`).FindAllStringSubmatch(d[1], -1) {
		drawn = append(drawn, m[1]+" → "+m[2])
	}
	for from, tos := range moves {
		for _, to := range tos {
			table = append(table, string(from)+" → "+string(to))
		}
	}
	sort.Strings(drawn)
	sort.Strings(table)
	if strings.Join(drawn, "\n") != strings.Join(table, "\n") {
		t.Errorf("diagram:\n%s\nstate table:\n%s", strings.Join(drawn, "\n"), strings.Join(table, "\n"))
	}
}
