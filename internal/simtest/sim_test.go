package simtest

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/raceflag"
	"github.com/stretchr/testify/require"
)

// TestSimulation runs seeded histories of every operation against the engine (and the
// naive oracle), checking the invariants after every operation.
//
//	go test ./internal/simtest -run 'TestSimulation$' -count=1           # 10⁶ operations
//	go test ./internal/simtest -run 'TestSimulation$' -seed=N            # replay seed N, shrink, print
//	go test ./internal/simtest -run 'TestSimulation$' -seed=N -steps=M   # a seed that failed after step 4000
//	SIMTEST_SEEDS=250000 SIMTEST_STEPS=4000 SIMTEST_SEED_BASE=1000000 \
//	    go test ./internal/simtest -run 'TestSimulation$' -count=1 -timeout 0   # 10⁹ operations
//	SIMTEST_STATS=1 go test ./internal/simtest -run 'TestSimulation$' -v  # what ran
//	SIMTEST_NO_ORACLE=1 ...                                              # the invariants (and the twin) alone
var (
	seedFlag  = flag.String("seed", "", "replay this seed alone (shrink it and print its history if it fails)")
	stepsFlag = flag.Int("steps", 0, "operations per seed (default: SIMTEST_STEPS, or 4000)")
)

// The default run: 250 seeds × 4000 operations = 10⁶ operations (about 75 s on two
// cores). The simulation is single-threaded, so the race detector has nothing to find
// in it and only slows it (about fivefold): under -race the default is 200 seeds ×
// 600 operations, and CI runs the full 10⁶ without -race (see RELIABILITY.md).
const (
	defaultSeeds = 250
	defaultSteps = 4000
	raceSeeds    = 200
	raceSteps    = 600
)

// shrinkTime bounds the time spent shrinking a failing history.
const shrinkTime = 20 * time.Second

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	require.NoError(t, err, "%s", name)
	return n
}

func TestSimulation(t *testing.T) {
	steps := envInt(t, "SIMTEST_STEPS", defaultSteps)
	seeds := envInt(t, "SIMTEST_SEEDS", defaultSeeds)
	if raceflag.Enabled {
		steps = envInt(t, "SIMTEST_STEPS", raceSteps)
		seeds = envInt(t, "SIMTEST_SEEDS", raceSeeds)
	}
	if *stepsFlag > 0 {
		steps = *stepsFlag
	}
	if *seedFlag != "" {
		seed, err := strconv.ParseUint(*seedFlag, 10, 64)
		require.NoError(t, err, "-seed")
		replaySeed(t, seed, steps)
		return
	}
	base := uint64(envInt(t, "SIMTEST_SEED_BASE", 0))

	// The runs allocate fast and keep little: collecting less often saves time.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now()
	var (
		next, ops, failed atomic.Int64
		mu                sync.Mutex
		counts            = map[string]int{}
		reports           []string
		wg                sync.WaitGroup
	)
	stats := os.Getenv("SIMTEST_STATS") != ""
	noOracle := os.Getenv("SIMTEST_NO_ORACLE") != "" // the invariants alone
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(seeds) || failed.Load() >= 3 {
					return
				}
				seed := base + uint64(i)
				res := Run(seed, steps, Options{Counts: stats, NoOracle: noOracle})
				ops.Add(int64(len(res.Ops)))
				mu.Lock()
				for k, v := range res.Counts {
					counts[k] += v
				}
				mu.Unlock()
				if res.Failure != nil {
					failed.Add(1)
					r := report(seed, steps, res)
					mu.Lock()
					reports = append(reports, r)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d seeds (from %d) × %d operations: %d operations in %v (%.0f/s), %d failed",
		seeds, base, steps, ops.Load(), elapsed.Round(time.Millisecond), float64(ops.Load())/elapsed.Seconds(), failed.Load())
	if stats {
		var lines []string
		for k, v := range counts {
			lines = append(lines, fmt.Sprintf("%10d %s", v, k))
		}
		slices.Sort(lines)
		t.Logf("what ran:\n%s", strings.Join(lines, "\n"))
	}
	for _, r := range reports {
		t.Error(r)
	}
}

// report describes a failing seed: the command that replays it, and its history
// shrunk to the operations that still fail the same invariant.
func report(seed uint64, steps int, res Result) string {
	f := res.Failure
	cmd := fmt.Sprintf("go test ./internal/simtest -run 'TestSimulation$' -seed=%d", seed)
	if f.Step > defaultSteps {
		cmd += fmt.Sprintf(" -steps=%d", steps)
	}
	deadline := time.Now().Add(shrinkTime)
	short := Shrink(res.World, res.Ops, f.Invariant, func() bool { return time.Now().After(deadline) })
	sr := Replay(res.World, short, Options{Text: true})
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d (%v) failed: %v\n\nreplay: %s\n\n", seed, res.World, f, cmd)
	if sr.Failure != nil {
		fmt.Fprintf(&b, "shrunk from %d to %d operations, as a regression test:\n\n\tsimtest.Replay(simtest.World{%s}, []simtest.Op{%s}, simtest.Options{})\n\nshrunk history:\n%s",
			len(res.Ops), len(short), worldGo(res.World), FormatOps(short), lastLines(sr.History, 200))
	}
	return b.String()
}

