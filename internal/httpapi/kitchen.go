package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/kitchen"
	"github.com/fynlo/fynlo/internal/order"
)

// staffOrScreen lets a paired kitchen screen call the operation with its
// device token: a screen on the wall stays signed in all service, which a
// person's 15-minute token cannot.
var staffOrScreen = []map[string][]string{{"bearer": {}}, {"device": {}}}

type stationBody struct {
	ID          string   `json:"id,omitempty" required:"false" maxLength:"64"`
	LocationID  string   `json:"location_id" maxLength:"64"`
	Key         string   `json:"key" maxLength:"32" example:"grill" doc:"what items name in kitchen_station"`
	Name        string   `json:"name" maxLength:"60" example:"Grill"`
	CategoryIDs []string `json:"category_ids,omitempty" required:"false" maxItems:"200" doc:"categories whose items come here unless they name a station"`
	Default     bool     `json:"default,omitempty" required:"false" doc:"takes the lines no other station takes"`
}

type stationCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           stationBody
}

type stationOutput struct {
	Status int
	Body   *kitchen.Station
}

type stationPatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version     int64     `json:"version" minimum:"1"`
		Name        *string   `json:"name,omitempty" required:"false" maxLength:"60"`
		CategoryIDs *[]string `json:"category_ids,omitempty" required:"false" maxItems:"200"`
		Default     *bool     `json:"default,omitempty" required:"false"`
	}
}

type locationQuery struct {
	LocationID string `query:"location_id" maxLength:"64" doc:"required with an owner's token; a staff or screen token's own location otherwise"`
}

type stationListOutput struct {
	Body struct {
		Stations []*kitchen.Station `json:"stations"`
	}
}

type ticketListInput struct {
	LocationID string `query:"location_id" maxLength:"64" doc:"required with an owner's token; a staff or screen token's own location otherwise"`
	Station    string `query:"station" maxLength:"32" doc:"a station's key; all stations if empty"`
	Status     string `query:"status" enum:"open,done,all" default:"open"`
	Since      int    `query:"since_minutes" minimum:"1" maximum:"10080" default:"720" doc:"tickets made in the last this many minutes"`
}

type ticketListOutput struct {
	Body struct {
		Tickets  []*kitchen.Ticket `json:"tickets" doc:"oldest first"`
		EventSeq int64             `json:"event_seq" doc:"the event stream's position when read: open /ws with after= this to miss nothing"`
	}
}

type ticketOutput struct {
	Body *kitchen.Ticket
}

type ticketActionInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body *struct{}
}

func (s *Server) routeKitchen() {
	tags := []string{"Kitchen"}
	huma.Register(s.api, huma.Operation{
		OperationID: "station-create", Method: http.MethodPost, Path: "/api/v1/kitchen/stations", Tags: tags,
		Summary:       "Add a kitchen station",
		Description:   "Lines go to the station their item names (kitchen_station), else the one taking their category, else the default one.",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 409, 422},
		Metadata: needs(auth.PermSettingsManage),
	}, s.handleStationCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "station-list", Method: http.MethodGet, Path: "/api/v1/kitchen/stations", Tags: tags,
		Summary: "List a location's stations", Security: staffOrScreen, Errors: []int{401, 404, 422},
		Metadata: map[string]any{"device": true},
	}, s.handleStationList)
	huma.Register(s.api, huma.Operation{
		OperationID: "station-update", Method: http.MethodPatch, Path: "/api/v1/kitchen/stations/{id}", Tags: tags,
		Summary: "Change a station", Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermSettingsManage),
	}, s.handleStationUpdate)
	huma.Register(s.api, huma.Operation{
		OperationID: "ticket-list", Method: http.MethodGet, Path: "/api/v1/kitchen/tickets", Tags: tags,
		Summary: "List kitchen tickets", Security: staffOrScreen, Errors: []int{401, 404, 422},
		Metadata: map[string]any{"device": true},
	}, s.handleTicketList)
	huma.Register(s.api, huma.Operation{
		OperationID: "ticket-get", Method: http.MethodGet, Path: "/api/v1/kitchen/tickets/{id}", Tags: tags,
		Summary: "Get a ticket", Security: staffOrScreen, Errors: []int{401, 404},
		Metadata: map[string]any{"device": true},
	}, s.handleTicketGet)
	for _, act := range []struct{ name, summary, desc string }{
		{"acknowledge", "The kitchen has seen a ticket and its allergens", "A ticket with allergens cannot be bumped before this."},
		{"bump", "A ticket is cooked", "Its lines become ready and it leaves the screen. 409 allergens_not_acknowledged until its allergens are acknowledged."},
		{"recall", "Bring a bumped ticket back", "Its ready lines go back to acknowledged."},
	} {
		huma.Register(s.api, huma.Operation{
			OperationID: "ticket-" + act.name, Method: http.MethodPost, Path: "/api/v1/kitchen/tickets/{id}/" + act.name, Tags: tags,
			Summary: act.summary, Description: act.desc, Security: staffOrScreen, Errors: []int{401, 404, 409},
			Metadata: map[string]any{"device": true},
		}, s.ticketAction(act.name))
	}
}

