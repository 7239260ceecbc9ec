package jobrouter

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func sampleSelectors() []WorkerSelector {
	return []WorkerSelector{
		{Key: "lang", LabelOperator: LabelOperatorEqual, Value: "en", Status: SelectorStatusActive},
		{Key: "skill", LabelOperator: LabelOperatorGreaterThanOrEqual, Value: 5, ExpiresAfter: time.Minute, Expedite: true, Status: SelectorStatusActive},
	}
}

// sampleJob sets every settable field of a Job, in the form the conversion returns
// them (selectors active, an explicit matching mode).
func sampleJob() Job {
	return Job{
		ID:                       "job-1",
		ChannelID:                "voice",
		ChannelReference:         "call-7",
		QueueID:                  "q1",
		ClassificationPolicyID:   "cp1",
		Priority:                 -5,
		RequestedWorkerSelectors: sampleSelectors(),
		Labels:                   Labels{"lang": "en", "vip": true, "tier": 2, "score": 0.5},
		Tags:                     Labels{"crm": "abc"},
		Notes:                    []Note{{Message: "hello", AddedAt: t0}},
		MatchingMode:             ScheduleAndSuspendMode{ScheduleAt: t0.Add(time.Hour)},
	}
}

func TestJobRoundTrip(t *testing.T) {
	in := sampleJob()
	ej, err := jobToEngine("test", in)
	if err != nil {
		t.Fatal(err)
	}
	if got := jobFromEngine(ej); !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, in)
	}
}

