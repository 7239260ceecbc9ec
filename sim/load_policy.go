package sim

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/openjobrouter/jobrouter"
)

// The policies in YAML: the library's types in lowerCamelCase, each polymorphic
// value (a distribution mode, a rule, an attachment, a trigger, an action) a
// mapping whose kind says which type it is.

type fileDistributionPolicy struct {
	ID                string       `yaml:"id"`
	Name              string       `yaml:"name"`
	OfferExpiresAfter yamlDuration `yaml:"offerExpiresAfter"`
	Mode              *fileMode    `yaml:"mode"`
}

// fileMode is a DistributionMode: kind longestIdle, roundRobin or bestWorker.
type fileMode struct {
	Set                 keySet
	Kind                string              `yaml:"kind"`
	MinConcurrentOffers int                 `yaml:"minConcurrentOffers"`
	MaxConcurrentOffers int                 `yaml:"maxConcurrentOffers"`
	BypassSelectors     bool                `yaml:"bypassSelectors"`
	ScoringRule         *fileRule           `yaml:"scoringRule"`
	ScoringRuleOptions  *fileScoringOptions `yaml:"scoringRuleOptions"`
}

// fileScoringOptions is ScoringRuleOptions; descendingOrder defaults to true here,
// as it does in the library when the options are absent altogether.
type fileScoringOptions struct {
	BatchSize             int   `yaml:"batchSize"`
	IsBatchScoringEnabled bool  `yaml:"isBatchScoringEnabled"`
	DescendingOrder       *bool `yaml:"descendingOrder"`
}

// fileRule is a RouterRule: kind static (value), directMap, expression
// (expression) or webhook (refused: a simulation does not wait on the network).
// The kind may be left out when the fields say it.
type fileRule struct {
	Set        keySet
	Kind       string  `yaml:"kind"`
	Value      yamlAny `yaml:"value"`
	Expression string  `yaml:"expression"`
	URL        string  `yaml:"url"`
}

type fileSelector struct {
	Key           string       `yaml:"key"`
	LabelOperator string       `yaml:"labelOperator"`
	Value         yamlAny      `yaml:"value"`
	ExpiresAfter  yamlDuration `yaml:"expiresAfter"`
	Expedite      bool         `yaml:"expedite"`
}

type fileQueueSelector struct {
	Key           string  `yaml:"key"`
	LabelOperator string  `yaml:"labelOperator"`
	Value         yamlAny `yaml:"value"`
}

type fileClassificationPolicy struct {
	ID                        string                 `yaml:"id"`
	Name                      string                 `yaml:"name"`
	FallbackQueueID           string                 `yaml:"fallbackQueueId"`
	QueueSelectorAttachments  []fileQueueAttachment  `yaml:"queueSelectorAttachments"`
	PrioritizationRule        *fileRule              `yaml:"prioritizationRule"`
	WorkerSelectorAttachments []fileWorkerAttachment `yaml:"workerSelectorAttachments"`
}

// fileQueueAttachment is a QueueSelectorAttachment: kind static (queueSelector),
// conditional (condition, queueSelectors), passThrough (key, labelOperator),
// ruleEngine (rule) or weightedAllocation (allocations).
type fileQueueAttachment struct {
	Set            keySet
	Kind           string                `yaml:"kind"`
	QueueSelector  *fileQueueSelector    `yaml:"queueSelector"`
	Condition      *fileRule             `yaml:"condition"`
	QueueSelectors []fileQueueSelector   `yaml:"queueSelectors"`
	Key            string                `yaml:"key"`
	LabelOperator  string                `yaml:"labelOperator"`
	Rule           *fileRule             `yaml:"rule"`
	Allocations    []fileQueueAllocation `yaml:"allocations"`
}

type fileQueueAllocation struct {
	Weight         float64             `yaml:"weight"`
	QueueSelectors []fileQueueSelector `yaml:"queueSelectors"`
}

// fileWorkerAttachment is a WorkerSelectorAttachment: the kinds of
// fileQueueAttachment with worker selectors, and passThrough's expiresAfter.
type fileWorkerAttachment struct {
	Set             keySet
	Kind            string                 `yaml:"kind"`
	WorkerSelector  *fileSelector          `yaml:"workerSelector"`
	Condition       *fileRule              `yaml:"condition"`
	WorkerSelectors []fileSelector         `yaml:"workerSelectors"`
	Key             string                 `yaml:"key"`
	LabelOperator   string                 `yaml:"labelOperator"`
	ExpiresAfter    yamlDuration           `yaml:"expiresAfter"`
	Rule            *fileRule              `yaml:"rule"`
	Allocations     []fileWorkerAllocation `yaml:"allocations"`
}

