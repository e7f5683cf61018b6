// Package menucsv reads and writes a menu as a spreadsheet: one row per
// variant of an item, the columns a restaurant already keeps its prices in.
//
// A file is read against the organization's current menu: rows with an
// item_id, or naming an item already in that category, replace that item
// (its variants keep their IDs by name); categories missing are created;
// tax categories and modifier groups must exist, by name. The result is one
// menu.Batch, so an import is written whole or not at all.
package menucsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
)

// Columns are the file's columns in the order Write puts them. Read takes
// them in any order; item, category, price and tax_category are required.
var Columns = []string{"item_id", "category", "item", "variant", "price", "currency", "sku", "barcodes", "tax_category",
	"kitchen_station", "course", "allergens", "dietary", "modifier_groups", "description", "image_url", "cost_price"}

var required = []string{"category", "item", "price", "tax_category"}

// listSep separates the values of a list cell, e.g. "fish|milk".
const listSep = "|"

// pathSep separates the levels of a nested category, e.g. "Wine > Red".
const pathSep = ">"

// Catalogue is an organization's menu as it stands, which a file is read against.
type Catalogue struct {
	Currency       string // for price cells without a currency column
	TaxCategories  []*menu.TaxCategory
	Categories     []*menu.Category
	ModifierGroups []*menu.ModifierGroup
	Items          []*menu.Item // archived ones too for Read: a row brings one back by its item_id
}

// RowError is a rejected line of the file and why.
type RowError struct {
	Line    int      `json:"line"`
	Reasons []string `json:"reasons"`
}

func (e RowError) String() string {
	return fmt.Sprintf("line %d: %s", e.Line, strings.Join(e.Reasons, "; "))
}

// Plan is a file read against a catalogue.
type Plan struct {
	Batch *menu.Batch
	Rows  int // data rows read

	rejected      map[int][]string // line → reasons found while reading
	itemLines     [][]int          // items[i].variants[j] came from line itemLines[i][j]
	categoryLines []int            // categories[k] was first named on this line
}

// ErrHeader is returned for a file whose first row is not a usable header.
var ErrHeader = errors.New("menucsv: bad header")

// Read parses a file. It fails only when the file cannot be read as CSV
// with a header; bad rows are collected, see Rejected.
func Read(r io.Reader, cat *Catalogue) (*Plan, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) // spreadsheets add a BOM
		if !slices.Contains(Columns, h) {
			return nil, fmt.Errorf("%w: unknown column %q (columns: %s)", ErrHeader, h, strings.Join(Columns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%w: column %q appears twice", ErrHeader, h)
		}
		col[h] = i
	}
	for _, h := range required {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("%w: column %q is missing", ErrHeader, h)
		}
	}
	rd := newReader(cat)
	rd.has = col
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rd.plan.Rows++
			rd.reject(pe.StartLine, "not readable as CSV: "+pe.Err.Error())
			continue
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		cell := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if slices.IndexFunc(rec, func(s string) bool { return strings.TrimSpace(s) != "" }) < 0 {
			continue // a blank line
		}
		rd.plan.Rows++
		rd.row(line, cell)
	}
	return rd.plan, nil
}

// reader builds a plan row by row.
type reader struct {
	cat  *Catalogue
	plan *Plan

	categories map[string]string               // lower-case path → ID or #client ID
	children   map[string]int                  // parent ID → categories under it, for new positions
	taxes      map[string]string               // lower-case name → ID
	groups     map[string]string               // lower-case name → ID
	existing   map[string]*menu.Item           // by ID, and by category ID + "\x00" + lower-case name
	items      map[string]int                  // item key → index in the batch
	variants   map[int]map[string]menu.Variant // batch index → lower-case variant name → the stored variant
	has        map[string]int                  // the file's columns
	itemCells  []map[string]string             // batch index → its item columns on its first line
}

// itemColumns describe the item, not the variant: given on an item's first
// row, and on its other rows either left empty or the same.
var itemColumns = []string{"description", "image_url", "tax_category", "kitchen_station", "course", "allergens", "dietary",
	"modifier_groups", "cost_price"}

