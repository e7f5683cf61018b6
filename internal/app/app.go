// Package app wires Fynlo together: configuration in, a running server out.
// It is the one package that imports everything; cmd/fynlo calls it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/cash"
	"github.com/fynlo/fynlo/internal/event"
	"github.com/fynlo/fynlo/internal/httpapi"
	"github.com/fynlo/fynlo/internal/idempotency"
	"github.com/fynlo/fynlo/internal/kitchen"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/notify"
	"github.com/fynlo/fynlo/internal/notify/smtp"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/payment/stripe"
	"github.com/fynlo/fynlo/internal/payment/truelayer"
	"github.com/fynlo/fynlo/internal/redisbus"
	"github.com/fynlo/fynlo/internal/secret"
	"github.com/fynlo/fynlo/internal/sqlstore"
	"github.com/fynlo/fynlo/internal/tenant"
	"github.com/fynlo/fynlo/internal/wallet"
)

// Version is set at build time with -ldflags "-X github.com/fynlo/fynlo/internal/app.Version=...".
var Version = "dev"

// App is a wired server, not yet listening.
type App struct {
	cfg        Config
	logger     *slog.Logger
	DB         *sqlstore.DB
	API        *httpapi.Server
	dispatcher *event.Dispatcher
	bus        *redisbus.Bus // nil: a single node
	idem       *idempotency.Service
	cancel     context.CancelFunc
	// Payments is exported for tests that drive the open-banking sweep.
	Payments *payment.Service
	Sandbox  *payment.SandboxBank
	// Demo says how to try the demo restaurant, when started with -demo.
	Demo *DemoInfo
	// Wallet opens Apple Pay tokens for organizations that process Apple
	// Pay themselves (payment.ApplePayTokens).
	Wallet *wallet.Service
	bg     sync.WaitGroup
}

