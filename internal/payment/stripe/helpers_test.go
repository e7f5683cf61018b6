package stripe

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

const testKey = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

// exchange is one HTTP attempt as it went over the wire.
type exchange struct {
	Method, Path   string
	Header         http.Header
	Form           url.Values
	Status         int
	ResponseBody   []byte
	TransportError error
}

// recorder is a RoundTripper in front of the real transport that keeps
// every attempt: what the SDK sent, what came back.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchange{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone()}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		ex.Form, _ = url.ParseQuery(string(b))
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	base := r.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	ex.TransportError = err
	if resp != nil {
		ex.Status = resp.StatusCode
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		ex.ResponseBody = b
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	r.mu.Lock()
	r.log = append(r.log, ex)
	r.mu.Unlock()
	return resp, err
}

func (r *recorder) all() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.log...)
}

// last returns the last attempt, failing t if there was none.
func (r *recorder) last(t *testing.T) exchange {
	t.Helper()
	all := r.all()
	if len(all) == 0 {
		t.Fatal("no request reached the transport")
	}
	return all[len(all)-1]
}

// newTestProvider returns a provider talking to base through a recorder,
// with the SDK's retry back-off off.
func newTestProvider(t *testing.T, base string, key string, transport http.RoundTripper) (*Provider, *recorder) {
	t.Helper()
	rec := &recorder{base: transport}
	p, err := New(Config{SecretKey: key, APIBase: base, HTTPClient: &http.Client{Transport: rec}, fastRetries: true})
	if err != nil {
		t.Fatal(err)
	}
	return p, rec
}
