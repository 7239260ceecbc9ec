package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/stretchr/testify/require"
)

// day is 24 hours, for readable maximum ages.
const day = 24 * time.Hour

// preferred is the "offer it to w7 first" selector: Id == workerID, expedite,
// expiring after d.
func preferred(workerID string, d time.Duration) Selector {
	return Selector{Key: "Id", Op: labels.Equal, Value: workerID, Expedite: true, ExpiresAfter: d}
}

// excluding is a selector that excludes only workerID from the job until it expires
// after d (zero: never).
func excluding(workerID string, d time.Duration) Selector {
	return Selector{Key: "Id", Op: labels.NotEqual, Value: workerID, ExpiresAfter: d}
}

// withSelectors is call(id, queue) with requested selectors.
func withSelectors(id, queue string, sels ...Selector) Job {
	j := call(id, queue)
	j.RequestedWorkerSelectors = sels
	return j
}

// queueOrder returns the IDs of the queued jobs in queue order (the engine's own
// order, which matching visits).
func (f *fixture) queueOrder() []string {
	var out []string
	for _, j := range f.e.queuedJobs() {
		out = append(out, j.ID)
	}
	return out
}

// nextDeadline returns the earliest pending deadline, requiring one.
func (f *fixture) nextDeadline() time.Time {
	f.t.Helper()
	d, ok := f.e.NextDeadline()
	require.True(f.t, ok, "no pending deadline")
	return d
}

// selectorDeadline returns the job's selector-expiry deadline, if any.
func (f *fixture) selectorDeadline(jobID string) (time.Time, bool) {
	return f.e.deadlines.Get(selectorKey(jobID))
}

// expiredBriefs renders JobWorkerSelectorsExpired events as "t0+D job requested=[k…]
// attached=[k…]".
func expiredBriefs(evs []Event) []string {
	var out []string
	for _, ev := range only(evs, EvJobWorkerSelectorsExpired) {
		s := "t0+" + ev.Time.Sub(t0).String() + " " + ev.JobID + " requested=["
		for i, x := range ev.Extras().RequestedSelectors {
			if i > 0 {
				s += " "
			}
			s += x.Key
		}
		s += "] attached=["
		for i, x := range ev.Extras().AttachedSelectors {
			if i > 0 {
				s += " "
			}
			s += x.Key
		}
		out = append(out, s+"]")
	}
	return out
}

// attach replaces the job's attached selectors now, as classification and a manual
// reclassify action do.
func (f *fixture) attach(j *jobState, sels ...Selector) {
	startSelectorClocks(f.now, sels, j.cold().AttachedWorkerSelectors)
	j.ext().AttachedWorkerSelectors = sels
	f.e.selectorsChanged(j)
}

// busyW7 stores the basic queues, a worker w7 that holds a job (no free capacity)
// and a free worker w1 registered after, and forgets the events.
func busyW7(t *testing.T, cfg ...Config) *fixture {
	t.Helper()
	f := newFixture(t, cfg...)
	f.basic()
	f.worker(agent("w7", "q"))
	f.assign("w7", "busy", "q")
	f.worker(agent("w1", "q"))
	f.take()
	return f
}

func TestSelectorExpiry_PreferredWorkerThenAnyWorker(t *testing.T) {
	f := busyW7(t)
	created := f.now
	got := f.job(withSelectors("j", "q", preferred("w7", 45*time.Second)))
	require.Equal(t, []Selector{{Key: "Id", Op: labels.Equal, Value: "w7", Expedite: true,
		ExpiresAfter: 45 * time.Second, ExpiresAt: created.Add(45 * time.Second)}}, got.RequestedWorkerSelectors)
	require.Equal(t, created.Add(45*time.Second), f.nextDeadline(), "the shell's timer waits for the expiry")
	require.Empty(t, f.offersFor("j"), "w1 is not w7; w7 is busy")
	f.take()

	f.advanceTo(created.Add(45*time.Second - time.Nanosecond))
	require.Empty(t, f.take())
	require.Empty(t, f.offersFor("j"))
	require.False(t, f.getJob("j").RequestedWorkerSelectors[0].Expired)

	f.advanceTo(created.Add(45 * time.Second))
	evs := f.take()
	require.Equal(t, []string{"JobWorkerSelectorsExpired job=j", "OfferIssued job=j worker=w1"}, briefs(evs))
	ev := evs[0]
	require.Equal(t, created.Add(45*time.Second), ev.Time)
	require.Equal(t, "q", ev.QueueID)
	require.Equal(t, voice, ev.ChannelID)
	require.Equal(t, []Selector{{Key: "Id", Op: labels.Equal, Value: "w7", Expedite: true,
		ExpiresAfter: 45 * time.Second, ExpiresAt: created.Add(45 * time.Second), Expired: true}}, ev.Extras().RequestedSelectors)
	require.Empty(t, ev.Extras().AttachedSelectors)

	sel := f.getJob("j").RequestedWorkerSelectors[0]
	require.True(t, sel.Expired)
	require.Equal(t, created.Add(45*time.Second), sel.ExpiresAt)
	_, pending := f.selectorDeadline("j")
	require.False(t, pending, "nothing left to expire")
}