func newReader(cat *Catalogue) *reader {
	rd := &reader{cat: cat, plan: &Plan{Batch: &menu.Batch{}, rejected: map[int][]string{}},
		categories: map[string]string{}, children: map[string]int{}, taxes: map[string]string{}, groups: map[string]string{},
		existing: map[string]*menu.Item{}, items: map[string]int{}, variants: map[int]map[string]menu.Variant{}}
	byID := map[string]*menu.Category{}
	for _, c := range cat.Categories {
		byID[c.ID] = c
		rd.children[c.ParentID]++
	}
	for _, c := range cat.Categories {
		rd.categories[strings.ToLower(categoryPath(c, byID))] = c.ID
	}
	for _, t := range cat.TaxCategories {
		rd.taxes[strings.ToLower(t.Name)] = t.ID
	}
	for _, g := range cat.ModifierGroups {
		rd.groups[strings.ToLower(g.Name)] = g.ID
	}
	for _, it := range cat.Items {
		rd.existing[it.ID] = it // an archived item comes back by its ID, not by its name
		if !it.Archived {
			rd.existing[it.CategoryID+"\x00"+strings.ToLower(it.Name)] = it
		}
	}
	return rd
}

// categoryPath is a category's name under its parents', as a cell holds it.
func categoryPath(c *menu.Category, byID map[string]*menu.Category) string {
	path := c.Name
	for p, depth := byID[c.ParentID], 0; p != nil && depth < 16; p, depth = byID[p.ParentID], depth+1 {
		path = p.Name + " " + pathSep + " " + path
	}
	return path
}

func (rd *reader) reject(line int, reason string) {
	rd.plan.rejected[line] = append(rd.plan.rejected[line], reason)
}

// row adds one line: a variant of an item, the item itself on its first line.
func (rd *reader) row(line int, cell func(string) string) {
	var reasons []string
	bad := func(col, reason string) { reasons = append(reasons, col+": "+reason) }
	name := cell("item")
	if name == "" {
		bad("item", "is required")
	}
	catID := rd.category(line, cell("category"), bad)
	currency := strings.ToUpper(cell("currency"))
	if currency == "" {
		currency = rd.cat.Currency
	}
	price, err := money.Parse(cell("price"), currency)
	if err != nil {
		bad("price", err.Error())
	}
	tax := ""
	if n := cell("tax_category"); n == "" {
		bad("tax_category", "is required")
	} else if tax = rd.taxes[strings.ToLower(n)]; tax == "" {
		bad("tax_category", "no tax category is named "+strconv.Quote(n))
	}
	var groups []string
	for _, n := range list(cell("modifier_groups")) {
		if g := rd.groups[strings.ToLower(n)]; g != "" {
			groups = append(groups, g)
		} else {
			bad("modifier_groups", "no modifier group is named "+strconv.Quote(n))
		}
	}
	course := 0
	if c := cell("course"); c != "" {
		if course, err = strconv.Atoi(c); err != nil {
			bad("course", "must be a whole number")
		}
	}
	var cost *money.Money
	if c := cell("cost_price"); c != "" {
		m, err := money.Parse(c, currency)
		if err != nil {
			bad("cost_price", err.Error())
		}
		cost = &m
	}
	if len(reasons) > 0 {
		rd.plan.rejected[line] = append(rd.plan.rejected[line], reasons...)
		return
	}

	variantName := cell("variant")
	if variantName == "" {
		variantName = "Regular"
	}
	v := menu.Variant{Name: variantName, Price: price, SKU: cell("sku"), Barcodes: list(cell("barcodes"))}
	key := cell("item_id")
	if key == "" {
		key = catID + "\x00" + strings.ToLower(name)
	}
	if i, ok := rd.items[key]; ok { // another variant of an item already read
		first := rd.plan.itemLines[i][0]
		for _, c := range itemColumns {
			if v := cell(c); v != "" && v != rd.itemCells[i][c] {
				reasons = append(reasons, fmt.Sprintf("%s: differs from line %d, where this item starts (leave it empty on its other rows)", c, first))
			}
		}
		if len(reasons) > 0 {
			rd.plan.rejected[line] = append(rd.plan.rejected[line], reasons...)
			return
		}
		it := rd.plan.Batch.Items[i]
		rd.keepVariant(i, &v)
		it.Variants = append(it.Variants, v)
		rd.plan.itemLines[i] = append(rd.plan.itemLines[i], line)
		return
	}
	it := &menu.Item{ID: cell("item_id"), CategoryID: catID, Name: name, Description: cell("description"), ImageURL: cell("image_url"),
		TaxCategoryID: tax, KitchenStation: strings.ToLower(cell("kitchen_station")), Course: course, CostPrice: cost,
		ModifierGroups: orEmpty(groups), Allergens: labels(cell("allergens")), Dietary: labels(cell("dietary"))}
	old := rd.existing[key] // keyed by item ID too
	i := len(rd.plan.Batch.Items)
	rd.variants[i] = map[string]menu.Variant{}
	rd.itemCells = append(rd.itemCells, map[string]string{})
	for _, c := range itemColumns {
		rd.itemCells[i][c] = cell(c)
	}
	switch {
	case old != nil:
		it.ID = old.ID
		for _, ov := range old.Variants {
			rd.variants[i][strings.ToLower(ov.Name)] = ov
		}
		rd.keepItem(it, old)
	case it.ID == "":
		it.ID = fmt.Sprintf("#line-%d", line)
	}
	rd.keepVariant(i, &v)
	it.Variants = []menu.Variant{v}
	rd.items[key] = i
	rd.plan.Batch.Items = append(rd.plan.Batch.Items, it)
	rd.plan.itemLines = append(rd.plan.itemLines, []int{line})
}

