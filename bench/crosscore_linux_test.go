//go:build linux

package bench

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// crossCoreBatch is how many round trips crossCoreRTT times together: long enough
// that reading the clock costs nothing beside them (about 0.07–0.45 ms), short enough
// that one batch the Go scheduler or the collector interrupts is one outlier among
// many.
const crossCoreBatch = 1000

// crossCoreRTT is the machine's cross-core round trip: two threads, each pinned to
// one of the first two CPUs the process may run on, hand one cache line back and
// forth rounds times (an atomic counter each side waits to see advanced, then
// advances). It is what a goroutine woken on the other core pays to read what the
// waker has just written, twice, and so what B1's pipeline (creator, subscription
// goroutine, agent, each often on the other core from the last) pays at every
// hand-off.
//
// The round trips are timed in batches of crossCoreBatch once both sides spin, and
// the result is the median batch's mean round trip: the two spinning sides hold
// both of Go's processors, so a goroutine that needs one (the collector's workers
// after a benchmark's setup, say) stalls the batches it preempts, and the median
// leaves those out. Under the race detector, whose atomics are slower, the figure
// is not the machine's.
//
// Each side locks its goroutine to its thread and ends without unlocking it, so
// that no pinned thread runs other goroutines afterwards: the runtime ends such a
// thread, or, if it is the process's main thread, parks it for good. It needs
// rounds ≥ 1, two CPUs (the first two the process may use: on a machine with SMT
// they may be one core's two threads; this one has one thread a core) and
// GOMAXPROCS ≥ 2 (with one processor the two spinning sides could only meet at
// preemptions); otherwise, or when the kernel refuses the pinning, it returns an
// error.
func crossCoreRTT(rounds int) (time.Duration, error) {
	if rounds < 1 {
		return 0, errors.New("cross-core probe: needs at least one round trip")
	}
	if runtime.GOMAXPROCS(0) < 2 {
		return 0, errors.New("cross-core probe: needs GOMAXPROCS >= 2")
	}
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return 0, fmt.Errorf("cross-core probe: %w", err)
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < 2; c++ { // IsSet is false past the set's end
		if allowed.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return 0, errors.New("cross-core probe: needs two CPUs")
	}

	var (
		line    atomic.Int64 // the cache line handed back and forth; -1 until both spin
		ready   sync.WaitGroup
		done    sync.WaitGroup
		start   = make(chan struct{})
		pinErrs [2]error
		batches []float64 // each batch's mean round trip, in ns
	)
	line.Store(-1)
	// side runs body on a goroutine locked to a thread pinned to cpus[i], once both
	// sides are pinned, and not at all if either could not be.
	side := func(i int, body func()) {
		go func() {
			defer done.Done()
			runtime.LockOSThread() // never unlocked (see above)
			var set unix.CPUSet
			set.Set(cpus[i])
			pinErrs[i] = unix.SchedSetaffinity(0, &set)
			ready.Done()
			<-start
			if pinErrs[0] == nil && pinErrs[1] == nil {
				body()
			}
		}()
	}
	ready.Add(2)
	done.Add(2)
	side(1, func() { // the answering side: waits for an odd count, makes it even
		line.Store(0) // spinning: the timing side may start
		for i := int64(0); i < int64(rounds); i++ {
			for line.Load() != 2*i+1 {
			}
			line.Store(2*i + 2)
		}
	})
	side(0, func() { // the timing side: makes the count odd, waits for it to be even
		for line.Load() != 0 {
		}
		for i := 0; i < rounds; i += crossCoreBatch {
			n := min(crossCoreBatch, rounds-i)
			t0 := time.Now()
			for k := int64(i); k < int64(i+n); k++ {
				line.Store(2*k + 1)
				for line.Load() != 2*k+2 {
				}
			}
			batches = append(batches, float64(time.Since(t0).Nanoseconds())/float64(n))
		}
	})
	ready.Wait()
	close(start)
	done.Wait()
	if err := errors.Join(pinErrs[0], pinErrs[1]); err != nil {
		return 0, fmt.Errorf("cross-core probe: pinning a thread: %w", err)
	}
	slices.Sort(batches)
	return time.Duration(batches[len(batches)/2] + 0.5), nil
}
