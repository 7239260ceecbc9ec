package bench

import (
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/raceflag"
)

// BenchmarkCalibration times a fixed piece of arithmetic, 2.5 µs at p50 on the machine of
// BENCHMARKS.md, sample by sample as B2 times its calls, with a 4 KiB allocation
// between samples as a benchmark's own bookkeeping would make. It involves no router:
// its p99 against its p50 is the machine's own tail (preemption, interrupts, a
// neighbour's load), the floor under every p99 the other benchmarks report.
func BenchmarkCalibration(b *testing.B) { timeCalibration(b, nil, nil) }

// timeCalibration times calibrationWork, then timed (when not nil), in each sample,
// and runs between (when not nil) untimed after it, with the 4 KiB allocation; it
// reports the samples' p50 and p99.
func timeCalibration(b *testing.B, timed, between func()) {
	var lat latencies
	var keep []byte
	for b.Loop() {
		t0 := time.Now()
		calibrationWork(4000)
		if timed != nil {
			timed()
		}
		lat = append(lat, time.Since(t0))
		keep = make([]byte, 4096)
		if between != nil {
			between()
		}
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

// BenchmarkCalibrationWake is BenchmarkCalibration with one channel send in each
// timed sample that wakes a goroutine parked on the channel, as a Router call that
// publishes an event wakes its subscription's goroutine (B2's impl=real: the
// OfferIssued of the timed call). Between samples the woken goroutine answers and
// parks again, and three times the timed work (about 12 µs) runs untimed, about
// what B2 does between its timed calls, so that the woken goroutine's thread may
// go idle as it does there. Its p50 and p99 against
// Calibration's are what a wake-up costs the waker on this machine: a floor under
// the Router's B2 figures that the engine's thin shell (whose reader is the
// benchmark goroutine itself) does not pay.
func BenchmarkCalibrationWake(b *testing.B) {
	wake := make(chan struct{}, 1)
	back := make(chan struct{})
	go func() {
		for range wake {
			back <- struct{}{}
		}
	}()
	defer close(wake)
	timeCalibration(b, func() { wake <- struct{}{} }, func() {
		<-back
		calibrationWork(3 * 4000)
	})
}

// BenchmarkCalibrationCrossCore is the machine's cross-core round trip (crossCoreRTT):
// one cache line handed between threads pinned to two CPUs, b.N times; rtt-ns is the
// median batch's mean round trip. It involves no router. This machine has
// stretches, lasting minutes, in which it is about four times its usual
// (BENCHMARKS.md, B1's ratio); B1 and B2 report the same probe, taken around their
// run, as xcore-rtt-ns. Skipped where threads cannot be pinned (not Linux, one CPU,
// GOMAXPROCS 1) and under the race detector.
func BenchmarkCalibrationCrossCore(b *testing.B) {
	if raceflag.Enabled {
		b.Skip("cross-core probe: not the machine's figure under the race detector")
	}
	rtt, err := crossCoreRTT(b.N)
	if err != nil {
		b.Skip(err)
	}
	b.ReportMetric(float64(rtt.Nanoseconds()), "rtt-ns")
}

// xcoreProbeRounds is the length of the cross-core probe B1 and B2 take before and
// after their run: 20 batches, 1.5–9 ms on the machine of BENCHMARKS.md.
const xcoreProbeRounds = 20 * crossCoreBatch

// reportCrossCore reports as xcore-rtt-ns the slower of two cross-core round trips,
// before (a probe the caller took) and now, so that a run during which the machine
// changed state shows the slower one; nothing when the probe cannot run or the race
// detector is on.
func reportCrossCore(b *testing.B, before time.Duration, beforeErr error) {
	if raceflag.Enabled {
		return
	}
	after, err := crossCoreRTT(xcoreProbeRounds)
	if beforeErr != nil || err != nil {
		return
	}
	b.ReportMetric(float64(max(before, after).Nanoseconds()), "xcore-rtt-ns")
}