func TestSelectorExpiry_ASelectorWithoutExpiresAfterNeverExpires(t *testing.T) {
	f := newFixture(t, Config{MaxJobAge: -1})
	f.basic()
	got := f.job(withSelectors("j", "q", excluding("w", 0)))
	require.Equal(t, time.Time{}, got.RequestedWorkerSelectors[0].ExpiresAt)
	_, ok := f.e.NextDeadline()
	require.False(t, ok)
	f.advance(365 * day)
	f.worker(agent("w", "q"))
	require.Empty(t, f.offersFor("j"))
	require.False(t, f.getJob("j").RequestedWorkerSelectors[0].Expired)
}

func TestSelectorExpiry_ReadOnlyFieldsOnInputAreIgnored(t *testing.T) {
	f := newFixture(t)
	f.basic()
	s := excluding("w", time.Minute)
	s.Expired, s.ExpiresAt = true, t0.Add(-time.Hour)
	got := f.job(withSelectors("j", "q", s))
	require.False(t, got.RequestedWorkerSelectors[0].Expired)
	require.Equal(t, t0.Add(time.Minute), got.RequestedWorkerSelectors[0].ExpiresAt)
}

func TestSelectorExpiry_OneEventPerInstantAtEachSelectorsOwnTime(t *testing.T) {
	sels := func() []Selector {
		return []Selector{
			{Key: "a", Op: labels.NotEqual, Value: 1, ExpiresAfter: 10 * time.Second},
			{Key: "b", Op: labels.NotEqual, Value: 1, ExpiresAfter: 20 * time.Second},
			{Key: "never", Op: labels.NotEqual, Value: 1},
			{Key: "c", Op: labels.NotEqual, Value: 1, ExpiresAfter: 20 * time.Second},
		}
	}
	t.Run("stepwise", func(t *testing.T) {
		f := newFixture(t)
		f.basic()
		f.job(withSelectors("j", "q", sels()...))
		f.take()
		d, ok := f.selectorDeadline("j")
		require.True(t, ok)
		require.Equal(t, t0.Add(10*time.Second), d)

		f.advanceTo(t0.Add(10 * time.Second))
		require.Equal(t, []string{"t0+10s j requested=[a] attached=[]"}, expiredBriefs(f.take()))
		d, ok = f.selectorDeadline("j")
		require.True(t, ok)
		require.Equal(t, t0.Add(20*time.Second), d, "re-armed at the next expiry")

		f.advanceTo(t0.Add(20*time.Second - time.Nanosecond))
		require.Empty(t, f.take())
		f.advanceTo(t0.Add(20 * time.Second))
		require.Equal(t, []string{"t0+20s j requested=[b c] attached=[]"}, expiredBriefs(f.take()))
		_, ok = f.selectorDeadline("j")
		require.False(t, ok)

		var expired []bool
		for _, s := range f.getJob("j").RequestedWorkerSelectors {
			expired = append(expired, s.Expired)
		}
		require.Equal(t, []bool{true, true, false, true}, expired)
		f.advance(time.Hour)
		require.Empty(t, expiredBriefs(f.take()))
	})
	t.Run("a clock that jumps past both", func(t *testing.T) {
		f := newFixture(t)
		f.basic()
		f.job(withSelectors("j", "q", sels()...))
		f.take()
		f.advanceTo(t0.Add(time.Minute))
		require.Equal(t, []string{"t0+10s j requested=[a] attached=[]", "t0+20s j requested=[b c] attached=[]"},
			expiredBriefs(f.take()), "each instant takes effect at its own time")
	})
}

