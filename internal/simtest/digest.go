package simtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/naive"
)

// The state encoding: every job, worker, queue and distribution policy as the
// routers' getters return them, and the next deadline, in a canonical byte form
// (label maps in key order; nil apart from empty, for the lists too). Two routers
// hold the same state exactly when their encodings are equal
// (TestStateEncodingCoversEveryField keeps it so); the history records a digest of
// it.

type enc struct{ b []byte }

func (e *enc) u(n uint64)  { e.b = binary.AppendUvarint(e.b, n) }
func (e *enc) i(n int64)   { e.b = binary.AppendVarint(e.b, n) }
func (e *enc) s(x string)  { e.u(uint64(len(x))); e.b = append(e.b, x...) }
func (e *enc) bool(x bool) { e.b = append(e.b, b2u(x)) }
func (e *enc) f(x float64) { e.u(math.Float64bits(x)) }
func (e *enc) t(x time.Time) {
	if x.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.i(x.UnixNano())
}

func b2u(x bool) byte {
	if x {
		return 1
	}
	return 0
}

// n writes a length, or a marker for nil.
func (e *enc) n(isNil bool, n int) {
	if isNil {
		e.b = append(e.b, 0xff)
		return
	}
	e.u(uint64(n))
}

func (e *enc) value(v any) {
	switch x := v.(type) {
	case string:
		e.b = append(e.b, 's')
		e.s(x)
	case bool:
		e.b = append(e.b, 'b', b2u(x))
	case int:
		e.b = append(e.b, 'i')
		e.i(int64(x))
	case int64:
		e.b = append(e.b, 'I')
		e.i(x)
	case float64:
		e.b = append(e.b, 'f')
		e.f(x)
	case nil:
		e.b = append(e.b, 'n')
	default:
		e.b = append(e.b, '?')
		e.s(fmt.Sprintf("%T:%v", v, v))
	}
}

func (e *enc) labels(m engine.Labels) {
	e.n(m == nil, len(m))
	if len(m) == 0 {
		return
	}
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	// Insertion sort: label maps are small, and this avoids an allocation.
	for i := 1; i < len(keys); i++ {
		for k := i; k > 0 && keys[k] < keys[k-1]; k-- {
			keys[k], keys[k-1] = keys[k-1], keys[k]
		}
	}
	for _, k := range keys {
		e.s(k)
		e.value(m[k])
	}
}

func (e *enc) selectors(l []engine.Selector) {
	e.n(l == nil, len(l))
	for _, s := range l {
		e.s(s.Key)
		e.s(string(s.Op))
		e.value(s.Value)
		e.i(int64(s.ExpiresAfter))
		e.bool(s.Expedite)
		e.bool(s.Expired)
		e.t(s.ExpiresAt)
	}
}

func (e *enc) strs(l []string) {
	e.n(l == nil, len(l))
	for _, x := range l {
		e.s(x)
	}
}

func (e *enc) job(j *engine.Job) {
	e.s(j.ID)
	e.s(j.ChannelID)
	e.s(j.ChannelReference)
	e.s(j.QueueID)
	e.s(j.ClassificationPolicyID)
	e.i(int64(j.Priority))
	e.selectors(j.RequestedWorkerSelectors)
	e.labels(j.Labels)
	e.labels(j.Tags)
	e.n(j.Notes == nil, len(j.Notes))
	for _, n := range j.Notes {
		e.s(n.Message)
		e.t(n.AddedAt)
	}
	e.u(uint64(j.MatchingMode.Kind))
	e.t(j.MatchingMode.ScheduleAt)
	e.s(string(j.Status))
	e.t(j.CreatedAt)
	e.t(j.EnqueuedAt)
	e.t(j.ScheduledAt)
	e.selectors(j.AttachedWorkerSelectors)
	e.n(j.Assignments == nil, len(j.Assignments))
	if len(j.Assignments) > 0 {
		ids := make([]string, 0, len(j.Assignments))
		for id := range j.Assignments {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			a := j.Assignments[id]
			e.s(id)
			e.s(a.ID)
			e.s(a.JobID)
			e.s(a.WorkerID)
			e.i(int64(a.CapacityCost))
			e.t(a.AssignedAt)
			e.t(a.CompletedAt)
			e.t(a.ClosedAt)
		}
	}
	e.s(j.DispositionCode)
	e.i(int64(j.UnassignmentCount))
}

