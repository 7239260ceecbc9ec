package engine

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/stretchr/testify/require"
)

// validationFixture holds policy "p", queues "q" and "q2", worker "w" and job "j"
// with an open offer to w: something for a failed command to damage.
func validationFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	f.job(call("j", "q"))
	require.Equal(t, []string{"w"}, f.offeredTo("j"))
	f.advance(time.Second)
	f.take()
	return f
}

var longID = strings.Repeat("x", 257)

type point struct{ X, Y int }

// badValues are label values of an unsupported type.
var badValues = map[string]any{
	"struct":  point{1, 2},
	"slice":   []string{"a"},
	"map":     map[string]any{"a": 1},
	"NaN":     math.NaN(),
	"+Inf":    math.Inf(1),
	"nil":     nil,
	"pointer": new(int),
	"uint64":  uint64(math.MaxUint64),
}

type invalidCase struct {
	name string
	call func(f *fixture) error
	code Code
}

func runInvalid(t *testing.T, cases []invalidCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := validationFixture(t)
			before := f.digest()
			requireCode(t, tc.call(f), tc.code)
			f.requireUnchanged(before)
		})
	}
}

func TestValidation_DistributionPolicy(t *testing.T) {
	upsert := func(p DistributionPolicy) func(f *fixture) error {
		return func(f *fixture) error { _, err := f.e.UpsertDistributionPolicy(f.now, p); return err }
	}
	ok := DistributionPolicy{ID: "p", OfferExpiresAfter: time.Second, Mode: Mode{Kind: RoundRobin}}
	with := func(change func(p *DistributionPolicy)) DistributionPolicy {
		p := ok
		change(&p)
		return p
	}
	runInvalid(t, []invalidCase{
		{"empty ID", upsert(with(func(p *DistributionPolicy) { p.ID = "" })), CodeInvalid},
		{"ID longer than 256 bytes", upsert(with(func(p *DistributionPolicy) { p.ID = longID })), CodeInvalid},
		{"zero OfferExpiresAfter", upsert(with(func(p *DistributionPolicy) { p.OfferExpiresAfter = 0 })), CodeInvalid},
		{"negative OfferExpiresAfter", upsert(with(func(p *DistributionPolicy) { p.OfferExpiresAfter = -time.Second })), CodeInvalid},
		{"no mode", upsert(with(func(p *DistributionPolicy) { p.Mode.Kind = 0 })), CodeInvalid},
		{"unknown mode", upsert(with(func(p *DistributionPolicy) { p.Mode.Kind = 99 })), CodeInvalid},
		{"Min above Max", upsert(with(func(p *DistributionPolicy) { p.Mode.MinConcurrentOffers, p.Mode.MaxConcurrentOffers = 3, 2 })), CodeInvalid},
		{"Min above the default Max", upsert(with(func(p *DistributionPolicy) { p.Mode.MinConcurrentOffers = 2 })), CodeInvalid},
		{"negative Min", upsert(with(func(p *DistributionPolicy) { p.Mode.MinConcurrentOffers = -1 })), CodeInvalid},
		{"negative Max", upsert(with(func(p *DistributionPolicy) { p.Mode.MaxConcurrentOffers = -1 })), CodeInvalid},
		{"negative BatchSize", upsert(with(func(p *DistributionPolicy) { p.Mode.Kind, p.Mode.BatchSize = BestWorker, -1 })), CodeInvalid},
	})
}

func TestValidation_DistributionPolicyDefaults(t *testing.T) {
	f := newFixture(t)
	p := f.policy("p", Mode{Kind: BestWorker})
	require.Equal(t, 1, p.Mode.MinConcurrentOffers)
	require.Equal(t, 1, p.Mode.MaxConcurrentOffers)
	require.Equal(t, 20, p.Mode.BatchSize)
	got, err := f.e.GetDistributionPolicy("p")
	require.NoError(t, err)
	require.Equal(t, p, got)
	f.policy(strings.Repeat("x", 256), Mode{Kind: LongestIdle}) // exactly 256 bytes is fine
}

