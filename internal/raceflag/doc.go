// Package raceflag tells tests and benchmarks whether the race detector is on, for
// the few checks whose figures it distorts (timings, spinning threads, the
// simulation's operation count). It is a build-tag switch and nothing more.
package raceflag
