package simtest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// Policy-world operations (classification and exception policies, reclassification),
// run on the engine alone, and queue statistics, which the naive router does not
// answer either.

// engineOnly runs a command the oracle does not model, on the engine and its twin.
// In a world with the oracle it must announce nothing (else the routers' event
// sequences would part).
func (s *Sim) engineOnly(c entry, f func(e *engine.Engine) (any, error)) {
	c, re, evs, err := s.onEngine(c, f)
	s.onTwin(c, re, evs, f)
	if s.n != nil && len(evs) > 0 {
		s.fail("operation", "%s announced %d events in a world with the oracle", c, len(evs))
	}
	s.ended(c, err, evs)
}

// Rules, named functions so that the history prints something stable.

func prioByLevel(l engine.Labels) (any, error) {
	if v, ok := labels.Number(l["level"]); ok {
		return int(v) - 3, nil
	}
	return 1, nil
}

func prioFails(engine.Labels) (any, error)  { return nil, errors.New("no priority today") }
func prioPanics(engine.Labels) (any, error) { panic("prioritization rule panicked") }
func prioHuge(engine.Labels) (any, error)   { return 500, nil }
func isVIP(l engine.Labels) (any, error)    { v, _ := l["vip"].(bool); return v, nil }
func notABool(engine.Labels) (any, error)   { return "yes", nil }

func queueByLang(l engine.Labels) (any, error) {
	if l["lang"] == "fr" {
		return []engine.Selector{{Key: "Id", Op: labels.Equal, Value: "q2"}}, nil
	}
	return engine.Selector{Key: "Id", Op: labels.Equal, Value: "q1"}, nil
}

func workersByLevel(l engine.Labels) (any, error) {
	v, _ := labels.Number(l["level"])
	return []engine.Selector{{Key: "level", Op: labels.GreaterThanOrEqual, Value: int(v) / 2, ExpiresAfter: 40 * time.Second}}, nil
}

func badSelectors(engine.Labels) (any, error) {
	return []engine.Selector{{Key: "level", Op: labels.GreaterThan, Value: "high"}}, nil
}

func syncRule(f func(engine.Labels) (any, error)) *engine.Rule {
	return &engine.Rule{Kind: engine.RuleSync, Eval: f, Origin: fn(f)}
}

func (s *Sim) randomRule(kinds ...func() *engine.Rule) *engine.Rule { return pick(s.rng, kinds)() }

func (s *Sim) queueAttachment() engine.Attachment {
	r := s.rng
	idIs := func(q string) []engine.Selector { return []engine.Selector{{Key: "Id", Op: labels.Equal, Value: q}} }
	switch r.IntN(6) {
	case 0:
		return engine.Attachment{Kind: engine.AttachStatic, Selectors: []engine.Selector{{Key: "region", Op: labels.Equal, Value: pick(r, []string{"eu", "us"})}}}
	case 1:
		return engine.Attachment{Kind: engine.AttachPassThrough, Key: "region", Op: labels.Equal}
	case 2:
		return engine.Attachment{Kind: engine.AttachConditional, Condition: s.randomRule(
			func() *engine.Rule { return syncRule(isVIP) }, func() *engine.Rule { return syncRule(notABool) },
			func() *engine.Rule { return &engine.Rule{Kind: engine.RuleStatic, Value: true} }),
			Selectors: idIs(pick(r, queueIDs))}
	case 3:
		return engine.Attachment{Kind: engine.AttachWeighted, Allocations: []engine.Allocation{
			{Weight: 1, Selectors: idIs("q1")}, {Weight: 2, Selectors: idIs(pick(r, queueIDs))}}}
	case 4:
		return engine.Attachment{Kind: engine.AttachRuleEngine, Rule: syncRule(queueByLang)}
	default:
		return engine.Attachment{Kind: engine.AttachRuleEngine, Rule: &engine.Rule{Kind: engine.RuleDirectMap}}
	}
}

