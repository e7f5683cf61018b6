package applepay

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want apperr code %s", err, code)
	}
	t.Logf("refused: %v", err)
	if ae.Kind != apperr.Invalid || ae.Code != code {
		t.Fatalf("error = %v (kind %s, code %s), want invalid/%s", err, ae.Kind, ae.Code, code)
	}
	if strings.Contains(err.Error(), testPAN) || strings.Contains(fmt.Sprintf("%+v", err), testPAN) {
		t.Fatalf("error leaks the PAN: %v", err)
	}
}

func TestDecryptGoodToken(t *testing.T) {
	w := getWorld(t)
	for _, ber := range []bool{false, true} {
		t.Run(fmt.Sprintf("ber=%v", ber), func(t *testing.T) {
			tok := seal{signer: w.apple, to: w.m, ber: ber}.make(t)
			pd, err := w.m.Decrypt(tok, w.apple.verifier(), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if pd.ApplicationPrimaryAccountNumber != testPAN || pd.ApplicationExpirationDate != "281231" ||
				pd.CurrencyCode != "826" || pd.TransactionAmount != 1250 || pd.CardholderName != "Ada Lovelace" ||
				pd.DeviceManufacturerIdentifier != "040010030273" || pd.PaymentDataType != Type3DSecure ||
				pd.PaymentData.OnlinePaymentCryptogram != "AgAAAAAABk4DWZ4C28yUQAAAAAA=" || pd.PaymentData.ECIIndicator != "7" {
				t.Fatalf("payment data = %#v", *pd)
			}
			if pd.Last4() != "1111" || pd.Masked() != "************1111" {
				t.Fatalf("Last4 %q Masked %q", pd.Last4(), pd.Masked())
			}
		})
	}
}

func TestDecryptThroughJSON(t *testing.T) {
	w := getWorld(t)
	tok := seal{signer: w.apple, to: w.m, appData: bytes.Repeat([]byte{0xab}, 32)}.make(t)
	pd, _ := json.Marshal(tok)
	whole := []byte(`{"paymentData":` + string(pd) + `,"paymentMethod":{"network":"Visa"},"transactionIdentifier":"X"}`)
	for name, b := range map[string][]byte{"paymentData": pd, "PKPaymentToken": whole} {
		parsed, err := ParseToken(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if parsed != tok {
			t.Fatalf("%s: parsed %+v, want %+v", name, parsed, tok)
		}
		if _, err := w.m.Decrypt(parsed, w.apple.verifier(), testNow); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestDecryptEMV(t *testing.T) {
	w := getWorld(t)
	payload := []byte(`{"applicationPrimaryAccountNumber":"6200000000000005","applicationExpirationDate":"300131","currencyCode":"156",` +
		`"transactionAmount":990,"deviceManufacturerIdentifier":"040010030273","paymentDataType":"EMV","paymentData":{"emvData":"AAEC"}}`)
	pd, err := w.m.Decrypt(seal{signer: w.apple, to: w.m, payload: payload}.make(t), w.apple.verifier(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if pd.PaymentDataType != TypeEMV || pd.PaymentData.EMVData != "AAEC" || pd.TransactionAmount != 990 {
		t.Fatalf("payment data = %#v", *pd)
	}
}

func TestSignatureRefused(t *testing.T) {
	w := getWorld(t)
	v := w.apple.verifier()
	other := newApplePKI(t, pkiOpts{})
	noLeafOID := newApplePKI(t, pkiOpts{name: "apple", noLeafOID: true})
	noInterOID := newApplePKI(t, pkiOpts{name: "apple", noInterOID: true})
	direct := newApplePKI(t, pkiOpts{name: "apple", leafDirectlyUnderRoot: true})
	expired := newApplePKI(t, pkiOpts{name: "apple", leafNotAfter: testNow.Add(-time.Hour)})
	cases := map[string]seal{
		"leaf not chaining to the trusted root":    {signer: other},
		"root sent along does not make it trusted": {signer: other, extraCerts: []*x509.Certificate{other.root}},
		"leaf without its OID":                     {signer: noLeafOID},
		"intermediate without its OID":             {signer: noInterOID},
		"leaf directly under the root":             {signer: direct},
		"leaf expired":                             {signer: expired},
		"signed by another key than the leaf's":    {signer: w.apple, signKey: randomKey(t)},
		"signed 6 minutes before now":              {signer: w.apple, signingTime: testNow.Add(-6 * time.Minute)},
		"signed 6 minutes after now":               {signer: w.apple, signingTime: testNow.Add(6 * time.Minute)},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			s.to = w.m
			_, err := w.m.Decrypt(s.make(t), v, testNow)
			wantCode(t, err, CodeBadToken)
		})
	}
}

func TestSigningTimeWindow(t *testing.T) {
	w := getWorld(t)
	for _, tc := range []struct {
		offset, window time.Duration
		ok             bool
	}{
		{-4 * time.Minute, 0, true},
		{4 * time.Minute, 0, true},
		{-5*time.Minute - time.Second, 0, false},
		{-6 * time.Minute, 10 * time.Minute, true},
		{-2 * time.Minute, time.Minute, false},
		{2 * time.Minute, time.Minute, false},
	} {
		v := w.apple.verifier()
		v.Window = tc.window
		tok := seal{signer: w.apple, to: w.m, signingTime: testNow.Add(tc.offset)}.make(t)
		_, err := w.m.Decrypt(tok, v, testNow)
		if tc.ok && err != nil {
			t.Errorf("offset %s window %s: %v", tc.offset, tc.window, err)
		}
		if !tc.ok {
			wantCode(t, err, CodeBadToken)
		}
	}
}

func TestTamperingRefused(t *testing.T) {
	w := getWorld(t)
	good := seal{signer: w.apple, to: w.m, appData: bytes.Repeat([]byte{1}, 32)}.make(t)
	flip := func(b64 string, i int) string {
		b, _ := base64.StdEncoding.DecodeString(b64)
		if i < 0 {
			i += len(b)
		}
		b[i%len(b)] ^= 0x01
		return base64.StdEncoding.EncodeToString(b)
	}
	flipHex := func(h string) string {
		b, _ := hex.DecodeString(h)
		b[0] ^= 0x01
		return hex.EncodeToString(b)
	}
	cases := map[string]func(*Token){
		"data first byte":          func(tk *Token) { tk.Data = flip(tk.Data, 0) },
		"data last byte (GCM tag)": func(tk *Token) { tk.Data = flip(tk.Data, -1) },
		"data one byte longer": func(tk *Token) {
			b, _ := base64.StdEncoding.DecodeString(tk.Data)
			tk.Data = base64.StdEncoding.EncodeToString(append(b, 0))
		},
		"transactionId":                       func(tk *Token) { tk.Header.TransactionID = flipHex(tk.Header.TransactionID) },
		"applicationData":                     func(tk *Token) { tk.Header.ApplicationData = flipHex(tk.Header.ApplicationData) },
		"applicationData removed":             func(tk *Token) { tk.Header.ApplicationData = "" },
		"ephemeralPublicKey":                  func(tk *Token) { tk.Header.EphemeralPublicKey = flip(tk.Header.EphemeralPublicKey, 70) },
		"signature byte":                      func(tk *Token) { tk.Signature = flip(tk.Signature, 40) },
		"signature byte in signed attributes": func(tk *Token) { tk.Signature = flip(tk.Signature, -90) },
		"signature last byte":                 func(tk *Token) { tk.Signature = flip(tk.Signature, -1) },
		"signature truncated": func(tk *Token) {
			b, _ := base64.StdEncoding.DecodeString(tk.Signature)
			tk.Signature = base64.StdEncoding.EncodeToString(b[:len(b)-10])
		},
		"signature from another tx": func(tk *Token) { tk.Signature = seal{signer: w.apple, to: w.m}.make(t).Signature },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			tok := good
			mutate(&tok)
			_, err := w.m.Decrypt(tok, w.apple.verifier(), testNow)
			wantCode(t, err, CodeBadToken)
		})
	}
	if _, err := w.m.Decrypt(good, w.apple.verifier(), testNow); err != nil {
		t.Fatalf("the untouched token: %v", err)
	}
}

func TestWrongMerchant(t *testing.T) {
	w := getWorld(t)
	tok := seal{signer: w.apple, to: w.m2}.make(t)
	_, err := w.m.Decrypt(tok, w.apple.verifier(), testNow)
	wantCode(t, err, CodeWrongMerchant)
	if _, err := w.m2.Decrypt(tok, w.apple.verifier(), testNow); err != nil {
		t.Fatalf("the right merchant: %v", err)
	}
	// publicKeyHash is not signed: pointing a token for m2 at m only gets as
	// far as decryption, which fails.
	pkh := sha256.Sum256(w.m.Certificate().RawSubjectPublicKeyInfo)
	tok.Header.PublicKeyHash = base64.StdEncoding.EncodeToString(pkh[:])
	_, err = w.m.Decrypt(tok, w.apple.verifier(), testNow)
	wantCode(t, err, CodeBadToken)
}

func TestVersionRefused(t *testing.T) {
	w := getWorld(t)
	for _, version := range []string{"RSA_v1", "EC_v2", "ec_v1", ""} {
		tok := seal{signer: w.apple, to: w.m}.make(t)
		tok.Version = version
		_, err := w.m.Decrypt(tok, w.apple.verifier(), testNow)
		wantCode(t, err, CodeUnsupportedVersion)
		if version == "RSA_v1" && !strings.Contains(err.Error(), "RSA_v1") {
			t.Errorf("RSA_v1 error does not say so: %v", err)
		}
	}
}

func TestMalformedRefused(t *testing.T) {
	w := getWorld(t)
	good := seal{signer: w.apple, to: w.m}.make(t)
	cases := map[string]func(*Token){
		"empty data":                      func(tk *Token) { tk.Data = "" },
		"empty signature":                 func(tk *Token) { tk.Signature = "" },
		"empty ephemeralPublicKey":        func(tk *Token) { tk.Header.EphemeralPublicKey = "" },
		"empty publicKeyHash":             func(tk *Token) { tk.Header.PublicKeyHash = "" },
		"empty transactionId":             func(tk *Token) { tk.Header.TransactionID = "" },
		"data not base64":                 func(tk *Token) { tk.Data = "!!" + tk.Data },
		"signature not base64":            func(tk *Token) { tk.Signature = tk.Signature[:len(tk.Signature)-3] + "*==" },
		"ephemeralPublicKey not base64":   func(tk *Token) { tk.Header.EphemeralPublicKey = "%%%%" },
		"publicKeyHash not base64":        func(tk *Token) { tk.Header.PublicKeyHash = "a" },
		"publicKeyHash not 32 bytes":      func(tk *Token) { tk.Header.PublicKeyHash = base64.StdEncoding.EncodeToString([]byte("short")) },
		"transactionId not hex":           func(tk *Token) { tk.Header.TransactionID = "xyz" },
		"applicationData not hex":         func(tk *Token) { tk.Header.ApplicationData = "0g" },
		"wrappedKey present":              func(tk *Token) { tk.Header.WrappedKey = "AAAA" },
		"signature is not CMS":            func(tk *Token) { tk.Signature = base64.StdEncoding.EncodeToString([]byte("hello")) },
		"signature is a lone certificate": func(tk *Token) { tk.Signature = base64.StdEncoding.EncodeToString(w.apple.leaf.Raw) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			tok := good
			mutate(&tok)
			_, err := w.m.Decrypt(tok, w.apple.verifier(), testNow)
			wantCode(t, err, CodeBadToken)
		})
	}
	for _, b := range []string{``, `{`, `[]`, `{"version":1}`, `{"header":"x"}`, `{"paymentData":[]}`, `null x`} {
		_, err := ParseToken([]byte(b))
		wantCode(t, err, CodeBadToken)
	}
	_, err := ParseToken(bytes.Repeat([]byte(" "), maxTokenJSON+1))
	wantCode(t, err, CodeBadToken)
}

func TestDecryptedPayloadChecked(t *testing.T) {
	w := getWorld(t)
	cases := map[string]string{
		"not JSON":             `{"applicationPrimaryAccountNumber":"` + testPAN,
		"PAN as a number":      `{"applicationPrimaryAccountNumber":` + testPAN + `}`,
		"amount with decimals": strings.Replace(string(testPayload), `1250`, `12.50`, 1),
		"negative amount":      strings.Replace(string(testPayload), `1250`, `-1`, 1),
		"short PAN":            strings.Replace(string(testPayload), testPAN, "4111", 1),
		"bad expiry":           strings.Replace(string(testPayload), `281231`, `2812`, 1),
		"bad currency":         strings.Replace(string(testPayload), `"826"`, `"GBP"`, 1),
		"unknown type":         strings.Replace(string(testPayload), `3DSecure`, `Magic`, 1),
		"3DS w/o cryptogram":   strings.Replace(string(testPayload), `onlinePaymentCryptogram`, `x`, 1),
		"EMV w/o emvData":      strings.Replace(string(testPayload), `3DSecure`, `EMV`, 1),
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			tok := seal{signer: w.apple, to: w.m, payload: []byte(payload)}.make(t)
			_, err := w.m.Decrypt(tok, w.apple.verifier(), testNow)
			wantCode(t, err, CodeBadToken)
		})
	}
}

