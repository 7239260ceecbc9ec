//go:build !unix

package bench

import "time"

// processCPU is the process's CPU time, which this package reads on Unix only.
func processCPU() (time.Duration, bool) { return 0, false }