// NewLogger returns the JSON logger the server logs with.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// clock is the server's time: UTC to the microsecond, the precision both
// databases keep, so an object reads back exactly as it was returned.
func clock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// New opens the database (migrating it when AutoMigrate is set), builds the
// services and the API, and starts the background workers.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	db, err := sqlstore.Open(ctx, cfg.DatabaseDSN(), sqlstore.Options{MaxConns: cfg.DBMaxConns})
	if err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if len(applied) > 0 {
			logger.Info("applied migrations", "versions", applied, "engine", db.Engine())
		}
	}
	keys, err := loadSigningKeys(cfg.KeysDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	keySet, err := auth.NewKeySet(keys...)
	if err != nil {
		db.Close()
		return nil, err
	}
	pepper, err := loadPepper(cfg.KeysDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	authCfg := auth.DefaultConfig
	authCfg.AccessTTL = cfg.AccessTokenTTL
	if cfg.PasswordCost != nil {
		authCfg.Password = *cfg.PasswordCost
	}
	authSvc, err := auth.NewService(db, keySet, pepper, authCfg, clock)
	if err != nil {
		db.Close()
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hub := event.NewHub()
	a := &App{cfg: cfg, logger: logger, DB: db, idem: idempotency.NewService(db, clock)}
	if cfg.IdempotencyLease > 0 {
		a.idem.Lease = cfg.IdempotencyLease
	}
	a.dispatcher = event.NewDispatcher(db, hub, logger)
	registerDispatchMetrics(reg, &a.dispatcher.Stats)
	db.OnCommit = a.dispatcher.Notify
	var shared httpapi.SharedRates
	if cfg.RedisURL != "" {
		// Several nodes: each tells the others when a log grows, and rate
		// limits are kept in Redis.
		if a.bus, err = redisbus.New(ctx, cfg.RedisURL, logger); err != nil {
			db.Close()
			return nil, err
		}
		db.OnCommit = func(n event.Notice) {
			a.dispatcher.Notify(n)
			a.bus.Publish(n)
		}
		shared = a.bus
	}
	menuSvc := menu.NewService(db, clock)
	tenants := tenant.NewService(db, clock)
	orders := order.NewService(db, db, tenants, menuSvc, authSvc, clock)
	kitchenSvc := kitchen.NewService(db, orders, func(ctx context.Context, orgID, employeeID string) string {
		if e, err := authSvc.Employee(ctx, orgID, employeeID); err == nil {
			return e.Name
		}
		return "" // a ticket without a server's name is better than no ticket
	}, clock)
	cashSvc := cash.NewService(db, tenants, authSvc, clock)
	// No card provider is configured yet: cards go through the simulated
	// one, which charges nothing and says so on every payment.
	secretsKey, err := loadSecretsKey(cfg.KeysDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	box, err := secret.NewBox(secretsKey)
	if err != nil {
		db.Close()
		return nil, err
	}
	walletSvc, err := newWallet(cfg, db, box) // Apple Pay, direct
	if err != nil {
		db.Close()
		return nil, err
	}
	sandbox := payment.NewSandboxBank(clock)
	payments := payment.NewService(payment.Deps{Store: db, Refunds: db, Fees: db, Ledger: db, Orders: orders, Locations: tenants, Drawers: cashSvc,
		Approver: authSvc, Card: payment.Simulated{}, Providers: db, Box: box, Now: clock,
		Factory: func(key string) (payment.CardProvider, error) {
			return stripe.New(stripe.Config{SecretKey: key, APIBase: cfg.StripeAPIBase})
		},
		Verify:  verifyStripeWebhook,
		Sandbox: sandbox, BankExpiry: cfg.BankExpiry, BankPoll: cfg.BankPoll,
		BankFactory: func(c payment.TrueLayerCredentials) (payment.BankProvider, error) {
			return truelayer.New(truelayer.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, SigningKeyID: c.SigningKeyID,
				SigningKeyPEM: []byte(c.SigningKeyPEM), MerchantAccountID: c.MerchantAccountID, Environment: c.Environment,
				AuthBase: cfg.TrueLayerBase, APIBase: cfg.TrueLayerBase, HPPBase: cfg.TrueLayerBase, WebhookJWKS: cfg.TrueLayerJWKS, Now: clock})
		}, ApplePay: walletSvc, Wallet: walletSvc})
	a.Payments, a.Sandbox, a.Wallet = payments, sandbox, walletSvc
	a.API = httpapi.New(httpapi.Config{Version: Version, MaxBodyBytes: cfg.MaxBodyBytes, CORSOrigins: cfg.CORSOrigins,
		TrustProxyHeaders: cfg.TrustProxy, PlatformAdmins: cfg.PlatformAdmins, PublicURL: cfg.PublicURL, MetricsToken: cfg.MetricsToken}, httpapi.Deps{SandboxBank: sandbox,
		Logger: logger, Auth: authSvc, Tenants: tenants, Audit: audit.NewService(db), Menu: menuSvc, Orders: orders, Kitchen: kitchenSvc, Payments: payments, Cash: cashSvc, Idempotency: a.idem,
		Events: db, Hub: hub, Ready: a.ready, Registry: reg, SharedRates: shared,
		Wallet: walletSvc,
	})
	a.dispatcher.OnPublish = func(evs []event.Event) {
		for _, e := range evs {
			switch {
			case e.Type == auth.EventRoleUpdated:
				authSvc.InvalidateRole(e.OrgID, e.SubjectID)
			case menu.IsMenuEvent(e.Type):
				menuSvc.Invalidate(e.OrgID)
			}
		}
		a.API.PublishedEvents(evs)
	}

	if cfg.Demo {
		if a.Demo, err = seedDemo(ctx, cfg, a, authSvc, tenants, menuSvc, orders, kitchenSvc); err != nil {
			db.Close()
			return nil, err
		}
	}

	var sender notify.Sender = notify.LogSender{Logger: logger}
	if cfg.SMTPURL != "" {
		if sender, err = smtp.NewSMTPSender(cfg.SMTPURL); err != nil {
			db.Close()
			return nil, err
		}
	}
	courier := notify.NewCourier(db, sender, logger, clock)

	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	a.bg.Add(4)
	go func() { defer a.bg.Done(); courier.Run(bgCtx) }()
	go func() { defer a.bg.Done(); a.sweepBanks(bgCtx, payments) }()
	go func() { defer a.bg.Done(); a.dispatcher.Run(bgCtx) }()
	go func() { defer a.bg.Done(); a.reap(bgCtx, authCfg.ThrottleWindow) }()
	a.bg.Add(1)
	go func() { defer a.bg.Done(); checkApplePay(bgCtx, walletSvc, logger) }()
	if a.bus != nil {
		a.bg.Add(1)
		go func() { defer a.bg.Done(); a.bus.Run(bgCtx, a.dispatcher.Notify, a.dispatcher.CatchUp) }()
	}
	return a, nil
}

func (a *App) ready(ctx context.Context) error {
	if err := a.DB.Ping(ctx); err != nil {
		return errors.New("database unreachable")
	}
	n, err := a.DB.PendingMigrations(ctx)
	if err != nil {
		return errors.New("cannot read migrations")
	}
	if n > 0 {
		return fmt.Errorf("%d migrations not applied; run `fynlo migrate`", n)
	}
	if a.bus != nil && !a.bus.Joined() {
		return errors.New("not yet listening to the other nodes (Redis)")
	}
	return nil
}

// sweepBanks drives open-banking payments in flight every few seconds:
// expiry, polling a provider whose webhooks are late, refunding late
// money. Every node may run it: each step locks its payment and moves it
// only forward.
func (a *App) sweepBanks(ctx context.Context, payments *payment.Service) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := payments.SweepBank(ctx); err != nil && ctx.Err() == nil {
				a.logger.Warn("open-banking sweep", "error", err)
			}
		}
	}
}

