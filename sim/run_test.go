package sim

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter"
)

// oneAgent is a scenario with one agent (capacity 1, voice) on queue q and the
// arrivals of a trace at the given offsets, every job handled in handle.
func oneAgent(handle time.Duration, at ...time.Duration) *Scenario {
	var tr Trace
	for _, a := range at {
		tr.Arrivals = append(tr.Arrivals, TracedArrival{At: a})
	}
	return &Scenario{
		Name: "one", Duration: time.Hour, Interval: time.Minute,
		DistributionPolicies: []jobrouter.DistributionPolicy{{ID: "li", OfferExpiresAfter: time.Minute, Mode: jobrouter.LongestIdleMode{}}},
		Queues:               []jobrouter.Queue{{ID: "q", DistributionPolicyID: "li"}},
		WorkerGroups: []WorkerGroup{{Name: "a", Count: 1, Queues: []string{"q"},
			Channels: []jobrouter.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}}},
		Arrivals: []ArrivalStream{{Name: "calls", QueueID: "q", ChannelID: "voice", Process: tr,
			HandleTime: Fixed{Value: handle}}},
	}
}

func run(t *testing.T, sc *Scenario) *Report {
	t.Helper()
	rep, err := Run(context.Background(), sc, nil)
	require.NoError(t, err)
	return rep
}

// TestExactKPIs checks every figure of a run small enough to work out by hand:
// one agent, calls at 0, 10 and 20 s, one minute each. They wait 0, 50 and 100 s.
func TestExactKPIs(t *testing.T) {
	rep := run(t, oneAgent(time.Minute, 0, 10*time.Second, 20*time.Second))
	k := rep.Overall
	require.Equal(t, 3, k.Arrived)
	require.Equal(t, 3, k.Answered)
	require.Equal(t, 1, k.AnsweredInThreshold)
	require.InDelta(t, 1.0/3, k.ServiceLevel, 1e-12)
	require.InDelta(t, 2.0/3, k.WaitProbability, 1e-12)
	require.InDelta(t, 50, k.ASASeconds, 1e-9)
	require.InDelta(t, 50, k.WaitP50Seconds, 1e-9)
	require.InDelta(t, 100, k.WaitMaxSeconds, 1e-9)
	require.InDelta(t, 150.0/3600, k.QueueLengthAvg, 1e-12)
	require.Equal(t, 2.0, k.QueueLengthMax)
	require.Equal(t, OfferStats{Issued: 3, Accepted: 3}, k.Offers)
	require.Equal(t, rep.Overall.Arrived, rep.Queues[0].Arrived)
	require.Equal(t, "calls", rep.Streams[0].Name)

	g := rep.WorkerGroups[0]
	require.InDelta(t, 1, g.StaffedAvg, 1e-12)
	require.InDelta(t, 180.0/3600, g.Occupancy, 1e-12)
	require.Equal(t, 3, g.Handled)
	require.InDelta(t, 60, g.AvgHandleSeconds, 1e-9)

	// Everything was done at 3 minutes; the window ends at 1 hour.
	require.Equal(t, DefaultStart.Add(time.Hour), rep.StoppedAt)
	require.Len(t, rep.Intervals, 60)
	iv := rep.Intervals
	require.InDelta(t, 90.0/60, iv[0].Queues[0].QueueLengthAvg, 1e-12) // 10→60 s and 20→60 s
	require.Equal(t, 2.0, iv[0].Queues[0].QueueLengthMax)
	require.InDelta(t, 1, iv[1].Queues[0].QueueLengthAvg, 1e-12)
	require.Equal(t, 1.0, iv[1].Queues[0].QueueLengthMax)
	require.Equal(t, 0.0, iv[2].Queues[0].QueueLengthMax)
	require.Equal(t, 3, iv[0].Overall.Arrived)
	require.InDelta(t, 1, iv[0].WorkerGroups[0].Occupancy, 1e-12)
	require.InDelta(t, 1, iv[2].WorkerGroups[0].Occupancy, 1e-12)
	require.InDelta(t, 0, iv[3].WorkerGroups[0].Occupancy, 1e-12)
}