func TestJobMatchingModes(t *testing.T) {
	cases := []struct {
		in   MatchingMode
		kind engine.MatchingKind
		out  MatchingMode
	}{
		{nil, engine.QueueAndMatch, QueueAndMatchMode{}},
		{QueueAndMatchMode{}, engine.QueueAndMatch, QueueAndMatchMode{}},
		{SuspendMode{}, engine.Suspend, SuspendMode{}},
		{ScheduleAndSuspendMode{ScheduleAt: t0}, engine.ScheduleAndSuspend, ScheduleAndSuspendMode{ScheduleAt: t0}},
	}
	for _, c := range cases {
		j := sampleJob()
		j.MatchingMode = c.in
		ej, err := jobToEngine("test", j)
		if err != nil {
			t.Fatalf("%T: %v", c.in, err)
		}
		if ej.MatchingMode.Kind != c.kind {
			t.Errorf("%T: kind %d, want %d", c.in, ej.MatchingMode.Kind, c.kind)
		}
		if got := jobFromEngine(ej).MatchingMode; !reflect.DeepEqual(got, c.out) {
			t.Errorf("%T: back as %#v, want %#v", c.in, got, c.out)
		}
	}
	for _, bad := range []MatchingMode{&SuspendMode{}, &QueueAndMatchMode{}, &ScheduleAndSuspendMode{}} {
		j := sampleJob()
		j.MatchingMode = bad
		if _, err := jobToEngine("test", j); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%T: err %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func TestJobPriorityDefault(t *testing.T) {
	j := sampleJob()
	j.Priority = 0
	ej, err := jobToEngine("test", j)
	if err != nil {
		t.Fatal(err)
	}
	if ej.Priority != 1 {
		t.Fatalf("zero priority became %d, want 1", ej.Priority)
	}
	j.Priority = 100
	if ej, _ = jobToEngine("test", j); ej.Priority != 100 {
		t.Fatalf("priority 100 became %d", ej.Priority)
	}
}

func TestJobReadOnlyFields(t *testing.T) {
	in := sampleJob()
	in.Status = JobStatusAssigned
	in.CreatedAt = t0
	in.EnqueuedAt = t0
	in.ScheduledAt = t0
	in.AttachedWorkerSelectors = sampleSelectors()
	in.Assignments = map[string]Assignment{"a": {ID: "a"}}
	in.DispositionCode = "done"
	in.UnassignmentCount = 2
	in.RequestedWorkerSelectors[0].Status = SelectorStatusExpired
	in.RequestedWorkerSelectors[0].ExpiresAt = t0
	ej, err := jobToEngine("test", in)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleJob()
	if got := jobFromEngine(ej); !reflect.DeepEqual(got, want) {
		t.Fatalf("read-only fields were not dropped:\n got %#v\nwant %#v", got, want)
	}
}

func TestJobFromEngine(t *testing.T) {
	ej := engine.Job{
		ID:                       "j",
		ChannelID:                "chat",
		ChannelReference:         "ref",
		QueueID:                  "q",
		ClassificationPolicyID:   "cp",
		Priority:                 3,
		RequestedWorkerSelectors: []engine.Selector{{Key: "k", Op: labels.LessThan, Value: 3, Expired: true, ExpiresAt: t0}},
		Labels:                   engine.Labels{"a": 1},
		Tags:                     engine.Labels{"b": "x"},
		Notes:                    []engine.Note{{Message: "n", AddedAt: t0}},
		MatchingMode:             engine.MatchingMode{Kind: engine.Suspend},
		Status:                   engine.JobCompleted,
		CreatedAt:                t0,
		EnqueuedAt:               t0.Add(time.Second),
		ScheduledAt:              t0.Add(2 * time.Second),
		AttachedWorkerSelectors:  []engine.Selector{{Key: "x", Op: labels.NotEqual, Value: false}},
		Assignments: map[string]engine.Assignment{"as1": {
			ID: "as1", JobID: "j", WorkerID: "w", CapacityCost: 2,
			AssignedAt: t0, CompletedAt: t0.Add(time.Minute),
		}},
		DispositionCode:   "code",
		UnassignmentCount: 1,
	}
	want := Job{
		ID:                       "j",
		ChannelID:                "chat",
		ChannelReference:         "ref",
		QueueID:                  "q",
		ClassificationPolicyID:   "cp",
		Priority:                 3,
		RequestedWorkerSelectors: []WorkerSelector{{Key: "k", LabelOperator: LabelOperatorLessThan, Value: 3, Status: SelectorStatusExpired, ExpiresAt: t0}},
		Labels:                   Labels{"a": 1},
		Tags:                     Labels{"b": "x"},
		Notes:                    []Note{{Message: "n", AddedAt: t0}},
		MatchingMode:             SuspendMode{},
		Status:                   JobStatusCompleted,
		CreatedAt:                t0,
		EnqueuedAt:               t0.Add(time.Second),
		ScheduledAt:              t0.Add(2 * time.Second),
		AttachedWorkerSelectors:  []WorkerSelector{{Key: "x", LabelOperator: LabelOperatorNotEqual, Value: false, Status: SelectorStatusActive}},
		Assignments: map[string]Assignment{"as1": {
			ID: "as1", JobID: "j", WorkerID: "w", CapacityCost: 2,
			AssignedAt: t0, CompletedAt: t0.Add(time.Minute),
		}},
		DispositionCode:   "code",
		UnassignmentCount: 1,
	}
	got := jobFromEngine(ej)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %#v\nwant %#v", got, want)
	}

	// The output must not alias the engine's value.
	got.Labels["a"] = 99
	got.Tags["new"] = 1
	got.Notes[0].Message = "changed"
	got.RequestedWorkerSelectors[0].Key = "changed"
	got.AttachedWorkerSelectors[0].Key = "changed"
	got.Assignments["as2"] = Assignment{}
	if ej.Labels["a"] != 1 || len(ej.Tags) != 1 || ej.Notes[0].Message != "n" ||
		ej.RequestedWorkerSelectors[0].Key != "k" || ej.AttachedWorkerSelectors[0].Key != "x" ||
		len(ej.Assignments) != 1 {
		t.Fatalf("writing to the output changed the engine value: %#v", ej)
	}
	// And the engine changing its value must not change the output already returned.
	got = jobFromEngine(ej)
	ej.Labels["a"] = 7
	ej.Assignments["as1"] = engine.Assignment{}
	if got.Labels["a"] != 1 || got.Assignments["as1"].WorkerID != "w" {
		t.Fatalf("engine value aliased by output: %#v", got)
	}
}

// The conversion builds what it converts (selectors, notes); a job's Labels and Tags
// pass through as the caller's own, for the engine to copy (TestInputsAreNotAliased
// checks the whole path through the Router).
func TestJobInputConversion(t *testing.T) {
	in := sampleJob()
	ej, err := jobToEngine("test", in)
	if err != nil {
		t.Fatal(err)
	}
	in.RequestedWorkerSelectors[0].Value = "fr"
	in.Notes[0].Message = "changed"
	want := sampleJob()
	if got := jobFromEngine(ej); !reflect.DeepEqual(got.RequestedWorkerSelectors, want.RequestedWorkerSelectors) ||
		!reflect.DeepEqual(got.Notes, want.Notes) {
		t.Fatalf("mutating the input changed the converted selectors or notes:\n got %#v\nwant %#v", got, want)
	}
}

func TestNilAndEmptyKept(t *testing.T) {
	j := Job{ID: "j", ChannelID: "c", QueueID: "q", Priority: 1, MatchingMode: QueueAndMatchMode{}}
	ej, err := jobToEngine("test", j)
	if err != nil {
		t.Fatal(err)
	}
	if ej.Labels != nil || ej.Tags != nil || ej.Notes != nil || ej.RequestedWorkerSelectors != nil {
		t.Fatalf("nil became non-nil: %#v", ej)
	}
	if got := jobFromEngine(ej); !reflect.DeepEqual(got, j) {
		t.Fatalf("\n got %#v\nwant %#v", got, j)
	}
	j.Labels = Labels{}
	j.RequestedWorkerSelectors = []WorkerSelector{}
	ej, _ = jobToEngine("test", j)
	if ej.Labels == nil || ej.RequestedWorkerSelectors == nil {
		t.Fatalf("empty became nil: %#v", ej)
	}
	if got := jobFromEngine(ej); !reflect.DeepEqual(got, j) {
		t.Fatalf("\n got %#v\nwant %#v", got, j)
	}
}

func TestSelectorOperators(t *testing.T) {
	pairs := map[LabelOperator]labels.Operator{
		LabelOperatorEqual:              labels.Equal,
		LabelOperatorNotEqual:           labels.NotEqual,
		LabelOperatorLessThan:           labels.LessThan,
		LabelOperatorLessThanOrEqual:    labels.LessThanOrEqual,
		LabelOperatorGreaterThan:        labels.GreaterThan,
		LabelOperatorGreaterThanOrEqual: labels.GreaterThanOrEqual,
	}
	for pub, eng := range pairs {
		s := WorkerSelector{Key: "k", LabelOperator: pub, Value: 1, Status: SelectorStatusActive}
		es := selectorToEngine(s)
		if es.Op != eng {
			t.Errorf("%s became %s", pub, es.Op)
		}
		if got := selectorFromEngine(es); !reflect.DeepEqual(got, s) {
			t.Errorf("round trip %#v -> %#v", s, got)
		}
	}
	// Status and ExpiresAt are read-only: dropped on input, reported on output.
	es := selectorToEngine(WorkerSelector{Key: "k", LabelOperator: LabelOperatorEqual, Status: SelectorStatusExpired, ExpiresAt: t0})
	if es.Expired || !es.ExpiresAt.IsZero() {
		t.Errorf("read-only selector fields taken on input: %#v", es)
	}
	s := selectorFromEngine(engine.Selector{Key: "k", Op: labels.Equal, Expired: true, ExpiresAt: t0})
	if s.Status != SelectorStatusExpired || !s.ExpiresAt.Equal(t0) {
		t.Errorf("expired selector reported as %#v", s)
	}
}

func sampleWorker() Worker {
	return Worker{
		ID:       "w1",
		Queues:   []string{"q1", "q2"},
		Capacity: 10,
		Channels: []ChannelConfig{
			{ChannelID: "voice", CapacityCostPerJob: 10, MaxNumberOfJobs: 1},
			{ChannelID: "chat", CapacityCostPerJob: 2},
		},
		Labels:              Labels{"Id": "w1", "lang": "en", "skill": 7},
		Tags:                Labels{"team": "a"},
		AvailableForOffers:  true,
		MaxConcurrentOffers: 3,
	}
}

func TestWorkerRoundTrip(t *testing.T) {
	in := sampleWorker()
	ew := workerToEngine(in)
	if got := workerFromView(ew); !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, in)
	}

	// Read-only fields are dropped on input.
	ro := sampleWorker()
	ro.State = WorkerStateDraining
	ro.Offers = []Offer{{ID: "o"}}
	ro.AssignedJobs = []AssignedJob{{AssignmentID: "a"}}
	ro.LoadRatio = 0.5
	if got := workerFromView(workerToEngine(ro)); !reflect.DeepEqual(got, in) {
		t.Fatalf("read-only fields were not dropped:\n got %#v\nwant %#v", got, in)
	}

	// Mutating the input after conversion does not change the converted channels;
	// Queues, Labels and Tags pass through for the engine to copy or intern
	// (TestInputsAreNotAliased).
	in.Channels[0].CapacityCostPerJob = 99
	if got, want := workerFromView(ew), sampleWorker(); !reflect.DeepEqual(got.Channels, want.Channels) {
		t.Fatalf("input aliased:\n got %#v\nwant %#v", got, want)
	}
}

