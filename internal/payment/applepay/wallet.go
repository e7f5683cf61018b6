package applepay

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strconv"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/wallet"
)

// Wallet is this package as the wallet domain needs it: it checks uploaded
// certificates, validates merchants and opens tokens.
type Wallet struct {
	Sessions *SessionClient
	Verifier Verifier
}

var (
	_ wallet.Checker          = (*Wallet)(nil)
	_ wallet.SessionValidator = (*Wallet)(nil)
	_ wallet.TokenOpener      = (*Wallet)(nil)
)

// OIDUserID is the subject attribute in which Apple's merchant identity
// certificates name the merchant identifier.
var OIDUserID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// CheckProcessing implements wallet.Checker: the key must be the
// certificate's P-256 key and the certificate's merchant identifier field
// must be merchantID's.
func (w *Wallet) CheckProcessing(certPEM, keyPEM []byte, merchantID string) error {
	m, err := ParseMerchantPEM(certPEM, keyPEM)
	if err != nil {
		return errors.New(trimPrefix(err.Error()))
	}
	if !m.HasIdentifier(merchantID) {
		return errors.New("it was issued for another merchant identifier than " + merchantID)
	}
	return nil
}

// CheckIdentity implements wallet.Checker: where the certificate names a
// merchant (its subject UID, its merchant identifier field), it must name
// merchantID.
func (w *Wallet) CheckIdentity(certPEM []byte, merchantID string) error {
	blk, _ := pem.Decode(certPEM)
	if blk == nil {
		return errors.New("no PEM certificate")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return errors.New("unreadable certificate")
	}
	for _, n := range c.Subject.Names {
		if n.Type.Equal(OIDUserID) {
			if s, ok := n.Value.(string); ok && s != merchantID {
				return errors.New("it was issued for merchant identifier " + s + ", not " + merchantID)
			}
		}
	}
	if hasExtension(c, OIDMerchantIdentifier) {
		h, err := merchantIdentifierField(c)
		if err != nil {
			return errors.New(trimPrefix(err.Error()))
		}
		if want := sha256.Sum256([]byte(merchantID)); h != want {
			return errors.New("its merchant identifier field is not " + merchantID + "'s (" + hex.EncodeToString(h[:4]) + "…)")
		}
	}
	return nil
}

func trimPrefix(s string) string {
	if len(s) > len("applepay: ") && s[:len("applepay: ")] == "applepay: " {
		return s[len("applepay: "):]
	}
	return s
}

// Session implements wallet.SessionValidator.
func (w *Wallet) Session(ctx context.Context, req wallet.SessionRequest) ([]byte, error) {
	if _, err := w.Sessions.CheckURL(req.ValidationURL); err != nil {
		return nil, err // before the key is even parsed
	}
	id, err := tls.X509KeyPair(req.IdentityCertPEM, req.IdentityKeyPEM)
	if err != nil {
		return nil, apperr.Wrap(err, "applepay: merchant identity")
	}
	return w.Sessions.Session(ctx, SessionRequest{ValidationURL: req.ValidationURL, MerchantIdentifier: req.MerchantIdentifier,
		DisplayName: req.DisplayName, Domain: req.Domain, Identity: id})
}

// OpenToken implements wallet.TokenOpener: the token is verified against
// the Verifier's roots and decrypted, and its payment data becomes a
// payment.NetworkToken in the token's currency.
func (w *Wallet) OpenToken(ctx context.Context, token []byte, p wallet.Processing, now time.Time) (*payment.NetworkToken, error) {
	m, err := ParseMerchantPEM(p.CertPEM, p.KeyPEM)
	if err != nil {
		return nil, apperr.Wrap(err, "applepay: stored processing identity")
	}
	tok, err := ParseToken(token)
	if err != nil {
		return nil, err
	}
	pd, err := m.Decrypt(tok, w.Verifier, now)
	if err != nil {
		return nil, err
	}
	if pd.PaymentDataType != Type3DSecure {
		return nil, apperr.New(apperr.Invalid, "unsupported_payment_data", "only 3-D Secure Apple Pay tokens can be charged here, not "+pd.PaymentDataType)
	}
	cur, ok := CurrencyAlpha(pd.CurrencyCode)
	if !ok {
		return nil, apperr.New(apperr.Invalid, "unsupported_currency", "the token's currency (ISO 4217 "+pd.CurrencyCode+") is not supported")
	}
	yy, _ := strconv.Atoi(pd.ApplicationExpirationDate[0:2])
	mm, _ := strconv.Atoi(pd.ApplicationExpirationDate[2:4])
	if mm < 1 || mm > 12 {
		return nil, badToken("the decrypted payment data has no valid expiration date", nil)
	}
	return &payment.NetworkToken{Number: pd.ApplicationPrimaryAccountNumber, ExpMonth: mm, ExpYear: 2000 + yy,
		Cryptogram: pd.PaymentData.OnlinePaymentCryptogram, ECI: pd.PaymentData.ECIIndicator,
		Amount: money.Money{Amount: pd.TransactionAmount, Currency: cur}}, nil
}

// numericCurrencies maps ISO 4217 numeric codes, as tokens carry them, to
// the alphabetic codes money uses.
var numericCurrencies = map[string]string{
	"826": "GBP", "978": "EUR", "840": "USD", "124": "CAD", "036": "AUD", "554": "NZD", "756": "CHF",
	"752": "SEK", "578": "NOK", "208": "DKK", "985": "PLN", "203": "CZK", "348": "HUF", "946": "RON",
	"484": "MXN", "986": "BRL", "710": "ZAR", "702": "SGD", "344": "HKD", "356": "INR", "784": "AED",
	"949": "TRY", "376": "ILS", "764": "THB", "458": "MYR", "608": "PHP", "156": "CNY",
	"392": "JPY", "410": "KRW", "352": "ISK", "152": "CLP", "704": "VND",
	"414": "KWD", "048": "BHD", "400": "JOD", "512": "OMR", "788": "TND",
}

// CurrencyAlpha maps an ISO 4217 numeric code ("826") to its alphabetic
// code ("GBP"), for the currencies money knows.
func CurrencyAlpha(numeric string) (string, bool) {
	a, ok := numericCurrencies[numeric]
	if !ok {
		return "", false
	}
	_, known := money.LookupCurrency(a)
	return a, known
}
