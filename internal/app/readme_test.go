package app_test

import (
	"os"
	"strings"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

// TestREADMEConfigTable keeps the README's configuration table in step
// with the flags: regenerate it with `go run ./cmd/fynlo config`.
func TestREADMEConfigTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), app.ConfigTable()) {
		t.Fatalf("README.md's configuration table is out of date; paste the output of `go run ./cmd/fynlo config`")
	}
}
