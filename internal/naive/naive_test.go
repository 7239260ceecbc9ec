package naive_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/openjobrouter/jobrouter/internal/naive"
)

// Scenario tests of the naive router on its own: the core lifecycle behaviours of
// SEMANTICS.md, with literal times and IDs.

var t0 = time.Date(2024, time.March, 1, 9, 0, 0, 0, time.UTC)

const expiry = time.Minute

type fixture struct {
	t   *testing.T
	r   *naive.Router
	now time.Time
}

// newFixture returns a router at t0 with policy "p" (LongestIdle, one offer,
// OfferExpiresAfter = expiry) and queue "q".
func newFixture(t *testing.T, cfg engine.Config) *fixture {
	t.Helper()
	n := 0
	cfg.NewID = func() string { n++; return "id" + itoa(n) }
	f := &fixture{t: t, r: naive.New(cfg), now: t0}
	_, err := f.r.UpsertDistributionPolicy(f.now, engine.DistributionPolicy{ID: "p", OfferExpiresAfter: expiry, Mode: engine.Mode{Kind: engine.LongestIdle}})
	require.NoError(t, err)
	_, err = f.r.UpsertQueue(f.now, engine.Queue{ID: "q", DistributionPolicyID: "p"})
	require.NoError(t, err)
	return f
}

func itoa(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

func (f *fixture) advanceTo(t time.Time) {
	f.now = t
	f.r.Advance(t)
}

func (f *fixture) worker(id string) {
	f.t.Helper()
	_, err := f.r.UpsertWorker(f.now, engine.Worker{ID: id, Queues: []string{"q"}, Capacity: 1, AvailableForOffers: true,
		Channels: []engine.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}})
	require.NoError(f.t, err)
}

func (f *fixture) job(id string) {
	f.t.Helper()
	_, err := f.r.CreateJob(f.now, engine.Job{ID: id, QueueID: "q", ChannelID: "voice"})
	require.NoError(f.t, err)
}

// events returns the recorded events as "Type job worker" strings and forgets them.
func (f *fixture) events() []string {
	var out []string
	for _, ev := range f.r.TakeEvents() {
		out = append(out, string(ev.Type)+" "+ev.JobID+" "+ev.WorkerID)
	}
	return out
}

// offer returns the worker's one open offer.
func (f *fixture) offer(workerID string) engine.Offer {
	f.t.Helper()
	w, err := f.r.GetWorker(workerID)
	require.NoError(f.t, err)
	require.Len(f.t, w.Offers, 1, "offers of %s", workerID)
	return w.Offers[0]
}

func (f *fixture) status(jobID string) engine.JobStatus {
	f.t.Helper()
	j, err := f.r.GetJob(jobID)
	require.NoError(f.t, err)
	return j.Status
}

func requireCode(t *testing.T, err error, code engine.Code) {
	t.Helper()
	var ee *engine.Error
	require.True(t, errors.As(err, &ee), "error %v", err)
	require.Equal(t, code, ee.Code, "%v", err)
}

func TestAcceptOffer(t *testing.T) {
	f := newFixture(t, engine.Config{})
	f.worker("w1")
	f.job("j1")
	require.Equal(t, []string{"WorkerRegistered  w1", "JobReceived j1 ", "JobQueued j1 ", "OfferIssued j1 w1"}, f.events())
	o := f.offer("w1")
	require.Equal(t, engine.Offer{ID: "id01", JobID: "j1", WorkerID: "w1", CapacityCost: 1, OfferedAt: t0, ExpiresAt: t0.Add(expiry)}, o)

	f.now = t0.Add(10 * time.Second)
	jobID, aid, err := f.r.AcceptOffer(f.now, "w1", o.ID)
	require.NoError(t, err)
	require.Equal(t, "j1", jobID)
	require.Equal(t, []string{"OfferAccepted j1 w1"}, f.events())
	require.Equal(t, engine.JobAssigned, f.status("j1"))
	w, _ := f.r.GetWorker("w1")
	require.Empty(t, w.Offers)
	require.Equal(t, []engine.AssignedJob{{AssignmentID: aid, JobID: "j1", CapacityCost: 1, AssignedAt: f.now}}, w.AssignedJobs)
	require.Equal(t, 1.0, w.LoadRatio)

	// The offer is no longer open.
	_, _, err = f.r.AcceptOffer(f.now, "w1", o.ID)
	requireCode(t, err, engine.CodeNotFound)
	requireCode(t, f.r.DeclineOffer(f.now, "w1", o.ID, time.Time{}), engine.CodeNotFound)
}