func TestSelectorExpiry_AnExpiredSelectorStopsConstrainingMatching(t *testing.T) {
	// Two selectors exclude a and b until 10 s and 20 s: a becomes eligible at 10 s,
	// b only at 20 s.
	f := newFixture(t)
	f.policy("p", Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 3})
	f.queue("q", "p")
	f.worker(agent("a", "q"))
	f.worker(agent("b", "q"))
	f.job(withSelectors("j", "q", excluding("a", 10*time.Second), excluding("b", 20*time.Second)))
	require.Empty(t, f.offeredTo("j"))
	f.advance(10 * time.Second)
	require.Equal(t, []string{"a"}, f.offeredTo("j"))
	f.advance(10 * time.Second)
	require.Equal(t, []string{"a", "b"}, f.offeredTo("j"))
	for _, o := range f.offersFor("j") {
		require.Equal(t, map[string]time.Time{"a": t0.Add(10 * time.Second), "b": t0.Add(20 * time.Second)}[o.WorkerID], o.OfferedAt)
	}
}

func TestSelectorExpiry_AttachedSelectorsExpireFromWhenTheyWereAttached(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(withSelectors("j", "q", excluding("x", 30*time.Second)))
	f.advance(5 * time.Second)
	j := f.e.storedJob("j")
	f.attach(j, excluding("y", 10*time.Second), excluding("z", 0))
	got := f.getJob("j")
	require.Equal(t, t0.Add(15*time.Second), got.AttachedWorkerSelectors[0].ExpiresAt)
	require.Equal(t, time.Time{}, got.AttachedWorkerSelectors[1].ExpiresAt)
	d, ok := f.selectorDeadline("j")
	require.True(t, ok)
	require.Equal(t, t0.Add(15*time.Second), d, "the earliest of requested and attached")
	f.take()

	f.advanceTo(t0.Add(time.Minute))
	evs := only(f.take(), EvJobWorkerSelectorsExpired)
	require.Equal(t, []string{"t0+15s j requested=[] attached=[Id]", "t0+30s j requested=[Id] attached=[]"}, expiredBriefs(evs))
	require.Equal(t, "y", evs[0].Extras().AttachedSelectors[0].Value)
	require.True(t, evs[0].Extras().AttachedSelectors[0].Expired)
	require.Equal(t, "x", evs[1].Extras().RequestedSelectors[0].Value)

	// Attaching again: an identical selector keeps its clock and status, a new one
	// starts now.
	f.attach(j, excluding("z", 0), excluding("y", 10*time.Second), excluding("v", 10*time.Second))
	got = f.getJob("j")
	require.True(t, got.AttachedWorkerSelectors[1].Expired)
	require.Equal(t, t0.Add(15*time.Second), got.AttachedWorkerSelectors[1].ExpiresAt)
	require.False(t, got.AttachedWorkerSelectors[2].Expired)
	require.Equal(t, f.now.Add(10*time.Second), got.AttachedWorkerSelectors[2].ExpiresAt)
	d, ok = f.selectorDeadline("j")
	require.True(t, ok)
	require.Equal(t, f.now.Add(10*time.Second), d)
}

func TestSelectorExpiry_ExpediteFirstWhileActiveThenNormalOrder(t *testing.T) {
	build := func(t *testing.T) *fixture {
		f := newFixture(t)
		f.basic()
		hi := call("hi", "q")
		hi.Priority = 10
		f.job(hi)
		exp := withSelectors("exp", "q", Selector{Key: "Id", Op: labels.NotEqual, Value: "nobody",
			Expedite: true, ExpiresAfter: 30 * time.Second})
		exp.Priority = -5
		f.job(exp)
		f.job(call("plain", "q"))
		return f
	}
	t.Run("while active", func(t *testing.T) {
		f := build(t)
		f.advance(30*time.Second - time.Nanosecond)
		require.Equal(t, []string{"exp", "hi", "plain"}, f.queueOrder())
		require.Equal(t, []string{"exp", "hi", "plain"}, takeInOrder(f, 3, "q"))
	})
	t.Run("after expiry", func(t *testing.T) {
		f := build(t)
		f.advance(30 * time.Second)
		require.Equal(t, []string{"hi", "plain", "exp"}, f.queueOrder())
		require.Equal(t, []string{"hi", "plain", "exp"}, takeInOrder(f, 3, "q"))
	})
	t.Run("a second active expedite selector keeps it first", func(t *testing.T) {
		f := newFixture(t)
		f.basic()
		hi := call("hi", "q")
		hi.Priority = 10
		f.job(hi)
		f.job(withSelectors("exp", "q",
			Selector{Key: "Id", Op: labels.NotEqual, Value: "nobody", Expedite: true, ExpiresAfter: 30 * time.Second},
			Selector{Key: "Id", Op: labels.NotEqual, Value: "nobody", Expedite: true, ExpiresAfter: time.Minute}))
		f.advance(30 * time.Second)
		require.Equal(t, []string{"exp", "hi"}, f.queueOrder())
		f.advance(30 * time.Second)
		require.Equal(t, []string{"hi", "exp"}, f.queueOrder())
	})
}

