package jobrouter

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// exceptions upserts an exception policy.
func (f *fixture) exceptions(p ExceptionPolicy) {
	f.t.Helper()
	_, err := f.r.UpsertExceptionPolicy(ctx, p)
	require.NoError(f.t, err)
}

// guardedQueue upserts a queue on policy "p" with an exception policy.
func (f *fixture) guardedQueue(id, exceptionPolicyID string) {
	f.t.Helper()
	_, err := f.r.UpsertQueue(ctx, Queue{ID: id, DistributionPolicyID: "p", ExceptionPolicyID: exceptionPolicyID})
	require.NoError(f.t, err)
}

func priorityPtr(v int) *int { return &v }

// triggered returns the RuleIDs of the JobExceptionTriggered events for jobID.
func triggered(evs []Event, jobID string) []string {
	var out []string
	for _, ev := range evs {
		if e, ok := ev.(JobExceptionTriggered); ok && e.JobID == jobID {
			out = append(out, e.RuleID)
		}
	}
	return out
}

func TestQueueLengthTriggerCancels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action CancelAction
		code   string
	}{
		{"default disposition", CancelAction{}, "Cancelled"},
		{"custom disposition", CancelAction{ID: "a1", DispositionCode: "QueueFull", Note: "try later"}, "QueueFull"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.exceptions(ExceptionPolicy{ID: "full", ExceptionRules: []ExceptionRule{
				{ID: "too-many", Trigger: QueueLengthTrigger{Threshold: 2}, Actions: []ExceptionAction{tc.action}}}})
			f.guardedQueue("small", "full")
			for _, id := range []string{"j1", "j2"} {
				require.Equal(t, JobStatusQueued, f.create(Job{ID: id, QueueID: "small"}).Status)
			}
			j3 := f.create(Job{ID: "j3", QueueID: "small"})
			require.Equal(t, JobStatusCancelled, j3.Status, "the queue would hold 3 > 2 jobs, counting j3")
			require.Equal(t, tc.code, j3.DispositionCode)
			evs := f.sentinel("s")
			require.Equal(t, []EventType{EventTypeJobReceived, EventTypeJobQueued, EventTypeJobExceptionTriggered, EventTypeJobCancelled},
				jobEventTypes(evs, "j3"))
			require.Equal(t, []string{"too-many"}, triggered(evs, "j3"))
			require.Empty(t, triggered(evs, "j1"))
			for _, ev := range evs {
				if c, ok := ev.(JobCancelled); ok {
					require.Equal(t, tc.code, c.DispositionCode)
					require.Equal(t, tc.action.Note, c.Note)
				}
			}
			if tc.action.Note != "" {
				require.Equal(t, tc.action.Note, j3.Notes[len(j3.Notes)-1].Message)
			}
			require.Equal(t, JobStatusQueued, f.getJob("j2").Status)
		})
	}
}

// The classic escalation: a call that waits 5 minutes moves to the "escalated" queue
// with priority 10, keeping its place in queue order.
func TestWaitTimeEscalation(t *testing.T) {
	f := newFixture(t, nil)
	f.queue("escalated", nil)
	f.exceptions(ExceptionPolicy{ID: "esc", ExceptionRules: []ExceptionRule{{ID: "escalate",
		Trigger: WaitTimeTrigger{Threshold: 5 * time.Minute},
		Actions: []ExceptionAction{ManualReclassifyAction{QueueID: "escalated", Priority: priorityPtr(10)}}}}})
	f.guardedQueue("q", "esc")
	f.labelledWorker("senior", []string{"escalated"}, nil)
	f.create(Job{ID: "j", QueueID: "q"})

	f.clk.Add(5*time.Minute - time.Nanosecond)
	j := f.getJob("j")
	require.Equal(t, "q", j.QueueID, "one nanosecond early: nothing")
	require.Equal(t, 1, j.Priority)
	require.Empty(t, triggered(f.sentinel("s1"), "j"))

	f.clk.Add(time.Nanosecond)
	j = f.getJob("j")
	require.Equal(t, "escalated", j.QueueID)
	require.Equal(t, 10, j.Priority)
	require.Equal(t, JobStatusQueued, j.Status)
	require.Equal(t, start, j.EnqueuedAt, "the escalated job keeps its place")
	ex := next[JobExceptionTriggered](f)
	require.Equal(t, "escalate", ex.RuleID)
	require.Equal(t, "j", ex.JobID)
	require.Equal(t, "q", ex.QueueID)
	require.Equal(t, start.Add(5*time.Minute), ex.Time(), "exactly at the threshold")
	q := next[JobQueued](f)
	require.Equal(t, "j", q.JobID)
	require.Equal(t, "escalated", q.QueueID)
	require.Equal(t, 10, q.Priority)
	o := next[OfferIssued](f)
	require.Equal(t, "senior", o.WorkerID)
	require.Equal(t, 10, o.JobPriority)
}