func TestAcceptOffer_TheOtherOffersAreRevokedAfterOfferAccepted(t *testing.T) {
	f := newFixture(t, engine.Config{})
	_, err := f.r.UpsertDistributionPolicy(f.now, engine.DistributionPolicy{ID: "p", OfferExpiresAfter: expiry,
		Mode: engine.Mode{Kind: engine.RoundRobin, MinConcurrentOffers: 1, MaxConcurrentOffers: 3}})
	require.NoError(t, err)
	f.worker("w1")
	f.worker("w2")
	f.worker("w3")
	f.events()
	f.job("j1")
	require.Equal(t, []string{"JobReceived j1 ", "JobQueued j1 ", "OfferIssued j1 w1", "OfferIssued j1 w2", "OfferIssued j1 w3"}, f.events())
	_, _, err = f.r.AcceptOffer(f.now, "w2", f.offer("w2").ID)
	require.NoError(t, err)
	require.Equal(t, []string{"OfferAccepted j1 w2", "OfferRevoked j1 w1", "OfferRevoked j1 w3"}, f.events())
}

func TestDeclineOffer_RetryOfferAt(t *testing.T) {
	f := newFixture(t, engine.Config{})
	f.worker("w1")
	f.job("j1")
	f.events()
	retry := t0.Add(30 * time.Second)
	require.NoError(t, f.r.DeclineOffer(f.now, "w1", f.offer("w1").ID, retry))
	require.Equal(t, []string{"OfferDeclined j1 w1"}, f.events())
	next, ok := f.r.NextDeadline()
	require.True(t, ok)
	require.Equal(t, retry, next)

	f.advanceTo(retry.Add(-time.Nanosecond))
	require.Empty(t, f.events(), "not offered again before RetryOfferAt")
	f.advanceTo(retry.Add(10 * time.Second)) // one jump: replayed at RetryOfferAt
	require.Equal(t, []string{"OfferIssued j1 w1"}, f.events())
	require.Equal(t, retry, f.offer("w1").OfferedAt)
}

func TestDeclineOffer_WithoutRetryOnlyANewRegistrationGetsTheJobAgain(t *testing.T) {
	f := newFixture(t, engine.Config{})
	f.worker("w1")
	f.job("j1")
	require.NoError(t, f.r.DeclineOffer(f.now, "w1", f.offer("w1").ID, time.Time{}))
	f.advanceTo(t0.Add(24 * time.Hour))
	f.events()
	w, _ := f.r.GetWorker("w1")
	require.Empty(t, w.Offers)

	w.AvailableForOffers = false
	_, err := f.r.UpsertWorker(f.now, w)
	require.NoError(t, err)
	w.AvailableForOffers = true
	_, err = f.r.UpsertWorker(f.now, w)
	require.NoError(t, err)
	require.Equal(t, []string{"WorkerDeregistered  w1", "WorkerRegistered  w1", "OfferIssued j1 w1"}, f.events())
}

func TestOfferExpiry_ExactlyAtOfferedAtPlusOfferExpiresAfter(t *testing.T) {
	f := newFixture(t, engine.Config{})
	f.worker("w1")
	f.job("j1")
	o := f.offer("w1")
	f.events()

	f.advanceTo(o.ExpiresAt.Add(-time.Nanosecond))
	require.Empty(t, f.events())
	// From ExpiresAt on the offer is closed, even before the expiry has fired.
	_, _, err := f.r.AcceptOffer(o.ExpiresAt, "w1", o.ID)
	requireCode(t, err, engine.CodeNotFound)

	f.advanceTo(o.ExpiresAt)
	evs := f.r.TakeEvents()
	require.Len(t, evs, 2)
	require.Equal(t, engine.EvOfferExpired, evs[0].Type)
	require.Equal(t, o.ExpiresAt, evs[0].Time)
	require.Equal(t, engine.EvWorkerDeregistered, evs[1].Type, "Azure deregisters the worker by default")
	w, _ := f.r.GetWorker("w1")
	require.Equal(t, engine.WorkerInactive, w.State)
	require.Equal(t, engine.JobQueued, f.status("j1"))
}

