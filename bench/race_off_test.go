//go:build !race

package bench

// raceEnabled reports whether the race detector is on: its atomics are slower, so
// the cross-core probe's figure is not the machine's then.
const raceEnabled = false
