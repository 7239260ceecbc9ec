package engine

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// classified stores classification policy p and requires success.
func (f *fixture) classified(p ClassificationPolicy) {
	f.t.Helper()
	_, err := f.e.UpsertClassificationPolicy(f.now, p)
	require.NoError(f.t, err)
}

// A job created with a classification policy is classified by it: the policy is
// kept on the job and chooses its queue.
func TestCreateJobKeepsItsClassificationPolicy(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.classified(ClassificationPolicy{ID: "cp", FallbackQueueID: "q2"})
	j := f.job(Job{ID: "j", ChannelID: voice, ClassificationPolicyID: "cp"})
	require.Equal(t, "cp", j.ClassificationPolicyID)
	require.Equal(t, JobQueued, j.Status)
	require.Equal(t, "q2", j.QueueID)
	require.Equal(t, []EventType{EvJobReceived, EvJobClassified, EvJobQueued}, typesOf(f.take()))
}

// An asynchronous rule parks the job until the shell answers; a stale token is
// ignored; the answer classifies the job.
func TestAsyncRuleRequestAndAnswer(t *testing.T) {
	f := newFixture(t)
	f.basic()
	hook := &Rule{Kind: RuleAsync, Eval: func(Labels) (any, error) { return nil, errors.New("not called by the engine") }}
	f.classified(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: hook})
	j := f.job(Job{ID: "j", ChannelID: voice, ClassificationPolicyID: "cp", Labels: Labels{"a": 1}})
	require.Equal(t, JobPendingClassification, j.Status)
	reqs := f.e.TakeRuleRequests()
	require.Len(t, reqs, 1)
	require.Equal(t, "j", reqs[0].JobID)
	require.Equal(t, []*Rule{hook}, reqs[0].Rules)
	require.Empty(t, f.e.TakeRuleRequests(), "taken once")

	f.e.ApplyRuleResults(f.now, "j", reqs[0].Token+1, []RuleResult{{Value: 7}})
	require.Equal(t, JobPendingClassification, f.getJob("j").Status, "a stale token is ignored")
	f.e.ApplyRuleResults(f.now, "j", reqs[0].Token, []RuleResult{{Value: int64(7)}})
	j = f.getJob("j")
	require.Equal(t, JobQueued, j.Status)
	require.Equal(t, 7, j.Priority)
}

// Selectors returned by a rule-engine attachment are validated at routing time.
func TestRuleEngineSelectorsAreChecked(t *testing.T) {
	f := newFixture(t)
	f.basic()
	bad := &Rule{Kind: RuleStatic, Value: []Selector{{Key: "k", Op: labels.GreaterThan, Value: "x"}}}
	f.classified(ClassificationPolicy{ID: "cp", FallbackQueueID: "q",
		WorkerSelectorAttachments: []Attachment{{Kind: AttachRuleEngine, Rule: bad}}})
	j := f.job(Job{ID: "j", ChannelID: voice, ClassificationPolicyID: "cp"})
	require.Equal(t, JobClassificationFailed, j.Status)
	evs := only(f.take(), EvJobClassificationFailed)
	require.Len(t, evs, 1)
	require.Contains(t, evs[0].Extras().Reason, "needs a number")
}
