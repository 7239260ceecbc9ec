// Package lockprobe measures how long the Router's lock is held, for the
// benchmarks (bench/, BENCHMARKS.md). Every call that changes a Router runs under
// that one lock, so at the hold time measured in a run, no number of cores does
// more than one lifecycle per that much time. The totals are process-wide: time
// one Router at a time.
//
// The probe is built only with the lockprobe build tag (go test -tags lockprobe).
// In any other build Span is an empty struct whose methods do nothing and are
// inlined away, Enabled is false and Read returns zeros, so the Router pays
// nothing for it.
package lockprobe
