package jobrouter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hookServer is an httptest server answering with handler. The context of a request
// ends when the client gives up or, at the latest, when the test ends, so that a
// handler waiting on it never holds up the server's Close.
func hookServer(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			select {
			case <-stop:
				cancel()
			case <-c.Done():
			}
		}()
		handler(w, r.WithContext(c))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first
	return srv
}

// hang is a handler that never answers: it returns when the client gives up.
func hang(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client leaving
	<-r.Context().Done()
}

// answer returns a handler that checks the request and writes body with status.
func answer(t *testing.T, status int, body string, got chan<- map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var l map[string]any
		if err := json.Unmarshal(b, &l); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if got != nil {
			got <- l
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestWebhookPrioritization(t *testing.T) {
	bodies := make(chan map[string]any, 1)
	srv := hookServer(t, answer(t, http.StatusOK, "7", bodies))
	f := newFixture(t, nil)
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: WebhookRule{URL: srv.URL + "/priority"}})
	j := f.create(Job{ID: "j", ClassificationPolicyID: "cp", Labels: Labels{"Tier": "gold", "Age": 42}})
	require.Equal(t, JobStatusPendingClassification, j.Status, "a webhook answers later")
	require.Empty(t, j.QueueID)

	q := next[JobQueued](f)
	require.Equal(t, "q", q.QueueID)
	require.Equal(t, 7, q.Priority)
	got := f.getJob("j")
	require.Equal(t, JobStatusQueued, got.Status)
	require.Equal(t, 7, got.Priority)
	require.Equal(t, map[string]any{"Tier": "gold", "Age": 42.0}, <-bodies, "the labels, POSTed as JSON")
}

func TestWebhookEventOrder(t *testing.T) {
	srv := hookServer(t, answer(t, http.StatusOK, "3", nil))
	f := newFixture(t, nil)
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: WebhookRule{URL: srv.URL}})
	f.create(Job{ID: "j", ClassificationPolicyID: "cp"})
	evs := f.eventsUntil(func(ev Event) bool { _, ok := ev.(JobQueued); return ok })
	require.Equal(t, []EventType{EventTypeJobReceived, EventTypeJobClassified, EventTypeJobQueued}, jobEventTypes(evs, "j"))
}

func TestWebhookSelectors(t *testing.T) {
	srv := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/queue":
			io.WriteString(w, `[{"key": "Language", "labelOperator": "equal", "value": "fr"}]`)
		case "/workers":
			io.WriteString(w, `[{"key": "Skill", "labelOperator": "greaterThanOrEqual", "value": 5, "expiresAfterSeconds": 30, "expedite": true},
				{"key": "Region", "labelOperator": "notEqual", "value": "eu"}]`)
		}
	})
	f := newFixture(t, nil)
	languageQueues(f)
	f.classification(ClassificationPolicy{ID: "cp",
		QueueSelectorAttachments:  []QueueSelectorAttachment{RuleEngineQueueSelectorAttachment{Rule: WebhookRule{URL: srv.URL + "/queue"}}},
		WorkerSelectorAttachments: []WorkerSelectorAttachment{RuleEngineWorkerSelectorAttachment{Rule: WebhookRule{URL: srv.URL + "/workers"}}},
	})
	f.create(Job{ID: "j", ClassificationPolicyID: "cp"})
	require.Equal(t, "fr", next[JobQueued](f).QueueID)
	j := f.getJob("j")
	require.Equal(t, []WorkerSelector{
		{Key: "Skill", LabelOperator: LabelOperatorGreaterThanOrEqual, Value: int64(5), ExpiresAfter: 30 * time.Second,
			Expedite: true, Status: SelectorStatusActive, ExpiresAt: start.Add(30 * time.Second)},
		{Key: "Region", LabelOperator: LabelOperatorNotEqual, Value: "eu", Status: SelectorStatusActive},
	}, j.AttachedWorkerSelectors)
}

func TestWebhookFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		reason  string
	}{
		{"500", answer(t, http.StatusInternalServerError, `{"error": "down"}`, nil), 0, "500"},
		{"not JSON", answer(t, http.StatusOK, `seven`, nil), 0, "not JSON"},
		{"not a priority", answer(t, http.StatusOK, `"high"`, nil), 0, "integer"},
		{"timeout", hang, 50 * time.Millisecond, "no answer within 50ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := hookServer(t, tc.handler)
			f := newFixture(t, nil)
			f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q",
				PrioritizationRule: WebhookRule{URL: srv.URL, Timeout: tc.timeout}})
			f.create(Job{ID: "j", ClassificationPolicyID: "cp"})
			ev := next[JobClassificationFailed](f)
			require.Contains(t, ev.Reason, tc.reason)
			require.Contains(t, ev.Reason, "prioritization rule")
			require.Equal(t, JobStatusClassificationFailed, f.getJob("j").Status)
		})
	}
}

func TestWebhookTimeoutDefaultsToTheRoutersOption(t *testing.T) {
	srv := hookServer(t, hang)
	f := newFixture(t, &Options{WebhookTimeout: 30 * time.Millisecond})
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: WebhookRule{URL: srv.URL}})
	f.create(Job{ID: "j", ClassificationPolicyID: "cp"})
	require.Contains(t, next[JobClassificationFailed](f).Reason, "no answer within 30ms")
}

