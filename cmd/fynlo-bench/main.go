// Command fynlo-bench drives load at a Fynlo server and reports what it
// measured. It is a development tool: everything runs on one machine and
// all traffic goes to 127.0.0.1.
//
// Usage:
//
//	fynlo-bench <scenario> [flags]
//	fynlo-bench list            list the scenarios
//	fynlo-bench <scenario> -h   a scenario's flags
//
// Scenarios:
//
//	me         GET /api/v1/me with -c keep-alive connections for -d, against a
//	           bare net/http "ceiling" server in the same run; login latency too
//	ws-fanout  -clients live WebSockets: memory per idle connection and the
//	           time from POST /api/v1/locations to every client seeing the event
//	startup    spawn `fynlo serve` -n times on a fresh data directory and time
//	           spawn → /readyz 200
//	pin        pair devices and time PIN sign-ins
//	menu       the demo restaurant's menu (spawned with FYNLO_DEMO=true): the
//	           whole document and the 304 path, each against a ceiling serving
//	           the same bytes; the time from an 86 to the stream and the menu
//	checks     the demo restaurant's checks: open one with 3 lines and send it
//	           to the kitchen, -c clients, against a ceiling writing the same
//	           rows with plain SQL on the same engine; the time from each send
//	           to its tickets on a kitchen screen's WebSocket
//	payments   payments that each close a check, on checks opened untimed
//	           before each phase: cash at -c clients, then a card through
//	           the simulated provider at -c clients and at one
//	friday     Friday night on the platform: -restaurants organizations signed
//	           up through the API, -ipads iPads each in a closed loop (open
//	           with send: true, add a line, send, pay cash then card), a
//	           kitchen screen per restaurant bumping tickets, menu reloads,
//	           -screens idle screens timing the fan-out; -nodes 3 runs three
//	           servers on one PostgreSQL joined by a throwaway redis-server
//
// Scenarios that talk to a server take -url. With -url empty (the default)
// the tool spawns the fynlo binary named by -server-bin (default: "fynlo"
// next to this binary, then /tmp/fynlo, then $PATH) on a free loopback port
// with a fresh temporary data directory, waits for /readyz, and stops it
// (SIGTERM) at the end. The spawned server inherits FYNLO_* variables from
// the environment (so FYNLO_LOG_LEVEL=warn fynlo-bench me measures without
// request logs), except the address and data directory, which the tool
// chooses; its log goes to a file in the temporary directory. Build it
// first:
//
//	go build -o /tmp/fynlo ./cmd/fynlo
//	go build -o /tmp/fynlo-bench ./cmd/fynlo-bench
//	/tmp/fynlo-bench me -rounds 3
//
// With -url, -server-pid names the server's process so that its memory and
// CPU time can still be read from /proc.
//
// Results are human-readable text on stdout. With -json the text goes to
// stderr and stdout gets one JSON document summarising the run.
//
// The client runs on the same machine as the server and competes with it
// for CPU: treat the numbers as a comparison (fynlo against the ceiling,
// one build against another), not as what the server does on its own cores.
// To make a busy machine visible, load phases report where the CPU went
// (server, this tool, everything else) from /proc.
//
// Adding a scenario: write a func(*flag.FlagSet, *common) runFunc that
// registers the scenario's flags and returns the function that runs it, and
// add it to the scenarios map below.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
)

// runFunc runs a scenario whose flags have been parsed. It returns the
// summary that -json prints.
type runFunc func(ctx context.Context) (any, error)

// scenario is one named benchmark.
type scenario struct {
	summary string
	// setup registers the scenario's flags on fs and returns its runner.
	setup func(fs *flag.FlagSet, c *common) runFunc
}