// reap deletes expired idempotency keys and old login failures hourly.
func (a *App) reap(ctx context.Context, throttleWindow time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.idem.Reap(ctx); err != nil {
			a.logger.Error("reap idempotency keys", "err", err)
		} else if n > 0 {
			a.logger.Info("reaped idempotency keys", "count", n)
		}
		if _, err := a.DB.DeleteLoginFailuresBefore(ctx, clock().Add(-throttleWindow)); err != nil {
			a.logger.Error("reap login failures", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops the background workers and closes the database.
func (a *App) Close() error {
	a.cancel()
	a.bg.Wait()
	if a.bus != nil {
		a.bus.Close()
	}
	return a.DB.Close()
}

// Serve listens on l until ctx is cancelled, then shuts down gracefully:
// it stops accepting, finishes requests in flight, closes WebSockets with
// "going away" and returns.
func (a *App) Serve(ctx context.Context, l net.Listener) error {
	// A client that stalls in its headers or its body (slowloris) is cut
	// off; WebSockets clear these deadlines once upgraded.
	readHeader, read := 10*time.Second, 30*time.Second
	if a.cfg.ReadHeaderTimeout > 0 {
		readHeader = a.cfg.ReadHeaderTimeout
	}
	if a.cfg.ReadTimeout > 0 {
		read = a.cfg.ReadTimeout
	}
	srv := &http.Server{
		Handler:           a.API,
		ReadHeaderTimeout: readHeader,
		ReadTimeout:       read,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	a.logger.Info("listening", "addr", l.Addr().String(), "engine", a.DB.Engine(), "version", Version)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.API.Shutdown(sctx) }() // WebSockets are hijacked: http.Server does not wait for them
	err := srv.Shutdown(sctx)
	wg.Wait()
	if errors.Is(<-errc, http.ErrServerClosed) && err == nil {
		a.logger.Info("stopped")
		return nil
	}
	return err
}

// verifyStripeWebhook checks a Stripe webhook and says what it means for
// our payments. Our payment's ID is in the PaymentIntent's metadata (put
// there by the charge), so an event finds its payment even when the server
// stopped before it recorded Stripe's answer.
func verifyStripeWebhook(payload []byte, signature, secret string, now time.Time) (payment.WebhookEvent, error) {
	e, err := stripe.VerifyWebhook(payload, signature, secret, now)
	if err != nil {
		return payment.WebhookEvent{}, err
	}
	return payment.WebhookEvent{ID: e.ID, Type: e.Type, PaymentID: e.Metadata["fynlo_payment_id"], Ref: e.PaymentIntentID,
		Status: e.Status, Failure: e.Failure, RefundID: e.Metadata["fynlo_refund_id"], RefundStatus: e.RefundStatus}, nil
}

// registerDispatchMetrics exports how events reach this node's screens.
func registerDispatchMetrics(reg prometheus.Registerer, st *event.DispatchStats) {
	counter := func(name, help string, v *atomic.Uint64) prometheus.CounterFunc {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	reg.MustRegister(
		counter("fynlo_dispatch_events_carried_total", "Events published from the commit notice that brought them (no read of the log).", &st.Carried),
		counter("fynlo_dispatch_events_read_total", "Events published after reading them back from the log.", &st.Read),
		counter("fynlo_dispatch_log_reads_total", "Reads of the event log by the dispatcher.", &st.Reads),
		counter("fynlo_dispatch_notices_held_total", "Notices held for an earlier one of their organization that had not arrived.", &st.Held),
		counter("fynlo_dispatch_gap_timeouts_total", "Held notices whose gap was filled from the log after the wait (a notice lost or late).", &st.GapTimeouts),
	)
}