func TestWorkerFromEngine(t *testing.T) {
	ew := engine.Worker{
		ID:                  "w",
		Queues:              []string{"q"},
		Capacity:            4,
		Channels:            []engine.ChannelConfig{{ChannelID: "c", CapacityCostPerJob: 1, MaxNumberOfJobs: 2}},
		Labels:              engine.Labels{"Id": "w"},
		Tags:                engine.Labels{"t": 1.5},
		AvailableForOffers:  true,
		MaxConcurrentOffers: 2,
		State:               engine.WorkerActive,
		Offers:              []engine.Offer{{ID: "o", JobID: "j", WorkerID: "w", CapacityCost: 1, OfferedAt: t0, ExpiresAt: t0.Add(time.Minute)}},
		AssignedJobs:        []engine.AssignedJob{{AssignmentID: "a", JobID: "j2", CapacityCost: 1, AssignedAt: t0}},
		LoadRatio:           0.5,
	}
	want := Worker{
		ID:                  "w",
		Queues:              []string{"q"},
		Capacity:            4,
		Channels:            []ChannelConfig{{ChannelID: "c", CapacityCostPerJob: 1, MaxNumberOfJobs: 2}},
		Labels:              Labels{"Id": "w"},
		Tags:                Labels{"t": 1.5},
		AvailableForOffers:  true,
		MaxConcurrentOffers: 2,
		State:               WorkerStateActive,
		Offers:              []Offer{{ID: "o", JobID: "j", WorkerID: "w", CapacityCost: 1, OfferedAt: t0, ExpiresAt: t0.Add(time.Minute)}},
		AssignedJobs:        []AssignedJob{{AssignmentID: "a", JobID: "j2", CapacityCost: 1, AssignedAt: t0}},
		LoadRatio:           0.5,
	}
	got := workerFromView(ew)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %#v\nwant %#v", got, want)
	}
	// A view's Queues and Labels are fresh and adopted; everything else is copied,
	// the Tags above all, which are the engine's own map.
	got.Channels[0].ChannelID = "x"
	got.Tags["t"] = 0
	got.Offers[0].ID = "x"
	got.AssignedJobs[0].JobID = "x"
	if ew.Channels[0].ChannelID != "c" || ew.Tags["t"] != 1.5 || ew.Offers[0].ID != "o" || ew.AssignedJobs[0].JobID != "j2" {
		t.Fatalf("writing to the output changed the engine value: %#v", ew)
	}
}

