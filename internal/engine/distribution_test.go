package engine

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/stretchr/testify/require"
)

// roomy is an available worker on queues with capacity 10 at cost 1 on voice.
func roomy(id string, queues ...string) Worker {
	w := agent(id, queues...)
	w.Capacity = 10
	return w
}

// modeFixture stores policy "p" with m and queues "q" and "q2" using it.
func modeFixture(t *testing.T, m Mode) *fixture {
	f := newFixture(t)
	f.policy("p", m)
	f.queue("q", "p")
	f.queue("q2", "p")
	return f
}

func TestLongestIdle_LowestLoadRatioFirst(t *testing.T) {
	for _, held := range []string{"offer", "assignment"} {
		t.Run("busy by "+held, func(t *testing.T) {
			f := modeFixture(t, Mode{Kind: LongestIdle})
			busy := agent("a", "q")
			busy.Capacity = 2
			f.worker(busy) // idle longest, lowest ID
			f.job(call("j0", "q"))
			if held == "assignment" {
				f.accept("a", "j0")
			}
			require.Equal(t, 0.5, f.getWorker("a").LoadRatio)
			f.advance(time.Second)
			free := agent("b", "q")
			free.Capacity = 2
			f.worker(free)
			f.job(call("j", "q"))
			require.Equal(t, []string{"b"}, f.offeredTo("j"))
		})
	}
}

func TestLongestIdle_LongestIdleSinceRegistration(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle})
	f.worker(agent("b", "q"))
	f.advance(time.Second)
	f.worker(agent("a", "q"))
	f.job(call("j", "q"))
	require.Equal(t, []string{"b"}, f.offeredTo("j"), "b registered first, whatever the IDs")
}

func TestLongestIdle_IdleRestartsWhenCapacityIsReleased(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle})
	f.worker(agent("a", "q")) // registered at +0
	f.advance(time.Second)
	f.worker(agent("b", "q")) // registered at +1s
	aid := f.assign("a", "j0", "q")
	f.advance(time.Second)
	require.NoError(t, f.e.CloseJob(f.now, "j0", aid, "", "", time.Time{})) // a idle since +2s
	f.job(call("j", "q"))
	require.Equal(t, []string{"b"}, f.offeredTo("j"))
}

func TestLongestIdle_ReRegistrationRestartsIdle(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle})
	f.worker(agent("a", "q"))
	f.advance(time.Second)
	f.worker(agent("b", "q"))
	f.advance(time.Second)
	off := agent("a", "q")
	off.AvailableForOffers = false
	f.worker(off)
	f.worker(agent("a", "q"))
	f.job(call("j", "q"))
	require.Equal(t, []string{"b"}, f.offeredTo("j"))
}

func TestLongestIdle_TiesGoToTheLowestID(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle})
	f.worker(agent("b", "q"))
	f.worker(agent("a", "q"))
	f.worker(agent("c", "q"))
	f.job(call("j", "q"))
	require.Equal(t, []string{"a"}, f.offeredTo("j"))
}

func TestRoundRobin_IDOrderStartingAfterTheLastOfferedWrapping(t *testing.T) {
	f := modeFixture(t, Mode{Kind: RoundRobin})
	for _, id := range []string{"c", "a", "b"} { // registration order does not matter
		f.worker(roomy(id, "q", "q2"))
		f.advance(time.Second)
	}
	var got []string
	for i := range 5 {
		id := fmt.Sprintf("j%d", i)
		f.job(call(id, "q"))
		got = append(got, f.offeredTo(id)...)
	}
	require.Equal(t, []string{"a", "b", "c", "a", "b"}, got)

	// The rotation is per queue: q2 has offered nothing yet, so it starts at the lowest.
	f.job(call("other", "q2"))
	require.Equal(t, []string{"a"}, f.offeredTo("other"))
	f.job(call("j5", "q"))
	require.Equal(t, []string{"c"}, f.offeredTo("j5"), "q resumes after b")
}

