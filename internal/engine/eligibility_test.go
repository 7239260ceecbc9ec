package engine

import (
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/stretchr/testify/require"
)

// eligibilityCase is one worker/state setup; the test then creates voice job "j" in
// queue "q" and checks whether worker "w" is offered it.
type eligibilityCase struct {
	name   string
	worker Worker
	before func(f *fixture) // runs after the worker is stored, before "j" exists
	want   bool
}

func runEligibility(t *testing.T, cases []eligibilityCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.basic()
			// A free worker that never qualifies (it listens on q2 only), so that no
			// shortcut for "nobody could take anything" hides the rule under test.
			bystander := agent("bystander", "q2")
			bystander.Capacity = 100
			f.worker(bystander)
			f.worker(tc.worker)
			if tc.before != nil {
				tc.before(f)
			}
			f.job(call("j", "q"))
			if tc.want {
				require.Equal(t, []string{"w"}, f.offeredTo("j"))
			} else {
				require.Empty(t, f.offeredTo("j"))
				require.Equal(t, JobQueued, f.getJob("j").Status)
			}
		})
	}
}

// withChannels returns agent "w" on queue q with the given channels and capacity.
func withChannels(capacity int, chs ...ChannelConfig) Worker {
	w := agent("w", "q")
	w.Capacity = capacity
	w.Channels = chs
	return w
}

// pendingOffer creates job j0 on channel ch and requires "w" to be offered it.
func pendingOffer(ch string) func(f *fixture) {
	return func(f *fixture) {
		f.t.Helper()
		f.job(Job{ID: "j0", QueueID: "q", ChannelID: ch})
		require.Equal(f.t, []string{"w"}, f.offeredTo("j0"))
	}
}

// heldAssignment assigns job j0 on channel ch to "w"; with complete it is also
// completed (still holding capacity).
func heldAssignment(ch string, complete bool) func(f *fixture) {
	return func(f *fixture) {
		f.t.Helper()
		f.job(Job{ID: "j0", QueueID: "q", ChannelID: ch})
		aid := f.accept("w", "j0")
		if complete {
			require.NoError(f.t, f.e.CompleteJob(f.now, "j0", aid, ""))
		}
	}
}

func TestEligibility_WorkerMustBeActiveAndAvailable(t *testing.T) {
	unavailable := agent("w", "q")
	unavailable.AvailableForOffers = false
	runEligibility(t, []eligibilityCase{
		{name: "available", worker: agent("w", "q"), want: true},
		{name: "created unavailable", worker: unavailable, want: false},
		{name: "deregistered", worker: agent("w", "q"), want: false, before: func(f *fixture) {
			f.worker(unavailable)
		}},
	})
}

func TestEligibility_WorkerMustListenOnTheJobsQueue(t *testing.T) {
	runEligibility(t, []eligibilityCase{
		{name: "listens on q", worker: agent("w", "q2", "q"), want: true},
		{name: "listens on q2 only", worker: agent("w", "q2"), want: false},
		{name: "listens on nothing", worker: agent("w"), want: false},
	})
}

func TestEligibility_WorkerNeedsAChannelEntryForTheJobsChannel(t *testing.T) {
	runEligibility(t, []eligibilityCase{
		{name: "voice entry", worker: withChannels(1, ChannelConfig{ChannelID: voice, CapacityCostPerJob: 1}), want: true},
		{name: "chat entry only", worker: withChannels(1, ChannelConfig{ChannelID: chat, CapacityCostPerJob: 1}), want: false},
		{name: "no channels", worker: withChannels(1), want: false},
	})
}

