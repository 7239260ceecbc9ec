package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is every test's start time. Tests move time only through the fixture, so every
// timestamp in an assertion is t0 plus a literal duration.
var t0 = time.Date(2024, time.March, 1, 9, 0, 0, 0, time.UTC)

const (
	voice = "voice"
	chat  = "chat"
	// expiry is the fixture policies' OfferExpiresAfter.
	expiry = time.Minute
)

// fixture is an engine with a clock the test moves by hand and a deterministic NewID.
type fixture struct {
	t   *testing.T
	e   *Engine
	now time.Time
}

// newFixture returns an empty engine at t0. cfg.NewID defaults to counterIDs.
func newFixture(t *testing.T, cfg ...Config) *fixture {
	t.Helper()
	var c Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	if c.NewID == nil {
		c.NewID = counterIDs("id")
	}
	c.Checks = true
	return &fixture{t: t, e: New(c), now: t0}
}

// counterIDs returns a NewID that yields prefix1, prefix2, …
func counterIDs(prefix string) func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("%s%d", prefix, n)
	}
}

// advance moves the clock forward by d and fires what is due (as the shell does).
func (f *fixture) advance(d time.Duration) {
	f.t.Helper()
	f.advanceTo(f.now.Add(d))
}

func (f *fixture) advanceTo(t time.Time) {
	f.t.Helper()
	f.now = t
	f.e.Advance(t)
}

// since returns the fixture's time as an offset from t0, for readable failures.
func (f *fixture) since() time.Duration { return f.now.Sub(t0) }

// policy stores a distribution policy with OfferExpiresAfter = expiry.
func (f *fixture) policy(id string, m Mode) DistributionPolicy {
	f.t.Helper()
	p, err := f.e.UpsertDistributionPolicy(f.now, DistributionPolicy{ID: id, OfferExpiresAfter: expiry, Mode: m})
	require.NoError(f.t, err)
	return p
}

func (f *fixture) queue(id, policyID string) Queue {
	f.t.Helper()
	q, err := f.e.UpsertQueue(f.now, Queue{ID: id, DistributionPolicyID: policyID})
	require.NoError(f.t, err)
	return q
}

// basic stores policy "p" (LongestIdle, one offer at a time) and queues "q" and "q2"
// using it, and forgets the (empty) events.
func (f *fixture) basic() {
	f.t.Helper()
	f.policy("p", Mode{Kind: LongestIdle})
	f.queue("q", "p")
	f.queue("q2", "p")
	f.take()
}

// agent is an available worker on queues with capacity 1 and the voice channel at
// cost 1.
func agent(id string, queues ...string) Worker {
	return Worker{ID: id, Queues: queues, Capacity: 1, AvailableForOffers: true,
		Channels: []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: 1}}}
}

// worker upserts w and requires success.
func (f *fixture) worker(w Worker) Worker {
	f.t.Helper()
	out, err := f.e.UpsertWorker(f.now, w)
	require.NoError(f.t, err)
	return out
}

// call is a voice job in queue.
func call(id, queue string) Job { return Job{ID: id, QueueID: queue, ChannelID: voice} }

// job creates j and requires success.
func (f *fixture) job(j Job) Job {
	f.t.Helper()
	out, err := f.e.CreateJob(f.now, j)
	require.NoError(f.t, err)
	return out
}

func (f *fixture) getJob(id string) Job {
	f.t.Helper()
	j, err := f.e.GetJob(id)
	require.NoError(f.t, err)
	return j
}

func (f *fixture) getWorker(id string) Worker {
	f.t.Helper()
	w, err := f.e.GetWorker(id)
	require.NoError(f.t, err)
	return w
}

// take returns and forgets the recorded events.
func (f *fixture) take() []Event { return f.e.TakeEvents() }