func TestWarmUpExcludesEarlyJobs(t *testing.T) {
	sc := oneAgent(time.Minute, 0, 10*time.Minute, 20*time.Minute)
	sc.WarmUp = 5 * time.Minute
	rep := run(t, sc)
	require.Equal(t, 2, rep.Overall.Arrived)
	require.InDelta(t, 2, rep.WorkerGroups[0].Handled, 0)
	require.InDelta(t, 120.0/(55*60), rep.WorkerGroups[0].Occupancy, 1e-12)
	require.False(t, rep.Intervals[0].InWindow)
	require.True(t, rep.Intervals[5].InWindow)
}

func TestWrapUpHoldsTheWorker(t *testing.T) {
	sc := oneAgent(time.Minute, 0, 10*time.Second)
	sc.Duration = 10 * time.Minute
	sc.Arrivals[0].WrapUp = Fixed{Value: 30 * time.Second}
	rep := run(t, sc)
	// The second call waits for the first one's handle time and wrap-up.
	require.InDelta(t, 80, rep.Overall.WaitMaxSeconds, 1e-9)
	require.InDelta(t, 180.0/600, rep.WorkerGroups[0].Occupancy, 1e-12)
	require.InDelta(t, 60, rep.WorkerGroups[0].AvgHandleSeconds, 1e-9)
}

func TestHandleTimeFactor(t *testing.T) {
	sc := oneAgent(time.Minute, 0)
	sc.WorkerGroups[0].HandleTimeFactor = 1.5
	require.InDelta(t, 90, run(t, sc).WorkerGroups[0].AvgHandleSeconds, 1e-9)
}

func TestAbandonment(t *testing.T) {
	// The agent logs in at 01:00; the customers hang up after 30 s.
	sc := oneAgent(time.Minute, 0, 5*time.Second)
	sc.WorkerGroups[0].Shift = Shift{Start: time.Hour, End: 2 * time.Hour}
	sc.Arrivals[0].Patience = Fixed{Value: 30 * time.Second}
	rep := run(t, sc)
	k := rep.Overall
	require.Equal(t, 2, k.Abandoned)
	require.Equal(t, 0, k.Answered)
	require.InDelta(t, 1, k.AbandonRate, 0)
	require.InDelta(t, 30, k.AbandonWaitSeconds, 1e-9)
	require.InDelta(t, 60.0/3600, k.QueueLengthAvg, 1e-12)
	require.InDelta(t, 0, rep.WorkerGroups[0].StaffedAvg, 0, "the shift is outside the window")
}

func TestDeclineWithRetry(t *testing.T) {
	// The agent declines everything, to be offered the job again 10 s later; the
	// customer hangs up at 65 s: offers at 0, 10, ..., 60.
	sc := oneAgent(time.Minute, 0)
	sc.WorkerGroups[0].Behaviour = Behaviour{DeclineProbability: 1, RetryDelay: 10 * time.Second}
	sc.Arrivals[0].Patience = Fixed{Value: 65 * time.Second}
	k := run(t, sc).Overall
	require.Equal(t, OfferStats{Issued: 7, Declined: 7}, k.Offers)
	require.Equal(t, 1, k.Abandoned)
}

func TestExpiredOffers(t *testing.T) {
	// The agent lets every offer expire (after 20 s). The Router deregisters it, and
	// it comes back 5 s later: offers at 0, 25, 50 and 75 s; the customer hangs up
	// at 100 s, just before the agent's return.
	sc := oneAgent(time.Minute, 0)
	sc.DistributionPolicies[0].OfferExpiresAfter = 20 * time.Second
	sc.WorkerGroups[0].Behaviour = Behaviour{ExpireProbability: 1, ReregisterAfter: 5 * time.Second}
	sc.Arrivals[0].Patience = Fixed{Value: 100 * time.Second}
	rep := run(t, sc)
	require.Equal(t, OfferStats{Issued: 4, Expired: 4}, rep.Overall.Offers)
	require.Equal(t, 1, rep.Overall.Abandoned)
	require.Equal(t, rep.Overall.Offers, rep.WorkerGroups[0].Offers)

	// Kept registered, it is offered the job again at once: 0, 20, ..., 100 s, the
	// last one revoked when the customer hangs up.
	sc.Router.KeepWorkersOnOfferExpiry = true
	require.Equal(t, OfferStats{Issued: 6, Expired: 5, Revoked: 1}, run(t, sc).Overall.Offers)
}

