package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/sqlstore"
)

// checkCeilingCommand is the hidden subcommand that serves the checks
// scenario's ceiling: a bare net/http server whose POST writes the rows a
// check opened with its lines and sent to the kitchen leaves in the
// database, with hand-written SQL, on the engine the server runs on and
// with its settings. It does the least a correct server must: decode the
// request, make the IDs, write every row (the receipt-number counter, the
// check, its lines and operations, the tickets and their lines, the events
// and the hash-chained audit entries) in final form and answer with a body
// as big as fynlo's. It reads nothing, prices nothing, checks no token and
// publishes no event.
const checkCeilingCommand = "checks-ceiling-server"

// checkTemplate is what a real check looked like, taken from the server's
// answers in the same run: the ceiling writes bodies of these sizes.
type checkTemplate struct {
	Create json.RawMessage `json:"create"` // POST /api/v1/orders → 201 body
	Send   json.RawMessage `json:"send"`   // POST /api/v1/orders/{id}/send → 200 body
}

// checkRows are the JSON values a check's rows and events carry.
type checkRows struct {
	orgID, locationID, actorID, currency, orderType string
	total                                           int64

	orderOpen, orderSent []byte   // orders.body (the check without its lines)
	linesOpen, linesSent [][]byte // order_lines.body
	tickets              [][]byte // tickets.body and ticket.created data
	stations             []string // one per ticket
	lineStation          []int    // line i → ticket index
	created, updated     []byte   // order.created and order.updated data
	createAnswer         []byte   // 2-transaction mode: the answer to the open
	sendAnswer           []byte   // 2-transaction mode: the answer to the send
	bothAnswer           []byte   // 1-transaction mode: both answers in one body
}

// parseCheckTemplate derives the rows from the server's answers.
func parseCheckTemplate(t checkTemplate) (*checkRows, error) {
	var created, sent struct {
		Order   map[string]json.RawMessage   `json:"order"`
		Tickets []map[string]json.RawMessage `json:"tickets"`
	}
	if err := json.Unmarshal(t.Create, &created.Order); err != nil {
		return nil, fmt.Errorf("create answer: %w", err)
	}
	if err := json.Unmarshal(t.Send, &sent); err != nil {
		return nil, fmt.Errorf("send answer: %w", err)
	}
	r := &checkRows{created: t.Create, createAnswer: t.Create, sendAnswer: t.Send}
	r.bothAnswer = []byte(`{"order_created":` + string(t.Create) + `,"sent":` + string(t.Send) + `}`)
	str := func(m map[string]json.RawMessage, k string) string {
		var s string
		_ = json.Unmarshal(m[k], &s)
		return s
	}
	o := sent.Order
	r.orgID, r.locationID, r.actorID, r.currency, r.orderType = str(o, "organization_id"), str(o, "location_id"), str(o, "server_id"),
		str(o, "currency"), str(o, "type")
	var totals struct {
		Total struct {
			Amount int64 `json:"amount"`
		} `json:"total"`
	}
	_ = json.Unmarshal(o["totals"], &totals)
	r.total = totals.Total.Amount
	var err error
	if r.updated, err = json.Marshal(o); err != nil {
		return nil, err
	}
	withoutLines := func(m map[string]json.RawMessage) ([]byte, [][]byte, error) {
		var lines []json.RawMessage
		if err := json.Unmarshal(m["lines"], &lines); err != nil {
			return nil, nil, err
		}
		c := map[string]json.RawMessage{}
		for k, v := range m {
			if k != "lines" {
				c[k] = v
			}
		}
		b, err := json.Marshal(c)
		out := make([][]byte, len(lines))
		for i, l := range lines {
			out[i] = l
		}
		return b, out, err
	}
	if r.orderOpen, r.linesOpen, err = withoutLines(created.Order); err != nil {
		return nil, err
	}
	if r.orderSent, r.linesSent, err = withoutLines(sent.Order); err != nil {
		return nil, err
	}
	if len(r.linesSent) == 0 || len(sent.Tickets) == 0 {
		return nil, errors.New("the template check has no lines or no tickets")
	}
	lineTicket := map[string]int{}
	for i, t := range sent.Tickets {
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		r.tickets = append(r.tickets, b)
		r.stations = append(r.stations, str(t, "station"))
		var tl []struct {
			LineID string `json:"line_id"`
		}
		_ = json.Unmarshal(t["lines"], &tl)
		for _, l := range tl {
			lineTicket[l.LineID] = i
		}
	}
	for _, raw := range r.linesSent {
		var l struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &l)
		ti, ok := lineTicket[l.ID]
		if !ok {
			return nil, errors.New("the template has a line on no ticket; pick items every one of which reaches a station")
		}
		r.lineStation = append(r.lineStation, ti)
	}
	return r, nil
}

