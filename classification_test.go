package jobrouter

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Helpers for classification and exception tests, on top of router_test.go's fixture.

// queue upserts a queue on the fixture's policy "p".
func (f *fixture) queue(id string, l Labels) {
	f.t.Helper()
	_, err := f.r.UpsertQueue(ctx, Queue{ID: id, DistributionPolicyID: "p", Labels: l})
	require.NoError(f.t, err)
}

// classification upserts a classification policy.
func (f *fixture) classification(p ClassificationPolicy) {
	f.t.Helper()
	_, err := f.r.UpsertClassificationPolicy(ctx, p)
	require.NoError(f.t, err)
}

// create creates j on the voice channel (unless it names another).
func (f *fixture) create(j Job) Job {
	f.t.Helper()
	if j.ChannelID == "" {
		j.ChannelID = "voice"
	}
	out, err := f.r.CreateJob(ctx, j)
	require.NoError(f.t, err)
	return out
}

// labelledWorker registers a worker with capacity 1 on the voice channel.
func (f *fixture) labelledWorker(id string, queues []string, l Labels) {
	f.t.Helper()
	_, err := f.r.UpsertWorker(ctx, Worker{ID: id, Queues: queues, Capacity: 1, Labels: l,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: true})
	require.NoError(f.t, err)
}

// getJob returns the job jobID.
func (f *fixture) getJob(id string) Job {
	f.t.Helper()
	j, err := f.r.GetJob(ctx, id)
	require.NoError(f.t, err)
	return j
}

// offeredTo returns the IDs of the workers holding an open offer for jobID.
func (f *fixture) offeredTo(jobID string) []string {
	f.t.Helper()
	var out []string
	page, err := f.r.ListWorkers(ctx, nil)
	require.NoError(f.t, err)
	for _, w := range page.Workers {
		for _, o := range w.Offers {
			if o.JobID == jobID {
				out = append(out, w.ID)
			}
		}
	}
	return out
}

// eventsUntil returns the events up to and including the first one for which stop
// is true.
func (f *fixture) eventsUntil(stop func(Event) bool) []Event {
	f.t.Helper()
	var out []Event
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-f.sub.Events():
			require.True(f.t, ok, "subscription closed: %v", f.sub.Err())
			out = append(out, ev)
			if stop(ev) {
				return out
			}
		case <-timeout.C:
			f.t.Fatalf("no stop event; got %v", eventTypes(out))
		}
	}
}

// sentinel creates a job in queue "q" whose JobReceived marks the end of what a test
// wants to read: every event before it has been published.
func (f *fixture) sentinel(id string) []Event {
	f.t.Helper()
	f.create(Job{ID: id, QueueID: "q"})
	return f.eventsUntil(func(ev Event) bool { r, ok := ev.(JobReceived); return ok && r.JobID == id })
}

func eventTypes(evs []Event) []EventType {
	out := make([]EventType, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type()
	}
	return out
}

// jobEventTypes returns the types of the events about jobID, in order.
func jobEventTypes(evs []Event, jobID string) []EventType {
	var out []EventType
	for _, ev := range evs {
		if eventJobID(ev) == jobID {
			out = append(out, ev.Type())
		}
	}
	return out
}

func eventJobID(ev Event) string {
	switch e := ev.(type) {
	case JobReceived:
		return e.JobID
	case JobClassified:
		return e.JobID
	case JobClassificationFailed:
		return e.JobID
	case JobQueued:
		return e.JobID
	case JobCancelled:
		return e.JobID
	case JobExceptionTriggered:
		return e.JobID
	case OfferIssued:
		return e.JobID
	case OfferRevoked:
		return e.JobID
	}
	return ""
}

func qsel(key string, v any) QueueSelector {
	return QueueSelector{Key: key, LabelOperator: LabelOperatorEqual, Value: v}
}

func wsel(key string, v any) WorkerSelector {
	return WorkerSelector{Key: key, LabelOperator: LabelOperatorEqual, Value: v}
}

// languageQueues adds queues "en" and "fr" labelled by Language.
func languageQueues(f *fixture) {
	f.queue("en", Labels{"Language": "en"})
	f.queue("fr", Labels{"Language": "fr"})
}

