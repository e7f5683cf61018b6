package applepay

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// PaymentData is the decrypted payment data of a token. It holds a device
// account number and a one-time cryptogram: keep it in memory only as long
// as the charge needs it. Its String, GoString and LogValue redact both.
type PaymentData struct {
	ApplicationPrimaryAccountNumber string     `json:"applicationPrimaryAccountNumber"` // device PAN
	ApplicationExpirationDate       string     `json:"applicationExpirationDate"`       // YYMMDD
	CurrencyCode                    string     `json:"currencyCode"`                    // ISO 4217 numeric, e.g. "826"
	TransactionAmount               int64      `json:"transactionAmount"`               // minor units
	CardholderName                  string     `json:"cardholderName,omitempty"`
	DeviceManufacturerIdentifier    string     `json:"deviceManufacturerIdentifier"`
	PaymentDataType                 string     `json:"paymentDataType"` // "3DSecure" or "EMV"
	PaymentData                     Credential `json:"paymentData"`
}

// Credential is the payment data dictionary inside PaymentData.
type Credential struct {
	OnlinePaymentCryptogram string `json:"onlinePaymentCryptogram,omitempty"` // 3DSecure, base64
	ECIIndicator            string `json:"eciIndicator,omitempty"`            // 3DSecure, optional
	EMVData                 string `json:"emvData,omitempty"`                 // EMV, base64
	EncryptedPINData        string `json:"encryptedPINData,omitempty"`        // EMV, optional
}

// The payment data types Apple sends.
const (
	Type3DSecure = "3DSecure"
	TypeEMV      = "EMV"
)

// Last4 returns the last four digits of the device account number.
func (p PaymentData) Last4() string {
	pan := p.ApplicationPrimaryAccountNumber
	if len(pan) < 4 {
		return ""
	}
	return pan[len(pan)-4:]
}

// Masked returns the device account number with all but the last four
// digits replaced by '*'.
func (p PaymentData) Masked() string {
	pan := p.ApplicationPrimaryAccountNumber
	if len(pan) <= 4 {
		return strings.Repeat("*", len(pan))
	}
	return strings.Repeat("*", len(pan)-4) + pan[len(pan)-4:]
}

// String describes the payment without the account number or cryptogram.
func (p PaymentData) String() string {
	return fmt.Sprintf("applepay.PaymentData{PAN:%s Expiry:%s Amount:%d Currency:%s Type:%s %s}",
		p.Masked(), p.ApplicationExpirationDate, p.TransactionAmount, p.CurrencyCode, p.PaymentDataType, p.PaymentData)
}

// GoString is String, so %#v redacts too.
func (p PaymentData) GoString() string { return p.String() }

// Format makes every verb (%v, %+v, %#v, %s, %q, ...) print the redacted form.
func (p PaymentData) Format(f fmt.State, verb rune) { fmt.Fprint(f, p.String()) }

// LogValue redacts the payment for log/slog.
func (p PaymentData) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("pan", p.Masked()),
		slog.String("expiry", p.ApplicationExpirationDate),
		slog.Int64("amount", p.TransactionAmount),
		slog.String("currency", p.CurrencyCode),
		slog.String("type", p.PaymentDataType),
	)
}

// String tells which parts are present, never their values.
func (c Credential) String() string {
	present := func(s string) string {
		if s == "" {
			return "absent"
		}
		return "[redacted]"
	}
	return fmt.Sprintf("Credential{Cryptogram:%s ECI:%q EMVData:%s PIN:%s}",
		present(c.OnlinePaymentCryptogram), c.ECIIndicator, present(c.EMVData), present(c.EncryptedPINData))
}

// GoString is String, so %#v redacts too.
func (c Credential) GoString() string { return c.String() }

// Format makes every verb print the redacted form.
func (c Credential) Format(f fmt.State, verb rune) { fmt.Fprint(f, c.String()) }

// parsePaymentData decodes and checks the decrypted JSON. Its errors never
// carry the plaintext or the decoder's message (which can quote a value).
func parsePaymentData(plain []byte) (*PaymentData, error) {
	var p PaymentData
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, badToken("the decrypted payment data is not valid", nil)
	}
	bad := func(what string) error { return badToken("the decrypted payment data has "+what, nil) }
	switch {
	case !digits(p.ApplicationPrimaryAccountNumber, 12, 19):
		return nil, bad("no valid account number")
	case !digits(p.ApplicationExpirationDate, 6, 6):
		return nil, bad("no valid expiration date")
	case !digits(p.CurrencyCode, 3, 3):
		return nil, bad("no valid currency code")
	case p.TransactionAmount < 0:
		return nil, bad("a negative amount")
	}
	switch p.PaymentDataType {
	case Type3DSecure:
		if p.PaymentData.OnlinePaymentCryptogram == "" {
			return nil, bad("no online payment cryptogram")
		}
	case TypeEMV:
		if p.PaymentData.EMVData == "" {
			return nil, bad("no EMV data")
		}
	default:
		return nil, bad("an unknown payment data type")
	}
	return &p, nil
}

func digits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
