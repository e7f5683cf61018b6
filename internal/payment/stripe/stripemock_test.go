package stripe

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdk "github.com/stripe/stripe-go/v85"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/testenv"
)

// stripeMockVersion is the stripe-mock scripts/test installs.
const stripeMockVersion = "v0.203.0"

// startStripeMock starts the official stripe-mock on free loopback ports
// for t and returns its HTTP base URL; it is stopped, by its PID, when t
// ends. Without the binary it skips t, or fails it when services are
// required (FYNLO_TEST_REQUIRE_SERVICES=1).
//
// stripe-mock is stateless: it validates each request against Stripe's
// OpenAPI spec (unknown parameters and bad enum values are 400s) and
// answers with a fixture of the resource, echoing some request values.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin := findStripeMock()
	if bin == "" {
		msg := "stripe-mock not found (go install github.com/stripe/stripe-mock@" + stripeMockVersion + ")"
		if testenv.RequireServices() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // by its PID
		_ = cmd.Wait()
	})

	listening := regexp.MustCompile(`Listening for HTTP at address: (\S+)`)
	addr := make(chan string, 1)
	var lines []string
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			} else if len(lines) < 20 {
				lines = append(lines, sc.Text())
			}
		}
		close(addr)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("stripe-mock exited before listening:\n%s", strings.Join(lines, "\n"))
		}
		return "http://" + a
	case <-time.After(15 * time.Second):
		t.Fatal("stripe-mock did not say where it listens within 15 s")
	}
	return ""
}

func findStripeMock() string {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "stripe-mock")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// fixtureStatus is the payment status a PaymentIntent answer means, read
// the plain way, to check the provider against.
func fixtureStatus(t *testing.T, body []byte) (payment.Status, map[string]any) {
	t.Helper()
	var pi map[string]any
	if err := json.Unmarshal(body, &pi); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	st := map[string]payment.Status{"succeeded": payment.StatusCaptured, "requires_capture": payment.StatusAuthorized,
		"requires_action": payment.StatusRequiresAction, "canceled": payment.StatusCancelled}[pi["status"].(string)]
	if pi["status"] == "requires_payment_method" && pi["last_payment_error"] != nil {
		st = payment.StatusFailed
	}
	return st, pi
}

