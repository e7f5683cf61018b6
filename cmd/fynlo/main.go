// Command fynlo runs the Fynlo POS backend.
//
//	fynlo [serve] [flags]   run the server (the default)
//	fynlo migrate [flags]   apply database migrations and exit
//	fynlo menu import FILE  import a menu CSV, all rows or none
//	fynlo menu export       write the menu as CSV
//	fynlo version           print the version
//
// Every flag has a FYNLO_* environment variable; `fynlo serve -h` lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // location timezones validate on machines without a zoneinfo database

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/sqlstore"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "fynlo:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args)
	case "migrate":
		return migrate(args)
	case "menu":
		return menuCmd(args, os.Stdout, os.Stderr)
	case "version":
		fmt.Println("fynlo", app.Version)
		return nil
	case "config":
		fmt.Print(app.ConfigTable())
		return nil
	default:
		return fmt.Errorf("unknown command %q (want serve, migrate, menu or version)", cmd)
	}
}

func serve(args []string) error {
	cfg, err := app.ParseConfig("fynlo serve", args, os.Getenv)
	if err != nil {
		return err
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
		fmt.Printf("\n%sOpen http://%s/docs for the API.\n\n", a.Demo, displayAddr(l.Addr()))
	}
	return a.Serve(ctx, l)
}

func migrate(args []string) error {
	cfg, err := app.ParseConfig("fynlo migrate", args, os.Getenv)
	if err != nil {
		return err
	}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, cfg.DatabaseDSN(), sqlstore.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("applied %d migrations on %s %v\n", len(applied), db.Engine(), applied)
	return nil
}

// displayAddr is the address to type in a browser: the unspecified
// address of ":8080" becomes localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
