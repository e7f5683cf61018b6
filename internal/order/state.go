package order

import "github.com/fynlo/fynlo/internal/apperr"

// Status is where a check stands. docs/orders.md draws the same table as a
// diagram; TestStateDiagramMatchesTable keeps the two in step.
type Status string

// The check statuses.
const (
	StatusOpen      Status = "open"      // being ordered; nothing sent to the kitchen yet
	StatusSent      Status = "sent"      // some lines went to the kitchen; more may follow
	StatusPaid      Status = "paid"      // the balance is zero; waiting to be closed
	StatusClosed    Status = "closed"    // done; in the day's takings
	StatusCancelled Status = "cancelled" // abandoned before anything was sent or paid
	StatusVoided    Status = "voided"    // abandoned after sending, with a reason and order.void
)

// Action is something done to a whole check.
type Action string

// The check actions.
const (
	ActSend   Action = "send"   // send lines to the kitchen
	ActPay    Action = "pay"    // the last payment made the balance zero
	ActClose  Action = "close"  // close a paid (or zero) check
	ActCancel Action = "cancel" // nothing sent, nothing paid
	ActVoid   Action = "void"   // throw the check away after sending (order.void)
	ActReopen Action = "reopen" // a closed check back in service (order.reopen)
	ActMerge  Action = "merge"  // its lines moved to another check, which carries on
)

// checkMoves is the check state machine: for each action, the statuses it
// may start from and where it leads. Anything not listed is refused with
// 409 illegal_transition. Reopening leads back to open or sent, whichever
// the lines say (see reopenTo).
var checkMoves = map[Action]map[Status]Status{
	ActSend:   {StatusOpen: StatusSent, StatusSent: StatusSent},
	ActPay:    {StatusOpen: StatusPaid, StatusSent: StatusPaid},
	ActClose:  {StatusPaid: StatusClosed, StatusOpen: StatusClosed, StatusSent: StatusClosed},
	ActCancel: {StatusOpen: StatusCancelled},
	ActVoid:   {StatusOpen: StatusVoided, StatusSent: StatusVoided},
	ActReopen: {StatusClosed: StatusOpen},
	ActMerge:  {StatusOpen: StatusCancelled, StatusSent: StatusCancelled},
}

// editable reports whether lines may be added to or changed on a check.
func (s Status) editable() bool { return s == StatusOpen || s == StatusSent }

// Move returns where act leads from s, or a Conflict with code
// illegal_transition.
func (s Status) Move(act Action) (Status, error) {
	if to, ok := checkMoves[act][s]; ok {
		return to, nil
	}
	return s, apperr.New(apperr.Conflict, "illegal_transition", "a check that is "+string(s)+" cannot be "+pastTense[act])
}

var pastTense = map[Action]string{ActSend: "sent", ActPay: "paid", ActClose: "closed", ActCancel: "cancelled",
	ActVoid: "voided", ActReopen: "reopened", ActMerge: "merged"}

// LineState is where a line stands in the kitchen.
type LineState string

// The kitchen states of a line.
const (
	LineNew          LineState = "new"          // on the check, not yet sent
	LineHeld         LineState = "held"         // a later course, waiting to be fired
	LineSent         LineState = "sent"         // on a kitchen ticket
	LineAcknowledged LineState = "acknowledged" // the kitchen has seen it (and its allergens)
	LineReady        LineState = "ready"        // cooked; bumped off the screen
	LineServed       LineState = "served"       // at the table
	LineVoided       LineState = "voided"       // taken off the check
)

// LineAction is something done to a line's kitchen state.
type LineAction string

// The line actions.
const (
	LineActHold        LineAction = "hold"
	LineActSend        LineAction = "send"
	LineActAcknowledge LineAction = "acknowledge"
	LineActBump        LineAction = "bump"
	LineActRecall      LineAction = "recall"
	LineActServe       LineAction = "serve"
	LineActVoid        LineAction = "void"
)

// lineMoves is the line state machine, in the same form as checkMoves.
var lineMoves = map[LineAction]map[LineState]LineState{
	LineActHold:        {LineNew: LineHeld},
	LineActSend:        {LineNew: LineSent, LineHeld: LineSent},
	LineActAcknowledge: {LineSent: LineAcknowledged},
	LineActBump:        {LineSent: LineReady, LineAcknowledged: LineReady},
	LineActRecall:      {LineReady: LineAcknowledged},
	LineActServe:       {LineSent: LineServed, LineAcknowledged: LineServed, LineReady: LineServed},
	LineActVoid: {LineNew: LineVoided, LineHeld: LineVoided, LineSent: LineVoided, LineAcknowledged: LineVoided,
		LineReady: LineVoided, LineServed: LineVoided},
}

// Move returns where act leads from s, or a Conflict with code
// illegal_line_transition.
func (s LineState) Move(act LineAction) (LineState, error) {
	if to, ok := lineMoves[act][s]; ok {
		return to, nil
	}
	return s, apperr.New(apperr.Conflict, "illegal_line_transition", "a line that is "+string(s)+" cannot be "+string(act)+"ed")
}

// CanMove reports whether act is allowed from s.
func (s LineState) CanMove(act LineAction) bool {
	_, ok := lineMoves[act][s]
	return ok
}

// inKitchen reports whether the kitchen has the line: voiding it then
// wastes food and needs order.void.
func (s LineState) inKitchen() bool {
	return s == LineSent || s == LineAcknowledged || s == LineReady || s == LineServed
}
