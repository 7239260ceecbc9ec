package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

func TestWorker_NewAvailableWorkerIsActiveAndRegistered(t *testing.T) {
	f := newFixture(t)
	f.basic()
	w := agent("w", "q", "q2")
	w.Labels = Labels{"lang": "en"}
	w.Tags = Labels{"desk": 1}
	w.MaxConcurrentOffers = 3
	got := f.worker(w)
	require.Equal(t, WorkerActive, got.State)
	evs := f.take()
	require.Equal(t, []string{"WorkerRegistered worker=w"}, briefs(evs))
	ev := evs[0]
	require.Equal(t, []string{"q", "q2"}, ev.Extras().Queues)
	require.Equal(t, 1, ev.Extras().Capacity)
	require.Equal(t, w.Channels, ev.Extras().Channels)
	require.Equal(t, Labels{"lang": "en", "Id": "w"}, ev.WorkerLabelMap())
	require.Equal(t, []labels.Pair{{Key: "lang", Value: "en"}}, ev.WorkerLabels.Pairs(), "the set leaves Id to the ID")
	require.Equal(t, Labels{"desk": 1}, ev.WorkerTags)
	require.Equal(t, 3, ev.Extras().MaxConcurrentOffers)
	require.Equal(t, f.now, ev.Time)
}

func TestWorker_NewUnavailableWorkerIsInactiveWithoutAnEvent(t *testing.T) {
	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	w.AvailableForOffers = false
	require.Equal(t, WorkerInactive, f.worker(w).State)
	require.Empty(t, f.take())

	f.advance(time.Second)
	w.AvailableForOffers = true
	require.Equal(t, WorkerActive, f.worker(w).State)
	require.Equal(t, []string{"WorkerRegistered worker=w"}, briefs(f.take()))
}

func TestWorker_DeregisteringDrainsUntilTheLastAssignmentIsReleased(t *testing.T) {
	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	w.Capacity = 2
	f.worker(w)
	a1 := f.assign("w", "j1", "q")
	a2 := f.assign("w", "j2", "q")
	require.NoError(t, f.e.CompleteJob(f.now, "j2", a2, ""))
	f.take()

	w.AvailableForOffers = false
	got := f.worker(w)
	require.Equal(t, WorkerDraining, got.State)
	require.Equal(t, []string{"WorkerDeregistered worker=w"}, briefs(f.take()))

	require.NoError(t, f.e.CloseJob(f.now, "j1", a1, "", "", time.Time{}))
	require.Equal(t, WorkerDraining, f.getWorker("w").State, "a completed, unclosed job still counts")
	require.NoError(t, f.e.CloseJob(f.now, "j2", a2, "", "", time.Time{}))
	require.Equal(t, WorkerInactive, f.getWorker("w").State)

	// A draining worker is offered nothing.
	f.job(call("j3", "q"))
	require.Empty(t, f.offersFor("j3"))
}

func TestWorker_DrainingEndsOnUnassignAndCancelToo(t *testing.T) {
	for _, release := range []string{"unassign", "cancel"} {
		t.Run(release, func(t *testing.T) {
			f := newFixture(t)
			f.basic()
			w := agent("w", "q")
			f.worker(w)
			aid := f.assign("w", "j", "q")
			w.AvailableForOffers = false
			require.Equal(t, WorkerDraining, f.worker(w).State)
			if release == "unassign" {
				_, err := f.e.UnassignJob(f.now, "j", aid, false)
				require.NoError(t, err)
			} else {
				require.NoError(t, f.e.CancelJob(f.now, "j", "", ""))
			}
			require.Equal(t, WorkerInactive, f.getWorker("w").State)
		})
	}
}