func TestSelectorExpiry_UpdateJobKeepsIdenticalSelectorsClocks(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(withSelectors("j", "q", excluding("a", 10*time.Second), excluding("b", time.Minute)))
	f.advance(20 * time.Second) // a expired at 10 s
	f.take()

	upd := f.getJob("j")
	upd.Tags = Labels{"t": 1}
	got, err := f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	require.Equal(t, f.getJob("j").RequestedWorkerSelectors, got.RequestedWorkerSelectors)
	require.True(t, got.RequestedWorkerSelectors[0].Expired, "an unchanged selector keeps its status")
	require.Equal(t, t0.Add(10*time.Second), got.RequestedWorkerSelectors[0].ExpiresAt)
	require.Equal(t, t0.Add(time.Minute), got.RequestedWorkerSelectors[1].ExpiresAt)

	// Replace b by c (new: its clock starts now) and keep a.
	upd = f.getJob("j")
	upd.RequestedWorkerSelectors = []Selector{excluding("c", 15*time.Second), excluding("a", 10*time.Second)}
	got, err = f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	require.Equal(t, t0.Add(35*time.Second), got.RequestedWorkerSelectors[0].ExpiresAt)
	require.False(t, got.RequestedWorkerSelectors[0].Expired)
	require.True(t, got.RequestedWorkerSelectors[1].Expired)
	d, ok := f.selectorDeadline("j")
	require.True(t, ok)
	require.Equal(t, t0.Add(35*time.Second), d, "b's deadline (1 min) is gone")
	f.take()
	f.advanceTo(t0.Add(2 * time.Minute))
	require.Equal(t, []string{"t0+35s j requested=[Id] attached=[]"}, expiredBriefs(f.take()))

	// A selector whose ExpiresAfter changes is a new one: its clock restarts.
	upd = f.getJob("j")
	upd.RequestedWorkerSelectors = []Selector{excluding("a", 20*time.Second)}
	got, err = f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	require.False(t, got.RequestedWorkerSelectors[0].Expired)
	require.Equal(t, f.now.Add(20*time.Second), got.RequestedWorkerSelectors[0].ExpiresAt)

	// Removing every expiring selector cancels the deadline.
	upd.RequestedWorkerSelectors = []Selector{excluding("a", 0)}
	_, err = f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	_, ok = f.selectorDeadline("j")
	require.False(t, ok)
}

func TestSelectorExpiry_UpdateJobInheritsEachClockOnce(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(withSelectors("j", "q", excluding("a", 10*time.Second)))
	f.advance(20 * time.Second)
	upd := f.getJob("j")
	upd.RequestedWorkerSelectors = []Selector{excluding("a", 10*time.Second), excluding("a", 10*time.Second)}
	got, err := f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	require.True(t, got.RequestedWorkerSelectors[0].Expired, "the first copy takes the old clock")
	require.Equal(t, t0.Add(10*time.Second), got.RequestedWorkerSelectors[0].ExpiresAt)
	require.False(t, got.RequestedWorkerSelectors[1].Expired, "the second is new")
	require.Equal(t, t0.Add(30*time.Second), got.RequestedWorkerSelectors[1].ExpiresAt)
}

func TestSelectorExpiry_AnUnchangedDeadlineKeepsItsPlaceAmongEqualOnes(t *testing.T) {
	// The selector deadline is set before the offer's, both due at t0+1m: the expiry
	// fires first. An update that leaves the selectors alone does not move it behind.
	for _, update := range []bool{false, true} {
		f := newFixture(t, Config{KeepWorkersOnOfferExpiry: true})
		f.basic()
		f.worker(agent("w", "q"))
		f.job(withSelectors("j", "q", excluding("x", expiry)))
		require.Equal(t, []string{"w"}, f.offeredTo("j"))
		f.advance(expiry / 2)
		if update {
			upd := f.getJob("j")
			upd.Tags = Labels{"t": 1}
			_, err := f.e.UpdateJob(f.now, upd)
			require.NoError(t, err)
		}
		f.take()
		f.advanceTo(t0.Add(expiry))
		require.Equal(t, []string{"JobWorkerSelectorsExpired job=j", "OfferExpired job=j worker=w"},
			briefs(only(f.take(), EvJobWorkerSelectorsExpired, EvOfferExpired)), "update=%v", update)
	}
}

