package order

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/idempotency"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
)

// Operation types. Each changes one line, or the check's discount or
// service charge, and is applied once per op_id however often it is sent:
// two iPads adding to one table never lose or double a line, because
// operations need no version and a retry is recognised by its ID.
const (
	OpAddLine       = "add_line"
	OpChangeLine    = "change_line"
	OpVoidLine      = "void_line"
	OpCompLine      = "comp_line"
	OpDiscountLine  = "discount_line"
	OpDiscountCheck = "discount_check"
	OpServeLine     = "serve_line"
	OpServiceCharge = "service_charge"
)

// OpTypes lists the operation types.
var OpTypes = []string{OpAddLine, OpChangeLine, OpVoidLine, OpCompLine, OpDiscountLine, OpDiscountCheck, OpServeLine, OpServiceCharge}

// ModifierChoice is a modifier picked for a line.
type ModifierChoice struct {
	ModifierID string `json:"modifier_id" maxLength:"64"`
	Pre        string `json:"pre,omitempty" required:"false" enum:"no,light,extra,on_the_side"`
}

// LineInput is a line to add.
type LineInput struct {
	OpID      string           `json:"op_id,omitempty" required:"false" maxLength:"64" doc:"when adding lines with the check: the operation's ID"`
	ID        string           `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen line ID (oln_ + ULID)"`
	ItemID    string           `json:"item_id" maxLength:"64"`
	VariantID string           `json:"variant_id,omitempty" required:"false" maxLength:"64" doc:"the item's first variant if empty"`
	Quantity  int              `json:"quantity" doc:"1 or more"`
	Modifiers []ModifierChoice `json:"modifiers,omitempty" required:"false" maxItems:"50"`
	Notes     string           `json:"notes,omitempty" required:"false" maxLength:"500"`
	Seat      int              `json:"seat,omitempty" required:"false" minimum:"0" maximum:"500"`
	Course    *int             `json:"course,omitempty" required:"false" minimum:"0" maximum:"9" doc:"the item's course unless given"`
	OrderType string           `json:"order_type,omitempty" required:"false" enum:"dine_in,takeaway,delivery,bar_tab" doc:"when this line is served differently from the check"`
}

// Op is one operation on a check.
type Op struct {
	OpID string `json:"op_id" minLength:"1" maxLength:"64" doc:"the client's ID for this operation: a retry with the same ID changes nothing"`
	Type string `json:"type" enum:"add_line,change_line,void_line,comp_line,discount_line,discount_check,serve_line,service_charge"`
	// add_line
	Line *LineInput `json:"line,omitempty" required:"false"`
	// change_line, void_line, comp_line, discount_line, serve_line
	LineID string `json:"line_id,omitempty" required:"false" maxLength:"64"`
	// change_line: what is given changes
	Quantity  *int              `json:"quantity,omitempty" required:"false"`
	Modifiers *[]ModifierChoice `json:"modifiers,omitempty" required:"false" maxItems:"50"`
	Notes     *string           `json:"notes,omitempty" required:"false" maxLength:"500"`
	Seat      *int              `json:"seat,omitempty" required:"false" minimum:"0" maximum:"500"`
	Course    *int              `json:"course,omitempty" required:"false" minimum:"0" maximum:"9"`
	OrderType *string           `json:"order_type,omitempty" required:"false" enum:"dine_in,takeaway,delivery,bar_tab," doc:"empty: as the check"`
	// void_line, comp_line
	Reason string `json:"reason,omitempty" required:"false" maxLength:"200"`
	// discount_line, discount_check: null takes the discount off
	Discount *Discount `json:"discount,omitempty" required:"false"`
	// service_charge
	Waived *bool `json:"waived,omitempty" required:"false"`
}

// OpResult says what became of an operation.
type OpResult struct {
	OpID     string `json:"op_id"`
	Replayed bool   `json:"replayed" doc:"true when this op_id was applied before: nothing changed this time"`
	LineID   string `json:"line_id,omitempty" doc:"the line it added or changed"`
}