// The ID-ordered free trees exist only while a queue is RoundRobin (syncByID): a
// switch to RoundRobin, by a policy update or by a queue moving to another policy,
// must find every worker that became free while the queue was in another mode, and
// a switch away and back again must lose none. The fixture's Config.Checks verifies
// the trees after every command.
func TestRoundRobin_SwitchingModesKeepsTheRotationWhole(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle})
	f.policy("li", Mode{Kind: LongestIdle})
	tagged := roomy("d", "q")
	tagged.Labels = Labels{"skill": "fr"} // another worker class than a, b and c
	for _, w := range []Worker{roomy("c", "q"), tagged, roomy("a", "q"), roomy("b", "q")} {
		f.worker(w)
		f.advance(time.Second)
	}
	n := 0
	next := func() string {
		n++
		id := fmt.Sprintf("j%d", n)
		f.job(call(id, "q"))
		got := f.offeredTo(id)
		require.Len(t, got, 1, id)
		return got[0]
	}
	require.Equal(t, "c", next(), "LongestIdle: c registered first")

	f.policy("p", Mode{Kind: RoundRobin}) // a policy update makes q RoundRobin
	require.Equal(t, []string{"d", "a", "b", "c"}, []string{next(), next(), next(), next()},
		"the rotation starts after c, the last offered, across both classes")

	f.queue("q", "li") // q moves to a LongestIdle policy
	f.worker(roomy("e", "q"))
	require.Equal(t, "e", next(), "LongestIdle: e holds no offer")

	f.policy("li", Mode{Kind: RoundRobin}) // and that policy becomes RoundRobin
	require.Equal(t, []string{"a", "b", "c", "d", "e", "a"}, []string{next(), next(), next(), next(), next(), next()},
		"e, registered while q was LongestIdle, is in the rotation")
}

func TestRoundRobin_SkipsIneligibleWorkersAndResumesAfterTheLastOffered(t *testing.T) {
	f := modeFixture(t, Mode{Kind: RoundRobin})
	for _, id := range []string{"a", "b", "c", "d"} {
		f.worker(roomy(id, "q"))
	}
	f.assign("a", "j1", "q")
	f.assign("b", "j2", "q")
	// b, the last offered, and c, the next, leave; the rotation goes on from b's place.
	for _, id := range []string{"b", "c"} {
		off := roomy(id, "q")
		off.AvailableForOffers = false
		f.worker(off)
	}
	f.job(call("j3", "q"))
	require.Equal(t, []string{"d"}, f.offeredTo("j3"))
	f.job(call("j4", "q"))
	require.Equal(t, []string{"a"}, f.offeredTo("j4"))
}

func TestRoundRobin_SeveralOffersAdvanceTheRotationByEach(t *testing.T) {
	f := modeFixture(t, Mode{Kind: RoundRobin, MinConcurrentOffers: 1, MaxConcurrentOffers: 2})
	for _, id := range []string{"a", "b", "c"} {
		f.worker(roomy(id, "q"))
	}
	f.job(call("j1", "q"))
	require.Equal(t, []string{"a", "b"}, f.offeredTo("j1"))
	f.job(call("j2", "q"))
	require.Equal(t, []string{"a", "c"}, f.offeredTo("j2"), "c then a, wrapping")
}

// bestWorkers stores workers with the labels, in the order given, one second apart
// (so the first listed has been idle longest).
func bestWorkers(f *fixture, ws map[string]Labels, order ...string) {
	f.t.Helper()
	for _, id := range order {
		w := agent(id, "q")
		w.Labels = ws[id]
		f.worker(w)
		f.advance(time.Second)
	}
}

