package menu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
)

// MaxBatch is how many objects one POST /menu/batch may write.
const MaxBatch = 1000

// Batch is a set of menu objects written together or not at all.
//
// An object's ID is its real ID (an existing object is replaced, an unknown
// one created with that ID), empty (created with a new ID), or a client ID
// starting with '#' (created with a new ID) that the batch's other objects
// may use where they refer to it, as Square's catalogue batches do. On the
// way in, Version is the version the client last read (0: whatever it is
// now); the other server-kept fields (organization, timestamps) are ignored.
type Batch struct {
	TaxCategories  []*TaxCategory   `json:"tax_categories"`
	Categories     []*Category      `json:"categories"`
	ModifierGroups []*ModifierGroup `json:"modifier_groups"`
	Items          []*Item          `json:"items"`
}

// Len is the number of objects in b.
func (b *Batch) Len() int {
	return len(b.TaxCategories) + len(b.Categories) + len(b.ModifierGroups) + len(b.Items)
}

// IDMapping says which ID a client ID was given.
type IDMapping struct {
	ClientID string `json:"client_id" example:"#fish"`
	ID       string `json:"id" example:"itm_01jb7y3m5x8k2q4w6e8r0t2y4u"`
}

// BatchResult is what a batch wrote.
type BatchResult struct {
	Batch
	IDMappings []IDMapping `json:"id_mappings"`
	Created    int         `json:"created"`
	Updated    int         `json:"updated"`
	Unchanged  int         `json:"unchanged" doc:"objects given exactly as stored: not written again"`
}

// BatchOptions tune ApplyBatch for the command line's import.
type BatchOptions struct {
	Limit    int                   // most objects allowed; MaxBatch when 0
	DryRun   bool                  // check everything, write nothing
	Progress func(done, total int) // called as objects are written
}

// BatchStore writes a batch.
type BatchStore interface {
	// WriteBatch writes b in one transaction, with an event for each
	// object: those at Version 1 are inserted, the others replace the
	// stored row at Version-1. Errors: Conflict (version_conflict) when a
	// row moved on meanwhile, Conflict/Invalid as the single writes.
	WriteBatch(ctx context.Context, orgID string, b *Batch, progress func(done int)) error
}

// ApplyBatch creates or replaces b's objects in org, all or none. Every
// problem in the batch is reported at once, each field named by its
// object's place, e.g. "items[3].variants[0].price".
func (s *Service) ApplyBatch(ctx context.Context, orgID string, b *Batch, opt BatchOptions) (*BatchResult, error) {
	limit := opt.Limit
	if limit == 0 {
		limit = MaxBatch
	}
	if n := b.Len(); n == 0 || n > limit {
		return nil, apperr.Field("batch", fmt.Sprintf("must hold 1 to %d objects, not %d", limit, n))
	}
	r := &batchRun{s: s, orgID: orgID, b: b, ids: map[string]string{}, kinds: map[string]string{}, taken: map[string]bool{},
		categories: map[string]*Category{}, taxes: map[string]*TaxCategory{}, groups: map[string]*ModifierGroup{}, items: map[string]bool{},
		stored: map[string]any{}}
	res := &BatchResult{IDMappings: []IDMapping{}}
	if err := r.assignIDs(res); err != nil {
		return nil, err
	}
	if err := r.resolveRefs(); err != nil {
		return nil, err
	}
	if err := r.loadStored(ctx, res); err != nil {
		return nil, err
	}
	if err := r.validate(ctx); err != nil {
		return nil, err
	}
	r.sortCategories()
	r.skipUnchanged(res)
	if opt.DryRun || b.Len() == 0 {
		return res, nil
	}
	defer s.Invalidate(orgID) // this node serves the change on its very next menu request
	total := b.Len()
	var progress func(int)
	if opt.Progress != nil {
		progress = func(done int) { opt.Progress(done, total) }
	}
	if err := s.batches.WriteBatch(ctx, orgID, b, progress); err != nil {
		return nil, err
	}
	return res, nil
}