func TestConfigurationErrors(t *testing.T) {
	w := getWorld(t)
	tok := seal{signer: w.apple, to: w.m}.make(t)
	if _, err := w.m.Decrypt(tok, Verifier{}, testNow); !apperr.Is(err, apperr.Internal) {
		t.Errorf("verifier without roots: %v", err)
	}
	var nilMerchant *Merchant
	if _, err := nilMerchant.Decrypt(tok, w.apple.verifier(), testNow); !apperr.Is(err, apperr.Internal) {
		t.Errorf("nil merchant: %v", err)
	}
}

func TestNewMerchant(t *testing.T) {
	w := getWorld(t)
	if !w.m.HasIdentifier("merchant.com.fynlo.test") || w.m.HasIdentifier("merchant.com.other.test") {
		t.Error("HasIdentifier")
	}
	if _, err := NewMerchant(w.m.Certificate(), w.m2.key); err == nil {
		t.Error("a key of another certificate was accepted")
	}
	if _, err := NewMerchant(w.apple.leaf, w.apple.leafKey); err == nil {
		t.Error("a certificate without the merchant identifier field was accepted")
	}
	if _, err := NewMerchant(w.m.Certificate(), "key"); err == nil {
		t.Error("a non-key was accepted")
	}
	ecdhKey, _ := w.m.key.ECDH()
	if _, err := NewMerchant(w.m.Certificate(), ecdhKey); err != nil {
		t.Errorf("an *ecdh.PrivateKey: %v", err)
	}

	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.m.Certificate().Raw})
	pk8, _ := x509.MarshalPKCS8PrivateKey(w.m.key)
	sec1, _ := x509.MarshalECPrivateKey(w.m.key)
	for _, keyPEM := range [][]byte{
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk8}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
	} {
		m, err := ParseMerchantPEM(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Decrypt(seal{signer: w.apple, to: w.m}.make(t), w.apple.verifier(), testNow); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ParseMerchantPEM(certPEM, certPEM); err == nil {
		t.Error("a certificate as the key was accepted")
	}

	roots, err := ParseCertificatesPEM(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.apple.root.Raw}))
	if err != nil || len(roots) != 1 || !roots[0].Equal(w.apple.root) {
		t.Fatalf("ParseCertificatesPEM: %v %v", roots, err)
	}
	if _, err := ParseCertificatesPEM([]byte("nothing")); err == nil {
		t.Error("no certificates accepted")
	}
}

