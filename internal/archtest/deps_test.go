package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/fynlo/fynlo/"

// domainRank orders the domains: a domain may import only domains of a
// lower rank (DESIGN.md: tenant, auth, menu → order → kitchen, payment →
// cash). A new domain must be placed here before its package builds a test.
var domainRank = map[string]int{
	"tenant": 0, "idempotency": 0,
	"auth": 1, "menu": 1, "staff": 1, "customer": 1,
	"order":   2,
	"kitchen": 3, "payment": 3,
	"cash":   4,
	"wallet": 4, // Apple Pay merchant identities; implements payment.ApplePayTokens
	"report": 5, "sync": 5,
	"demo":   6, // seed data: the demo restaurant
	"notify": 0, // the outbox every domain may write to
}

// leaf packages import only the standard library.
var leaf = map[string]bool{"money": true, "apperr": true, "event": true, "audit": true, "secret": true, "netcall": true}

// shared packages are small tools any package may use (id wraps a ULID
// library, so it is not a leaf).
var shared = map[string]bool{"id": true}

// adapters speak to the outside world; they import domains, never each other.
var adapters = map[string]bool{"sqlstore": true, "httpapi": true, "redisbus": true}

// forbiddenInDomains are the transports, drivers and SDKs domains must not touch.
var forbiddenInDomains = []string{"net/http", "database/sql", "github.com/jackc/", "modernc.org/",
	"github.com/stripe/", "github.com/danielgtaylor/huma", "github.com/coder/websocket", "github.com/prometheus/",
	"github.com/redis/"}

// notProduction are packages outside the rules: test helpers and the
// embedded web assets.
var notProduction = map[string]bool{"testenv": true, "archtest": true, "web": true, "payment/applepay/aptest": true}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

func listPackages(t *testing.T) (map[string]pkg, map[string]bool) {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "-deps", "github.com/fynlo/fynlo/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	all := map[string]pkg{}
	std := map[string]bool{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		all[p.ImportPath] = p
		if p.Standard {
			std[p.ImportPath] = true
		}
	}
	return all, std
}

// short names internal packages: "internal/payment/stripe" → "payment/stripe".
func short(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, module+"internal/")
	return rest, ok
}

func TestDependencyRules(t *testing.T) {
	all, std := listPackages(t)
	for path, p := range all {
		name, internal := short(path)
		if !internal || notProduction[name] {
			continue
		}
		top, sub, _ := strings.Cut(name, "/")
		switch {
		case shared[name]:
			// Checked only as a dependency of others.
		case leaf[name]:
			for _, d := range p.Deps {
				if !std[d] {
					t.Errorf("%s must import only the standard library, but depends on %s", name, d)
				}
			}
		case name == "app":
			// The wiring imports everything.
		case adapters[name] || sub != "":
			// sqlstore, httpapi and provider adapters (payment/stripe, ...)
			// import domains but never each other.
			for _, imp := range p.Imports {
				other, ok := short(imp)
				if !ok || other == name {
					continue
				}
				if adapters[other] || strings.Contains(other, "/") || other == "app" {
					t.Errorf("adapter %s imports adapter %s", name, other)
				}
			}
		default:
			rank, known := domainRank[top]
			if !known {
				t.Errorf("package internal/%s is not in archtest's domainRank: place it in the domain order", name)
				continue
			}
			for _, imp := range p.Imports {
				for _, f := range forbiddenInDomains {
					if imp == f || strings.HasPrefix(imp, f) {
						t.Errorf("domain %s imports %s; only adapters may", name, imp)
					}
				}
				other, ok := short(imp)
				if !ok || leaf[other] || shared[other] {
					continue
				}
				if adapters[other] || other == "app" {
					t.Errorf("domain %s imports %s", name, other)
				}
				if r, ok := domainRank[other]; ok && r >= rank {
					t.Errorf("domain %s (rank %d) imports %s (rank %d): domains import only upstream domains; react to events instead", name, rank, other, r)
				}
			}
		}
	}
	// Only the commands import the wiring.
	for path, p := range all {
		for _, imp := range p.Imports {
			if imp == module+"internal/app" && !strings.HasPrefix(path, module+"cmd/") {
				t.Errorf("%s imports internal/app; only cmd/ may", path)
			}
		}
	}
}
