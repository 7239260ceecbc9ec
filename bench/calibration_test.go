package bench

import (
	"testing"
	"time"
)

// BenchmarkCalibration times a fixed piece of arithmetic, about 5 µs on the machine of
// BENCHMARKS.md, sample by sample as B2 times its calls, with a 4 KiB allocation
// between samples as a benchmark's own bookkeeping would make. It involves no router:
// its p99 against its p50 is the machine's own tail (preemption, interrupts, a
// neighbour's load), the floor under every p99 the other benchmarks report.
func BenchmarkCalibration(b *testing.B) {
	var lat latencies
	var keep []byte
	for b.Loop() {
		t0 := time.Now()
		calibrationWork(4000)
		lat = append(lat, time.Since(t0))
		keep = make([]byte, 4096)
	}
	_ = keep
	lat.report(b)
}

var calibrationSink int

// calibrationWork is n rounds of integer arithmetic the compiler cannot remove.
func calibrationWork(n int) {
	s := 0
	for i := range n {
		s += i * i % 7
	}
	calibrationSink += s
}
