package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/fynlo/fynlo/internal/app"
)

// menuCmd runs `fynlo menu import FILE.csv` and `fynlo menu export`.
func menuCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		return errors.New("usage: fynlo menu import [flags] FILE.csv | fynlo menu export [flags] [-o FILE.csv]")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("fynlo menu "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	org := fs.String("org", "", "organization ID; may be left out when the database holds one organization")
	dryRun := fs.Bool("dry-run", false, "check the file and report, writing nothing (import)")
	out := fs.String("o", "", "write to this file instead of standard output (export)")
	cfg, err := app.ParseConfigFlags(fs, args, os.Getenv)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if sub == "export" {
		w := stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		return app.ExportMenu(ctx, cfg, w, *org)
	}

	if fs.NArg() != 1 {
		return errors.New("usage: fynlo menu import [flags] FILE.csv")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	opt := app.ImportOptions{OrgID: *org, DryRun: *dryRun}
	if tty, ok := stderr.(*os.File); ok && term.IsTerminal(int(tty.Fd())) {
		var bar *progressbar.ProgressBar
		opt.Progress = func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("writing"),
					progressbar.OptionShowCount(), progressbar.OptionThrottle(50*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set(done)
		}
	}
	rep, err := app.ImportMenu(ctx, cfg, f, opt)
	if err != nil {
		return err
	}
	if len(rep.Rejected) > 0 {
		for _, r := range rep.Rejected {
			fmt.Fprintln(stdout, r)
		}
		return fmt.Errorf("%d of %d rows rejected; nothing was imported", len(rep.Rejected), rep.Rows)
	}
	verb := "imported"
	if *dryRun {
		verb = "checked (dry run, nothing written)"
	}
	fmt.Fprintf(stdout, "%d rows %s into %s: %d objects created, %d updated, %d unchanged\n", rep.Rows, verb, rep.Organization.Name,
		rep.Result.Created, rep.Result.Updated, rep.Result.Unchanged)
	return nil
}