func TestLateAnswer(t *testing.T) {
	// The agent takes 30 s to answer; the offer expires after 20 s.
	sc := oneAgent(time.Minute, 0)
	sc.Duration = 2 * time.Minute
	sc.Drain = -1
	sc.DistributionPolicies[0].OfferExpiresAfter = 20 * time.Second
	sc.Router.KeepWorkersOnOfferExpiry = true
	sc.WorkerGroups[0].Behaviour.AcceptTime = Fixed{Value: 30 * time.Second}
	k := run(t, sc).Overall
	require.Equal(t, 0, k.Answered)
	require.Equal(t, 1, k.Unanswered)
	// Offers at 0, 20, ..., 120 s (the run stops then), answers 30 s after each.
	require.Equal(t, OfferStats{Issued: 7, Expired: 6, Late: 5}, k.Offers)
}

func TestShifts(t *testing.T) {
	sc := oneAgent(time.Minute)
	sc.Start = DefaultStart.Add(8 * time.Hour)
	sc.Duration = 3 * time.Hour
	sc.Interval = time.Hour
	sc.WorkerGroups[0].Count = 4
	sc.WorkerGroups[0].Shift = Shift{Start: 9 * time.Hour, End: 10 * time.Hour}
	rep := run(t, sc)
	require.InDelta(t, 4.0/3, rep.WorkerGroups[0].StaffedAvg, 1e-12)
	require.Len(t, rep.Intervals, 3)
	require.InDelta(t, 0, rep.Intervals[0].WorkerGroups[0].StaffedAvg, 1e-12)
	require.InDelta(t, 4, rep.Intervals[1].WorkerGroups[0].StaffedAvg, 1e-12)
	require.InDelta(t, 0, rep.Intervals[2].WorkerGroups[0].StaffedAvg, 1e-12)

	// A night shift, 22:00 to 06:00, over two days starting at 08:00: logged in
	// 22:00–06:00 (8 h of the 48).
	sc.Duration = 48 * time.Hour
	sc.WorkerGroups[0].Shift = Shift{Start: 22 * time.Hour, End: 6 * time.Hour}
	require.InDelta(t, 4*16.0/48, run(t, sc).WorkerGroups[0].StaffedAvg, 1e-12)
}

func TestExceptionCancel(t *testing.T) {
	sc := oneAgent(time.Minute, 0, 5*time.Second)
	sc.WorkerGroups[0].Shift = Shift{Start: time.Hour, End: 2 * time.Hour}
	sc.ExceptionPolicies = []jobrouter.ExceptionPolicy{{ID: "give-up", ExceptionRules: []jobrouter.ExceptionRule{{
		ID: "waited-30s", Trigger: jobrouter.WaitTimeTrigger{Threshold: 30 * time.Second},
		Actions: []jobrouter.ExceptionAction{jobrouter.CancelAction{DispositionCode: "TooLong"}}}}}}
	sc.Queues[0].ExceptionPolicyID = "give-up"
	rep := run(t, sc)
	require.Equal(t, 2, rep.Overall.Cancelled)
	require.Equal(t, []ExceptionCount{{Queue: "q", Rule: "waited-30s", Count: 2}}, rep.Exceptions)
	require.InDelta(t, 60.0/3600, rep.Overall.QueueLengthAvg, 1e-12)
}

func TestEscalationMovesQueues(t *testing.T) {
	// Jobs wait in "first", served by nobody, and move to "second" after a minute;
	// they count where they arrived, and the queue lengths follow them.
	sc := oneAgent(time.Minute, 0)
	sc.Queues = append(sc.Queues, jobrouter.Queue{ID: "second", DistributionPolicyID: "li"})
	sc.Queues[0].ID = "first"
	sc.Arrivals[0].QueueID = "first"
	sc.WorkerGroups[0].Queues = []string{"second"}
	sc.ExceptionPolicies = []jobrouter.ExceptionPolicy{{ID: "move", ExceptionRules: []jobrouter.ExceptionRule{{
		ID: "1m", Trigger: jobrouter.WaitTimeTrigger{Threshold: time.Minute},
		Actions: []jobrouter.ExceptionAction{jobrouter.ManualReclassifyAction{QueueID: "second"}}}}}}
	sc.Queues[0].ExceptionPolicyID = "move"
	rep := run(t, sc)
	require.Equal(t, "first", rep.Queues[0].Name)
	require.Equal(t, 1, rep.Queues[0].Answered)
	require.InDelta(t, 60, rep.Queues[0].ASASeconds, 1e-9)
	require.Equal(t, 0, rep.Queues[1].Arrived)
	require.InDelta(t, 1, rep.Intervals[0].Queues[0].QueueLengthAvg, 1e-12)
	require.InDelta(t, 0, rep.Intervals[0].Queues[1].QueueLengthAvg, 1e-12)
}

