package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/payment/stripe"
	"github.com/fynlo/fynlo/internal/testenv"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// fynloBinary builds the server once for the tests that kill it.
func fynloBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fynlo-crash-bin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "fynlo")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/fynlo/fynlo/cmd/fynlo").CombinedOutput()
		if err != nil {
			buildErr = err
			binary = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build fynlo: %v\n%s", buildErr, binary)
	}
	return binary
}

var listeningRE = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

// process is a server in its own process, to be killed without warning.
type process struct {
	cmd *exec.Cmd
	*server
}

func startProcess(t *testing.T, env []string) *process {
	t.Helper()
	cmd := exec.Command(fynloBinary(t), "serve")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return &process{cmd: cmd, server: &server{t: t, URL: "http://" + a, logs: &syncBuffer{}}}
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not start")
		return nil
	}
}

// kill stops the server as a power cut would: SIGKILL, nothing flushed.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// TestCardPaymentSurvivesACrash kills the server at each step of a card
// payment — before Stripe saw the charge, after Stripe took it but before
// we heard — and retries: exactly one charge and one payment row each
// time, whether the retry or Stripe's webhook finishes it.
func TestCardPaymentSurvivesACrash(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		fake := testenv.StartFakeStripe(t)
		env := []string{"FYNLO_ADDR=127.0.0.1:0", "FYNLO_DATA_DIR=" + cfg.DataDir, "FYNLO_DATABASE_URL=" + cfg.DatabaseURL,
			"FYNLO_DEMO=true", "FYNLO_STRIPE_API_BASE=" + fake.URL, "FYNLO_LOG_LEVEL=info"}
		p := startProcess(t, env)
		login := p.call("POST", "/api/v1/auth/login", "", map[string]any{"email": app.DemoEmail, "password": app.DemoPassword})
		if login.Status != 200 {
			t.Fatalf("login: %d %s", login.Status, login.Body)
		}
		owner := login.json(t)["access_token"].(string)
		connectStripe(t, p.server, owner)
		device, err := os.ReadFile(filepath.Join(cfg.DataDir, "demo-device-token"))
		if err != nil {
			t.Fatal(err)
		}
		tom := p.call("POST", "/api/v1/auth/pin", strings.TrimSpace(string(device)), map[string]any{"pin": "2222"}).json(t)["access_token"].(string)
		me := p.call("GET", "/api/v1/me", owner, nil).json(t)
		orgID := me["organization"].(map[string]any)["id"].(string)
		f := &demoFloor{s: p.server, owner: owner, tom: tom}
		f.loc = p.call("GET", "/api/v1/locations", owner, nil).json(t)["items"].([]any)[0].(map[string]any)["id"].(string)
		f.menu = p.call("GET", "/api/v1/locations/"+f.loc+"/menu", owner, nil).json(t)

		// crashAt opens a check and pays it by card with the client's
		// payment ID; the hook kills the server at its step.
		crashAt := func(name, payID string, before bool) (orderID string) {
			o := f.openCheck(t, tom, 1)
			orderID = o["id"].(string)
			reached, release := make(chan struct{}), make(chan struct{})
			hook := func(path, key string) bool {
				if path != "/v1/payment_intents" || key != payID {
					return true
				}
				close(reached)
				<-release
				return false // the server is dead: nobody hears
			}
			if before {
				fake.SetHooks(hook, nil) // dropped before Stripe applied it
			} else {
				fake.SetHooks(nil, hook) // applied at Stripe, the answer lost
			}
			body, _ := json.Marshal(map[string]any{"id": payID, "method": "card", "card": map[string]any{"payment_method": "pm_card_visa"}})
			go func() {
				req, _ := http.NewRequest("POST", p.URL+"/api/v1/orders/"+orderID+"/payments", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tom)
				req.Header.Set("Content-Type", "application/json")
				if res, err := http.DefaultClient.Do(req); err == nil {
					res.Body.Close()
				}
			}()
			select {
			case <-reached:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: the charge never reached Stripe", name)
			}
			p.kill()
			close(release)
			fake.SetHooks(nil, nil)
			p = startProcess(t, env)
			f.s = p.server
			return orderID
		}
		expectOne := func(name, orderID, payID string, charges int) {
			t.Helper()
			ps := p.call("GET", "/api/v1/payments?order_id="+orderID, tom, nil).json(t)["payments"].([]any)
			if len(ps) != 1 || ps[0].(map[string]any)["id"] != payID || ps[0].(map[string]any)["status"] != "captured" {
				t.Fatalf("%s: payments %v, want one, captured", name, ps)
			}
			if got := fake.Charges(); got != charges {
				t.Fatalf("%s: %d charges at Stripe, want %d", name, got, charges)
			}
			if o := p.call("GET", "/api/v1/orders/"+orderID, tom, nil).json(t); o["status"] != "closed" {
				t.Fatalf("%s: check %v", name, o["status"])
			}
		}
		retry := func(name, orderID, payID string) {
			t.Helper()
			r := p.call("POST", "/api/v1/orders/"+orderID+"/payments", tom, map[string]any{"id": payID, "method": "card",
				"card": map[string]any{"payment_method": "pm_card_visa"}})
			if r.Status != 200 || r.json(t)["payment"].(map[string]any)["status"] != "captured" {
				t.Fatalf("%s: retry %d %s", name, r.Status, r.Body)
			}
		}

		// 1. Killed after recording the payment, before Stripe applied the charge.
		id1 := crashAt("before Stripe", "pay_01jdzq3m5d6yq1b4x0kq9w2v71", true)
		if got := fake.Charges(); got != 0 {
			t.Fatalf("a dropped request charged: %d", got)
		}
		retry("before Stripe", id1, "pay_01jdzq3m5d6yq1b4x0kq9w2v71")
		expectOne("before Stripe", id1, "pay_01jdzq3m5d6yq1b4x0kq9w2v71", 1)

		// 2. Killed after Stripe charged, before we recorded it; the retry finds the charge.
		id2 := crashAt("after Stripe", "pay_01jdzq3m5d6yq1b4x0kq9w2v72", false)
		retry("after Stripe", id2, "pay_01jdzq3m5d6yq1b4x0kq9w2v72")
		retry("after Stripe, again", id2, "pay_01jdzq3m5d6yq1b4x0kq9w2v72")
		expectOne("after Stripe", id2, "pay_01jdzq3m5d6yq1b4x0kq9w2v72", 2)

		// 3. The same, but Stripe's webhook arrives before the client retries.
		id3 := crashAt("webhook first", "pay_01jdzq3m5d6yq1b4x0kq9w2v73", false)
		pi := fake.IntentFor("pay_01jdzq3m5d6yq1b4x0kq9w2v73")
		ev := stripeEvent("evt_crash_3", "payment_intent.succeeded", pi["id"].(string), "succeeded", "pay_01jdzq3m5d6yq1b4x0kq9w2v73")
		if w := p.webhook(t, orgID, ev, stripe.SignWebhook(ev, fakeWebhookKey, time.Now())); w.Status != 200 || w.json(t)["applied"] != true {
			t.Fatalf("webhook: %d %s", w.Status, w.Body)
		}
		retry("webhook first", id3, "pay_01jdzq3m5d6yq1b4x0kq9w2v73")
		expectOne("webhook first", id3, "pay_01jdzq3m5d6yq1b4x0kq9w2v73", 3)
	})
}