func TestOfferExpiry_KeepWorkersOfferedAgainAtEachExpiry(t *testing.T) {
	f := newFixture(t, engine.Config{KeepWorkersOnOfferExpiry: true})
	f.worker("w1")
	f.job("j1")
	f.events()
	f.advanceTo(t0.Add(3*expiry + time.Second)) // one jump replays each expiry
	require.Equal(t, []string{
		"OfferExpired j1 w1", "OfferIssued j1 w1",
		"OfferExpired j1 w1", "OfferIssued j1 w1",
		"OfferExpired j1 w1", "OfferIssued j1 w1",
	}, f.events())
	require.Equal(t, t0.Add(3*expiry), f.offer("w1").OfferedAt)
}

func TestCloseJob_AtCloseAt(t *testing.T) {
	f := newFixture(t, engine.Config{})
	f.worker("w1")
	f.job("j1")
	f.job("j2")
	_, aid, err := f.r.AcceptOffer(f.now, "w1", f.offer("w1").ID)
	require.NoError(t, err)
	f.events()

	closeAt := t0.Add(5 * time.Minute)
	require.NoError(t, f.r.CloseJob(f.now, "j1", aid, "Resolved", "", closeAt))
	require.Equal(t, []string{"JobCompleted j1 w1"}, f.events(), "an assigned job is completed at once")
	require.Equal(t, engine.JobCompleted, f.status("j1"))
	requireCode(t, f.r.CloseJob(f.now, "j1", aid, "", "", time.Time{}), engine.CodeConflict) // a close is pending

	f.advanceTo(closeAt.Add(-time.Nanosecond))
	require.Empty(t, f.events(), "the capacity is held until CloseAt")
	f.advanceTo(closeAt)
	evs := f.r.TakeEvents()
	require.Equal(t, engine.EvJobClosed, evs[0].Type)
	require.Equal(t, closeAt, evs[0].Time)
	require.Equal(t, "Resolved", evs[0].DispositionCode)
	require.Equal(t, engine.EvOfferIssued, evs[1].Type, "the freed worker takes the next job at CloseAt")
	require.Equal(t, "j2", evs[1].JobID)
	j, _ := f.r.GetJob("j1")
	require.Equal(t, closeAt, j.Assignments[aid].ClosedAt)
}

func TestCancelJob(t *testing.T) {
	f := newFixture(t, engine.Config{})
	f.worker("w1")
	f.job("j1")
	f.events()
	require.NoError(t, f.r.CancelJob(f.now, "j1", "", "gone"))
	evs := f.r.TakeEvents()
	require.Equal(t, engine.EvOfferRevoked, evs[0].Type)
	require.Equal(t, engine.EvJobCancelled, evs[1].Type)
	require.Equal(t, "Cancelled", evs[1].DispositionCode)
	require.Equal(t, engine.JobCancelled, f.status("j1"))
	requireCode(t, f.r.CancelJob(f.now, "j1", "", ""), engine.CodeConflict)
	require.NoError(t, f.r.DeleteJob(f.now, "j1"))

	// An assigned job's capacity is released.
	f.job("j2")
	_, _, err := f.r.AcceptOffer(f.now, "w1", f.offer("w1").ID)
	require.NoError(t, err)
	require.NoError(t, f.r.CancelJob(f.now, "j2", "Abandoned", ""))
	w, _ := f.r.GetWorker("w1")
	require.Empty(t, w.AssignedJobs)
	require.Zero(t, w.LoadRatio)
}

