//go:build race

package simtest

// raceEnabled: the tests run under the race detector.
const raceEnabled = true