type fileWorkerAllocation struct {
	Weight          float64        `yaml:"weight"`
	WorkerSelectors []fileSelector `yaml:"workerSelectors"`
}

type fileExceptionPolicy struct {
	ID             string              `yaml:"id"`
	Name           string              `yaml:"name"`
	ExceptionRules []fileExceptionRule `yaml:"exceptionRules"`
}

type fileExceptionRule struct {
	ID      string       `yaml:"id"`
	Trigger *fileTrigger `yaml:"trigger"`
	Actions []fileAction `yaml:"actions"`
}

// fileTrigger is an ExceptionTrigger: kind queueLength (threshold: a count) or
// waitTime (threshold: a duration).
type fileTrigger struct {
	Set       keySet
	Kind      string    `yaml:"kind"`
	Threshold yaml.Node `yaml:"threshold"`
}

// fileAction is an ExceptionAction: kind cancel (dispositionCode, note),
// manualReclassify (queueId, priority, workerSelectors) or reclassify
// (classificationPolicyId, labelsToUpsert).
type fileAction struct {
	Set                    keySet
	Kind                   string         `yaml:"kind"`
	ID                     string         `yaml:"id"`
	Note                   string         `yaml:"note"`
	DispositionCode        string         `yaml:"dispositionCode"`
	QueueID                string         `yaml:"queueId"`
	Priority               *int           `yaml:"priority"`
	WorkerSelectors        []fileSelector `yaml:"workerSelectors"`
	ClassificationPolicyID string         `yaml:"classificationPolicyId"`
	LabelsToUpsert         map[string]any `yaml:"labelsToUpsert"`
}

func (p *fileDistributionPolicy) policy(path string) (jobrouter.DistributionPolicy, error) {
	dp := jobrouter.DistributionPolicy{ID: p.ID, Name: p.Name, OfferExpiresAfter: time.Duration(p.OfferExpiresAfter)}
	if p.Mode == nil {
		return dp, fieldErr(path+".mode", "is required: {kind: longestIdle}, {kind: roundRobin} or {kind: bestWorker}")
	}
	m := p.Mode
	mp := path + ".mode"
	common := []string{"minConcurrentOffers", "maxConcurrentOffers", "bypassSelectors"}
	switch m.Kind {
	case "longestIdle":
		dp.Mode = jobrouter.LongestIdleMode{MinConcurrentOffers: m.MinConcurrentOffers,
			MaxConcurrentOffers: m.MaxConcurrentOffers, BypassSelectors: m.BypassSelectors}
		return dp, m.Set.only(mp, "kind", m.Kind, common...)
	case "roundRobin":
		dp.Mode = jobrouter.RoundRobinMode{MinConcurrentOffers: m.MinConcurrentOffers,
			MaxConcurrentOffers: m.MaxConcurrentOffers, BypassSelectors: m.BypassSelectors}
		return dp, m.Set.only(mp, "kind", m.Kind, common...)
	case "bestWorker":
		bw := jobrouter.BestWorkerMode{MinConcurrentOffers: m.MinConcurrentOffers,
			MaxConcurrentOffers: m.MaxConcurrentOffers, BypassSelectors: m.BypassSelectors}
		if m.ScoringRule != nil {
			r, err := m.ScoringRule.rule(mp + ".scoringRule")
			if err != nil {
				return dp, err
			}
			bw.ScoringRule = r
		}
		if o := m.ScoringRuleOptions; o != nil {
			desc := o.DescendingOrder == nil || *o.DescendingOrder
			bw.ScoringRuleOptions = &jobrouter.ScoringRuleOptions{BatchSize: o.BatchSize,
				IsBatchScoringEnabled: o.IsBatchScoringEnabled, DescendingOrder: desc}
		}
		dp.Mode = bw
		return dp, nil
	case "":
		return dp, fieldErr(mp+".kind", "is required: longestIdle, roundRobin or bestWorker")
	}
	return dp, fieldErr(mp+".kind", "unknown kind %q (longestIdle, roundRobin or bestWorker)", m.Kind)
}

