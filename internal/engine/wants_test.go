package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// wantsSteps are commands that record every event type built with extras
// (EventExtra) and most of the others: workers registering, updating, going offline
// with an open offer (revoked) and coming back, a decline with a RetryOfferAt, an
// unassignment, a cancel with a note, completion, closing, deletion, a
// classification that fails, an exception rule that fires (its action cancels the
// job), a scheduled job waiting for activation, a selector and an offer that
// expire. They run in order on one fixture.
func wantsSteps() []func(f *fixture) {
	var aid string
	w2 := agent("w2", "q")
	return []func(f *fixture){
		func(f *fixture) { f.basic() },
		func(f *fixture) { f.worker(agent("w1", "q")) },
		func(f *fixture) { f.worker(agent("w2", "q")) },
		func(f *fixture) { f.job(call("j1", "q")) },
		func(f *fixture) {
			// j1 was offered to w1 (longest idle): w1 declines with a RetryOfferAt.
			o := f.offer("w1", "j1")
			require.NoError(f.t, f.e.DeclineOffer(f.now, "w1", o.ID, f.now.Add(time.Hour)))
		},
		func(f *fixture) {
			// Now w2 has it: w2 goes offline, and the offer is revoked.
			f.offer("w2", "j1")
			w2.AvailableForOffers = false
			f.worker(w2)
		},
		func(f *fixture) {
			// w2 comes back with a new label: registered again, and updated.
			w2.AvailableForOffers = true
			w2.Labels = Labels{"skill": "billing"}
			f.worker(w2)
		},
		func(f *fixture) { aid = f.accept("w2", "j1") },
		func(f *fixture) {
			_, err := f.e.UnassignJob(f.now, "j1", aid, false)
			require.NoError(f.t, err)
		},
		func(f *fixture) { aid = f.accept("w2", "j1") },
		func(f *fixture) { require.NoError(f.t, f.e.CompleteJob(f.now, "j1", aid, "")) },
		func(f *fixture) { require.NoError(f.t, f.e.CloseJob(f.now, "j1", aid, "resolved", "", time.Time{})) },
		func(f *fixture) { require.NoError(f.t, f.e.DeleteJob(f.now, "j1")) },
		func(f *fixture) { f.job(call("j2", "q")) },
		func(f *fixture) { require.NoError(f.t, f.e.CancelJob(f.now, "j2", "abandoned", "caller hung up")) },
		func(f *fixture) {
			f.classified(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", WorkerSelectorAttachments: []Attachment{{
				Kind: AttachRuleEngine, Rule: &Rule{Kind: RuleStatic, Value: []Selector{{Key: "k", Op: labels.GreaterThan, Value: "x"}}}}}})
			f.job(Job{ID: "jc", ChannelID: voice, ClassificationPolicyID: "cp"}) // JobClassificationFailed
		},
		func(f *fixture) {
			_, err := f.e.UpsertExceptionPolicy(f.now, ExceptionPolicy{ID: "ex", Rules: []ExceptionRule{{ID: "r",
				Trigger: Trigger{Kind: TriggerQueueLength, Threshold: 0},
				Actions: []Action{{Kind: ActionCancel, Note: "too many"}}}}})
			require.NoError(f.t, err)
			q := f.queue("qx", "p")
			q.ExceptionPolicyID = "ex"
			_, err = f.e.UpsertQueue(f.now, q)
			require.NoError(f.t, err)
			f.job(call("je", "qx")) // JobExceptionTriggered, then JobCancelled
		},
		func(f *fixture) { f.job(scheduledAt("js", "q", f.now)) }, // JobWaitingForActivation at once
		func(f *fixture) { f.job(withSelectors("jx", "q", excluding("nobody", 30*time.Second))) },
		func(f *fixture) { f.job(call("j3", "q")) },
		// jx's selector expires, and the offers of jx and j3 expire (their workers are
		// deregistered).
		func(f *fixture) { f.advance(2 * expiry) },
		func(f *fixture) { require.NoError(f.t, f.e.DeleteWorker(f.now, "w1")) },
	}
}

// runWants runs wantsSteps on a fresh engine, calling SetWanted(wanted(k)) before
// step k, and returns every event the engine recorded with the step that recorded
// it.
func runWants(t *testing.T, wanted func(step int) uint32) (evs []Event, steps []int) {
	step := 0
	f := newFixture(t, Config{Emit: func(ev Event) { evs, steps = append(evs, ev), append(steps, step) }})
	for k, s := range wantsSteps() {
		step = k
		f.e.SetWanted(wanted(k))
		s(f)
	}
	return evs, steps
}

// typeSet is the set of the given types, as SetWanted takes it.
func typeSet(types ...EventType) uint32 {
	var s uint32
	for _, typ := range types {
		s |= EventTypeBit(typ)
	}
	return s
}

