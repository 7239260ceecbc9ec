package jobrouter

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/openjobrouter/jobrouter/internal/labels/labelstest"
)

// FuzzLabelsAndSelectors drives label and selector validation through the public
// Router: a worker with one label and a job with one worker selector, both built from
// arbitrary values. Each call either succeeds or fails with ErrInvalidArgument,
// exactly as the rules of SEMANTICS.md say (a non-empty key; a string, bool, integer
// or finite float; a number for the ordering operators; one of the six operators; a
// non-negative ExpiresAfter; the label Id equal to the worker's ID), and a failed call
// leaves nothing behind. When both exist, the worker is offered the job exactly when
// its label satisfies the selector, and what was stored reads back the same.
//
//	go test -run '^$' -fuzz '^FuzzLabelsAndSelectors$' -fuzztime 5m .
func FuzzLabelsAndSelectors(f *testing.F) {
	f.Add("level", byte(2), "", int64(5), 0.0, false, "greaterThanOrEqual", byte(6), "", int64(0), 4.5, false, int64(0))
	f.Add("lang", byte(0), "en", int64(0), 0.0, false, "equal", byte(0), "en", int64(0), 0.0, false, int64(time.Minute))
	f.Add("vip", byte(1), "", int64(0), 0.0, true, "notEqual", byte(1), "", int64(0), 0.0, true, int64(-1))
	f.Add("Id", byte(0), "w", int64(0), 0.0, false, "equal", byte(0), "w", int64(0), 0.0, false, int64(0))
	f.Add("", byte(9), "", int64(0), 0.0, false, "between", byte(12), "x", int64(0), 0.0, false, int64(0))
	f.Add("rating", byte(5), "", int64(-1), 0.0, false, "lessThan", byte(7), "", int64(0), 1e300, false, int64(0))
	f.Fuzz(func(t *testing.T, key string, wk byte, ws string, wi int64, wf float64, wb bool,
		op string, sk byte, ss string, si int64, sf float64, sb bool, expires int64) {
		wv, sv := labelstest.FuzzValue(wk, ws, wi, wf, wb), labelstest.FuzzValue(sk, ss, si, sf, sb)
		n := 0
		r, err := New(&Options{ManualTime: true, StartTime: start, NewID: func() string { n++; return "id" + strconv.Itoa(n) }})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: LongestIdleMode{}}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.UpsertQueue(ctx, Queue{ID: "q", DistributionPolicyID: "p"}); err != nil {
			t.Fatal(err)
		}

		wantWorker := key != "" && labels.Validate(wv) == nil && (key != "Id" || labels.Same(wv, "w"))
		_, err = r.UpsertWorker(ctx, Worker{ID: "w", Queues: []string{"q"}, Capacity: 1, AvailableForOffers: true,
			Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, Labels: Labels{key: wv}})
		checkValidation(t, "UpsertWorker", err, wantWorker)
		if _, gerr := r.GetWorker(ctx, "w"); (gerr == nil) != wantWorker {
			t.Fatalf("GetWorker after UpsertWorker (valid %v): %v", wantWorker, gerr)
		}

		o := labels.Operator(op)
		wantJob := key != "" && o.Valid() && labels.Validate(sv) == nil && (!o.Ordering() || labels.IsNumber(sv)) && expires >= 0
		sel := WorkerSelector{Key: key, LabelOperator: LabelOperator(op), Value: sv, ExpiresAfter: time.Duration(expires)}
		_, err = r.CreateJob(ctx, Job{ID: "j", ChannelID: "voice", QueueID: "q", RequestedWorkerSelectors: []WorkerSelector{sel}})
		checkValidation(t, "CreateJob", err, wantJob)
		j, gerr := r.GetJob(ctx, "j")
		if (gerr == nil) != wantJob {
			t.Fatalf("GetJob after CreateJob (valid %v): %v", wantJob, gerr)
		}
		if !wantJob || !wantWorker {
			return
		}
		got := j.RequestedWorkerSelectors
		if len(got) != 1 || got[0].Key != key || got[0].LabelOperator != sel.LabelOperator || !labels.Same(got[0].Value, sv) ||
			got[0].ExpiresAfter != sel.ExpiresAfter {
			t.Fatalf("the selector %+v reads back as %+v", sel, got)
		}
		w, err := r.GetWorker(ctx, "w")
		if err != nil || !labels.Same(w.Labels[key], wv) {
			t.Fatalf("the label %q=%#v reads back as %#v (%v)", key, wv, w.Labels[key], err)
		}
		if offered, want := len(w.Offers) == 1, labels.Match(o, wv, true, sv); offered != want {
			t.Fatalf("worker label %q=%#v, selector %s %#v: offered %v, want %v", key, wv, op, sv, offered, want)
		}
	})
}

// checkValidation requires err to be nil when valid, else a typed ErrInvalidArgument.
func checkValidation(t *testing.T, op string, err error, valid bool) {
	t.Helper()
	var e *Error
	switch {
	case valid && err != nil:
		t.Fatalf("%s: valid input rejected: %v", op, err)
	case !valid && err == nil:
		t.Fatalf("%s: invalid input accepted", op)
	case !valid && (!errors.Is(err, ErrInvalidArgument) || !errors.As(err, &e)):
		t.Fatalf("%s: want a typed ErrInvalidArgument, got %v (%T)", op, err, err)
	}
}