func (r *fileRule) rule(path string) (jobrouter.RouterRule, error) {
	if r == nil {
		return nil, nil
	}
	kind, err := r.Set.infer(path, "kind", r.Kind, map[string]string{"value": "static", "expression": "expression", "url": "webhook"})
	if err != nil {
		return nil, err
	}
	switch kind {
	case "static":
		if !r.Value.set {
			return nil, fieldErr(path+".value", "is required")
		}
		return jobrouter.StaticRule{Value: r.Value.v}, r.Set.only(path, "kind", kind, "value")
	case "directMap":
		return jobrouter.DirectMapRule{}, r.Set.only(path, "kind", kind)
	case "expression":
		if r.Expression == "" {
			return nil, fieldErr(path+".expression", "is required")
		}
		return jobrouter.ExpressionRule{Expression: r.Expression}, r.Set.only(path, "kind", kind, "expression")
	case "webhook":
		return nil, fieldErr(path, "a webhook rule cannot run in a simulation (it would wait on the network); use an expression")
	}
	return nil, fieldErr(path+".kind", "unknown kind %q (static, directMap or expression)", kind)
}

func (s *fileSelector) selector(path string) (jobrouter.WorkerSelector, error) {
	op, err := operator(path+".labelOperator", s.LabelOperator)
	return jobrouter.WorkerSelector{Key: s.Key, LabelOperator: op, Value: s.Value.v,
		ExpiresAfter: time.Duration(s.ExpiresAfter), Expedite: s.Expedite}, err
}

func (s *fileQueueSelector) selector(path string) (jobrouter.QueueSelector, error) {
	op, err := operator(path+".labelOperator", s.LabelOperator)
	return jobrouter.QueueSelector{Key: s.Key, LabelOperator: op, Value: s.Value.v}, err
}

// operator reads a label operator: the library's names or their symbols.
func operator(path, s string) (jobrouter.LabelOperator, error) {
	switch s {
	case "equal", "=", "==":
		return jobrouter.LabelOperatorEqual, nil
	case "notEqual", "!=":
		return jobrouter.LabelOperatorNotEqual, nil
	case "lessThan", "<":
		return jobrouter.LabelOperatorLessThan, nil
	case "lessThanOrEqual", "<=":
		return jobrouter.LabelOperatorLessThanOrEqual, nil
	case "greaterThan", ">":
		return jobrouter.LabelOperatorGreaterThan, nil
	case "greaterThanOrEqual", ">=":
		return jobrouter.LabelOperatorGreaterThanOrEqual, nil
	case "":
		return "", fieldErr(path, "is required: equal, notEqual, lessThan, lessThanOrEqual, greaterThan or greaterThanOrEqual")
	}
	return "", fieldErr(path, "unknown operator %q (equal, notEqual, lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual, or = != < <= > >=)", s)
}

func workerSelectors(path string, in []fileSelector) ([]jobrouter.WorkerSelector, error) {
	var out []jobrouter.WorkerSelector
	for i, s := range in {
		ws, err := s.selector(fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, ws)
	}
	return out, nil
}

func queueSelectors(path string, in []fileQueueSelector) ([]jobrouter.QueueSelector, error) {
	var out []jobrouter.QueueSelector
	for i, s := range in {
		qs, err := s.selector(fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, qs)
	}
	return out, nil
}

func (p *fileClassificationPolicy) policy(path string) (jobrouter.ClassificationPolicy, error) {
	cp := jobrouter.ClassificationPolicy{ID: p.ID, Name: p.Name, FallbackQueueID: p.FallbackQueueID}
	var err error
	if cp.PrioritizationRule, err = p.PrioritizationRule.rule(path + ".prioritizationRule"); err != nil {
		return cp, err
	}
	for i, a := range p.QueueSelectorAttachments {
		qa, err := a.attachment(fmt.Sprintf("%s.queueSelectorAttachments[%d]", path, i))
		if err != nil {
			return cp, err
		}
		cp.QueueSelectorAttachments = append(cp.QueueSelectorAttachments, qa)
	}
	for i, a := range p.WorkerSelectorAttachments {
		wa, err := a.attachment(fmt.Sprintf("%s.workerSelectorAttachments[%d]", path, i))
		if err != nil {
			return cp, err
		}
		cp.WorkerSelectorAttachments = append(cp.WorkerSelectorAttachments, wa)
	}
	return cp, nil
}