func TestEligibility_FreeCapacityCountsAssignmentsAndPendingOffers(t *testing.T) {
	cost2 := ChannelConfig{ChannelID: voice, CapacityCostPerJob: 2}
	runEligibility(t, []eligibilityCase{
		{name: "capacity equals cost", worker: withChannels(2, cost2), want: true},
		{name: "capacity below cost", worker: withChannels(1, cost2), want: false},
		{name: "zero cost fits zero capacity", worker: withChannels(0, ChannelConfig{ChannelID: voice}), want: true},
		{name: "pending offer leaves 1 of 3", worker: withChannels(3, cost2), before: pendingOffer(voice), want: false},
		{name: "pending offer leaves 2 of 4", worker: withChannels(4, cost2), before: pendingOffer(voice), want: true},
		{name: "assignment leaves 1 of 3", worker: withChannels(3, cost2), before: heldAssignment(voice, false), want: false},
		{name: "assignment leaves 2 of 4", worker: withChannels(4, cost2), before: heldAssignment(voice, false), want: true},
		{name: "completed job still holds capacity", worker: withChannels(3, cost2), before: heldAssignment(voice, true), want: false},
		{name: "pending chat offer uses shared capacity", worker: withChannels(3, cost2, ChannelConfig{ChannelID: chat, CapacityCostPerJob: 2}),
			before: pendingOffer(chat), want: false},
	})
}

func TestEligibility_MaxNumberOfJobsCountsOffersAndAssignmentsOnThatChannel(t *testing.T) {
	voiceMax := func(n int) Worker {
		return withChannels(10, ChannelConfig{ChannelID: voice, CapacityCostPerJob: 1, MaxNumberOfJobs: n},
			ChannelConfig{ChannelID: chat, CapacityCostPerJob: 1})
	}
	runEligibility(t, []eligibilityCase{
		{name: "max 1, nothing held", worker: voiceMax(1), want: true},
		{name: "max 1, voice offer pending", worker: voiceMax(1), before: pendingOffer(voice), want: false},
		{name: "max 1, voice assignment", worker: voiceMax(1), before: heldAssignment(voice, false), want: false},
		{name: "max 1, completed voice job", worker: voiceMax(1), before: heldAssignment(voice, true), want: false},
		{name: "max 1, chat offer pending", worker: voiceMax(1), before: pendingOffer(chat), want: true},
		{name: "max 2, voice offer pending", worker: voiceMax(2), before: pendingOffer(voice), want: true},
		{name: "max 0 means no limit", worker: voiceMax(0), before: pendingOffer(voice), want: true},
	})
}

func TestEligibility_WorkerMaxConcurrentOffersCountsOpenOffers(t *testing.T) {
	maxOffers := func(n int) Worker {
		w := withChannels(10, ChannelConfig{ChannelID: voice, CapacityCostPerJob: 1}, ChannelConfig{ChannelID: chat, CapacityCostPerJob: 1})
		w.MaxConcurrentOffers = n
		return w
	}
	runEligibility(t, []eligibilityCase{
		{name: "limit 1, no offer", worker: maxOffers(1), want: true},
		{name: "limit 1, one open offer", worker: maxOffers(1), before: pendingOffer(chat), want: false},
		{name: "limit 2, one open offer", worker: maxOffers(2), before: pendingOffer(chat), want: true},
		{name: "limit 1, accepted offer is no longer open", worker: maxOffers(1), before: heldAssignment(chat, false), want: true},
	})

	t.Run("zero means no limit", func(t *testing.T) {
		f := newFixture(t)
		f.basic()
		f.worker(maxOffers(0))
		for _, id := range []string{"j1", "j2", "j3", "j4", "j5"} {
			f.job(call(id, "q"))
			require.Equal(t, []string{"w"}, f.offeredTo(id), id)
		}
		require.Len(t, f.getWorker("w").Offers, 5)
	})
}

