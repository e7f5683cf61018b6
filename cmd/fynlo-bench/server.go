package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverProc is a fynlo server this tool spawned.
type serverProc struct {
	URL     string
	Dir     string // temporary directory: data/ and server.log
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
	keep    bool
	started time.Time
}

// findServerBin resolves -server-bin: the flag, else fynlo next to this
// binary, /tmp/fynlo, or fynlo on $PATH.
func findServerBin(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	var candidates []string
	if self, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(self), "fynlo"))
	}
	candidates = append(candidates, "/tmp/fynlo")
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	if p, err := exec.LookPath("fynlo"); err == nil {
		return p, nil
	}
	return "", errors.New("no fynlo binary found next to fynlo-bench, at /tmp/fynlo or on $PATH; " +
		"build one with `go build -o /tmp/fynlo ./cmd/fynlo` or pass -server-bin")
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startServer spawns `bin serve` on a free port with a fresh temporary data
// directory and returns at once; see waitReady. env adds FYNLO_* settings
// (KEY=value) on top of the inherited environment.
func startServer(bin string, env []string, keep bool) (*serverProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fynlo-bench-")
	if err != nil {
		return nil, err
	}
	s := &serverProc{URL: "http://" + addr, Dir: dir, LogPath: filepath.Join(dir, "server.log"),
		done: make(chan struct{}), keep: keep}
	logf, err := os.Create(s.LogPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor

	cmd := exec.Command(bin, "serve")
	cmd.Env = append(inheritedEnv(), env...)
	cmd.Env = append(cmd.Env, "FYNLO_ADDR="+addr, "FYNLO_DATA_DIR="+filepath.Join(dir, "data"))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should this tool die without stopping the server, the kernel does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.cmd = cmd
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()
	return s, nil
}

// inheritedEnv is this process's environment minus the settings the tool
// chooses per server.
func inheritedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FYNLO_ADDR=") || strings.HasPrefix(kv, "FYNLO_DATA_DIR=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// spawnServer starts a server and waits until it is ready.
func spawnServer(ctx context.Context, bin string, env []string, keep bool) (*serverProc, error) {
	s, err := startServer(bin, env, keep)
	if err != nil {
		return nil, err
	}
	if _, err := s.waitReady(ctx, 10*time.Millisecond, 60*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// PID is the server's process ID.
func (s *serverProc) PID() int { return s.cmd.Process.Pid }

// waitReady polls /readyz every interval until it answers 200 and returns
// the time since the process was spawned.
func (s *serverProc) waitReady(ctx context.Context, interval, timeout time.Duration) (time.Duration, error) {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/readyz", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(s.started), nil
			}
		}
		select {
		case <-s.done:
			return 0, fmt.Errorf("server exited before it was ready (%v); log: %s", s.waitErr, s.tailLog())
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(interval):
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("server not ready after %v; log: %s", timeout, s.tailLog())
		}
	}
}

// Exited reports whether the server process has ended (crashed, if we did
// not stop it).
func (s *serverProc) Exited() (bool, error) {
	select {
	case <-s.done:
		return true, s.waitErr
	default:
		return false, nil
	}
}

// Stop sends SIGTERM, waits up to 30 s (then SIGKILL) and removes the
// temporary directory unless asked to keep it. It returns how long the
// server took to exit.
func (s *serverProc) Stop() (time.Duration, error) {
	start := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		err = errors.New("server did not stop within 30s of SIGTERM; killed")
	}
	took := time.Since(start)
	if !s.keep {
		os.RemoveAll(s.Dir)
	}
	return took, err
}

// tailLog returns the last lines of the server's log, for error messages.
func (s *serverProc) tailLog() string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "\n")
}

// procStatusKB reads a "Name:   123 kB" field of /proc/<pid>/status.
func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		num, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
		return strconv.ParseInt(num, 10, 64)
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// procNofile reads the soft open-files limit of a process.
func procNofile(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(strings.TrimPrefix(line, "Max open files"))
			if len(f) >= 2 {
				return f[0] + " (hard " + f[1] + ")"
			}
		}
	}
	return "unknown"
}

// raiseNofile raises this process's open-files limit to at least want if it
// can (a hard limit above the current one needs CAP_SYS_RESOURCE), else to
// the hard limit. Calling Setrlimit also makes children inherit the raised
// limit instead of the one the Go runtime restores for them.
func raiseNofile(want uint64) (syscall.Rlimit, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return lim, err
	}
	if want > lim.Max {
		try := syscall.Rlimit{Cur: want, Max: want}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &try); err == nil {
			return try, nil
		}
	}
	lim.Cur = max(lim.Cur, min(want, lim.Max))
	err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim, err
}