func TestManualReclassifyReplacesAttachedSelectors(t *testing.T) {
	f := newFixture(t, nil)
	f.exceptions(ExceptionPolicy{ID: "widen", ExceptionRules: []ExceptionRule{{ID: "any-expert",
		Trigger: WaitTimeTrigger{Threshold: time.Minute},
		Actions: []ExceptionAction{ManualReclassifyAction{WorkerSelectors: []WorkerSelector{wsel("Level", "expert")}}}}}})
	f.guardedQueue("q", "widen")
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", WorkerSelectorAttachments: []WorkerSelectorAttachment{
		StaticWorkerSelectorAttachment{WorkerSelector: wsel("Language", "fr")}}})
	requested := wsel("Channel", "phone")
	f.create(Job{ID: "j", ClassificationPolicyID: "cp", RequestedWorkerSelectors: []WorkerSelector{requested}})
	require.Equal(t, "Language", f.getJob("j").AttachedWorkerSelectors[0].Key)

	f.clk.Add(time.Minute)
	j := f.getJob("j")
	require.Equal(t, "q", j.QueueID, "no QueueID: the job stays in its queue")
	require.Equal(t, 1, j.Priority, "no Priority: unchanged")
	want := wsel("Level", "expert")
	want.Status = SelectorStatusActive
	require.Equal(t, []WorkerSelector{want}, j.AttachedWorkerSelectors)
	requested.Status = SelectorStatusActive
	require.Equal(t, []WorkerSelector{requested}, j.RequestedWorkerSelectors, "requested selectors are the caller's")
}

func TestReclassifyActionUpsertsLabelsAndClassifiesAgain(t *testing.T) {
	f := newFixture(t, nil)
	f.queue("escalated", nil)
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q",
		QueueSelectorAttachments: []QueueSelectorAttachment{ConditionalQueueSelectorAttachment{
			Condition: ExpressionRule{Expression: "job.Escalated == true"}, QueueSelectors: []QueueSelector{qsel("Id", "escalated")}}},
		PrioritizationRule: ExpressionRule{Expression: "job.Escalated == true ? 10 : 1"}})
	f.exceptions(ExceptionPolicy{ID: "recl", ExceptionRules: []ExceptionRule{{ID: "escalate",
		Trigger: WaitTimeTrigger{Threshold: 2 * time.Minute},
		Actions: []ExceptionAction{ReclassifyAction{LabelsToUpsert: Labels{"Escalated": true}}}}}})
	f.guardedQueue("q", "recl")
	j := f.create(Job{ID: "j", ClassificationPolicyID: "cp", Labels: Labels{"Tier": "gold"}})
	require.Equal(t, "q", j.QueueID)
	require.Equal(t, 1, j.Priority)

	f.clk.Add(2 * time.Minute)
	j = f.getJob("j")
	require.Equal(t, "escalated", j.QueueID)
	require.Equal(t, 10, j.Priority)
	require.Equal(t, Labels{"Tier": "gold", "Escalated": true}, j.Labels)
	require.Equal(t, start, j.EnqueuedAt)
	evs := f.sentinel("s")
	require.Equal(t, []EventType{EventTypeJobReceived, EventTypeJobClassified, EventTypeJobQueued,
		EventTypeJobExceptionTriggered, EventTypeJobClassified, EventTypeJobQueued}, jobEventTypes(evs, "j"))
}