func TestEligibility_SelectorOperators(t *testing.T) {
	type row struct {
		name   string
		op     labels.Operator
		value  any
		label  any // nil: the worker has no "level" label
		holds  bool
		reason string
	}
	rows := []row{
		{"equal string", labels.Equal, "gold", "gold", true, ""},
		{"equal string differs", labels.Equal, "gold", "silver", false, ""},
		{"equal int and float", labels.Equal, 5, 5.0, true, "numbers compare by value"},
		{"equal string vs number", labels.Equal, "5", 5, false, "types differ"},
		{"equal bool", labels.Equal, true, true, true, ""},
		{"equal missing", labels.Equal, "gold", nil, false, "a missing label fails Equal"},
		{"notEqual differs", labels.NotEqual, "gold", "silver", true, ""},
		{"notEqual same", labels.NotEqual, "gold", "gold", false, ""},
		{"notEqual missing", labels.NotEqual, "gold", nil, true, "a missing label satisfies NotEqual"},
		{"lessThan below", labels.LessThan, 5, 4, true, ""},
		{"lessThan equal", labels.LessThan, 5, 5, false, ""},
		{"lessThan missing", labels.LessThan, 5, nil, false, "a missing label fails ordering operators"},
		{"lessThan string label", labels.LessThan, 5, "4", false, "ordering compares numbers only"},
		{"lessThanOrEqual equal", labels.LessThanOrEqual, 5, 5.0, true, ""},
		{"lessThanOrEqual above", labels.LessThanOrEqual, 5, 6, false, ""},
		{"lessThanOrEqual missing", labels.LessThanOrEqual, 5, nil, false, ""},
		{"greaterThan above", labels.GreaterThan, 5, 5.5, true, ""},
		{"greaterThan equal", labels.GreaterThan, 5, 5, false, ""},
		{"greaterThan missing", labels.GreaterThan, 5, nil, false, ""},
		{"greaterThan string label", labels.GreaterThan, 5, "9", false, "ordering compares numbers only"},
		{"greaterThan bool label", labels.GreaterThan, 0, true, false, "ordering compares numbers only"},
		{"greaterThanOrEqual equal", labels.GreaterThanOrEqual, 5, 5, true, ""},
		{"greaterThanOrEqual below", labels.GreaterThanOrEqual, 5, 4, false, ""},
		{"greaterThanOrEqual missing", labels.GreaterThanOrEqual, 5, nil, false, ""},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			f := newFixture(t)
			f.basic()
			w := agent("w", "q")
			if r.label != nil {
				w.Labels = Labels{"level": r.label}
			}
			f.worker(w)
			j := call("j", "q")
			j.RequestedWorkerSelectors = []Selector{{Key: "level", Op: r.op, Value: r.value}}
			f.job(j)
			if r.holds {
				require.Equal(t, []string{"w"}, f.offeredTo("j"), r.reason)
			} else {
				require.Empty(t, f.offeredTo("j"), r.reason)
			}
		})
	}
}

func TestEligibility_EverySelectorMustHold(t *testing.T) {
	f := newFixture(t)
	f.basic()
	both := agent("both", "q")
	both.Labels = Labels{"lang": "en", "level": 7}
	one := agent("one", "q")
	one.Labels = Labels{"lang": "en", "level": 2}
	f.worker(one)
	f.worker(both)
	j := call("j", "q")
	j.RequestedWorkerSelectors = []Selector{
		{Key: "lang", Op: labels.Equal, Value: "en"},
		{Key: "level", Op: labels.GreaterThanOrEqual, Value: 5},
	}
	f.job(j)
	require.Equal(t, []string{"both"}, f.offeredTo("j"))
}

func TestEligibility_IdLabelCanBeSelected(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("a", "q"))
	f.worker(agent("b", "q"))
	j := call("j", "q")
	j.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.Equal, Value: "b"}}
	f.job(j)
	require.Equal(t, []string{"b"}, f.offeredTo("j"))
}