// Apply applies operations to a check, all or none, each once. Errors:
// Invalid, NotFound, Forbidden (void after sending, comp, a discount over
// the caller's limit without an approval), Conflict (the check is not
// open, a line cannot change in its state, out of stock).
func (s *Service) Apply(ctx context.Context, a Actor, orderID string, ops []Op) (*Order, []OpResult, error) {
	if len(ops) == 0 || len(ops) > 100 {
		return nil, nil, apperr.Field("ops", "must hold 1 to 100 operations")
	}
	ctx = idempotency.Repeatable(ctx) // every operation carries its op_id
	if err := opIDsOnce(ops, "ops"); err != nil {
		return nil, nil, err
	}
	cur, err := s.store.FindOrder(ctx, a.OrgID, orderID)
	if err != nil {
		return nil, nil, err
	}
	if err := a.atLocation(cur.LocationID); err != nil {
		return nil, nil, err
	}
	if guarded(ops) {
		// A retry of an operation that needed a permission is answered
		// from what was applied: it must not be asked again (a manager's
		// approval it came with is spent).
		if cur.Ops, err = s.store.FindAppliedOps(ctx, a.OrgID, orderID); err != nil {
			return nil, nil, err
		}
	}
	// Permissions are decided before the transaction (asking may use up a
	// manager's approval, a write of its own) and checked again inside it,
	// against the check as locked.
	granted, err := s.authorizeOps(ctx, a, cur, ops)
	if err != nil {
		return nil, nil, err
	}
	loc, err := s.locations.Location(ctx, a.OrgID, cur.LocationID)
	if err != nil {
		return nil, nil, err
	}
	cat, err := s.catalogs.Catalog(ctx, a.OrgID, cur.LocationID)
	if err != nil {
		return nil, nil, err
	}
	var results []OpResult
	var applied *Change
	o, err := s.store.UpdateOrder(ctx, a.OrgID, orderID, func(o *Order) (*Change, error) {
		needs, err := s.needs(o, ops)
		if err != nil {
			return nil, err
		}
		for _, n := range needs {
			if !granted.covers(n) {
				return nil, apperr.New(apperr.Conflict, "order_changed", "the check changed while you were asking; try again")
			}
		}
		ch := &Change{Event: EventOrderUpdated}
		now := s.now().UTC()
		if results, err = s.apply(ctx, a, o, ops, cat, ch, now, "ops"); err != nil {
			return nil, err
		}
		if len(ch.Ops) == 0 {
			return ch, nil // every op was a replay: nothing to write
		}
		o.Split = nil // the totals change: a split would no longer add up
		if err := o.Reprice(loc); err != nil {
			return nil, err
		}
		o.Version++
		o.UpdatedAt = now
		applied = ch
		return ch, nil
	})
	if err != nil {
		return nil, nil, err
	}
	s.StockMoved(a.OrgID, applied)
	return o, results, nil
}

// opIDsOnce refuses an op_id used twice in one request: the second use
// would be taken for a retry of the first and its operation quietly
// dropped. Lines of a new check may go without one; each is its own.
func opIDsOnce(ops []Op, field string) error {
	seen := make(map[string]bool, len(ops))
	for i, op := range ops {
		if op.OpID == "" && field == "lines" {
			continue
		}
		if seen[op.OpID] {
			return apperr.Field(field+"["+strconv.Itoa(i)+"].op_id", "is used twice in this request")
		}
		seen[op.OpID] = true
	}
	return nil
}

// atLocation refuses a staff token of another location.
func (a Actor) atLocation(locationID string) error {
	if a.LocationID != "" && a.LocationID != locationID {
		return apperr.NotFoundf("order")
	}
	return nil
}

// need is a permission an operation needs; percentBP is set for discounts.
type need struct {
	perm      string
	percentBP int
}

// grants are the needs the caller was allowed.
type grants []need

func (g grants) covers(n need) bool {
	for _, x := range g {
		if x.perm == n.perm && x.percentBP >= n.percentBP {
			return true
		}
	}
	return false
}

// guarded reports whether any of the operations may need a permission.
func guarded(ops []Op) bool {
	for _, op := range ops {
		switch op.Type {
		case OpVoidLine, OpCompLine, OpDiscountLine, OpDiscountCheck:
			return true
		}
	}
	return false
}