func (e *enc) worker(w *engine.Worker) {
	e.s(w.ID)
	e.strs(w.Queues)
	e.i(int64(w.Capacity))
	e.n(w.Channels == nil, len(w.Channels))
	for _, c := range w.Channels {
		e.s(c.ChannelID)
		e.i(int64(c.CapacityCostPerJob))
		e.i(int64(c.MaxNumberOfJobs))
	}
	e.labels(w.Labels)
	e.labels(w.Tags)
	e.bool(w.AvailableForOffers)
	e.i(int64(w.MaxConcurrentOffers))
	e.s(string(w.State))
	e.n(w.Offers == nil, len(w.Offers))
	for _, o := range w.Offers {
		e.s(o.ID)
		e.s(o.JobID)
		e.s(o.WorkerID)
		e.i(int64(o.CapacityCost))
		e.t(o.OfferedAt)
		e.t(o.ExpiresAt)
	}
	e.n(w.AssignedJobs == nil, len(w.AssignedJobs))
	for _, a := range w.AssignedJobs {
		e.s(a.AssignmentID)
		e.s(a.JobID)
		e.i(int64(a.CapacityCost))
		e.t(a.AssignedAt)
	}
	e.f(w.LoadRatio)
}

// fn names a function value: two routers given the same function hold the same, and
// the name (unlike the address) is the same in every process.
func fn(f any) string {
	if f == nil {
		return ""
	}
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Func {
		return "?"
	}
	if v.IsNil() {
		return ""
	}
	if rf := runtime.FuncForPC(v.Pointer()); rf != nil {
		return rf.Name()
	}
	return "?"
}

func (e *enc) policy(p *engine.DistributionPolicy) {
	e.s(p.ID)
	e.s(p.Name)
	e.i(int64(p.OfferExpiresAfter))
	m := p.Mode
	e.u(uint64(m.Kind))
	e.i(int64(m.MinConcurrentOffers))
	e.i(int64(m.MaxConcurrentOffers))
	e.bool(m.BypassSelectors)
	e.s(fn(m.Score))
	e.s(fn(m.ScoreOrigin))
	e.i(int64(m.BatchSize))
	e.bool(m.Batching)
	e.bool(m.Descending)
}

// encodeState appends the state of c, given its lists, to buf.
func (s *Sim) encodeState(c naive.Core, jobs []engine.Job, workers []engine.Worker, queues []engine.Queue,
	pols []engine.DistributionPolicy, buf []byte) []byte {
	e := enc{b: buf}
	e.n(jobs == nil, len(jobs))
	for i := range jobs {
		e.job(&jobs[i])
	}
	e.n(workers == nil, len(workers))
	for i := range workers {
		e.worker(&workers[i])
	}
	e.n(queues == nil, len(queues))
	for _, q := range queues {
		e.s(q.ID)
		e.s(q.Name)
		e.s(q.DistributionPolicyID)
		e.s(q.ExceptionPolicyID)
		e.labels(q.Labels)
	}
	e.n(pols == nil, len(pols))
	for i := range pols {
		e.policy(&pols[i])
	}
	next, ok := c.NextDeadline()
	e.bool(ok)
	e.t(next)
	if eng, isEngine := c.(*engine.Engine); isEngine && s.world.Policies {
		for _, p := range eng.ListClassificationPolicies(engine.Page{}) {
			e.s(p.ID)
			e.s(p.FallbackQueueID)
			e.u(uint64(len(p.QueueSelectorAttachments)))
			e.u(uint64(len(p.WorkerSelectorAttachments)))
		}
		for _, p := range eng.ListExceptionPolicies(engine.Page{}) {
			e.s(p.ID)
			e.u(uint64(len(p.Rules)))
		}
	}
	return e.b
}