// TestUnwantedEventsKeepTheirSeq holds SetWanted: the engine records only the
// events of the types it is told are wanted, and those exactly as it would have
// recorded them anyway, Seq included: an event it skips still takes its number, so
// the numbers do not depend on who listens.
func TestUnwantedEventsKeepTheirSeq(t *testing.T) {
	all, steps := runWants(t, func(int) uint32 { return AnyEventType })
	seen := map[EventType]bool{}
	for i, ev := range all {
		require.Equal(t, uint64(i+1), ev.Seq)
		seen[ev.Type] = true
	}
	for _, typ := range []EventType{EvWorkerRegistered, EvWorkerUpdated, EvWorkerDeregistered, EvWorkerDeleted,
		EvOfferIssued, EvOfferDeclined, EvOfferRevoked, EvOfferAccepted, EvOfferExpired,
		EvJobReceived, EvJobQueued, EvJobUnassigned, EvJobCompleted, EvJobClosed, EvJobCancelled, EvJobDeleted,
		EvJobClassificationFailed, EvJobExceptionTriggered, EvJobWaitingForActivation, EvJobWorkerSelectorsExpired} {
		require.True(t, seen[typ], "the steps record no %s", typ)
	}
	for _, ev := range all {
		if ev.Type == EvJobWaitingForActivation {
			require.NotNil(t, ev.Extra, "the scheduled job's event carries its ScheduledAt")
		}
	}

	sets := []uint32{
		0,
		typeSet(EvOfferIssued),
		typeSet(EvWorkerRegistered, EvWorkerUpdated, EvOfferRevoked, EvOfferDeclined, EvJobCancelled, EvJobUnassigned,
			EvJobClassificationFailed, EvJobExceptionTriggered, EvJobWaitingForActivation, EvJobWorkerSelectorsExpired),
		typeSet(EvJobReceived, EvJobDeleted, EvWorkerDeleted),
	}
	check := func(name string, wanted func(step int) uint32) {
		t.Helper()
		var want []Event
		for i, ev := range all {
			if w := wanted(steps[i]); w&AnyEventType != 0 || w&EventTypeBit(ev.Type) != 0 {
				want = append(want, ev)
			}
		}
		got, _ := runWants(t, wanted)
		require.Equal(t, want, got, name)
	}
	for _, set := range sets {
		check(fmt.Sprintf("wanted %b throughout", set), func(int) uint32 { return set })
	}
	// The set changing from one command to the next, through every set above.
	check("changing", func(step int) uint32 {
		if step%5 == 4 {
			return AnyEventType
		}
		return sets[step%len(sets)]
	})
}

// TestUnwantedEventsAllocateNothing: an event with extras allocates them only when
// it is wanted (emitWith), and the paths that record such events go through it: a
// worker going offline with an open offer and coming back records OfferRevoked,
// WorkerDeregistered, WorkerRegistered and OfferIssued, two of them with extras,
// and costs two allocations less when no event is wanted.
func TestUnwantedEventsAllocateNothing(t *testing.T) {
	for _, wanted := range []bool{false, true} {
		e := New(Config{Emit: func(Event) {}})
		set := uint32(0)
		if wanted {
			set = AnyEventType
		}
		e.SetWanted(set)
		allocs := testing.AllocsPerRun(100, func() {
			e.emitWith(t0, Event{Type: EvOfferRevoked, WorkerID: "w"}, &EventExtra{Reason: "worker deregistered"})
		})
		want := 0.0
		if wanted {
			want = 1 // the extras, copied into the heap
		}
		require.Equal(t, want, allocs, "emitWith, wanted %v", wanted)
	}

	const runs = 100
	ids := make([]string, 0, 2*runs+10)
	for i := range cap(ids) {
		ids = append(ids, "id-"+strconv.Itoa(i))
	}
	toggle := func(wanted uint32) float64 {
		next := 0
		e := New(Config{NewID: func() string { next++; return ids[next-1] }, Emit: func(Event) {}})
		e.SetWanted(wanted)
		now := t0
		_, err := e.UpsertDistributionPolicy(now, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Hour, Mode: Mode{Kind: LongestIdle}})
		require.NoError(t, err)
		_, err = e.UpsertQueue(now, Queue{ID: "q", DistributionPolicyID: "p"})
		require.NoError(t, err)
		on := Worker{ID: "w", Queues: []string{"q"}, Capacity: 1, AvailableForOffers: true,
			Channels: []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: 1}}, Labels: Labels{"lang": "en"}}
		off := on
		off.AvailableForOffers = false
		_, err = e.UpsertWorker(now, on)
		require.NoError(t, err)
		_, err = e.CreateJob(now, Job{ID: "j", QueueID: "q", ChannelID: voice})
		require.NoError(t, err)
		return testing.AllocsPerRun(runs, func() {
			now = now.Add(time.Second)
			if _, err := e.UpsertWorker(now, off); err != nil { // OfferRevoked, WorkerDeregistered
				panic(err)
			}
			if _, err := e.UpsertWorker(now, on); err != nil { // WorkerRegistered, OfferIssued
				panic(err)
			}
		})
	}
	none := toggle(0)
	every := toggle(AnyEventType)
	t.Logf("allocations per toggle: %v with no event wanted, %v with every event", none, every)
	require.Equal(t, every-2, none, "the two extras (OfferRevoked's, WorkerRegistered's) are what the events cost")
}

// TestExtrasGoThroughEmitWith: an event's extras are allocated only when it is
// wanted because every path hands them to emitWith rather than setting
// Event.Extra itself. A source check, since the events and their Seq are the same
// either way (TestUnwantedEventsKeepTheirSeq) and only the allocation differs.
func TestExtrasGoThroughEmitWith(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	bad := regexp.MustCompile(`Extra\s*(=|:)\s*&EventExtra\{`)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		for i, line := range strings.Split(string(src), "\n") {
			require.False(t, bad.MatchString(line), "%s:%d sets an event's extras outside emitWith: %s", name, i+1, strings.TrimSpace(line))
		}
	}
}
