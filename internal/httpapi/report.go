package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/cash"
	"github.com/fynlo/fynlo/internal/money"
)

type dayReportInput struct {
	LocationID   string `query:"location_id" maxLength:"64" doc:"required with an owner's token; a staff token's own location otherwise"`
	BusinessDate string `query:"business_date" maxLength:"10" doc:"YYYY-MM-DD; the location's current business day if left out"`
}

type dayReportOutput struct {
	Body *cash.DayReport
}

type dayReportPageOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	CSP          string `header:"Content-Security-Policy"`
	Body         []byte
}

type sessionReportOutput struct {
	Body *cash.SessionReport
}

const dayReportDescription = "The business day's figures, worked out from its rows each time: checks, sales (gross, discounts, comps, " +
	"net sales, service charge, tax, total), VAT by rate, voids, tenders by method, tips by server, refunds, and each drawer session's " +
	"count. `kind` is X while any check of the day is not closed or any drawer session of the day is open, Z once none is. " +
	"`reconciliation` lists the identities the figures satisfy, each checked, and `sources` says how to reproduce every group " +
	"from the API. `definitions` says what each figure means. A staff token may ask for its own location only."

func (s *Server) routeReports() {
	tags := []string{"Reports"}
	huma.Register(s.api, huma.Operation{
		OperationID: "report-day", Method: http.MethodGet, Path: "/api/v1/reports/day", Tags: tags,
		Summary: "The X or Z report of a location's business day", Description: dayReportDescription,
		Security: bearer, Errors: []int{401, 403, 404, 422}, Metadata: needs(auth.PermReportView),
	}, s.handleDayReport)
	huma.Register(s.api, huma.Operation{
		OperationID: "report-day-page", Method: http.MethodGet, Path: "/api/v1/reports/day.html", Tags: tags,
		Summary:     "The X or Z report of a business day, as a page to print",
		Description: "The same report as `GET /api/v1/reports/day`, as one self-contained HTML page (no scripts, no external assets).",
		Security:    bearer, Errors: []int{401, 403, 404, 422}, Metadata: needs(auth.PermReportView),
		Responses: map[string]*huma.Response{"200": {Description: "the report as a printable page",
			Content: map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: "string"}}}}},
	}, s.handleDayReportPage)
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-session-report", Method: http.MethodGet, Path: "/api/v1/cash-drawers/{id}/sessions/{session_id}/report",
		Tags: []string{"Cash drawers", "Reports"}, Summary: "The X (open) or Z (closed) report of a drawer session",
		Description: "Its summary, what was counted, the variance and who approved it, with the rows the figures add up: its cash " +
			"payments, its cash refunds and its movements. `reconciliation` checks the summary against the rows.",
		Security: bearer, Errors: []int{401, 403, 404}, Metadata: needs(auth.PermReportView),
	}, s.handleDrawerSessionReport)
}

func (s *Server) handleDayReport(ctx context.Context, in *dayReportInput) (*dayReportOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.cash.DayReport(ctx, a, in.LocationID, in.BusinessDate)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &dayReportOutput{Body: r}, nil
}

func (s *Server) handleDayReportPage(ctx context.Context, in *dayReportInput) (*dayReportPageOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.cash.DayReport(ctx, a, in.LocationID, in.BusinessDate)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	var b bytes.Buffer
	if err := dayReportPage.Execute(&b, r); err != nil {
		return nil, problemFor(ctx, s.logger, fmt.Errorf("render day report: %w", err))
	}
	return &dayReportPageOutput{ContentType: "text/html; charset=utf-8", CacheControl: "no-store",
		CSP: "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", Body: b.Bytes()}, nil
}

func (s *Server) handleDrawerSessionReport(ctx context.Context, in *drawerSessionPath) (*sessionReportOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.cash.SessionReport(ctx, a, in.ID, in.SessionID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &sessionReportOutput{Body: r}, nil
}

// reportFuncs format a report's values; html/template escapes what they return.
var reportFuncs = template.FuncMap{
	"money": func(m money.Money) string { return m.Decimal() + " " + m.Currency },
	"moneyp": func(m *money.Money) string {
		if m == nil {
			return "—"
		}
		return m.Decimal() + " " + m.Currency
	},
	"rate": func(bp int) string { return fmt.Sprintf("%d.%02d%%", bp/100, bp%100) },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"or": func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	},
}