func TestValidation_Queue(t *testing.T) {
	upsert := func(q Queue) func(f *fixture) error {
		return func(f *fixture) error { _, err := f.e.UpsertQueue(f.now, q); return err }
	}
	cases := []invalidCase{
		{"empty ID", upsert(Queue{DistributionPolicyID: "p"}), CodeInvalid},
		{"ID longer than 256 bytes", upsert(Queue{ID: longID, DistributionPolicyID: "p"}), CodeInvalid},
		{"no distribution policy", upsert(Queue{ID: "q"}), CodeInvalid},
		{"empty label key", upsert(Queue{ID: "q", DistributionPolicyID: "p", Labels: Labels{"": 1}}), CodeInvalid},
	}
	for name, v := range badValues {
		cases = append(cases, invalidCase{"label of type " + name, upsert(Queue{ID: "q", DistributionPolicyID: "p", Labels: Labels{"k": v}}), CodeInvalid})
	}
	runInvalid(t, cases)
}

func TestValidation_Worker(t *testing.T) {
	upsert := func(change func(w *Worker)) func(f *fixture) error {
		return func(f *fixture) error {
			w := agent("w", "q") // replaces the stored "w"
			w.Capacity = 3
			change(&w)
			_, err := f.e.UpsertWorker(f.now, w)
			return err
		}
	}
	cases := []invalidCase{
		{"empty ID", upsert(func(w *Worker) { w.ID = "" }), CodeInvalid},
		{"ID longer than 256 bytes", upsert(func(w *Worker) { w.ID = longID }), CodeInvalid},
		{"negative capacity", upsert(func(w *Worker) { w.Capacity = -1 }), CodeInvalid},
		{"negative MaxConcurrentOffers", upsert(func(w *Worker) { w.MaxConcurrentOffers = -1 }), CodeInvalid},
		{"negative CapacityCostPerJob", upsert(func(w *Worker) { w.Channels[0].CapacityCostPerJob = -1 }), CodeInvalid},
		{"negative MaxNumberOfJobs", upsert(func(w *Worker) { w.Channels[0].MaxNumberOfJobs = -1 }), CodeInvalid},
		{"empty ChannelID", upsert(func(w *Worker) { w.Channels[0].ChannelID = "" }), CodeInvalid},
		{"channel listed twice", upsert(func(w *Worker) { w.Channels = append(w.Channels, w.Channels[0]) }), CodeInvalid},
		{"queue listed twice", upsert(func(w *Worker) { w.Queues = []string{"q", "q"} }), CodeInvalid},
		{"empty label key", upsert(func(w *Worker) { w.Labels = Labels{"": "x"} }), CodeInvalid},
		{"Id label of another worker", upsert(func(w *Worker) { w.Labels = Labels{"Id": "v"} }), CodeInvalid},
		{"unknown queue", upsert(func(w *Worker) { w.Queues = []string{"nope"} }), CodeNotFound},
	}
	for name, v := range badValues {
		cases = append(cases,
			invalidCase{"label of type " + name, upsert(func(w *Worker) { w.Labels = Labels{"k": v} }), CodeInvalid},
			invalidCase{"tag of type " + name, upsert(func(w *Worker) { w.Tags = Labels{"k": v} }), CodeInvalid})
	}
	runInvalid(t, cases)
}