func worldGo(w World) string {
	// Every field, by reflection, so that a regression test printed for a new kind
	// of world replays in that world.
	v := reflect.ValueOf(w)
	fields := make([]string, v.NumField())
	for i := range fields {
		fields[i] = fmt.Sprintf("%s: %#v", v.Type().Field(i).Name, v.Field(i).Interface())
	}
	return strings.Join(fields, ", ")
}

// replaySeed runs one seed with its whole history kept, and on failure prints it,
// shrunk.
func replaySeed(t *testing.T, seed uint64, steps int) {
	res := Run(seed, steps, Options{Text: true, Counts: true})
	t.Logf("seed %d (%v): %d operations, digest %016x", seed, res.World, len(res.Ops), res.Digest)
	if res.Failure == nil {
		if testing.Verbose() {
			t.Logf("history (last lines):\n%s", lastLines(res.History, 100))
		}
		return
	}
	t.Logf("history before the failure (last lines):\n%s", lastLines(res.History, 80))
	t.Fatal(report(seed, steps, res))
}

// TestSameSeedSameHistory: the same seed gives the same history, byte for byte (the
// text of every operation, its events and the state digest after it), in a world
// with the oracle and in a policy world; and replaying the recorded operations gives
// it again.
func TestSameSeedSameHistory(t *testing.T) {
	var policy, plain uint64
	for seed := uint64(0); policy == 0 || plain == 0; seed++ {
		if WorldFor(seed).Policies {
			policy = max(policy, seed)
		} else {
			plain = max(plain, seed)
		}
	}
	for _, seed := range []uint64{plain, policy, 12345} {
		a := Run(seed, 600, Options{Text: true})
		b := Run(seed, 600, Options{Text: true})
		require.Nil(t, a.Failure)
		require.Equal(t, 600, len(a.Ops))
		require.Equal(t, a.History, b.History, "seed %d", seed)
		require.Equal(t, a.Digest, b.Digest)
		c := Replay(a.World, a.Ops, Options{Text: true})
		require.Equal(t, a.History, c.History, "replaying seed %d's operations", seed)
		require.NotEqual(t, a.Digest, Run(seed+1, 600, Options{}).Digest, "another seed, another history")
	}
}

// TestEveryKindRuns: a policy world and a plain one between them run every kind of
// operation, every kind of event, and the invalid variants.
func TestEveryKindRuns(t *testing.T) {
	counts := map[string]int{}
	for seed := uint64(0); seed < 8; seed++ {
		res := Run(seed, 2000, Options{Counts: true})
		require.Nil(t, res.Failure, "seed %d", seed)
		for k, v := range res.Counts {
			counts[k] += v
		}
	}
	for k := range numKinds {
		require.Positive(t, counts["op "+k.String()], "operation %v never ran", k)
	}
	for _, name := range []string{"CreateJob", "UpdateJob", "Accept", "Decline", "Complete", "Close", "Cancel", "Unassign",
		"DeleteJob", "UpsertWorker", "DeleteWorker", "UpsertQueue", "DeleteQueue", "UpsertPolicy", "DeletePolicy",
		"UpsertClassification", "DeleteClassification", "UpsertException", "DeleteException", "Reclassify"} {
		require.Positive(t, counts["op "+name+" (error)"], "operation %s never failed", name)
	}
	for _, ev := range []string{"JobReceived", "JobClassified", "JobClassificationFailed", "JobQueued", "JobCompleted",
		"JobClosed", "JobCancelled", "JobExceptionTriggered", "JobWorkerSelectorsExpired", "JobUnassigned",
		"JobWaitingForActivation", "JobDeleted", "OfferIssued", "OfferAccepted", "OfferDeclined", "OfferExpired",
		"OfferRevoked", "WorkerRegistered", "WorkerDeregistered", "WorkerUpdated", "WorkerDeleted"} {
		require.Positive(t, counts["event "+ev], "event %s never happened", ev)
	}
}

// TestWorldGoNamesEveryField: the printed regression test must rebuild the world.
func TestWorldGoNamesEveryField(t *testing.T) {
	w := World{KeepWorkersOnOfferExpiry: true, MaxJobAge: 2 * time.Hour, Policies: true, RepeatIDs: true}
	require.Equal(t, "KeepWorkersOnOfferExpiry: true, MaxJobAge: 7200000000000, Policies: true, RepeatIDs: true", worldGo(w))
}
