package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ceilingCommand is the hidden subcommand that serves the ceiling: the
// fastest a Go net/http server answers a request of the same shape on this
// machine. It runs in its own process, like the real server, so that it has
// its own runtime and scheduler rather than sharing the load generator's.
const ceilingCommand = "ceiling-server"

// ceilingServer serves a fixed JSON body of -body-bytes on every path,
// prints its address on stdout, and exits when stdin closes or on SIGTERM.
func ceilingServer(args []string) error {
	fs := flag.NewFlagSet(ceilingCommand, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	size := fs.Int("body-bytes", 361, "size of the JSON body")
	bodyFile := fs.String("body-file", "", "serve this file's bytes instead of a padded body")
	etag := fs.String("etag", "", "with -body-file: its ETag; a matching If-None-Match gets 304, as fynlo answers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body := fixedJSON(*size)
	if *bodyFile != "" {
		var err error
		if body, err = os.ReadFile(*bodyFile); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// The same timeouts as fynlo's http.Server, so connection handling matches.
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if *etag != "" {
				w.Header().Set("ETag", *etag)
				if r.Header.Get("If-None-Match") == *etag {
					w.WriteHeader(http.StatusNotModified)
					return
				}
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
	}
	go func() { // the parent closes stdin (or dies) to stop us
		_, _ = io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	fmt.Println(l.Addr().String())
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fixedJSON returns a valid JSON object of exactly n bytes (at least 12).
func fixedJSON(n int) []byte {
	const head, tail = `{"pad":"`, `"}`
	pad := max(n-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("x", pad) + tail)
}

// ceilingProc is a running ceiling server.
type ceilingProc struct {
	URL   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// spawnCeiling re-executes this binary as the ceiling server.
func spawnCeiling(ctx context.Context, bodyBytes int) (*ceilingProc, error) {
	return spawnCeilingArgs(ctx, "-body-bytes", fmt.Sprint(bodyBytes))
}

// spawnCeilingArgs starts the ceiling server with these flags.
func spawnCeilingArgs(ctx context.Context, args ...string) (*ceilingProc, error) {
	return spawnSelf(ctx, ceilingCommand, args...)
}

// spawnSelf re-executes this binary as the hidden server command with
// these flags; the command prints its address on stdout when it is ready
// and answers GET / from then on.
func spawnSelf(ctx context.Context, command string, args ...string) (*ceilingProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{command}, args...)...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &ceilingProc{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		c.Stop()
		return nil, fmt.Errorf("ceiling server did not report its address: %w", err)
	}
	c.URL = "http://" + strings.TrimSpace(line)
	// Wait until it answers.
	for i := 0; ; i++ {
		resp, err := http.Get(c.URL + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 || ctx.Err() != nil {
			c.Stop()
			return nil, fmt.Errorf("ceiling server not answering: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c, nil
}

// PID is the ceiling server's process ID.
func (c *ceilingProc) PID() int { return c.cmd.Process.Pid }

// Stop closes the ceiling server's stdin and waits for it to exit.
func (c *ceilingProc) Stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
