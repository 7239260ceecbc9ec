package simtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// Engine bugs the simulator found, each reduced by hand from the shrunk history to
// the few commands that show it; each guards its fix.

// world returns an engine with distribution policy "p" (LongestIdle, offers expire
// after a minute) and queue "q" (with exception policy excID when it is not empty),
// and a worker "w" (when withWorker) listening on it.
func world(t *testing.T, cfg engine.Config, exc *engine.ExceptionPolicy, withWorker bool) *engine.Engine {
	t.Helper()
	e := engine.New(cfg)
	_, err := e.UpsertDistributionPolicy(T0, engine.DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: engine.Mode{Kind: engine.LongestIdle}})
	require.NoError(t, err)
	q := engine.Queue{ID: "q", DistributionPolicyID: "p"}
	if exc != nil {
		_, err = e.UpsertExceptionPolicy(T0, *exc)
		require.NoError(t, err)
		q.ExceptionPolicyID = exc.ID
	}
	_, err = e.UpsertQueue(T0, q)
	require.NoError(t, err)
	if withWorker {
		_, err = e.UpsertWorker(T0, engine.Worker{ID: "w", Queues: []string{"q"}, Capacity: 1, AvailableForOffers: true,
			Channels: []engine.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}})
		require.NoError(t, err)
	}
	return e
}

