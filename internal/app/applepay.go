package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/fynlo/fynlo/internal/payment/applepay"
	"github.com/fynlo/fynlo/internal/secret"
	"github.com/fynlo/fynlo/internal/sqlstore"
	"github.com/fynlo/fynlo/internal/wallet"
)

// Apple Pay, direct: organizations' own Apple Pay merchant identities,
// with the applepay adapter speaking to Apple.

// newWallet builds the wallet service. Token signatures chain to Apple
// Root CA - G3 unless cfg.ApplePayRoots names a PEM file of other roots.
func newWallet(cfg Config, db *sqlstore.DB, box *secret.Box) (*wallet.Service, error) {
	var roots []*x509.Certificate
	if cfg.ApplePayRoots != "" {
		b, err := os.ReadFile(cfg.ApplePayRoots)
		if err != nil {
			return nil, fmt.Errorf("apple pay roots: %w", err)
		}
		if roots, err = applepay.ParseCertificatesPEM(b); err != nil {
			return nil, fmt.Errorf("apple pay roots %s: %w", cfg.ApplePayRoots, err)
		}
	} else {
		g3, err := applepay.AppleRootG3()
		if err != nil {
			return nil, err
		}
		roots = []*x509.Certificate{g3}
	}
	ap := &applepay.Wallet{
		Sessions: applepay.NewSessionClient(applepay.SessionConfig{Hosts: cfg.ApplePayGatewayHosts, RootCAs: cfg.ApplePayGatewayRoots}),
		Verifier: applepay.Verifier{Roots: roots},
	}
	return wallet.NewService(wallet.Deps{Store: db, Box: box, Checker: ap, Sessions: ap, Tokens: ap, Now: clock}), nil
}

// checkApplePay raises Apple Pay certificate expiry warnings now and hourly.
func checkApplePay(ctx context.Context, w *wallet.Service, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := w.Check(ctx, clock()); err != nil {
			logger.Error("check apple pay certificates", "err", err)
		} else if n > 0 {
			logger.Warn("apple pay certificates expiring", "warnings", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