func TestWorker_ReRegisteringADrainingWorkerMakesItActive(t *testing.T) {
	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	w.Capacity = 2
	f.worker(w)
	f.assign("w", "j", "q")
	w.AvailableForOffers = false
	f.worker(w)
	f.job(call("j2", "q"))
	require.Empty(t, f.offersFor("j2"))
	f.take()
	w.AvailableForOffers = true
	require.Equal(t, WorkerActive, f.worker(w).State)
	require.Equal(t, []string{"WorkerRegistered worker=w", "OfferIssued job=j2 worker=w"}, briefs(f.take()))
}

func TestWorker_WorkerUpdatedListsTheChangedProperties(t *testing.T) {
	base := agent("w", "q")
	base.Labels = Labels{"lang": "en"}
	base.Tags = Labels{"desk": 1}
	cases := []struct {
		name   string
		change func(w *Worker)
		want   []string // nil: no event
	}{
		{"nothing", func(*Worker) {}, nil},
		{"same labels, new map", func(w *Worker) { w.Labels = Labels{"lang": "en"} }, nil},
		{"capacity", func(w *Worker) { w.Capacity = 4 }, []string{"capacity"}},
		{"labels", func(w *Worker) { w.Labels = Labels{"lang": "fr"} }, []string{"labels"}},
		{"label type", func(w *Worker) { w.Labels = Labels{"lang": 1} }, []string{"labels"}},
		{"tags", func(w *Worker) { w.Tags = nil }, []string{"tags"}},
		{"queues", func(w *Worker) { w.Queues = []string{"q", "q2"} }, []string{"queues"}},
		{"channels", func(w *Worker) {
			w.Channels = []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: 1, MaxNumberOfJobs: 1}}
		}, []string{"channels"}},
		{"maxConcurrentOffers", func(w *Worker) { w.MaxConcurrentOffers = 2 }, []string{"maxConcurrentOffers"}},
		{"several", func(w *Worker) { w.Capacity, w.Labels, w.Queues = 3, nil, nil },
			[]string{"queues", "capacity", "labels"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.basic()
			f.worker(base)
			f.take()
			f.advance(time.Second)
			w := base
			w.Labels = Labels{"lang": "en"}
			tc.change(&w)
			f.worker(w)
			evs := f.take()
			if tc.want == nil {
				require.Empty(t, evs)
				return
			}
			require.Equal(t, []string{"WorkerUpdated worker=w"}, briefs(evs))
			require.Equal(t, tc.want, evs[0].Extras().UpdatedProperties)
			require.Equal(t, f.now, evs[0].Time)
			require.Equal(t, WorkerActive, f.getWorker("w").State)
		})
	}
}

func TestWorker_GainingCapacityOrAQueueRunsMatching(t *testing.T) {
	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	f.worker(w)
	f.assign("w", "j1", "q")
	f.job(call("j2", "q"))
	f.job(call("j3", "q2"))
	require.Empty(t, f.offersFor("j2"))

	w.Capacity = 2
	f.worker(w)
	require.Equal(t, []string{"w"}, f.offeredTo("j2"))
	w.Capacity = 3
	w.Queues = []string{"q", "q2"}
	f.worker(w)
	require.Equal(t, []string{"w"}, f.offeredTo("j3"))
}

func TestWorker_UpdateDoesNotRevokeOpenOffers(t *testing.T) {
	// (ours) eligibility applies to offers made from then on.
	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	f.worker(w)
	f.job(call("j", "q"))
	o := f.offer("w", "j")
	w.Queues = []string{"q2"}
	f.worker(w)
	require.Equal(t, o, f.offer("w", "j"))
}