func TestQueueRoundTrip(t *testing.T) {
	in := Queue{ID: "q", Name: "Sales", DistributionPolicyID: "dp", ExceptionPolicyID: "ep", Labels: Labels{"Id": "q", "region": "eu"}}
	eq := queueToEngine(in)
	if got := queueFromEngine(eq); !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, in)
	}
	in.Labels["region"] = "us"
	if eq.Labels["region"] != "eu" {
		t.Fatal("input aliased")
	}
	out := queueFromEngine(eq)
	out.Labels["region"] = "asia"
	if eq.Labels["region"] != "eu" {
		t.Fatal("output aliased")
	}
}

func TestDistributionPolicyRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   DistributionMode
		want DistributionMode // nil: same as in
		kind engine.ModeKind
	}{
		{"longest idle", LongestIdleMode{MinConcurrentOffers: 1, MaxConcurrentOffers: 3, BypassSelectors: true}, nil, engine.LongestIdle},
		{"longest idle defaults", LongestIdleMode{}, LongestIdleMode{MinConcurrentOffers: 1, MaxConcurrentOffers: 1}, engine.LongestIdle},
		{"round robin", RoundRobinMode{MinConcurrentOffers: 2, MaxConcurrentOffers: 2}, nil, engine.RoundRobin},
		{"round robin max only", RoundRobinMode{MaxConcurrentOffers: 4}, RoundRobinMode{MinConcurrentOffers: 1, MaxConcurrentOffers: 4}, engine.RoundRobin},
		{
			"best worker default options", BestWorkerMode{MaxConcurrentOffers: 2},
			BestWorkerMode{MinConcurrentOffers: 1, MaxConcurrentOffers: 2, ScoringRuleOptions: &ScoringRuleOptions{BatchSize: 20, DescendingOrder: true}},
			engine.BestWorker,
		},
		{
			"best worker zero options", BestWorkerMode{ScoringRuleOptions: &ScoringRuleOptions{}},
			BestWorkerMode{MinConcurrentOffers: 1, MaxConcurrentOffers: 1, ScoringRuleOptions: &ScoringRuleOptions{BatchSize: 20}},
			engine.BestWorker,
		},
		{
			"best worker options", BestWorkerMode{MinConcurrentOffers: 1, MaxConcurrentOffers: 5, BypassSelectors: true,
				ScoringRuleOptions: &ScoringRuleOptions{BatchSize: 7, IsBatchScoringEnabled: true, DescendingOrder: true}},
			nil, engine.BestWorker,
		},
	}
	for _, c := range cases {
		in := DistributionPolicy{ID: "dp", Name: c.name, OfferExpiresAfter: 30 * time.Second, Mode: c.in}
		ep, err := distributionPolicyToEngine("test", in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ep.Mode.Kind != c.kind {
			t.Errorf("%s: kind %d, want %d", c.name, ep.Mode.Kind, c.kind)
		}
		want := in
		if c.want != nil {
			want.Mode = c.want
		}
		if got := distributionPolicyFromEngine(ep); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.name, got, want)
		}
	}
}

