package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/stretchr/testify/require"
)

// script drives an engine with a seeded random sequence of commands, the way the
// shell does (Advance, then the command), and checks invariants after every step
// against a naive reference computed from the engine's public views.
type script struct {
	t    *testing.T
	f    *fixture
	rng  *rand.Rand
	log  []string // every event and every error, in order
	jobs int
	// declines mirrors the engine's decline memory from the events: job → worker →
	// RetryOfferAt (zero: never), forgotten when the worker registers again.
	declines map[string]map[string]time.Time
}

var scriptQueues = []string{"qa", "qb", "qc", "qd"}

func newScript(t *testing.T, seed uint64, cfg Config) *script {
	s := &script{t: t, f: newFixture(t, cfg), rng: rand.New(rand.NewPCG(seed, 0x5eed)), declines: map[string]map[string]time.Time{}}
	f := s.f
	f.policy("p-idle", Mode{Kind: LongestIdle})
	f.policy("p-rr", Mode{Kind: RoundRobin, MinConcurrentOffers: 1, MaxConcurrentOffers: 2})
	f.policy("p-best", Mode{Kind: BestWorker, MinConcurrentOffers: 1, MaxConcurrentOffers: 2, Descending: true})
	f.policy("p-pair", Mode{Kind: LongestIdle, MinConcurrentOffers: 2, MaxConcurrentOffers: 3, BypassSelectors: true})
	f.queue("qa", "p-idle")
	f.queue("qb", "p-rr")
	f.queue("qc", "p-best")
	f.queue("qd", "p-pair")
	for i := range 6 {
		s.upsertWorker(fmt.Sprintf("w%d", i), true)
	}
	s.record(nil)
	return s
}

// upsertWorker stores a worker with random queues, channels, capacity and labels.
func (s *script) upsertWorker(id string, available bool) {
	r := s.rng
	var queues []string
	for _, q := range scriptQueues {
		if r.IntN(2) == 0 {
			queues = append(queues, q)
		}
	}
	w := Worker{ID: id, Queues: queues, Capacity: 1 + r.IntN(3), AvailableForOffers: available,
		MaxConcurrentOffers: r.IntN(3), Labels: Labels{"level": r.IntN(10)},
		Channels: []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: 1}}}
	if old, err := s.f.e.GetWorker(id); err == nil && old.Capacity > w.Capacity {
		w.Capacity = old.Capacity // (ours) an update does not revoke: never shrink below what is held
	}
	if r.IntN(2) == 0 {
		w.Channels = append(w.Channels, ChannelConfig{ChannelID: chat, CapacityCostPerJob: r.IntN(2), MaxNumberOfJobs: r.IntN(3)})
	}
	_, err := s.f.e.UpsertWorker(s.f.now, w)
	require.NoError(s.t, err)
}

// record logs the events since the last call and err, and mirrors decline memory.
func (s *script) record(err error) {
	for _, ev := range s.f.take() {
		s.log = append(s.log, fmt.Sprintf("%d %v %s o=%s a=%s", ev.Seq, ev.Time.Sub(t0), brief(ev), ev.OfferID, ev.AssignmentID))
		switch ev.Type {
		case EvOfferDeclined:
			if s.declines[ev.JobID] == nil {
				s.declines[ev.JobID] = map[string]time.Time{}
			}
			s.declines[ev.JobID][ev.WorkerID] = ev.Extras().RetryOfferAt
		case EvWorkerRegistered:
			for _, m := range s.declines {
				delete(m, ev.WorkerID)
			}
		}
	}
	if err != nil {
		var ee *Error
		require.True(s.t, errors.As(err, &ee), "%v", err)
		s.log = append(s.log, fmt.Sprintf("error %d %s", ee.Code, err))
	}
}

func pick[T any](r *rand.Rand, xs []T) (T, bool) {
	var zero T
	if len(xs) == 0 {
		return zero, false
	}
	return xs[r.IntN(len(xs))], true
}

func (s *script) openOffers() []Offer {
	var out []Offer
	for _, w := range s.f.e.ListWorkers(WorkerFilter{}) {
		out = append(out, w.Offers...)
	}
	return out
}

// current returns the assignment of a held job that still holds capacity.
func (s *script) current(j Job) string {
	for _, w := range s.f.e.ListWorkers(WorkerFilter{}) {
		for _, a := range w.AssignedJobs {
			if a.JobID == j.ID {
				return a.AssignmentID
			}
		}
	}
	s.t.Fatalf("job %s is %s but no worker holds it", j.ID, j.Status)
	return ""
}

