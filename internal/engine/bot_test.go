package engine

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// botN is how many offers, then assignments, the bot of these tests holds: far past
// Config.IndexHeldAt, so that every operation runs on the indexed path and in the
// middle of long chains. Their speed is BenchmarkB8Bot's (bench/); these tests
// assert what the bot sees, and (CheckIndexes every 500 steps and at the end of each
// phase) that what bounds every per-offer and per-holding operation holds: the
// chains are intact and the index is there, exact, whenever the worker holds many.
const botN = 3000

// botFixture is an engine, without Config.Checks (a check per pass is O(jobs) here),
// with policy "p" (LongestIdle, one offer per job, offers that expire after
// expiry) on queue "q", and a bot on it: capacity 2 × botN, MaxNumberOfJobs botN on
// voice.
func botFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	cfg.NewID = counterIDs("o")
	f := &fixture{t: t, e: New(cfg), now: t0}
	f.basic()
	f.worker(Worker{ID: "bot", Queues: []string{"q"}, Capacity: 2 * botN, AvailableForOffers: true,
		Channels: []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: 1, MaxNumberOfJobs: botN}}})
	f.take()
	return f
}

func (f *fixture) check() {
	f.t.Helper()
	require.NoError(f.t, f.e.CheckIndexes())
}

// issue creates the jobs prefix0 … prefix(n-1), one per step of a second, each offered to
// the bot, and returns their offer IDs.
func (f *fixture) issue(prefix string, n int) []string {
	f.t.Helper()
	ids := make([]string, n)
	for i := range n {
		f.job(call(prefix+itoa(i), "q"))
		evs := f.take()
		ev := evs[len(evs)-1]
		require.Equal(f.t, EvOfferIssued, ev.Type, "job %d: %v", i, briefs(evs))
		require.Equal(f.t, prefix+itoa(i), ev.JobID)
		ids[i] = ev.OfferID
		f.advance(time.Millisecond)
	}
	return ids
}

// A bot takes botN offers, accepts them newest first, and completes and closes them
// newest first and shuffled: each call acts on the offer or assignment it names,
// MaxNumberOfJobs counts offers and assignments alike, and the worker's view lists
// its offers in issue order and its assignments in assignment order throughout.
func TestABot_AcceptsCompletesAndClosesNewestFirst(t *testing.T) {
	f := botFixture(t, Config{})
	offers := f.issue("j", botN)
	w := f.getWorker("bot")
	require.Len(t, w.Offers, botN)
	for i, o := range w.Offers {
		require.Equal(t, offers[i], o.ID)
		require.Equal(t, "j"+itoa(i), o.JobID)
	}
	require.NotNil(t, f.e.workers["bot"].many)
	f.check()

	// MaxNumberOfJobs (botN) is reached while capacity is not: one more job waits.
	f.job(call("extra", "q"))
	require.Equal(t, []EventType{EvJobReceived, EvJobQueued}, typesOf(f.take()))
	// Declining the newest offer frees a place on voice: the extra job takes it.
	require.NoError(t, f.e.DeclineOffer(f.now, "bot", offers[botN-1], time.Time{}))
	evs := f.take()
	require.Equal(t, []string{"OfferDeclined job=j" + itoa(botN-1) + " worker=bot", "OfferIssued job=extra worker=bot"}, briefs(evs))
	offers[botN-1] = evs[1].OfferID
	f.check()

	// Accept newest first: the extra job's offer, then j(botN-2) … j0.
	aids := make([]string, botN)
	jobOf := func(i int) string {
		if i == botN-1 {
			return "extra"
		}
		return "j" + itoa(i)
	}
	for i := botN - 1; i >= 0; i-- {
		jobID, aid, err := f.e.AcceptOffer(f.now, "bot", offers[i])
		require.NoError(t, err)
		require.Equal(t, jobOf(i), jobID)
		aids[i] = aid
		_, _, err = f.e.AcceptOffer(f.now, "bot", offers[i])
		requireCode(t, err, CodeNotFound)
		if i%500 == 0 {
			f.check()
		}
	}
	w = f.getWorker("bot")
	require.Empty(t, w.Offers)
	require.Len(t, w.AssignedJobs, botN)
	for k, a := range w.AssignedJobs {
		require.Equal(t, jobOf(botN-1-k), a.JobID, "assignment order")
	}
	// Still at MaxNumberOfJobs: a new job waits.
	f.job(call("late", "q"))
	require.Equal(t, JobQueued, f.getJob("late").Status)

	// Complete them shuffled, close them newest first.
	order := rand.New(rand.NewPCG(1, 2)).Perm(botN)
	for _, i := range order {
		require.NoError(t, f.e.CompleteJob(f.now, jobOf(i), aids[i], ""))
	}
	f.check()
	f.take()
	for i := botN - 1; i >= 0; i-- {
		require.NoError(t, f.e.CloseJob(f.now, jobOf(i), aids[i], "", "", time.Time{}))
		evs := f.take()
		require.Equal(t, "JobClosed job="+jobOf(i)+" worker=bot", brief(evs[0]))
		if i == botN-1 {
			// The first close frees a place: the late job is offered at once.
			require.Equal(t, []string{"OfferIssued job=late worker=bot"}, briefs(evs[1:]))
		}
		if i%500 == 0 {
			f.check()
		}
	}
	w = f.getWorker("bot")
	require.Len(t, w.Offers, 1)
	require.Empty(t, w.AssignedJobs)
	require.Nil(t, f.e.workers["bot"].many, "few held: the index is dropped")
	f.check()
}