// keepItem keeps what the file has no column for as it is stored: a file
// of names and prices changes prices, and never erases allergens.
func (rd *reader) keepItem(it, old *menu.Item) {
	absent := func(c string) bool { _, ok := rd.has[c]; return !ok }
	if absent("description") {
		it.Description = old.Description
	}
	if absent("image_url") {
		it.ImageURL = old.ImageURL
	}
	if absent("kitchen_station") {
		it.KitchenStation = old.KitchenStation
	}
	if absent("course") {
		it.Course = old.Course
	}
	if absent("cost_price") {
		it.CostPrice = old.CostPrice
	}
	if absent("allergens") {
		it.Allergens = slices.Clone(old.Allergens)
	}
	if absent("dietary") {
		it.Dietary = slices.Clone(old.Dietary)
	}
	if absent("modifier_groups") {
		it.ModifierGroups = slices.Clone(old.ModifierGroups)
	}
}

// keepVariant gives a variant of a stored item its ID, and its SKU and
// barcodes when the file has no column for them.
func (rd *reader) keepVariant(i int, v *menu.Variant) {
	old, ok := rd.variants[i][strings.ToLower(v.Name)]
	if !ok {
		return
	}
	v.ID = old.ID
	if _, ok := rd.has["sku"]; !ok {
		v.SKU = old.SKU
	}
	if _, ok := rd.has["barcodes"]; !ok {
		v.Barcodes = slices.Clone(old.Barcodes)
	}
}

// category finds or plans the category a path names, level by level.
func (rd *reader) category(line int, path string, bad func(col, reason string)) string {
	parts := strings.Split(path, pathSep)
	parent, sofar := "", ""
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			bad("category", "is required (nest with "+pathSep+", e.g. Wine "+pathSep+" Red)")
			return ""
		}
		if sofar != "" {
			sofar += " " + pathSep + " "
		}
		sofar += strings.ToLower(p)
		id, ok := rd.categories[sofar]
		if !ok {
			id = fmt.Sprintf("#category-%d", len(rd.plan.Batch.Categories)+1)
			rd.categories[sofar] = id
			rd.plan.Batch.Categories = append(rd.plan.Batch.Categories,
				&menu.Category{ID: id, Name: p, ParentID: parent, Position: rd.children[parent]})
			rd.children[parent]++
			rd.plan.categoryLines = append(rd.plan.categoryLines, line)
		}
		parent = id
	}
	return parent
}

