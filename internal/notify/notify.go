// Package notify delivers messages to people, starting with email. Domains
// put a Mail in the outbox in the same transaction as the change that
// calls for it (a password reset, a receipt); a Courier sends what is
// waiting and retries what failed, so a crash loses no message and a
// rolled-back change sends none.
package notify

import (
	"context"
	"log/slog"
	"time"
)

// Mail is one email waiting in, or sent from, the outbox.
type Mail struct {
	ID       string
	OrgID    string
	To       string
	Subject  string
	Body     string // plain text
	Attempts int
}

// Store holds the outbox.
type Store interface {
	// PendingMail returns up to limit unsent messages due for a try at now.
	PendingMail(ctx context.Context, now time.Time, limit int) ([]Mail, error)
	// MarkMailSent records a delivery.
	MarkMailSent(ctx context.Context, id string, at time.Time) error
	// MarkMailFailed records a failed try and when to try again.
	MarkMailFailed(ctx context.Context, id string, reason string, retryAt time.Time) error
}

// Sender hands one message to the outside world.
type Sender interface {
	Send(ctx context.Context, m Mail) error
}

// LogSender writes messages to the log instead of sending them: what a
// server without FYNLO_SMTP_URL does, for development.
type LogSender struct{ Logger *slog.Logger }

// Send implements Sender.
func (s LogSender) Send(ctx context.Context, m Mail) error {
	s.Logger.InfoContext(ctx, "mail (not sent: FYNLO_SMTP_URL is not set)", "to", m.To, "subject", m.Subject, "body", m.Body)
	return nil
}

// Courier sends the outbox.
type Courier struct {
	store  Store
	sender Sender
	logger *slog.Logger
	now    func() time.Time
	wake   chan struct{}
}

// NewCourier returns a Courier.
func NewCourier(store Store, sender Sender, logger *slog.Logger, now func() time.Time) *Courier {
	return &Courier{store: store, sender: sender, logger: logger, now: now, wake: make(chan struct{}, 1)}
}

// Poke asks the courier to look at the outbox now rather than at its next round.
func (c *Courier) Poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run sends waiting mail until ctx ends, looking every second and
// whenever poked. A failed send is retried later, backing off to an hour.
func (c *Courier) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		c.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.wake:
		}
	}
}

func (c *Courier) round(ctx context.Context) {
	mails, err := c.store.PendingMail(ctx, c.now(), 50)
	if err != nil {
		c.logger.ErrorContext(ctx, "mail outbox", "err", err)
		return
	}
	for _, m := range mails {
		if err := c.sender.Send(ctx, m); err != nil {
			wait := min(time.Duration(1<<min(m.Attempts, 12))*time.Second, time.Hour)
			c.logger.WarnContext(ctx, "mail not sent; will retry", "mail", m.ID, "attempts", m.Attempts+1, "err", err)
			if err := c.store.MarkMailFailed(ctx, m.ID, err.Error(), c.now().Add(wait)); err != nil {
				c.logger.ErrorContext(ctx, "mail outbox", "err", err)
			}
			continue
		}
		if err := c.store.MarkMailSent(ctx, m.ID, c.now()); err != nil {
			c.logger.ErrorContext(ctx, "mail outbox", "err", err)
		}
	}
}