// needs lists the permissions the operations need on o, skipping replays.
func (s *Service) needs(o *Order, ops []Op) ([]need, error) {
	var out []need
	for _, op := range ops {
		if _, done := o.Ops[op.OpID]; done {
			continue
		}
		switch op.Type {
		case OpVoidLine:
			if l := o.Line(op.LineID); l != nil && l.KitchenState.inKitchen() {
				out = append(out, need{perm: auth.PermOrderVoid})
			}
		case OpCompLine:
			out = append(out, need{perm: auth.PermOrderComp})
		case OpDiscountLine, OpDiscountCheck:
			if op.Discount != nil {
				out = append(out, need{perm: auth.PermOrderDiscount, percentBP: o.discountPercent(op)})
			}
		}
	}
	return out, nil
}

// discountPercent is how big a discount is, in basis points of what it
// discounts, to compare with the caller's limit.
func (o *Order) discountPercent(op Op) int {
	d := op.Discount
	if d.Kind == DiscountPercent {
		return d.PercentBP
	}
	var base int64
	if op.Type == OpDiscountLine {
		if l := o.Line(op.LineID); l != nil {
			base = l.unitPrice() * int64(l.Quantity)
		}
	} else {
		for _, l := range o.Lines {
			if l.live() {
				base += l.Price.Gross.Amount - l.Price.Discount.Amount
			}
		}
	}
	if base <= 0 || d.Amount >= base {
		return 10000
	}
	return int((d.Amount*10000 + base - 1) / base) // rounded up: a limit is never exceeded by rounding
}

// authorizeOps asks for every permission the operations need on cur.
func (s *Service) authorizeOps(ctx context.Context, a Actor, cur *Order, ops []Op) (grants, error) {
	needs, err := s.needs(cur, ops)
	if err != nil {
		return nil, err
	}
	var g grants
	for _, n := range needs {
		if g.covers(n) {
			continue
		}
		if n.perm == auth.PermOrderDiscount {
			if err := s.auth.AuthorizeDiscount(ctx, a.Principal, n.percentBP, a.Approval); err != nil {
				return nil, err
			}
			// One approval lifts the limit for this request's discounts.
			g = append(g, need{perm: n.perm, percentBP: maxPercent(needs)})
			continue
		}
		if _, err := s.auth.Authorize(ctx, a.Principal, n.perm, a.Approval); err != nil {
			return nil, err
		}
		g = append(g, n)
	}
	return g, nil
}

func maxPercent(needs []need) int {
	m := 0
	for _, n := range needs {
		if n.perm == auth.PermOrderDiscount && n.percentBP > m {
			m = n.percentBP
		}
	}
	return m
}