func TestBestWorkerEngineFields(t *testing.T) {
	ep, err := distributionPolicyToEngine("test", DistributionPolicy{ID: "dp", OfferExpiresAfter: time.Second, Mode: BestWorkerMode{}})
	if err != nil {
		t.Fatal(err)
	}
	m := ep.Mode
	if m.Kind != engine.BestWorker || m.MinConcurrentOffers != 1 || m.MaxConcurrentOffers != 1 ||
		m.BatchSize != 20 || m.Batching || !m.Descending || m.Score != nil {
		t.Fatalf("defaults: %#v", m)
	}
	opts := &ScoringRuleOptions{BatchSize: 3, IsBatchScoringEnabled: true, DescendingOrder: false}
	ep, _ = distributionPolicyToEngine("test", DistributionPolicy{ID: "dp", OfferExpiresAfter: time.Second, Mode: BestWorkerMode{ScoringRuleOptions: opts}})
	if m := ep.Mode; m.BatchSize != 3 || !m.Batching || m.Descending {
		t.Fatalf("options: %#v", m)
	}
	opts.BatchSize = 50
	if ep.Mode.BatchSize != 3 {
		t.Fatal("options aliased")
	}
	out := distributionPolicyFromEngine(ep)
	out.Mode.(BestWorkerMode).ScoringRuleOptions.BatchSize = 1
	if ep.Mode.BatchSize != 3 {
		t.Fatal("output options aliased")
	}
}

