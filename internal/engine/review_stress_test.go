package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// TestReview_RandomWithExceptions drives the engine with random commands that the
// naive differential test cannot (classification policies, exception policies,
// asynchronous rules, reclassification), with Config.Checks on: every matching pass
// verifies the indexes and brute-force stability. It checks no choice of worker, only
// that the indexes stay exact and no match is missed.
//
//	REVIEW_STRESS_SEEDS=2000 go test ./internal/engine -run TestReview_RandomWithExceptions
//	REVIEW_STRESS_SEED=7 go test ./internal/engine -run TestReview_RandomWithExceptions -v
func TestReview_RandomWithExceptions(t *testing.T) {
	steps := 400
	if s := os.Getenv("REVIEW_STRESS_SEED"); s != "" {
		seed, _ := strconv.ParseUint(s, 10, 64)
		runStress(t, seed, steps)
		return
	}
	seeds := 40
	if s := os.Getenv("REVIEW_STRESS_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			runStress(t, seed, steps)
		})
	}
}

// stressDeferred adds a manual reclassify after an asynchronous reclassify action:
// off until the deferred-action bug is fixed (TestReview_DeferredActionQueuesASuspendedJob).
const stressDeferred = false

type stress struct {
	t   *testing.T
	r   *rand.Rand
	e   *Engine
	now time.Time
	log []string
	n   int
}

func (s *stress) pick(xs []string) string { return xs[s.r.IntN(len(xs))] }
func (s *stress) chance(n int) bool       { return s.r.IntN(n) == 0 }

func (s *stress) do(what string, f func() error) {
	s.log = append(s.log, fmt.Sprintf("+%v %s", s.now.Sub(t0), what))
	if err := f(); err != nil {
		s.log[len(s.log)-1] += " -> " + err.Error()
	}
}

var (
	stressQueues  = []string{"q1", "q2", "q3"}
	stressWorkers = []string{"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"}
)

func runStress(t *testing.T, seed uint64, steps int) {
	s := &stress{t: t, r: rand.New(rand.NewPCG(seed, 77)), now: t0}
	s.e = New(Config{Checks: true, NewID: counterIDs("n"), KeepWorkersOnOfferExpiry: s.chance(2)})
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("seed %d: panic: %v\n%s", seed, p, strings.Join(s.log[max(0, len(s.log)-80):], "\n"))
		}
	}()
	s.setup()
	for range steps {
		s.step()
		if err := s.invariants(); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, strings.Join(s.log[max(0, len(s.log)-80):], "\n"))
		}
	}
}

// invariants checks what CheckIndexes does not: a queued job is queued where its
// QueueID says, by QueueAndMatch, at the key its fields give.
func (s *stress) invariants() error {
	for _, j := range s.e.jobs.sorted() {
		if j.st != stQueued {
			continue
		}
		if j.queuedIn() != j.QueueID() {
			return fmt.Errorf("job %s: queued in %q but QueueID %q", j.ID, j.queuedIn(), j.QueueID())
		}
		if j.cold().MatchingMode.Kind != QueueAndMatch {
			return fmt.Errorf("job %s: queued with matching mode %v", j.ID, j.cold().MatchingMode.Kind)
		}
		if j.keyPriority != j.Priority || j.keyExpedite != expedite(j) {
			return fmt.Errorf("job %s: stale queue-order key %+v (priority %d, expedite %v)", j.ID, j.orderKey(), j.Priority, expedite(j))
		}
	}
	return nil
}

func (s *stress) mode() Mode {
	m := Mode{Kind: ModeKind(1 + s.r.IntN(3)), BypassSelectors: s.chance(6)}
	m.MinConcurrentOffers = 1 + s.r.IntN(2)
	m.MaxConcurrentOffers = m.MinConcurrentOffers + s.r.IntN(2)
	m.Descending = !s.chance(4)
	return m
}