func TestEligibility_BypassSelectorsExcludesNoOne(t *testing.T) {
	for _, bypass := range []bool{false, true} {
		t.Run(map[bool]string{false: "selectors apply", true: "bypassed"}[bypass], func(t *testing.T) {
			f := newFixture(t)
			f.policy("p", Mode{Kind: LongestIdle, BypassSelectors: bypass})
			f.queue("q", "p")
			w := agent("w", "q")
			w.Labels = Labels{"lang": "fr"}
			f.worker(w)
			j := call("j", "q")
			j.RequestedWorkerSelectors = []Selector{{Key: "lang", Op: labels.Equal, Value: "en"}}
			f.job(j)
			if bypass {
				require.Equal(t, []string{"w"}, f.offeredTo("j"))
			} else {
				require.Empty(t, f.offeredTo("j"))
			}
		})
	}
}

func TestDecline_WithoutRetryTheWorkerIsNeverOfferedTheJobAgain(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	f.job(call("j", "q"))
	require.NoError(t, f.e.DeclineOffer(f.now, "w", f.offer("w", "j").ID, time.Time{}))
	require.Empty(t, f.offeredTo("j"))

	// Nothing that re-runs matching brings it back: time, an update, another job.
	f.advance(24 * time.Hour)
	w := agent("w", "q")
	w.Labels = Labels{"touched": true}
	f.worker(w)
	require.Empty(t, f.offeredTo("j"))
	f.job(call("other", "q"))
	require.Equal(t, []string{"w"}, f.offeredTo("other"), "the decline is for that job only")
	require.Empty(t, f.offeredTo("j"))
}

func TestDecline_RetryOfferAtMakesTheWorkerEligibleFromExactlyThatInstant(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	f.job(call("j", "q"))
	retryAt := f.now.Add(30 * time.Second)
	require.NoError(t, f.e.DeclineOffer(f.now, "w", f.offer("w", "j").ID, retryAt))
	declined := only(f.take(), EvOfferDeclined)
	require.Len(t, declined, 1)
	require.Equal(t, retryAt, declined[0].Extras().RetryOfferAt)

	next, ok := f.e.NextDeadline()
	require.True(t, ok)
	require.Equal(t, retryAt, next, "the retry is a deadline the shell's timer waits for")

	f.advanceTo(retryAt.Add(-time.Nanosecond))
	require.Empty(t, f.offeredTo("j"))
	require.Empty(t, f.take())

	f.advanceTo(retryAt)
	o := f.offer("w", "j")
	require.Equal(t, retryAt, o.OfferedAt)
	require.Equal(t, []EventType{EvOfferIssued}, typesOf(f.take()))
}

func TestDecline_ReRegistrationClearsTheDecline(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	f.job(call("j", "q"))
	require.NoError(t, f.e.DeclineOffer(f.now, "w", f.offer("w", "j").ID, time.Time{}))
	off := agent("w", "q")
	off.AvailableForOffers = false
	f.advance(time.Second)
	f.worker(off)
	require.Empty(t, f.offeredTo("j"))
	f.advance(time.Second)
	f.worker(agent("w", "q"))
	require.Equal(t, []string{"w"}, f.offeredTo("j"))
}

func TestDecline_TheJobGoesToTheNextEligibleWorker(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("a", "q"))
	f.advance(time.Second)
	f.worker(agent("b", "q"))
	f.job(call("j", "q"))
	require.Equal(t, []string{"a"}, f.offeredTo("j"), "a has been idle longer")
	f.take()
	o := f.offer("a", "j")
	require.NoError(t, f.e.DeclineOffer(f.now, "a", o.ID, time.Time{}))
	evs := f.take()
	require.Equal(t, []string{"OfferDeclined job=j worker=a", "OfferIssued job=j worker=b"}, briefs(evs))
	require.Equal(t, o.ID, evs[0].OfferID)
	require.True(t, evs[0].Extras().RetryOfferAt.IsZero())
	require.Equal(t, []string{"b"}, f.offeredTo("j"))
	require.Zero(t, f.getWorker("a").LoadRatio, "declining releases the offer's capacity")
}