func TestBestWorker_DefaultScoreIsTheLabelMatchRatio(t *testing.T) {
	ws := map[string]Labels{
		"a": {"lang": "en"},                   // 1 of 2
		"b": {"lang": "en", "skill": "sales"}, // 2 of 2
		"c": {"lang": "fr", "skill": 3},       // 0 of 2
	}
	for _, tc := range []struct {
		descending bool
		want       string
	}{{true, "b"}, {false, "c"}} {
		t.Run(fmt.Sprintf("descending=%v", tc.descending), func(t *testing.T) {
			f := modeFixture(t, Mode{Kind: BestWorker, Descending: tc.descending})
			bestWorkers(f, ws, "a", "b", "c")
			j := call("j", "q")
			j.Labels = Labels{"lang": "en", "skill": "sales"}
			f.job(j)
			require.Equal(t, []string{tc.want}, f.offeredTo("j"))
		})
	}
}

func TestBestWorker_DefaultScoreUsesTheLogisticForOrderingSelectors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sel        Selector
		levels     map[string]int
		descending bool
		want       string
	}{
		// x = (label-value)/value: 6→0.2, 10→1, 5→0.
		{"greater: the furthest above wins", Selector{Key: "level", Op: labels.GreaterThanOrEqual, Value: 5},
			map[string]int{"a": 6, "b": 10, "c": 5}, true, "b"},
		{"greater ascending: the closest wins", Selector{Key: "level", Op: labels.GreaterThanOrEqual, Value: 5},
			map[string]int{"a": 6, "b": 10, "c": 5}, false, "c"},
		// Reversed for less-than: x = (value-label)/value: 2→0.8, 8→0.2.
		{"less: the furthest below wins", Selector{Key: "level", Op: labels.LessThan, Value: 10},
			map[string]int{"a": 8, "b": 2, "c": 9}, true, "b"},
		{"greater than: strict", Selector{Key: "level", Op: labels.GreaterThan, Value: 5},
			map[string]int{"a": 7, "b": 6, "c": 9}, true, "c"},
		{"less or equal", Selector{Key: "level", Op: labels.LessThanOrEqual, Value: 10},
			map[string]int{"a": 10, "b": 3, "c": 7}, true, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := modeFixture(t, Mode{Kind: BestWorker, Descending: tc.descending})
			ws := map[string]Labels{}
			for id, l := range tc.levels {
				ws[id] = Labels{"level": l}
			}
			bestWorkers(f, ws, "a", "b", "c")
			j := call("j", "q")
			j.RequestedWorkerSelectors = []Selector{tc.sel}
			f.job(j)
			require.Equal(t, []string{tc.want}, f.offeredTo("j"))
		})
	}
}

func TestBestWorker_BypassedSelectorsStillScore(t *testing.T) {
	f := modeFixture(t, Mode{Kind: BestWorker, Descending: true, BypassSelectors: true})
	bestWorkers(f, map[string]Labels{"a": {"lang": "fr"}, "b": {"lang": "en"}}, "a", "b")
	j := call("j", "q")
	j.RequestedWorkerSelectors = []Selector{{Key: "lang", Op: labels.Equal, Value: "en"}}
	f.job(j)
	require.Equal(t, []string{"b"}, f.offeredTo("j"), "a is eligible (bypass) but b satisfies the selector")
	j2 := call("j2", "q")
	j2.RequestedWorkerSelectors = []Selector{{Key: "lang", Op: labels.NotEqual, Value: "en"}}
	f.job(j2)
	require.Equal(t, []string{"a"}, f.offeredTo("j2"))
}

func TestBestWorker_LabelAndSelectorPartsBothCount(t *testing.T) {
	f := modeFixture(t, Mode{Kind: BestWorker, Descending: true, BypassSelectors: true})
	bestWorkers(f, map[string]Labels{
		"a": {"team": "x", "level": 0},   // label 1, selector logistic(-1)
		"b": {"team": "y", "level": 100}, // label 0, selector ≈1
		"c": {"team": "x", "level": 5},   // label 1, selector logistic(0): best mean
	}, "a", "b", "c")
	j := call("j", "q")
	j.Labels = Labels{"team": "x"}
	j.RequestedWorkerSelectors = []Selector{{Key: "level", Op: labels.GreaterThanOrEqual, Value: 5}}
	f.job(j)
	require.Equal(t, []string{"c"}, f.offeredTo("j"))
}