const attachmentKinds = "static, conditional, passThrough, ruleEngine or weightedAllocation"

func (a *fileQueueAttachment) attachment(path string) (jobrouter.QueueSelectorAttachment, error) {
	switch a.Kind {
	case "static":
		if a.QueueSelector == nil {
			return nil, fieldErr(path+".queueSelector", "is required")
		}
		s, err := a.QueueSelector.selector(path + ".queueSelector")
		if err != nil {
			return nil, err
		}
		return jobrouter.StaticQueueSelectorAttachment{QueueSelector: s}, a.Set.only(path, "kind", a.Kind, "queueSelector")
	case "conditional":
		if a.Condition == nil {
			return nil, fieldErr(path+".condition", "is required")
		}
		c, err := a.Condition.rule(path + ".condition")
		if err != nil {
			return nil, err
		}
		ss, err := queueSelectors(path+".queueSelectors", a.QueueSelectors)
		if err != nil {
			return nil, err
		}
		return jobrouter.ConditionalQueueSelectorAttachment{Condition: c, QueueSelectors: ss},
			a.Set.only(path, "kind", a.Kind, "condition", "queueSelectors")
	case "passThrough":
		op, err := operator(path+".labelOperator", a.LabelOperator)
		if err != nil {
			return nil, err
		}
		return jobrouter.PassThroughQueueSelectorAttachment{Key: a.Key, LabelOperator: op},
			a.Set.only(path, "kind", a.Kind, "key", "labelOperator")
	case "ruleEngine":
		if a.Rule == nil {
			return nil, fieldErr(path+".rule", "is required")
		}
		r, err := a.Rule.rule(path + ".rule")
		if err != nil {
			return nil, err
		}
		return jobrouter.RuleEngineQueueSelectorAttachment{Rule: r}, a.Set.only(path, "kind", a.Kind, "rule")
	case "weightedAllocation":
		var out jobrouter.WeightedAllocationQueueSelectorAttachment
		for i, al := range a.Allocations {
			ss, err := queueSelectors(fmt.Sprintf("%s.allocations[%d].queueSelectors", path, i), al.QueueSelectors)
			if err != nil {
				return nil, err
			}
			out.Allocations = append(out.Allocations, jobrouter.QueueWeightedAllocation{Weight: al.Weight, QueueSelectors: ss})
		}
		return out, a.Set.only(path, "kind", a.Kind, "allocations")
	case "":
		return nil, fieldErr(path+".kind", "is required: "+attachmentKinds)
	}
	return nil, fieldErr(path+".kind", "unknown kind %q (%s)", a.Kind, attachmentKinds)
}

func (a *fileWorkerAttachment) attachment(path string) (jobrouter.WorkerSelectorAttachment, error) {
	switch a.Kind {
	case "static":
		if a.WorkerSelector == nil {
			return nil, fieldErr(path+".workerSelector", "is required")
		}
		s, err := a.WorkerSelector.selector(path + ".workerSelector")
		if err != nil {
			return nil, err
		}
		return jobrouter.StaticWorkerSelectorAttachment{WorkerSelector: s}, a.Set.only(path, "kind", a.Kind, "workerSelector")
	case "conditional":
		if a.Condition == nil {
			return nil, fieldErr(path+".condition", "is required")
		}
		c, err := a.Condition.rule(path + ".condition")
		if err != nil {
			return nil, err
		}
		ss, err := workerSelectors(path+".workerSelectors", a.WorkerSelectors)
		if err != nil {
			return nil, err
		}
		return jobrouter.ConditionalWorkerSelectorAttachment{Condition: c, WorkerSelectors: ss},
			a.Set.only(path, "kind", a.Kind, "condition", "workerSelectors")
	case "passThrough":
		op, err := operator(path+".labelOperator", a.LabelOperator)
		if err != nil {
			return nil, err
		}
		return jobrouter.PassThroughWorkerSelectorAttachment{Key: a.Key, LabelOperator: op, ExpiresAfter: time.Duration(a.ExpiresAfter)},
			a.Set.only(path, "kind", a.Kind, "key", "labelOperator", "expiresAfter")
	case "ruleEngine":
		if a.Rule == nil {
			return nil, fieldErr(path+".rule", "is required")
		}
		r, err := a.Rule.rule(path + ".rule")
		if err != nil {
			return nil, err
		}
		return jobrouter.RuleEngineWorkerSelectorAttachment{Rule: r}, a.Set.only(path, "kind", a.Kind, "rule")
	case "weightedAllocation":
		var out jobrouter.WeightedAllocationWorkerSelectorAttachment
		for i, al := range a.Allocations {
			ss, err := workerSelectors(fmt.Sprintf("%s.allocations[%d].workerSelectors", path, i), al.WorkerSelectors)
			if err != nil {
				return nil, err
			}
			out.Allocations = append(out.Allocations, jobrouter.WorkerWeightedAllocation{Weight: al.Weight, WorkerSelectors: ss})
		}
		return out, a.Set.only(path, "kind", a.Kind, "allocations")
	case "":
		return nil, fieldErr(path+".kind", "is required: "+attachmentKinds)
	}
	return nil, fieldErr(path+".kind", "unknown kind %q (%s)", a.Kind, attachmentKinds)
}