// batchRun is one ApplyBatch's working state. It is also the lookup its
// objects are validated with: the batch's own objects first, then the store.
type batchRun struct {
	s     *Service
	orgID string
	b     *Batch
	ids   map[string]string // client ID → real ID
	kinds map[string]string // client ID → ID prefix of its object
	taken map[string]bool   // real IDs in the batch

	categories map[string]*Category
	taxes      map[string]*TaxCategory
	groups     map[string]*ModifierGroup
	items      map[string]bool
	stored     map[string]any // ID → the object as stored, for those that exist
}

// keep records a stored object (old is a typed nil for a new one).
func (r *batchRun) keep(id string, old interface{ meta() storedMeta }) {
	if old.meta().version != 0 {
		r.stored[id] = old
	}
}

// skipUnchanged takes out of the batch the objects that would be written
// as they are stored, so importing the same file twice rewrites nothing;
// the result shows them as stored.
func (r *batchRun) skipUnchanged(res *BatchResult) {
	res.TaxCategories, r.b.TaxCategories = unchanged(r, res, r.b.TaxCategories, func(t TaxCategory) TaxCategory {
		t.Version, t.CreatedAt, t.UpdatedAt = 0, time.Time{}, time.Time{}
		return t
	})
	res.Categories, r.b.Categories = unchanged(r, res, r.b.Categories, func(c Category) Category {
		c.Version, c.CreatedAt, c.UpdatedAt = 0, time.Time{}, time.Time{}
		return c
	})
	res.ModifierGroups, r.b.ModifierGroups = unchanged(r, res, r.b.ModifierGroups, func(g ModifierGroup) ModifierGroup {
		g.Version, g.CreatedAt, g.UpdatedAt = 0, time.Time{}, time.Time{}
		return g
	})
	res.Items, r.b.Items = unchanged(r, res, r.b.Items, func(it Item) Item {
		it.Version, it.CreatedAt, it.UpdatedAt = 0, time.Time{}, time.Time{}
		return it
	})
}

