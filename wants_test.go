package jobrouter

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// wantsCommands runs the same commands on r whoever listens: workers registering
// and going offline with an open offer, a decline with a RetryOfferAt, a lifecycle
// to the close, a cancel with a note, an expiry. Between them, extra subscriptions
// to a few types open and close, so that what the engine is asked to build changes
// during the run.
func wantsCommands(t *testing.T, r *Router) {
	t.Helper()
	upsertTestWorker(t, r, "w1", 1)
	upsertTestWorker(t, r, "w2", 1)
	extra := r.Subscribe(&SubscribeOptions{Types: []EventType{EventTypeWorkerUpdated}, Synchronous: true})
	_, err := r.CreateJob(ctx, Job{ID: "j1", QueueID: "q", ChannelID: "voice"})
	require.NoError(t, err)
	offer := func(workerID, jobID string) string {
		t.Helper()
		w, err := r.GetWorker(ctx, workerID)
		require.NoError(t, err)
		for _, o := range w.Offers {
			if o.JobID == jobID {
				return o.ID
			}
		}
		t.Fatalf("no offer of %s to %s", jobID, workerID)
		return ""
	}
	require.NoError(t, r.DeclineJobOffer(ctx, "w1", offer("w1", "j1"), &DeclineJobOfferOptions{RetryOfferAt: start.Add(time.Hour)}))
	_, err = r.UpsertWorker(ctx, Worker{ID: "w2", Queues: []string{"q"}, Capacity: 1,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}}) // offline: the offer is revoked
	require.NoError(t, err)
	extra.Close()
	upsertTestWorker(t, r, "w2", 1) // back
	res, err := r.AcceptJobOffer(ctx, "w2", offer("w2", "j1"))
	require.NoError(t, err)
	require.NoError(t, r.CompleteJob(ctx, "j1", res.AssignmentID, nil))
	require.NoError(t, r.CloseJob(ctx, "j1", res.AssignmentID, &CloseJobOptions{DispositionCode: "resolved"}))
	extra = r.Subscribe(&SubscribeOptions{Types: []EventType{EventTypeJobCancelled}, WorkerID: "nobody"})
	_, err = r.CreateJob(ctx, Job{ID: "j2", QueueID: "q", ChannelID: "voice"})
	require.NoError(t, err)
	require.NoError(t, r.CancelJob(ctx, "j2", &CancelJobOptions{Note: "caller hung up"}))
	extra.Close()
	_, err = r.CreateJob(ctx, Job{ID: "j3", QueueID: "q", ChannelID: "voice"})
	require.NoError(t, err)
	require.NoError(t, r.AdvanceTo(start.Add(10*time.Minute))) // the offer of j3 expires
}

// TestSeqDoesNotDependOnWhoListens: the engine builds only the events of types some
// subscription takes, but an event it skips keeps its Seq. Two routers run the same
// commands, one watched by a subscription to every event and one by a subscription
// to three types: the second receives exactly the first's events of those types,
// Seq and every field alike.
func TestSeqDoesNotDependOnWhoListens(t *testing.T) {
	run := func(types ...EventType) []Event {
		r := newManualRouter(t, nil)
		sub := r.Subscribe(&SubscribeOptions{Types: types, Synchronous: true})
		wantsCommands(t, r)
		return sub.Poll()
	}
	all := run()
	some := []EventType{EventTypeOfferRevoked, EventTypeJobClosed, EventTypeOfferExpired}
	var want []Event
	seen := map[EventType]bool{}
	for _, ev := range all {
		for _, typ := range some {
			if ev.Type() == typ {
				want = append(want, ev)
				seen[typ] = true
			}
		}
	}
	require.Len(t, seen, len(some), "the commands record each of %v", some)
	require.Equal(t, want, run(some...))
	for i, ev := range all {
		if i > 0 {
			require.Equal(t, all[i-1].Seq()+1, ev.Seq(), "the stream of every event has no gap")
		}
	}
}

