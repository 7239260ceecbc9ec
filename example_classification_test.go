package jobrouter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/openjobrouter/jobrouter"
)

// printJobEvents reads events until n about jobs have been printed, one line each.
func printJobEvents(sub *jobrouter.Subscription, n int) {
	for ev := range sub.Events() {
		switch e := ev.(type) {
		case jobrouter.JobReceived:
			fmt.Println(e.Time().Format("15:04:05"), e.Type(), e.JobID)
		case jobrouter.JobClassified:
			fmt.Println(e.Time().Format("15:04:05"), e.Type(), e.JobID, "queue", e.QueueID, "priority", e.Priority)
		case jobrouter.JobQueued:
			fmt.Println(e.Time().Format("15:04:05"), e.Type(), e.JobID, "queue", e.QueueID, "priority", e.Priority)
		case jobrouter.JobExceptionTriggered:
			fmt.Println(e.Time().Format("15:04:05"), e.Type(), e.JobID, "rule", e.RuleID)
		default:
			continue
		}
		if n--; n == 0 {
			return
		}
	}
}

// A classification policy chooses each call's queue from its labels and sets its
// priority: the queue selectors (the call's Language, passed through, and the
// static Department) are matched against the queues' labels; the prioritization
// rule, an expression compiled when the policy is upserted, gives VIPs 10.
func ExampleClassificationPolicy() {
	ctx := context.Background()
	r, _, sub := newExampleRouter()
	defer r.Close()
	defer sub.Close()

	for _, q := range []jobrouter.Queue{
		{ID: "sales-en", Labels: jobrouter.Labels{"Department": "sales", "Language": "en"}},
		{ID: "sales-fr", Labels: jobrouter.Labels{"Department": "sales", "Language": "fr"}},
	} {
		q.DistributionPolicyID = "longest-idle"
		if _, err := r.UpsertQueue(ctx, q); err != nil {
			panic(err)
		}
	}
	_, err := r.UpsertClassificationPolicy(ctx, jobrouter.ClassificationPolicy{
		ID:              "sales",
		FallbackQueueID: "support", // no sales queue speaks the caller's language
		QueueSelectorAttachments: []jobrouter.QueueSelectorAttachment{
			jobrouter.StaticQueueSelectorAttachment{QueueSelector: jobrouter.QueueSelector{
				Key: "Department", LabelOperator: jobrouter.LabelOperatorEqual, Value: "sales"}},
			jobrouter.PassThroughQueueSelectorAttachment{Key: "Language", LabelOperator: jobrouter.LabelOperatorEqual},
		},
		PrioritizationRule: jobrouter.ExpressionRule{Expression: "job.VIP == true ? 10 : 1"},
	})
	if err != nil {
		panic(err)
	}

	for _, call := range []jobrouter.Job{
		{ID: "call-1", Labels: jobrouter.Labels{"Language": "fr", "VIP": true}},
		{ID: "call-2", Labels: jobrouter.Labels{"Language": "en"}},
		{ID: "call-3", Labels: jobrouter.Labels{"Language": "de"}},
	} {
		call.ChannelID, call.ClassificationPolicyID = "voice", "sales"
		if _, err := r.CreateJob(ctx, call); err != nil {
			panic(err)
		}
	}
	printJobEvents(sub, 9)

	_, err = r.UpsertClassificationPolicy(ctx, jobrouter.ClassificationPolicy{
		ID: "broken", PrioritizationRule: jobrouter.ExpressionRule{Expression: "job.VIP ? 10 :"}})
	fmt.Println("syntax error at upsert:", err != nil)
	// Output:
	// 09:00:00 JobReceived call-1
	// 09:00:00 JobClassified call-1 queue sales-fr priority 10
	// 09:00:00 JobQueued call-1 queue sales-fr priority 10
	// 09:00:00 JobReceived call-2
	// 09:00:00 JobClassified call-2 queue sales-en priority 1
	// 09:00:00 JobQueued call-2 queue sales-en priority 1
	// 09:00:00 JobReceived call-3
	// 09:00:00 JobClassified call-3 queue support priority 1
	// 09:00:00 JobQueued call-3 queue support priority 1
	// syntax error at upsert: true
}

// The classic escalation: a call that has waited five minutes in its queue moves to
// the "escalated" queue with priority 10. The wait-time trigger is a deadline of
// the Router's one timer, so a mock clock fires it at exactly 09:05:00; the call
// keeps its place in queue order (EnqueuedAt).
func ExampleExceptionPolicy() {
	ctx := context.Background()
	r, clk, sub := newExampleRouter()
	defer r.Close()
	defer sub.Close()

	r.UpsertQueue(ctx, jobrouter.Queue{ID: "escalated", DistributionPolicyID: "longest-idle"})
	ten := 10
	_, err := r.UpsertExceptionPolicy(ctx, jobrouter.ExceptionPolicy{
		ID: "escalation",
		ExceptionRules: []jobrouter.ExceptionRule{{
			ID:      "waited-5-minutes",
			Trigger: jobrouter.WaitTimeTrigger{Threshold: 5 * time.Minute},
			Actions: []jobrouter.ExceptionAction{
				jobrouter.ManualReclassifyAction{QueueID: "escalated", Priority: &ten},
			},
		}},
	})
	if err != nil {
		panic(err)
	}
	r.UpsertQueue(ctx, jobrouter.Queue{ID: "support", DistributionPolicyID: "longest-idle", ExceptionPolicyID: "escalation"})
	r.CreateJob(ctx, jobrouter.Job{ID: "call-1", ChannelID: "voice", QueueID: "support"})

	clk.Add(5*time.Minute - time.Second)
	job, _ := r.GetJob(ctx, "call-1")
	fmt.Println("at 09:04:59:", job.QueueID, "priority", job.Priority)

	clk.Add(time.Second)
	job, _ = r.GetJob(ctx, "call-1")
	fmt.Println("at 09:05:00:", job.QueueID, "priority", job.Priority, "enqueued at", job.EnqueuedAt.Format("15:04:05"))
	printJobEvents(sub, 4)
	// Output:
	// at 09:04:59: support priority 1
	// at 09:05:00: escalated priority 10 enqueued at 09:00:00
	// 09:00:00 JobReceived call-1
	// 09:00:00 JobQueued call-1 queue support priority 1
	// 09:05:00 JobExceptionTriggered call-1 rule waited-5-minutes
	// 09:05:00 JobQueued call-1 queue escalated priority 10
}