// unchanged splits objects into all of them as they will be (the stored
// one where nothing changes) and those to write.
func unchanged[T any, P interface {
	*T
	meta() storedMeta
}](r *batchRun, res *BatchResult, objs []P, content func(T) T) (all, write []P) {
	all, write = []P{}, []P{}
	for _, o := range objs {
		old, ok := r.stored[o.meta().id].(P)
		if ok && sameJSON(content(*old), content(*o)) {
			all = append(all, old)
			res.Updated--
			res.Unchanged++
			continue
		}
		all, write = append(all, o), append(write, o)
	}
	return all, write
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// each calls fn with every object's field path, ID prefix and ID.
func (r *batchRun) each(fn func(path, prefix string, id *string)) {
	for i, o := range r.b.TaxCategories {
		fn(fmt.Sprintf("tax_categories[%d]", i), id.TaxCategory, &o.ID)
	}
	for i, o := range r.b.Categories {
		fn(fmt.Sprintf("categories[%d]", i), id.Category, &o.ID)
	}
	for i, o := range r.b.ModifierGroups {
		fn(fmt.Sprintf("modifier_groups[%d]", i), id.ModifierGroup, &o.ID)
	}
	for i, o := range r.b.Items {
		fn(fmt.Sprintf("items[%d]", i), id.Item, &o.ID)
	}
}

// assignIDs gives every object its real ID and records the client IDs.
func (r *batchRun) assignIDs(res *BatchResult) error {
	var f apperr.Fields
	r.each(func(path, prefix string, oid *string) {
		switch {
		case *oid == "":
			*oid = id.New(prefix)
		case strings.HasPrefix(*oid, "#"):
			client := *oid
			if len(client) < 2 || len(client) > 64 {
				f.Add(path+".id", "a client ID must be # and 1 to 63 more characters")
				return
			}
			if _, dup := r.ids[client]; dup {
				f.Add(path+".id", client+" appears twice in the batch")
				return
			}
			*oid = id.New(prefix)
			r.ids[client], r.kinds[client] = *oid, prefix
			res.IDMappings = append(res.IDMappings, IDMapping{ClientID: client, ID: *oid})
		case !id.Valid(prefix, *oid):
			f.Add(path+".id", "must be "+prefix+"_ followed by a ULID, or a client ID starting with #")
			return
		}
		if r.taken[*oid] {
			f.Add(path+".id", "appears twice in the batch")
		}
		r.taken[*oid] = true
	})
	return f.Err()
}

// resolveRefs replaces client IDs in references by the real ones.
func (r *batchRun) resolveRefs() error {
	var f apperr.Fields
	resolve := func(field, prefix string, ref *string) {
		if !strings.HasPrefix(*ref, "#") {
			return
		}
		real, ok := r.ids[*ref]
		if !ok || r.kinds[*ref] != prefix {
			f.Add(field, "refers to "+*ref+", which is not the client ID of a "+kindName[prefix]+" in this batch")
			return
		}
		*ref = real
	}
	for i, c := range r.b.Categories {
		resolve(fmt.Sprintf("categories[%d].parent_id", i), id.Category, &c.ParentID)
	}
	for i, it := range r.b.Items {
		path := fmt.Sprintf("items[%d].", i)
		resolve(path+"category_id", id.Category, &it.CategoryID)
		resolve(path+"tax_category_id", id.TaxCategory, &it.TaxCategoryID)
		for j := range it.ModifierGroups {
			resolve(fmt.Sprintf("%smodifier_group_ids[%d]", path, j), id.ModifierGroup, &it.ModifierGroups[j])
		}
	}
	return f.Err()
}

var kindName = map[string]string{id.TaxCategory: "tax category", id.Category: "category", id.ModifierGroup: "modifier group", id.Item: "item"}

// loadStored finds which objects exist already: those are replaced, keeping
// their creation time, at the next version. The rest are created.
func (r *batchRun) loadStored(ctx context.Context, res *BatchResult) error {
	var stale apperr.Fields
	now := r.s.now().UTC()
	// stamp sets the server-kept fields; found reports whether the object exists.
	stamp := func(path string, version *int64, created, updated *time.Time, stored storedMeta, found bool) {
		*updated = now
		if !found {
			*version, *created = 1, now
			res.Created++
			return
		}
		if *version != 0 && *version != stored.version {
			stale.Add(path+".version", fmt.Sprintf("is %d but the object is at version %d: re-read it", *version, stored.version))
		}
		*version, *created = stored.version+1, stored.created
		res.Updated++
	}
	for i, o := range r.b.TaxCategories {
		o.OrgID = r.orgID
		old, err := r.s.store.FindTaxCategory(ctx, r.orgID, o.ID)
		if err := ignoreNotFound(err); err != nil {
			return err
		}
		stamp(fmt.Sprintf("tax_categories[%d]", i), &o.Version, &o.CreatedAt, &o.UpdatedAt, old.meta(), old != nil)
		r.taxes[o.ID] = o
		r.keep(o.ID, old)
	}
	for i, o := range r.b.Categories {
		o.OrgID = r.orgID
		old, err := r.s.store.FindCategory(ctx, r.orgID, o.ID)
		if err := ignoreNotFound(err); err != nil {
			return err
		}
		stamp(fmt.Sprintf("categories[%d]", i), &o.Version, &o.CreatedAt, &o.UpdatedAt, old.meta(), old != nil)
		r.categories[o.ID] = o
		r.keep(o.ID, old)
	}
	for i, o := range r.b.ModifierGroups {
		o.OrgID = r.orgID
		old, err := r.s.modifiers.FindModifierGroup(ctx, r.orgID, o.ID)
		if err := ignoreNotFound(err); err != nil {
			return err
		}
		stamp(fmt.Sprintf("modifier_groups[%d]", i), &o.Version, &o.CreatedAt, &o.UpdatedAt, old.meta(), old != nil)
		r.groups[o.ID] = o
		r.keep(o.ID, old)
	}
	for i, o := range r.b.Items {
		o.OrgID = r.orgID
		old, err := r.s.items.FindItem(ctx, r.orgID, o.ID)
		if err := ignoreNotFound(err); err != nil {
			return err
		}
		stamp(fmt.Sprintf("items[%d]", i), &o.Version, &o.CreatedAt, &o.UpdatedAt, old.meta(), old != nil)
		r.items[o.ID] = true
		r.keep(o.ID, old)
	}
	if len(stale) > 0 {
		return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict",
			Detail: "objects in the batch were changed by someone else; re-read them and try again", Fields: stale}
	}
	return nil
}

type storedMeta struct {
	id      string
	version int64
	created time.Time
}

