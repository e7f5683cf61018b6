// Package httpapi is the only package that speaks HTTP: the REST API under
// /api/v1 with its OpenAPI document, the WebSocket event stream, health,
// metrics and the docs page.
//
// Handlers decode, authorise, call one service method and encode; rules
// live in the domain packages. Every error leaves as RFC 9457 problem
// details with a stable code.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/cash"
	"github.com/fynlo/fynlo/internal/event"
	"github.com/fynlo/fynlo/internal/idempotency"
	"github.com/fynlo/fynlo/internal/kitchen"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/tenant"
	"github.com/fynlo/fynlo/internal/wallet"
	"github.com/fynlo/fynlo/internal/web"
)

// Config tunes the HTTP layer.
type Config struct {
	Version           string
	MaxBodyBytes      int64    // request body cap; 413 past it
	CORSOrigins       []string // allowed browser origins; "*" for any
	TrustProxyHeaders bool     // take the client address from X-Forwarded-For
	PlatformAdmins    []string // IDs of the users who may read platform-wide figures
	// PublicURL is this server's address as phones on the network reach
	// it (the sandbox bank's QR links); empty: the address each request
	// came to.
	PublicURL string
	// MetricsToken, when set, is the bearer token /metrics requires;
	// empty, /metrics answers only requests from this machine or a
	// private network that came through no proxy.
	MetricsToken string
}

// Deps are the services the API calls.
type Deps struct {
	Logger      *slog.Logger
	Auth        *auth.Service
	Tenants     *tenant.Service
	Audit       *audit.Service
	Menu        *menu.Service
	Orders      *order.Service
	Kitchen     *kitchen.Service
	Payments    *payment.Service
	SandboxBank *payment.SandboxBank // nil: no sandbox bank pages
	SharedRates SharedRates          // nil: each node limits on its own
	Cash        *cash.Service
	Idempotency *idempotency.Service
	Events      event.Log
	Hub         *event.Hub
	// Ready reports whether the node can serve: database reachable,
	// migrations applied.
	Ready    func(context.Context) error
	Registry *prometheus.Registry
	// Wallet keeps Apple Pay merchant identities; nil leaves its
	// endpoints answering 409.
	Wallet *wallet.Service
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	logger  *slog.Logger
	auth    *auth.Service
	tenants *tenant.Service
	audit   *audit.Service
	menu    *menu.Service
	orders  *order.Service
	kitchen *kitchen.Service
	pay     *payment.Service
	sandbox *payment.SandboxBank
	cash    *cash.Service
	idem    *idempotency.Service
	events  event.Log
	hub     *event.Hub
	ready   func(context.Context) error
	metrics *metrics
	limits  *limiter
	rates   SharedRates
	handler http.Handler
	api     huma.API
	wallet  *wallet.Service

	// stopping is cancelled when the server stops, so WebSockets say goodbye.
	stopping context.Context
	stop     context.CancelFunc
	wsMu     sync.Mutex // guards closing and wsWG.Add against Shutdown's Wait
	closing  bool
	wsWG     sync.WaitGroup
}

// New builds the API.
func New(cfg Config, d Deps) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	s := &Server{cfg: cfg, logger: d.Logger, auth: d.Auth, tenants: d.Tenants, audit: d.Audit, menu: d.Menu, orders: d.Orders, kitchen: d.Kitchen, pay: d.Payments, sandbox: d.SandboxBank, rates: d.SharedRates, cash: d.Cash, idem: d.Idempotency,
		events: d.Events, hub: d.Hub, ready: d.Ready, metrics: newMetrics(d.Registry), limits: newLimiter()}
	s.wallet = d.Wallet
	s.stopping, s.stop = context.WithCancel(context.Background())

	mux := http.NewServeMux()
	hc := huma.DefaultConfig("Fynlo POS API", cfg.Version)
	hc.Info.Description = "The backend that runs restaurants. Errors are RFC 9457 problem details " +
		"(application/problem+json) with a stable `code`. POSTs that create accept an `Idempotency-Key` header: " +
		"a retry with the same key and body gets the first answer back (header `Idempotent-Replayed: true`)."
	hc.CreateHooks = nil // no $schema links in bodies: responses stay plain JSON
	hc.DocsPath = ""     // our own docs page, which works offline
	hc.OpenAPIPath = "/openapi"
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "The access_token from sign-up, login, refresh or PIN sign-in."},
		"device": {Type: "http", Scheme: "bearer", BearerFormat: "dt_...",
			Description: "The device_token a POS device got from pairing."},
	}
	huma.NewErrorWithContext = newHumaError
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		return newHumaError(nil, status, msg, errs...)
	}
	s.api = humago.New(mux, hc)
	s.api.UseMiddleware(s.authFirst)

	s.routeAuth()
	s.routeLocations()
	s.routeEvents()
	s.routeAudit()
	s.routeRoles()
	s.routeEmployees()
	s.routeDevices()
	s.routeAccount()
	s.routeMenu()
	s.routeItems()
	s.routeBatch()
	s.routeModifiers()
	s.routeTables()
	s.routeOrders()
	s.routeKitchen()
	s.routePayments()
	s.routeRefunds()
	s.routeFees()
	s.routeProviders()
	s.routeOpenBanking()
	s.routeApplePay()
	s.routeCash()
	s.routeReports()

	for _, item := range s.api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil || permissionOf(op) == "" {
				continue
			}
			op.Description = strings.TrimSpace(op.Description + "\n\nRequires the permission `" + permissionOf(op) +
				"` (or a manager's approval for it in the Fynlo-Approval header).")
			op.Extensions = map[string]any{"x-permission": permissionOf(op)}
		}
	}

	mux.HandleFunc("GET /api/v1/ws", s.handleWebSocket)
	s.routeSandboxBank(mux)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.guardMetrics(cfg.MetricsToken, promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", web.DocsContentType)
		w.Header().Set("Content-Security-Policy", web.DocsCSP())
		_, _ = w.Write(web.DocsPage())
	})
	mux.HandleFunc("GET /kds", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", web.KDSContentType)
		w.Header().Set("Content-Security-Policy", web.KDSCSP())
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(web.KDSPage())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/docs", http.StatusFound)
			return
		}
		writeProblem(w, r, &Problem{Status: http.StatusNotFound, Code: "no_such_endpoint",
			Detail: r.Method + " " + r.URL.Path + " is not an endpoint of this API; see /docs"})
	})

	s.handler = s.observe(s.cors(s.rateLimit(s.limitBody(s.authenticate(s.idempotent(routed(mux)))))))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// OpenAPI returns the generated OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// Shutdown tells open WebSockets to close and waits for them (or ctx).
