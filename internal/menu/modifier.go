package menu

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/money"
)

// PreModifiers are the words a server may put before a modifier.
var PreModifiers = []string{"no", "light", "extra", "on_the_side"}

// Modifier is one choice in a group, e.g. "Add bacon" for £1.50.
type Modifier struct {
	ID        string      `json:"id,omitempty" required:"false" doc:"mod_ + ULID; chosen by the server unless given"`
	Name      string      `json:"name" example:"Add bacon"`
	Price     money.Money `json:"price" doc:"added to the item's price; 0 for a free choice"`
	Allergens []string    `json:"allergens,omitempty" required:"false"`
	Dietary   []string    `json:"dietary,omitempty" required:"false"`
}

// ModifierGroup is a question asked when an item is ordered: "How would you
// like it cooked?" (pick one) or "Extras" (pick any).
type ModifierGroup struct {
	ID            string     `json:"id"`
	OrgID         string     `json:"organization_id"`
	Name          string     `json:"name"`
	MinSelect     int        `json:"min_select" doc:"at least this many choices; 1 or more makes the group required"`
	MaxSelect     int        `json:"max_select" doc:"at most this many; 1 for a single choice"`
	FreeAllowance int        `json:"free_allowance" doc:"this many choices cost nothing, the cheapest first"`
	PreModifiers  []string   `json:"pre_modifiers" doc:"words allowed before a choice, from: no, light, extra, on_the_side"`
	Modifiers     []Modifier `json:"modifiers"`
	Version       int64      `json:"version"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Required reports whether an item with this group cannot be ordered
// without a choice in it.
func (g *ModifierGroup) Required() bool { return g.MinSelect > 0 }

// Event types of modifier groups.
const (
	EventModifierGroupCreated = "modifier_group.created"
	EventModifierGroupUpdated = "modifier_group.updated"
	EventModifierGroupDeleted = "modifier_group.deleted"
)

// ModifierStore persists modifier groups.
type ModifierStore interface {
	CreateModifierGroup(ctx context.Context, g *ModifierGroup) error
	// FindModifierGroup errors: NotFound.
	FindModifierGroup(ctx context.Context, orgID, id string) (*ModifierGroup, error)
	FindModifierGroups(ctx context.Context, orgID string) ([]*ModifierGroup, error)
	// UpdateModifierGroup loads, lets update change, saves. Errors: NotFound, update's.
	UpdateModifierGroup(ctx context.Context, orgID, id string, update func(*ModifierGroup) error) (*ModifierGroup, error)
	// DeleteModifierGroup errors: NotFound, Conflict (modifier_group_in_use).
	DeleteModifierGroup(ctx context.Context, orgID, id string) error
}

func (g *ModifierGroup) validate() error {
	var f apperr.Fields
	g.Name = validName(&f, g.Name, 80)
	if g.MinSelect < 0 {
		f.Add("min_select", "must not be negative")
	}
	if g.MaxSelect < 1 {
		f.Add("max_select", "must be 1 or more")
	}
	if g.MinSelect > g.MaxSelect {
		f.Add("min_select", "must not exceed max_select")
	}
	if g.FreeAllowance < 0 || g.FreeAllowance > g.MaxSelect {
		f.Add("free_allowance", "must be 0 to max_select")
	}
	if len(g.Modifiers) == 0 || len(g.Modifiers) > 100 {
		f.Add("modifiers", "must hold 1 to 100 choices")
	}
	if g.MinSelect > len(g.Modifiers) {
		f.Add("min_select", "asks for more choices than the group has")
	}
	for i, p := range g.PreModifiers {
		if !slices.Contains(PreModifiers, p) {
			f.Add("pre_modifiers["+strconv.Itoa(i)+"]", "must be one of "+strings.Join(PreModifiers, ", "))
		}
	}
	for i := range g.Modifiers {
		m := &g.Modifiers[i]
		field := "modifiers[" + strconv.Itoa(i) + "]"
		if m.ID == "" {
			m.ID = id.New(id.Modifier)
		} else if !id.Valid(id.Modifier, m.ID) {
			f.Add(field+".id", "must be mod_ followed by a ULID")
		}
		m.Name = strings.TrimSpace(m.Name)
		if m.Name == "" || utf8.RuneCountInString(m.Name) > 80 {
			f.Add(field+".name", "must be 1 to 80 characters")
		}
		validPrice(&f, field+".price", m.Price)
		validLabels(&f, field+".", &m.Allergens, &m.Dietary)
	}
	return f.Err()
}

// ModifierGroupInput is what a caller sets on a new group.
type ModifierGroupInput struct {
	Name          string
	MinSelect     int
	MaxSelect     int
	FreeAllowance int
	PreModifiers  []string
	Modifiers     []Modifier
}

// CreateModifierGroup adds a modifier group to org.
func (s *Service) CreateModifierGroup(ctx context.Context, orgID string, in ModifierGroupInput) (*ModifierGroup, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	now := s.now().UTC()
	g := &ModifierGroup{ID: id.New(id.ModifierGroup), OrgID: orgID, Name: in.Name, MinSelect: in.MinSelect, MaxSelect: in.MaxSelect,
		FreeAllowance: in.FreeAllowance, PreModifiers: append([]string{}, in.PreModifiers...), Modifiers: append([]Modifier{}, in.Modifiers...),
		Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := g.validate(); err != nil {
		return nil, err
	}
	return g, s.modifiers.CreateModifierGroup(ctx, g)
}

// ModifierGroup returns one of org's modifier groups.
func (s *Service) ModifierGroup(ctx context.Context, orgID, id string) (*ModifierGroup, error) {
	return s.modifiers.FindModifierGroup(ctx, orgID, id)
}

// ModifierGroups lists org's modifier groups.
func (s *Service) ModifierGroups(ctx context.Context, orgID string) ([]*ModifierGroup, error) {
	return s.modifiers.FindModifierGroups(ctx, orgID)
}

// ModifierGroupPatch changes a group; Version is the one last read.
type ModifierGroupPatch struct {
	Version       int64
	Name          *string
	MinSelect     *int
	MaxSelect     *int
	FreeAllowance *int
	PreModifiers  *[]string
	Modifiers     *[]Modifier
}

// UpdateModifierGroup changes one of org's modifier groups.
func (s *Service) UpdateModifierGroup(ctx context.Context, orgID, id string, p ModifierGroupPatch) (*ModifierGroup, error) {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	return s.modifiers.UpdateModifierGroup(ctx, orgID, id, func(g *ModifierGroup) error {
		if p.Version != g.Version {
			return apperr.StaleVersion(g)
		}
		if p.Name != nil {
			g.Name = *p.Name
		}
		if p.MinSelect != nil {
			g.MinSelect = *p.MinSelect
		}
		if p.MaxSelect != nil {
			g.MaxSelect = *p.MaxSelect
		}
		if p.FreeAllowance != nil {
			g.FreeAllowance = *p.FreeAllowance
		}
		if p.PreModifiers != nil {
			g.PreModifiers = append([]string{}, (*p.PreModifiers)...)
		}
		if p.Modifiers != nil {
			g.Modifiers = append([]Modifier{}, (*p.Modifiers)...)
		}
		if err := g.validate(); err != nil {
			return err
		}
		g.Version++
		g.UpdatedAt = s.now().UTC()
		return nil
	})
}

// DeleteModifierGroup removes one of org's modifier groups no item uses.
func (s *Service) DeleteModifierGroup(ctx context.Context, orgID, id string) error {
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	return s.modifiers.DeleteModifierGroup(ctx, orgID, id)
}
