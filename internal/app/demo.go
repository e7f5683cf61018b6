package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/cash"
	"github.com/fynlo/fynlo/internal/demo"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/kitchen"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/tenant"
)

// The demo restaurant's sign-ins, documented in the README. Only -demo
// ever creates them.
const (
	DemoEmail    = "demo@fynlo.test"
	DemoPassword = "fynlo-demo"
)

// demoStaff are the demo's employees and their PINs.
var demoStaff = []struct{ name, job, role, pin string }{
	{"Maya Patel", "General manager", auth.RoleManager, "1111"},
	{"Tom Hughes", "Server", auth.RoleServer, "2222"},
	{"Aisha Khan", "Server", auth.RoleServer, "3333"},
}

// DemoInfo is how to try the demo restaurant.
type DemoInfo struct {
	Seeded         bool // false when it was there already
	OrganizationID string
	LocationID     string
	DeviceToken    string // only when Seeded: its hash is all that is kept
	DeviceFile     string // where DeviceToken was written
}

// String is the note printed at start.
func (d *DemoInfo) String() string {
	s := fmt.Sprintf("Demo restaurant %s: sign in as %s / %s (location %s).\n", map[bool]string{true: "created", false: "ready"}[d.Seeded],
		DemoEmail, DemoPassword, d.LocationID)
	s += "Staff PINs on the demo iPad: manager 1111 (Maya), servers 2222 (Tom) and 3333 (Aisha).\n"
	if d.DeviceFile != "" {
		s += "The demo iPad's device token is in " + d.DeviceFile + ": PIN sign-in is POST /api/v1/auth/pin with it as the Bearer token.\n"
	}
	return s
}

// seedDemo creates what is missing of the demo restaurant, step by step,
// so a start that crashed half-way finishes it next time.
func seedDemo(ctx context.Context, cfg Config, a *App, authSvc *auth.Service, tenants *tenant.Service, menuSvc *menu.Service,
	orders *order.Service, kitchenSvc *kitchen.Service) (*DemoInfo, error) {
	info := &DemoInfo{}
	user, _, err := a.DB.FindCredentials(ctx, DemoEmail)
	switch {
	case apperr.Is(err, apperr.NotFound):
		res, err := authSvc.Signup(ctx, auth.SignupInput{BusinessName: "The Fynlo Arms", OwnerName: "Demo Owner", Email: DemoEmail,
			Password: DemoPassword, Country: "GB", Currency: "GBP", Timezone: "Europe/London"})
		if err != nil {
			return nil, fmt.Errorf("demo sign-up: %w", err)
		}
		info.Seeded, info.OrganizationID = true, res.Organization.ID
	case err != nil:
		return nil, err
	default:
		info.OrganizationID = user.OrgID
	}
	org := info.OrganizationID
	locs, err := tenants.Locations(ctx, org, tenant.LocationFilter{Limit: 1})
	if err != nil || len(locs) == 0 {
		return nil, fmt.Errorf("demo location: %v", err)
	}
	info.LocationID = locs[0].ID
	here := func(id string) bool { return id == info.LocationID }

	if cats, err := menuSvc.Categories(ctx, org); err != nil {
		return nil, err
	} else if len(cats) == 0 {
		info.Seeded = true
		if _, err := menuSvc.ApplyBatch(ctx, org, demo.Menu(), menu.BatchOptions{}); err != nil {
			return nil, fmt.Errorf("demo menu: %w", err)
		}
	}
	for _, s := range demoStaff {
		if found, err := authSvc.Employees(ctx, auth.Principal{OrgID: org}, auth.EmployeeFilter{Search: s.name, Limit: 1}); err != nil {
			return nil, err
		} else if len(found) > 0 {
			continue
		}
		info.Seeded = true
		if _, err := authSvc.CreateEmployee(ctx, auth.Principal{OrgID: org}, auth.EmployeeInput{Name: s.name, JobTitle: s.job, PIN: s.pin,
			Roles: []auth.LocationRole{{LocationID: info.LocationID, RoleID: s.role}}}, here); err != nil {
			return nil, fmt.Errorf("demo staff: %w", err)
		}
	}
	if sts, err := kitchenSvc.Stations(ctx, org, info.LocationID); err != nil {
		return nil, err
	} else if len(sts) == 0 {
		info.Seeded = true
		for _, st := range demoStations {
			if _, err := kitchenSvc.CreateStation(ctx, org, kitchen.StationInput{LocationID: info.LocationID, Key: st[0], Name: st[1],
				Default: st[0] == "grill"}); err != nil {
				return nil, fmt.Errorf("demo station: %w", err)
			}
		}
	}
	if ts, err := orders.Tables(ctx, org, info.LocationID, true); err != nil {
		return nil, err
	} else if len(ts) == 0 {
		info.Seeded = true
		for i, t := range demoTables() {
			if _, err := orders.CreateTable(ctx, org, order.TableInput{LocationID: info.LocationID, Area: t.area, Name: t.name,
				Seats: t.seats, Position: i}); err != nil {
				return nil, fmt.Errorf("demo table: %w", err)
			}
		}
	}
	if ds, err := a.DB.FindDrawers(ctx, org, info.LocationID); err != nil {
		return nil, err
	} else if len(ds) == 0 {
		info.Seeded = true
		now := clock().UTC()
		if err := a.DB.CreateDrawer(ctx, &cash.Drawer{ID: id.New(id.Drawer), OrgID: org, LocationID: info.LocationID, Name: "Front till",
			Version: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
			return nil, fmt.Errorf("demo drawer: %w", err)
		}
	}
	// The device token is kept only as a hash: without its file (a first
	// start, or one that crashed before writing it) the demo pairs a new iPad.
	if tokenFile := filepath.Join(cfg.DataDir, "demo-device-token"); fileExists(tokenFile) {
		info.DeviceFile = tokenFile
	} else {
		info.Seeded = true
		pairing, err := authSvc.RegisterDevice(ctx, auth.Principal{OrgID: org}, info.LocationID, "Demo iPad", here)
		if err != nil {
			return nil, fmt.Errorf("demo device: %w", err)
		}
		dt, err := authSvc.PairDevice(ctx, pairing.Code, "127.0.0.1")
		if err != nil {
			return nil, fmt.Errorf("demo device: %w", err)
		}
		info.DeviceToken = dt.Token
		info.DeviceFile = filepath.Join(cfg.DataDir, "demo-device-token")
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(info.DeviceFile, []byte(dt.Token+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// demoStations are the kitchen stations the demo menu's items name.
var demoStations = [][2]string{{"grill", "Grill"}, {"fryer", "Fryer"}, {"cold", "Cold section"}, {"pastry", "Pastry"},
	{"bar", "Bar"}, {"coffee", "Coffee"}}

type demoTable struct {
	area, name string
	seats      int
}

// demoTables is the demo's floor: tables 1–16 in the main room (12 seats
// four), 20–23 on the terrace, and high tables at the bar.
func demoTables() []demoTable {
	var out []demoTable
	for n := 1; n <= 16; n++ {
		seats := []int{2, 2, 4, 4}[n%4]
		if n == 12 {
			seats = 4
		}
		if n == 16 {
			seats = 8
		}
		out = append(out, demoTable{"Main room", strconv.Itoa(n), seats})
	}
	for n := 20; n <= 23; n++ {
		out = append(out, demoTable{"Terrace", strconv.Itoa(n), 4})
	}
	for n := 1; n <= 4; n++ {
		out = append(out, demoTable{"Bar", "B" + strconv.Itoa(n), 2})
	}
	return out
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
