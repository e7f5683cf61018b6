package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a throwaway redis-server on a Unix socket in a temporary
// directory (no port to collide with). It keeps nothing on disk: a restart
// comes back empty, as after a crash.
type RedisServer struct {
	URL  string // unix://…
	bin  string
	dir  string
	sock string

	mu     sync.Mutex
	cmd    *exec.Cmd
	cancel context.CancelFunc
}

// Redis starts a RedisServer for t, stopped when t ends. Without
// redis-server the test is skipped, or fails when services are required
// (see RequireServices).
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if !RequireServices() {
			t.Skipf("testenv: redis-server not available, skipping (set %s=1 to fail instead)", EnvRequireServices)
		}
		t.Fatalf("testenv: redis-server not found: %v", err)
	}
	// Unix socket paths are limited to about 100 bytes: keep it short.
	dir, err := os.MkdirTemp("", "fynlo-redis-")
	if err != nil {
		t.Fatal(err)
	}
	r := &RedisServer{bin: bin, dir: dir, sock: filepath.Join(dir, "redis.sock")}
	r.URL = "unix://" + r.sock
	t.Cleanup(func() {
		r.Stop()
		os.RemoveAll(dir)
	})
	r.Start(t)
	return r
}

// Start starts the server (again) and waits until it answers.
func (r *RedisServer) Start(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, r.bin, "--port", "0", "--unixsocket", r.sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--loglevel", "warning")
	logFile, err := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A test binary killed by its timeout runs no cleanup: the server
	// dies with it rather than linger.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("testenv: start redis-server: %v", err)
	}
	r.cmd, r.cancel = cmd, cancel
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("unix", r.sock, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("testenv: redis-server did not come up: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server, as a crash would.
func (r *RedisServer) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cancel()
	_ = r.cmd.Wait()
	os.Remove(r.sock)
	r.cmd = nil
}