func TestBestWorker_TiesGoToLongestIdleThenID(t *testing.T) {
	f := modeFixture(t, Mode{Kind: BestWorker, Descending: true})
	bestWorkers(f, map[string]Labels{"b": {"lang": "en"}, "a": {"lang": "en"}, "c": {}}, "b", "a", "c")
	j := call("j", "q")
	j.Labels = Labels{"lang": "en"}
	f.job(j)
	require.Equal(t, []string{"b"}, f.offeredTo("j"), "b and a tie on score; b has been idle longer")

	g := modeFixture(t, Mode{Kind: BestWorker, Descending: true})
	for _, id := range []string{"b", "a"} {
		w := agent(id, "q")
		w.Labels = Labels{"lang": "en"}
		g.worker(w)
	}
	g.job(j)
	require.Equal(t, []string{"a"}, g.offeredTo("j"), "same score, same idle time: the lowest ID")
}

func TestBestWorker_CustomScoreFunc(t *testing.T) {
	var seen []ScoringInput
	score := func(in ScoringInput) (float64, error) {
		seen = append(seen, in)
		n, _ := labels.Number(in.WorkerLabels["score"])
		return n, nil
	}
	for _, tc := range []struct {
		descending bool
		want       string
	}{{true, "b"}, {false, "c"}} {
		t.Run(fmt.Sprintf("descending=%v", tc.descending), func(t *testing.T) {
			seen = nil
			f := modeFixture(t, Mode{Kind: BestWorker, Score: score, Descending: tc.descending})
			bestWorkers(f, map[string]Labels{"a": {"score": 5}, "b": {"score": 9}, "c": {"score": 1.5}}, "a", "b", "c")
			j := call("j", "q")
			j.Labels = Labels{"k": "v"}
			j.RequestedWorkerSelectors = []Selector{{Key: "score", Op: labels.GreaterThan, Value: 0}}
			f.job(j)
			require.Equal(t, []string{tc.want}, f.offeredTo("j"))
			require.Len(t, seen, 3, "one call per eligible worker")
			for _, in := range seen {
				require.Equal(t, Labels{"k": "v"}, in.JobLabels)
				require.Equal(t, in.WorkerID, in.WorkerLabels["Id"])
				require.Equal(t, j.RequestedWorkerSelectors, in.Selectors)
			}
		})
	}
}

func TestBestWorker_FailingScoreFuncGivesTheWorstScore(t *testing.T) {
	for _, tc := range []struct {
		name       string
		descending bool
	}{{"descending", true}, {"ascending", false}} {
		for _, failure := range []string{"panic", "error", "NaN"} {
			t.Run(tc.name+"/"+failure, func(t *testing.T) {
				score := func(in ScoringInput) (float64, error) {
					if in.WorkerID == "a" {
						switch failure {
						case "panic":
							panic("user code")
						case "error":
							return 0, errors.New("user error")
						default:
							return nanScore(), nil
						}
					}
					return 1, nil
				}
				f := modeFixture(t, Mode{Kind: BestWorker, Score: score, Descending: tc.descending})
				bestWorkers(f, nil, "a", "b") // a: lowest ID and idle longest
				require.NotPanics(t, func() { f.job(call("j", "q")) })
				require.Equal(t, []string{"b"}, f.offeredTo("j"))
			})
		}
	}

	t.Run("every worker panics: still offered, by idle time", func(t *testing.T) {
		f := modeFixture(t, Mode{Kind: BestWorker, Descending: true,
			Score: func(ScoringInput) (float64, error) { panic("always") }})
		bestWorkers(f, nil, "b", "a")
		require.NotPanics(t, func() { f.job(call("j", "q")) })
		require.Equal(t, []string{"b"}, f.offeredTo("j"))
	})
}

func nanScore() float64 {
	zero := 0.0
	return zero / zero
}

