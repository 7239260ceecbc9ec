package jobrouter

import (
	"context"
	"time"
)

// RouterRule computes a value from a job's labels: a queue choice, a priority, worker
// selectors or a worker's score. It is one of StaticRule, DirectMapRule,
// ExpressionRule, FuncRule and WebhookRule, given as a value (not a pointer).
//
// Rules are used by classification policies and by BestWorkerMode.ScoringRule;
// neither is supported yet (use BestWorkerMode.ScoringFunc for Go scoring).
type RouterRule interface {
	isRouterRule()
}

// StaticRule always returns Value.
type StaticRule struct {
	// Value is the rule's result: a string, bool, integer or finite float.
	Value any
}

// DirectMapRule returns the job's labels unchanged.
type DirectMapRule struct{}

// ExpressionRule evaluates Expression over the job's labels.
type ExpressionRule struct {
	// Expression is the expression to evaluate. Required.
	Expression string
}

// FuncRule calls Func, a Go function, with a copy of the job's labels. Func runs
// under the Router's lock: it must be fast, must not block and must not call the
// Router. A panic in it is recovered and treated as the rule's failure.
type FuncRule struct {
	// Func computes the rule's result. Required.
	Func func(ctx context.Context, labels Labels) (any, error)
}

// WebhookRule POSTs the job's labels as JSON to URL and reads the result from the
// JSON response.
type WebhookRule struct {
	// URL is the endpoint. Required.
	URL string
	// Timeout bounds the request. Defaults to 0: the Router's default.
	Timeout time.Duration
}

func (StaticRule) isRouterRule()     {}
func (DirectMapRule) isRouterRule()  {}
func (ExpressionRule) isRouterRule() {}
func (FuncRule) isRouterRule()       {}
func (WebhookRule) isRouterRule()    {}
