// Package archtest checks the layering rules of DESIGN.md.
package archtest
