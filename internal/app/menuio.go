package app

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/menu/menucsv"
	"github.com/fynlo/fynlo/internal/sqlstore"
	"github.com/fynlo/fynlo/internal/tenant"
)

// MaxImportRows bounds one import: it is one transaction.
const MaxImportRows = 20000

// ImportOptions say what ImportMenu does.
type ImportOptions struct {
	OrgID    string // "" for the only organization on the server
	DryRun   bool   // report, write nothing
	Progress func(done, total int)
}

// ImportReport is what an import did, or why it did nothing.
type ImportReport struct {
	Organization *tenant.Organization
	Rows         int
	Rejected     []menucsv.RowError // when any: nothing was written
	Result       *menu.BatchResult  // when none
}

// ImportMenu reads a menu CSV into an organization's menu, all or nothing.
// Rejected rows are a report, not an error: the error is for a file that
// cannot be read or a database that cannot be reached.
func ImportMenu(ctx context.Context, cfg Config, r io.Reader, opt ImportOptions) (*ImportReport, error) {
	db, org, err := openForMenu(ctx, cfg, opt.OrgID)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	svc := menu.NewService(db, clock)
	cat, err := catalogue(ctx, svc, org, true)
	if err != nil {
		return nil, err
	}
	plan, err := menucsv.Read(r, cat)
	if err != nil {
		return nil, err
	}
	rep := &ImportReport{Organization: org, Rows: plan.Rows}
	if plan.Rows == 0 {
		return nil, fmt.Errorf("the file has a header but no rows")
	}
	if plan.Rows > MaxImportRows {
		return nil, fmt.Errorf("the file has %d rows; one import takes at most %d", plan.Rows, MaxImportRows)
	}
	// With rows already rejected the batch is only checked, so that one
	// run reports every bad row.
	if rep.Rejected, _ = plan.Rejected(nil); len(rep.Rejected) > 0 {
		opt.DryRun = true
	}
	var res *menu.BatchResult
	if plan.Batch.Len() > 0 {
		res, err = svc.ApplyBatch(ctx, org.ID, plan.Batch, menu.BatchOptions{Limit: 2 * MaxImportRows, DryRun: opt.DryRun, Progress: opt.Progress})
	}
	if rep.Rejected, err = plan.Rejected(err); err != nil {
		return nil, err
	}
	if len(rep.Rejected) == 0 {
		rep.Result = res
	}
	return rep, nil
}

// ExportMenu writes an organization's menu as CSV, as ImportMenu reads it.
func ExportMenu(ctx context.Context, cfg Config, w io.Writer, orgID string) error {
	db, org, err := openForMenu(ctx, cfg, orgID)
	if err != nil {
		return err
	}
	defer db.Close()
	cat, err := catalogue(ctx, menu.NewService(db, clock), org, false)
	if err != nil {
		return err
	}
	return menucsv.Write(w, cat)
}

// openForMenu opens the database as the server would and finds the organization.
func openForMenu(ctx context.Context, cfg Config, orgID string) (*sqlstore.DB, *tenant.Organization, error) {
	db, err := sqlstore.Open(ctx, cfg.DatabaseDSN(), sqlstore.Options{MaxConns: 2})
	if err != nil {
		return nil, nil, err
	}
	if n, err := db.PendingMigrations(ctx); err != nil || n > 0 {
		db.Close()
		return nil, nil, fmt.Errorf("the database is not ready (%d migrations pending, %v): run `fynlo migrate` or start the server once", n, err)
	}
	org, err := findOrganization(ctx, db, orgID)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, org, nil
}

func findOrganization(ctx context.Context, db *sqlstore.DB, orgID string) (*tenant.Organization, error) {
	if orgID != "" {
		org, err := db.FindOrganizationByID(ctx, orgID)
		if apperr.Is(err, apperr.NotFound) {
			return nil, fmt.Errorf("no organization %s on this database", orgID)
		}
		return org, err
	}
	orgs, err := db.FindOrganizations(ctx, 6)
	if err != nil {
		return nil, err
	}
	switch len(orgs) {
	case 0:
		return nil, fmt.Errorf("no organization yet: sign up first (or start the server with -demo)")
	case 1:
		return orgs[0], nil
	}
	var names []string
	for _, o := range orgs[:min(len(orgs), 5)] {
		names = append(names, o.ID+" ("+o.Name+")")
	}
	return nil, fmt.Errorf("this database holds several organizations; choose one with -org: %s", strings.Join(names, ", "))
}

// catalogue loads an organization's menu as a file is read against it
// (archived items too, which a row may bring back by ID) or written.
func catalogue(ctx context.Context, svc *menu.Service, org *tenant.Organization, archived bool) (*menucsv.Catalogue, error) {
	cat := &menucsv.Catalogue{Currency: org.Currency}
	var err error
	if cat.TaxCategories, err = svc.TaxCategories(ctx, org.ID); err != nil {
		return nil, err
	}
	if cat.Categories, err = svc.Categories(ctx, org.ID); err != nil {
		return nil, err
	}
	if cat.ModifierGroups, err = svc.ModifierGroups(ctx, org.ID); err != nil {
		return nil, err
	}
	for after := ""; ; {
		page, err := svc.Items(ctx, org.ID, menu.ItemFilter{After: after, Limit: 500, Archived: archived})
		if err != nil {
			return nil, err
		}
		cat.Items = append(cat.Items, page...)
		if len(page) < 500 {
			return cat, nil
		}
		after = page[len(page)-1].ID
	}
}