func TestClassifyQueueAttachments(t *testing.T) {
	for _, tc := range []struct {
		name   string
		att    QueueSelectorAttachment
		labels Labels
		want   string
	}{
		{"static", StaticQueueSelectorAttachment{QueueSelector: qsel("Language", "fr")}, nil, "fr"},
		{"conditional true", ConditionalQueueSelectorAttachment{Condition: ExpressionRule{Expression: `job.Tier == "gold"`},
			QueueSelectors: []QueueSelector{qsel("Language", "fr")}}, Labels{"Tier": "gold"}, "fr"},
		{"conditional false", ConditionalQueueSelectorAttachment{Condition: ExpressionRule{Expression: `job.Tier == "gold"`},
			QueueSelectors: []QueueSelector{qsel("Language", "fr")}}, Labels{"Tier": "silver"}, "q"},
		{"conditional static", ConditionalQueueSelectorAttachment{Condition: StaticRule{Value: true},
			QueueSelectors: []QueueSelector{qsel("Language", "en")}}, nil, "en"},
		{"pass-through", PassThroughQueueSelectorAttachment{Key: "Language", LabelOperator: LabelOperatorEqual}, Labels{"Language": "fr"}, "fr"},
		{"pass-through of a missing label attaches nothing", PassThroughQueueSelectorAttachment{Key: "Language", LabelOperator: LabelOperatorEqual}, nil, "q"},
		{"rule engine: func", RuleEngineQueueSelectorAttachment{Rule: FuncRule{Func: func(_ context.Context, l Labels) (any, error) {
			return []QueueSelector{qsel("Language", l["Lang"])}, nil
		}}}, Labels{"Lang": "en"}, "en"},
		{"rule engine: static", RuleEngineQueueSelectorAttachment{Rule: StaticRule{Value: []QueueSelector{qsel("Language", "fr")}}}, nil, "fr"},
		{"rule engine: direct map", RuleEngineQueueSelectorAttachment{Rule: DirectMapRule{}}, Labels{"Language": "fr"}, "fr"},
		{"rule engine: expression in JSON shape", RuleEngineQueueSelectorAttachment{Rule: ExpressionRule{
			Expression: `[{"key": "Language", "labelOperator": "equal", "value": job.Lang}]`}}, Labels{"Lang": "fr"}, "fr"},
		{"weighted", WeightedAllocationQueueSelectorAttachment{Allocations: []QueueWeightedAllocation{
			{Weight: 1, QueueSelectors: []QueueSelector{qsel("Language", "en")}}}}, nil, "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			languageQueues(f)
			f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q",
				QueueSelectorAttachments: []QueueSelectorAttachment{tc.att}})
			j := f.create(Job{ID: "j", ClassificationPolicyID: "cp", Labels: tc.labels})
			require.Equal(t, JobStatusQueued, j.Status)
			require.Equal(t, tc.want, j.QueueID)
			c := next[JobClassified](f)
			require.Equal(t, tc.want, c.QueueID)
			require.Equal(t, "cp", c.ClassificationPolicyID)
		})
	}
}

func TestClassifyWorkerAttachments(t *testing.T) {
	fr := wsel("Language", "fr")
	for _, tc := range []struct {
		name   string
		att    WorkerSelectorAttachment
		labels Labels
		want   []WorkerSelector // attached, as GetJob shows them
	}{
		{"static", StaticWorkerSelectorAttachment{WorkerSelector: fr}, nil, []WorkerSelector{fr}},
		{"conditional", ConditionalWorkerSelectorAttachment{Condition: ExpressionRule{Expression: `job.French == true`},
			WorkerSelectors: []WorkerSelector{fr}}, Labels{"French": true}, []WorkerSelector{fr}},
		{"pass-through", PassThroughWorkerSelectorAttachment{Key: "Language", LabelOperator: LabelOperatorEqual},
			Labels{"Language": "fr"}, []WorkerSelector{fr}},
		{"rule engine: func", RuleEngineWorkerSelectorAttachment{Rule: FuncRule{Func: func(context.Context, Labels) (any, error) {
			return []WorkerSelector{fr}, nil
		}}}, nil, []WorkerSelector{fr}},
		{"rule engine: static", RuleEngineWorkerSelectorAttachment{Rule: StaticRule{Value: []WorkerSelector{fr}}}, nil, []WorkerSelector{fr}},
		{"rule engine: expression", RuleEngineWorkerSelectorAttachment{Rule: ExpressionRule{
			Expression: `{"key": "Language", "labelOperator": "equal", "value": job.Lang}`}}, Labels{"Lang": "fr"}, []WorkerSelector{fr}},
		{"weighted", WeightedAllocationWorkerSelectorAttachment{Allocations: []WorkerWeightedAllocation{
			{Weight: 2, WorkerSelectors: []WorkerSelector{fr}}}}, nil, []WorkerSelector{fr}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q",
				WorkerSelectorAttachments: []WorkerSelectorAttachment{tc.att}})
			// en registers first: longest idle, it would be offered the job but for
			// the attached selector.
			f.labelledWorker("w-en", []string{"q"}, Labels{"Language": "en"})
			f.labelledWorker("w-fr", []string{"q"}, Labels{"Language": "fr"})
			f.create(Job{ID: "j", ClassificationPolicyID: "cp", Labels: tc.labels})
			j := f.getJob("j")
			want := make([]WorkerSelector, len(tc.want))
			for i, s := range tc.want {
				s.Status = SelectorStatusActive
				want[i] = s
			}
			require.Equal(t, want, j.AttachedWorkerSelectors)
			require.Empty(t, j.RequestedWorkerSelectors)
			require.Equal(t, []string{"w-fr"}, f.offeredTo("j"))
		})
	}
}

