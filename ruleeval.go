package jobrouter

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// Rule compilation: a RouterRule becomes an engine.Rule once, when the policy that
// holds it is upserted, so that every check that can be made early (an expression's
// syntax and types, a webhook's URL, a static value's type) fails the upsert rather
// than a job. The engine keeps the caller's rule as Origin for read-back.

// ruleUse is what a rule's value is used for; it decides which values are valid.
type ruleUse uint8

const (
	usePriority        ruleUse = iota + 1 // an integer in -100..100
	useCondition                          // a bool
	useQueueSelectors                     // queue selectors
	useWorkerSelectors                    // worker selectors
)

func (u ruleUse) selectors() bool { return u == useQueueSelectors || u == useWorkerSelectors }

// ruleCompiler turns RouterRules into engine rules. The Router has one; the closures
// it makes capture it, so they see the Router's timeouts, HTTP client and lifetime.
type ruleCompiler struct {
	ctx            context.Context    // cancelled by Close: aborts webhook requests in flight
	stop           context.CancelFunc // cancels ctx
	funcTimeout    time.Duration      // Options.RuleTimeout
	webhookTimeout time.Duration      // Options.WebhookTimeout
	client         *http.Client       // Options.WebhookClient, or the Router's own
	own            *http.Transport    // the Router's own client's transport; nil with Options.WebhookClient
	slots          chan struct{}      // Options.MaxConcurrentWebhooks: one token per classification in flight
}

// toEngine compiles r for use. A nil r gives a nil rule. The error says what is wrong
// with r; the caller wraps it as ErrInvalidArgument.
func (c *ruleCompiler) toEngine(r RouterRule, use ruleUse) (*engine.Rule, error) {
	switch r := r.(type) {
	case nil:
		return nil, nil
	case StaticRule:
		v, err := staticValue(r.Value, use)
		if err != nil {
			return nil, err
		}
		return &engine.Rule{Kind: engine.RuleStatic, Value: v, Origin: cloneRule(r)}, nil
	case DirectMapRule:
		if !use.selectors() {
			return nil, fmt.Errorf("a DirectMapRule returns the job's labels: use it in a rule-engine attachment, not for a priority or a condition")
		}
		return &engine.Rule{Kind: engine.RuleDirectMap, Origin: r}, nil
	case ExpressionRule:
		prog, err := compileJobExpression(r.Expression, use)
		if err != nil {
			return nil, err
		}
		return &engine.Rule{Kind: engine.RuleSync, Eval: func(l engine.Labels) (any, error) {
			v, err := expr.Run(prog, map[string]any{"job": l})
			if err != nil {
				return nil, fmt.Errorf("expression %q: %w", r.Expression, err)
			}
			return normalizeRuleValue(v)
		}, Origin: r}, nil
	case FuncRule:
		if r.Func == nil {
			return nil, fmt.Errorf("a FuncRule needs a Func")
		}
		return &engine.Rule{Kind: engine.RuleSync, Eval: c.funcEval(r.Func), Origin: r}, nil
	case WebhookRule:
		if err := checkWebhookURL(r.URL); err != nil {
			return nil, err
		}
		if r.Timeout < 0 {
			return nil, fmt.Errorf("a WebhookRule's Timeout must not be negative")
		}
		timeout := r.Timeout
		if timeout == 0 {
			timeout = c.webhookTimeout
		}
		return &engine.Rule{Kind: engine.RuleAsync, Eval: func(l engine.Labels) (any, error) {
			return c.callWebhook(r.URL, timeout, l)
		}, Origin: r}, nil
	}
	return nil, fmt.Errorf("unsupported rule %T: give StaticRule, DirectMapRule, ExpressionRule, FuncRule or WebhookRule as a value, not a pointer", r)
}

// ruleFromEngine returns the caller's rule that r was compiled from (a copy of it).
func ruleFromEngine(r *engine.Rule) RouterRule {
	if r == nil {
		return nil
	}
	rr, _ := r.Origin.(RouterRule)
	return cloneRule(rr)
}

