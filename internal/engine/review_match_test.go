package engine

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// Review of the incremental matching (match.go, matchindex.go): each test names a
// state change that the indexes or the gains must follow.

// recoverCheck turns a panic of Config.Checks (or any other) into a test failure, so
// that one failing test does not stop the others.
func recoverCheck(t *testing.T) {
	t.Helper()
	if r := recover(); r != nil {
		t.Fatalf("panic: %v", r)
	}
}

// Two queued jobs whose selectors differ only in the Go type of an equal value (1
// and 1.0, or int and int64) share a job group (appendGroupSig encodes them alike). Before
// d9e6bcd, refreshJob and CheckIndexes compared a job's requirements with its
// group's by interface equality (sameReqs), which told them apart: Config.Checks
// panicked ("wrong job group") and every refresh regrouped the job. Regression test.
func TestReview_EquivalentSelectorValuesShareAGroup(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b any
	}{
		{"int and float64", 1, 1.0},
		{"int and int64", 1, int64(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			defer recoverCheck(t)
			f.basic()
			// A free worker that fails the selector: the jobs stay queued and grouped.
			w := agent("w", "q")
			w.Labels = Labels{"level": 2}
			f.worker(w)
			j1 := call("j1", "q")
			j1.RequestedWorkerSelectors = []Selector{{Key: "level", Op: labels.Equal, Value: tc.a}}
			f.job(j1)
			j2 := call("j2", "q")
			j2.RequestedWorkerSelectors = []Selector{{Key: "level", Op: labels.Equal, Value: tc.b}}
			f.job(j2) // panics under Config.Checks: "job j2: wrong job group"
			require.NoError(t, f.e.CheckIndexes())

			// And both are matched when a worker fits.
			w2 := agent("w2", "q")
			w2.Capacity = 2
			w2.Labels = Labels{"level": 1}
			f.worker(w2)
			require.Equal(t, []string{"w2"}, f.offeredTo("j1"))
			require.Equal(t, []string{"w2"}, f.offeredTo("j2"))
		})
	}
}

// Before d9e6bcd, UpsertWorker re-placed a worker in its classes only when
// changedProps reported a change of labels, by labels.Same; but classSig tells apart
// values that Same calls equal: float64(2^63) and int64(MaxInt64) (Same compares them
// as floats, while the ordering operators compare MaxInt64 exactly with an integer
// threshold). The worker was left in a class whose signature was not its own, and
// the class-level link check then kept it from a job it is eligible for (a missed
// match without Config.Checks). Regression test.
func TestReview_LabelChangeThatSameIgnoresMovesTheClass(t *testing.T) {
	for _, checks := range []bool{true, false} {
		t.Run(map[bool]string{true: "with checks", false: "without checks: a missed match"}[checks], func(t *testing.T) {
			f := newFixture(t)
			defer recoverCheck(t)
			f.e.cfg.Checks = checks
			f.basic()
			two63 := float64(1 << 63)
			// a and b share a class created by a's labels (n = 2^63 as a float).
			a := agent("a", "q")
			a.AvailableForOffers = false
			a.Labels = Labels{"n": two63}
			f.worker(a)
			b := agent("b", "q")
			b.AvailableForOffers = false
			b.Labels = Labels{"n": two63}
			f.worker(b)
			// A job that only an exact MaxInt64 satisfies: n > MaxInt64-1.
			j := call("j", "q")
			j.RequestedWorkerSelectors = []Selector{{Key: "n", Op: labels.GreaterThan, Value: int64(math.MaxInt64 - 1)}}
			f.job(j)
			require.Empty(t, f.offeredTo("j"))

			// b now has n = MaxInt64 (labels.Same says unchanged) and becomes available.
			b.Labels = Labels{"n": int64(math.MaxInt64)}
			b.AvailableForOffers = true
			f.worker(b) // with checks: panics, worker "b": wrong class in queue "q"
			require.Equal(t, []string{"b"}, f.offeredTo("j"), "b satisfies n > MaxInt64-1")
		})
	}
}

// OPEN. A wait-time rule whose reclassify action waits for a webhook defers the
// actions after it (runActions). While the job waits, the caller suspends it; the
// answer routes it to waitingForActivation by its mode, and then finishClassification
// (classify.go, "if acts := j.deferredActions; ...") runs the deferred manual
// reclassify anyway, which queues it: a queued job whose MatchingMode is Suspend
// (ScheduleAndSuspend likewise).
func TestReview_DeferredActionQueuesASuspendedJob(t *testing.T) {
	f := deferredSuspendFixture(t)
	defer recoverCheck(t)
	got := f.getJob("j")
	require.Equal(t, Suspend, got.MatchingMode.Kind)
	require.Equal(t, JobWaitingForActivation, got.Status,
		"the job was routed by its mode (Suspend); the deferred manual reclassify must not queue it")
}