func TestScoringFunc(t *testing.T) {
	var seen ScoringInput
	var hadDeadline bool
	f := func(ctx context.Context, in ScoringInput) (float64, error) {
		_, hadDeadline = ctx.Deadline()
		seen = in
		// A scorer may scribble on its input: the engine's state must not change.
		in.JobLabels["x"] = "scribble"
		in.WorkerLabels["y"] = "scribble"
		in.Selectors[0].Key = "scribble"
		return float64(len(in.WorkerID)), nil
	}
	p := DistributionPolicy{ID: "dp", OfferExpiresAfter: time.Minute, Mode: BestWorkerMode{ScoringFunc: f}}
	ep, err := distributionPolicyToEngine("test", p)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Mode.Score == nil {
		t.Fatal("ScoringFunc not converted")
	}
	jl := engine.Labels{"x": 1}
	wl := engine.Labels{"y": 2}
	sel := []engine.Selector{{Key: "k", Op: labels.GreaterThan, Value: 1, Expired: true, ExpiresAt: t0}}
	score, err := ep.Mode.Score(engine.ScoringInput{JobLabels: jl, WorkerLabels: wl, WorkerID: "abc", Selectors: sel})
	if err != nil || score != 3 {
		t.Fatalf("score %v, %v", score, err)
	}
	if hadDeadline {
		t.Error("scoring context has a deadline")
	}
	if jl["x"] != 1 || sel[0].Key != "k" {
		t.Fatalf("scorer changed engine values: %v %v", jl, sel)
	}
	// The worker's labels are a new map the engine makes for each call, handed over
	// without another copy.
	if wl["y"] != "scribble" {
		t.Fatalf("the worker labels were copied again: %v", wl)
	}
	wantSeen := ScoringInput{
		JobLabels: Labels{"x": "scribble"}, WorkerLabels: Labels{"y": "scribble"}, WorkerID: "abc",
		Selectors: []WorkerSelector{{Key: "scribble", LabelOperator: LabelOperatorGreaterThan, Value: 1, Status: SelectorStatusExpired, ExpiresAt: t0}},
	}
	if !reflect.DeepEqual(seen, wantSeen) {
		t.Fatalf("scorer saw %#v", seen)
	}

	// Back out: the returned ScoringFunc calls the original.
	out := distributionPolicyFromEngine(ep)
	bw := out.Mode.(BestWorkerMode)
	if bw.ScoringFunc == nil {
		t.Fatal("ScoringFunc lost on output")
	}
	in := ScoringInput{JobLabels: Labels{"x": 1}, WorkerLabels: Labels{}, WorkerID: "abcd", Selectors: []WorkerSelector{{Key: "k", LabelOperator: LabelOperatorEqual, Value: 1, Status: SelectorStatusExpired}}}
	score, err = bw.ScoringFunc(context.Background(), in)
	if err != nil || score != 4 {
		t.Fatalf("returned ScoringFunc gave %v, %v", score, err)
	}
	// It is the caller's own function, not an adapter around it.
	if reflect.ValueOf(bw.ScoringFunc).Pointer() != reflect.ValueOf(f).Pointer() {
		t.Fatal("returned ScoringFunc is not the caller's function")
	}
	// And it converts again (the round trip keeps a working scorer).
	ep2, err := distributionPolicyToEngine("test", out)
	if err != nil {
		t.Fatal(err)
	}
	if score, err = ep2.Mode.Score(engine.ScoringInput{WorkerID: "ab", Selectors: []engine.Selector{{Key: "k"}}, JobLabels: engine.Labels{}, WorkerLabels: engine.Labels{}}); err != nil || score != 2 {
		t.Fatalf("twice-converted score %v, %v", score, err)
	}
}

func TestDistributionPolicyInvalid(t *testing.T) {
	ok := LongestIdleMode{}
	cases := map[string]DistributionPolicy{
		"nil mode":          {ID: "dp", OfferExpiresAfter: time.Second},
		"pointer mode":      {ID: "dp", OfferExpiresAfter: time.Second, Mode: &LongestIdleMode{}},
		"pointer best":      {ID: "dp", OfferExpiresAfter: time.Second, Mode: &BestWorkerMode{}},
		"zero expiry":       {ID: "dp", Mode: ok},
		"negative expiry":   {ID: "dp", OfferExpiresAfter: -time.Second, Mode: ok},
		"negative min":      {ID: "dp", OfferExpiresAfter: time.Second, Mode: RoundRobinMode{MinConcurrentOffers: -1}},
		"negative max":      {ID: "dp", OfferExpiresAfter: time.Second, Mode: LongestIdleMode{MaxConcurrentOffers: -1}},
		"min > max":         {ID: "dp", OfferExpiresAfter: time.Second, Mode: LongestIdleMode{MinConcurrentOffers: 3, MaxConcurrentOffers: 2}},
		"min > default max": {ID: "dp", OfferExpiresAfter: time.Second, Mode: BestWorkerMode{MinConcurrentOffers: 2}},
		"webhook scoring":   {ID: "dp", OfferExpiresAfter: time.Second, Mode: BestWorkerMode{ScoringRule: WebhookRule{URL: "https://example.com"}}},
		"negative batch":    {ID: "dp", OfferExpiresAfter: time.Second, Mode: BestWorkerMode{ScoringRuleOptions: &ScoringRuleOptions{BatchSize: -1}}},
	}
	for name, p := range cases {
		_, err := distributionPolicyToEngine("upsert distribution policy", p)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err %v, want ErrInvalidArgument", name, err)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Op != "upsert distribution policy" || e.ID != "dp" || e.Entity != "distribution policy" {
			t.Errorf("%s: error %#v", name, err)
		}
	}
}

