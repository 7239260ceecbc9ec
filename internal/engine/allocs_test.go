package engine

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLifecycleAllocations counts what one job's whole lifecycle allocates in the
// engine (create, offered to an idle worker, accept, complete, close with a code,
// events handed to Emit), once the router is warm: the job's record and its
// assignments' record (with its first assignment inline), which the job keeps, and
// nothing else. The offer's record (with its expiry's heap entry inline) and the
// worker's holding record are ones the last lifecycle ended, reused. The offer and
// assignment IDs come from NewID, here precomputed, and the events are Emit's to
// copy. Issue 4: the hot path allocates no more than the state and events it must
// build. A change that allocates one more object per lifecycle fails here.
func TestLifecycleAllocations(t *testing.T) {
	const runs = 200
	ids := make([]string, 0, 4*(runs+2))
	for i := range cap(ids) {
		ids = append(ids, "id-"+strconv.Itoa(i))
	}
	next := 0
	var events int
	var workerID, offerID string // the last offer issued
	e := New(Config{
		NewID: func() string { next++; return ids[next-1] },
		Emit: func(ev Event) {
			events++
			if ev.Type == EvOfferIssued {
				workerID, offerID = ev.WorkerID, ev.OfferID
			}
		},
	})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := e.UpsertDistributionPolicy(now, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: Mode{Kind: LongestIdle}})
	require.NoError(t, err)
	_, err = e.UpsertQueue(now, Queue{ID: "q", DistributionPolicyID: "p"})
	require.NoError(t, err)
	for _, w := range []string{"w1", "w2"} {
		_, err = e.UpsertWorker(now, Worker{ID: w, Queues: []string{"q"}, Capacity: 1, AvailableForOffers: true,
			Channels: []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: 1}}, Labels: Labels{"lang": "en"}})
		require.NoError(t, err)
	}
	jobIDs := make([]string, runs+2)
	for i := range jobIDs {
		jobIDs[i] = "job-" + strconv.Itoa(i)
	}
	k := 0
	lifecycle := func() {
		now = now.Add(time.Second)
		offerID = ""
		_, err := e.CreateJob(now, Job{ID: jobIDs[k], QueueID: "q", ChannelID: voice})
		k++
		if err != nil || offerID == "" {
			panic("no offer")
		}
		jobID, aid, err := e.AcceptOffer(now, workerID, offerID)
		if err != nil {
			panic(err)
		}
		if err := e.CompleteJob(now, jobID, aid, ""); err != nil {
			panic(err)
		}
		if err := e.CloseJob(now, jobID, aid, "done", "", time.Time{}); err != nil {
			panic(err)
		}
	}
	lifecycle() // warm: the trees' nodes, the holding record, the event buffers
	events = 0
	allocs := testing.AllocsPerRun(runs, lifecycle)
	require.Equal(t, 6*(runs+1), events, "six events a lifecycle")
	require.LessOrEqual(t, allocs, float64(2), "allocations per lifecycle")
}