func TestUnassignJob_AtMostThreeTimes(t *testing.T) {
	f := newFixture(t, engine.Config{})
	f.worker("w1")
	f.job("j1")
	enqueued := t0
	for i := 1; i <= 3; i++ {
		f.now = f.now.Add(time.Second)
		_, aid, err := f.r.AcceptOffer(f.now, "w1", f.offer("w1").ID)
		require.NoError(t, err)
		n, err := f.r.UnassignJob(f.now, "j1", aid, false)
		require.NoError(t, err)
		require.Equal(t, i, n)
		j, _ := f.r.GetJob("j1")
		require.Equal(t, engine.JobQueued, j.Status)
		require.Equal(t, enqueued, j.EnqueuedAt, "it keeps its place in queue order")
	}
	_, aid, err := f.r.AcceptOffer(f.now, "w1", f.offer("w1").ID)
	require.NoError(t, err)
	_, err = f.r.UnassignJob(f.now, "j1", aid, false)
	requireCode(t, err, engine.CodeConflict)
	require.Equal(t, engine.JobAssigned, f.status("j1"))
}

func TestUnassignJob_SuspendWaitsUntilQueueAndMatch(t *testing.T) {
	f := newFixture(t, engine.Config{})
	f.worker("w1")
	f.job("j1")
	_, aid, err := f.r.AcceptOffer(f.now, "w1", f.offer("w1").ID)
	require.NoError(t, err)
	f.events()
	_, err = f.r.UnassignJob(f.now, "j1", aid, true)
	require.NoError(t, err)
	require.Equal(t, []string{"JobUnassigned j1 w1", "JobWaitingForActivation j1 "}, f.events())
	j, _ := f.r.GetJob("j1")
	j.MatchingMode = engine.MatchingMode{Kind: engine.QueueAndMatch}
	_, err = f.r.UpdateJob(f.now, j)
	require.NoError(t, err)
	require.Equal(t, []string{"JobQueued j1 ", "OfferIssued j1 w1"}, f.events())
}

func TestQueueOrder_ExpediteThenPriorityThenEnqueuedAtThenCreation(t *testing.T) {
	f := newFixture(t, engine.Config{})
	create := func(id string, prio int, expedite bool) {
		j := engine.Job{ID: id, QueueID: "q", ChannelID: "voice", Priority: prio}
		if expedite {
			j.RequestedWorkerSelectors = []engine.Selector{{Key: "Id", Op: labels.NotEqual, Value: "nobody", Expedite: true}}
		}
		_, err := f.r.CreateJob(f.now, j)
		require.NoError(t, err)
	}
	create("a", 1, false)
	create("b", 5, false)
	create("c", -3, true)
	create("d", 5, false)
	var order []string
	f.worker("w1")
	for range 4 {
		o := f.offer("w1")
		order = append(order, o.JobID)
		_, aid, err := f.r.AcceptOffer(f.now, "w1", o.ID)
		require.NoError(t, err)
		require.NoError(t, f.r.CloseJob(f.now, o.JobID, aid, "", "", time.Time{}))
	}
	require.Equal(t, []string{"c", "b", "d", "a"}, order)
}

func TestDeadlines_EqualTimesFireInTheOrderTheyWereSet(t *testing.T) {
	f := newFixture(t, engine.Config{KeepWorkersOnOfferExpiry: true})
	f.worker("w1")
	f.job("j1") // offer expires at t0+1m
	// A selector of j2 set later expires at the same instant.
	_, err := f.r.CreateJob(f.now, engine.Job{ID: "j2", QueueID: "q", ChannelID: "voice",
		RequestedWorkerSelectors: []engine.Selector{{Key: "Id", Op: labels.Equal, Value: "w9", ExpiresAfter: expiry}}})
	require.NoError(t, err)
	f.events()
	f.advanceTo(t0.Add(expiry))
	require.Equal(t, []string{"OfferExpired j1 w1", "JobWorkerSelectorsExpired j2 ", "OfferIssued j1 w1"}, f.events(),
		"the expiry set first fires first; matching runs after every deadline of the instant")
}
