//go:build !linux

package bench

import (
	"errors"
	"time"
)

// crossCoreBatch is as on Linux, for xcoreProbeRounds.
const crossCoreBatch = 1000

// crossCoreRTT pins threads to CPUs, which this package does on Linux only.
func crossCoreRTT(int) (time.Duration, error) {
	return 0, errors.New("cross-core probe: Linux only")
}