func (s *Sim) workerAttachment() engine.Attachment {
	r := s.rng
	switch r.IntN(5) {
	case 0:
		sel := s.randomSelector()
		return engine.Attachment{Kind: engine.AttachStatic, Selectors: []engine.Selector{sel}}
	case 1:
		return engine.Attachment{Kind: engine.AttachPassThrough, Key: "lang", Op: labels.Equal,
			ExpiresAfter: pick(r, []time.Duration{0, 30 * time.Second, 2 * time.Minute})}
	case 2:
		return engine.Attachment{Kind: engine.AttachConditional, Condition: syncRule(isVIP),
			Selectors: []engine.Selector{{Key: "vip", Op: labels.Equal, Value: true, Expedite: s.chance(2)}}}
	case 3:
		return engine.Attachment{Kind: engine.AttachWeighted, Allocations: []engine.Allocation{
			{Weight: 1, Selectors: []engine.Selector{{Key: "lang", Op: labels.Equal, Value: "en"}}},
			{Weight: 1, Selectors: []engine.Selector{{Key: "lang", Op: labels.Equal, Value: "fr", ExpiresAfter: time.Minute}}}}}
	default:
		if s.chance(5) {
			return engine.Attachment{Kind: engine.AttachRuleEngine, Rule: syncRule(badSelectors)}
		}
		return engine.Attachment{Kind: engine.AttachRuleEngine, Rule: syncRule(workersByLevel)}
	}
}

func (s *Sim) upsertClassification() {
	r := s.rng
	p := engine.ClassificationPolicy{ID: pick(r, classIDs), Name: "classification"}
	if len(s.curQueues) > 0 && !s.chance(4) {
		p.FallbackQueueID = pick(r, s.curQueues).ID
	}
	for range r.IntN(3) {
		p.QueueSelectorAttachments = append(p.QueueSelectorAttachments, s.queueAttachment())
	}
	for range r.IntN(3) {
		p.WorkerSelectorAttachments = append(p.WorkerSelectorAttachments, s.workerAttachment())
	}
	switch r.IntN(8) {
	case 0:
		p.PrioritizationRule = &engine.Rule{Kind: engine.RuleStatic, Value: pick(r, []any{3, -2, "high", 2.5})}
	case 1, 2:
		p.PrioritizationRule = syncRule(prioByLevel)
	case 3:
		p.PrioritizationRule = syncRule(pick(r, []func(engine.Labels) (any, error){prioFails, prioPanics, prioHuge}))
	}
	if s.chance(12) {
		switch r.IntN(5) {
		case 0:
			p.ID = ""
		case 1:
			p.FallbackQueueID = "q-none"
		case 2:
			p.QueueSelectorAttachments = append(p.QueueSelectorAttachments, engine.Attachment{Kind: engine.AttachStatic})
		case 3:
			p.WorkerSelectorAttachments = append(p.WorkerSelectorAttachments, engine.Attachment{Kind: engine.AttachWeighted,
				Allocations: []engine.Allocation{{Weight: 0}}})
		case 4:
			p.QueueSelectorAttachments = append(p.QueueSelectorAttachments, engine.Attachment{Kind: engine.AttachStatic,
				Selectors: []engine.Selector{{Key: "region", Op: labels.Equal, Value: "eu", Expedite: true}}})
		}
	}
	now := s.cmdTime()
	s.engineOnly(cmd("UpsertClassificationPolicy %s", classBrief(p)),
		func(e *engine.Engine) (any, error) { _, err := e.UpsertClassificationPolicy(now, p); return nil, err })
}

func classBrief(p engine.ClassificationPolicy) string {
	att := func(as []engine.Attachment) string {
		out := "["
		for i, a := range as {
			if i > 0 {
				out += " "
			}
			out += fmt.Sprintf("%d:%v", a.Kind, a.Selectors)
			if a.Key != "" {
				out += "(" + a.Key + ")"
			}
		}
		return out + "]"
	}
	prio := "none"
	if p.PrioritizationRule != nil {
		prio = fmt.Sprint(p.PrioritizationRule.Kind, p.PrioritizationRule.Value, p.PrioritizationRule.Origin)
	}
	return fmt.Sprintf("{ID:%q Fallback:%q Queues:%s Workers:%s Prio:%s}", p.ID, p.FallbackQueueID,
		att(p.QueueSelectorAttachments), att(p.WorkerSelectorAttachments), prio)
}

func (s *Sim) deleteClassification() {
	id := pick(s.rng, append(classIDs, "cp-none"))
	now := s.cmdTime()
	s.engineOnly(cmd("DeleteClassificationPolicy %s", id),
		func(e *engine.Engine) (any, error) { return nil, e.DeleteClassificationPolicy(now, id) })
}