func (p *fileExceptionPolicy) policy(path string) (jobrouter.ExceptionPolicy, error) {
	ep := jobrouter.ExceptionPolicy{ID: p.ID, Name: p.Name}
	for i, r := range p.ExceptionRules {
		rp := fmt.Sprintf("%s.exceptionRules[%d]", path, i)
		rule := jobrouter.ExceptionRule{ID: r.ID}
		if r.Trigger == nil {
			return ep, fieldErr(rp+".trigger", "is required: {kind: waitTime, threshold: 30s} or {kind: queueLength, threshold: 10}")
		}
		tr, err := r.Trigger.trigger(rp + ".trigger")
		if err != nil {
			return ep, err
		}
		rule.Trigger = tr
		for k, a := range r.Actions {
			act, err := a.action(fmt.Sprintf("%s.actions[%d]", rp, k))
			if err != nil {
				return ep, err
			}
			rule.Actions = append(rule.Actions, act)
		}
		ep.ExceptionRules = append(ep.ExceptionRules, rule)
	}
	return ep, nil
}

func (t *fileTrigger) trigger(path string) (jobrouter.ExceptionTrigger, error) {
	if err := t.Set.only(path, "kind", t.Kind, "threshold"); err != nil {
		return nil, err
	}
	if t.Threshold.Kind == 0 {
		return nil, fieldErr(path+".threshold", "is required")
	}
	n := &t.Threshold
	switch t.Kind {
	case "queueLength":
		var v int
		if err := (&decoder{}).decode(n, reflectValue(&v), path+".threshold"); err != nil {
			return nil, err
		}
		return jobrouter.QueueLengthTrigger{Threshold: v}, nil
	case "waitTime":
		d, err := parseDuration(resolve(n))
		if err != nil {
			return nil, &FieldError{Line: n.Line, Path: path + ".threshold", Msg: err.Error()}
		}
		return jobrouter.WaitTimeTrigger{Threshold: d}, nil
	case "":
		return nil, fieldErr(path+".kind", "is required: waitTime or queueLength")
	}
	return nil, fieldErr(path+".kind", "unknown kind %q (waitTime or queueLength)", t.Kind)
}

func (a *fileAction) action(path string) (jobrouter.ExceptionAction, error) {
	switch a.Kind {
	case "cancel":
		return jobrouter.CancelAction{ID: a.ID, Note: a.Note, DispositionCode: a.DispositionCode},
			a.Set.only(path, "kind", a.Kind, "id", "note", "dispositionCode")
	case "manualReclassify":
		ss, err := workerSelectors(path+".workerSelectors", a.WorkerSelectors)
		if err != nil {
			return nil, err
		}
		return jobrouter.ManualReclassifyAction{ID: a.ID, QueueID: a.QueueID, Priority: a.Priority, WorkerSelectors: ss},
			a.Set.only(path, "kind", a.Kind, "id", "queueId", "priority", "workerSelectors")
	case "reclassify":
		return jobrouter.ReclassifyAction{ID: a.ID, ClassificationPolicyID: a.ClassificationPolicyID,
				LabelsToUpsert: jobrouter.Labels(a.LabelsToUpsert)},
			a.Set.only(path, "kind", a.Kind, "id", "classificationPolicyId", "labelsToUpsert")
	case "":
		return nil, fieldErr(path+".kind", "is required: cancel, manualReclassify or reclassify")
	}
	return nil, fieldErr(path+".kind", "unknown kind %q (cancel, manualReclassify or reclassify)", a.Kind)
}