func TestPassThroughWorkerSelectorExpires(t *testing.T) {
	f := newFixture(t, nil)
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q",
		WorkerSelectorAttachments: []WorkerSelectorAttachment{PassThroughWorkerSelectorAttachment{
			Key: "Language", LabelOperator: LabelOperatorEqual, ExpiresAfter: 30 * time.Second}}})
	f.labelledWorker("w-en", []string{"q"}, Labels{"Language": "en"})
	f.create(Job{ID: "j", ClassificationPolicyID: "cp", Labels: Labels{"Language": "fr"}})
	j := f.getJob("j")
	require.Equal(t, []WorkerSelector{{Key: "Language", LabelOperator: LabelOperatorEqual, Value: "fr",
		ExpiresAfter: 30 * time.Second, Status: SelectorStatusActive, ExpiresAt: start.Add(30 * time.Second)}}, j.AttachedWorkerSelectors)
	require.Empty(t, f.offeredTo("j"))
	f.clk.Add(30 * time.Second)
	require.Equal(t, []string{"w-en"}, f.offeredTo("j"), "the expired selector no longer excludes w-en")
	require.Equal(t, SelectorStatusExpired, f.getJob("j").AttachedWorkerSelectors[0].Status)
}

func TestQueueSelectorsAreANDedWithTheIdLabel(t *testing.T) {
	f := newFixture(t, nil)
	f.queue("a", Labels{"Tier": "gold"})
	f.queue("b", Labels{"Tier": "gold"})
	f.queue("c", Labels{"Tier": "silver"})
	f.classification(ClassificationPolicy{ID: "gold", QueueSelectorAttachments: []QueueSelectorAttachment{
		StaticQueueSelectorAttachment{QueueSelector: qsel("Tier", "gold")}}})
	f.classification(ClassificationPolicy{ID: "gold-b", QueueSelectorAttachments: []QueueSelectorAttachment{
		StaticQueueSelectorAttachment{QueueSelector: qsel("Tier", "gold")},
		StaticQueueSelectorAttachment{QueueSelector: qsel("Id", "b")}}})
	f.classification(ClassificationPolicy{ID: "gold-c", FallbackQueueID: "q", QueueSelectorAttachments: []QueueSelectorAttachment{
		StaticQueueSelectorAttachment{QueueSelector: qsel("Tier", "gold")},
		StaticQueueSelectorAttachment{QueueSelector: qsel("Id", "c")}}})
	require.Equal(t, "a", f.create(Job{ID: "j1", ClassificationPolicyID: "gold"}).QueueID, "the first matching queue by ID")
	require.Equal(t, "b", f.create(Job{ID: "j2", ClassificationPolicyID: "gold-b"}).QueueID)
	require.Equal(t, "q", f.create(Job{ID: "j3", ClassificationPolicyID: "gold-c"}).QueueID, "no queue is both: the fallback")
}

func TestExplicitQueueWinsOverQueueSelectors(t *testing.T) {
	f := newFixture(t, nil)
	languageQueues(f)
	f.classification(ClassificationPolicy{ID: "cp", QueueSelectorAttachments: []QueueSelectorAttachment{
		StaticQueueSelectorAttachment{QueueSelector: qsel("Language", "fr")}},
		PrioritizationRule: StaticRule{Value: 9}})
	j := f.create(Job{ID: "j", QueueID: "en", ClassificationPolicyID: "cp"})
	require.Equal(t, "en", j.QueueID)
	require.Equal(t, 9, j.Priority)
}

func TestClassificationFailsWithoutQueue(t *testing.T) {
	f := newFixture(t, nil)
	languageQueues(f)
	f.classification(ClassificationPolicy{ID: "none", QueueSelectorAttachments: []QueueSelectorAttachment{
		StaticQueueSelectorAttachment{QueueSelector: qsel("Language", "de")}}})
	f.classification(ClassificationPolicy{ID: "empty"})
	for _, id := range []string{"none", "empty"} {
		j := f.create(Job{ID: "j-" + id, ClassificationPolicyID: id})
		require.Equal(t, JobStatusClassificationFailed, j.Status)
		require.Empty(t, j.QueueID)
		ev := next[JobClassificationFailed](f)
		require.Equal(t, "j-"+id, ev.JobID)
		require.Equal(t, id, ev.ClassificationPolicyID)
		require.NotEmpty(t, ev.Reason)
	}
}

