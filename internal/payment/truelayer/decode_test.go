package truelayer

import (
	"testing"
	"time"
)

// FuzzDecodeEvent reaches the event decoder directly, which signed bodies
// only reach through a good signature: it must never panic, and whatever
// it accepts is a whole event.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"payment_executed","event_id":"e1","payment_id":"p1","executed_at":"2026-05-04T12:00:00Z","metadata":{"fynlo_payment_id":"pay_1"}}`,
		`{"type":"payment_failed","event_id":"e2","payment_id":"p1","failure_reason":"expired","failure_stage":"authorizing"}`,
		`{"type":"refund_executed","event_id":"e3","payment_id":"p1","refund_id":"r1"}`,
		`{"type":"payment_creditable","event_id":"e4","payment_id":"p1","metadata":[1]}`,
		`{}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	sent := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := decodeEvent(body, sent)
		if err != nil {
			return
		}
		if e.ID == "" || e.Type == "" || (e.Status != "" && e.Ref == "") || (e.RefundStatus != "" && e.RefundRef == "") || e.At.IsZero() {
			t.Fatalf("accepted a partial event %+v", e)
		}
	})
}