// apply applies ops to o, recording them in ch. field names the list in
// error paths ("ops" or "lines").
func (s *Service) apply(ctx context.Context, a Actor, o *Order, ops []Op, cat *menu.Catalog, ch *Change, now time.Time, field string) ([]OpResult, error) {
	if !o.Status.editable() {
		return nil, apperr.New(apperr.Conflict, "order_not_open", "a check that is "+string(o.Status)+" cannot be changed")
	}
	results := make([]OpResult, 0, len(ops))
	var f apperr.Fields
	for i, op := range ops {
		// An operation's line is named ops[i].line; a line sent with a new
		// check is lines[i] itself, as the client wrote it.
		at := field + "[" + strconv.Itoa(i) + "]"
		lineAt := at + ".line"
		if field == "lines" {
			lineAt = at
		}
		if op.OpID == "" {
			if field == "lines" {
				op.OpID = "line:" + id.New(id.Line) // a line sent with a new check needs no op ID of its own
			} else {
				f.Add(at+".op_id", "is required")
				continue
			}
		}
		if len(op.OpID) > 64 {
			f.Add(at+".op_id", "must be at most 64 characters")
			continue
		}
		if lineID, done := o.Ops[op.OpID]; done {
			results = append(results, OpResult{OpID: op.OpID, Replayed: true, LineID: lineID})
			continue
		}
		lineID, err := s.applyOne(a, o, op, cat, ch, now, at, lineAt, &f)
		if err != nil {
			return nil, err
		}
		o.Ops[op.OpID] = lineID
		ch.Ops = append(ch.Ops, AppliedOp{OpID: op.OpID, Type: op.Type, LineID: lineID})
		results = append(results, OpResult{OpID: op.OpID, LineID: lineID})
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// applyOne applies one operation; bad input goes to f, refusals are
// returned. at names the operation in f, lineAt the line it adds.
func (s *Service) applyOne(a Actor, o *Order, op Op, cat *menu.Catalog, ch *Change, now time.Time, at, lineAt string, f *apperr.Fields) (string, error) {
	if op.Type == OpAddLine {
		if op.Line == nil {
			f.Add(lineAt, "is required for add_line")
			return "", nil
		}
		l := s.newLine(a, o, *op.Line, cat, now, lineAt, f)
		if l == nil {
			return "", nil
		}
		if av := cat.Availability(l.ItemID); av != nil && av.Stock != nil {
			l.StockCounted = true
			ch.Stock = append(ch.Stock, StockMove{ItemID: l.ItemID, Delta: -l.Quantity})
		}
		o.Lines = append(o.Lines, l)
		ch.touch(l)
		return l.ID, nil
	}
	if (op.Type == OpDiscountCheck || op.Type == OpDiscountLine) && op.Discount != nil && !validDiscount(op.Discount, at+".discount", f) {
		return "", nil
	}
	if op.Type == OpDiscountCheck {
		if op.Discount != nil {
			d := *op.Discount
			d.By = a.UserID
			o.Discount = &d
		} else {
			o.Discount = nil
		}
		return "", nil
	}
	if op.Type == OpServiceCharge {
		if op.Waived == nil {
			f.Add(at+".waived", "is required for service_charge")
			return "", nil
		}
		o.ServiceCharge.Waived = *op.Waived
		return "", nil
	}
	if !oneOf(op.Type, OpTypes) {
		f.Add(at+".type", "must be one of "+strings.Join(OpTypes, ", "))
		return "", nil
	}
	l := o.Line(op.LineID)
	if l == nil {
		f.Add(at+".line_id", "is not a line of this check")
		return "", nil
	}
	switch op.Type {
	case OpChangeLine:
		if err := changeLine(o, l, op, cat, ch, at, f); err != nil {
			return "", err
		}
	case OpVoidLine:
		reason := strings.TrimSpace(op.Reason)
		if reason == "" {
			f.Add(at+".reason", "is required to void a line")
			return "", nil
		}
		st, err := l.KitchenState.Move(LineActVoid)
		if err != nil {
			return "", err
		}
		l.KitchenState, l.Void = st, &Mark{Reason: reason, By: a.UserID, At: now}
		if l.StockCounted {
			ch.Stock = append(ch.Stock, StockMove{ItemID: l.ItemID, Delta: l.Quantity})
		}
	case OpCompLine:
		reason := strings.TrimSpace(op.Reason)
		if reason == "" {
			f.Add(at+".reason", "is required to comp a line")
			return "", nil
		}
		if !l.live() {
			return "", apperr.New(apperr.Conflict, "line_voided", "a voided line cannot be comped")
		}
		l.Comp = &Mark{Reason: reason, By: a.UserID, At: now}
	case OpDiscountLine:
		if !l.live() {
			return "", apperr.New(apperr.Conflict, "line_voided", "a voided line cannot be discounted")
		}
		if op.Discount != nil {
			if op.Discount.Kind == DiscountAmount && op.Discount.Amount > l.unitPrice()*int64(l.Quantity) {
				f.Add(at+".discount.amount", "exceeds the line's price")
				return "", nil
			}
			d := *op.Discount
			d.By = a.UserID
			l.Discount = &d
		} else {
			l.Discount = nil
		}
	case OpServeLine:
		st, err := l.KitchenState.Move(LineActServe)
		if err != nil {
			return "", err
		}
		l.KitchenState = st
	}
	l.UpdatedAt = now
	ch.touch(l)
	return l.ID, nil
}

// newLine builds a line from the menu, or records why it cannot in f.
func (s *Service) newLine(a Actor, o *Order, in LineInput, cat *menu.Catalog, now time.Time, at string, f *apperr.Fields) *Line {
	n := len(*f)
	it := cat.Item(in.ItemID)
	if it == nil {
		f.Add(at+".item_id", "is not on this location's menu")
		return nil
	}
	if av := cat.Availability(it.ID); av != nil && !av.AvailableAt(now) {
		f.Add(at+".item_id", "is 86'd at this location: "+strings.TrimSpace(av.Reason+" (unavailable)"))
		return nil
	}
	var v *menu.Variant
	for i := range it.Variants {
		if in.VariantID == "" || it.Variants[i].ID == in.VariantID {
			v = &it.Variants[i]
			break
		}
	}
	if v == nil {
		f.Add(at+".variant_id", "is not a variant of the item")
		return nil
	}
	lineID := in.ID
	if lineID == "" {
		lineID = id.New(id.Line)
	} else if !id.Valid(id.Line, lineID) {
		f.Add(at+".id", "must be oln_ followed by a ULID")
	} else if o.Line(lineID) != nil {
		f.Add(at+".id", "is already a line of this check")
	}
	if in.Quantity < 1 || in.Quantity > 999 {
		f.Add(at+".quantity", "must be 1 to 999")
	}
	if utf8.RuneCountInString(in.Notes) > 500 {
		f.Add(at+".notes", "must be at most 500 characters")
	}
	if in.Seat < 0 || in.Seat > 500 {
		f.Add(at+".seat", "must be 0 to 500")
	}
	if in.OrderType != "" && !oneOf(in.OrderType, Types) {
		f.Add(at+".order_type", "must be one of "+strings.Join(Types, ", "))
	}
	course := it.Course
	if in.Course != nil {
		course = *in.Course
		if course < 0 || course > 9 {
			f.Add(at+".course", "must be 0 to 9")
		}
	}
	tax := cat.TaxCategory(it.TaxCategoryID)
	if tax == nil {
		return nil // the menu refuses items without one; a race with a deletion
	}
	price := v.Price
	if av := cat.Availability(it.ID); av != nil {
		if p, ok := av.PriceOverrides[v.ID]; ok {
			price = p
		}
	}
	if price.Currency != o.Currency {
		f.Add(at+".item_id", "is priced in "+price.Currency+", the location sells in "+o.Currency)
	}
	mods := pickModifiers(it, in.Modifiers, cat, o.Currency, at+".modifiers", f)
	if len(*f) > n {
		return nil
	}
	l := &Line{ID: lineID, ItemID: it.ID, VariantID: v.ID, CategoryID: it.CategoryID, Name: it.Name, VariantName: v.Name,
		Quantity: in.Quantity, UnitPrice: price, Modifiers: mods, Notes: strings.TrimSpace(in.Notes), Seat: in.Seat, Course: course,
		OrderType: in.OrderType, TaxRates: tax.Rates, KitchenState: LineNew, Station: it.KitchenStation,
		CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	l.Allergens = lineAllergens(it.Allergens, mods)
	return l
}

// pickModifiers checks the choices against the item's groups: each choice
// in one of them, each group between its minimum and maximum. The
// cheapest choices within a group's free allowance cost nothing.
func pickModifiers(it *menu.Item, choices []ModifierChoice, cat *menu.Catalog, currency, at string, f *apperr.Fields) []ChosenModifier {
	type picked struct {
		m   ChosenModifier
		idx int
	}
	byGroup := map[string][]picked{}
	for i, c := range choices {
		field := at + "[" + strconv.Itoa(i) + "]"
		var g *menu.ModifierGroup
		var m *menu.Modifier
		for _, gid := range it.ModifierGroups {
			grp := cat.ModifierGroup(gid)
			if grp == nil {
				continue
			}
			for j := range grp.Modifiers {
				if grp.Modifiers[j].ID == c.ModifierID {
					g, m = grp, &grp.Modifiers[j]
				}
			}
		}
		if m == nil {
			f.Add(field+".modifier_id", "is not a choice of this item's modifier groups")
			continue
		}
		if c.Pre != "" && !slices.Contains(g.PreModifiers, c.Pre) {
			f.Add(field+".pre", "is not allowed in "+g.Name)
			continue
		}
		if m.Price.Currency != currency && m.Price.Amount != 0 {
			f.Add(field+".modifier_id", "is priced in another currency")
			continue
		}
		byGroup[g.ID] = append(byGroup[g.ID], picked{m: ChosenModifier{ModifierID: m.ID, GroupID: g.ID, Name: m.Name, Pre: c.Pre,
			Price: money.Money{Amount: m.Price.Amount, Currency: currency}, Allergens: m.Allergens}, idx: i})
	}
	out := make([]ChosenModifier, len(choices))
	for _, gid := range it.ModifierGroups {
		g := cat.ModifierGroup(gid)
		if g == nil {
			continue
		}
		ps := byGroup[gid]
		if len(ps) < g.MinSelect || len(ps) > g.MaxSelect {
			f.Add(at, g.Name+" takes "+strconv.Itoa(g.MinSelect)+" to "+strconv.Itoa(g.MaxSelect)+" choices, not "+strconv.Itoa(len(ps)))
		}
		free := make([]int, len(ps))
		for i := range ps {
			free[i] = i
		}
		sort.SliceStable(free, func(x, y int) bool { return ps[free[x]].m.Price.Amount < ps[free[y]].m.Price.Amount })
		for k, i := range free {
			if k < g.FreeAllowance {
				ps[i].m.Price.Amount = 0
			}
		}
		for _, p := range ps {
			out[p.idx] = p.m
		}
	}
	if len(*f) > 0 {
		return nil
	}
	return out
}

// lineAllergens merges the item's allergens with its modifiers', sorted.
func lineAllergens(item []string, mods []ChosenModifier) []string {
	out := append([]string{}, item...)
	for _, m := range mods {
		for _, a := range m.Allergens {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// changeLine applies a change_line operation. Once the kitchen has a line,
// only its seat (for splitting) and its order type (for VAT) may change:
// what the kitchen cooks needs a void and a new line.
func changeLine(o *Order, l *Line, op Op, cat *menu.Catalog, ch *Change, at string, f *apperr.Fields) error {
	if !l.live() {
		return apperr.New(apperr.Conflict, "line_voided", "a voided line cannot be changed")
	}
	cooking := op.Quantity != nil || op.Modifiers != nil || op.Notes != nil || op.Course != nil
	if cooking && l.KitchenState != LineNew && l.KitchenState != LineHeld {
		return apperr.New(apperr.Conflict, "line_sent", "the kitchen has this line: void it and add a new one")
	}
	if op.Quantity != nil {
		if *op.Quantity < 1 || *op.Quantity > 999 {
			f.Add(at+".quantity", "must be 1 to 999")
		} else {
			if l.StockCounted && *op.Quantity != l.Quantity {
				// Stock follows the quantity; the store refuses going below zero.
				ch.Stock = append(ch.Stock, StockMove{ItemID: l.ItemID, Delta: l.Quantity - *op.Quantity})
			}
			l.Quantity = *op.Quantity
		}
	}
	if op.Modifiers != nil {
		it := cat.Item(l.ItemID)
		if it == nil {
			f.Add(at+".modifiers", "the item is no longer on the menu; void the line and add another")
		} else if mods := pickModifiers(it, *op.Modifiers, cat, o.Currency, at+".modifiers", f); mods != nil {
			l.Modifiers = mods
			l.Allergens = lineAllergens(it.Allergens, mods)
		}
	}
	if op.Notes != nil {
		if utf8.RuneCountInString(*op.Notes) > 500 {
			f.Add(at+".notes", "must be at most 500 characters")
		} else {
			l.Notes = strings.TrimSpace(*op.Notes)
		}
	}
	if op.Seat != nil {
		l.Seat = *op.Seat
	}
	if op.Course != nil {
		l.Course = *op.Course
	}
	if op.OrderType != nil {
		if *op.OrderType != "" && !oneOf(*op.OrderType, Types) {
			f.Add(at+".order_type", "must be one of "+strings.Join(Types, ", ")+" or empty")
		} else {
			l.OrderType = *op.OrderType
		}
	}
	return nil
}

// validDiscount checks a discount's shape, recording faults in f.
func validDiscount(d *Discount, at string, f *apperr.Fields) bool {
	n := len(*f)
	switch d.Kind {
	case DiscountPercent:
		if d.PercentBP < 1 || d.PercentBP > 10000 {
			f.Add(at+".percent_bp", "must be 1 to 10000 (0.01% to 100%)")
		}
	case DiscountAmount:
		if d.Amount < 1 {
			f.Add(at+".amount", "must be 1 or more")
		}
	default:
		f.Add(at+".kind", "must be amount or percent")
	}
	d.Reason = strings.TrimSpace(d.Reason)
	if d.Reason == "" || utf8.RuneCountInString(d.Reason) > 200 {
		f.Add(at+".reason", "must say why, in 1 to 200 characters")
	}
	return len(*f) == n
}