func TestPrioritizationRuleOverridesThePriority(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rule   RouterRule
		labels Labels
		want   int
	}{
		{"static", StaticRule{Value: 5}, nil, 5},
		{"static whole float", StaticRule{Value: 6.0}, nil, 6},
		{"expression true", ExpressionRule{Expression: "job.Escalated ? 10 : 1"}, Labels{"Escalated": true}, 10},
		{"expression false", ExpressionRule{Expression: "job.Escalated ? 10 : 1"}, Labels{"Escalated": false}, 1},
		{"expression missing label", ExpressionRule{Expression: "job.Escalated == true ? 10 : 1"}, nil, 1},
		{"expression: a missing label is false", ExpressionRule{Expression: "job.Escalated ? 10 : 1"}, nil, 1},
		{"expression: a present label", ExpressionRule{Expression: "job.Escalated ? 10 : 1"}, Labels{"Escalated": true}, 10},
		{"expression: missing labels in && and !", ExpressionRule{Expression: "!job.A && !job.B ? 7 : 1"}, nil, 7},
		{"expression arithmetic", ExpressionRule{Expression: "job.Age >= 65 && job.Language in ['fr', 'de'] ? job.Age - 60 : 2"},
			Labels{"Age": 70, "Language": "fr"}, 10},
		{"func", FuncRule{Func: func(_ context.Context, l Labels) (any, error) { return l["Base"].(int) * 2, nil }}, Labels{"Base": 4}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: tc.rule})
			j := f.create(Job{ID: "j", ClassificationPolicyID: "cp", Priority: 3, Labels: tc.labels})
			require.Equal(t, tc.want, j.Priority)
			require.Equal(t, JobStatusQueued, j.Status)
			require.Equal(t, tc.want, next[JobClassified](f).Priority)
			require.Equal(t, tc.want, next[JobQueued](f).Priority)
		})
	}
}

func TestFailingRulesFailClassification(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   *Options
		rule   RouterRule
		reason string
	}{
		{"panic", nil, FuncRule{Func: func(context.Context, Labels) (any, error) { panic("kaboom") }}, "kaboom"},
		{"error", nil, FuncRule{Func: func(context.Context, Labels) (any, error) { return nil, errors.New("no priority today") }}, "no priority today"},
		{"timeout", &Options{RuleTimeout: 20 * time.Millisecond}, FuncRule{Func: func(ctx context.Context, _ Labels) (any, error) {
			<-ctx.Done() // a Func that ignores its deadline until it passes
			return 5, nil
		}}, "did not return within 20ms"},
		{"not an integer", nil, FuncRule{Func: func(context.Context, Labels) (any, error) { return "high", nil }}, "integer"},
		{"out of range", nil, ExpressionRule{Expression: "job.P * 100"}, "outside -100..100"},
		{"runtime error", nil, ExpressionRule{Expression: "job.Missing + 1"}, "expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: tc.rule})
			j := f.create(Job{ID: "j", ClassificationPolicyID: "cp", Labels: Labels{"P": 2}})
			require.Equal(t, JobStatusClassificationFailed, j.Status)
			ev := next[JobClassificationFailed](f)
			require.Contains(t, ev.Reason, tc.reason)
			require.Equal(t, JobStatusClassificationFailed, f.getJob("j").Status)
			// The Router keeps working.
			require.Equal(t, JobStatusQueued, f.create(Job{ID: "plain", QueueID: "q"}).Status)
		})
	}
}

func TestFuncRuleGetsACopyAndADeadline(t *testing.T) {
	f := newFixture(t, &Options{RuleTimeout: time.Hour})
	var deadline time.Time
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: FuncRule{
		Func: func(ctx context.Context, l Labels) (any, error) {
			deadline, _ = ctx.Deadline()
			l["Tier"] = "scribbled"
			return 4, nil
		}}})
	before := time.Now()
	j := f.create(Job{ID: "j", ClassificationPolicyID: "cp", Labels: Labels{"Tier": "gold"}})
	require.Equal(t, 4, j.Priority)
	require.Equal(t, "gold", f.getJob("j").Labels["Tier"])
	require.WithinDuration(t, before.Add(time.Hour), deadline, time.Minute, "the deadline is Options.RuleTimeout, in real time")
}