func TestClassificationAndTrace(t *testing.T) {
	sc, err := Load("testdata/trace.yaml")
	require.NoError(t, err)
	// Route by the trace's Lang label, Spanish first.
	sc.Queues = []jobrouter.Queue{
		{ID: "en", DistributionPolicyID: "li", Labels: jobrouter.Labels{"Lang": "en"}},
		{ID: "es", DistributionPolicyID: "li", Labels: jobrouter.Labels{"Lang": "es"}},
	}
	sc.ClassificationPolicies = []jobrouter.ClassificationPolicy{{ID: "by-lang",
		QueueSelectorAttachments: []jobrouter.QueueSelectorAttachment{jobrouter.PassThroughQueueSelectorAttachment{
			Key: "Lang", LabelOperator: jobrouter.LabelOperatorEqual}},
		PrioritizationRule: jobrouter.ExpressionRule{Expression: `job.Lang == "es" ? 10 : 1`}}}
	sc.WorkerGroups[0].Queues = []string{"en", "es"}
	sc.Arrivals[0].QueueID = ""
	sc.Arrivals[0].ClassificationPolicyID = "by-lang"
	rep := run(t, sc)
	require.Equal(t, []string{"en", "es"}, []string{rep.Queues[0].Name, rep.Queues[1].Name})
	require.Equal(t, 2, rep.Queues[0].Arrived)
	require.Equal(t, 1, rep.Queues[1].Arrived)
	// The first call takes 60 s (the trace says so): the Spanish call, at 10 s,
	// waits 50 s; the second English call (90 s, from the trace) starts at 60+h.
	require.InDelta(t, 50, rep.Queues[1].ASASeconds, 1e-9)
	require.Equal(t, 3, rep.Overall.Answered)
}

func TestTraceAndEmpiricalFiles(t *testing.T) {
	sc, err := Load("testdata/trace.yaml")
	require.NoError(t, err)
	tr := sc.Arrivals[0].Process.(Trace)
	require.Equal(t, []TracedArrival{
		{At: 0, Labels: jobrouter.Labels{"Lang": "en", "VIP": false}, HandleTime: time.Minute},
		{At: 10 * time.Second, Labels: jobrouter.Labels{"Lang": "es", "VIP": true}},
		{At: 20 * time.Second, Labels: jobrouter.Labels{"Lang": "en", "VIP": false}, HandleTime: 90 * time.Second},
	}, tr.Arrivals)
	require.Equal(t, Empirical{Values: []time.Duration{30 * time.Second, time.Minute, 90 * time.Second},
		Weights: []float64{1, 2, 1}}, sc.Arrivals[0].HandleTime)
}

// TestDeterministic runs the example scenarios twice: the same bytes out, in every
// format. Another seed changes them.
func TestDeterministic(t *testing.T) {
	for _, name := range []string{"contact-centre", "escalation"} {
		t.Run(name, func(t *testing.T) {
			sc, err := Load(filepath.Join("..", "examples", "sim", name+".yaml"))
			require.NoError(t, err)
			out := func(sc *Scenario) (string, string, map[string]string) {
				rep := run(t, sc)
				var js, tab bytes.Buffer
				require.NoError(t, rep.WriteJSON(&js))
				require.NoError(t, rep.WriteTable(&tab))
				dir := t.TempDir()
				require.NoError(t, rep.WriteCSV(dir))
				files := map[string]string{}
				for _, f := range []string{"intervals.csv", "groups.csv", "kpis.csv"} {
					b, err := os.ReadFile(filepath.Join(dir, f))
					require.NoError(t, err)
					files[f] = string(b)
				}
				return js.String(), tab.String(), files
			}
			js1, tab1, csv1 := out(sc)
			js2, tab2, csv2 := out(sc)
			require.Equal(t, js1, js2)
			require.Equal(t, tab1, tab2)
			require.Equal(t, csv1, csv2)
			sc.Seed++
			js3, _, _ := out(sc)
			require.NotEqual(t, js1, js3)
		})
	}
}