func TestValidation_Job(t *testing.T) {
	create := func(change func(j *Job)) func(f *fixture) error {
		return func(f *fixture) error {
			j := call("j2", "q")
			change(&j)
			_, err := f.e.CreateJob(f.now, j)
			return err
		}
	}
	update := func(change func(j *Job)) func(f *fixture) error {
		return func(f *fixture) error {
			j := f.getJob("j")
			change(&j)
			_, err := f.e.UpdateJob(f.now, j)
			return err
		}
	}
	sel := func(s Selector) func(j *Job) {
		return func(j *Job) { j.RequestedWorkerSelectors = []Selector{s} }
	}
	cases := []invalidCase{
		{"ID longer than 256 bytes", create(func(j *Job) { j.ID = longID }), CodeInvalid},
		{"duplicate ID", create(func(j *Job) { j.ID = "j" }), CodeConflict},
		{"priority 101", create(func(j *Job) { j.Priority = 101 }), CodeInvalid},
		{"priority -101", create(func(j *Job) { j.Priority = -101 }), CodeInvalid},
		{"no channel", create(func(j *Job) { j.ChannelID = "" }), CodeInvalid},
		{"no queue", create(func(j *Job) { j.QueueID = "" }), CodeInvalid},
		{"unknown queue", create(func(j *Job) { j.QueueID = "nope" }), CodeNotFound},
		{"empty label key", create(func(j *Job) { j.Labels = Labels{"": 1} }), CodeInvalid},
		{"selector without key", create(sel(Selector{Op: labels.Equal, Value: 1})), CodeInvalid},
		{"selector with unknown operator", create(sel(Selector{Key: "k", Op: "like", Value: 1})), CodeInvalid},
		{"selector ordering a string", create(sel(Selector{Key: "k", Op: labels.GreaterThan, Value: "5"})), CodeInvalid},
		{"selector ordering a bool", create(sel(Selector{Key: "k", Op: labels.LessThan, Value: true})), CodeInvalid},
		{"selector with negative ExpiresAfter", create(sel(Selector{Key: "k", Op: labels.Equal, Value: 1, ExpiresAfter: -time.Second})), CodeInvalid},
		{"ScheduleAndSuspend without ScheduleAt", create(func(j *Job) { j.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend} }), CodeInvalid},
		{"unknown matching mode", create(func(j *Job) { j.MatchingMode = MatchingMode{Kind: 9} }), CodeInvalid},
		{"update: priority 101", update(func(j *Job) { j.Priority = 101 }), CodeInvalid},
		{"update: label of type struct", update(func(j *Job) { j.Labels = Labels{"k": point{}} }), CodeInvalid},
		{"update: unknown queue", update(func(j *Job) { j.QueueID = "nope" }), CodeNotFound},
	}
	for name, v := range badValues {
		cases = append(cases,
			invalidCase{"label of type " + name, create(func(j *Job) { j.Labels = Labels{"k": v} }), CodeInvalid},
			invalidCase{"tag of type " + name, create(func(j *Job) { j.Tags = Labels{"k": v} }), CodeInvalid},
			invalidCase{"selector value of type " + name, create(sel(Selector{Key: "k", Op: labels.Equal, Value: v})), CodeInvalid})
	}
	runInvalid(t, cases)
}

func TestValidation_JobPriorityBoundsAndDefault(t *testing.T) {
	f := newFixture(t)
	f.basic()
	for _, p := range []int{-100, 100} {
		j := call("", "q")
		j.Priority = p
		require.Equal(t, p, f.job(j).Priority)
	}
	require.Equal(t, DefaultPriority, f.job(call("", "q")).Priority, "no priority: 1")
}

func TestCreateJob_AnEmptyIDIsGenerated(t *testing.T) {
	f := newFixture(t)
	f.basic()
	j := f.job(call("", "q"))
	require.Equal(t, "id1", j.ID)
	require.Equal(t, j, f.getJob("id1"))
	// A generated ID never collides with an existing job.
	g := newFixture(t)
	g.basic()
	g.job(call("id1", "q"))
	require.Equal(t, "id1-1", g.job(call("", "q")).ID)
}

// A repeated NewID is made unique where the ID is looked up: an offer among its
// worker's open offers (it is always named with its worker), so two workers may hold
// offers of the same ID and each accepts its own.
func TestOfferIDs_UniqueAmongTheWorkersOpenOffers(t *testing.T) {
	f := newFixture(t, Config{NewID: func() string { return "x" }})
	f.basic()
	a := agent("a", "q")
	a.Capacity = 2
	f.worker(a)
	f.job(call("j1", "q"))
	f.job(call("j2", "q"))
	f.worker(agent("b", "q"))
	f.job(call("j3", "q"))
	require.Equal(t, "x", f.offer("a", "j1").ID)
	require.Equal(t, "x-1", f.offer("a", "j2").ID, "a's second open offer")
	require.Equal(t, "x", f.offer("b", "j3").ID, "another worker's")

	jobID, _, err := f.e.AcceptOffer(f.now, "b", "x")
	require.NoError(t, err)
	require.Equal(t, "j3", jobID, "b's offer x, not a's")
	require.Equal(t, JobQueued, f.getJob("j1").Status)
	jobID, _, err = f.e.AcceptOffer(f.now, "a", "x-1")
	require.NoError(t, err)
	require.Equal(t, "j2", jobID)
	_, _, err = f.e.AcceptOffer(f.now, "b", "x-1")
	requireCode(t, err, CodeNotFound) // a's offer x-1, named with b
}