func (s *Sim) exceptionAction() engine.Action {
	r := s.rng
	switch r.IntN(4) {
	case 0:
		return engine.Action{Kind: engine.ActionCancel, ID: "cancel", DispositionCode: pick(r, []string{"", "Escalated"}), Note: "by rule"}
	case 1, 2:
		a := engine.Action{Kind: engine.ActionManualReclassify, ID: "move"}
		if len(s.curQueues) > 0 && !s.chance(3) {
			a.QueueID = pick(r, s.curQueues).ID
		}
		if s.chance(2) {
			p := pick(r, []int{-1, 4, 10})
			a.Priority = &p
		}
		switch r.IntN(3) {
		case 0:
			a.WorkerSelectors = []engine.Selector{{Key: "level", Op: labels.GreaterThanOrEqual, Value: r.IntN(6),
				ExpiresAfter: pick(r, []time.Duration{0, time.Minute})}}
		case 1:
			a.WorkerSelectors = []engine.Selector{}
		}
		return a
	default:
		a := engine.Action{Kind: engine.ActionReclassify, ID: "reclassify"}
		if s.chance(2) {
			a.ClassificationPolicyID = pick(r, classIDs)
		}
		if s.chance(2) {
			a.LabelsToUpsert = engine.Labels{"region": pick(r, []string{"eu", "us"}), "escalated": true}
		}
		return a
	}
}

func (s *Sim) upsertException() {
	r := s.rng
	p := engine.ExceptionPolicy{ID: pick(r, excIDs), Name: "exceptions"}
	for i := range 1 + r.IntN(2) {
		rule := engine.ExceptionRule{ID: "r" + itoa(i+1)}
		if s.chance(2) {
			rule.Trigger = engine.Trigger{Kind: engine.TriggerQueueLength, Threshold: r.IntN(4)}
		} else {
			rule.Trigger = engine.Trigger{Kind: engine.TriggerWaitTime, Wait: pick(r, []time.Duration{20 * time.Second, time.Minute, 5 * time.Minute})}
		}
		for range 1 + r.IntN(2) {
			rule.Actions = append(rule.Actions, s.exceptionAction())
		}
		p.Rules = append(p.Rules, rule)
	}
	if s.chance(10) {
		switch r.IntN(6) {
		case 0:
			p.Rules = append(p.Rules, engine.ExceptionRule{ID: "r1", Trigger: engine.Trigger{Kind: engine.TriggerWaitTime, Wait: time.Minute},
				Actions: []engine.Action{{Kind: engine.ActionCancel}}})
		case 1:
			p.Rules[0].Trigger = engine.Trigger{Kind: engine.TriggerQueueLength, Threshold: -1}
		case 2:
			p.Rules[0].Trigger = engine.Trigger{Kind: engine.TriggerWaitTime}
		case 3:
			p.Rules[0].Actions = nil
		case 4:
			p.Rules[0].Actions = append(p.Rules[0].Actions, engine.Action{Kind: engine.ActionManualReclassify, QueueID: "q-none"})
		case 5:
			p.Rules[0].Actions = append(p.Rules[0].Actions, engine.Action{Kind: engine.ActionReclassify, ClassificationPolicyID: "cp-none"})
		}
	}
	now := s.cmdTime()
	s.engineOnly(cmd("UpsertExceptionPolicy %s", excBrief(p)),
		func(e *engine.Engine) (any, error) { _, err := e.UpsertExceptionPolicy(now, p); return nil, err })
}