func TestDeleteWorker_HoldingAnAssignmentIsAConflict(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fixture, aid string)
	}{
		{"assigned", func(*fixture, string) {}},
		{"completed, not closed", func(f *fixture, aid string) {
			require.NoError(f.t, f.e.CompleteJob(f.now, "j", aid, ""))
		}},
		{"waiting for CloseAt", func(f *fixture, aid string) {
			require.NoError(f.t, f.e.CloseJob(f.now, "j", aid, "", "", f.now.Add(time.Minute)))
		}},
		{"draining", func(f *fixture, _ string) {
			w := agent("w", "q")
			w.AvailableForOffers = false
			f.worker(w)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.basic()
			f.worker(agent("w", "q"))
			aid := f.assign("w", "j", "q")
			tc.setup(f, aid)
			f.take()
			before := f.digest()
			requireCode(t, f.e.DeleteWorker(f.now, "w"), CodeConflict)
			f.requireUnchanged(before)
		})
	}
}

func TestDeleteWorker_DeletesAndAnnounces(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	aid := f.assign("w", "j", "q")
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "", "", time.Time{}))
	f.take()
	require.NoError(t, f.e.DeleteWorker(f.now, "w"))
	require.Equal(t, []string{"WorkerDeleted worker=w"}, briefs(f.take()))
	_, err := f.e.GetWorker("w")
	requireCode(t, err, CodeNotFound)
	requireCode(t, f.e.DeleteWorker(f.now, "w"), CodeNotFound)
	require.NoError(t, f.e.DeleteQueue(f.now, "q"), "it no longer listens on q")
}

func TestIdLabel_PresentOnWorkersAndQueuesAndReserved(t *testing.T) {
	f := newFixture(t)
	f.basic()
	q, err := f.e.UpsertQueue(f.now, Queue{ID: "q3", DistributionPolicyID: "p", Labels: Labels{"region": "eu"}})
	require.NoError(t, err)
	require.Equal(t, Labels{"region": "eu", "Id": "q3"}, q.Labels)
	gq, err := f.e.GetQueue("q")
	require.NoError(t, err)
	require.Equal(t, Labels{"Id": "q"}, gq.Labels)

	w := agent("w", "q")
	w.Labels = Labels{"Id": "w", "lang": "en"} // equal to the ID: accepted
	require.Equal(t, Labels{"Id": "w", "lang": "en"}, f.worker(w).Labels)
	require.Equal(t, Labels{"Id": "w2"}, f.worker(agent("w2", "q")).Labels)
	f.take()

	before := f.digest()
	bad := agent("w", "q")
	bad.Labels = Labels{"Id": "someone-else"}
	_, err = f.e.UpsertWorker(f.now, bad)
	requireCode(t, err, CodeInvalid)
	_, err = f.e.UpsertQueue(f.now, Queue{ID: "q", DistributionPolicyID: "p", Labels: Labels{"Id": "x"}})
	requireCode(t, err, CodeInvalid)
	_, err = f.e.UpsertQueue(f.now, Queue{ID: "q", DistributionPolicyID: "p", Labels: Labels{"Id": 7}})
	requireCode(t, err, CodeInvalid)
	f.requireUnchanged(before)
}

func TestListWorkers_Filters(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("a", "q"))
	b := agent("b", "q2")
	b.Channels = []ChannelConfig{{ChannelID: chat, CapacityCostPerJob: 1}}
	f.worker(b)
	c := agent("c", "q")
	c.AvailableForOffers = false
	f.worker(c)
	f.assign("a", "j", "q")

	ids := func(ws []Worker) []string {
		var out []string
		for _, w := range ws {
			out = append(out, w.ID)
		}
		return out
	}
	require.Equal(t, []string{"a", "b"}, ids(f.e.ListWorkers(WorkerFilter{State: WorkerActive})))
	require.Equal(t, []string{"a", "c"}, ids(f.e.ListWorkers(WorkerFilter{QueueID: "q"})))
	require.Equal(t, []string{"b"}, ids(f.e.ListWorkers(WorkerFilter{ChannelID: chat})))
	require.Equal(t, []string{"b", "c"}, ids(f.e.ListWorkers(WorkerFilter{HasCapacity: true})))
	require.Equal(t, []string{"b"}, ids(f.e.ListWorkers(WorkerFilter{After: "a", Limit: 1})))
}