// TestCommonRandomNumbers changes the staffing and the distribution mode of a
// scenario: the arrivals stay the same, job for job.
func TestCommonRandomNumbers(t *testing.T) {
	a := mmcScenario(5, 4, 0.8, time.Minute, 500)
	b := mmcScenario(5, 4, 0.8, time.Minute, 500)
	b.WorkerGroups[0].Count = 6
	b.DistributionPolicies[0].Mode = jobrouter.RoundRobinMode{}
	ra, err := simulate(context.Background(), a, nil)
	require.NoError(t, err)
	rb, err := simulate(context.Background(), b, nil)
	require.NoError(t, err)
	require.Len(t, rb.records, len(ra.records))
	for i := range ra.records {
		require.Equal(t, ra.records[i].arrived, rb.records[i].arrived, "job %d", i)
	}
	require.NotEqual(t, run(t, a).Overall, run(t, b).Overall)
}

func TestRunStopsOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, mmcScenario(1, 2, 0.5, 0, 5000), nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestProgress(t *testing.T) {
	var calls int
	var last, total time.Duration
	sc := mmcScenario(1, 2, 0.5, 0, 500)
	sc.Drain = time.Hour
	_, err := Run(context.Background(), sc, &RunOptions{Progress: func(e, tot time.Duration) {
		require.GreaterOrEqual(t, e, last)
		calls++
		last, total = e, tot
	}})
	require.NoError(t, err)
	require.Greater(t, calls, 10)
	require.Equal(t, total, last, "the last call says done")
	require.Equal(t, sc.Duration+sc.Drain, total)
}

func TestValidateGoScenario(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Scenario)
		path string
	}{
		{"no duration", func(s *Scenario) { s.Duration = 0 }, "duration"},
		{"warm-up too long", func(s *Scenario) { s.WarmUp = 2 * time.Hour }, "warmUp"},
		{"no worker groups", func(s *Scenario) { s.WorkerGroups = nil }, "workerGroups"},
		{"bad group name", func(s *Scenario) { s.WorkerGroups[0].Name = "a b" }, "workerGroups[0].name"},
		{"probabilities", func(s *Scenario) {
			s.WorkerGroups[0].Behaviour = Behaviour{DeclineProbability: 0.6, ExpireProbability: 0.6}
		}, "workerGroups[0].behaviour"},
		{"no process", func(s *Scenario) { s.Arrivals[0].Process = nil }, "arrivals[0].process"},
		{"bad distribution", func(s *Scenario) { s.Arrivals[0].HandleTime = LogNormal{Mean: time.Minute} }, "arrivals[0].handleTime"},
		{"queue missing", func(s *Scenario) { s.Arrivals[0].QueueID = "nope" }, "arrivals[0].queueId"},
		{"router refuses the policy", func(s *Scenario) { s.DistributionPolicies[0].OfferExpiresAfter = 0 }, "distributionPolicies[0]"},
		{"unknown queue of a group", func(s *Scenario) { s.WorkerGroups[0].Queues = []string{"nope"} }, "workerGroups[0]"},
		{"bad label", func(s *Scenario) { s.Arrivals[0].Labels = jobrouter.Labels{"x": []int{1}} }, "arrivals[0]"},
		{"webhook", func(s *Scenario) {
			s.ClassificationPolicies = []jobrouter.ClassificationPolicy{{ID: "c", PrioritizationRule: jobrouter.WebhookRule{URL: "http://x"}}}
		}, "classificationPolicies[0].prioritizationRule"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := oneAgent(time.Minute, 0)
			c.edit(sc)
			err := sc.Validate()
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			require.Equal(t, c.path, fe.Path, "%v", err)
			_, err = Run(context.Background(), sc, nil)
			require.Error(t, err)
		})
	}
	require.NoError(t, oneAgent(time.Minute, 0).Validate())
}