func TestStripeMock(t *testing.T) {
	base := startStripeMock(t)
	p, rec := newTestProvider(t, base, "sk_test_123", nil)
	ctx := context.Background()

	t.Run("charge", func(t *testing.T) {
		for _, manual := range []bool{false, true} {
			req := chargeReq()
			req.Key += map[bool]string{false: "_auto", true: "_manual"}[manual]
			req.ManualCapture = manual
			res, err := p.Charge(ctx, req)
			if err != nil {
				// A 400 here means the request does not fit Stripe's spec.
				t.Fatalf("charge (manual %v): %v", manual, err)
			}
			ex := rec.last(t)
			if ex.Status != 200 || ex.Header.Get("Idempotency-Key") != req.Key {
				t.Fatalf("status %d, Idempotency-Key %q", ex.Status, ex.Header.Get("Idempotency-Key"))
			}
			want, pi := fixtureStatus(t, ex.ResponseBody)
			if !strings.HasPrefix(res.Ref, "pi_") || res.Ref != pi["id"] || res.Status != want {
				t.Errorf("got ref %q status %q; stripe-mock answered %v %v", res.Ref, res.Status, pi["id"], pi["status"])
			}
			// stripe-mock echoes request values into its fixture.
			capture := map[bool]string{false: "automatic", true: "manual"}[manual]
			if pi["amount"] != 1250.0 || pi["currency"] != "gbp" || pi["capture_method"] != capture {
				t.Errorf("echoed amount %v currency %v capture_method %v", pi["amount"], pi["currency"], pi["capture_method"])
			}
			if types, _ := json.Marshal(pi["payment_method_types"]); string(types) != `["card","card_present"]` {
				t.Errorf("payment_method_types %s", types)
			}
			// latest_charge was expanded: the fixture's card is read.
			if res.Card == nil || res.Card.Brand != "visa" || res.Card.Last4 != "4242" {
				t.Errorf("card %+v", res.Card)
			}
		}
	})

	t.Run("capture", func(t *testing.T) {
		res, err := p.Capture(ctx, "pi_123", gbp(1500), "pay_1:capture")
		if err != nil {
			t.Fatal(err)
		}
		ex := rec.last(t)
		if ex.Path != "/v1/payment_intents/pi_123/capture" || ex.Form.Get("amount_to_capture") != "1500" ||
			ex.Header.Get("Idempotency-Key") != "pay_1:capture" {
			t.Errorf("request %s %v key %q", ex.Path, ex.Form, ex.Header.Get("Idempotency-Key"))
		}
		want, pi := fixtureStatus(t, ex.ResponseBody)
		if res.Ref != "pi_123" || res.Status != want {
			t.Errorf("got %q %q; stripe-mock answered %v %v", res.Ref, res.Status, pi["id"], pi["status"])
		}
	})

	t.Run("cancel", func(t *testing.T) {
		res, err := p.Cancel(ctx, "pi_123", "pay_1:cancel")
		if err != nil {
			t.Fatal(err)
		}
		ex := rec.last(t)
		if ex.Path != "/v1/payment_intents/pi_123/cancel" || ex.Header.Get("Idempotency-Key") != "pay_1:cancel" {
			t.Errorf("request %s key %q", ex.Path, ex.Header.Get("Idempotency-Key"))
		}
		if want, _ := fixtureStatus(t, ex.ResponseBody); res.Ref != "pi_123" || res.Status != want {
			t.Errorf("got %+v", res)
		}
	})

	t.Run("refund", func(t *testing.T) {
		res, err := p.Refund(ctx, "pi_123", gbp(500), "ref_1")
		if err != nil {
			t.Fatal(err)
		}
		ex := rec.last(t)
		if ex.Header.Get("Idempotency-Key") != "ref_1" {
			t.Errorf("Idempotency-Key %q", ex.Header.Get("Idempotency-Key"))
		}
		var re map[string]any
		_ = json.Unmarshal(ex.ResponseBody, &re)
		if re["amount"] != 500.0 || re["payment_intent"] != "pi_123" {
			t.Errorf("echoed amount %v payment_intent %v", re["amount"], re["payment_intent"])
		}
		if !strings.HasPrefix(res.Ref, "re_") || res.Status != refundStatus(re["status"].(string)) {
			t.Errorf("got %+v; stripe-mock answered %v", res, re["status"])
		}
	})

	t.Run("connection token", func(t *testing.T) {
		tok, err := p.ConnectionToken(ctx)
		if err != nil || tok == "" {
			t.Fatalf("got %q, %v", tok, err)
		}
	})

	t.Run("request outside the spec", func(t *testing.T) {
		// What the charge test relies on: stripe-mock refuses a request that
		// does not fit Stripe's spec, and the refusal is an Invalid error.
		ctx, tr := track(ctx)
		_, err := p.sc.V1PaymentIntents.Create(ctx, &sdk.PaymentIntentCreateParams{
			Amount: sdk.Int64(100), Currency: sdk.String("gbp"), CaptureMethod: sdk.String("whenever")})
		err = p.classify("create payment intent", err, tr)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || !strings.Contains(ae.Detail, "capture_method") {
			t.Fatalf("err = %v, want Invalid naming capture_method", err)
		}
	})

	t.Run("rejected key", func(t *testing.T) {
		// stripe-mock accepts only test keys, and its 401 quotes the
		// Authorization header it got, key and all.
		const key = "sk_live_51NotForTestsSecret"
		p, rec := newTestProvider(t, base, key, nil)
		_, err := p.Charge(ctx, chargeReq())
		assertDown(t, err)
		if ex := rec.last(t); ex.Status != 401 || !strings.Contains(string(ex.ResponseBody), "NotForTestsSecret") {
			t.Fatalf("stripe-mock answered %d %s", ex.Status, ex.ResponseBody)
		}
		if strings.Contains(err.Error(), "NotForTestsSecret") {
			t.Fatalf("the error shows the key: %v", err)
		}
	})
}
