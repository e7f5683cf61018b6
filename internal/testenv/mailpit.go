package testenv

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Mailpit starts a throwaway Mailpit (a real SMTP server with an HTTP API
// to read what it received) for t and returns its SMTP address and the
// base URL of its API. It accepts any SMTP credentials. Without the
// mailpit binary (scripts/test installs it with go install) it skips t, or
// fails it when services are required.
func Mailpit(t testing.TB) (smtpAddr, apiURL string) {
	t.Helper()
	bin := findMailpit()
	if bin == "" {
		msg := "testenv: mailpit not found (go install github.com/axllent/mailpit@v1.33.1)"
		if RequireServices() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	smtpAddr, httpAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--smtp", smtpAddr, "--listen", httpAddr, "--database", filepath.Join(dir, "mailpit.db"),
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--disable-version-check")
	log, err := os.Create(filepath.Join(dir, "mailpit.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start mailpit: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
	})
	apiURL = "http://" + httpAddr
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(apiURL + "/api/v1/messages")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return smtpAddr, apiURL
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "mailpit.log"))
			t.Fatalf("testenv: mailpit did not come up: %v\n%s", err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func findMailpit() string {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	if p := filepath.Join(gopath, "bin", "mailpit"); gopath != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}
