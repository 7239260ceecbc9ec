// Package lockprobe measures how long the Router's lock is held, for the
// benchmarks (bench/, BENCHMARKS.md). Every call that changes a Router runs under
// that one lock, so the time it is held per lifecycle bounds B1's rate on any
// number of cores: no schedule does more than one lifecycle per that much time.
//
// The probe is built only with the lockprobe build tag (go test -tags lockprobe).
// In any other build Span is an empty struct whose methods do nothing and are
// inlined away, Enabled is false and Read returns zeros, so the Router pays
// nothing for it.
package lockprobe