func TestInvalidPoliciesAreRejectedAndNotStored(t *testing.T) {
	f := newFixture(t, nil)
	good := ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: StaticRule{Value: 2}}
	f.classification(good)
	for _, tc := range []struct {
		name string
		p    ClassificationPolicy
	}{
		{"syntax error", ClassificationPolicy{PrioritizationRule: ExpressionRule{Expression: "job.Escalated ? 10 :"}}},
		{"type error", ClassificationPolicy{PrioritizationRule: ExpressionRule{Expression: `"a" * 2`}}},
		{"unknown name", ClassificationPolicy{PrioritizationRule: ExpressionRule{Expression: `jb.Tier == 1`}}},
		{"no wall clock", ClassificationPolicy{PrioritizationRule: ExpressionRule{Expression: `now().Hour()`}}},
		{"priority of a string", ClassificationPolicy{PrioritizationRule: ExpressionRule{Expression: `"high"`}}},
		{"condition of a string", ClassificationPolicy{QueueSelectorAttachments: []QueueSelectorAttachment{ConditionalQueueSelectorAttachment{
			Condition: ExpressionRule{Expression: `"yes"`}, QueueSelectors: []QueueSelector{qsel("Id", "q")}}}}},
		{"empty expression", ClassificationPolicy{PrioritizationRule: ExpressionRule{}}},
		{"static priority out of range", ClassificationPolicy{PrioritizationRule: StaticRule{Value: 101}}},
		{"static priority string", ClassificationPolicy{PrioritizationRule: StaticRule{Value: "high"}}},
		{"static condition not bool", ClassificationPolicy{WorkerSelectorAttachments: []WorkerSelectorAttachment{ConditionalWorkerSelectorAttachment{
			Condition: StaticRule{Value: 1}}}}},
		{"static rule engine not selectors", ClassificationPolicy{WorkerSelectorAttachments: []WorkerSelectorAttachment{RuleEngineWorkerSelectorAttachment{
			Rule: StaticRule{Value: "x"}}}}},
		{"direct map priority", ClassificationPolicy{PrioritizationRule: DirectMapRule{}}},
		{"nil func", ClassificationPolicy{PrioritizationRule: FuncRule{}}},
		{"pointer rule", ClassificationPolicy{PrioritizationRule: &StaticRule{Value: 1}}},
		{"nil queue attachment", ClassificationPolicy{QueueSelectorAttachments: []QueueSelectorAttachment{nil}}},
		{"pointer queue attachment", ClassificationPolicy{QueueSelectorAttachments: []QueueSelectorAttachment{
			&StaticQueueSelectorAttachment{QueueSelector: qsel("Id", "q")}}}},
		{"nil worker attachment", ClassificationPolicy{WorkerSelectorAttachments: []WorkerSelectorAttachment{nil}}},
		{"pointer worker attachment", ClassificationPolicy{WorkerSelectorAttachments: []WorkerSelectorAttachment{
			&StaticWorkerSelectorAttachment{WorkerSelector: wsel("a", 1)}}}},
		{"conditional without condition", ClassificationPolicy{QueueSelectorAttachments: []QueueSelectorAttachment{ConditionalQueueSelectorAttachment{}}}},
		{"rule engine without rule", ClassificationPolicy{WorkerSelectorAttachments: []WorkerSelectorAttachment{RuleEngineWorkerSelectorAttachment{}}}},
		{"bad selector operator", ClassificationPolicy{QueueSelectorAttachments: []QueueSelectorAttachment{StaticQueueSelectorAttachment{
			QueueSelector: QueueSelector{Key: "a", LabelOperator: "like", Value: 1}}}}},
		{"zero weight", ClassificationPolicy{QueueSelectorAttachments: []QueueSelectorAttachment{WeightedAllocationQueueSelectorAttachment{
			Allocations: []QueueWeightedAllocation{{Weight: 0, QueueSelectors: []QueueSelector{qsel("Id", "q")}}}}}}},
		{"pass-through without key", ClassificationPolicy{WorkerSelectorAttachments: []WorkerSelectorAttachment{PassThroughWorkerSelectorAttachment{
			LabelOperator: LabelOperatorEqual}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, id := range []string{"cp", "new"} {
				p := tc.p
				p.ID = id
				_, err := f.r.UpsertClassificationPolicy(ctx, p)
				require.ErrorIs(t, err, ErrInvalidArgument)
			}
			_, err := f.r.GetClassificationPolicy(ctx, "new")
			require.ErrorIs(t, err, ErrNotFound, "nothing stored")
			got, err := f.r.GetClassificationPolicy(ctx, "cp")
			require.NoError(t, err)
			require.Equal(t, good, got, "the stored policy is unchanged")
		})
	}
	_, err := f.r.UpsertClassificationPolicy(ctx, ClassificationPolicy{ID: "x", FallbackQueueID: "nope"})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = f.r.CreateJob(ctx, Job{ChannelID: "voice", ClassificationPolicyID: "nope"})
	require.ErrorIs(t, err, ErrNotFound)
}