// step advances the clock by a random amount and applies one random command.
func (s *script) step() {
	f, r := s.f, s.rng
	f.advance(time.Duration(r.IntN(40)) * time.Second)
	s.record(nil)
	var err error
	switch op := r.IntN(100); {
	case op < 25: // a new job
		s.jobs++
		j := Job{ID: fmt.Sprintf("j%d", s.jobs), QueueID: scriptQueues[r.IntN(len(scriptQueues))], ChannelID: voice, Priority: r.IntN(5) - 1,
			Labels: Labels{"level": r.IntN(10)}}
		if r.IntN(4) == 0 {
			j.ChannelID = chat
		}
		if r.IntN(3) == 0 {
			j.RequestedWorkerSelectors = []Selector{{Key: "level", Op: labels.GreaterThanOrEqual, Value: r.IntN(8)}}
		}
		if j.Priority == 0 {
			j.Priority = 2
		}
		if r.IntN(10) == 0 {
			j.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: f.now.Add(time.Duration(r.IntN(120)) * time.Second)}
		}
		_, err = f.e.CreateJob(f.now, j)
	case op < 45: // accept
		if o, ok := pick(r, s.openOffers()); ok {
			_, _, err = f.e.AcceptOffer(f.now, o.WorkerID, o.ID)
		}
	case op < 55: // decline
		if o, ok := pick(r, s.openOffers()); ok {
			var retry time.Time
			if r.IntN(2) == 0 {
				retry = f.now.Add(time.Duration(r.IntN(90)) * time.Second)
			}
			err = f.e.DeclineOffer(f.now, o.WorkerID, o.ID, retry)
		}
	case op < 65: // complete or close
		held := append(f.e.ListJobs(JobFilter{Status: JobAssigned}), f.e.ListJobs(JobFilter{Status: JobCompleted})...)
		if j, ok := pick(r, held); ok {
			aid := s.current(j)
			switch r.IntN(3) {
			case 0:
				err = f.e.CompleteJob(f.now, j.ID, aid, "")
			case 1:
				err = f.e.CloseJob(f.now, j.ID, aid, "Done", "", time.Time{})
			default:
				err = f.e.CloseJob(f.now, j.ID, aid, "", "", f.now.Add(time.Duration(r.IntN(60))*time.Second))
			}
		}
	case op < 72: // unassign
		if j, ok := pick(r, f.e.ListJobs(JobFilter{Status: JobAssigned})); ok {
			_, err = f.e.UnassignJob(f.now, j.ID, s.current(j), r.IntN(3) == 0)
		}
	case op < 76: // resume a suspended job, or reroute a queued one
		if j, ok := pick(r, f.e.ListJobs(JobFilter{Status: JobWaitingForActivation})); ok && r.IntN(2) == 0 {
			j.MatchingMode = MatchingMode{}
			_, err = f.e.UpdateJob(f.now, j)
		} else if j, ok := pick(r, f.e.ListJobs(JobFilter{Status: JobQueued})); ok {
			j.Priority = 1 + r.IntN(3)
			if r.IntN(2) == 0 {
				j.QueueID = scriptQueues[r.IntN(len(scriptQueues))]
			}
			_, err = f.e.UpdateJob(f.now, j)
		}
	case op < 81: // cancel
		if j, ok := pick(r, f.e.ListJobs(JobFilter{Active: true})); ok {
			err = f.e.CancelJob(f.now, j.ID, "", "")
		}
	case op < 84: // delete a job (terminal or not)
		if j, ok := pick(r, f.e.ListJobs(JobFilter{})); ok {
			err = f.e.DeleteJob(f.now, j.ID)
		}
	case op < 95: // a worker changes, comes or goes
		id := fmt.Sprintf("w%d", r.IntN(7))
		s.upsertWorker(id, r.IntN(3) != 0)
	case op < 97:
		err = f.e.DeleteWorker(f.now, fmt.Sprintf("w%d", r.IntN(7)))
	default: // a stale or foreign offer
		if o, ok := pick(r, s.openOffers()); ok {
			_, _, err = f.e.AcceptOffer(f.now, "w9", o.ID)
		}
	}
	s.record(err)
	s.checkInvariants()
}