// A bot's offers end in the middle of its chain (declined, accepted, revoked by a
// cancel); the rest keep issue order: a deregistration revokes them in that order,
// and so does an expiry that deregisters the bot, after the offers expiring at
// that same instant (in issue order too).
func TestABot_RevokesItsOffersInIssueOrder(t *testing.T) {
	for _, how := range []string{"deregister", "expiry"} {
		t.Run(how, func(t *testing.T) {
			f := botFixture(t, Config{})
			// Offers issued a millisecond apart, but the first three at one instant:
			// when they expire, the heap fires the first and the bot's deregistration
			// announces the other two, in issue order, before it revokes the rest.
			f.job(call("a", "q"))
			f.job(call("b", "q"))
			f.job(call("c", "q"))
			f.advance(time.Millisecond)
			n := botN - 3 // MaxNumberOfJobs
			offers := f.issue("j", n)
			f.take()
			rng := rand.New(rand.NewPCG(3, 4))
			ended := map[int]bool{}
			accepted := 0
			for _, i := range rng.Perm(n)[:n/3] {
				ended[i] = true
				switch i % 3 {
				case 0:
					require.NoError(t, f.e.DeclineOffer(f.now, "bot", offers[i], time.Time{}))
				case 1:
					_, _, err := f.e.AcceptOffer(f.now, "bot", offers[i])
					require.NoError(t, err)
					accepted++
				default:
					require.NoError(t, f.e.CancelJob(f.now, "j"+itoa(i), "", ""))
				}
			}
			f.take()
			f.check()
			var want []string
			switch how {
			case "deregister":
				want = []string{"OfferRevoked job=a worker=bot", "OfferRevoked job=b worker=bot", "OfferRevoked job=c worker=bot"}
				w := Worker{ID: "bot", Queues: []string{"q"}, Capacity: 2 * botN,
					Channels: []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: 1, MaxNumberOfJobs: botN}}}
				f.worker(w)
			case "expiry":
				want = []string{"OfferExpired job=a worker=bot", "OfferExpired job=b worker=bot", "OfferExpired job=c worker=bot"}
				f.advanceTo(t0.Add(expiry))
			}
			for i := range n {
				if !ended[i] {
					want = append(want, "OfferRevoked job=j"+itoa(i)+" worker=bot")
				}
			}
			want = append(want, "WorkerDeregistered worker=bot")
			got := only(f.take(), EvOfferRevoked, EvOfferExpired, EvWorkerDeregistered)
			require.Equal(t, want, briefs(got))
			w := f.getWorker("bot")
			require.Empty(t, w.Offers)
			require.Equal(t, WorkerDraining, w.State, "it still holds the accepted ones")
			require.Len(t, w.AssignedJobs, accepted)
			f.check()
		})
	}
}

// A worker's index is built when it holds Config.IndexHeldAt (32) and dropped only
// when it is down to half that, so that a worker hovering about 32 does not build
// and drop it over and over.
func TestABot_DropsItsIndexOnlyAtHalf(t *testing.T) {
	f := botFixture(t, Config{})
	offers := f.issue("j", defaultIndexHeldAt-1)
	require.Nil(t, f.e.workers["bot"].many, "31 held: no index")
	offers = append(offers, f.issue("k", 1)...)
	require.NotNil(t, f.e.workers["bot"].many, "32 held: indexed")
	retry := f.now.Add(time.Hour)
	for i, id := range offers[:defaultIndexHeldAt/2] {
		require.NotNil(t, f.e.workers["bot"].many, "%d held: still indexed", defaultIndexHeldAt-i)
		require.NoError(t, f.e.DeclineOffer(f.now, "bot", id, retry))
	}
	require.Nil(t, f.e.workers["bot"].many, "16 held: dropped")
	f.check()
}
