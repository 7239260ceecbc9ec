package jobrouter

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/heaptest"
)

// TestDeletedJobsLeaveNothingBehind runs thousands of jobs through a Router, each
// created with labels, tags, a note and a selector, offered, then either cancelled
// or accepted, completed and closed, and then deleted, and checks that the live heap
// does not grow with them: a deleted job must leave nothing in the engine's tables,
// indexes, queues, deadlines or caches, nor in the event bus, whose two subscribers
// here read every event (one Synchronous, one on its channel, through the bus's
// shared log). The shared log keeps the chunks it recycles, with the last events
// they held, for reuse (a bounded amount, not a job's); so the heap is measured
// once the channel's subscriber has read everything and closed, which clears the
// events from them, and the spare chunks themselves are not counted (their number
// depends on how far the reader fell behind at its worst); a new subscriber reads
// the next jobs' events. A job kept anywhere
// costs hundreds of bytes; the bound allows 16 bytes a job, for the jobs table's
// incremental migrations and the collector's noise. A router whose deleted jobs
// stayed would grow all run long, and a growing heap was most of B2's p99 latency
// (BENCHMARKS-HISTORY.md, "Where B2's tail went").
func TestDeletedJobsLeaveNothingBehind(t *testing.T) {
	r := newManualRouter(t, nil)
	sub := r.Subscribe(&SubscribeOptions{Synchronous: true})
	defer sub.Close()
	polled := 0 // events polled from sub: every event, as the shared subscriber gets them
	// reading subscribes to every event on a channel, read by a goroutine; the func
	// it returns waits until that goroutine has taken every event published since,
	// then closes the subscription.
	reading := func() (stop func()) {
		shared := r.Subscribe(nil)
		from := polled
		var read atomic.Int64
		go func() {
			for range shared.Events() {
				read.Add(1)
			}
		}()
		return func() {
			deadline := time.Now().Add(10 * time.Second)
			for read.Load() != int64(polled-from) {
				require.True(t, time.Now().Before(deadline), "the shared reader took %d events of %d", read.Load(), polled-from)
				time.Sleep(time.Millisecond)
			}
			shared.Close()
		}
	}
	_, err := r.UpsertWorker(ctx, Worker{ID: "w", Queues: []string{"q"}, Capacity: 1,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}},
		Labels:   map[string]any{"lang": "en", "tier": 3}, Tags: map[string]any{"site": "north"},
		AvailableForOffers: true})
	require.NoError(t, err)
	sub.Poll() // its WorkerRegistered, before the shared subscribers begin

	var evs []Event
	cycle := func(k int) {
		id := fmt.Sprintf("job-%08d", k)
		_, err := r.CreateJob(ctx, Job{ID: id, ChannelID: "voice", QueueID: "q",
			Labels: map[string]any{"account": k}, Tags: map[string]any{"crm": "case-" + id},
			Notes:                    []Note{{Message: "called back"}},
			RequestedWorkerSelectors: []WorkerSelector{{Key: "lang", LabelOperator: LabelOperatorEqual, Value: "en"}}})
		require.NoError(t, err)
		evs = sub.PollAppend(evs[:0])
		polled += len(evs)
		var offer OfferIssued
		for _, ev := range evs {
			if o, ok := ev.(OfferIssued); ok {
				offer = o
			}
		}
		require.Equal(t, id, offer.JobID, "the job is offered to the idle worker")
		if k%2 == 0 {
			require.NoError(t, r.CancelJob(ctx, id, &CancelJobOptions{Note: "caller hung up"}))
		} else {
			res, err := r.AcceptJobOffer(ctx, "w", offer.OfferID)
			require.NoError(t, err)
			require.NoError(t, r.CompleteJob(ctx, id, res.AssignmentID, &CompleteJobOptions{Note: "done"}))
			require.NoError(t, r.CloseJob(ctx, id, res.AssignmentID, &CloseJobOptions{DispositionCode: "resolved"}))
		}
		require.NoError(t, r.DeleteJob(ctx, id))
		clear(evs)
		evs = sub.PollAppend(evs[:0])
		polled += len(evs)
		clear(evs)
	}

	const warm, n = 2_000, 10_000
	stop := reading()
	for k := range warm {
		cycle(k)
	}
	stop()
	before := heaptest.Live() - spareChunkBytes(r)
	stop = reading()
	for k := warm; k < warm+n; k++ {
		cycle(k)
	}
	stop()
	after := heaptest.Live() - spareChunkBytes(r)
	grown := int64(after) - int64(before)
	require.Less(t, grown, int64(16*n), "the live heap grew by %d B over %d deleted jobs (%.1f B a job)",
		grown, n, float64(grown)/n)
	_, err = r.GetJob(ctx, fmt.Sprintf("job-%08d", warm))
	require.ErrorIs(t, err, ErrNotFound)
}

// spareChunkBytes returns the bytes of the spare chunks r's event log keeps for
// reuse.
func spareChunkBytes(r *Router) uint64 {
	r.bus.mu.Lock()
	defer r.bus.mu.Unlock()
	return uint64(r.bus.log.spares.Len()) * uint64(unsafe.Sizeof(logChunk{}))
}