func (s *stress) setup() {
	e := s.e
	for _, p := range []string{"pa", "pb"} {
		p := p
		s.do("policy "+p, func() error {
			_, err := e.UpsertDistributionPolicy(s.now, DistributionPolicy{ID: p, OfferExpiresAfter: time.Minute, Mode: s.mode()})
			return err
		})
	}
	for _, q := range stressQueues {
		q := q
		s.do("queue "+q, func() error {
			_, err := e.UpsertQueue(s.now, Queue{ID: q, DistributionPolicyID: s.pick([]string{"pa", "pb"})})
			return err
		})
	}
	hook := &Rule{Kind: RuleAsync, Eval: func(Labels) (any, error) { return nil, nil }}
	prio := &Rule{Kind: RuleSync, Eval: func(l Labels) (any, error) {
		v, _ := labels.Number(l["tier"])
		return int(v) * 2, nil
	}}
	toQ2 := &Rule{Kind: RuleSync, Eval: func(l Labels) (any, error) { return l["lang"] == "fr", nil }}
	pols := []ClassificationPolicy{
		{ID: "cp", FallbackQueueID: "q1", PrioritizationRule: prio,
			QueueSelectorAttachments: []Attachment{{Kind: AttachConditional, Condition: toQ2,
				Selectors: []Selector{{Key: "Id", Op: labels.Equal, Value: "q2"}}}},
			WorkerSelectorAttachments: []Attachment{
				{Kind: AttachPassThrough, Key: "lang", Op: labels.Equal, ExpiresAfter: 40 * time.Second},
				{Kind: AttachWeighted, Allocations: []Allocation{
					{Weight: 1, Selectors: []Selector{{Key: "tier", Op: labels.GreaterThanOrEqual, Value: 2, ExpiresAfter: 30 * time.Second}}},
					{Weight: 1, Selectors: nil}}},
			}},
		{ID: "hook", FallbackQueueID: "q3", PrioritizationRule: hook},
	}
	for _, p := range pols {
		p := p
		s.do("classification "+p.ID, func() error { _, err := e.UpsertClassificationPolicy(s.now, p); return err })
	}
	three, minus := 3, -2
	// A manual reclassify deferred behind the webhook reproduces
	// TestReview_DeferredActionQueuesASuspendedJob within a few hundred seeds.
	deferredActions := []Action{{Kind: ActionReclassify, ClassificationPolicyID: "hook"}}
	if stressDeferred {
		deferredActions = append(deferredActions, Action{Kind: ActionManualReclassify, QueueID: "q1", Priority: &minus})
	}
	exs := []ExceptionPolicy{
		{ID: "ex1", Rules: []ExceptionRule{
			{ID: "len", Trigger: Trigger{Kind: TriggerQueueLength, Threshold: 2}, Actions: []Action{{Kind: ActionManualReclassify, QueueID: "q2", Priority: &three,
				WorkerSelectors: []Selector{{Key: "lang", Op: labels.NotEqual, Value: "de", Expedite: true, ExpiresAfter: 20 * time.Second}}}}},
			{ID: "wait", Trigger: Trigger{Kind: TriggerWaitTime, Wait: 30 * time.Second}, Actions: []Action{{Kind: ActionReclassify, ClassificationPolicyID: "cp", LabelsToUpsert: Labels{"tier": 2}}}},
		}},
		{ID: "ex2", Rules: []ExceptionRule{
			{ID: "wait", Trigger: Trigger{Kind: TriggerWaitTime, Wait: 45 * time.Second}, Actions: deferredActions},
			{ID: "wait2", Trigger: Trigger{Kind: TriggerWaitTime, Wait: 50 * time.Second}, Actions: []Action{{Kind: ActionManualReclassify, QueueID: "q1", Priority: &minus}}},
			{ID: "len", Trigger: Trigger{Kind: TriggerQueueLength, Threshold: 3}, Actions: []Action{{Kind: ActionManualReclassify, QueueID: "q1"}}},
			{ID: "late", Trigger: Trigger{Kind: TriggerWaitTime, Wait: 5 * time.Minute}, Actions: []Action{{Kind: ActionCancel}}},
		}},
	}
	for _, x := range exs {
		x := x
		s.do("exception "+x.ID, func() error { _, err := e.UpsertExceptionPolicy(s.now, x); return err })
	}
	for _, q := range stressQueues {
		q := q
		s.do("queue exc "+q, func() error {
			qq, _ := e.GetQueue(q)
			qq.ExceptionPolicyID = s.pick([]string{"", "ex1", "ex2"})
			_, err := e.UpsertQueue(s.now, qq)
			return err
		})
	}
	for _, w := range stressWorkers[:3+s.r.IntN(5)] {
		s.worker(w)
	}
}