// checkInvariants checks the state against a naive reading of SEMANTICS.
func (s *script) checkInvariants() {
	t, f := s.t, s.f
	jobs := map[string]Job{}
	for _, j := range f.e.ListJobs(JobFilter{}) {
		jobs[j.ID] = j
	}
	workers := f.e.ListWorkers(WorkerFilter{})
	offersOf := map[string][]Offer{}
	heldBy := map[string][]string{}
	for _, w := range workers {
		used := 0
		for _, o := range w.Offers {
			used += o.CapacityCost
			offersOf[o.JobID] = append(offersOf[o.JobID], o)
			require.Equal(t, JobQueued, jobs[o.JobID].Status, "offer %s for a %s job", o.ID, jobs[o.JobID].Status)
			require.True(t, o.ExpiresAt.After(f.now), "offer %s outlived its expiry", o.ID)
		}
		for _, a := range w.AssignedJobs {
			used += a.CapacityCost
			heldBy[a.JobID] = append(heldBy[a.JobID], w.ID)
		}
		require.LessOrEqual(t, used, w.Capacity, "worker %s over capacity", w.ID)
		if w.Capacity > 0 {
			require.InDelta(t, float64(used)/float64(w.Capacity), w.LoadRatio, 1e-9, w.ID)
		}
		switch {
		case w.AvailableForOffers:
			require.Equal(t, WorkerActive, w.State, w.ID)
		case len(w.AssignedJobs) > 0:
			require.Equal(t, WorkerDraining, w.State, w.ID)
		default:
			require.Equal(t, WorkerInactive, w.State, w.ID)
		}
		if w.State != WorkerActive {
			require.Empty(t, w.Offers, "an unavailable worker holds offers: %s", w.ID)
		}
	}
	for _, j := range jobs {
		switch j.Status {
		case JobAssigned, JobCompleted:
			require.Len(t, heldBy[j.ID], 1, "job %s is %s", j.ID, j.Status)
		default:
			require.Empty(t, heldBy[j.ID], "job %s is %s but held", j.ID, j.Status)
		}
		if j.Status != JobQueued {
			continue
		}
		q, err := f.e.GetQueue(j.QueueID)
		require.NoError(t, err)
		p, err := f.e.GetDistributionPolicy(q.DistributionPolicyID)
		require.NoError(t, err)
		n := len(offersOf[j.ID])
		require.LessOrEqual(t, n, p.Mode.MaxConcurrentOffers, j.ID)
		if n == p.Mode.MaxConcurrentOffers {
			continue
		}
		var eligible []string
		for _, w := range workers {
			if s.naiveEligible(w, j, jobs, p.Mode.BypassSelectors) {
				eligible = append(eligible, w.ID)
			}
		}
		// Below its maximum, a job takes every eligible worker once it can reach
		// its minimum.
		require.False(t, len(eligible) > 0 && n+len(eligible) >= p.Mode.MinConcurrentOffers,
			"job %s (%d offers) was not offered to eligible workers %v at t0+%v", j.ID, n, eligible, f.since())
	}
}

// naiveEligible is SEMANTICS' eligibility rule, read off the public views.
func (s *script) naiveEligible(w Worker, j Job, jobs map[string]Job, bypass bool) bool {
	if w.State != WorkerActive || !w.AvailableForOffers {
		return false
	}
	listens := false
	for _, q := range w.Queues {
		listens = listens || q == j.QueueID
	}
	if !listens {
		return false
	}
	var ch *ChannelConfig
	for i := range w.Channels {
		if w.Channels[i].ChannelID == j.ChannelID {
			ch = &w.Channels[i]
		}
	}
	if ch == nil {
		return false
	}
	free, onChannel := w.Capacity, 0
	for _, o := range w.Offers {
		if o.JobID == j.ID {
			return false
		}
		free -= o.CapacityCost
		if jobs[o.JobID].ChannelID == j.ChannelID {
			onChannel++
		}
	}
	for _, a := range w.AssignedJobs {
		free -= a.CapacityCost
		if jobs[a.JobID].ChannelID == j.ChannelID {
			onChannel++
		}
	}
	if free < ch.CapacityCostPerJob || (ch.MaxNumberOfJobs > 0 && onChannel >= ch.MaxNumberOfJobs) {
		return false
	}
	if w.MaxConcurrentOffers > 0 && len(w.Offers) >= w.MaxConcurrentOffers {
		return false
	}
	for _, sel := range j.RequestedWorkerSelectors {
		have, _ := w.Labels[sel.Key].(int)
		if have < sel.Value.(int) && !bypass {
			return false
		}
	}
	if retry, ok := s.declines[j.ID][w.ID]; ok && (retry.IsZero() || s.f.now.Before(retry)) {
		return false
	}
	return true
}

func runScript(t *testing.T, seed uint64, cfg Config, steps int) (*script, digest) {
	s := newScript(t, seed, cfg)
	for range steps {
		s.step()
	}
	return s, s.f.digest()
}

func TestDeterminism_SameCommandsGiveTheSameEvents(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42, 2024} {
		for _, keep := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed=%d/keep=%v", seed, keep), func(t *testing.T) {
				cfg := Config{KeepWorkersOnOfferExpiry: keep}
				a, da := runScript(t, seed, cfg, 400)
				b, db := runScript(t, seed, cfg, 400)
				require.Equal(t, a.log, b.log)
				require.Equal(t, da, db)
				require.Greater(t, len(a.log), 400, "the script did something")
				// The script exercised the interesting paths.
				for _, typ := range []EventType{EvOfferAccepted, EvOfferDeclined, EvOfferExpired, EvOfferRevoked,
					EvJobClosed, EvJobCancelled, EvJobUnassigned, EvWorkerDeregistered} {
					require.True(t, containsType(a.log, typ), "no %s in seed %d", typ, seed)
				}
			})
		}
	}
}

func containsType(log []string, typ EventType) bool {
	for _, l := range log {
		var seq uint64
		var d, kind string
		if n, _ := fmt.Sscanf(l, "%d %s %s", &seq, &d, &kind); n == 3 && kind == string(typ) {
			return true
		}
	}
	return false
}
