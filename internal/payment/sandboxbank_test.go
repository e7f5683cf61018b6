package payment

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

func header(sig string) func(string) string {
	return func(name string) string {
		if strings.EqualFold(name, SandboxSignatureHeader) {
			return sig
		}
		return ""
	}
}

// FuzzSandboxWebhook: whatever arrives, the decoder never panics, and
// nothing unsigned is believed.
func FuzzSandboxWebhook(f *testing.F) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	b := NewSandboxBank(func() time.Time { return now })
	good := []byte(`{"event_id":"sbx_evt_1","type":"payment_executed","payment_id":"sbx_1","status":"executed","metadata":{"fynlo_payment_id":"pay_1"}}`)
	f.Add(good, b.Sign("org_1", good, now), "org_1")
	f.Add([]byte(`{}`), "t=1,v1=00", "org_1")
	f.Add([]byte(`not json`), b.Sign("org_1", []byte(`not json`), now), "org_1")
	f.Fuzz(func(t *testing.T, body []byte, sig, account string) {
		e, err := b.VerifyBankWebhook(context.Background(), WebhookRequest{Account: account, Body: body, Header: header(sig)})
		if err != nil {
			return
		}
		// Believed: the signature must be the bank's own for some time.
		var ts int64
		for part := range strings.SplitSeq(sig, ",") {
			if v, ok := strings.CutPrefix(part, "t="); ok {
				ts, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		_, want, _ := strings.Cut(b.Sign(account, body, time.Unix(ts, 0)), ",")
		if !strings.Contains(sig, want) {
			t.Fatalf("believed %q signed %q: %+v", body, sig, e)
		}
	})
}

// TestSandboxBankCancelOnlyBeforeTheGuestStarts: like a real provider,
// the sandbox bank cannot call back a payment the guest is approving.
func TestSandboxBankCancelOnlyBeforeTheGuestStarts(t *testing.T) {
	ctx := context.Background()
	b := NewSandboxBank(time.Now)
	req := BankPaymentRequest{Key: "pay_1", Amount: gbp(1200), ServerURL: "http://pos.local:8080/"}
	p1, err := b.CreateBankPayment(ctx, req)
	if err != nil || p1.Link != "http://pos.local:8080/sandbox-bank/"+p1.Ref || p1.Status != BankAuthorizationRequired {
		t.Fatalf("create: %+v %v", p1, err)
	}
	if again, _ := b.CreateBankPayment(ctx, req); again.Ref != p1.Ref {
		t.Fatalf("a retry with the same key made another payment: %s, %s", again.Ref, p1.Ref)
	}
	if c, _ := b.CancelBankPayment(ctx, p1.Ref, "k"); c.Status != BankFailed {
		t.Fatalf("cancel before the guest opened it: %+v", c)
	}
	p2, _ := b.CreateBankPayment(ctx, BankPaymentRequest{Key: "pay_2", Amount: gbp(1200)})
	if _, err := b.Payment(ctx, p2.Ref); err != nil {
		t.Fatal(err)
	}
	if c, _ := b.CancelBankPayment(ctx, p2.Ref, "k"); c.Status != BankAuthorizing {
		t.Fatalf("cancel while the guest approves: %+v", c)
	}
	if _, err := b.Decide(ctx, p2.Ref, true); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.BankPayment(ctx, p2.Ref); st.Status != BankSettled {
		t.Fatalf("after approval: %+v", st)
	}
	if r, _ := b.RefundBankPayment(ctx, p1.Ref, gbp(1200), "r1"); r.Status != RefundFailed {
		t.Fatalf("refund of a payment never made: %+v", r)
	}
	r1, _ := b.RefundBankPayment(ctx, p2.Ref, gbp(1200), "r2")
	if r2, _ := b.RefundBankPayment(ctx, p2.Ref, gbp(1200), "r2"); r1.Status != RefundSucceeded || r2 != r1 {
		t.Fatalf("refund and its retry: %+v %+v", r1, r2)
	}
}