func excBrief(p engine.ExceptionPolicy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{ID:%q", p.ID)
	for _, r := range p.Rules {
		fmt.Fprintf(&b, " %s:", r.ID)
		switch r.Trigger.Kind {
		case engine.TriggerQueueLength:
			fmt.Fprintf(&b, "length>%d", r.Trigger.Threshold)
		case engine.TriggerWaitTime:
			fmt.Fprintf(&b, "wait%v", r.Trigger.Wait)
		default:
			fmt.Fprintf(&b, "trigger%d(%d,%v)", r.Trigger.Kind, r.Trigger.Threshold, r.Trigger.Wait)
		}
		for _, a := range r.Actions {
			switch a.Kind {
			case engine.ActionCancel:
				fmt.Fprintf(&b, " cancel(%q)", a.DispositionCode)
			case engine.ActionManualReclassify:
				prio := "-"
				if a.Priority != nil {
					prio = itoa(*a.Priority)
				}
				fmt.Fprintf(&b, " move(queue=%q prio=%s selectors=%v)", a.QueueID, prio, a.WorkerSelectors)
			case engine.ActionReclassify:
				fmt.Fprintf(&b, " reclassify(%q %v)", a.ClassificationPolicyID, a.LabelsToUpsert)
			default:
				fmt.Fprintf(&b, " action%d", a.Kind)
			}
		}
	}
	b.WriteString("}")
	return b.String()
}

func (s *Sim) deleteException() {
	id := pick(s.rng, append(excIDs, "ep-none"))
	now := s.cmdTime()
	s.engineOnly(cmd("DeleteExceptionPolicy %s", id),
		func(e *engine.Engine) (any, error) { return nil, e.DeleteExceptionPolicy(now, id) })
}

func (s *Sim) reclassify() {
	id := s.someJobID(func(j engine.Job) bool { return j.ClassificationPolicyID != "" && !j.Status.Terminal() })
	now := s.cmdTime()
	s.engineOnly(cmd("ReclassifyJob %s", id), func(e *engine.Engine) (any, error) { return nil, e.ReclassifyJob(now, id) })
}

// queueStats reads a queue's statistics or a job's position, and checks them
// against the state: the length counts the queue's queued jobs, the position is the
// job's place among them in queue order.
func (s *Sim) queueStats() {
	if s.chance(2) {
		id := pick(s.rng, append(queueIDs, "q-none"))
		var st engine.QueueStatistics
		s.engineOnly(cmd("QueueStatistics %s", id), func(e *engine.Engine) (any, error) {
			var err error
			st, err = e.QueueStatistics(s.now, id)
			return st, err
		})
		if s.desc[len(s.desc)-1].err == nil {
			queued := s.jobs(func(j engine.Job) bool { return j.Status == engine.JobQueued && j.QueueID == id })
			// The longest wait is from the earliest EnqueuedAt; there is an estimate for
			// exactly the priorities present, and a lower priority never waits less.
			var earliest time.Time
			prios := map[int]bool{}
			for _, j := range queued {
				if earliest.IsZero() || j.EnqueuedAt.Before(earliest) {
					earliest = j.EnqueuedAt
				}
				prios[j.Priority] = true
			}
			var wait time.Duration
			if len(queued) > 0 && s.now.After(earliest) {
				wait = s.now.Sub(earliest)
			}
			keys := slices.Sorted(maps.Keys(st.EstimatedWaitTime))
			monotone := true
			for i := 1; i < len(keys); i++ {
				monotone = monotone && st.EstimatedWaitTime[keys[i-1]] >= st.EstimatedWaitTime[keys[i]]
			}
			if st.Length != len(queued) || st.LongestJobWaitTime != wait ||
				!slices.Equal(keys, slices.Sorted(maps.Keys(prios))) || !monotone {
				s.fail("queue statistics", "queue %s: Length %d (%d queued), LongestJobWaitTime %v (want %v), estimates %v for priorities %v",
					id, st.Length, len(queued), st.LongestJobWaitTime, wait, st.EstimatedWaitTime, slices.Sorted(maps.Keys(prios)))
			}
		}
		return
	}
	id := s.someJobID(status(engine.JobQueued))
	var pos engine.JobPosition
	s.engineOnly(cmd("QueuePosition %s", id), func(e *engine.Engine) (any, error) {
		var err error
		pos, err = e.QueuePosition(s.now, id)
		return pos, err
	})
	if s.desc[len(s.desc)-1].err != nil {
		return
	}
	j, _ := s.curJob(id)
	want, length := 1, 0
	for _, x := range s.curJobs {
		if x.Status != engine.JobQueued || x.QueueID != j.QueueID {
			continue
		}
		length++
		if s.chk.before(x, j) {
			want++
		}
	}
	if j.Status != engine.JobQueued || pos.Position != want || pos.QueueLength != length || pos.QueueID != j.QueueID {
		s.fail("queue position", "job %s (%s in %s): position %d of %d in %s, want %d of %d", id, j.Status, j.QueueID,
			pos.Position, pos.QueueLength, pos.QueueID, want, length)
	}
}
