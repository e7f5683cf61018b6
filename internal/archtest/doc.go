// Package archtest holds the test that enforces DESIGN.md's rules between
// packages; it has no code of its own.
package archtest