func TestFilters(t *testing.T) {
	p := pageRequest{entity: "job", after: "j5", size: 10}
	jf := jobFilterToEngine(ListJobsOptions{
		Status: JobStatusQueued, Active: true, QueueID: "q", ChannelID: "c", ClassificationPolicyID: "cp",
		ScheduledBefore: t0.Add(time.Hour), ScheduledAfter: t0, PageSize: 99, ContinuationToken: "ignored",
	}, p)
	// The engine is asked for one more than the page: that one says whether a next
	// page exists.
	wantJ := engine.JobFilter{
		Status: engine.JobQueued, Active: true, QueueID: "q", ChannelID: "c", ClassificationPolicyID: "cp",
		ScheduledBefore: t0.Add(time.Hour), ScheduledAfter: t0, After: "j5", Limit: 11,
	}
	if jf != wantJ {
		t.Errorf("job filter %#v", jf)
	}
	wf := workerFilterToEngine(ListWorkersOptions{State: WorkerStateDraining, ChannelID: "c", QueueID: "q", HasCapacity: true},
		pageRequest{entity: "worker", after: "w", size: 3})
	wantW := engine.WorkerFilter{State: engine.WorkerDraining, ChannelID: "c", QueueID: "q", HasCapacity: true, After: "w", Limit: 4}
	if wf != wantW {
		t.Errorf("worker filter %#v", wf)
	}
	if p := pageToEngine(pageRequest{entity: "queue", after: "a", size: 2}); p != (engine.Page{After: "a", Limit: 3}) {
		t.Errorf("page %#v", p)
	}
	var nilOpts *ListOptions
	if p, err := nilOpts.page("list queues", "queue"); err != nil || p != (pageRequest{entity: "queue", size: DefaultPageSize}) {
		t.Errorf("nil options: %#v, %v", p, err)
	}
	if _, err := (&ListOptions{PageSize: -1}).page("list queues", "queue"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative page size: %v", err)
	}
}

// TestEnumValues pins the public enum values to the engine's.
func TestEnumValues(t *testing.T) {
	statuses := map[JobStatus]engine.JobStatus{
		JobStatusCreated:               engine.JobCreated,
		JobStatusPendingClassification: engine.JobPendingClassification,
		JobStatusQueued:                engine.JobQueued,
		JobStatusAssigned:              engine.JobAssigned,
		JobStatusCompleted:             engine.JobCompleted,
		JobStatusClosed:                engine.JobClosed,
		JobStatusCancelled:             engine.JobCancelled,
		JobStatusClassificationFailed:  engine.JobClassificationFailed,
		JobStatusPendingSchedule:       engine.JobPendingSchedule,
		JobStatusScheduled:             engine.JobScheduled,
		JobStatusScheduleFailed:        engine.JobScheduleFailed,
		JobStatusWaitingForActivation:  engine.JobWaitingForActivation,
	}
	for p, e := range statuses {
		if string(p) != string(e) || !p.valid() {
			t.Errorf("job status %q vs engine %q", p, e)
		}
	}
	if JobStatus("active").valid() {
		t.Error(`"active" is a filter, not a status`)
	}
	states := map[WorkerState]engine.WorkerState{
		WorkerStateActive:   engine.WorkerActive,
		WorkerStateDraining: engine.WorkerDraining,
		WorkerStateInactive: engine.WorkerInactive,
	}
	for p, e := range states {
		if string(p) != string(e) || !p.valid() {
			t.Errorf("worker state %q vs engine %q", p, e)
		}
	}
}
