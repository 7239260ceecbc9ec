package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Regression tests for the interplay of classification, matching modes and
// exceptions. Each names the scenario that once went wrong.

func hookRule() *Rule {
	return &Rule{Kind: RuleAsync, Eval: func(Labels) (any, error) { return nil, nil }}
}

// answer applies the pending request for a job with the given priority.
func (f *fixture) answer(jobID string, v any) {
	f.t.Helper()
	for _, r := range f.e.TakeRuleRequests() {
		if r.JobID == jobID {
			res := make([]RuleResult, len(r.Rules))
			for i := range res {
				res[i] = RuleResult{Value: v}
			}
			f.e.ApplyRuleResults(f.now, jobID, r.Token, res)
			return
		}
	}
	f.t.Fatalf("no rule request for job %s", jobID)
}

// A job whose classification failed is not routed by a change of matching mode
// alone (it has no valid queue); nothing panics and the call changes only the mode.
func TestFailedClassificationIsNotRoutedByAModeChange(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.classified(ClassificationPolicy{ID: "cp"}) // no selectors, no fallback: fails
	j := f.job(Job{ID: "j", ChannelID: voice, ClassificationPolicyID: "cp", MatchingMode: MatchingMode{Kind: Suspend}})
	require.Equal(t, JobClassificationFailed, j.Status)
	j.MatchingMode = MatchingMode{Kind: QueueAndMatch}
	got, err := f.e.UpdateJob(f.now, j)
	require.NoError(t, err)
	require.Equal(t, JobClassificationFailed, got.Status)
	require.Equal(t, QueueAndMatch, got.MatchingMode.Kind)

	// Fixing the policy and reclassifying routes it by its (new) mode.
	f.classified(ClassificationPolicy{ID: "cp", FallbackQueueID: "q"})
	require.NoError(t, f.e.ReclassifyJob(f.now, "j"))
	require.Equal(t, JobQueued, f.getJob("j").Status)
}

// A job waiting for a webhook stays pendingClassification through a mode change, and
// the answer routes it by the mode it has then.
func TestPendingClassificationSurvivesAModeChange(t *testing.T) {
	for _, tc := range []struct {
		from, to MatchingKind
		want     JobStatus
	}{
		{Suspend, QueueAndMatch, JobQueued},
		{QueueAndMatch, Suspend, JobWaitingForActivation},
	} {
		f := newFixture(t)
		f.basic()
		f.classified(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: hookRule()})
		j := f.job(Job{ID: "j", ChannelID: voice, ClassificationPolicyID: "cp", MatchingMode: MatchingMode{Kind: tc.from}})
		require.Equal(t, JobPendingClassification, j.Status)
		j.MatchingMode = MatchingMode{Kind: tc.to}
		got, err := f.e.UpdateJob(f.now, j)
		require.NoError(t, err)
		require.Equal(t, JobPendingClassification, got.Status)
		f.answer("j", int64(9))
		got = f.getJob("j")
		require.Equal(t, tc.want, got.Status)
		require.Equal(t, 9, got.Priority)
		require.Equal(t, "q", got.QueueID)
	}
}

// A scheduled job whose reclassification waits for a webhook past its ScheduleAt is
// activated when the answer comes.
func TestScheduledJobActivatesAfterALateAnswer(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.classified(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: hookRule()})
	at := f.now.Add(time.Minute)
	f.job(Job{ID: "j", ChannelID: voice, ClassificationPolicyID: "cp", MatchingMode: MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: at}})
	f.answer("j", int64(1))
	require.Equal(t, JobScheduled, f.getJob("j").Status)
	j := f.getJob("j")
	j.Labels = Labels{"changed": true}
	_, err := f.e.UpdateJob(f.now, j)
	require.NoError(t, err)
	require.Equal(t, JobPendingClassification, f.getJob("j").Status)
	f.advanceTo(at.Add(time.Hour))
	f.take()
	f.answer("j", int64(2))
	require.Equal(t, JobWaitingForActivation, f.getJob("j").Status)
	require.Contains(t, typesOf(f.take()), EvJobWaitingForActivation)
}

