package jobrouter

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLifecycleAllocationsThroughTheRouter counts what one job's lifecycle (create,
// offered to an idle worker, accept, complete, close) allocates through the public
// Router when its one subscriber wants none of the lifecycle's events: the engine's
// two records for the job (TestLifecycleAllocations in internal/engine) and
// nothing for the events, which cross from the engine to the bus on the stack. The
// job and offer IDs are precomputed. A change that allocates an event on the way
// (the engine's hand-over escaping to the heap, say) fails here. (That the bus does
// not log what no one wants is TestSharedEventsNoReaderWantsAreNotLogged's.)
func TestLifecycleAllocationsThroughTheRouter(t *testing.T) {
	const runs = 200
	ids := make([]string, 2*(runs+2))
	for i := range ids {
		ids[i] = "id-" + strconv.Itoa(i)
	}
	jobIDs := make([]string, runs+2)
	for i := range jobIDs {
		jobIDs[i] = "job-" + strconv.Itoa(i)
	}
	next := 0
	r := newManualRouter(t, &Options{NewID: func() string { next++; return ids[next-1] }})
	upsertTestWorker(t, r, "w", 1)
	sub := r.Subscribe(&SubscribeOptions{Types: []EventType{EventTypeJobDeleted}})
	defer sub.Close()

	k := 0
	lifecycle := func() {
		id := jobIDs[k]
		k++
		if _, err := r.CreateJob(ctx, Job{ID: id, ChannelID: "voice", QueueID: "q"}); err != nil {
			panic(err)
		}
		res, err := r.AcceptJobOffer(ctx, "w", ids[next-1]) // the offer's ID is the last one made
		if err != nil {
			panic(err)
		}
		if err := r.CompleteJob(ctx, id, res.AssignmentID, nil); err != nil {
			panic(err)
		}
		if err := r.CloseJob(ctx, id, res.AssignmentID, nil); err != nil {
			panic(err)
		}
	}
	lifecycle() // warm
	allocs := testing.AllocsPerRun(runs, lifecycle)
	require.LessOrEqual(t, allocs, float64(2), "allocations per lifecycle")
	j, err := r.GetJob(ctx, jobIDs[k-1])
	require.NoError(t, err)
	require.Equal(t, JobStatusClosed, j.Status)
}