func TestConcurrentOffers_MaxOffersAtOnceFirstAcceptWinsOthersRevoked(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 3})
	for _, id := range []string{"a", "b", "c", "d"} {
		f.worker(agent(id, "q"))
		f.advance(time.Second)
	}
	f.take()
	f.job(call("j", "q"))
	require.Equal(t, []string{"a", "b", "c"}, f.offeredTo("j"), "the three idle longest")
	require.Len(t, only(f.take(), EvOfferIssued), 3)

	f.advance(time.Second)
	bOffer := f.offer("b", "j")
	_, aid, err := f.e.AcceptOffer(f.now, "b", bOffer.ID)
	require.NoError(t, err)
	evs := f.take()
	require.Equal(t, []string{"OfferAccepted job=j worker=b", "OfferRevoked job=j worker=a", "OfferRevoked job=j worker=c"}, briefs(evs))
	require.Equal(t, aid, evs[0].AssignmentID)
	require.Equal(t, bOffer.ID, evs[0].OfferID)
	for _, ev := range evs[1:] {
		require.NotEmpty(t, ev.Extras().Reason)
		require.Equal(t, f.now, ev.Time)
	}
	for _, id := range []string{"a", "c", "d"} {
		w := f.getWorker(id)
		require.Empty(t, w.Offers, id)
		require.Zero(t, w.LoadRatio, id)
	}
	require.Equal(t, JobAssigned, f.getJob("j").Status)
	require.Empty(t, f.offersFor("j"), "an assigned job is offered to no one")
}

func TestConcurrentOffers_FewerEligibleThanMinWaits(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle, MinConcurrentOffers: 2, MaxConcurrentOffers: 3})
	f.worker(agent("a", "q"))
	f.job(call("j", "q"))
	require.Empty(t, f.offersFor("j"))
	require.Empty(t, only(f.take(), EvOfferIssued))

	f.advance(time.Second)
	f.worker(agent("b", "q"))
	require.Equal(t, []string{"a", "b"}, f.offeredTo("j"), "two eligible reach the minimum")
	f.advance(time.Second)
	f.worker(agent("c", "q"))
	require.Equal(t, []string{"a", "b", "c"}, f.offeredTo("j"), "topped up to the maximum")
	f.worker(agent("d", "q"))
	require.Equal(t, []string{"a", "b", "c"}, f.offeredTo("j"), "never above the maximum")
}

func TestConcurrentOffers_TopUpAfterADecline(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle, MinConcurrentOffers: 2, MaxConcurrentOffers: 2})
	for _, id := range []string{"a", "b", "c"} {
		f.worker(agent(id, "q"))
		f.advance(time.Second)
	}
	f.job(call("j", "q"))
	require.Equal(t, []string{"a", "b"}, f.offeredTo("j"))
	require.NoError(t, f.e.DeclineOffer(f.now, "a", f.offer("a", "j").ID, time.Time{}))
	require.Equal(t, []string{"b", "c"}, f.offeredTo("j"))
	// With nobody left to top up, the remaining offer stays open.
	require.NoError(t, f.e.DeclineOffer(f.now, "c", f.offer("c", "j").ID, time.Time{}))
	require.Equal(t, []string{"b"}, f.offeredTo("j"))
}

func TestConcurrentOffers_AWorkerHoldsAtMostOneOfferPerJob(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 3})
	f.worker(roomy("w", "q"))
	f.job(call("j", "q"))
	require.Equal(t, []string{"w"}, f.offeredTo("j"))
	// Anything that runs matching again must not offer j to w a second time.
	f.job(call("other", "q2"))
	w := roomy("w", "q")
	w.Capacity = 20
	f.worker(w)
	f.advance(time.Second)
	require.Equal(t, []string{"w"}, f.offeredTo("j"))
}