func TestClassificationPolicyReadBack(t *testing.T) {
	f := newFixture(t, nil)
	languageQueues(f)
	fr := wsel("Language", "fr")
	fr.ExpiresAfter = time.Minute
	fr.Expedite = true
	p := ClassificationPolicy{
		ID: "cp", Name: "Everything", FallbackQueueID: "q",
		QueueSelectorAttachments: []QueueSelectorAttachment{
			StaticQueueSelectorAttachment{QueueSelector: qsel("Language", "fr")},
			ConditionalQueueSelectorAttachment{Condition: ExpressionRule{Expression: "job.X == 1"}, QueueSelectors: []QueueSelector{qsel("a", 1)}},
			PassThroughQueueSelectorAttachment{Key: "Language", LabelOperator: LabelOperatorNotEqual},
			RuleEngineQueueSelectorAttachment{Rule: DirectMapRule{}},
			RuleEngineQueueSelectorAttachment{Rule: WebhookRule{URL: "https://example.com/queues", Timeout: time.Second}},
			WeightedAllocationQueueSelectorAttachment{Allocations: []QueueWeightedAllocation{
				{Weight: 0.3, QueueSelectors: []QueueSelector{qsel("Id", "en")}}, {Weight: 0.7, QueueSelectors: []QueueSelector{qsel("Id", "fr")}}}},
		},
		PrioritizationRule: ExpressionRule{Expression: "job.Escalated ? 10 : 1"},
		WorkerSelectorAttachments: []WorkerSelectorAttachment{
			StaticWorkerSelectorAttachment{WorkerSelector: fr},
			ConditionalWorkerSelectorAttachment{Condition: StaticRule{Value: true}, WorkerSelectors: []WorkerSelector{wsel("b", true)}},
			PassThroughWorkerSelectorAttachment{Key: "Skill", LabelOperator: LabelOperatorGreaterThanOrEqual, ExpiresAfter: time.Minute},
			RuleEngineWorkerSelectorAttachment{Rule: StaticRule{Value: []WorkerSelector{fr}}},
			WeightedAllocationWorkerSelectorAttachment{Allocations: []WorkerWeightedAllocation{{Weight: 1, WorkerSelectors: []WorkerSelector{wsel("c", 2.5)}}}},
		},
	}
	got, err := f.r.UpsertClassificationPolicy(ctx, p)
	require.NoError(t, err)
	require.Equal(t, p, got)
	got, err = f.r.GetClassificationPolicy(ctx, "cp")
	require.NoError(t, err)
	require.Equal(t, p, got)

	// Copies both ways: the caller's slices are not the Router's.
	p.WorkerSelectorAttachments[3].(RuleEngineWorkerSelectorAttachment).Rule.(StaticRule).Value.([]WorkerSelector)[0].Key = "scribbled"
	got.QueueSelectorAttachments[0] = nil
	again, err := f.r.GetClassificationPolicy(ctx, "cp")
	require.NoError(t, err)
	require.Equal(t, "Language", again.WorkerSelectorAttachments[3].(RuleEngineWorkerSelectorAttachment).Rule.(StaticRule).Value.([]WorkerSelector)[0].Key)
	require.NotNil(t, again.QueueSelectorAttachments[0])

	// A FuncRule reads back as the function given.
	calls := 0
	fn := func(context.Context, Labels) (any, error) { calls++; return 3, nil }
	_, err = f.r.UpsertClassificationPolicy(ctx, ClassificationPolicy{ID: "fn", FallbackQueueID: "q", PrioritizationRule: FuncRule{Func: fn}})
	require.NoError(t, err)
	fp, err := f.r.GetClassificationPolicy(ctx, "fn")
	require.NoError(t, err)
	v, err := fp.PrioritizationRule.(FuncRule).Func(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, 3, v)
	require.Equal(t, 1, calls)
}

func TestListAndDeleteClassificationPolicies(t *testing.T) {
	f := newFixture(t, nil)
	for i := 0; i < 5; i++ {
		f.classification(ClassificationPolicy{ID: fmt.Sprintf("cp%d", i), FallbackQueueID: "q"})
	}
	page, err := f.r.ListClassificationPolicies(ctx, &ListOptions{PageSize: 3})
	require.NoError(t, err)
	require.Len(t, page.ClassificationPolicies, 3)
	require.Equal(t, "cp0", page.ClassificationPolicies[0].ID)
	require.NotEmpty(t, page.ContinuationToken)
	page, err = f.r.ListClassificationPolicies(ctx, &ListOptions{PageSize: 3, ContinuationToken: page.ContinuationToken})
	require.NoError(t, err)
	require.Len(t, page.ClassificationPolicies, 2)
	require.Equal(t, "cp4", page.ClassificationPolicies[1].ID)
	require.Empty(t, page.ContinuationToken)
	_, err = f.r.ListClassificationPolicies(ctx, &ListOptions{ContinuationToken: "garbage"})
	require.ErrorIs(t, err, ErrInvalidArgument)

	// Integrity: a policy used by an active job cannot be deleted; a queue that is a
	// policy's fallback cannot be deleted.
	f.create(Job{ID: "j", ClassificationPolicyID: "cp1"})
	require.ErrorIs(t, f.r.DeleteClassificationPolicy(ctx, "cp1"), ErrConflict)
	require.ErrorIs(t, f.r.DeleteQueue(ctx, "q"), ErrConflict)
	require.NoError(t, f.r.CancelJob(ctx, "j", nil))
	require.NoError(t, f.r.DeleteClassificationPolicy(ctx, "cp1"))
	require.ErrorIs(t, f.r.DeleteClassificationPolicy(ctx, "cp1"), ErrNotFound)
	_, err = f.r.GetClassificationPolicy(ctx, "cp1")
	require.ErrorIs(t, err, ErrNotFound)

	f.queue("fallback", nil)
	f.classification(ClassificationPolicy{ID: "fb", FallbackQueueID: "fallback"})
	require.ErrorIs(t, f.r.DeleteQueue(ctx, "fallback"), ErrConflict, "no job in it, but a policy's fallback")
	require.NoError(t, f.r.DeleteClassificationPolicy(ctx, "fb"))
	require.NoError(t, f.r.DeleteQueue(ctx, "fallback"))
}