func (s *stress) worker(id string) {
	w := Worker{ID: id, Capacity: 1 + s.r.IntN(3), AvailableForOffers: !s.chance(5), MaxConcurrentOffers: s.r.IntN(3),
		Channels: []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: s.r.IntN(2) + boolInt(!s.chance(3)), MaxNumberOfJobs: s.r.IntN(3)}},
		Labels:   Labels{}}
	for _, q := range stressQueues {
		if !s.chance(3) {
			w.Queues = append(w.Queues, q)
		}
	}
	if !s.chance(4) {
		w.Labels["lang"] = s.pick([]string{"en", "fr"})
	}
	if !s.chance(3) {
		w.Labels["tier"] = 1 + s.r.IntN(2)
	}
	s.do(fmt.Sprintf("UpsertWorker %+v", w), func() error { _, err := s.e.UpsertWorker(s.now, w); return err })
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *stress) selectors() []Selector {
	var out []Selector
	for range s.r.IntN(3) {
		sel := Selector{Key: "lang", Op: labels.Equal, Value: s.pick([]string{"en", "fr"})}
		switch s.r.IntN(3) {
		case 1:
			sel = Selector{Key: "tier", Op: labels.GreaterThanOrEqual, Value: 1 + s.r.IntN(2)}
		case 2:
			sel = Selector{Key: "Id", Op: labels.NotEqual, Value: s.pick(stressWorkers)}
		}
		if s.chance(3) {
			sel.ExpiresAfter = time.Duration(10+s.r.IntN(60)) * time.Second
		}
		sel.Expedite = s.chance(8)
		out = append(out, sel)
	}
	return out
}

func (s *stress) jobLabels() Labels {
	l := Labels{}
	if !s.chance(3) {
		l["lang"] = s.pick([]string{"en", "fr"})
	}
	if s.chance(2) {
		l["tier"] = 1 + s.r.IntN(2)
	}
	return l
}

func (s *stress) mm() MatchingMode {
	switch s.r.IntN(10) {
	case 0:
		return MatchingMode{Kind: Suspend}
	case 1:
		return MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: s.now.Add(time.Duration(s.r.IntN(90)) * time.Second)}
	}
	return MatchingMode{}
}

func (s *stress) someJob() (*jobState, bool) {
	js := s.e.jobs.sorted()
	if len(js) == 0 {
		return nil, false
	}
	return js[s.r.IntN(len(js))], true
}

func (s *stress) someOffer() (Offer, bool) {
	var open []Offer
	for _, id := range sortedKeys(s.e.workers) {
		for o := s.e.workers[id].offers.first; o != nil; o = o.next {
			open = append(open, o.offer())
		}
	}
	if len(open) == 0 {
		return Offer{}, false
	}
	return open[s.r.IntN(len(open))], true
}

