// Package heaptest holds what the memory tests and benchmarks share: a reading of
// the live heap.
package heaptest

import "runtime"

// Live returns the bytes of live heap objects after two full collections (the
// second frees what the first's finalizers and sweeps left).
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