// A mode change made while a reclassification waits for a webhook is honoured.
func TestModeChangeDuringPendingReclassification(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.classified(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: hookRule()})
	f.job(Job{ID: "j", ChannelID: voice, ClassificationPolicyID: "cp", MatchingMode: MatchingMode{Kind: Suspend}})
	f.answer("j", int64(1))
	require.Equal(t, JobWaitingForActivation, f.getJob("j").Status)
	j := f.getJob("j")
	j.Labels = Labels{"x": 1}
	_, err := f.e.UpdateJob(f.now, j) // reclassification starts, waits for the hook
	require.NoError(t, err)
	j = f.getJob("j")
	j.MatchingMode = MatchingMode{Kind: QueueAndMatch}
	_, err = f.e.UpdateJob(f.now, j)
	require.NoError(t, err)
	f.answer("j", int64(1))
	require.Equal(t, JobQueued, f.getJob("j").Status)
}

// A queue-length rule whose reclassify action waits for a webhook fires once: the
// re-queue after the answer continues the same enqueue.
func TestAsyncReclassifyActionFiresOnce(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.classified(ClassificationPolicy{ID: "hook", FallbackQueueID: "q", PrioritizationRule: hookRule()})
	_, err := f.e.UpsertExceptionPolicy(f.now, ExceptionPolicy{ID: "ex", Rules: []ExceptionRule{{ID: "r",
		Trigger: Trigger{Kind: TriggerQueueLength, Threshold: 0},
		Actions: []Action{{Kind: ActionReclassify, ClassificationPolicyID: "hook"}}}}})
	require.NoError(t, err)
	q := f.queue("q", "p")
	q.ExceptionPolicyID = "ex"
	_, err = f.e.UpsertQueue(f.now, q)
	require.NoError(t, err)
	f.job(call("j", "q"))
	for i := 0; i < 3; i++ {
		if reqs := f.e.TakeRuleRequests(); len(reqs) > 0 {
			res := []RuleResult{{Value: int64(4)}}
			f.e.ApplyRuleResults(f.now, "j", reqs[0].Token, res)
		}
	}
	evs := f.take()
	require.Len(t, only(evs, EvJobExceptionTriggered), 1)
	require.Equal(t, JobQueued, f.getJob("j").Status)
	require.Equal(t, 4, f.getJob("j").Priority)
}

// Actions after a reclassify action that waits for a webhook run once the answer is
// applied, on the reclassified job.
func TestActionsAfterAnAsyncReclassifyAreDeferred(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.classified(ClassificationPolicy{ID: "hook", FallbackQueueID: "q2", PrioritizationRule: hookRule()})
	five := 5
	_, err := f.e.UpsertExceptionPolicy(f.now, ExceptionPolicy{ID: "ex", Rules: []ExceptionRule{{ID: "r",
		Trigger: Trigger{Kind: TriggerWaitTime, Wait: time.Minute},
		Actions: []Action{{Kind: ActionReclassify, ClassificationPolicyID: "hook"}, {Kind: ActionManualReclassify, Priority: &five}}}}})
	require.NoError(t, err)
	q := f.queue("q", "p")
	q.ExceptionPolicyID = "ex"
	_, err = f.e.UpsertQueue(f.now, q)
	require.NoError(t, err)
	f.job(call("j", "q"))
	f.advance(time.Minute)
	require.Equal(t, JobPendingClassification, f.getJob("j").Status)
	f.answer("j", int64(1))
	j := f.getJob("j")
	require.Equal(t, JobQueued, j.Status)
	require.Equal(t, "q2", j.QueueID, "the reclassification was applied")
	require.Equal(t, 5, j.Priority, "then the deferred manual reclassify")
}

// UpdateJob that gives an unclassified job a classification policy classifies it.
func TestAddingAPolicyClassifies(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.classified(ClassificationPolicy{ID: "cp", PrioritizationRule: &Rule{Kind: RuleStatic, Value: 8}})
	j := f.job(call("j", "q"))
	j.ClassificationPolicyID = "cp"
	f.take()
	got, err := f.e.UpdateJob(f.now, j)
	require.NoError(t, err)
	require.Equal(t, 8, got.Priority)
	require.Contains(t, typesOf(f.take()), EvJobClassified)
}
