package engine

import (
	"fmt"
	"math"
	"sort"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// RuleKind says how the engine evaluates a rule.
type RuleKind uint8

// Rule kinds.
const (
	// RuleStatic returns Rule.Value.
	RuleStatic RuleKind = iota + 1
	// RuleDirectMap returns the job's labels.
	RuleDirectMap
	// RuleSync is evaluated by calling Rule.Eval inside the engine: it must be pure
	// and fast (an expression, a Go function). Its panics are recovered.
	RuleSync
	// RuleAsync is I/O (a webhook): the engine never calls it. A job whose
	// classification needs one waits in pendingClassification while the shell
	// evaluates it outside the lock (TakeRuleRequests) and hands the answer back
	// (ApplyRuleResults).
	RuleAsync
)

// Rule is a router rule: it maps a job's labels to a value.
type Rule struct {
	Kind  RuleKind
	Value any                       // RuleStatic
	Eval  func(Labels) (any, error) // RuleSync and RuleAsync
	// Origin is the caller's rule, kept for read-back.
	Origin any
}

// RuleRequest asks the shell to evaluate asynchronous rules for a job.
type RuleRequest struct {
	JobID  string
	Token  uint64 // echoes back in ApplyRuleResults; a stale token is ignored
	Labels Labels
	Rules  []*Rule
}

// RuleResult is the answer of one asynchronous rule.
type RuleResult struct {
	Value any
	Err   error
}

// ruleEval evaluates rules during one classification: synchronous rules are called,
// asynchronous ones are looked up in the answers the shell gave.
type ruleEval struct {
	labels  Labels
	answers map[*Rule]RuleResult
	missing []*Rule // asynchronous rules without an answer yet
}

// eval returns the rule's value. ok is false when the rule is asynchronous and has no
// answer yet.
func (r *ruleEval) eval(rule *Rule) (v any, ok bool, err error) {
	switch rule.Kind {
	case RuleStatic:
		return rule.Value, true, nil
	case RuleDirectMap:
		return r.labels, true, nil
	case RuleSync:
		v, err = safeEval(rule.Eval, r.labels)
		return v, true, err
	case RuleAsync:
		a, found := r.answers[rule]
		if !found {
			r.missing = append(r.missing, rule)
			return nil, false, nil
		}
		return a.Value, true, a.Err
	}
	return nil, true, fmt.Errorf("unknown rule kind")
}

func safeEval(f func(Labels) (any, error), l Labels) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rule panicked: %v", p)
		}
	}()
	return f(l)
}

// ruleInt reads a rule's value as an integer priority.
func ruleInt(v any) (int, error) {
	f, ok := labels.Number(v)
	if !ok || f != math.Trunc(f) {
		return 0, fmt.Errorf("a prioritization rule must return an integer, got %v (%T)", v, v)
	}
	if f < -100 || f > 100 {
		return 0, fmt.Errorf("a prioritization rule returned %v, outside -100..100", f)
	}
	return int(f), nil
}

// ruleBool reads a condition's value.
func ruleBool(v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("a condition must return a bool, got %v (%T)", v, v)
	}
	return b, nil
}

// ruleSelectors reads a rule-engine attachment's value as selectors: []Selector, a
// single Selector, or a map of labels (each entry an Equal selector, in key order,
// as a direct-map rule gives).
func ruleSelectors(v any) ([]Selector, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []Selector:
		return x, nil
	case Selector:
		return []Selector{x}, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]Selector, 0, len(keys))
		for _, k := range keys {
			out = append(out, Selector{Key: k, Op: labels.Equal, Value: x[k]})
		}
		return out, nil
	}
	return nil, fmt.Errorf("a rule-engine attachment's rule must return selectors, got %T", v)
}

// checkSelectors validates selectors a rule produced at routing time.
func checkSelectors(sels []Selector) error {
	for i := range sels {
		s := &sels[i]
		switch {
		case s.Key == "":
			return fmt.Errorf("a rule produced a selector with an empty key")
		case !s.Op.Valid():
			return fmt.Errorf("a rule produced selector %q with unknown operator %q", s.Key, s.Op)
		case labels.Validate(s.Value) != nil:
			return fmt.Errorf("a rule produced selector %q with an unsupported value %v (%T)", s.Key, s.Value, s.Value)
		case s.Op.Ordering() && !labels.IsNumber(s.Value):
			return fmt.Errorf("a rule produced selector %q: %s needs a number", s.Key, s.Op)
		case s.ExpiresAfter < 0:
			return fmt.Errorf("a rule produced selector %q with a negative ExpiresAfter", s.Key)
		}
	}
	return nil
}
