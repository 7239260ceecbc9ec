package jobrouter

import (
	"context"
	"time"
)

// RouterRule computes a value from a job's labels: a priority, a condition, queue or
// worker selectors, or a worker's score. It is one of StaticRule, DirectMapRule,
// ExpressionRule, FuncRule and WebhookRule, given as a value (not a pointer).
//
// Rules are used by classification policies (PrioritizationRule, the Condition of a
// conditional attachment, the Rule of a rule-engine attachment) and by
// BestWorkerMode.ScoringRule (an ExpressionRule only). A rule is checked and
// compiled when the policy holding it is upserted; a policy read back holds the
// rule as it was given.
//
// What a rule gives must suit its use: a priority is an integer in -100..100 (a
// whole float such as 10.0 will do), a condition a bool, and a rule-engine
// attachment's value selectors: []WorkerSelector or []QueueSelector, a single
// selector, Labels (each label an Equal selector), or the JSON shape — an array of
// objects {"key", "labelOperator", "value", "expiresAfterSeconds", "expedite"} (the
// last two for worker selectors only). A rule that fails or gives an unsuitable
// value fails the job's classification (JobClassificationFailed with the reason);
// it never crashes the Router.
type RouterRule interface {
	isRouterRule()
}

// StaticRule always gives Value. Value is checked at upsert against the rule's use:
// an integer in -100..100 for a priority, a bool for a condition, selectors for a
// rule-engine attachment.
type StaticRule struct {
	// Value is the rule's result.
	Value any
}

// DirectMapRule gives the job's labels unchanged. Used by a rule-engine attachment,
// it turns each label into an Equal selector on the same key; it is
// ErrInvalidArgument as a priority or a condition.
type DirectMapRule struct{}

// ExpressionRule evaluates Expression, in the expression language of
// github.com/expr-lang/expr, over the job's labels, visible as job.<key> (or
// job["key"] for keys that are not identifiers): `job.Escalated ? 10 : 1`,
// `job.Tier == "gold"`, `job.Age >= 65 && job.Language in ["fr", "de"]`. A label
// the job lacks is nil, and **(ours, as Azure's PowerFx treats a blank)** nil is
// false wherever a truth value is expected (the condition of `c ? a : b` or of a
// conditional attachment, the operands of &&, || and !): `job.Escalated ? 10 : 1`
// gives 1 for a job without the label.
//
// The expression is compiled once, when its policy is upserted: a syntax error, an
// unknown name or a type error is ErrInvalidArgument then, not a failed job later.
// It runs under the Router's lock and is pure: the wall-clock builtin now() is not
// available, so the same labels always give the same value.
type ExpressionRule struct {
	// Expression is the expression to evaluate. Required.
	Expression string
}

// FuncRule calls Func, a Go function, with a copy of the job's labels. Func runs
// under the Router's lock: it must be fast, must not block and must not call the
// Router. Its context expires after Options.RuleTimeout (1 second by default), and
// the Router waits no longer than that: a Func still running then fails the job's
// classification (it is left to finish on its own goroutine, and its result is
// dropped). A panic in Func is recovered and, like an error it returns, fails the
// job's classification with the reason.
type FuncRule struct {
	// Func computes the rule's result. Required.
	Func func(ctx context.Context, labels Labels) (any, error)
}

// WebhookRule POSTs the job's labels as a JSON object (Content-Type
// application/json) to URL and takes the decoded JSON response (status 2xx) as the
// rule's value: a JSON number that is an integer becomes an int64 (so 10 can be a
// priority), any other number a float64; an object with "key" and "labelOperator",
// or an array of them, becomes selectors (see RouterRule).
//
// A webhook is I/O, so it never runs under the Router's lock: a job whose
// classification needs one waits in JobStatusPendingClassification while the Router
// calls it on a goroutine of its own, and is classified when the answer comes (see
// CreateJob). A non-2xx status, a body that is not JSON, a transport error or no
// answer within the timeout fails the job's classification with the reason. Close
// aborts the requests in flight. Requests are sent by Options.WebhookClient.
//
// A WebhookRule cannot be a BestWorkerMode.ScoringRule (ErrInvalidArgument):
// scoring runs under the lock; use ScoringFunc.
type WebhookRule struct {
	// URL is the endpoint: an absolute http or https URL. Required.
	URL string
	// Timeout bounds each request, in real time. Defaults to 0: the Router's
	// Options.WebhookTimeout (5 seconds by default). Negative is ErrInvalidArgument.
	Timeout time.Duration
}

func (StaticRule) isRouterRule()     {}
func (DirectMapRule) isRouterRule()  {}
func (ExpressionRule) isRouterRule() {}
func (FuncRule) isRouterRule()       {}
func (WebhookRule) isRouterRule()    {}