func (s *stress) step() {
	e := s.e
	switch n := s.r.IntN(100); {
	case n < 14:
		d := time.Duration(s.r.IntN(40)) * time.Second
		if next, ok := e.NextDeadline(); ok && s.chance(2) {
			d = next.Sub(s.now)
		}
		s.now = s.now.Add(max(0, d))
		s.do("Advance", func() error { e.Advance(s.now); return nil })
	case n < 30:
		s.n++
		j := Job{ID: "j" + strconv.Itoa(s.n), ChannelID: voice, Priority: s.r.IntN(3), Labels: s.jobLabels(),
			RequestedWorkerSelectors: s.selectors(), MatchingMode: s.mm()}
		switch s.r.IntN(3) {
		case 0:
			j.ClassificationPolicyID = s.pick([]string{"cp", "cp", "hook"})
		default:
			j.QueueID = s.pick(stressQueues)
		}
		s.do(fmt.Sprintf("CreateJob %+v", j), func() error { _, err := e.CreateJob(s.now, j); return err })
	case n < 38:
		js, ok := s.someJob()
		if !ok {
			return
		}
		j := js.view()
		switch s.r.IntN(7) {
		case 0:
			j.Priority = s.r.IntN(4)
		case 1:
			j.Labels = s.jobLabels()
		case 2:
			j.RequestedWorkerSelectors = s.selectors()
		case 3:
			j.QueueID = s.pick(stressQueues)
		case 4:
			j.MatchingMode = s.mm()
		case 5:
			j.ClassificationPolicyID = s.pick([]string{"", "cp", "hook"})
		case 6:
			j.Priority, j.QueueID, j.MatchingMode = s.r.IntN(4), s.pick(stressQueues), s.mm()
		}
		s.do(fmt.Sprintf("UpdateJob %+v", j), func() error { _, err := e.UpdateJob(s.now, j); return err })
	case n < 41:
		js, ok := s.someJob()
		if !ok {
			return
		}
		s.do("ReclassifyJob "+js.ID, func() error { return e.ReclassifyJob(s.now, js.ID) })
	case n < 47:
		reqs := e.TakeRuleRequests()
		for _, r := range reqs {
			if s.chance(4) {
				continue // never answered
			}
			res := make([]RuleResult, len(r.Rules))
			for i := range res {
				res[i] = RuleResult{Value: s.r.IntN(5)}
			}
			s.do("ApplyRuleResults "+r.JobID, func() error { e.ApplyRuleResults(s.now, r.JobID, r.Token, res); return nil })
		}
	case n < 60:
		if o, ok := s.someOffer(); ok {
			s.do("AcceptOffer "+o.ID, func() error { _, _, err := e.AcceptOffer(s.now, o.WorkerID, o.ID); return err })
		}
	case n < 66:
		if o, ok := s.someOffer(); ok {
			var retry time.Time
			if s.chance(2) {
				retry = s.now.Add(time.Duration(s.r.IntN(60)) * time.Second)
			}
			s.do("DeclineOffer "+o.ID, func() error { return e.DeclineOffer(s.now, o.WorkerID, o.ID, retry) })
		}
	case n < 76:
		js, ok := s.someJob()
		if !ok || js.asg().current == "" {
			return
		}
		switch s.r.IntN(4) {
		case 0:
			s.do("CompleteJob "+js.ID, func() error { return e.CompleteJob(s.now, js.ID, js.asg().current, "") })
		case 1:
			var at time.Time
			if s.chance(2) {
				at = s.now.Add(20 * time.Second)
			}
			s.do("CloseJob "+js.ID, func() error { return e.CloseJob(s.now, js.ID, js.asg().current, "", "", at) })
		case 2:
			s.do("UnassignJob "+js.ID, func() error { _, err := e.UnassignJob(s.now, js.ID, js.asg().current, s.chance(3)); return err })
		case 3:
			s.do("CancelJob "+js.ID, func() error { return e.CancelJob(s.now, js.ID, "", "") })
		}
	case n < 86:
		s.worker(s.pick(stressWorkers))
	case n < 88:
		id := s.pick(stressWorkers)
		s.do("DeleteWorker "+id, func() error { return e.DeleteWorker(s.now, id) })
	case n < 90:
		p := s.pick([]string{"pa", "pb"})
		s.do("policy "+p, func() error {
			_, err := e.UpsertDistributionPolicy(s.now, DistributionPolicy{ID: p, OfferExpiresAfter: time.Minute, Mode: s.mode()})
			return err
		})
	case n < 92:
		q := s.pick(stressQueues)
		s.do("queue "+q, func() error {
			qq, _ := e.GetQueue(q)
			qq.DistributionPolicyID = s.pick([]string{"pa", "pb"})
			qq.ExceptionPolicyID = s.pick([]string{"", "ex1", "ex2"})
			_, err := e.UpsertQueue(s.now, qq)
			return err
		})
	case n < 95:
		js, ok := s.someJob()
		if ok && js.st.terminal() {
			s.do("DeleteJob "+js.ID, func() error { return e.DeleteJob(s.now, js.ID) })
		}
	default:
		// A command at a time past pending deadlines, before any Advance.
		if next, ok := e.NextDeadline(); ok && s.chance(2) {
			s.now = next.Add(time.Second)
		}
	}
}