func TestPaymentDataRedacted(t *testing.T) {
	w := getWorld(t)
	pd, err := w.m.Decrypt(seal{signer: w.apple, to: w.m}.make(t), w.apple.verifier(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("paid", "payment", pd)
	outputs := map[string]string{
		"String":   pd.String(),
		"GoString": pd.GoString(),
		"%v":       fmt.Sprintf("%v", pd),
		"%+v":      fmt.Sprintf("%+v", *pd),
		"%#v":      fmt.Sprintf("%#v", *pd),
		"%s":       fmt.Sprintf("%s", pd),
		"%q":       fmt.Sprintf("%q", pd),
		"nested":   fmt.Sprintf("%+v", struct{ P PaymentData }{*pd}),
		"cred":     fmt.Sprintf("%#v", pd.PaymentData),
		"slog":     logged.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, testPAN) || strings.Contains(out, "AgAAAAAABk4DWZ4C28yUQAAAAAA=") {
			t.Errorf("%s leaks: %s", name, out)
		}
		if !strings.Contains(out, "1111") && name != "cred" {
			t.Errorf("%s does not show the last four: %s", name, out)
		}
	}
	short := PaymentData{ApplicationPrimaryAccountNumber: "12"}
	if short.Last4() != "" || short.Masked() != "**" {
		t.Errorf("short PAN: %q %q", short.Last4(), short.Masked())
	}
}

func TestBERToDER(t *testing.T) {
	// A definite DER input comes back unchanged; indefinite lengths become
	// definite; malformed input is an error, not a panic.
	der := asn1Seq(t, mustMarshal(t, 5), asn1Set(t, mustMarshal(t, "x")))
	if got, err := berToDER(der); err != nil || !bytes.Equal(got, der) {
		t.Fatalf("DER: %x %v", got, err)
	}
	ber := indefinite(0x30, mustMarshal(t, 5), indefinite(0x31, mustMarshal(t, "x")))
	if got, err := berToDER(ber); err != nil || !bytes.Equal(got, der) {
		t.Fatalf("BER: %x %v, want %x", got, err, der)
	}
	long := asn1Seq(t, mustMarshal(t, bytes.Repeat([]byte{7}, 70000)))
	if got, err := berToDER(long); err != nil || !bytes.Equal(got, long) {
		t.Fatalf("long: %v", err)
	}
	deep := bytes.Repeat([]byte{0x30, 0x80}, maxBERDepth+5)
	for _, bad := range [][]byte{nil, {0x30}, {0x30, 0x80}, {0x04, 0x80, 0, 0}, {0x30, 0x05, 0x02}, {0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, deep, append(der, 0)} {
		if _, err := berToDER(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}