// screenActor is the caller: a member of staff, or a paired screen acting
// at its location with the kitchen's role.
func (s *Server) screenActor(ctx context.Context) (order.Actor, error) {
	if d, ok := ctx.Value(keyDevice).(*auth.Device); ok {
		return order.Actor{Principal: auth.Principal{OrgID: d.OrgID, UserID: d.ID, Role: auth.RoleKitchen, LocationID: d.LocationID,
			DeviceID: d.ID}}, nil
	}
	return s.actor(ctx)
}

// locationFor is the location a kitchen request is about: the token's own,
// or one of the organization's named in the query.
func (s *Server) locationFor(ctx context.Context, a order.Actor, asked string) (string, error) {
	if a.LocationID != "" {
		if asked != "" && asked != a.LocationID {
			return "", apperr.NotFoundf("location")
		}
		return a.LocationID, nil
	}
	if asked == "" {
		return "", apperr.Field("query.location_id", "is required")
	}
	if _, err := s.tenants.Location(ctx, a.OrgID, asked); err != nil {
		return "", err
	}
	return asked, nil
}

func (s *Server) handleStationCreate(ctx context.Context, in *stationCreateInput) (*stationOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	loc, err := s.locationFor(ctx, a, b.LocationID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	st, err := s.kitchen.CreateStation(ctx, a.OrgID, kitchen.StationInput{ID: b.ID, LocationID: loc, Key: b.Key, Name: b.Name,
		CategoryIDs: b.CategoryIDs, Default: b.Default})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &stationOutput{Status: http.StatusCreated, Body: st}, nil
}

func (s *Server) handleStationList(ctx context.Context, in *locationQuery) (*stationListOutput, error) {
	a, err := s.screenActor(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := s.locationFor(ctx, a, in.LocationID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	sts, err := s.kitchen.Stations(ctx, a.OrgID, loc)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &stationListOutput{}
	out.Body.Stations = sts
	return out, nil
}

func (s *Server) handleStationUpdate(ctx context.Context, in *stationPatchInput) (*stationOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	st, err := s.kitchen.UpdateStation(ctx, a.OrgID, in.ID, kitchen.StationPatch{AtLocation: a.LocationID, Version: b.Version, Name: b.Name, CategoryIDs: b.CategoryIDs, Default: b.Default})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &stationOutput{Status: http.StatusOK, Body: st}, nil
}

func (s *Server) handleTicketList(ctx context.Context, in *ticketListInput) (*ticketListOutput, error) {
	a, err := s.screenActor(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := s.locationFor(ctx, a, in.LocationID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	// The position is read first: an event after it may also be in the
	// list, which a screen handles by ID, but none can fall between.
	seq, err := s.events.LastSeq(ctx, a.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	status := in.Status
	if status == "all" {
		status = ""
	}
	ts, err := s.kitchen.Tickets(ctx, a.OrgID, kitchen.TicketFilter{LocationID: loc, Station: in.Station, Status: status,
		Since: time.Now().Add(-time.Duration(in.Since) * time.Minute)})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &ticketListOutput{}
	out.Body.Tickets, out.Body.EventSeq = ts, seq
	return out, nil
}

func (s *Server) handleTicketGet(ctx context.Context, in *pathID) (*ticketOutput, error) {
	a, err := s.screenActor(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.kitchen.Ticket(ctx, a.OrgID, in.ID)
	if err == nil && a.LocationID != "" && t.LocationID != a.LocationID {
		t, err = nil, apperr.NotFoundf("ticket")
	}
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &ticketOutput{Body: t}, nil
}

func (s *Server) ticketAction(name string) func(context.Context, *ticketActionInput) (*ticketOutput, error) {
	act := map[string]func(*kitchen.Service, context.Context, order.Actor, string) (*kitchen.Ticket, error){
		"acknowledge": (*kitchen.Service).Acknowledge, "bump": (*kitchen.Service).Bump, "recall": (*kitchen.Service).Recall}[name]
	return func(ctx context.Context, in *ticketActionInput) (*ticketOutput, error) {
		a, err := s.screenActor(ctx)
		if err != nil {
			return nil, err
		}
		t, err := act(s.kitchen, ctx, a, in.ID)
		if err != nil {
			return nil, problemFor(ctx, s.logger, err)
		}
		return &ticketOutput{Body: t}, nil
	}
}