func TestSelectorExpiry_UpdateJobReKeysExpedite(t *testing.T) {
	f := newFixture(t)
	f.basic()
	hi := call("hi", "q")
	hi.Priority = 10
	f.job(hi)
	f.job(call("plain", "q"))
	require.Equal(t, []string{"hi", "plain"}, f.queueOrder())

	upd := f.getJob("plain")
	upd.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.NotEqual, Value: "nobody", Expedite: true, ExpiresAfter: time.Minute}}
	_, err := f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	require.Equal(t, []string{"plain", "hi"}, f.queueOrder(), "an expedite selector added by UpdateJob puts it first")

	upd.RequestedWorkerSelectors = nil
	_, err = f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	require.Equal(t, []string{"hi", "plain"}, f.queueOrder(), "removing it puts it back")
}

func TestSelectorExpiry_ClocksRunWhileTheJobIsNotQueued(t *testing.T) {
	// **(ours)** A selector's clock runs in every non-terminal status; expiry then
	// only marks it.
	t.Run("assigned", func(t *testing.T) {
		f := newFixture(t)
		f.basic()
		f.worker(agent("w7", "q"))
		f.job(withSelectors("j", "q", preferred("w7", 45*time.Second)))
		aid := f.accept("w7", "j")
		f.worker(agent("w1", "q")) // idle from now: longer than w7 will be
		f.take()
		f.advance(45 * time.Second)
		require.Equal(t, []string{"JobWorkerSelectorsExpired job=j"}, briefs(f.take()))
		got := f.getJob("j")
		require.Equal(t, JobAssigned, got.Status)
		require.True(t, got.RequestedWorkerSelectors[0].Expired)
		require.Empty(t, f.e.queuedJobs())

		// Unassigned later, the job is no longer held to w7 nor expedited.
		_, err := f.e.UnassignJob(f.now, "j", aid, false)
		require.NoError(t, err)
		require.Equal(t, []string{"w1"}, f.offeredTo("j"), "w1 has been idle longest")
		require.False(t, f.e.storedJob("j").keyExpedite)
	})
	t.Run("suspended", func(t *testing.T) {
		f := newFixture(t)
		f.basic()
		f.worker(agent("w1", "q"))
		j := withSelectors("j", "q", preferred("w7", 45*time.Second))
		j.MatchingMode = MatchingMode{Kind: Suspend}
		f.job(j)
		f.take()
		f.advance(45 * time.Second)
		require.Equal(t, []string{"JobWorkerSelectorsExpired job=j"}, briefs(f.take()))
		require.Equal(t, JobWaitingForActivation, f.getJob("j").Status)
		require.Empty(t, f.e.queuedJobs())

		upd := f.getJob("j")
		upd.MatchingMode = MatchingMode{}
		got, err := f.e.UpdateJob(f.now, upd)
		require.NoError(t, err)
		require.True(t, got.RequestedWorkerSelectors[0].Expired)
		require.Equal(t, []string{"w1"}, f.offeredTo("j"), "activated after expiry, any worker may take it")
	})
}

func TestSelectorExpiry_EventsAlreadyRecordedAreNotRewritten(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(withSelectors("j", "q", excluding("a", time.Second), excluding("b", 2*time.Second)))
	f.take()
	view := f.getJob("j")
	f.advance(time.Second)
	first := only(f.take(), EvJobWorkerSelectorsExpired)
	require.Len(t, first, 1)
	want := slices.Clone(first[0].Extras().RequestedSelectors)
	f.advance(time.Second)
	require.Len(t, only(f.take(), EvJobWorkerSelectorsExpired), 1)
	require.Equal(t, want, first[0].Extras().RequestedSelectors, "a recorded event is a value of its instant")
	require.Equal(t, "a", want[0].Value)
	require.False(t, view.RequestedWorkerSelectors[0].Expired, "a returned job is a copy")
	require.True(t, f.getJob("j").RequestedWorkerSelectors[0].Expired)
	require.True(t, f.getJob("j").RequestedWorkerSelectors[1].Expired)
}