func TestMatching_RunsWhenAPolicyOrQueueChanges(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle})
	f.worker(agent("a", "q"))
	f.worker(agent("b", "q"))
	f.job(call("j", "q"))
	require.Equal(t, []string{"a"}, f.offeredTo("j"))

	// More concurrent offers: the job is topped up at once.
	_, err := f.e.UpsertDistributionPolicy(f.now, DistributionPolicy{ID: "p", OfferExpiresAfter: expiry,
		Mode: Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 2}})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, f.offeredTo("j"))

	// A queue switched to another policy uses it from then on.
	f.policy("p3", Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 3})
	for _, id := range []string{"c", "d", "e"} {
		f.worker(agent(id, "q2"))
	}
	f.job(call("k", "q2"))
	require.Equal(t, []string{"c", "d"}, f.offeredTo("k"))
	_, err = f.e.UpsertQueue(f.now, Queue{ID: "q2", DistributionPolicyID: "p3"})
	require.NoError(t, err)
	require.Equal(t, []string{"c", "d", "e"}, f.offeredTo("k"))
}

func TestMatching_RunsWhenAnAcceptFreesAnOfferSlot(t *testing.T) {
	f := modeFixture(t, Mode{Kind: LongestIdle})
	w := roomy("w", "q")
	w.MaxConcurrentOffers = 1
	f.worker(w)
	f.job(call("j1", "q"))
	f.job(call("j2", "q"))
	require.Empty(t, f.offersFor("j2"))
	f.take()
	f.accept("w", "j1")
	require.Equal(t, []string{"OfferAccepted job=j1 worker=w", "OfferIssued job=j2 worker=w"}, briefs(f.take()))
}

func TestMatching_UpdatingAQueuedJobsRoutingRevokesAndRematches(t *testing.T) {
	cases := []struct {
		name   string
		change func(j *Job)
		want   []string // nil: the offer stays and nothing is announced
	}{
		{"tags", func(j *Job) { j.Tags = Labels{"crm": 1} }, nil},
		{"notes", func(j *Job) { j.Notes = []Note{{Message: "hi", AddedAt: t0}} }, nil},
		{"channel reference", func(j *Job) { j.ChannelReference = "ref-2" }, nil},
		{"same labels in a new map", func(j *Job) { j.Labels = Labels{"lang": "en"} }, nil},
		{"priority", func(j *Job) { j.Priority = 5 },
			[]string{"OfferRevoked job=j worker=a", "OfferIssued job=j worker=a"}},
		{"labels", func(j *Job) { j.Labels = Labels{"lang": "fr"} },
			[]string{"OfferRevoked job=j worker=a", "OfferIssued job=j worker=a"}},
		{"selectors", func(j *Job) { j.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.Equal, Value: "c"}} },
			[]string{"OfferRevoked job=j worker=a", "OfferIssued job=j worker=c"}},
		{"channel (only c has a chat entry)", func(j *Job) { j.ChannelID = chat },
			[]string{"OfferRevoked job=j worker=a", "OfferIssued job=j worker=c"}},
		// Moved to another queue, the job is queued there afresh (JobQueued).
		{"queue", func(j *Job) { j.QueueID = "q2" },
			[]string{"OfferRevoked job=j worker=a", "JobQueued job=j", "OfferIssued job=j worker=b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := modeFixture(t, Mode{Kind: LongestIdle})
			f.worker(agent("a", "q"))
			f.worker(agent("b", "q2"))
			c := agent("c", "q")
			c.Channels = append(c.Channels, ChannelConfig{ChannelID: chat, CapacityCostPerJob: 0})
			f.advance(time.Second)
			f.worker(c)
			j := call("j", "q")
			j.Labels = Labels{"lang": "en"}
			f.job(j)
			o := f.offer("a", "j")
			f.take()

			upd := f.getJob("j")
			tc.change(&upd)
			_, err := f.e.UpdateJob(f.now, upd)
			require.NoError(t, err)
			evs := f.take()
			if tc.want == nil {
				require.Empty(t, evs)
				require.Equal(t, o, f.offer("a", "j"))
				return
			}
			require.Equal(t, tc.want, briefs(evs))
			require.Equal(t, o.ID, evs[0].OfferID)
		})
	}
}
