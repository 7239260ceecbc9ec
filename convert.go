package jobrouter

import (
	"context"
	"fmt"
	"maps"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// Conversions between the public types and the engine's.
//
// Values cross the API by copy (DESIGN rule 5): every map and slice is copied in both
// directions: on input the caller must not be able to alias engine state, and on
// output the engine's maps, which it shares with its stored state, must not reach a
// caller who might write to them. Read-only fields are dropped on input.
//
// On input, one copy is made, not two. The engine copies (or interns) every map and
// slice it keeps before its call returns, and never writes to what it is given: a
// job's Labels and Tags (validateJob), a worker's Queues and Tags (validateWorker),
// a worker's Labels (interned into a label set, the map itself not kept). So those
// pass through as the caller's own (jobToEngine, workerToEngine); the engine reads
// them under the Router's lock, within the call, as a copy here would. What the
// conversion must build anyway, because the element types differ (selectors, notes,
// channels), is built here. A worker's labels map with 16 labels is about 1.2 KB,
// copied on every UpsertWorker before; TestInputsAreNotAliased holds the property
// through the Router. Elsewhere (queue labels, exception actions) the conversion
// still copies. Nil stays nil and empty stays empty, so a conversion there and back
// gives an equal value.

// defaultJobPriority is the priority of a job created with a zero Priority: as in
// Azure Job Router, an absent priority is 1. (ours) The zero value of Job.Priority
// means "absent", so 0 itself cannot be requested.
const defaultJobPriority = 1

func labelsToEngine(l Labels) engine.Labels { return map[string]any(maps.Clone(l)) }

func labelsFromEngine(l engine.Labels) Labels { return Labels(maps.Clone(l)) }

func selectorToEngine(s WorkerSelector) engine.Selector {
	return engine.Selector{
		Key:          s.Key,
		Op:           labels.Operator(s.LabelOperator),
		Value:        s.Value,
		ExpiresAfter: s.ExpiresAfter,
		Expedite:     s.Expedite,
	}
}

func selectorFromEngine(s engine.Selector) WorkerSelector {
	st := SelectorStatusActive
	if s.Expired {
		st = SelectorStatusExpired
	}
	return WorkerSelector{
		Key:           s.Key,
		LabelOperator: LabelOperator(s.Op),
		Value:         s.Value,
		ExpiresAfter:  s.ExpiresAfter,
		Expedite:      s.Expedite,
		Status:        st,
		ExpiresAt:     s.ExpiresAt,
	}
}

func selectorsToEngine(s []WorkerSelector) []engine.Selector {
	if s == nil {
		return nil
	}
	out := make([]engine.Selector, len(s))
	for i, x := range s {
		out[i] = selectorToEngine(x)
	}
	return out
}

func selectorsFromEngine(s []engine.Selector) []WorkerSelector {
	if s == nil {
		return nil
	}
	out := make([]WorkerSelector, len(s))
	for i, x := range s {
		out[i] = selectorFromEngine(x)
	}
	return out
}

func notesToEngine(n []Note) []engine.Note {
	if n == nil {
		return nil
	}
	out := make([]engine.Note, len(n))
	for i, x := range n {
		out[i] = engine.Note{Message: x.Message, AddedAt: x.AddedAt}
	}
	return out
}

func notesFromEngine(n []engine.Note) []Note {
	if n == nil {
		return nil
	}
	out := make([]Note, len(n))
	for i, x := range n {
		out[i] = Note{Message: x.Message, AddedAt: x.AddedAt}
	}
	return out
}

func matchingModeToEngine(op, jobID string, m MatchingMode) (engine.MatchingMode, error) {
	switch m := m.(type) {
	case nil, QueueAndMatchMode:
		return engine.MatchingMode{Kind: engine.QueueAndMatch}, nil
	case ScheduleAndSuspendMode:
		return engine.MatchingMode{Kind: engine.ScheduleAndSuspend, ScheduleAt: m.ScheduleAt}, nil
	case SuspendMode:
		return engine.MatchingMode{Kind: engine.Suspend}, nil
	}
	return engine.MatchingMode{}, errInvalid(op, "job", jobID, fmt.Sprintf("unsupported matching mode %T: give QueueAndMatchMode, ScheduleAndSuspendMode or SuspendMode as a value, not a pointer", m))
}

func matchingModeFromEngine(m engine.MatchingMode) MatchingMode {
	switch m.Kind {
	case engine.ScheduleAndSuspend:
		return ScheduleAndSuspendMode{ScheduleAt: m.ScheduleAt}
	case engine.Suspend:
		return SuspendMode{}
	}
	return QueueAndMatchMode{}
}

// jobToEngine converts the settable fields of j; a zero Priority becomes 1. Its
// Labels and Tags are j's own maps: the engine copies them (see above).
func jobToEngine(op string, j Job) (engine.Job, error) {
	mm, err := matchingModeToEngine(op, j.ID, j.MatchingMode)
	if err != nil {
		return engine.Job{}, err
	}
	prio := j.Priority
	if prio == 0 {
		prio = defaultJobPriority
	}
	return engine.Job{
		ID:                       j.ID,
		ChannelID:                j.ChannelID,
		ChannelReference:         j.ChannelReference,
		QueueID:                  j.QueueID,
		ClassificationPolicyID:   j.ClassificationPolicyID,
		Priority:                 prio,
		RequestedWorkerSelectors: selectorsToEngine(j.RequestedWorkerSelectors),
		Labels:                   engine.Labels(j.Labels), // copied by the engine
		Tags:                     engine.Labels(j.Tags),   // copied by the engine
		Notes:                    notesToEngine(j.Notes),
		MatchingMode:             mm,
	}, nil
}

func jobFromEngine(j engine.Job) Job {
	var as map[string]Assignment
	if j.Assignments != nil {
		as = make(map[string]Assignment, len(j.Assignments))
		for id, a := range j.Assignments {
			as[id] = Assignment(a)
		}
	}
	return Job{
		ID:                       j.ID,
		ChannelID:                j.ChannelID,
		ChannelReference:         j.ChannelReference,
		QueueID:                  j.QueueID,
		ClassificationPolicyID:   j.ClassificationPolicyID,
		Priority:                 j.Priority,
		RequestedWorkerSelectors: selectorsFromEngine(j.RequestedWorkerSelectors),
		Labels:                   labelsFromEngine(j.Labels),
		Tags:                     labelsFromEngine(j.Tags),
		Notes:                    notesFromEngine(j.Notes),
		MatchingMode:             matchingModeFromEngine(j.MatchingMode),
		Status:                   JobStatus(j.Status),
		CreatedAt:                j.CreatedAt,
		EnqueuedAt:               j.EnqueuedAt,
		ScheduledAt:              j.ScheduledAt,
		AttachedWorkerSelectors:  selectorsFromEngine(j.AttachedWorkerSelectors),
		Assignments:              as,
		DispositionCode:          j.DispositionCode,
		UnassignmentCount:        j.UnassignmentCount,
	}
}

func channelsToEngine(c []ChannelConfig) []engine.ChannelConfig {
	if c == nil {
		return nil
	}
	out := make([]engine.ChannelConfig, len(c))
	for i, x := range c {
		out[i] = engine.ChannelConfig(x)
	}
	return out
}

func channelsFromEngine(c []engine.ChannelConfig) []ChannelConfig {
	if c == nil {
		return nil
	}
	out := make([]ChannelConfig, len(c))
	for i, x := range c {
		out[i] = ChannelConfig(x)
	}
	return out
}

func offerFromEngine(o engine.Offer) Offer { return Offer(o) }

func offersFromEngine(o []engine.Offer) []Offer {
	if o == nil {
		return nil
	}
	out := make([]Offer, len(o))
	for i, x := range o {
		out[i] = offerFromEngine(x)
	}
	return out
}

func assignedJobsFromEngine(a []engine.AssignedJob) []AssignedJob {
	if a == nil {
		return nil
	}
	out := make([]AssignedJob, len(a))
	for i, x := range a {
		out[i] = AssignedJob(x)
	}
	return out
}

// workerToEngine converts the settable fields of w. Its Queues, Labels and Tags are
// w's own: the engine copies or interns them (see above).
func workerToEngine(w Worker) engine.Worker {
	return engine.Worker{
		ID:                  w.ID,
		Queues:              w.Queues, // copied by the engine
		Capacity:            w.Capacity,
		Channels:            channelsToEngine(w.Channels),
		Labels:              engine.Labels(w.Labels), // interned by the engine, not kept
		Tags:                engine.Labels(w.Tags),   // copied by the engine
		AvailableForOffers:  w.AvailableForOffers,
		MaxConcurrentOffers: w.MaxConcurrentOffers,
	}
}

// workerFromView converts a worker view the engine made for this call
// (Engine.UpsertWorker, GetWorker, ListWorkers: workerState.view). A view's Queues
// and Labels are fresh, nobody else's, so they are adopted rather than copied again
// (a worker's labels map is its largest part: about 1.2 KB with 16 labels); its Tags
// are the engine's own, shared with its state and events, and are copied, as are
// the slices whose element types differ.
func workerFromView(w engine.Worker) Worker {
	return Worker{
		ID:                  w.ID,
		Queues:              w.Queues,
		Capacity:            w.Capacity,
		Channels:            channelsFromEngine(w.Channels),
		Labels:              Labels(w.Labels),
		Tags:                labelsFromEngine(w.Tags),
		AvailableForOffers:  w.AvailableForOffers,
		MaxConcurrentOffers: w.MaxConcurrentOffers,
		State:               WorkerState(w.State),
		Offers:              offersFromEngine(w.Offers),
		AssignedJobs:        assignedJobsFromEngine(w.AssignedJobs),
		LoadRatio:           w.LoadRatio,
	}
}

func queueToEngine(q Queue) engine.Queue {
	return engine.Queue{
		ID:                   q.ID,
		Name:                 q.Name,
		DistributionPolicyID: q.DistributionPolicyID,
		ExceptionPolicyID:    q.ExceptionPolicyID,
		Labels:               labelsToEngine(q.Labels),
	}
}

func queueFromEngine(q engine.Queue) Queue {
	return Queue{
		ID:                   q.ID,
		Name:                 q.Name,
		DistributionPolicyID: q.DistributionPolicyID,
		ExceptionPolicyID:    q.ExceptionPolicyID,
		Labels:               labelsFromEngine(q.Labels),
	}
}

// distributionPolicyToEngine validates p's mode, fills its defaults and converts it.
func distributionPolicyToEngine(op string, p DistributionPolicy) (engine.DistributionPolicy, error) {
	const entity = "distribution policy"
	if p.OfferExpiresAfter <= 0 {
		return engine.DistributionPolicy{}, errInvalid(op, entity, p.ID, "OfferExpiresAfter must be positive")
	}
	m, reason := modeToEngine(p.Mode)
	if reason != "" {
		return engine.DistributionPolicy{}, errInvalid(op, entity, p.ID, reason)
	}
	return engine.DistributionPolicy{
		ID:                p.ID,
		Name:              p.Name,
		OfferExpiresAfter: p.OfferExpiresAfter,
		Mode:              m,
	}, nil
}

// modeToEngine converts a distribution mode, or returns why it is invalid.
func modeToEngine(m DistributionMode) (engine.Mode, string) {
	var (
		em       engine.Mode
		min, max int
	)
	switch m := m.(type) {
	case nil:
		return em, "Mode is required: LongestIdleMode, RoundRobinMode or BestWorkerMode"
	case LongestIdleMode:
		em = engine.Mode{Kind: engine.LongestIdle, BypassSelectors: m.BypassSelectors}
		min, max = m.MinConcurrentOffers, m.MaxConcurrentOffers
	case RoundRobinMode:
		em = engine.Mode{Kind: engine.RoundRobin, BypassSelectors: m.BypassSelectors}
		min, max = m.MinConcurrentOffers, m.MaxConcurrentOffers
	case BestWorkerMode:
		score, origin, reason := scoringToEngine(m.ScoringRule, m.ScoringFunc)
		if reason != "" {
			return em, reason
		}
		em = engine.Mode{
			Kind:            engine.BestWorker,
			BypassSelectors: m.BypassSelectors,
			Score:           score,
			ScoreOrigin:     origin,
			BatchSize:       defaultScoringBatchSize,
			Descending:      true,
		}
		if o := m.ScoringRuleOptions; o != nil {
			if o.BatchSize < 0 {
				return em, "ScoringRuleOptions.BatchSize must not be negative"
			}
			if o.BatchSize > 0 {
				em.BatchSize = o.BatchSize
			}
			em.Batching = o.IsBatchScoringEnabled
			em.Descending = o.DescendingOrder
		}
		min, max = m.MinConcurrentOffers, m.MaxConcurrentOffers
	default:
		return em, fmt.Sprintf("unsupported distribution mode %T: give LongestIdleMode, RoundRobinMode or BestWorkerMode as a value, not a pointer", m)
	}
	if min < 0 || max < 0 {
		return em, "MinConcurrentOffers and MaxConcurrentOffers must not be negative"
	}
	if min == 0 {
		min = 1
	}
	if max == 0 {
		max = 1
	}
	if min > max {
		return em, fmt.Sprintf("MinConcurrentOffers (%d) is greater than MaxConcurrentOffers (%d)", min, max)
	}
	em.MinConcurrentOffers, em.MaxConcurrentOffers = min, max
	return em, ""
}

func distributionPolicyFromEngine(p engine.DistributionPolicy) DistributionPolicy {
	return DistributionPolicy{
		ID:                p.ID,
		Name:              p.Name,
		OfferExpiresAfter: p.OfferExpiresAfter,
		Mode:              modeFromEngine(p.Mode),
	}
}

// modeFromEngine converts a stored mode; BestWorkerMode always carries its options.
func modeFromEngine(m engine.Mode) DistributionMode {
	switch m.Kind {
	case engine.LongestIdle:
		return LongestIdleMode{
			MinConcurrentOffers: m.MinConcurrentOffers,
			MaxConcurrentOffers: m.MaxConcurrentOffers,
			BypassSelectors:     m.BypassSelectors,
		}
	case engine.RoundRobin:
		return RoundRobinMode{
			MinConcurrentOffers: m.MinConcurrentOffers,
			MaxConcurrentOffers: m.MaxConcurrentOffers,
			BypassSelectors:     m.BypassSelectors,
		}
	case engine.BestWorker:
		return BestWorkerMode{
			MinConcurrentOffers: m.MinConcurrentOffers,
			MaxConcurrentOffers: m.MaxConcurrentOffers,
			BypassSelectors:     m.BypassSelectors,
			ScoringRule:         scoringRuleFromEngine(m),
			ScoringFunc:         scoreFuncFromEngine(m),
			ScoringRuleOptions: &ScoringRuleOptions{
				BatchSize:             m.BatchSize,
				IsBatchScoringEnabled: m.Batching,
				DescendingOrder:       m.Descending,
			},
		}
	}
	return nil
}

// scoreFuncToEngine adapts a public scoring function for the engine. The engine calls
// it under the Router's lock, so it gets a context without a deadline; its input is a
// fresh copy so that it cannot write into engine state.
func scoreFuncToEngine(f func(context.Context, ScoringInput) (float64, error)) engine.ScoreFunc {
	if f == nil {
		return nil
	}
	return func(in engine.ScoringInput) (float64, error) {
		return f(context.Background(), scoringInputFromEngine(in))
	}
}

// scoreFuncFromEngine returns the caller's scoring function as it was given.
func scoreFuncFromEngine(m engine.Mode) func(context.Context, ScoringInput) (float64, error) {
	f, _ := m.ScoreOrigin.(func(context.Context, ScoringInput) (float64, error))
	return f
}

func scoringInputFromEngine(in engine.ScoringInput) ScoringInput {
	return ScoringInput{
		JobLabels:    labelsFromEngine(in.JobLabels),
		WorkerLabels: Labels(in.WorkerLabels), // a new map for each call (engine.ScoringInput)
		WorkerID:     in.WorkerID,
		Selectors:    selectorsFromEngine(in.Selectors),
	}
}

// pageToEngine returns the engine's paging bounds for p: one entity more than the
// page, which tells whether another page follows (see cut).
func pageToEngine(p pageRequest) engine.Page {
	return engine.Page{After: p.after, Limit: p.size + 1}
}

// jobFilterToEngine converts ListJobs' filters and the page request p.
func jobFilterToEngine(o ListJobsOptions, p pageRequest) engine.JobFilter {
	pg := pageToEngine(p)
	return engine.JobFilter{
		Status:                 engine.JobStatus(o.Status),
		Active:                 o.Active,
		QueueID:                o.QueueID,
		ChannelID:              o.ChannelID,
		ClassificationPolicyID: o.ClassificationPolicyID,
		ScheduledBefore:        o.ScheduledBefore,
		ScheduledAfter:         o.ScheduledAfter,
		After:                  pg.After,
		Limit:                  pg.Limit,
	}
}

// workerFilterToEngine converts ListWorkers' filters and the page request p.
func workerFilterToEngine(o ListWorkersOptions, p pageRequest) engine.WorkerFilter {
	pg := pageToEngine(p)
	return engine.WorkerFilter{
		State:       engine.WorkerState(o.State),
		ChannelID:   o.ChannelID,
		QueueID:     o.QueueID,
		HasCapacity: o.HasCapacity,
		After:       pg.After,
		Limit:       pg.Limit,
	}
}