// checkCeiling is the running ceiling server.
type checkCeiling struct {
	engine sqlstore.Engine
	db     *sql.DB
	rows   *checkRows
	stmts  map[string]*sql.Stmt
	loc    *time.Location
}

// The statements the ceiling runs, by name. Each row is written once, in
// its final form; the counters move once per transaction.
var checkCeilingSQL = map[string]string{
	"number": `INSERT INTO order_numbers (location_id, business_date, last) VALUES ($1, $2, 1)
		ON CONFLICT (location_id, business_date) DO UPDATE SET last = order_numbers.last + 1 RETURNING last`,
	"order": `INSERT INTO orders (id, org_id, location_id, number, business_date, type, table_id, status, body, version, created_at, updated_at, currency, total)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
	"order_update": `UPDATE orders SET type = $1, table_id = $2, status = $3, total = $4, body = $5, version = $6, updated_at = $7
		WHERE org_id = $8 AND id = $9`,
	"line":        `INSERT INTO order_lines (id, org_id, order_id, item_id, kitchen_state, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
	"line_update": `UPDATE order_lines SET kitchen_state = $1, body = $2 WHERE id = $3`,
	"op":          `INSERT INTO order_ops (order_id, op_id, type, line_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
	"ticket": `INSERT INTO tickets (id, org_id, location_id, order_id, station, status, body, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
	"ticket_line": `INSERT INTO ticket_lines (line_id, station, ticket_id) VALUES ($1, $2, $3)`,
	"event_seq":   `UPDATE organizations SET event_seq = event_seq + $1 WHERE id = $2 RETURNING event_seq`,
	"event":       `INSERT INTO events (org_id, seq, location_id, type, subject_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
	"audit_seq":   `UPDATE organizations SET audit_seq = audit_seq + $1 WHERE id = $2 RETURNING audit_seq, audit_head`,
	"audit": `INSERT INTO audit_events (org_id, seq, location_id, actor_id, action, subject_id, detail, created_at, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
	"audit_head": `UPDATE organizations SET audit_head = $1 WHERE id = $2`,
	"lines_of":   `SELECT id FROM order_lines WHERE order_id = $1 ORDER BY created_at, id`,
}

// checkCeilingServer runs the ceiling: -db is a postgres:// URL (a fresh
// database is made beside the one named, and dropped at exit) or a
// directory for a fresh SQLite file. It prints its address on stdout and
// exits when stdin closes.
func checkCeilingServer(args []string) error {
	fs := flag.NewFlagSet(checkCeilingCommand, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	dbFlag := fs.String("db", "", "postgres:// URL, or a directory for a fresh SQLite database")
	tmplFile := fs.String("template", "", "JSON file: {create, send} answers of a real check")
	maxConns := fs.Int("max-conns", 16, "PostgreSQL pool size (the server's FYNLO_DB_MAX_CONNS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raw, err := os.ReadFile(*tmplFile)
	if err != nil {
		return err
	}
	var tmpl checkTemplate
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		return err
	}
	rows, err := parseCheckTemplate(tmpl)
	if err != nil {
		return err
	}
	ctx := context.Background()
	c := &checkCeiling{rows: rows, stmts: map[string]*sql.Stmt{}, loc: time.UTC}
	var cleanup func()
	if strings.HasPrefix(*dbFlag, "postgres://") || strings.HasPrefix(*dbFlag, "postgresql://") {
		c.engine = sqlstore.Postgres
		dsn, drop, err := freshPostgres(ctx, *dbFlag)
		if err != nil {
			return err
		}
		cleanup = drop
		if err := migrateFresh(ctx, dsn); err != nil {
			drop()
			return err
		}
		if c.db, err = sql.Open("pgx", dsn); err != nil {
			drop()
			return err
		}
		c.db.SetMaxOpenConns(*maxConns)
		c.db.SetMaxIdleConns(*maxConns)
		c.db.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		c.engine = sqlstore.SQLite
		path := filepath.Join(*dbFlag, "ceiling.db")
		if err := migrateFresh(ctx, path); err != nil {
			return err
		}
		// The server's write pool, to the letter (internal/sqlstore openSQLite).
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "busy_timeout(10000)"} {
			q.Add("_pragma", p)
		}
		q.Set("_time_format", "sqlite")
		q.Set("_txlock", "immediate")
		if c.db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode()); err != nil {
			return err
		}
		c.db.SetMaxOpenConns(1)
		c.db.SetMaxIdleConns(1)
		c.db.SetConnMaxLifetime(0)
		c.db.SetConnMaxIdleTime(0)
	}
	defer func() {
		for _, st := range c.stmts {
			st.Close()
		}
		c.db.Close()
		if cleanup != nil {
			cleanup()
		}
	}()
	if err := c.seed(ctx); err != nil {
		return err
	}
	for name, q := range checkCeilingSQL {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", name, err)
		}
		c.stmts[name] = st
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /api/v1/checks", c.handleCheck)          // one transaction per check
	mux.HandleFunc("POST /api/v1/orders", c.handleOpen)           // two: the open ...
	mux.HandleFunc("POST /api/v1/orders/{id}/send", c.handleSend) // ... and the send
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	fmt.Println(l.Addr().String())
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// freshPostgres creates an empty database on the server dsn names and
// returns its URL and a function that drops it.
func freshPostgres(ctx context.Context, dsn string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("%s_ceiling_%d", strings.TrimPrefix(u.Path, "/"), os.Getpid())
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		admin.Close(ctx)
		return "", nil, fmt.Errorf("create ceiling database: %w", err)
	}
	drop := func() {
		_, _ = admin.Exec(context.Background(), `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
		admin.Close(context.Background())
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// migrateFresh applies the server's own migrations, so the ceiling writes
// into the same tables, indexes and constraints.
func migrateFresh(ctx context.Context, dsn string) error {
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Migrate(ctx)
	return err
}

// seed writes the organization and location the checks belong to (the
// rows their foreign keys name).
func (c *checkCeiling) seed(ctx context.Context) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := c.rows
	if _, err := c.db.ExecContext(ctx, `INSERT INTO organizations (id, name, country, currency, timezone, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.orgID, "Ceiling Arms", "GB", r.currency, "Europe/London", now); err != nil {
		return fmt.Errorf("seed organization: %w", err)
	}
	if _, err := c.db.ExecContext(ctx, `INSERT INTO locations (id, org_id, name, address, country, timezone, currency, business_day_cutoff, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.locationID, r.orgID, "Ceiling Arms", "1 Bench Street", "GB", "Europe/London", r.currency, "04:00", 1, now, now); err != nil {
		return fmt.Errorf("seed location: %w", err)
	}
	return nil
}

// checkRequest is the part of POST /api/v1/orders the rows need.
type checkRequest struct {
	ID     string `json:"id"`   // client-chosen, or made here
	Send   bool   `json:"send"` // open and send in one (fynlo's send: true)
	Type   string `json:"type"`
	Covers int    `json:"covers"`
	Lines  []struct {
		OpID      string `json:"op_id"`
		ItemID    string `json:"item_id"`
		VariantID string `json:"variant_id"`
		Quantity  int    `json:"quantity"`
	} `json:"lines"`
}

// txWriter writes rows inside one transaction through the prepared
// statements.
type txWriter struct {
	ctx context.Context
	tx  *sql.Tx
	c   *checkCeiling
}

func (w txWriter) exec(name string, args ...any) error {
	_, err := w.tx.StmtContext(w.ctx, w.c.stmts[name]).ExecContext(w.ctx, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (w txWriter) row(name string, args ...any) *sql.Row {
	return w.tx.StmtContext(w.ctx, w.c.stmts[name]).QueryRowContext(w.ctx, args...)
}

// event is one event of a check: its outbox row and its audit entry.
type ceilingEvent struct {
	typ, subject string
	data         []byte
}

// appendEvents bumps both counters once and writes the events and the
// hash-chained audit entries.
func (w txWriter) appendEvents(evs []ceilingEvent, at time.Time) error {
	r := w.c.rows
	n := int64(len(evs))
	var last int64
	if err := w.row("event_seq", n, r.orgID).Scan(&last); err != nil {
		return fmt.Errorf("event_seq: %w", err)
	}
	for i, e := range evs {
		if err := w.exec("event", r.orgID, last-n+1+int64(i), r.locationID, e.typ, e.subject, string(e.data), at); err != nil {
			return err
		}
	}
	var alast int64
	var prev string
	if err := w.row("audit_seq", n, r.orgID).Scan(&alast, &prev); err != nil {
		return fmt.Errorf("audit_seq: %w", err)
	}
	for i, e := range evs {
		a := audit.Entry{Seq: alast - n + 1 + int64(i), OrgID: r.orgID, LocationID: r.locationID, ActorID: r.actorID, Action: e.typ,
			SubjectID: e.subject, Detail: e.data, At: at, PrevHash: prev}
		a.Hash = a.ComputeHash()
		if err := w.exec("audit", r.orgID, a.Seq, a.LocationID, a.ActorID, a.Action, a.SubjectID, string(a.Detail), at, a.PrevHash, a.Hash); err != nil {
			return err
		}
		prev = a.Hash
	}
	return w.exec("audit_head", prev, r.orgID)
}

// check is one check's identifiers.
type ceilingCheck struct {
	orderID string
	lineIDs []string
	at      time.Time
	date    string
	itemIDs []string
	opIDs   []string
	typ     string
}

func (c *checkCeiling) newCheck(req *checkRequest) ceilingCheck {
	now := time.Now().UTC().Truncate(time.Microsecond)
	k := ceilingCheck{orderID: req.ID, at: now, date: now.In(c.loc).Format(time.DateOnly), typ: req.Type}
	if k.orderID == "" {
		k.orderID = id.New(id.Order)
	}
	for i, l := range req.Lines {
		k.lineIDs = append(k.lineIDs, id.New(id.Line))
		k.itemIDs = append(k.itemIDs, l.ItemID)
		op := l.OpID
		if op == "" {
			op = "op" + strconv.Itoa(i)
		}
		k.opIDs = append(k.opIDs, op)
	}
	return k
}

// writeOpen writes what opening the check writes: the number, the check,
// its lines and operations. final writes the check and lines as they are
// after the send (one transaction per check).
func (c *checkCeiling) writeOpen(w txWriter, k ceilingCheck, final bool) error {
	r := c.rows
	var number int
	if err := w.row("number", r.locationID, k.date).Scan(&number); err != nil {
		return fmt.Errorf("number: %w", err)
	}
	body, lines, status, version, state := r.orderOpen, r.linesOpen, "open", 1, "new"
	if final {
		body, lines, status, version, state = r.orderSent, r.linesSent, "sent", 2, "sent"
	}
	if err := w.exec("order", k.orderID, r.orgID, r.locationID, number, k.date, k.typ, nil, status, string(body), version, k.at, k.at,
		r.currency, r.total); err != nil {
		return err
	}
	for i, lid := range k.lineIDs {
		if err := w.exec("line", lid, r.orgID, k.orderID, k.itemIDs[i], state, string(lines[i%len(lines)]), k.at); err != nil {
			return err
		}
	}
	for i, lid := range k.lineIDs {
		if err := w.exec("op", k.orderID, k.opIDs[i], "add_line", lid, k.at); err != nil {
			return err
		}
	}
	return nil
}

// writeTickets writes the tickets and their lines; it returns their events.
func (c *checkCeiling) writeTickets(w txWriter, k ceilingCheck) ([]ceilingEvent, error) {
	r := c.rows
	ids := make([]string, len(r.tickets))
	var evs []ceilingEvent
	for i, body := range r.tickets {
		ids[i] = id.New(id.Ticket)
		if err := w.exec("ticket", ids[i], r.orgID, r.locationID, k.orderID, r.stations[i], "open", string(body), 1, k.at, k.at); err != nil {
			return nil, err
		}
		evs = append(evs, ceilingEvent{"ticket.created", ids[i], body})
	}
	for i, lid := range k.lineIDs {
		t := r.lineStation[i%len(r.lineStation)]
		if err := w.exec("ticket_line", lid, r.stations[t], ids[t]); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

// inTx runs fn in a transaction on the write pool and commits it.
func (c *checkCeiling) inTx(ctx context.Context, fn func(w txWriter) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(txWriter{ctx, tx, c}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func decodeCheck(w http.ResponseWriter, r *http.Request) (*checkRequest, bool) {
	var req checkRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || len(req.Lines) == 0 {
		http.Error(w, "bad check", http.StatusUnprocessableEntity)
		return nil, false
	}
	return &req, true
}

func (c *checkCeiling) fail(w http.ResponseWriter, err error) {
	fmt.Fprintln(os.Stderr, "checks ceiling:", err)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// handleCheck writes a whole check, sent, in one transaction: the events of
// an open and a send (order.created, order.updated, a ticket.created per
// ticket) or, for a request with send: true, those of fynlo's open-and-send
// (order.created of the sent check and the tickets'), answering as fynlo
// does (both answers, or the sent check).
func (c *checkCeiling) handleCheck(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeCheck(w, r)
	if !ok {
		return
	}
	k := c.newCheck(req)
	err := c.inTx(r.Context(), func(tw txWriter) error {
		if err := c.writeOpen(tw, k, true); err != nil {
			return err
		}
		evs, err := c.writeTickets(tw, k)
		if err != nil {
			return err
		}
		head := []ceilingEvent{{"order.created", k.orderID, c.rows.created}, {"order.updated", k.orderID, c.rows.updated}}
		if req.Send {
			head = []ceilingEvent{{"order.created", k.orderID, c.rows.updated}}
		}
		return tw.appendEvents(append(head, evs...), k.at)
	})
	if err != nil {
		c.fail(w, err)
		return
	}
	if req.Send {
		writeJSON(w, http.StatusCreated, c.rows.updated)
		return
	}
	writeJSON(w, http.StatusCreated, c.rows.bothAnswer)
}

// handleOpen writes the open check (two-transaction mode) and answers
// {"id", "version"} ahead of a body as big as fynlo's.
func (c *checkCeiling) handleOpen(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeCheck(w, r)
	if !ok {
		return
	}
	k := c.newCheck(req)
	err := c.inTx(r.Context(), func(tw txWriter) error {
		if err := c.writeOpen(tw, k, false); err != nil {
			return err
		}
		return tw.appendEvents([]ceilingEvent{{"order.created", k.orderID, c.rows.created}}, k.at)
	})
	if err != nil {
		c.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, c.answerWithID(k.orderID, c.rows.createAnswer))
}

// answerWithID puts the new check's ID and version ahead of the template
// answer (a JSON object; duplicate keys: the first wins for this tool's
// decoder, and the body keeps its size).
func (c *checkCeiling) answerWithID(orderID string, tmpl []byte) []byte {
	head := `{"id":"` + orderID + `","version":1,"template":`
	return []byte(head + string(tmpl) + `}`)
}

// handleSend moves the check and its lines to sent and writes the
// tickets (two-transaction mode).
func (c *checkCeiling) handleSend(w http.ResponseWriter, r *http.Request) {
	orderID := r.PathValue("id")
	var body struct {
		Version int64 `json:"version"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		http.Error(w, "bad send", http.StatusUnprocessableEntity)
		return
	}
	rows := c.rows
	k := ceilingCheck{orderID: orderID, at: time.Now().UTC().Truncate(time.Microsecond)}
	err := c.inTx(r.Context(), func(tw txWriter) error {
		// The send reads the check's lines, as a real send must (the one read
		// the ceiling makes).
		lq, err := tw.tx.StmtContext(tw.ctx, c.stmts["lines_of"]).QueryContext(tw.ctx, orderID)
		if err != nil {
			return err
		}
		for lq.Next() {
			var lid string
			if err := lq.Scan(&lid); err != nil {
				lq.Close()
				return err
			}
			k.lineIDs = append(k.lineIDs, lid)
		}
		lq.Close()
		if len(k.lineIDs) == 0 {
			return errors.New("no such check " + orderID)
		}
		if err := tw.exec("order_update", rows.orderType, nil, "sent", rows.total, string(rows.orderSent), 2, k.at, rows.orgID, orderID); err != nil {
			return err
		}
		for i, lid := range k.lineIDs {
			if err := tw.exec("line_update", "sent", string(rows.linesSent[i%len(rows.linesSent)]), lid); err != nil {
				return err
			}
		}
		evs, err := c.writeTickets(tw, k)
		if err != nil {
			return err
		}
		return tw.appendEvents(append([]ceilingEvent{{"order.updated", orderID, rows.updated}}, evs...), k.at)
	})
	if err != nil {
		c.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rows.sendAnswer)
}