// split creates n jobs classified by a 30/70 weighted allocation on a Router seeded
// with seed, and returns the queue each went to.
func split(t *testing.T, seed uint64, n int) []string {
	t.Helper()
	r, err := New(&Options{Seed: seed, ManualTime: true})
	require.NoError(t, err)
	defer r.Close()
	_, err = r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: LongestIdleMode{}})
	require.NoError(t, err)
	for _, q := range []string{"thirty", "seventy"} {
		_, err = r.UpsertQueue(ctx, Queue{ID: q, DistributionPolicyID: "p"})
		require.NoError(t, err)
	}
	_, err = r.UpsertClassificationPolicy(ctx, ClassificationPolicy{ID: "cp", QueueSelectorAttachments: []QueueSelectorAttachment{
		WeightedAllocationQueueSelectorAttachment{Allocations: []QueueWeightedAllocation{
			{Weight: 30, QueueSelectors: []QueueSelector{qsel("Id", "thirty")}},
			{Weight: 70, QueueSelectors: []QueueSelector{qsel("Id", "seventy")}},
		}}}})
	require.NoError(t, err)
	out := make([]string, n)
	for i := range out {
		j, err := r.CreateJob(ctx, Job{ID: fmt.Sprintf("j%05d", i), ChannelID: "voice", ClassificationPolicyID: "cp"})
		require.NoError(t, err)
		out[i] = j.QueueID
	}
	return out
}

func TestWeightedAllocationSplitIsSeeded(t *testing.T) {
	const n = 10000
	a := split(t, 0, n)
	thirty := 0
	for _, q := range a {
		if q == "thirty" {
			thirty++
		}
	}
	share := float64(thirty) / n
	require.InDelta(t, 0.30, share, 0.03, "30/70 split within ±3 points: got %.4f", share)
	require.Equal(t, a, split(t, 0, n), "the same seed gives the identical split")
	require.NotEqual(t, a[:100], split(t, 42, 100), "a different seed gives a different sequence")
}

func TestUpdatingLabelsReclassifies(t *testing.T) {
	f := newFixture(t, nil)
	languageQueues(f)
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", QueueSelectorAttachments: []QueueSelectorAttachment{
		PassThroughQueueSelectorAttachment{Key: "Language", LabelOperator: LabelOperatorEqual}}})
	j := f.create(Job{ID: "j", ClassificationPolicyID: "cp", Labels: Labels{"Language": "en"}})
	require.Equal(t, "en", j.QueueID)
	require.Equal(t, "en", next[JobClassified](f).QueueID)
	f.clk.Add(time.Minute)

	j.Labels = Labels{"Language": "fr"}
	got, err := f.r.UpdateJob(ctx, j)
	require.NoError(t, err)
	require.Equal(t, "fr", got.QueueID)
	require.Equal(t, JobStatusQueued, got.Status)
	require.Equal(t, start, got.EnqueuedAt, "a reclassified job keeps its place")
	c := next[JobClassified](f)
	require.Equal(t, "fr", c.QueueID)
	require.Equal(t, "fr", next[JobQueued](f).QueueID)

	// Tags are not labels: no reclassification.
	got.Tags = Labels{"note": "x"}
	_, err = f.r.UpdateJob(ctx, got)
	require.NoError(t, err)
	evs := f.sentinel("s")
	require.NotContains(t, jobEventTypes(evs, "j"), EventTypeJobClassified)
}

func TestReclassifyJob(t *testing.T) {
	f := newFixture(t, nil)
	languageQueues(f)
	f.classification(ClassificationPolicy{ID: "cp", QueueSelectorAttachments: []QueueSelectorAttachment{
		StaticQueueSelectorAttachment{QueueSelector: qsel("Language", "en")}}, PrioritizationRule: StaticRule{Value: 2}})
	f.create(Job{ID: "j", ClassificationPolicyID: "cp"})
	f.clk.Add(time.Minute)
	f.classification(ClassificationPolicy{ID: "cp", QueueSelectorAttachments: []QueueSelectorAttachment{
		StaticQueueSelectorAttachment{QueueSelector: qsel("Language", "fr")}}, PrioritizationRule: StaticRule{Value: 8}})
	require.Equal(t, "en", f.getJob("j").QueueID, "upserting a policy does not reclassify its jobs")

	require.NoError(t, f.r.ReclassifyJob(ctx, "j", nil))
	j := f.getJob("j")
	require.Equal(t, "fr", j.QueueID)
	require.Equal(t, 8, j.Priority)
	require.Equal(t, start, j.EnqueuedAt)
	evs := f.sentinel("s")
	require.Equal(t, []EventType{EventTypeJobReceived, EventTypeJobClassified, EventTypeJobQueued,
		EventTypeJobClassified, EventTypeJobQueued}, jobEventTypes(evs, "j"))

	require.ErrorIs(t, f.r.ReclassifyJob(ctx, "nope", &ReclassifyJobOptions{}), ErrNotFound)
	require.ErrorIs(t, f.r.ReclassifyJob(ctx, "s", nil), ErrConflict, "no classification policy")
	require.NoError(t, f.r.CancelJob(ctx, "j", nil))
	require.ErrorIs(t, f.r.ReclassifyJob(ctx, "j", nil), ErrConflict, "cancelled")
}

