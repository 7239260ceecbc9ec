package naive_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/openjobrouter/jobrouter/internal/naive"
	"github.com/openjobrouter/jobrouter/internal/simtest"
)

// Discrepancies found by the differential runs, where the engine contradicted
// SEMANTICS.md or DESIGN.md. Each test replays the minimal command sequence on both
// routers (simtest.Sim.Exec: the same results, events and state, and the invariants)
// and requires them to agree.

// scripted is a hand-written command sequence on the simulator.
type scripted struct {
	t   *testing.T
	s   *simtest.Sim
	now time.Time
}

// newScripted returns a script on a fresh Sim; when the test ends, the states are
// compared once more (Sim.Finish).
func newScripted(t *testing.T) *scripted {
	d := &scripted{t: t, s: simtest.New(simtest.World{}, simtest.Options{Text: true}), now: simtest.T0}
	t.Cleanup(func() {
		if !t.Failed() {
			if fl := d.s.Finish(); fl != nil {
				t.Errorf("%v\nhistory:\n%s", fl, fl.Tail)
			}
		}
	})
	return d
}

func (d *scripted) exec(desc string, f func(r naive.Core) (any, error)) {
	d.t.Helper()
	if fl := d.s.Exec(desc, f); fl != nil {
		d.t.Fatalf("%v\nhistory:\n%s", fl, fl.Tail)
	}
}

func (d *scripted) policy(p engine.DistributionPolicy) {
	d.exec("UpsertDistributionPolicy "+p.ID, func(r naive.Core) (any, error) { return r.UpsertDistributionPolicy(d.now, p) })
}

func (d *scripted) queue(q engine.Queue) {
	d.exec("UpsertQueue "+q.ID, func(r naive.Core) (any, error) { return r.UpsertQueue(d.now, q) })
}

func (d *scripted) worker(w engine.Worker) {
	d.exec("UpsertWorker "+w.ID, func(r naive.Core) (any, error) {
		return r.UpsertWorker(d.now, simtest.CloneWorker(w))
	})
}

func (d *scripted) job(j engine.Job) {
	d.exec("CreateJob "+j.ID, func(r naive.Core) (any, error) {
		return r.CreateJob(d.now, simtest.CloneJob(j))
	})
}

// TestScoreAgainstANegativeThreshold pins a decision of ours (README, "Decisions of
// ours"), made by both routers: SEMANTICS.md defines BestWorker's default selector
// score for an ordering operator as the logistic of x = (label-value)/value; we divide
// by |value|, so that a worker further above a negative threshold still ranks higher.
// Here "level >= -20" gives the worker at -5 x = +0.75 and the one at -15 x = +0.25,
// so w-5 is offered (by SEMANTICS' formula, -0.75 and -0.25: w-15).
func TestScoreAgainstANegativeThreshold(t *testing.T) {
	d := newScripted(t)
	d.policy(engine.DistributionPolicy{ID: "best", OfferExpiresAfter: time.Minute,
		Mode: engine.Mode{Kind: engine.BestWorker, Descending: true}})
	d.queue(engine.Queue{ID: "q", DistributionPolicyID: "best"})
	for _, level := range []int{-5, -15} {
		d.worker(engine.Worker{ID: "w" + strconv.Itoa(level), Queues: []string{"q"}, Capacity: 1, AvailableForOffers: true,
			Channels: []engine.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, Labels: engine.Labels{"level": level}})
	}
	d.job(engine.Job{ID: "j", QueueID: "q", ChannelID: "voice",
		RequestedWorkerSelectors: []engine.Selector{{Key: "level", Op: labels.GreaterThanOrEqual, Value: -20}}})
	offered := map[string]int{}
	for _, w := range d.s.Workers() {
		offered[w.ID] = len(w.Offers)
	}
	require.Equal(t, map[string]int{"w-5": 1, "w-15": 0}, offered)
}

// TestShortMaxIDLengthIsATypedError (a fixed engine bug): with Config.MaxIDLength below 32, any ID
// longer than the limit makes engine.validID slice id[:32] out of range and panic,
// instead of returning CodeInvalid (DESIGN.md: a failed call returns a typed error and
// changes nothing; no panic reaches the caller).
func TestShortMaxIDLengthIsATypedError(t *testing.T) {
	cfg := engine.Config{MaxIDLength: 8}
	w := engine.Worker{ID: "worker-123456789", AvailableForOffers: true}
	_, errN := naive.New(cfg).UpsertWorker(simtest.T0, w)
	requireCode(t, errN, engine.CodeInvalid)
	var errE error
	require.NotPanics(t, func() { _, errE = engine.New(cfg).UpsertWorker(simtest.T0, w) })
	requireCode(t, errE, engine.CodeInvalid)
}

// TestRoundRobinCursorFollowsEveryOffer (a fixed engine bug): SEMANTICS.md says RoundRobin offers
// to "the next after the last one offered in this queue (the lowest ID when the queue
// has offered nothing yet)", and engine/queue.go documents queueState.rrLast as "the
// last worker offered a job from this queue", but engine/match.go (matchJob) moved it
// only on RoundRobin's own offers. A queue that offered by LongestIdle (here to w2)
// and then switches to RoundRobin restarted at the lowest ID (w1) instead of after w2
// (w3).
func TestRoundRobinCursorFollowsEveryOffer(t *testing.T) {
	d := newScripted(t)
	d.policy(engine.DistributionPolicy{ID: "idle", OfferExpiresAfter: time.Minute, Mode: engine.Mode{Kind: engine.LongestIdle}})
	d.policy(engine.DistributionPolicy{ID: "rr", OfferExpiresAfter: time.Minute, Mode: engine.Mode{Kind: engine.RoundRobin}})
	d.queue(engine.Queue{ID: "q", DistributionPolicyID: "idle"})
	for i, id := range []string{"w2", "w1", "w3"} {
		d.now = simtest.T0.Add(time.Duration(i) * time.Second) // w2 is idle longest
		d.worker(engine.Worker{ID: id, Queues: []string{"q"}, Capacity: 1, AvailableForOffers: true,
			Channels: []engine.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}})
	}
	d.job(engine.Job{ID: "j1", QueueID: "q", ChannelID: "voice"}) // offered to w2 (offer n1)
	d.exec("AcceptOffer w2 n1", func(r naive.Core) (any, error) {
		j, a, err := r.AcceptOffer(d.now, "w2", "n1")
		return [2]string{j, a}, err
	})
	d.queue(engine.Queue{ID: "q", DistributionPolicyID: "rr"})
	d.job(engine.Job{ID: "j2", QueueID: "q", ChannelID: "voice"}) // SEMANTICS: w3; engine: w1
	require.Equal(t, "w3", d.s.Workers()[2].Offers[0].WorkerID, "RoundRobin continues after w2")
}
