package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
)

// guardMetrics keeps /metrics from the open internet: its counts (routes,
// payments by method, connections) describe the business behind the
// server. With a token, a scraper must present it; without one, only a
// request from this machine or a private network that came through no
// proxy is answered — a load balancer in front would otherwise hand the
// page to anyone, from its own private address.
func (s *Server) guardMetrics(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, _ := bearerToken(r)
			sum := sha256.Sum256([]byte(got))
			if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				writeProblem(w, r, &Problem{Status: http.StatusUnauthorized, Code: "metrics_token_required",
					Detail: "/metrics needs the bearer token set in FYNLO_METRICS_TOKEN"})
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !fromPrivatePeer(r) {
			writeProblem(w, r, &Problem{Status: http.StatusForbidden, Code: "metrics_private",
				Detail: "/metrics answers this machine and private networks only; set FYNLO_METRICS_TOKEN to scrape it from elsewhere"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fromPrivatePeer reports whether r came straight from a loopback or
// private address, with no proxy's forwarding header.
func fromPrivatePeer(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast()
}