// deferredSuspendFixture builds the state of TestReview_DeferredActionQueuesASuspendedJob:
// job j, reclassified into q by an exception whose manual reclassify was deferred
// behind a webhook, suspended by the caller before the answer.
func deferredSuspendFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.basic()
	// The policy picks q by a queue selector (no fallback, so q can be deleted).
	f.classified(ClassificationPolicy{ID: "hook", PrioritizationRule: hookRule(),
		QueueSelectorAttachments: []Attachment{{Kind: AttachStatic, Selectors: []Selector{{Key: "Id", Op: labels.Equal, Value: "q"}}}}})
	_, err := f.e.UpsertExceptionPolicy(f.now, ExceptionPolicy{ID: "ex", Rules: []ExceptionRule{{ID: "r",
		Trigger: Trigger{Kind: TriggerWaitTime, Wait: time.Minute},
		Actions: []Action{{Kind: ActionReclassify, ClassificationPolicyID: "hook"}, {Kind: ActionManualReclassify}}}}})
	require.NoError(t, err)
	q := f.queue("q", "p")
	q.ExceptionPolicyID = "ex"
	_, err = f.e.UpsertQueue(f.now, q)
	require.NoError(t, err)
	f.queue("q3", "p")

	f.job(call("j", "q"))
	f.advance(time.Minute)
	require.Equal(t, JobPendingClassification, f.getJob("j").Status)
	j := f.getJob("j")
	j.MatchingMode = MatchingMode{Kind: Suspend}
	_, err = f.e.UpdateJob(f.now, j)
	require.NoError(t, err)
	f.answer("j", int64(1))
	return f
}

// A command may carry a time later than pending deadlines (the engine API allows it;
// the shell advances first). Before d9e6bcd, eligible() read a decline's RetryOfferAt
// against the command's now while the retry was recorded as a gain only when its
// deadline fired, so whether the decliner was offered the job at such a command
// depended on whether some unrelated gain made the pass visit the job. Now a decline
// holds until its retry deadline fires, whichever jobs the command visits; the
// offer comes with the Advance. (internal/naive follows the same rule.)
func TestReview_RetryPassedWithoutAdvance(t *testing.T) {
	for _, other := range []bool{false, true} {
		name := "no other gain"
		if other {
			name = "another worker eligible for the job registers"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			defer recoverCheck(t)
			f.basic()
			f.worker(agent("w1", "q"))
			f.job(call("j", "q"))
			o := f.offer("w1", "j")
			require.NoError(t, f.e.DeclineOffer(f.now, "w1", o.ID, f.now.Add(10*time.Second)))
			require.Empty(t, f.offeredTo("j"))
			// 20 s later, no Advance: a command that may or may not make j visited.
			f.now = f.now.Add(20 * time.Second)
			want := []string(nil)
			if other {
				f.worker(agent("w2", "q")) // j is visited: w1 is still declined
				want = []string{"w2"}
			} else {
				f.worker(agent("w2", "q2")) // j is not visited
			}
			require.Equal(t, want, f.offeredTo("j"), "the retry deadline has not fired: w1's decline holds")
			f.take()
			f.e.Advance(f.now)
			if !other {
				require.Equal(t, []string{"w1"}, f.offeredTo("j"), "the retry fired at +10 s")
				require.Equal(t, t0.Add(10*time.Second), f.offer("w1", "j").OfferedAt)
			}
		})
	}
}

// A decline whose RetryOfferAt is not after the command's now sets no retry deadline
// (the decliner is eligible again at once). When that command carries a time past a
// pending deadline (no Advance first), the Advance that follows replays the deadline
// at its own, earlier time T. Before d9e6bcd the job gained at T, when eligible()
// (reading RetryOfferAt against T) still saw the decline, and nothing visited it
// again at now: an eligible worker was left unoffered (Config.Checks panicked:
// "matching missed it"). Found by a mode of internal/naive/review_diff_test.go that
// has since been retired (seed 982); fixed by the lapsed flag.
func TestReview_ImmediateRetryThenEarlierDeadline(t *testing.T) {
	f := newFixture(t)
	defer recoverCheck(t)
	f.basic()
	a := agent("a", "q")
	a.Labels = Labels{"lang": "fr"}
	f.worker(a)
	j := call("j", "q")
	j.RequestedWorkerSelectors = []Selector{{Key: "lang", Op: labels.Equal, Value: "fr", ExpiresAfter: 20 * time.Second}}
	f.job(j)
	o := f.offer("a", "j")
	// a's labels change (its open offer stays): a no longer passes lang=fr.
	a.Labels = Labels{"lang": "en"}
	f.worker(a)
	// At +21 s, before any Advance (the selector expiry at +20 s is pending), a
	// declines with RetryOfferAt = now: it may be offered j again at once, but fails
	// the selector.
	f.now = t0.Add(21 * time.Second)
	require.NoError(t, f.e.DeclineOffer(f.now, "a", o.ID, f.now))
	require.Empty(t, f.offeredTo("j"))
	// Advance: the selector expires at +20 s (when a's decline still holds), then
	// nothing is due at +21 s.
	f.e.Advance(f.now) // panics under Config.Checks: job "j": 1 eligible workers left unoffered
	require.Equal(t, []string{"a"}, f.offeredTo("j"), "at +21 s a is eligible for j and nothing else is offered it")
}

