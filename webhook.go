package jobrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// Webhooks. A WebhookRule is I/O, so it never runs under the Router's lock (DESIGN
// rule 3): the engine parks a job whose classification needs one in
// pendingClassification and asks for the answer (engine.RuleRequest); after each
// operation the shell takes those requests and evaluates each on a goroutine of its
// own, then applies the answers in a new locked step (which may ask again, when the
// policy changed meanwhile). Close cancels the requests in flight and waits for
// these goroutines.

// maxWebhookResponse bounds the body read from a webhook (1 MiB).
const maxWebhookResponse = 1 << 20

// defaultMaxConcurrentWebhooks is Options.MaxConcurrentWebhooks's default.
const defaultMaxConcurrentWebhooks = 64

// startRuleRequests starts a goroutine for each rule evaluation the engine waits
// for. Called with r.mu held, on a Router that is not closed, so that Close (which
// sets closed under r.mu before it waits) never waits while one is being added.
func (r *Router) startRuleRequests() {
	for _, req := range r.eng.TakeRuleRequests() {
		r.ruleWG.Add(1)
		go r.evaluateRules(req)
	}
}

// evaluateRules evaluates a request's rules concurrently, outside the lock, then
// applies the answers.
func (r *Router) evaluateRules(req engine.RuleRequest) {
	defer r.ruleWG.Done()
	select {
	case r.rules.slots <- struct{}{}:
		defer func() { <-r.rules.slots }()
	case <-r.rules.ctx.Done():
		return // the Router is closing
	}
	results := make([]engine.RuleResult, len(req.Rules))
	done := make(chan struct{}, len(req.Rules))
	for i, rule := range req.Rules {
		go func() {
			defer func() { done <- struct{}{} }()
			v, err := evalAsync(rule, req.Labels)
			results[i] = engine.RuleResult{Value: v, Err: err}
		}()
	}
	for range req.Rules {
		<-done
	}
	r.applyRuleResults(req, results)
}

// evalAsync calls an asynchronous rule, recovering a panic as an error.
func evalAsync(rule *engine.Rule, l engine.Labels) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("rule panicked: %v", p)
		}
	}()
	return rule.Eval(l)
}

// applyRuleResults hands a request's answers to the engine, as one locked step: fire
// due deadlines, apply, publish, re-arm and start the evaluations the step asks for.
// It does nothing once the Router is closed.
func (r *Router) applyRuleResults(req engine.RuleRequest, results []engine.RuleResult) {
	r.mu.Lock()
	defer r.bus.help() // after the unlock: delivers to a parked subscriber
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	now := r.now()
	_ = r.safely(func() error {
		r.eng.Advance(now)
		r.eng.ApplyRuleResults(now, req.JobID, req.Token, results)
		return nil
	})
	r.flush()
}

// callWebhook POSTs a job's labels as a JSON object to url and decodes the JSON
// answer (see WebhookRule). It gives up after timeout, or when the Router closes.
func (c *ruleCompiler) callWebhook(url string, timeout time.Duration, l engine.Labels) (any, error) {
	body, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: encoding the labels: %v", url, err)
	}
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %v", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, webhookErr(ctx, c.ctx, url, timeout, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookResponse))
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("webhook %s answered %s", url, resp.Status)
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxWebhookResponse))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if ctx.Err() != nil {
			return nil, webhookErr(ctx, c.ctx, url, timeout, err)
		}
		return nil, fmt.Errorf("webhook %s: the answer is not JSON: %v", url, err)
	}
	return normalizeRuleValue(fromJSON(v))
}

// webhookErr says why a request failed: the Router closed, the timeout passed, or
// the transport's own error.
func webhookErr(ctx, routerCtx context.Context, url string, timeout time.Duration, err error) error {
	switch {
	case routerCtx.Err() != nil:
		return fmt.Errorf("webhook %s: the router closed", url)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("webhook %s: no answer within %s", url, timeout)
	}
	return fmt.Errorf("webhook %s: %v", url, err)
}

// fromJSON turns the json.Numbers of a decoded value into int64 when integral (so
// that 10 can be a priority) and float64 otherwise.
func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
	}
	return v
}

// newRuleCompiler checks the rule options of o and returns the Router's rule
// compiler, with a lifetime context that Close cancels.
func newRuleCompiler(o *Options) (*ruleCompiler, error) {
	const op = "new router"
	switch {
	case o.RuleTimeout < 0:
		return nil, errInvalid(op, "options", "", "RuleTimeout must not be negative")
	case o.WebhookTimeout < 0:
		return nil, errInvalid(op, "options", "", "WebhookTimeout must not be negative")
	case o.MaxConcurrentWebhooks < 0:
		return nil, errInvalid(op, "options", "", "MaxConcurrentWebhooks must not be negative")
	}
	c := &ruleCompiler{funcTimeout: o.RuleTimeout, webhookTimeout: o.WebhookTimeout, client: o.WebhookClient}
	if c.funcTimeout == 0 {
		c.funcTimeout = defaultRuleTimeout
	}
	if c.webhookTimeout == 0 {
		c.webhookTimeout = defaultWebhookTimeout
	}
	if c.client == nil {
		c.own = http.DefaultTransport.(*http.Transport).Clone()
		c.client = &http.Client{Transport: c.own}
	}
	slots := o.MaxConcurrentWebhooks
	if slots == 0 {
		slots = defaultMaxConcurrentWebhooks
	}
	c.slots = make(chan struct{}, slots)
	c.ctx, c.stop = context.WithCancel(context.Background())
	return c, nil
}

// closeRules aborts the webhook requests in flight, waits for every goroutine
// evaluating rules, and closes the Router's own idle webhook connections. Called by
// Close after it has marked the Router closed (so no request starts any more), and
// without r.mu (so that those goroutines can finish).
func (r *Router) closeRules() {
	r.rules.stop()
	r.ruleWG.Wait()
	if r.rules.own != nil {
		r.rules.own.CloseIdleConnections()
	}
}