func TestSelectorExpiry_DeadlineIsForgottenWhenTheJobEnds(t *testing.T) {
	for _, end := range []string{"cancel", "close"} {
		t.Run(end, func(t *testing.T) {
			f := newFixture(t) // the default maximum age: its deadline goes too
			f.basic()
			f.worker(agent("w7", "q"))
			f.job(withSelectors("j", "q", preferred("w7", time.Hour)))
			switch end {
			case "cancel":
				require.NoError(t, f.e.CancelJob(f.now, "j", "", ""))
			case "close":
				aid := f.accept("w7", "j")
				_, ok := f.selectorDeadline("j")
				require.True(t, ok, "still pending while assigned")
				require.NoError(t, f.e.CloseJob(f.now, "j", aid, "", "", time.Time{}))
			}
			_, ok := f.e.NextDeadline()
			require.False(t, ok, "no deadline of the ended job is left")
			f.take()
			f.advance(2 * time.Hour)
			require.Empty(t, f.take())
		})
	}
}

func TestSelectorExpiry_PositiveExpiresAfterIsValidNegativeIsNot(t *testing.T) {
	f := newFixture(t)
	f.basic()
	_, err := f.e.CreateJob(f.now, withSelectors("ok", "q", excluding("a", time.Nanosecond)))
	require.NoError(t, err)
	before := f.digest()
	f.take()
	_, err = f.e.CreateJob(f.now, withSelectors("bad", "q", excluding("a", -time.Nanosecond)))
	requireCode(t, err, CodeInvalid)
	f.requireUnchanged(before)
}

func TestMaxJobAge_CancelsAJobNotTerminalAtCreatedAtPlusMaxAge(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		age  time.Duration
	}{
		{"configured", Config{MaxJobAge: time.Hour}, time.Hour},
		{"default 90 days", Config{}, 90 * day},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.cfg)
			f.basic()
			f.advance(time.Minute)
			created := f.now
			f.job(call("j", "q"))
			f.advance(time.Minute)
			upd := f.getJob("j")
			upd.Priority = 5 // an update does not move the maximum age
			_, err := f.e.UpdateJob(f.now, upd)
			require.NoError(t, err)
			require.Equal(t, created.Add(tc.age), f.nextDeadline())
			f.take()

			f.advanceTo(created.Add(tc.age - time.Nanosecond))
			require.Empty(t, f.take())
			require.Equal(t, JobQueued, f.getJob("j").Status)

			f.advanceTo(created.Add(tc.age))
			evs := f.take()
			require.Equal(t, []string{"JobCancelled job=j"}, briefs(evs))
			require.Equal(t, "Expired", evs[0].DispositionCode)
			require.Equal(t, created.Add(tc.age), evs[0].Time)
			got := f.getJob("j")
			require.Equal(t, JobCancelled, got.Status)
			require.Equal(t, "Expired", got.DispositionCode)
			require.Empty(t, f.e.queuedJobs())
			f.worker(agent("w", "q"))
			require.Empty(t, f.offersFor("j"), "a cancelled job is not offered")
			require.NoError(t, f.e.DeleteJob(f.now, "j"), "it is terminal")
		})
	}
}

func TestMaxJobAge_NegativeDisablesIt(t *testing.T) {
	f := newFixture(t, Config{MaxJobAge: -1})
	f.basic()
	f.job(call("j", "q"))
	_, ok := f.e.NextDeadline()
	require.False(t, ok)
	f.advance(1000 * day)
	require.Equal(t, JobQueued, f.getJob("j").Status)
}

func TestMaxJobAge_CountsInEveryNonTerminalStatus(t *testing.T) {
	sched := call("scheduled", "q")
	sched.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: t0.Add(2 * time.Hour)}
	susp := call("suspended", "q")
	susp.MatchingMode = MatchingMode{Kind: Suspend}
	for _, j := range []Job{sched, susp} {
		t.Run(j.ID, func(t *testing.T) {
			f := newFixture(t, Config{MaxJobAge: time.Hour})
			f.basic()
			f.job(j)
			f.take()
			f.advance(3 * time.Hour)
			evs := f.take()
			require.Equal(t, []string{"JobCancelled job=" + j.ID}, briefs(evs), "the schedule deadline went with the job")
			require.Equal(t, t0.Add(time.Hour), evs[0].Time)
			require.Equal(t, "Expired", evs[0].DispositionCode)
		})
	}
}

