//go:build gcphase

package bench

import _ "unsafe" // go:linkname

// gcphase is the runtime's collector phase: 0 while it is off, non-zero while it
// marks and terminates marking. Read without synchronisation: a probe, not a
// guarantee; a sample near a phase change may be counted on the wrong side.
//
//go:linkname gcphase runtime.gcphase
var gcphase uint32

func init() { markingNow = func() bool { return gcphase != 0 } }