// Empty job groups are collected when more than 64 of them make up over half of a
// queue's groups (ungroup). No other test reaches that code; here it runs both
// between passes and inside a pass (an offer takes the last job of a group while
// other groups' streams are open), with Config.Checks verifying the links after
// every pass.
func TestReview_EmptyGroupCollection(t *testing.T) {
	f := newFixture(t)
	defer recoverCheck(t)
	f.policy("p", Mode{Kind: LongestIdle})
	f.queue("q", "p")
	// 150 jobs, each in its own group (a distinct selector no worker fails).
	const n = 150
	for i := range n {
		j := call(fmt.Sprintf("j%03d", i), "q")
		j.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.NotEqual, Value: fmt.Sprint("nobody", i)}}
		f.job(j)
	}
	require.Len(t, f.e.queues["q"].groupList, n)
	// Cancel two in three: their groups empty and are collected on the way.
	for i := range n {
		if i%3 != 1 {
			require.NoError(t, f.e.CancelJob(f.now, fmt.Sprintf("j%03d", i), "", ""))
		}
	}
	q := f.e.queues["q"]
	require.Less(t, len(q.groupList), n, "empty groups were collected")
	// A worker with room for every remaining job: one pass offers them all, each
	// offer emptying a group and collecting groups while the pass goes on.
	w := agent("w", "q")
	w.Capacity = n
	before := len(q.groupList)
	f.worker(w)
	require.Less(t, len(q.groupList), before, "groups were collected inside the pass")
	for i := 1; i < n; i += 3 {
		require.Equal(t, []string{"w"}, f.offeredTo(fmt.Sprintf("j%03d", i)), "job %d", i)
	}
	// And the queue still works: new jobs like the collected ones are matched.
	for i := range 3 {
		j := call(fmt.Sprint("k", i), "q")
		j.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.NotEqual, Value: fmt.Sprint("nobody", 3*i)}}
		f.job(j)
		require.Equal(t, []string{"w"}, f.offeredTo(fmt.Sprint("k", i)))
	}
	require.NoError(t, f.e.CheckIndexes())
}

// A regression of d9e6bcd (fixed since in fire(), which now lapses only a decline
// whose own RetryOfferAt has come). A decline's retry deadline is keyed by job and
// worker, and DeclineOffer sets it only for a RetryOfferAt in the future: a later
// decline of the same job by the same worker without a RetryOfferAt (after it
// registered again) leaves the earlier deadline pending. When that stale deadline
// fired, fire(dlRetryOffer) lapsed the decline it found, the new "never again" one,
// and the worker was offered the job again (the naive router keeps it declined;
// the naive router's former differential test found it too, seeds 1355 and 2009).
func TestReview_StaleRetryDeadlineLapsesALaterDecline(t *testing.T) {
	f := newFixture(t)
	defer recoverCheck(t)
	f.basic()
	w := agent("w", "q")
	f.worker(w)
	f.job(call("j", "q"))
	o := f.offer("w", "j")
	require.NoError(t, f.e.DeclineOffer(f.now, "w", o.ID, f.now.Add(time.Minute)))
	// w deregisters and registers again: its decline no longer holds, and j is
	// offered to it again at once.
	f.advance(time.Second)
	w.AvailableForOffers = false
	f.worker(w)
	w.AvailableForOffers = true
	f.worker(w)
	o = f.offer("w", "j")
	// This time w declines for good.
	require.NoError(t, f.e.DeclineOffer(f.now, "w", o.ID, time.Time{}))
	require.Empty(t, f.offeredTo("j"))
	// The first decline's retry time passes.
	f.take()
	f.advance(time.Minute)
	require.Empty(t, only(f.take(), EvOfferIssued), "w declined j without a RetryOfferAt during this registration")
	require.Empty(t, f.offeredTo("j"))
}