// Close while a webhook is in flight aborts it, returns promptly, and leaves no
// goroutine behind (goleak checks the package at exit).
func TestCloseWithWebhookInFlight(t *testing.T) {
	entered := make(chan struct{})
	srv := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		hang(w, r)
	})
	f := newFixture(t, &Options{WebhookTimeout: time.Hour})
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: WebhookRule{URL: srv.URL}})
	f.create(Job{ID: "j", ClassificationPolicyID: "cp"})
	<-entered
	f.sub.Close()
	began := time.Now()
	require.NoError(t, f.r.Close())
	require.Less(t, time.Since(began), 5*time.Second, "Close does not wait for the webhook's timeout")
	_, err := f.r.GetJob(ctx, "j")
	require.ErrorIs(t, err, ErrClosed)
}

// A job cancelled while its webhook is in flight stays cancelled when the answer
// comes (the engine ignores an answer for a job no longer waiting for it).
func TestWebhookAnswerForACancelledJobIsIgnored(t *testing.T) {
	releaseGone, goneAnswered := make(chan struct{}), make(chan struct{})
	srv := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		var l map[string]any
		_ = json.NewDecoder(r.Body).Decode(&l)
		if l["Name"] == "gone" {
			select {
			case <-releaseGone:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "1")
			close(goneAnswered)
			return
		}
		select { // answer "kept" only after "gone" has its answer
		case <-goneAnswered:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "9")
	})
	f := newFixture(t, nil)
	f.classification(ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: WebhookRule{URL: srv.URL}})
	f.create(Job{ID: "gone", ClassificationPolicyID: "cp", Labels: Labels{"Name": "gone"}})
	require.NoError(t, f.r.CancelJob(ctx, "gone", nil))
	f.create(Job{ID: "kept", ClassificationPolicyID: "cp", Labels: Labels{"Name": "kept"}})
	close(releaseGone)
	q := next[JobQueued](f)
	require.Equal(t, "kept", q.JobID)
	require.Equal(t, 9, q.Priority)

	// Close waits for every answer to be applied or dropped; read what it delivers.
	var after []Event
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for ev := range f.sub.Events() {
			after = append(after, ev)
		}
	}()
	require.NoError(t, f.r.Close())
	<-drained
	for _, ev := range after {
		require.NotEqual(t, "gone", eventJobID(ev), "nothing happens to a cancelled job: %T", ev)
	}
}

func TestWebhookRuleValidation(t *testing.T) {
	f := newFixture(t, nil)
	for _, rule := range []RouterRule{
		WebhookRule{},
		WebhookRule{URL: "/relative"},
		WebhookRule{URL: "ftp://example.com/x"},
		WebhookRule{URL: "http://"},
		WebhookRule{URL: "http://example.com", Timeout: -time.Second},
		&WebhookRule{URL: "http://example.com"},
	} {
		_, err := f.r.UpsertClassificationPolicy(ctx, ClassificationPolicy{ID: "cp", FallbackQueueID: "q", PrioritizationRule: rule})
		require.ErrorIs(t, err, ErrInvalidArgument, "%#v", rule)
	}
}

// An exception's ReclassifyAction into a policy with a webhook: the timer fires the
// wait-time rule, the job waits for the webhook, and its answer queues the job.
func TestWebhookAfterAnExceptionReclassifies(t *testing.T) {
	srv := hookServer(t, answer(t, http.StatusOK, "42", nil))
	f := newFixture(t, nil)
	f.queue("escalated", nil)
	f.classification(ClassificationPolicy{ID: "hook", PrioritizationRule: WebhookRule{URL: srv.URL},
		QueueSelectorAttachments: []QueueSelectorAttachment{StaticQueueSelectorAttachment{QueueSelector: qsel("Id", "escalated")}}})
	f.exceptions(ExceptionPolicy{ID: "esc", ExceptionRules: []ExceptionRule{{ID: "ask", Trigger: WaitTimeTrigger{Threshold: time.Minute},
		Actions: []ExceptionAction{ReclassifyAction{ClassificationPolicyID: "hook"}}}}})
	f.guardedQueue("q", "esc")
	f.create(Job{ID: "j", QueueID: "q"})
	require.Equal(t, "q", next[JobQueued](f).QueueID)
	f.clk.Add(time.Minute) // no Router call: the timer alone fires the rule
	require.Equal(t, "ask", next[JobExceptionTriggered](f).RuleID)
	q := next[JobQueued](f)
	require.Equal(t, "escalated", q.QueueID, "a reclassify action lets the policy choose the queue")
	require.Equal(t, 42, q.Priority)
	require.Equal(t, start.Add(time.Minute), q.Time())
}

// Options.MaxConcurrentWebhooks bounds the classifications waiting on webhooks at
// once: with 1, the server never sees two requests in flight, and every job is
// classified in the end.
func TestMaxConcurrentWebhooks(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	srv := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("3"))
	})
	f := newFixture(t, &Options{MaxConcurrentWebhooks: 1})
	f.classification(ClassificationPolicy{ID: "hook", FallbackQueueID: "q", PrioritizationRule: WebhookRule{URL: srv.URL}})
	for i := 0; i < 5; i++ {
		f.create(Job{ID: fmt.Sprint("j", i), ClassificationPolicyID: "hook"})
	}
	for i := 0; i < 5; i++ {
		require.Equal(t, 3, next[JobQueued](f).Priority)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, most)
}