// A worker holding many open offers (a bot with a large capacity) has them indexed
// by ID past Config.IndexHeldAt and down to half that again: IDs stay unique among
// them, each is found by its ID, and Config.Checks verifies the index after every
// pass. The index stays while the accepted offers are held, and goes once they are
// closed.
func TestOfferIDs_ABotWithManyOffers(t *testing.T) {
	f := newFixture(t, Config{NewID: func() string { return "x" }})
	f.basic()
	bot := agent("bot", "q")
	bot.Capacity = 100
	f.worker(bot)
	const n = 3 * defaultIndexHeldAt
	ids := map[string]string{} // offer ID -> job ID
	for i := range n {
		jobID := "j" + itoa(i)
		f.job(call(jobID, "q"))
		o := f.offer("bot", jobID)
		require.NotContains(t, ids, o.ID, "unique among the bot's open offers")
		ids[o.ID] = jobID
	}
	require.Len(t, f.getWorker("bot").Offers, n)
	require.NotNil(t, f.e.workers["bot"].many)
	// Accept them all, in an order unlike the issue order.
	aids := map[string]string{} // job ID -> assignment ID
	for k := range n {
		i := (k*7 + 3) % n
		jobID := "j" + itoa(i)
		var offerID string
		for id, j := range ids {
			if j == jobID {
				offerID = id
			}
		}
		got, aid, err := f.e.AcceptOffer(f.now, "bot", offerID)
		require.NoError(t, err, "offer %s of %s", offerID, jobID)
		require.Equal(t, jobID, got)
		aids[jobID] = aid
		delete(ids, offerID)
		_, _, err = f.e.AcceptOffer(f.now, "bot", offerID)
		requireCode(t, err, CodeNotFound)
	}
	require.Len(t, f.getWorker("bot").AssignedJobs, n)
	require.NotNil(t, f.e.workers["bot"].many, "the holdings keep the index")
	// Close them in yet another order, through the index and then, once few are
	// left, without it.
	for k := range n {
		jobID := "j" + itoa((k*5+1)%n)
		require.NoError(t, f.e.CloseJob(f.now, jobID, aids[jobID], "", "", time.Time{}))
	}
	require.Empty(t, f.getWorker("bot").AssignedJobs)
	require.Nil(t, f.e.workers["bot"].many)
}

// Assignment IDs are unique only within their job: with a repeating NewID a worker
// may hold two jobs' assignments of one ID, and closing one job must release that
// job's holding, not the other's.
func TestAssignmentIDs_AWorkerHoldingTwoOfOneIDReleasesTheRightOne(t *testing.T) {
	f := newFixture(t, Config{NewID: func() string { return "x" }})
	f.basic()
	a := agent("a", "q")
	a.Capacity = 2
	a.Channels = []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: 1}, {ChannelID: "chat", CapacityCostPerJob: 1}}
	f.worker(a)
	f.job(call("j1", "q"))
	chat := call("j2", "q")
	chat.ChannelID = "chat"
	f.job(chat)
	require.Equal(t, "x", f.accept("a", "j1"))
	require.Equal(t, "x", f.accept("a", "j2"), "unique within j2, as in j1")

	require.NoError(t, f.e.CloseJob(f.now, "j2", "x", "", "", time.Time{}))
	w := f.getWorker("a")
	require.Len(t, w.AssignedJobs, 1)
	require.Equal(t, "j1", w.AssignedJobs[0].JobID, "j2's holding released, j1's kept")
}

func TestCreateJob_ReturnsTheJobQueued(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.advance(time.Second)
	in := call("j", "q")
	in.Labels = Labels{"a": 1}
	j := f.job(in)
	require.Equal(t, JobQueued, j.Status)
	require.Equal(t, f.now, j.CreatedAt)
	require.Equal(t, f.now, j.EnqueuedAt)
	require.Equal(t, Labels{"a": 1}, j.Labels)
	require.Equal(t, []string{"JobReceived job=j", "JobQueued job=j"}, briefs(f.take()))

	// The engine keeps its own copy of the caller's maps.
	in.Labels["a"] = 2
	require.Equal(t, Labels{"a": 1}, f.getJob("j").Labels)
}