func eventTypes(evs []engine.Event) []engine.EventType {
	var out []engine.EventType
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// TestExceptionActionsStopWhenReclassificationFails (fixed in exception.go,
// runActions; found by seeds 12, 16 and 18): an exception rule with a reclassify
// action followed by a manual reclassify ran the manual reclassify on a job whose
// reclassification had just failed, putting a classificationFailed job back in the
// queue (JobClassificationFailed, then JobQueued) without a classification. When the
// same classification waited for a webhook, its failure stopped the remaining
// actions; now a synchronous failure stops them too.
func TestExceptionActionsStopWhenReclassificationFails(t *testing.T) {
	ten := 10
	e := world(t, engine.Config{}, &engine.ExceptionPolicy{ID: "ep", Rules: []engine.ExceptionRule{{ID: "r",
		Trigger: engine.Trigger{Kind: engine.TriggerQueueLength, Threshold: 0},
		Actions: []engine.Action{{Kind: engine.ActionReclassify}, {Kind: engine.ActionManualReclassify, Priority: &ten}}}}}, false)
	// The policy's queue selectors match no queue, and it has no fallback: a
	// reclassification by the exception (which lets the policy choose the queue) fails.
	_, err := e.UpsertClassificationPolicy(T0, engine.ClassificationPolicy{ID: "cp", QueueSelectorAttachments: []engine.Attachment{
		{Kind: engine.AttachStatic, Selectors: []engine.Selector{{Key: "region", Op: labels.Equal, Value: "mars"}}}}})
	require.NoError(t, err)
	e.TakeEvents()
	j, err := e.CreateJob(T0, engine.Job{ID: "j", QueueID: "q", ChannelID: "voice", ClassificationPolicyID: "cp"})
	require.NoError(t, err)
	require.Equal(t, engine.JobClassificationFailed, j.Status)
	require.Equal(t, 1, j.Priority, "the manual reclassify did not run")
	require.Equal(t, []engine.EventType{engine.EvJobReceived, engine.EvJobClassified, engine.EvJobQueued,
		engine.EvJobExceptionTriggered, engine.EvJobClassificationFailed}, eventTypes(e.TakeEvents()))
}

// TestFailedReclassificationOfAScheduledJobDropsItsActivation (fixed in classify.go,
// finishClassification; found by seeds 28 and 58): a scheduled job whose
// reclassification failed kept its ScheduleAt deadline, so the engine held a
// deadline for a job that was no longer scheduled (NextDeadline pointed at it, the
// shell's timer woke for nothing).
func TestFailedReclassificationOfAScheduledJobDropsItsActivation(t *testing.T) {
	e := world(t, engine.Config{MaxJobAge: -1}, nil, false)
	cp := engine.ClassificationPolicy{ID: "cp", FallbackQueueID: "q"}
	_, err := e.UpsertClassificationPolicy(T0, cp)
	require.NoError(t, err)
	j, err := e.CreateJob(T0, engine.Job{ID: "j", ChannelID: "voice", ClassificationPolicyID: "cp",
		MatchingMode: engine.MatchingMode{Kind: engine.ScheduleAndSuspend, ScheduleAt: T0.Add(time.Hour)}})
	require.NoError(t, err)
	require.Equal(t, engine.JobScheduled, j.Status)
	next, ok := e.NextDeadline()
	require.True(t, ok)
	require.Equal(t, T0.Add(time.Hour), next)

	cp.PrioritizationRule = &engine.Rule{Kind: engine.RuleStatic, Value: "high"} // not a number: classification fails
	_, err = e.UpsertClassificationPolicy(T0, cp)
	require.NoError(t, err)
	require.NoError(t, e.ReclassifyJob(T0, "j"))
	j, err = e.GetJob("j")
	require.NoError(t, err)
	require.Equal(t, engine.JobClassificationFailed, j.Status)
	_, ok = e.NextDeadline()
	require.False(t, ok, "no deadline is left for a job that is no longer scheduled: %v", e.Deadlines())
}

// TestUpdateJobWithoutQueueKeepsTheQueue (found by seed 62; fixed in engine/job.go,
// UpdateJob, which now keeps the job's queue): a job with a ClassificationPolicyID may be created without
// a QueueID (its policy chooses one), so validateJob accepts QueueID "" whenever a
// policy is named. UpdateJob then takes an empty QueueID too, for a job already
// classified into a queue: without a change of labels or policy it does not
// reclassify, so it sets j.QueueID = "" and re-queues the job (the queue changed):
// enqueue → requeue indexes e.queues[""], which is nil, and the engine panics (a nil
// pointer dereference in requeue; through the Router, ErrInternal after a
// half-applied update: its offers were already revoked and its queue cleared). The
// same happens on the activation of a waiting job (UpdateJob to QueueAndMatch) whose
// QueueID was emptied earlier.
//
// A fix: in UpdateJob, an empty QueueID with a policy means "the policy chooses", so
// either reclassify (set queueByPolicy and classify again, as CreateJob does), or keep
// the job's current queue; in any case never store "" for a job that is queued or may
// be queued.
func TestUpdateJobWithoutQueueKeepsTheQueue(t *testing.T) {
	e := world(t, engine.Config{}, nil, false)
	_, err := e.UpsertClassificationPolicy(T0, engine.ClassificationPolicy{ID: "cp", FallbackQueueID: "q"})
	require.NoError(t, err)
	j, err := e.CreateJob(T0, engine.Job{ID: "j", ChannelID: "voice", ClassificationPolicyID: "cp"})
	require.NoError(t, err)
	require.Equal(t, engine.JobQueued, j.Status)
	require.Equal(t, "q", j.QueueID)
	j.QueueID = ""
	require.NotPanics(t, func() { j, err = e.UpdateJob(T0, j) })
	require.NoError(t, err)
	require.Equal(t, "q", j.QueueID, "the queue the policy chose is kept")
	require.Equal(t, engine.JobQueued, j.Status)
}

// TestStaleRetryDeadlineKeepsAPermanentDecline (fixed in engine.go, fire; found by
// seed 5 on the incremental matcher): a worker declines with a RetryOfferAt, leaves
// and registers again (which forgets the decline), is offered the job again and
// declines it this time without RetryOfferAt: it must never get the job again during
// this registration. The first decline's retry deadline was still pending, and when
// it fired it lapsed whatever decline the job held for the worker, the permanent one
// included, so the job was offered to the worker again.
func TestStaleRetryDeadlineKeepsAPermanentDecline(t *testing.T) {
	e := world(t, engine.Config{MaxJobAge: -1}, nil, true)
	_, err := e.CreateJob(T0, engine.Job{ID: "j", QueueID: "q", ChannelID: "voice"})
	require.NoError(t, err)
	offer := func() string {
		t.Helper()
		w, err := e.GetWorker("w")
		require.NoError(t, err)
		require.Len(t, w.Offers, 1)
		return w.Offers[0].ID
	}
	require.NoError(t, e.DeclineOffer(T0, "w", offer(), T0.Add(time.Minute)))
	w, err := e.GetWorker("w")
	require.NoError(t, err)
	w.AvailableForOffers = false
	_, err = e.UpsertWorker(T0, w)
	require.NoError(t, err)
	w.AvailableForOffers = true
	_, err = e.UpsertWorker(T0, w) // registered again: the decline is forgotten
	require.NoError(t, err)
	require.NoError(t, e.DeclineOffer(T0, "w", offer(), time.Time{})) // never again
	e.Advance(T0.Add(time.Minute))                                    // the first decline's RetryOfferAt
	w, err = e.GetWorker("w")
	require.NoError(t, err)
	require.Empty(t, w.Offers, "offered again a job it declined without RetryOfferAt")
}