// offersFor returns every open offer for jobID, by worker ID.
func (f *fixture) offersFor(jobID string) []Offer {
	var out []Offer
	for _, w := range f.e.ListWorkers(WorkerFilter{}) {
		for _, o := range w.Offers {
			if o.JobID == jobID {
				out = append(out, o)
			}
		}
	}
	return out
}

// offeredTo returns the workers holding an open offer for jobID, sorted.
func (f *fixture) offeredTo(jobID string) []string {
	var out []string
	for _, o := range f.offersFor(jobID) {
		out = append(out, o.WorkerID)
	}
	return out
}

// offer returns the one open offer of workerID for jobID.
func (f *fixture) offer(workerID, jobID string) Offer {
	f.t.Helper()
	for _, o := range f.getWorker(workerID).Offers {
		if o.JobID == jobID {
			return o
		}
	}
	require.Failf(f.t, "no offer", "worker %q holds no open offer for job %q at t0+%v", workerID, jobID, f.since())
	return Offer{}
}

// accept accepts workerID's offer for jobID and returns the assignment ID.
func (f *fixture) accept(workerID, jobID string) string {
	f.t.Helper()
	o := f.offer(workerID, jobID)
	gotJob, aid, err := f.e.AcceptOffer(f.now, workerID, o.ID)
	require.NoError(f.t, err)
	require.Equal(f.t, jobID, gotJob)
	return aid
}

// assign creates call(jobID, queue), which workerID must be offered, and accepts it.
func (f *fixture) assign(workerID, jobID, queue string) string {
	f.t.Helper()
	f.job(call(jobID, queue))
	return f.accept(workerID, jobID)
}

// requireCode requires err to be an *Error with the code.
func requireCode(t *testing.T, err error, code Code) {
	t.Helper()
	require.Error(t, err)
	var ee *Error
	require.True(t, errors.As(err, &ee), "error %v (%T) is not an *engine.Error", err, err)
	require.Equal(t, code, ee.Code, "error %q", err)
}

// typesOf returns the events' types in order.
func typesOf(evs []Event) []EventType {
	out := make([]EventType, 0, len(evs))
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// only returns the events of the given types, in order.
func only(evs []Event, types ...EventType) []Event {
	var out []Event
	for _, ev := range evs {
		if slices.Contains(types, ev.Type) {
			out = append(out, ev)
		}
	}
	return out
}

// brief renders an event as "Type job=… worker=…" (empty fields left out) so that a
// test can assert a whole sequence at a glance.
func brief(ev Event) string {
	var b strings.Builder
	b.WriteString(string(ev.Type))
	if ev.JobID != "" {
		b.WriteString(" job=" + ev.JobID)
	}
	if ev.WorkerID != "" {
		b.WriteString(" worker=" + ev.WorkerID)
	}
	return b.String()
}

func briefs(evs []Event) []string {
	out := make([]string, 0, len(evs))
	for _, ev := range evs {
		out = append(out, brief(ev))
	}
	return out
}

// digest is everything a caller can observe of an engine's state.
type digest struct {
	Policies []DistributionPolicy
	Queues   []Queue
	Workers  []Worker
	Jobs     []Job
	Next     time.Time
	HasNext  bool
}

func (f *fixture) digest() digest {
	d := digest{
		Policies: f.e.ListDistributionPolicies(Page{}),
		Queues:   f.e.ListQueues(Page{}),
		Workers:  f.e.ListWorkers(WorkerFilter{}),
		Jobs:     f.e.ListJobs(JobFilter{}),
	}
	d.Next, d.HasNext = f.e.NextDeadline()
	return d
}

// requireUnchanged requires the state to equal before and no event to be recorded.
func (f *fixture) requireUnchanged(before digest) {
	f.t.Helper()
	require.Empty(f.t, f.take(), "a failed command recorded events")
	require.Equal(f.t, before, f.digest(), "a failed command changed the state")
}

// storedJob returns the job stored under id, or nil.
func (e *Engine) storedJob(id string) *jobState {
	j, _ := e.jobs.get(id)
	return j
}