func TestMaxJobAge_RevokesOffersReleasesCapacityAndMatchesAgain(t *testing.T) {
	t.Run("offered", func(t *testing.T) {
		f := newFixture(t, Config{MaxJobAge: 30 * time.Second}) // before the offer's 1 min expiry
		f.basic()
		f.worker(agent("w", "q"))
		f.job(call("j", "q"))
		f.take()
		f.advance(30 * time.Second)
		evs := f.take()
		require.Equal(t, []string{"OfferRevoked job=j worker=w", "JobCancelled job=j"}, briefs(evs))
		require.Equal(t, WorkerActive, f.getWorker("w").State, "a revoked offer does not deregister")
		require.Empty(t, f.getWorker("w").Offers)
	})
	t.Run("assigned", func(t *testing.T) {
		f := newFixture(t, Config{MaxJobAge: time.Hour})
		f.basic()
		f.worker(agent("w", "q"))
		f.assign("w", "j1", "q")
		f.advance(30 * time.Minute)
		f.job(call("j2", "q")) // waits: w is busy; its own age ends at +1h30m
		require.Empty(t, f.offersFor("j2"))
		f.take()
		f.advanceTo(t0.Add(time.Hour))
		require.Equal(t, []string{"JobCancelled job=j1 worker=w", "OfferIssued job=j2 worker=w"}, briefs(f.take()))
		require.Empty(t, f.getWorker("w").AssignedJobs, "the assignment's capacity is released")
	})
}

func TestMaxJobAge_AJobThatEndedFirstIsNotTouched(t *testing.T) {
	f := newFixture(t, Config{MaxJobAge: time.Hour})
	f.basic()
	f.worker(agent("w", "q"))
	aid := f.assign("w", "j", "q")
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "Done", "", time.Time{}))
	_, ok := f.e.NextDeadline()
	require.False(t, ok)
	f.take()
	f.advance(2 * time.Hour)
	require.Empty(t, f.take())
	require.Equal(t, "Done", f.getJob("j").DispositionCode)
}

// A job view shares the job's requested selector and note slices, and a worker view
// its channels (view): the engine never writes to them once a view can see them, so
// a view taken before a selector expires, before the job is updated, before a note
// is added or before the worker's channels change stays as it was taken. (Attached
// selectors, which classification sets, are replaced the same way; not covered
// here.)
func TestViewsStayAsTakenWhileTheEngineMovesOn(t *testing.T) {
	f := busyW7(t)
	created := f.now
	j := withSelectors("j", "q", preferred("w7", 45*time.Second))
	j.Notes = []Note{{Message: "first", AddedAt: created}}
	before := f.job(j)
	w1 := f.getWorker("w1")
	wantSel := []Selector{{Key: "Id", Op: labels.Equal, Value: "w7", Expedite: true,
		ExpiresAfter: 45 * time.Second, ExpiresAt: created.Add(45 * time.Second)}}
	wantNotes := []Note{{Message: "first", AddedAt: created}}
	wantChannels := slices.Clone(w1.Channels)

	f.advanceTo(created.Add(45 * time.Second)) // the selector expires: a new slice
	expired := f.getJob("j")
	require.True(t, expired.RequestedWorkerSelectors[0].Expired)
	wantExpired := slices.Clone(expired.RequestedWorkerSelectors)
	upd := withSelectors("j", "q", excluding("w9", time.Minute)) // replaces the selectors
	upd.Notes = expired.Notes
	_, err := f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	require.Equal(t, "w9", f.getJob("j").RequestedWorkerSelectors[0].Value)
	require.Equal(t, wantExpired, expired.RequestedWorkerSelectors, "the view taken before the update")
	require.NoError(t, f.e.CancelJob(f.now, "j", "", "second note"))
	require.Len(t, f.getJob("j").Notes, 2)
	w := agent("w1", "q")
	w.Channels = []ChannelConfig{{ChannelID: chat, CapacityCostPerJob: 1}}
	f.worker(w)
	require.Equal(t, chat, f.getWorker("w1").Channels[0].ChannelID)

	require.Equal(t, wantSel, before.RequestedWorkerSelectors, "the view taken at creation")
	require.Equal(t, wantNotes, before.Notes)
	require.Equal(t, wantChannels, w1.Channels)
}