func TestReclassifyActionSwitchesPolicy(t *testing.T) {
	f := newFixture(t, nil)
	f.queue("vip", nil)
	f.classification(ClassificationPolicy{ID: "vip", QueueSelectorAttachments: []QueueSelectorAttachment{
		StaticQueueSelectorAttachment{QueueSelector: qsel("Id", "vip")}}, PrioritizationRule: StaticRule{Value: 50}})
	f.exceptions(ExceptionPolicy{ID: "promote", ExceptionRules: []ExceptionRule{{ID: "r",
		Trigger: QueueLengthTrigger{Threshold: 0}, Actions: []ExceptionAction{ReclassifyAction{ClassificationPolicyID: "vip"}}}}})
	f.guardedQueue("q", "promote")
	f.classification(ClassificationPolicy{ID: "base", FallbackQueueID: "q"})
	j := f.create(Job{ID: "j", ClassificationPolicyID: "base"})
	require.Equal(t, "vip", j.ClassificationPolicyID)
	require.Equal(t, "vip", j.QueueID)
	require.Equal(t, 50, j.Priority)
	require.ErrorIs(t, f.r.DeleteClassificationPolicy(ctx, "vip"), ErrConflict)

	// A reclassify action routes the job again: the policy's queue selectors choose
	// the queue even for a job the caller put in a queue.
	k := f.create(Job{ID: "k", QueueID: "q"})
	require.Equal(t, "vip", k.ClassificationPolicyID)
	require.Equal(t, "vip", k.QueueID)
	require.Equal(t, 50, k.Priority)
}

// A rule fires at most once per enqueue, and a re-queue by an exception action
// continues the same enqueue: two queues sending a job back and forth stop after one
// round.
func TestExceptionRuleFiresAtMostOncePerEnqueue(t *testing.T) {
	f := newFixture(t, nil)
	f.exceptions(ExceptionPolicy{ID: "bump", ExceptionRules: []ExceptionRule{
		{ID: "wait", Trigger: WaitTimeTrigger{Threshold: time.Minute}, Actions: []ExceptionAction{ManualReclassifyAction{Priority: priorityPtr(5)}}},
		{ID: "length", Trigger: QueueLengthTrigger{Threshold: 0}, Actions: []ExceptionAction{ManualReclassifyAction{Priority: priorityPtr(3)}}},
	}})
	f.guardedQueue("q", "bump")
	require.Equal(t, 3, f.create(Job{ID: "j", QueueID: "q"}).Priority, "queue length fired on enqueue")
	f.clk.Add(10 * time.Minute)
	require.Equal(t, 5, f.getJob("j").Priority)
	evs := f.sentinel("s")
	require.Equal(t, []string{"length", "wait"}, triggered(evs, "j"), "each once, although the actions re-queue the job")

	f.guardedQueue("a", "")
	f.guardedQueue("b", "")
	f.exceptions(ExceptionPolicy{ID: "there", ExceptionRules: []ExceptionRule{{ID: "go", Trigger: WaitTimeTrigger{Threshold: time.Minute},
		Actions: []ExceptionAction{ManualReclassifyAction{QueueID: "b"}}}}})
	f.exceptions(ExceptionPolicy{ID: "back", ExceptionRules: []ExceptionRule{{ID: "return", Trigger: WaitTimeTrigger{Threshold: time.Minute},
		Actions: []ExceptionAction{ManualReclassifyAction{QueueID: "a"}}}}})
	f.guardedQueue("b", "back")
	f.guardedQueue("a", "there")
	f.create(Job{ID: "ping", QueueID: "a"})
	f.clk.Add(time.Minute)
	require.Equal(t, "b", f.getJob("ping").QueueID)
	f.clk.Add(time.Minute)
	require.Equal(t, "a", f.getJob("ping").QueueID)
	f.clk.Add(time.Hour)
	require.Equal(t, "a", f.getJob("ping").QueueID, "\"go\" already fired for this enqueue")
	require.Equal(t, []string{"go", "return"}, triggered(f.sentinel("s2"), "ping"))
}

