package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/auth"
)

type ctxKey int

const (
	keyInfo ctxKey = iota
	keyPrincipal
	keyAuthErr
	keyDevice
)

// reqInfo is what the outermost middleware learns about a request, shared
// by pointer so the innermost (the router) can fill in the route.
type reqInfo struct {
	id, path, ip string
	route        string // the ServeMux pattern that matched
	org, user    string // the caller, once authenticated
	approval     string // a manager's approval token sent with the request
	base         string // this server's address as the request reached it: scheme://host
	header       http.Header
}

func info(ctx context.Context) *reqInfo {
	if i, ok := ctx.Value(keyInfo).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

func requestID(ctx context.Context) string { return info(ctx).id }
func clientIP(ctx context.Context) string  { return info(ctx).ip }

// routed wraps the ServeMux to record which pattern served the request;
// ServeMux sets Pattern on the request it is handed.
func routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		info(r.Context()).route = r.Pattern
	})
}

// statusWriter remembers the status a handler wrote and, when capture is
// set, keeps a copy of the body (for idempotent replays).
type statusWriter struct {
	http.ResponseWriter
	status  int
	bytes   int
	capture *bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.capture != nil {
		w.capture.Write(b)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (WebSocket hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metrics are the HTTP server's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	wsConns  prometheus.Gauge
	events   prometheus.Counter
	payments *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fynlo_http_requests_total",
			Help: "HTTP requests by route pattern, method and status."}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fynlo_http_request_duration_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
			[]string{"route"}),
		wsConns: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fynlo_websocket_connections",
			Help: "Open WebSocket connections."}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "fynlo_events_published_total",
			Help: "Events published to live subscribers by this node."}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fynlo_payments_total",
			Help: "Payment requests answered by this node, by method, provider and the status they left the payment in " +
				"(pay, capture, cancel, and webhooks that changed one)."}, []string{"method", "provider", "status"}),
	}
	reg.MustRegister(m.requests, m.duration, m.wsConns, m.events, m.payments)
	return m
}

// observe gives each request an ID, recovers panics into a 500 problem,
// logs it once and counts it.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if rid == "" || len(rid) > 64 || strings.ContainsFunc(rid, func(c rune) bool { return c < '!' || c > '~' }) {
			rid = newRequestID()
		}
		w.Header().Set("X-Request-Id", rid)
		ri := &reqInfo{id: rid, path: r.URL.Path, ip: s.clientAddr(r), approval: r.Header.Get(auth.ApprovalHeader), base: s.baseURL(r), header: r.Header}
		ctx := context.WithValue(r.Context(), keyInfo, ri)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.ErrorContext(ctx, "panic", "request_id", rid, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeProblem(sw, r, &Problem{Status: http.StatusInternalServerError, Code: "internal",
						Detail: "something went wrong on our side; it has been logged"})
				}
			}
			route := ri.route
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			if s.logger.Enabled(ctx, level) {
				attrs := []slog.Attr{slog.String("request_id", rid), slog.String("method", r.Method),
					slog.String("path", r.URL.Path), slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
					slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000), slog.String("ip", ri.ip)}
				if ri.org != "" {
					attrs = append(attrs, slog.String("org", ri.org), slog.String("user", ri.user))
				}
				s.logger.LogAttrs(ctx, level, "request", attrs...)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}

// clientAddr is the address login throttling counts against.
// baseURL is the address phones should use to reach this server: the
// configured public URL, else the scheme and host the request came to.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || (s.cfg.TrustProxyHeaders && r.Header.Get("X-Forwarded-Proto") == "https") {
		scheme = "https"
	}
	host := r.Host
	if host == "" || strings.ContainsAny(host, "/\\ @?#") {
		host = "localhost"
	}
	return scheme + "://" + host
}

func (s *Server) clientAddr(r *http.Request) string {
	if s.cfg.TrustProxyHeaders {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate reads a bearer token, if any, and puts the principal (or
// the reason it was refused) in the context. Handlers decide whether they
// need one; see requirePrincipal.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if strings.HasPrefix(token, auth.DeviceTokenPrefix) {
			// A device credential: checked against the database on every
			// use, so revoking a device stops it at once.
			d, err := s.auth.AuthenticateDevice(ctx, token)
			if err != nil {
				ctx = context.WithValue(ctx, keyAuthErr, err)
			} else {
				ctx = context.WithValue(ctx, keyDevice, d)
				ctx = audit.WithActor(ctx, audit.Actor{ID: d.ID, LocationID: d.LocationID})
				ri := info(ctx)
				ri.org, ri.user = d.OrgID, d.ID
			}
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		p, err := s.auth.Authenticate(token)
		if err == nil {
			err = s.auth.CheckStaffDevice(ctx, p)
		}
		if err != nil {
			ctx = context.WithValue(ctx, keyAuthErr, err)
		} else {
			ctx = context.WithValue(ctx, keyPrincipal, p)
			ctx = audit.WithActor(ctx, audit.Actor{ID: p.UserID})
			ri := info(ctx)
			ri.org, ri.user = p.OrgID, p.UserID
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", true // present but malformed: authenticate refuses it
	}
	return strings.TrimSpace(token), true
}

var errNoToken = &Problem{Status: http.StatusUnauthorized, Code: "unauthenticated",
	Detail: "sign in and send the access token as 'Authorization: Bearer <token>'"}

// requirePrincipal returns the caller, or the problem to answer with.
func (s *Server) requirePrincipal(ctx context.Context) (auth.Principal, error) {
	if p, ok := ctx.Value(keyPrincipal).(auth.Principal); ok {
		return p, nil
	}
	if err, ok := ctx.Value(keyAuthErr).(error); ok {
		return auth.Principal{}, problemFor(ctx, s.logger, err)
	}
	p := *errNoToken
	return auth.Principal{}, finish(ctx, &p)
}

// requireDevice returns the paired device calling, or the problem to answer with.
func (s *Server) requireDevice(ctx context.Context) (*auth.Device, error) {
	if d, ok := ctx.Value(keyDevice).(*auth.Device); ok {
		return d, nil
	}
	if err, ok := ctx.Value(keyAuthErr).(error); ok {
		return nil, problemFor(ctx, s.logger, err)
	}
	return nil, finish(ctx, &Problem{Status: http.StatusUnauthorized, Code: "unauthenticated",
		Detail: "send the device token from pairing as 'Authorization: Bearer dt_...'"})
}

// authorize returns the caller if their role grants perm: the one place
// where permissions are checked. The decision is the server's, made from
// the role as it is now, not from anything the token claims it may do.
func (s *Server) authorize(ctx context.Context, perm string) (auth.Principal, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return p, err
	}
	if _, err := s.auth.Authorize(ctx, p, perm, info(ctx).approval); err != nil {
		return p, problemFor(ctx, s.logger, err)
	}
	return p, nil
}

// cors answers preflights and marks responses for the configured origins.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 {
		return next
	}
	allowed := map[string]bool{}
	for _, o := range s.cfg.CORSOrigins {
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (allowed["*"] || allowed[origin]) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, Idempotent-Replayed, Retry-After, Location")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, X-Request-Id, "+auth.ApprovalHeader)
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody caps every request body; huma and the idempotency layer read
// through the cap and answer 413 past it.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeProblem(w, r, &Problem{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Detail: fmt.Sprintf("the request body is over the limit of %d bytes", s.cfg.MaxBodyBytes)})
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}