var scenarios = map[string]scenario{
	"me": {
		summary: "GET /api/v1/me throughput and latency against a bare net/http ceiling; login latency",
		setup:   setupMe,
	},
	"ws-fanout": {
		summary: "memory per idle WebSocket and event fan-out latency to many live clients",
		setup:   setupWSFanout,
	},
	"startup": {
		summary: "time from spawning `fynlo serve` to /readyz answering 200",
		setup:   setupStartup,
	},
	"menu": {
		summary: "the demo restaurant's whole menu and its 304 against a ceiling serving the same bytes; how fast a change shows",
		setup:   setupMenu,
	},
	"checks": {
		summary: "open a check with 3 lines and send it to the kitchen, against a plain-SQL ceiling writing the same rows; ticket latency",
		setup:   setupChecks,
	},
	"pin": {
		summary: "PIN sign-in latency on paired devices (keyed hash, attempt counter, audit entry)",
		setup:   setupPIN,
	},
	"payments": {
		summary: "cash and card (simulated provider) payments that each close a check: throughput, latency at -c clients and at one",
		setup:   setupPayments,
	},
	"friday": {
		summary: "Friday night: N restaurants × M iPads opening, adding to, sending and paying checks, kitchen screens bumping, menus reloading, idle screens; 1 or 3 nodes",
		setup:   setupFriday,
	},
	"openbanking": {summary: "QR payments on the sandbox bank: creation latency at 1 and -c clients; approval to the POS stream", setup: setupOpenBanking},
}

// common holds the flags every scenario shares and where text output goes.
type common struct {
	url         string // a running server; empty spawns one
	serverPID   int    // with url: its process, for memory and CPU readings
	serverBin   string
	logLevel    string // FYNLO_LOG_LEVEL for a spawned server; empty inherits
	databaseURL string // FYNLO_DATABASE_URL for a spawned server; empty is SQLite
	json        bool
	keep        bool // keep spawned servers' temporary directories

	out io.Writer // human-readable results
}

func (c *common) register(fs *flag.FlagSet, target bool) {
	if target {
		fs.StringVar(&c.url, "url", "", "base URL of a running server, e.g. http://127.0.0.1:8080; empty spawns -server-bin")
		fs.IntVar(&c.serverPID, "server-pid", 0, "with -url: the server's process ID, so its memory and CPU can be read")
		fs.StringVar(&c.logLevel, "log-level", "", "FYNLO_LOG_LEVEL for the spawned server (empty: inherit, i.e. the server default info)")
	}
	fs.StringVar(&c.serverBin, "server-bin", "", "fynlo binary to spawn (default: fynlo next to this binary, /tmp/fynlo, or on $PATH)")
	fs.StringVar(&c.databaseURL, "database-url", "", "postgres:// URL for spawned servers; empty runs them on SQLite in a temporary directory")
	fs.BoolVar(&c.json, "json", false, "print a JSON summary on stdout (the text report then goes to stderr)")
	fs.BoolVar(&c.keep, "keep", false, "keep the spawned server's temporary directory (data and log)")
}

func (c *common) printf(format string, args ...any) { fmt.Fprintf(c.out, format, args...) }

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "fynlo-bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || args[0] == "list" || args[0] == "-h" || args[0] == "help" {
		usage(os.Stdout)
		return nil
	}
	name, args := args[0], args[1:]
	switch name { // hidden: the ceiling servers scenarios re-exec
	case ceilingCommand:
		return ceilingServer(args)
	case checkCeilingCommand:
		return checkCeilingServer(args)
	}
	sc, ok := scenarios[name]
	if !ok {
		usage(os.Stderr)
		return fmt.Errorf("unknown scenario %q", name)
	}
	fs := flag.NewFlagSet("fynlo-bench "+name, flag.ContinueOnError)
	c := &common{out: os.Stdout}
	runner := sc.setup(fs, c)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.json {
		c.out = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	summary, err := runner(ctx)
	if err != nil {
		return err
	}
	if c.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"scenario": name, "result": summary})
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: fynlo-bench <scenario> [flags]   (fynlo-bench <scenario> -h for its flags)")
	fmt.Fprintln(w, "scenarios:")
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, scenarios[n].summary)
	}
}
