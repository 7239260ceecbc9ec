//go:build !lockprobe

package lockprobe

import "time"

// Enabled reports whether this build measures the lock (the lockprobe build tag).
const Enabled = false

// Span times one holding of the lock. In this build it is empty and does nothing.
type Span struct{}

// Start marks the lock as just taken. It does nothing in this build.
func (*Span) Start() {}

// Stop marks the lock as about to be released. It does nothing in this build.
func (*Span) Stop() {}

// Reset zeroes the totals. It does nothing in this build.
func Reset() {}

// Read returns the total time the lock was held since the last Reset and how many
// times it was taken (call it while no span is in progress). It returns zeros in
// this build.
func Read() (held time.Duration, n int64) { return 0, 0 }
