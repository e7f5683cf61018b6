// Command fynlo-profile is `fynlo serve` with Go's profilers switched on:
// a development aid for measuring with cmd/fynlo-bench, never for
// production. It runs the very server code `fynlo serve` runs (the same
// internal/app wiring, flags and FYNLO_* settings) and adds, from its own
// environment variables:
//
//	FYNLO_PROFILE_CPU=FILE      write a CPU profile of the whole run to FILE
//	                            (on SIGTERM, after the server has stopped)
//	FYNLO_PPROF_ADDR=HOST:PORT  serve net/http/pprof there, e.g. to take
//	                            /debug/pprof/profile?seconds=10 of one phase
//	FYNLO_PROFILE_BLOCK=1       record blocking and mutex contention too
//	                            (read them from /debug/pprof/block and /mutex)
//
// Use it in place of the server binary:
//
//	go build -o /tmp/fynlo-profile ./cmd/fynlo-profile
//	FYNLO_PROFILE_CPU=/tmp/cpu.pprof fynlo-bench checks -server-bin /tmp/fynlo-profile -rounds 1 -d 30s
//	go tool pprof -top /tmp/fynlo-profile /tmp/cpu.pprof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on the default mux, served only on FYNLO_PPROF_ADDR
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	_ "time/tzdata"

	"github.com/fynlo/fynlo/internal/app"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "fynlo-profile:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	cfg, err := app.ParseConfig("fynlo-profile serve", args, os.Getenv)
	if err != nil {
		return err
	}
	if os.Getenv("FYNLO_PROFILE_BLOCK") != "" {
		runtime.SetBlockProfileRate(10_000) // one sample per 10 µs blocked
		runtime.SetMutexProfileFraction(10)
	}
	if path := os.Getenv("FYNLO_PROFILE_CPU"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if addr := os.Getenv("FYNLO_PPROF_ADDR"); addr != "" {
		pl, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		go func() { _ = http.Serve(pl, http.DefaultServeMux) }()
	}

	logger := app.NewLogger(os.Stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if a.Demo != nil {
		fmt.Printf("\n%s\n", a.Demo)
	}
	return a.Serve(ctx, l)
}
