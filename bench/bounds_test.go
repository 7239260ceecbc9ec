package bench

import (
	"runtime"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/lockprobe"
)

// boundRun measures the two bounds on a run's rate that its own costs set
// (BENCHMARKS.md, "B1's rate"): at the CPU time and the lock hold time per
// lifecycle measured in the run, no schedule of the same calls goes faster than
//   - the processors it may use, each busy all the time with that CPU time (the
//     process's CPU time per lifecycle, always measured);
//   - the Router's lock held all the time, when the benchmarks are built with the
//     lockprobe tag (go test -tags lockprobe ./bench/): every Router call that
//     changes its state runs under that one lock, so that time is work no number
//     of cores can overlap.
type boundRun struct {
	lock     bool // the lock probe is on for this run
	cpu0     time.Duration
	cpuKnown bool
}

// startBoundRun starts measuring a run of impl im: it zeroes the lock probe's
// totals (only the Router, impl=real, has the lock it times) and reads the
// process's CPU time.
func startBoundRun(im impl) boundRun {
	var r boundRun
	if lockprobe.Enabled && im.name == "real" {
		lockprobe.Reset()
		r.lock = true
	}
	r.cpu0, r.cpuKnown = processCPU()
	return r
}

// report reports, for n lifecycles that took elapsed:
//   - cpu-ns, the process's CPU time per lifecycle (the collector and the
//     scheduler's idle spinning included), and cpu-bound-lifecycles/s, the rate at
//     which the processors the run may use (min(NumCPU, GOMAXPROCS)) would all be
//     busy with it;
//   - with the lock probe: lock-ns, the time the lock was held per lifecycle;
//     lock-busy-%, the share of the run's wall time it was held;
//     lock-bound-lifecycles/s, the rate at which it would be held all the time
//     (1 / lock-ns); and locks/lifecycle.
//
// A bound whose measured time is zero (a run of one lifecycle, say) is left out.
func (l boundRun) report(b *testing.B, n int, elapsed time.Duration) {
	if n == 0 {
		return
	}
	if cpu1, ok := processCPU(); ok && l.cpuKnown && cpu1 > l.cpu0 {
		cpu := (cpu1 - l.cpu0).Seconds()
		procs := min(runtime.NumCPU(), runtime.GOMAXPROCS(0))
		b.ReportMetric(cpu*1e9/float64(n), "cpu-ns")
		b.ReportMetric(float64(procs)*float64(n)/cpu, "cpu-bound-lifecycles/s")
	}
	if !l.lock {
		return
	}
	held, taken := lockprobe.Read()
	b.ReportMetric(float64(taken)/float64(n), "locks/lifecycle")
	if held <= 0 {
		return
	}
	b.ReportMetric(float64(held.Nanoseconds())/float64(n), "lock-ns")
	b.ReportMetric(100*held.Seconds()/elapsed.Seconds(), "lock-busy-%")
	b.ReportMetric(float64(n)/held.Seconds(), "lock-bound-lifecycles/s")
}
