package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// firedRules returns the rule IDs of the JobExceptionTriggered events among evs.
func firedRules(evs []Event) []string {
	var ids []string
	for _, ev := range evs {
		if ev.Type == EvJobExceptionTriggered {
			ids = append(ids, ev.Extra.RuleID)
		}
	}
	return ids
}

// queueLengthRules gives queue "q" an exception policy of rules, each a queue-length
// rule (threshold 0) with one action, in order, and forgets the events.
func (f *fixture) queueLengthRules(rules map[string]Action, order ...string) {
	f.t.Helper()
	p := ExceptionPolicy{ID: "ex"}
	for _, id := range order {
		p.Rules = append(p.Rules, ExceptionRule{ID: id, Trigger: Trigger{Kind: TriggerQueueLength}, Actions: []Action{rules[id]}})
	}
	_, err := f.e.UpsertExceptionPolicy(f.now, p)
	require.NoError(f.t, err)
	_, err = f.e.UpsertQueue(f.now, Queue{ID: "q", DistributionPolicyID: "p", ExceptionPolicyID: "ex"})
	require.NoError(f.t, err)
	f.take()
}

// TestExceptionRules_ARuleThatLeavesTheJobQueuedWhereItWasLetsTheNextOneFire: two
// queue-length rules hold at once; the first one's actions change the job's labels
// but do not queue it again, so the second fires in the same enqueue.
func TestExceptionRules_ARuleThatLeavesTheJobQueuedWhereItWasLetsTheNextOneFire(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.queueLengthRules(map[string]Action{
		"r1": {Kind: ActionReclassify, LabelsToUpsert: Labels{"a": 1}},
		"r2": {Kind: ActionReclassify, LabelsToUpsert: Labels{"b": 2}},
	}, "r1", "r2")

	f.job(call("j", "q"))
	require.Equal(t, []string{"r1", "r2"}, firedRules(f.take()))
	j := f.getJob("j")
	require.Equal(t, JobQueued, j.Status)
	require.Equal(t, 1, j.Labels["a"])
	require.Equal(t, 2, j.Labels["b"])
}

// TestExceptionRules_ARuleThatQueuesTheJobAgainEndsTheEnqueueItFiredIn: the first
// queue-length rule moves the job to another queue, a new enqueue; the rules after it
// in the first queue's policy belong to the enqueue that ended and do not fire, though
// the job is queued again and the first queue is still long enough for them.
func TestExceptionRules_ARuleThatQueuesTheJobAgainEndsTheEnqueueItFiredIn(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(call("before", "q")) // keeps q's length above the rules' threshold 0
	f.queueLengthRules(map[string]Action{
		"move":  {Kind: ActionManualReclassify, QueueID: "q2"},
		"label": {Kind: ActionReclassify, LabelsToUpsert: Labels{"b": 2}},
	}, "move", "label")

	f.job(call("j", "q"))
	require.Equal(t, []string{"move"}, firedRules(f.take()))
	j := f.getJob("j")
	require.Equal(t, JobQueued, j.Status)
	require.Equal(t, "q2", j.QueueID)
	require.NotContains(t, j.Labels, "b")
}
