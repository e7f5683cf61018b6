package applepay

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

// fuzzSeeds are valid tokens made the same way in every process (fixed
// keys, fixed ephemeral keys), so fuzz workers know which contents the test
// leaf signed: the fuzzer cannot forge ECDSA, so an accepted token must
// carry one of them.
var (
	fuzzOnce  sync.Once
	fuzzToken []Token
)

func fuzzSetup(t testing.TB) (*world, []Token) {
	w := getWorld(t)
	fuzzOnce.Do(func() {
		for _, s := range []seal{
			{signer: w.apple, to: w.m, ephSeed: "1", signingTime: testNow},
			{signer: w.apple, to: w.m, ephSeed: "2", signingTime: testNow.Add(-time.Minute), ber: true},
			{signer: w.apple, to: w.m, ephSeed: "3", signingTime: testNow, appData: make([]byte, 32)},
		} {
			fuzzToken = append(fuzzToken, s.make(t))
		}
	})
	return w, fuzzToken
}

// checkOutcome holds the properties every input must keep: no panic (the
// fuzzer sees that), only Invalid errors, no PAN in errors, and acceptance
// only of content the test leaf signed.
func checkOutcome(t *testing.T, w *world, tok Token, pd *PaymentData, err error) {
	t.Helper()
	if err != nil {
		if k := apperr.KindOf(err); k != apperr.Invalid {
			t.Fatalf("error of kind %s: %v", k, err)
		}
		if strings.Contains(err.Error(), testPAN) {
			t.Fatalf("error leaks the PAN: %v", err)
		}
		return
	}
	if pd == nil {
		t.Fatal("nil payment data without an error")
	}
	f, ferr := decodeFields(tok)
	if ferr != nil {
		t.Fatalf("accepted a token whose fields do not decode: %v", ferr)
	}
	content := f.signedContent()
	signedMu.Lock()
	signed := signedSet[sha256.Sum256(content)]
	signedMu.Unlock()
	if !signed {
		t.Fatalf("accepted content the test leaf never signed")
	}
	sig, verr := verifyDetached(f.signature, content)
	if verr != nil || !w.apple.leafKey.PublicKey.Equal(sig.signer.PublicKey) {
		t.Fatalf("accepted a signature not made by the test leaf: %v", verr)
	}
}

func b64(s string) []byte { b, _ := base64.StdEncoding.DecodeString(s); return b }

func unhex(s string) []byte { b, _ := hex.DecodeString(s); return b }

// FuzzDecrypt feeds raw field bytes (before base64/hex) to Decrypt, so the
// fuzzer mutates the CMS structure, ciphertext and keys directly.
func FuzzDecrypt(f *testing.F) {
	_, seeds := fuzzSetup(f)
	for _, s := range seeds {
		f.Add(s.Version, b64(s.Data), b64(s.Signature), b64(s.Header.EphemeralPublicKey), b64(s.Header.PublicKeyHash),
			unhex(s.Header.TransactionID), unhex(s.Header.ApplicationData))
	}
	f.Add("RSA_v1", []byte{1}, []byte{0x30, 0x80}, []byte{}, []byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, version string, data, sig, eph, pkh, txID, appData []byte) {
		w, _ := fuzzSetup(t)
		enc := func(b []byte) string {
			if len(b) == 0 {
				return ""
			}
			return base64.StdEncoding.EncodeToString(b)
		}
		tok := Token{Version: version, Data: enc(data), Signature: enc(sig), Header: Header{
			EphemeralPublicKey: enc(eph), PublicKeyHash: enc(pkh),
			TransactionID: hex.EncodeToString(txID), ApplicationData: hex.EncodeToString(appData),
		}}
		pd, err := w.m.Decrypt(tok, w.apple.verifier(), testNow)
		checkOutcome(t, w, tok, pd, err)
	})
}

// FuzzParseToken feeds JSON to ParseToken and then Decrypt.
func FuzzParseToken(f *testing.F) {
	_, seeds := fuzzSetup(f)
	for _, s := range seeds {
		b, _ := json.Marshal(s)
		f.Add(b)
		f.Add([]byte(`{"paymentData":` + string(b) + `}`))
	}
	f.Add([]byte(`{"version":"EC_v1","header":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, _ := fuzzSetup(t)
		tok, err := ParseToken(b)
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("ParseToken error of kind %s", apperr.KindOf(err))
			}
			return
		}
		pd, err := w.m.Decrypt(tok, w.apple.verifier(), testNow)
		checkOutcome(t, w, tok, pd, err)
	})
}

// TestFuzzSeedsDecrypt makes sure the seeds are valid, so the fuzzer starts
// from tokens that get all the way through.
func TestFuzzSeedsDecrypt(t *testing.T) {
	w, seeds := fuzzSetup(t)
	for i, s := range seeds {
		if _, err := w.m.Decrypt(s, w.apple.verifier(), testNow); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
}