func TestClassificationEventOrder(t *testing.T) {
	f := newFixture(t, nil)
	f.worker("w1", 1)
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: StaticRule{Value: 4}})
	sub := f.r.Subscribe(&SubscribeOptions{JobID: "j"})
	defer sub.Close()
	f.create(Job{ID: "j", ClassificationPolicyID: "cp"})
	var got []EventType
	for len(got) < 4 {
		got = append(got, (<-sub.Events()).Type())
	}
	require.Equal(t, []EventType{EventTypeJobReceived, EventTypeJobClassified, EventTypeJobQueued, EventTypeOfferIssued}, got)
}

func TestScoringRuleExpression(t *testing.T) {
	f := newFixture(t, nil)
	rule := ExpressionRule{Expression: `worker.Skill * (job.Vip == true ? 2 : 1) + len(selectors)`}
	p, err := f.r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute,
		Mode: BestWorkerMode{ScoringRule: rule}})
	require.NoError(t, err)
	require.Equal(t, rule, p.Mode.(BestWorkerMode).ScoringRule)
	require.Nil(t, p.Mode.(BestWorkerMode).ScoringFunc)
	f.labelledWorker("w-low", []string{"q"}, Labels{"Skill": 1})
	f.labelledWorker("w-high", []string{"q"}, Labels{"Skill": 5})
	f.labelledWorker("w-mid", []string{"q"}, Labels{"Skill": 3})
	f.create(Job{ID: "j", QueueID: "q", Labels: Labels{"Vip": true}})
	require.Equal(t, []string{"w-high"}, f.offeredTo("j"))

	for _, m := range []BestWorkerMode{
		{ScoringRule: WebhookRule{URL: "https://example.com/score"}},
		{ScoringRule: ExpressionRule{Expression: `worker.Skill +`}},
		{ScoringRule: ExpressionRule{Expression: `"high"`}},
		{ScoringRule: StaticRule{Value: 1}},
		{ScoringRule: rule, ScoringFunc: func(context.Context, ScoringInput) (float64, error) { return 0, nil }},
	} {
		_, err := f.r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p2", OfferExpiresAfter: time.Minute, Mode: m})
		require.ErrorIs(t, err, ErrInvalidArgument, "%#v", m.ScoringRule)
	}
}

func TestRuleOptionsValidation(t *testing.T) {
	_, err := New(&Options{RuleTimeout: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = New(&Options{WebhookTimeout: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
}

func TestAFailedJobIsClassifiedAgainWhenItsLabelsChange(t *testing.T) {
	f := newFixture(t, nil)
	languageQueues(f)
	f.classification(ClassificationPolicy{ID: "cp", QueueSelectorAttachments: []QueueSelectorAttachment{
		PassThroughQueueSelectorAttachment{Key: "Language", LabelOperator: LabelOperatorEqual}}})
	j := f.create(Job{ID: "j", ClassificationPolicyID: "cp", Labels: Labels{"Language": "de"}})
	require.Equal(t, JobStatusClassificationFailed, j.Status)
	j.Labels["Language"] = "fr"
	j, err := f.r.UpdateJob(ctx, j)
	require.NoError(t, err)
	require.Equal(t, JobStatusQueued, j.Status)
	require.Equal(t, "fr", j.QueueID)
	require.NoError(t, f.r.ReclassifyJob(ctx, "j", nil), "a queued job can be reclassified")
}

// A FuncRule that ignores its context cannot hold the Router beyond RuleTimeout: the
// classification fails at the deadline while the function is still running.
func TestFuncRuleThatIgnoresItsDeadline(t *testing.T) {
	release := make(chan struct{})
	finished := make(chan struct{})
	f := newFixture(t, &Options{RuleTimeout: 20 * time.Millisecond})
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q",
		PrioritizationRule: FuncRule{Func: func(context.Context, Labels) (any, error) {
			defer close(finished)
			<-release // ignores ctx
			return 5, nil
		}}})
	j := f.create(Job{ID: "j", ClassificationPolicyID: "cp"})
	require.Equal(t, JobStatusClassificationFailed, j.Status)
	require.Contains(t, next[JobClassificationFailed](f).Reason, "did not return within 20ms")
	close(release)
	<-finished
}