func TestExceptionPolicyIntegrity(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.r.UpsertQueue(ctx, Queue{ID: "x", DistributionPolicyID: "p", ExceptionPolicyID: "missing"})
	require.ErrorIs(t, err, ErrNotFound)

	f.queue("escalated", nil)
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q"})
	f.exceptions(ExceptionPolicy{ID: "esc", ExceptionRules: []ExceptionRule{
		{ID: "r1", Trigger: WaitTimeTrigger{Threshold: time.Minute}, Actions: []ExceptionAction{ManualReclassifyAction{QueueID: "escalated"}}},
		{ID: "r2", Trigger: WaitTimeTrigger{Threshold: time.Hour}, Actions: []ExceptionAction{ReclassifyAction{ClassificationPolicyID: "cp"}}},
	}})
	f.guardedQueue("q", "esc")
	require.ErrorIs(t, f.r.DeleteExceptionPolicy(ctx, "esc"), ErrConflict, "used by queue q")
	require.ErrorIs(t, f.r.DeleteQueue(ctx, "escalated"), ErrConflict, "named by an action")
	require.ErrorIs(t, f.r.DeleteClassificationPolicy(ctx, "cp"), ErrConflict, "named by an action")
	f.guardedQueue("q", "")
	require.NoError(t, f.r.DeleteExceptionPolicy(ctx, "esc"))
	require.ErrorIs(t, f.r.DeleteExceptionPolicy(ctx, "esc"), ErrNotFound)
	_, err = f.r.GetExceptionPolicy(ctx, "esc")
	require.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, f.r.DeleteQueue(ctx, "escalated"))

	for _, a := range []ExceptionAction{ManualReclassifyAction{QueueID: "nope"}, ReclassifyAction{ClassificationPolicyID: "nope"}} {
		_, err = f.r.UpsertExceptionPolicy(ctx, ExceptionPolicy{ID: "e", ExceptionRules: []ExceptionRule{
			{ID: "r", Trigger: QueueLengthTrigger{Threshold: 1}, Actions: []ExceptionAction{a}}}})
		require.ErrorIs(t, err, ErrNotFound, "%#v", a)
	}
}

func TestInvalidExceptionPolicies(t *testing.T) {
	f := newFixture(t, nil)
	good := ExceptionPolicy{ID: "e", ExceptionRules: []ExceptionRule{{ID: "r", Trigger: QueueLengthTrigger{Threshold: 3}, Actions: []ExceptionAction{CancelAction{}}}}}
	f.exceptions(good)
	cancel := []ExceptionAction{CancelAction{}}
	for name, rules := range map[string][]ExceptionRule{
		"nil trigger":           {{ID: "r", Actions: cancel}},
		"pointer trigger":       {{ID: "r", Trigger: &WaitTimeTrigger{Threshold: time.Minute}, Actions: cancel}},
		"zero wait":             {{ID: "r", Trigger: WaitTimeTrigger{}, Actions: cancel}},
		"negative length":       {{ID: "r", Trigger: QueueLengthTrigger{Threshold: -1}, Actions: cancel}},
		"no actions":            {{ID: "r", Trigger: QueueLengthTrigger{Threshold: 1}}},
		"nil action":            {{ID: "r", Trigger: QueueLengthTrigger{Threshold: 1}, Actions: []ExceptionAction{nil}}},
		"pointer action":        {{ID: "r", Trigger: QueueLengthTrigger{Threshold: 1}, Actions: []ExceptionAction{&CancelAction{}}}},
		"no rule ID":            {{Trigger: QueueLengthTrigger{Threshold: 1}, Actions: cancel}},
		"duplicate rule ID":     {{ID: "r", Trigger: QueueLengthTrigger{Threshold: 1}, Actions: cancel}, {ID: "r", Trigger: QueueLengthTrigger{Threshold: 2}, Actions: cancel}},
		"priority above 100":    {{ID: "r", Trigger: QueueLengthTrigger{Threshold: 1}, Actions: []ExceptionAction{ManualReclassifyAction{Priority: priorityPtr(101)}}}},
		"bad selector":          {{ID: "r", Trigger: QueueLengthTrigger{Threshold: 1}, Actions: []ExceptionAction{ManualReclassifyAction{WorkerSelectors: []WorkerSelector{{Key: "k", LabelOperator: "like"}}}}}},
		"bad label to upsert":   {{ID: "r", Trigger: QueueLengthTrigger{Threshold: 1}, Actions: []ExceptionAction{ReclassifyAction{LabelsToUpsert: Labels{"k": []int{1}}}}}},
		"empty label to upsert": {{ID: "r", Trigger: QueueLengthTrigger{Threshold: 1}, Actions: []ExceptionAction{ReclassifyAction{LabelsToUpsert: Labels{"": 1}}}}},
	} {
		for _, id := range []string{"e", "new"} {
			_, err := f.r.UpsertExceptionPolicy(ctx, ExceptionPolicy{ID: id, ExceptionRules: rules})
			require.ErrorIs(t, err, ErrInvalidArgument, name)
		}
		_, err := f.r.GetExceptionPolicy(ctx, "new")
		require.ErrorIs(t, err, ErrNotFound, name)
		got, err := f.r.GetExceptionPolicy(ctx, "e")
		require.NoError(t, err)
		require.Equal(t, good, got, name)
	}
	_, err := f.r.UpsertExceptionPolicy(ctx, ExceptionPolicy{})
	require.ErrorIs(t, err, ErrInvalidArgument, "no ID")
}

