//go:build linux

package bench

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// crossCoreRTT is the machine's cross-core round trip: two threads, each pinned to
// one of the first two CPUs the process may run on, hand one cache line back and
// forth rounds times (an atomic counter each side waits to see advanced, then
// advances), and the mean time of a round trip is returned. It is what a goroutine
// woken on the other core pays to read what the waker has just written, twice, and
// so what B1's pipeline (creator, subscription goroutine, agent, each often on the
// other core from the last) pays at every hand-off.
//
// Both sides spin on a locked thread of their own and end without unlocking it, so
// that the runtime ends those threads rather than hand a pinned thread to other
// goroutines. It needs two CPUs and GOMAXPROCS ≥ 2 (with one processor the two
// spinning sides could only meet at preemptions); otherwise, or when the kernel
// refuses the pinning, it returns an error.
func crossCoreRTT(rounds int) (time.Duration, error) {
	if runtime.GOMAXPROCS(0) < 2 {
		return 0, errors.New("cross-core probe: needs GOMAXPROCS >= 2")
	}
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return 0, fmt.Errorf("cross-core probe: %w", err)
	}
	var cpus []int
	for c := 0; c < len(allowed)*64 && len(cpus) < 2; c++ {
		if allowed.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return 0, errors.New("cross-core probe: needs two CPUs")
	}

	var (
		line    atomic.Int64 // the cache line handed back and forth
		ready   sync.WaitGroup
		done    sync.WaitGroup
		start   = make(chan struct{})
		pinErrs [2]error
		elapsed time.Duration
	)
	pin := func(side int) bool {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		var set unix.CPUSet
		set.Set(cpus[side])
		pinErrs[side] = unix.SchedSetaffinity(0, &set)
		return pinErrs[side] == nil
	}
	ready.Add(2)
	done.Add(2)
	go func() { // the answering side: waits for an odd count, makes it even
		defer done.Done()
		ok := pin(1)
		ready.Done()
		<-start
		if !ok || pinErrs[0] != nil {
			return
		}
		for i := int64(0); i < int64(rounds); i++ {
			for line.Load() != 2*i+1 {
			}
			line.Store(2*i + 2)
		}
	}()
	go func() { // the timing side: makes the count odd, waits for it to be even
		defer done.Done()
		ok := pin(0)
		ready.Done()
		<-start
		if !ok || pinErrs[1] != nil {
			return
		}
		t0 := time.Now()
		for i := int64(0); i < int64(rounds); i++ {
			line.Store(2*i + 1)
			for line.Load() != 2*i+2 {
			}
		}
		elapsed = time.Since(t0)
	}()
	ready.Wait()
	close(start)
	done.Wait()
	if err := errors.Join(pinErrs[0], pinErrs[1]); err != nil {
		return 0, fmt.Errorf("cross-core probe: pinning a thread: %w", err)
	}
	return elapsed / time.Duration(max(rounds, 1)), nil
}