// cloneRule copies the slices a StaticRule's Value may hold, so that neither the
// caller's rule nor a returned one aliases what the Router keeps.
func cloneRule(r RouterRule) RouterRule {
	s, ok := r.(StaticRule)
	if !ok {
		return r
	}
	switch v := s.Value.(type) {
	case []WorkerSelector:
		s.Value = slices.Clone(v)
	case []QueueSelector:
		s.Value = slices.Clone(v)
	case Labels:
		s.Value = maps.Clone(v)
	case map[string]any:
		s.Value = maps.Clone(v)
	}
	return s
}

// staticValue checks a StaticRule's value for use and converts it for the engine:
// selectors become []engine.Selector.
func staticValue(v any, use ruleUse) (any, error) {
	switch use {
	case usePriority:
		f, ok := labels.Number(v)
		if !ok || f != math.Trunc(f) || f < -100 || f > 100 {
			return nil, fmt.Errorf("a prioritization StaticRule needs an integer in -100..100, got %v (%T)", v, v)
		}
		return v, nil
	case useCondition:
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("a condition StaticRule needs a bool, got %v (%T)", v, v)
		}
		return v, nil
	}
	n, err := normalizeRuleValue(v)
	if err != nil {
		return nil, err
	}
	switch x := n.(type) {
	case nil, []engine.Selector:
		return n, nil
	case map[string]any:
		if err := labels.ValidateMap(x); err != nil {
			return nil, err
		}
		return maps.Clone(x), nil
	}
	return nil, fmt.Errorf("a rule-engine StaticRule needs selectors ([]WorkerSelector, []QueueSelector, a single selector or Labels), got %T", v)
}

// compileJobExpression compiles an expression over a job's labels, visible as
// job.<key> (or job["key"]). A label the job lacks is nil, and **(ours, as Azure's
// PowerFx treats a blank)** nil is false wherever a truth value is expected: the
// condition of `c ? a : b` and of a conditional attachment, and the operands of
// `&&`, `||` and `!`. So `job.Escalated ? 10 : 1` gives 1 for a job without the label.
func compileJobExpression(src string, use ruleUse) (*vm.Program, error) {
	if src == "" {
		return nil, fmt.Errorf("an ExpressionRule needs an Expression")
	}
	opts := []expr.Option{expr.Env(map[string]any{"job": map[string]any{}}), expr.DisableBuiltin("now"), expr.Patch(truthy{})}
	if use == useCondition {
		opts = append(opts, expr.AsBool())
		src = "(" + src + ") == true"
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %v", src, err)
	}
	if use == usePriority && !maybeNumber(prog) {
		return nil, fmt.Errorf("expression %q: a prioritization rule must give a number, this gives %s", src, prog.Node().Type())
	}
	return prog, nil
}

// maybeNumber reports whether a compiled expression may give a number: its static
// type is a number or unknown (a label's value is known only when the rule runs).
func maybeNumber(prog *vm.Program) bool {
	t := prog.Node().Type()
	if t == nil {
		return true
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// funcEval adapts a FuncRule's Func for the engine, which calls it under the
// Router's lock: Func gets a context with the RuleTimeout and its own copy of the
// labels; a panic is recovered as an error, and so is a return after the deadline.
func (c *ruleCompiler) funcEval(f func(context.Context, Labels) (any, error)) func(engine.Labels) (any, error) {
	type result struct {
		v   any
		err error
	}
	return func(l engine.Labels) (any, error) {
		ctx, cancel := context.WithTimeout(c.ctx, c.funcTimeout)
		defer cancel()
		// The function runs on its own goroutine so that the deadline holds even for
		// a function that ignores ctx: the Router's lock is held for at most
		// RuleTimeout. A function that never returns leaks only its own goroutine.
		done := make(chan result, 1)
		in := labelsFromEngine(l)
		go func() {
			v, err := callRuleFunc(ctx, f, in)
			done <- result{v, err}
		}()
		select {
		case r := <-done:
			if r.err != nil {
				return nil, r.err
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("rule function did not return within %s", c.funcTimeout)
			}
			return normalizeRuleValue(r.v)
		case <-ctx.Done():
			return nil, fmt.Errorf("rule function did not return within %s", c.funcTimeout)
		}
	}
}

func callRuleFunc(ctx context.Context, f func(context.Context, Labels) (any, error), l Labels) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("rule function panicked: %v", p)
		}
	}()
	v, err = f(ctx, l)
	if err != nil {
		err = fmt.Errorf("rule function: %w", err)
	}
	return v, err
}