func (s *Server) Shutdown(ctx context.Context) {
	s.wsMu.Lock()
	if !s.closing {
		s.closing = true
		s.stop()
	}
	s.wsMu.Unlock()
	done := make(chan struct{})
	go func() { s.wsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// trackStream registers a WebSocket so Shutdown waits for it; it refuses
// once shutdown has begun.
func (s *Server) trackStream() bool {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	if s.closing {
		return false
	}
	s.wsWG.Add(1)
	return true
}

// PublishedEvents lets the wiring count events this node delivered.
func (s *Server) PublishedEvents(events []event.Event) { s.metrics.events.Add(float64(len(events))) }

var (
	bearer       = []map[string][]string{{"bearer": {}}}
	deviceBearer = []map[string][]string{{"device": {}}}
)

// page trims a list read with limit+1 rows to limit and returns the cursor
// of its last item when there is more to read (the zero cursor when not).
func page[T any, C any](items []T, limit int, cursor func(T) C) ([]T, C) {
	var next C
	if len(items) > limit {
		items = items[:limit]
		next = cursor(items[len(items)-1])
	}
	return items, next
}

// needs marks an operation as requiring a permission: authFirst checks it
// before the request body is even read, so a refused caller learns nothing
// about what a valid request looks like, and the reference shows it.
func needs(permission string) map[string]any { return map[string]any{"permission": permission} }

func permissionOf(op *huma.Operation) string {
	p, _ := op.Metadata["permission"].(string)
	return p
}

func needsUserToken(op *huma.Operation) bool {
	for _, req := range op.Security {
		if _, ok := req["bearer"]; ok {
			return true
		}
	}
	return false
}

// authFirst refuses operations that need a token, or a permission, before
// their input is read: the one place where permissions are checked.
func (s *Server) authFirst(hctx huma.Context, next func(huma.Context)) {
	op := hctx.Operation()
	if needsUserToken(op) {
		if screen, _ := op.Metadata["device"].(bool); screen {
			if _, ok := hctx.Context().Value(keyDevice).(*auth.Device); ok {
				next(hctx) // a paired screen, at its own location
				return
			}
		}
		var err error
		if perm := permissionOf(op); perm != "" {
			_, err = s.authorize(hctx.Context(), perm)
		} else {
			_, err = s.requirePrincipal(hctx.Context())
		}
		if err != nil {
			p := problemFor(hctx.Context(), s.logger, err)
			hctx.SetHeader("Content-Type", "application/problem+json")
			hctx.SetHeader("Cache-Control", "no-store")
			hctx.SetStatus(p.Status)
			_ = json.NewEncoder(hctx.BodyWriter()).Encode(p)
			return
		}
	}
	next(hctx)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	s.wsMu.Lock()
	closing := s.closing
	s.wsMu.Unlock()
	if closing {
		// Tell the load balancer to stop sending new work while we drain.
		writeProblem(w, r, &Problem{Status: http.StatusServiceUnavailable, Code: "shutting_down", Detail: "the server is stopping"})
		return
	}
	if err := s.ready(r.Context()); err != nil {
		s.logger.WarnContext(r.Context(), "not ready", "err", err)
		writeProblem(w, r, &Problem{Status: http.StatusServiceUnavailable, Code: "not_ready", Detail: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
}