// TestEventsFollowTheSubscriptions: a Router with no subscriber builds no event, yet
// a subscription made later receives the next events with the numbers they would
// have had, and what a subscription takes (its Types; none for every type) decides
// what the engine builds from the next command on.
func TestEventsFollowTheSubscriptions(t *testing.T) {
	r := newManualRouter(t, nil)
	for _, typ := range allEventTypes {
		require.False(t, r.bus.wants(engine.EventType(typ)), "no subscriber, %s", typ)
	}
	require.Zero(t, r.eng.Wanted())
	upsertTestWorker(t, r, "w1", 1) // WorkerRegistered: Seq 1, not built
	queued := r.Subscribe(&SubscribeOptions{Types: []EventType{EventTypeJobQueued}, Synchronous: true})
	require.True(t, r.bus.wants(engine.EventType(EventTypeJobQueued)))
	require.False(t, r.bus.wants(engine.EventType(EventTypeJobReceived)))
	require.Equal(t, engine.EventTypeBit(engine.EvJobQueued), r.eng.Wanted(), "Subscribe widens the engine's set at once")
	_, err := r.CreateJob(ctx, Job{ID: "j1", QueueID: "q", ChannelID: "voice"}) // JobReceived 2, JobQueued 3, OfferIssued 4
	require.NoError(t, err)
	evs := queued.Poll()
	require.Len(t, evs, 1)
	require.Equal(t, uint64(3), evs[0].Seq())

	keyed := r.Subscribe(&SubscribeOptions{WorkerID: "w1", Synchronous: true}) // every type, for w1
	for _, typ := range allEventTypes {
		require.True(t, r.bus.wants(engine.EventType(typ)), "a subscription without Types, %s", typ)
	}
	require.Equal(t, engine.AnyEventType, r.eng.Wanted())
	_, err = r.UpsertWorker(ctx, Worker{ID: "w1", Queues: []string{"q"}, Capacity: 1,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}}) // OfferRevoked 5, WorkerDeregistered 6
	require.NoError(t, err)
	got := keyed.Poll()
	require.Len(t, got, 2)
	require.Equal(t, EventTypeOfferRevoked, got[0].Type())
	require.Equal(t, uint64(5), got[0].Seq())
	require.Equal(t, "worker deregistered", got[0].(OfferRevoked).Reason)
	require.Equal(t, EventTypeWorkerDeregistered, got[1].Type())

	keyed.Close()
	queued.Close()
	for _, typ := range allEventTypes {
		require.False(t, r.bus.wants(engine.EventType(typ)), "every subscription closed, %s", typ)
	}
	_, err = r.GetWorker(ctx, "w1")
	require.NoError(t, err)
	require.Zero(t, r.eng.Wanted(), "the next command narrows the engine's set")
}

// TestSubscribeWhileCommandsRun: a subscription made while another goroutine runs
// commands receives, from its first event on, every event of its types, although
// the engine built none of them before: Subscribe tells the engine under the
// Router's mutex, before any later command. Each job here is offered as it is
// created, so its JobQueued is numbered just before its OfferIssued.
func TestSubscribeWhileCommandsRun(t *testing.T) {
	r := newManualRouter(t, nil)
	_, err := r.UpsertWorker(ctx, Worker{ID: "w", Queues: []string{"q"}, Capacity: 1 << 20,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: true})
	require.NoError(t, err)
	offers := r.Subscribe(&SubscribeOptions{Types: []EventType{EventTypeOfferIssued}, Synchronous: true})
	const n = 2000
	var subscribed atomic.Bool
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if i == n/2 {
				for !subscribed.Load() { // the second half comes after Subscribe for sure
					runtime.Gosched()
				}
			}
			if _, err := r.CreateJob(ctx, Job{ID: fmt.Sprint("j", i), QueueID: "q", ChannelID: "voice"}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var offered []Event
	for len(offered) < n/10 {
		offered = offers.PollAppend(offered)
		runtime.Gosched()
	}
	queued := r.Subscribe(&SubscribeOptions{Types: []EventType{EventTypeJobQueued}, Synchronous: true})
	subscribed.Store(true)
	require.NoError(t, <-done)
	offered = offers.PollAppend(offered)
	got := queued.Poll()
	require.Len(t, offered, n)
	require.NotEmpty(t, got)
	first := got[0].Seq()
	var want []uint64
	for _, ev := range offered {
		if ev.Seq()-1 >= first {
			want = append(want, ev.Seq()-1)
		}
	}
	var seqs []uint64
	for _, ev := range got {
		seqs = append(seqs, ev.Seq())
	}
	require.Equal(t, want, seqs, "every JobQueued from the first one received on")
	require.GreaterOrEqual(t, len(seqs), n/2)
}