// checkWebhookURL accepts an absolute http or https URL with a host.
func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("a WebhookRule's URL is malformed: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("a WebhookRule's URL must be an absolute http or https URL, got %q", s)
	}
	return nil
}

// normalizeRuleValue turns what a rule returned into what the engine reads. Every
// form of selectors becomes []engine.Selector: []WorkerSelector, []QueueSelector, a
// single WorkerSelector or QueueSelector, and the JSON shape — an object with
// "key", "labelOperator", "value" and optionally "expiresAfterSeconds" and
// "expedite", or an array of such objects (an empty array is no selectors). Labels
// becomes a plain map (read as Equal selectors by a rule-engine attachment). Other
// values are left as they are.
func normalizeRuleValue(v any) (any, error) {
	switch x := v.(type) {
	case []engine.Selector:
		return x, nil
	case engine.Selector:
		return []engine.Selector{x}, nil
	case WorkerSelector:
		return []engine.Selector{selectorToEngine(x)}, nil
	case []WorkerSelector:
		return selectorsToEngine(x), nil
	case QueueSelector:
		return []engine.Selector{queueSelectorToEngine(x)}, nil
	case []QueueSelector:
		return queueSelectorsToEngine(x), nil
	case Labels:
		return map[string]any(x), nil
	case map[string]any:
		if !selectorShaped(x) {
			return x, nil
		}
		s, err := selectorFromJSON(x)
		if err != nil {
			return nil, err
		}
		return []engine.Selector{s}, nil
	case []map[string]any:
		items := make([]any, len(x))
		for i, m := range x {
			items[i] = m
		}
		return normalizeRuleValue(items)
	case []any:
		for _, it := range x {
			m, ok := it.(map[string]any)
			if !ok || !selectorShaped(m) {
				return x, nil
			}
		}
		out := make([]engine.Selector, len(x))
		for i, it := range x {
			s, err := selectorFromJSON(it.(map[string]any))
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	return v, nil
}

// selectorShaped reports whether m looks like a selector in JSON form.
func selectorShaped(m map[string]any) bool {
	_, k := m["key"]
	_, op := m["labelOperator"]
	return k && op
}

// selectorFromJSON reads a selector in JSON form (see normalizeRuleValue).
func selectorFromJSON(m map[string]any) (engine.Selector, error) {
	key, ok := m["key"].(string)
	if !ok {
		return engine.Selector{}, fmt.Errorf("a selector's \"key\" must be a string, got %T", m["key"])
	}
	op, ok := m["labelOperator"].(string)
	if !ok {
		return engine.Selector{}, fmt.Errorf("selector %q: \"labelOperator\" must be a string, got %T", key, m["labelOperator"])
	}
	s := engine.Selector{Key: key, Op: labels.Operator(op), Value: m["value"]}
	if e, present := m["expiresAfterSeconds"]; present && e != nil {
		f, ok := labels.Number(e)
		if !ok || f < 0 || f > math.MaxInt64/float64(time.Second) {
			return engine.Selector{}, fmt.Errorf("selector %q: \"expiresAfterSeconds\" must be a non-negative number, got %v", key, e)
		}
		s.ExpiresAfter = time.Duration(f * float64(time.Second))
	}
	if x, present := m["expedite"]; present && x != nil {
		b, ok := x.(bool)
		if !ok {
			return engine.Selector{}, fmt.Errorf("selector %q: \"expedite\" must be a bool, got %T", key, x)
		}
		s.Expedite = b
	}
	return s, nil
}

func queueSelectorToEngine(s QueueSelector) engine.Selector {
	return engine.Selector{Key: s.Key, Op: labels.Operator(s.LabelOperator), Value: s.Value}
}

func queueSelectorsToEngine(s []QueueSelector) []engine.Selector {
	if s == nil {
		return nil
	}
	out := make([]engine.Selector, len(s))
	for i, x := range s {
		out[i] = queueSelectorToEngine(x)
	}
	return out
}

// Scoring rules.

// scoringToEngine converts BestWorkerMode's scorer: a ScoringFunc, or an
// ExpressionRule over the job's labels, the worker's labels and the job's selectors.
// It returns the engine's score function, the origin kept for read-back (the
// ScoringFunc or the rule) and, when the scorer is invalid, the reason.
func scoringToEngine(rule RouterRule, fn func(context.Context, ScoringInput) (float64, error)) (engine.ScoreFunc, any, string) {
	switch {
	case rule != nil && fn != nil:
		return nil, nil, "give a ScoringRule or a ScoringFunc, not both"
	case fn != nil:
		return scoreFuncToEngine(fn), fn, ""
	case rule == nil:
		return nil, nil, ""
	}
	switch r := rule.(type) {
	case ExpressionRule:
		f, err := compileScoringExpression(r.Expression)
		if err != nil {
			return nil, nil, err.Error()
		}
		return f, r, ""
	case WebhookRule:
		return nil, nil, "a WebhookRule cannot score workers: scoring runs under the Router's lock and a webhook would block it; use ScoringFunc"
	}
	return nil, nil, fmt.Sprintf("unsupported scoring rule %T: give an ExpressionRule (or use ScoringFunc)", rule)
}

// scoringRuleFromEngine returns the ExpressionRule a mode's score was compiled from.
func scoringRuleFromEngine(m engine.Mode) RouterRule {
	r, _ := m.ScoreOrigin.(RouterRule)
	return r
}

// compileScoringExpression compiles a scoring expression. Its environment: job and
// worker (their labels; a missing label is nil) and selectors (the job's active
// selectors, each {key, labelOperator, value, expiresAfterSeconds, expedite}). It
// must give a number.
func compileScoringExpression(src string) (engine.ScoreFunc, error) {
	if src == "" {
		return nil, fmt.Errorf("an ExpressionRule needs an Expression")
	}
	env := map[string]any{"job": map[string]any{}, "worker": map[string]any{}, "selectors": []any{}}
	prog, err := expr.Compile(src, expr.Env(env), expr.DisableBuiltin("now"), expr.Patch(truthy{}))
	if err != nil {
		return nil, fmt.Errorf("scoring expression %q: %v", src, err)
	}
	if !maybeNumber(prog) {
		return nil, fmt.Errorf("scoring expression %q must give a number, this gives %s", src, prog.Node().Type())
	}
	return func(in engine.ScoringInput) (float64, error) {
		sels := make([]any, len(in.Selectors))
		for i, s := range in.Selectors {
			sels[i] = map[string]any{"key": s.Key, "labelOperator": string(s.Op), "value": s.Value,
				"expiresAfterSeconds": s.ExpiresAfter.Seconds(), "expedite": s.Expedite}
		}
		v, err := expr.Run(prog, map[string]any{"job": in.JobLabels, "worker": in.WorkerLabels, "selectors": sels})
		if err != nil {
			return 0, fmt.Errorf("scoring expression %q: %w", src, err)
		}
		f, ok := labels.Number(v)
		if !ok || math.IsNaN(f) {
			return 0, fmt.Errorf("scoring expression %q gave %v (%T), not a number", src, v, v)
		}
		return f, nil
	}, nil
}

// truthy rewrites every place that expects a truth value, x, as (x) == true, so that
// nil (a missing label) reads as false instead of failing the rule.
type truthy struct{}

// Visit implements ast.Visitor.
func (truthy) Visit(node *ast.Node) {
	wrap := func(x ast.Node) ast.Node {
		return &ast.BinaryNode{Operator: "==", Left: x, Right: &ast.BoolNode{Value: true}}
	}
	switch n := (*node).(type) {
	case *ast.ConditionalNode:
		n.Cond = wrap(n.Cond)
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "||", "and", "or":
			n.Left, n.Right = wrap(n.Left), wrap(n.Right)
		}
	case *ast.UnaryNode:
		switch n.Operator {
		case "!", "not":
			n.Node = wrap(n.Node)
		}
	}
}