var dayReportPage = template.Must(template.New("day").Funcs(reportFuncs).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Kind}} report · {{.LocationName}} · {{.BusinessDate}}</title>
<style>
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font: 11pt/1.35 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #111; margin: 0 auto; max-width: 820px; padding: 16px; }
h1 { font-size: 18pt; margin: 0 0 2px; }
h2 { font-size: 12pt; margin: 18px 0 6px; padding-bottom: 2px; border-bottom: 2px solid #111; text-transform: uppercase; letter-spacing: .04em; }
.meta { color: #444; margin: 0 0 4px; }
.kind { display: inline-block; font-weight: 700; border: 2px solid #111; padding: 0 8px; margin-right: 8px; }
.warn { border: 1px solid #b00; color: #b00; padding: 6px 8px; margin: 8px 0; }
table { width: 100%; border-collapse: collapse; margin: 0 0 6px; }
th, td { padding: 3px 6px; border-bottom: 1px solid #ccc; text-align: left; vertical-align: top; }
th { font-size: 9pt; text-transform: uppercase; color: #444; border-bottom: 1px solid #111; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 700; border-top: 1px solid #111; border-bottom: 2px solid #111; }
.ok { color: #060; } .bad { color: #b00; font-weight: 700; }
.small { font-size: 8.5pt; color: #444; }
section { break-inside: avoid; page-break-inside: avoid; }
table.wide { font-size: 9.5pt; }
section.small p { overflow-wrap: anywhere; }
table.wide th, table.wide td { padding: 3px 4px; }
@media print { body { padding: 0; max-width: none; font-size: 10pt; } .warn { border-color: #000; color: #000; } }
</style>
</head>
<body>
<header>
<h1><span class="kind">{{.Kind}}</span>{{.LocationName}}</h1>
<p class="meta">Business day {{.BusinessDate}} · {{.Currency}}{{if .VATNumber}} · VAT {{.VATNumber}}{{end}} · printed {{when .GeneratedAt}}</p>
{{if .StillOpen}}<div class="warn"><strong>X report: the day is not finished.</strong> {{range $i, $s := .StillOpen}}{{if $i}}; {{end}}{{$s}}{{end}}.</div>{{end}}
</header>

<section>
<h2>Checks</h2>
<table>
<tr><td>Closed checks</td><td class="n">{{.Checks.Closed}}</td></tr>
<tr><td>Covers</td><td class="n">{{.Checks.Covers}}</td></tr>
<tr><td>Average check (net sales ÷ closed checks)</td><td class="n">{{money .Checks.AverageCheck}}</td></tr>
<tr><td>Open checks (not in sales)</td><td class="n">{{.Checks.Open}} · {{money .Checks.OpenTotal}} (paid {{money .Checks.OpenPaid}})</td></tr>
<tr><td>Cancelled checks</td><td class="n">{{.Checks.Cancelled}}</td></tr>
<tr><td>Voided checks</td><td class="n">{{.Checks.Voided}}</td></tr>
</table>
{{if .Checks.OpenList}}<table>
<tr><th>Open check</th><th>Status</th><th>Server</th><th class="n">Total</th><th class="n">Paid</th><th class="n">Balance</th></tr>
{{range .Checks.OpenList}}<tr><td>#{{.Number}}</td><td>{{.Status}}</td><td>{{or .ServerName .ServerID}}</td><td class="n">{{money .Total}}</td><td class="n">{{money .Paid}}</td><td class="n">{{money .Balance}}</td></tr>
{{end}}</table>{{end}}
</section>

<section>
<h2>Sales (closed checks)</h2>
<table>
<tr><td>Gross sales</td><td class="n">{{money .Sales.Gross}}</td></tr>
<tr><td>− Discounts ({{.Sales.DiscountCount}})</td><td class="n">{{money .Sales.Discounts}}</td></tr>
<tr><td>− Comps ({{.Sales.CompCount}})</td><td class="n">{{money .Sales.Comps}}</td></tr>
<tr class="total"><td>Net sales</td><td class="n">{{money .Sales.NetSales}}</td></tr>
<tr><td>+ Service charge</td><td class="n">{{money .Sales.ServiceCharge}}</td></tr>
<tr><td>+ Tax added</td><td class="n">{{money .Sales.TaxAdded}}</td></tr>
<tr class="total"><td>Total</td><td class="n">{{money .Sales.Total}}</td></tr>
<tr><td>Tax included in prices</td><td class="n">{{money .Sales.TaxIncluded}}</td></tr>
<tr><td>Net sales excluding tax</td><td class="n">{{money .Sales.NetSalesExTax}}</td></tr>
</table>
</section>

<section>
<h2>VAT</h2>
<table>
<tr><th>Rate</th><th class="n">Net</th><th class="n">VAT</th><th class="n">Gross</th></tr>
{{range .VAT}}<tr><td>{{rate .RateBP}}</td><td class="n">{{money .Net}}</td><td class="n">{{money .Tax}}</td><td class="n">{{money .Gross}}</td></tr>
{{else}}<tr><td colspan="4">No taxed sales.</td></tr>
{{end}}<tr class="total"><td>Total tax</td><td></td><td class="n">{{money .Sales.Tax}}</td><td></td></tr>
</table>
</section>

<section>
<h2>Voids</h2>
<table>
<tr><td>Voided lines ({{.Voids.Lines}}, quantity {{.Voids.Quantity}})</td><td class="n">{{money .Voids.LinesValue}}</td></tr>
<tr><td>Voided checks ({{.Voids.Checks}})</td><td class="n">{{money .Voids.ChecksValue}}</td></tr>
</table>
{{if .Voids.Items}}<table>
<tr><th>Check</th><th>Item</th><th class="n">Qty</th><th class="n">Value</th><th>Reason</th><th>By</th></tr>
{{range .Voids.Items}}<tr><td>#{{.OrderNumber}}{{if .CheckVoided}} (check voided){{end}}</td><td>{{.Name}}</td><td class="n">{{.Quantity}}</td><td class="n">{{money .Value}}</td><td>{{.Reason}}</td><td>{{or .ByName .By}}</td></tr>
{{end}}</table>{{end}}
</section>

<section>
<h2>Tenders</h2>
<table class="wide">
<tr><th>Method</th><th class="n">Payments</th><th class="n">Amount</th><th class="n">Tips</th><th class="n">Surcharges</th><th class="n">Refunds</th><th class="n">Net</th></tr>
{{range .Tenders.Methods}}<tr><td>{{.Method}}</td><td class="n">{{.Count}}</td><td class="n">{{money .Amount}}</td><td class="n">{{money .Tips}}</td><td class="n">{{money .Surcharges}}</td><td class="n">{{money .Refunds}} ({{.RefundCount}})</td><td class="n">{{money .Net}}</td></tr>
{{end}}{{with .Tenders.Total}}<tr class="total"><td>Total</td><td class="n">{{.Count}}</td><td class="n">{{money .Amount}}</td><td class="n">{{money .Tips}}</td><td class="n">{{money .Surcharges}}</td><td class="n">{{money .Refunds}} ({{.RefundCount}})</td><td class="n">{{money .Net}}</td></tr>{{end}}
</table>
<p class="small">Cash change handed back (not income): {{money .Tenders.Total.ChangeGiven}}.{{if .Tenders.InFlightCount}} Payments still in flight, not counted: {{.Tenders.InFlightCount}} ({{money .Tenders.InFlightAmount}}).{{end}}</p>
</section>

<section>
<h2>Tips</h2>
<table>
<tr><th>Server</th><th class="n">Payments</th><th class="n">Tips</th><th class="n">Refunded</th><th class="n">Net</th></tr>
{{range .Tips.ByServer}}<tr><td>{{or .Name (or .ServerID "no server")}}</td><td class="n">{{.Payments}}</td><td class="n">{{money .Tips}}</td><td class="n">{{money .Refunded}}</td><td class="n">{{money .Net}}</td></tr>
{{end}}<tr class="total"><td>Total</td><td></td><td class="n">{{money .Tips.Total}}</td><td class="n">{{money .Tips.Refunded}}</td><td class="n">{{money .Tips.Net}}</td></tr>
</table>
</section>

<section>
<h2>Refunds</h2>
<table>
<tr><th>Method</th><th class="n">Refunds</th><th class="n">Amount</th></tr>
{{range .Refunds.ByMethod}}<tr><td>{{.Method}}</td><td class="n">{{.Count}}</td><td class="n">{{money .Amount}}</td></tr>
{{end}}<tr class="total"><td>Total</td><td class="n">{{.Refunds.Count}}</td><td class="n">{{money .Refunds.Total}}</td></tr>
</table>
<p class="small">Of which off payments' amounts {{money .Refunds.FromAmount}}, off tips {{money .Refunds.FromTips}}.{{if .Refunds.PendingCount}} Pending, not counted: {{.Refunds.PendingCount}} ({{money .Refunds.PendingAmount}}).{{end}}</p>
</section>

<section>
<h2>Cash drawers</h2>
<table class="wide">
<tr><th>Drawer</th><th class="n">Float</th><th class="n">Cash sales</th><th class="n">Refunds</th><th class="n">Paid in</th><th class="n">Paid out</th><th class="n">Expected</th><th class="n">Counted</th><th class="n">Variance</th></tr>
{{range .Cash.Sessions}}<tr><td><strong>{{.DrawerName}}</strong> ({{.Status}})<br><span class="small">opened {{when .OpenedAt}} by {{or .OpenedByName .OpenedBy}}{{if .ClosedAt}}, closed {{whenp .ClosedAt}}{{end}}{{if .ApprovedBy}}; variance approved by {{or .ApprovedByName .ApprovedBy}}{{end}}</span></td><td class="n">{{money .Summary.Float}}</td><td class="n">{{money .Summary.CashSales}}</td><td class="n">{{money .Summary.CashRefunds}}</td><td class="n">{{money .Summary.PaidIn}}</td><td class="n">{{money .Summary.PaidOut}}</td><td class="n">{{money .Summary.Expected}}</td><td class="n">{{moneyp .Counted}}</td><td class="n">{{moneyp .Variance}}</td></tr>
{{else}}<tr><td colspan="9">No drawer sessions.</td></tr>
{{end}}{{with .Cash}}<tr class="total"><td>Total ({{.OpenSessions}} open)</td><td class="n">{{money .Float}}</td><td class="n">{{money .CashSales}}</td><td class="n">{{money .CashRefunds}}</td><td class="n">{{money .PaidIn}}</td><td class="n">{{money .PaidOut}}</td><td class="n">{{money .Expected}}</td><td class="n">{{money .Counted}}</td><td class="n">{{money .Variance}}</td></tr>{{end}}
</table>
<p class="small">Expected = float + cash sales − cash refunds + paid in − paid out. Counted and variance totals are over closed sessions.</p>
</section>

<section>
<h2>Reconciliation</h2>
<table>
<tr><th>Check</th><th class="n">Left</th><th class="n">Adjustments</th><th class="n">Right</th><th></th></tr>
{{range .Reconciliation}}<tr><td>{{.Name}}<br><span class="small">{{.Rule}}</span></td><td class="n">{{money .Left}}</td><td class="n">{{range .Adjustments}}{{if .Amount.Amount}}{{.Name}}: {{money .Amount}}<br>{{end}}{{end}}</td><td class="n">{{money .Right}}</td><td>{{if .Holds}}<span class="ok">✓</span>{{else}}<span class="bad">✗ does not add up</span>{{end}}</td></tr>
{{end}}</table>
</section>

<section class="small">
<h2>Where the figures come from</h2>
{{with .Sources}}<p><strong>Checks:</strong> {{.Checks}}</p>
<p><strong>Sales:</strong> {{.Sales}}</p>
<p><strong>VAT:</strong> {{.VAT}}</p>
<p><strong>Voids:</strong> {{.Voids}}</p>
<p><strong>Tenders:</strong> {{.Tenders}}</p>
<p><strong>Tips:</strong> {{.Tips}}</p>
<p><strong>Refunds:</strong> {{.Refunds}}</p>
<p><strong>Cash:</strong> {{.Cash}}</p>
<p><strong>Reconciliation:</strong> {{.Reconciliation}}</p>{{end}}
</section>
</body>
</html>
`))
