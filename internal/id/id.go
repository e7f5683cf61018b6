// Package id makes the identifiers of Fynlo objects: a type prefix and a
// time-ordered ULID body, such as "loc_01jdq3x2v8s9k7m4n5p6q7r8s9".
//
// Time order keeps B-tree inserts local and lets IDs sort by creation;
// the prefix makes a pasted ID self-describing. Clients may bring their own
// IDs (offline iPads do); Valid checks such an ID has the right shape.
package id

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Prefixes of the object types defined so far.
const (
	Organization  = "org"
	Location      = "loc"
	User          = "usr"
	Session       = "ses"
	Role          = "rol"
	Employee      = "emp"
	Device        = "dev"
	Approval      = "apv"
	Mail          = "mail"
	TaxCategory   = "txc"
	Category      = "cat"
	Item          = "itm"
	Variant       = "var"
	ModifierGroup = "mgp"
	Modifier      = "mod"
	Table         = "tbl"
	Order         = "ord"
	Line          = "oln"
	Station       = "kst"
	Ticket        = "tkt"
	Payment       = "pay"
	Refund        = "rfd"
	Drawer        = "drw"
	DrawerSession = "dss"
	Movement      = "dmv"
)

var (
	mu      sync.Mutex
	entropy = ulid.Monotonic(rand.Reader, 0)
)

// New returns a new ID with the given prefix.
func New(prefix string) string {
	mu.Lock()
	u := ulid.MustNew(ulid.Timestamp(time.Now()), entropy)
	mu.Unlock()
	return prefix + "_" + strings.ToLower(u.String())
}

// Valid reports whether s is a well-formed ID with the given prefix.
func Valid(prefix, s string) bool {
	body, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(body) != ulid.EncodedSize {
		return false
	}
	_, err := ulid.ParseStrict(strings.ToUpper(body))
	return err == nil
}