func TestExceptionPolicyReadBackAndList(t *testing.T) {
	f := newFixture(t, nil)
	f.queue("escalated", nil)
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q"})
	p := ExceptionPolicy{ID: "e0", Name: "Everything", ExceptionRules: []ExceptionRule{
		{ID: "wait", Trigger: WaitTimeTrigger{Threshold: 5 * time.Minute}, Actions: []ExceptionAction{
			ManualReclassifyAction{ID: "a1", QueueID: "escalated", Priority: priorityPtr(10), WorkerSelectors: []WorkerSelector{wsel("Level", 3)}},
			ReclassifyAction{ID: "a2", ClassificationPolicyID: "cp", LabelsToUpsert: Labels{"Escalated": true}},
		}},
		{ID: "length", Trigger: QueueLengthTrigger{Threshold: 10}, Actions: []ExceptionAction{CancelAction{ID: "a3", Note: "n", DispositionCode: "Full"}}},
	}}
	got, err := f.r.UpsertExceptionPolicy(ctx, p)
	require.NoError(t, err)
	require.Equal(t, p, got)
	*p.ExceptionRules[0].Actions[0].(ManualReclassifyAction).Priority = 99 // the caller's pointer is not the Router's
	got.ExceptionRules[1].Actions[0] = nil
	again, err := f.r.GetExceptionPolicy(ctx, "e0")
	require.NoError(t, err)
	require.Equal(t, 10, *again.ExceptionRules[0].Actions[0].(ManualReclassifyAction).Priority)
	require.NotNil(t, again.ExceptionRules[1].Actions[0])

	for i := 1; i < 4; i++ {
		f.exceptions(ExceptionPolicy{ID: fmt.Sprintf("e%d", i)})
	}
	page, err := f.r.ListExceptionPolicies(ctx, &ListOptions{PageSize: 3})
	require.NoError(t, err)
	require.Len(t, page.ExceptionPolicies, 3)
	require.Equal(t, "Everything", page.ExceptionPolicies[0].Name)
	page, err = f.r.ListExceptionPolicies(ctx, &ListOptions{ContinuationToken: page.ContinuationToken})
	require.NoError(t, err)
	require.Len(t, page.ExceptionPolicies, 1)
	require.Equal(t, "e3", page.ExceptionPolicies[0].ID)
	require.Empty(t, page.ContinuationToken)
	_, err = f.r.ListExceptionPolicies(ctx, &ListOptions{PageSize: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
}