// meta returns an object's ID, version and creation time; nil has none.
func (t *TaxCategory) meta() (m storedMeta) {
	if t != nil {
		m = storedMeta{t.ID, t.Version, t.CreatedAt}
	}
	return m
}

func (c *Category) meta() (m storedMeta) {
	if c != nil {
		m = storedMeta{c.ID, c.Version, c.CreatedAt}
	}
	return m
}

func (g *ModifierGroup) meta() (m storedMeta) {
	if g != nil {
		m = storedMeta{g.ID, g.Version, g.CreatedAt}
	}
	return m
}

func (it *Item) meta() (m storedMeta) {
	if it != nil {
		m = storedMeta{it.ID, it.Version, it.CreatedAt}
	}
	return m
}

func ignoreNotFound(err error) error {
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	return err
}

// validate checks every object, collecting every problem.
func (r *batchRun) validate(ctx context.Context) error {
	var f apperr.Fields
	add := func(path string, err error) error {
		var ae *apperr.Error
		if err == nil {
			return nil
		}
		if !errors.As(err, &ae) || ae.Kind != apperr.Invalid {
			return err
		}
		for _, fe := range ae.Fields {
			f.Add(path+"."+fe.Field, fe.Reason)
		}
		return nil
	}
	for i, o := range r.b.TaxCategories {
		if err := add(fmt.Sprintf("tax_categories[%d]", i), o.validate()); err != nil {
			return err
		}
	}
	for i, o := range r.b.Categories {
		if err := add(fmt.Sprintf("categories[%d]", i), validateCategory(ctx, r, o)); err != nil {
			return err
		}
	}
	for i, o := range r.b.ModifierGroups {
		if err := add(fmt.Sprintf("modifier_groups[%d]", i), o.validate()); err != nil {
			return err
		}
	}
	barcodes := map[string]string{} // barcode → the field that has it
	for i, o := range r.b.Items {
		path := fmt.Sprintf("items[%d]", i)
		if err := add(path, validateItem(ctx, r, o)); err != nil {
			return err
		}
		if o.Archived {
			continue // an archived item's barcodes are free
		}
		for j, v := range o.Variants {
			for k, code := range v.Barcodes {
				field := fmt.Sprintf("%s.variants[%d].barcodes[%d]", path, j, k)
				if other, dup := barcodes[code]; dup && !strings.HasPrefix(other, path+".") {
					f.Add(field, code+" is also on "+other)
					continue
				}
				barcodes[code] = field
				holders, err := r.s.items.FindItems(ctx, r.orgID, ItemFilter{Barcode: code, Limit: 1})
				if err != nil {
					return err
				}
				if len(holders) > 0 && !r.items[holders[0].ID] {
					f.Add(field, code+" is already on another item ("+holders[0].Name+")")
				}
			}
		}
	}
	return f.Err()
}

// sortCategories puts parents before their children, so each insert finds
// its parent written.
func (r *batchRun) sortCategories() {
	var sorted []*Category
	done := map[string]bool{}
	var visit func(c *Category)
	visit = func(c *Category) {
		if done[c.ID] {
			return
		}
		done[c.ID] = true
		if p, ok := r.categories[c.ParentID]; ok {
			visit(p)
		}
		sorted = append(sorted, c)
	}
	for _, c := range r.b.Categories {
		visit(c)
	}
	r.b.Categories = sorted
}

// Category implements lookup: the batch's categories, then the store's.
func (r *batchRun) Category(ctx context.Context, orgID, id string) (*Category, error) {
	if c, ok := r.categories[id]; ok {
		return c, nil
	}
	return r.s.Category(ctx, orgID, id)
}

// TaxCategory implements lookup.
func (r *batchRun) TaxCategory(ctx context.Context, orgID, id string) (*TaxCategory, error) {
	if t, ok := r.taxes[id]; ok {
		return t, nil
	}
	return r.s.TaxCategory(ctx, orgID, id)
}

// ModifierGroup implements lookup.
func (r *batchRun) ModifierGroup(ctx context.Context, orgID, id string) (*ModifierGroup, error) {
	if g, ok := r.groups[id]; ok {
		return g, nil
	}
	return r.s.ModifierGroup(ctx, orgID, id)
}