// list splits a list cell.
func list(cell string) []string {
	out := []string{}
	for _, v := range strings.Split(cell, listSep) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// labels reads allergens or dietary flags as people type them: "Tree nuts"
// is tree_nuts.
func labels(cell string) []string {
	out := list(cell)
	for i, v := range out {
		out[i] = strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(v))
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Rejected lists the bad lines, in order: those found while reading, and,
// given the error the batch was refused with, the lines its fields came
// from. Any other error is returned as it is.
func (p *Plan) Rejected(batchErr error) ([]RowError, error) {
	byLine := map[int][]string{}
	for l, rs := range p.rejected {
		byLine[l] = append(byLine[l], rs...)
	}
	if batchErr != nil {
		var ae *apperr.Error
		if !errors.As(batchErr, &ae) || len(ae.Fields) == 0 {
			return nil, batchErr
		}
		for _, f := range ae.Fields {
			line, column, ok := p.locate(f.Field)
			if !ok {
				return nil, batchErr
			}
			// A reason may point at another object of the batch ("is also
			// on items[6].variants[0]..."): the file knows it by its line.
			reason := refRE.ReplaceAllStringFunc(f.Reason, func(ref string) string {
				if l, _, ok := p.locate(ref); ok {
					return "line " + strconv.Itoa(l)
				}
				return ref
			})
			byLine[line] = append(byLine[line], column+": "+reason)
		}
	}
	out := make([]RowError, 0, len(byLine))
	for l, rs := range byLine {
		out = append(out, RowError{Line: l, Reasons: rs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out, nil
}

var refRE = regexp.MustCompile(`(items|categories)\[\d+\](\.[a-z_]+(\[\d+\])?)*`)

var fieldRE = regexp.MustCompile(`^(items|categories)\[(\d+)\](?:\.variants\[(\d+)\])?\.?([a-z_]*)`)

// columnOf is the column a field of the batch came from.
var columnOf = map[string]string{"id": "item_id", "name": "item", "category_id": "category", "tax_category_id": "tax_category",
	"modifier_group_ids": "modifier_groups", "cost_price": "cost_price", "kitchen_station": "kitchen_station", "course": "course",
	"allergens": "allergens", "dietary": "dietary", "description": "description", "image_url": "image_url", "variants": "variant"}

var variantColumnOf = map[string]string{"id": "item_id", "name": "variant", "price": "price", "sku": "sku", "barcodes": "barcodes"}

// locate maps a batch field such as "items[3].variants[1].price.amount"
// to its line and column.
func (p *Plan) locate(field string) (line int, column string, ok bool) {
	m := fieldRE.FindStringSubmatch(field)
	if m == nil {
		return 0, "", false
	}
	i, _ := strconv.Atoi(m[2])
	if m[1] == "categories" {
		if i >= len(p.categoryLines) {
			return 0, "", false
		}
		return p.categoryLines[i], "category", true
	}
	if i >= len(p.itemLines) {
		return 0, "", false
	}
	lines := p.itemLines[i]
	if m[3] != "" {
		j, _ := strconv.Atoi(m[3])
		if j >= len(lines) {
			return 0, "", false
		}
		c := variantColumnOf[m[4]]
		if c == "" {
			c = "variant"
		}
		return lines[j], c, true
	}
	c := columnOf[m[4]]
	if c == "" {
		c = m[4]
	}
	return lines[0], c, true
}

// Write writes the catalogue's items, one row per variant, by category
// order then name.
func Write(w io.Writer, cat *Catalogue) error {
	byID := map[string]*menu.Category{}
	for _, c := range cat.Categories {
		byID[c.ID] = c
	}
	names := func(ids []string, of map[string]string) string {
		out := make([]string, 0, len(ids))
		for _, id := range ids {
			out = append(out, of[id])
		}
		return strings.Join(out, listSep)
	}
	taxes, groups := map[string]string{}, map[string]string{}
	for _, t := range cat.TaxCategories {
		taxes[t.ID] = t.Name
	}
	for _, g := range cat.ModifierGroups {
		groups[g.ID] = g.Name
	}
	catOrder := map[string]int{}
	for i, c := range cat.Categories { // the store lists them by position
		catOrder[c.ID] = i
	}
	items := slices.Clone(cat.Items)
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if catOrder[a.CategoryID] != catOrder[b.CategoryID] {
			return catOrder[a.CategoryID] < catOrder[b.CategoryID]
		}
		return strings.ToLower(a.Name) < strings.ToLower(b.Name)
	})
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, it := range items {
		cost := ""
		if it.CostPrice != nil {
			cost = it.CostPrice.Decimal()
		}
		course := ""
		if it.Course != 0 {
			course = strconv.Itoa(it.Course)
		}
		catPath := ""
		if c := byID[it.CategoryID]; c != nil {
			catPath = categoryPath(c, byID)
		}
		for _, v := range it.Variants {
			if err := cw.Write([]string{it.ID, catPath, it.Name, v.Name, v.Price.Decimal(), v.Price.Currency, v.SKU,
				strings.Join(v.Barcodes, listSep), taxes[it.TaxCategoryID], it.KitchenStation, course,
				strings.Join(it.Allergens, listSep), strings.Join(it.Dietary, listSep), names(it.ModifierGroups, groups),
				it.Description, it.ImageURL, cost}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
