package jobrouter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/openjobrouter/jobrouter"
)

// A discrete-event loop in manual time, on one goroutine, with a Synchronous
// subscription: after each call, Poll returns every event the call caused, so the
// loop knows it has seen everything before it moves time on. One agent takes each
// call it is offered, talks for two minutes (CloseJob with CloseAt: the Router
// holds her capacity until then) and is offered the next call when she is free.
func ExampleSubscription_Poll() {
	ctx := context.Background()
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	n := 0
	r, err := jobrouter.New(&jobrouter.Options{
		ManualTime: true,
		StartTime:  start,
		NewID:      func() string { n++; return fmt.Sprintf("id-%d", n) },
	})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	sub := r.Subscribe(&jobrouter.SubscribeOptions{Synchronous: true, Types: []jobrouter.EventType{
		jobrouter.EventTypeOfferIssued, jobrouter.EventTypeJobClosed}})
	defer sub.Close()

	r.UpsertDistributionPolicy(ctx, jobrouter.DistributionPolicy{ID: "longest-idle",
		OfferExpiresAfter: time.Minute, Mode: jobrouter.LongestIdleMode{}})
	r.UpsertQueue(ctx, jobrouter.Queue{ID: "support", DistributionPolicyID: "longest-idle"})
	r.UpsertWorker(ctx, jobrouter.Worker{ID: "alice", Queues: []string{"support"}, Capacity: 1,
		Channels: voice, AvailableForOffers: true})
	for _, id := range []string{"call-1", "call-2", "call-3"} {
		r.CreateJob(ctx, jobrouter.Job{ID: id, ChannelID: "voice", QueueID: "support"})
	}

	var evs []jobrouter.Event
	for {
		evs = sub.PollAppend(evs[:0]) // everything the calls so far caused, in order
		for _, ev := range evs {
			at := ev.Time().Sub(start)
			switch e := ev.(type) {
			case jobrouter.OfferIssued:
				fmt.Printf("%v %s offered to %s\n", at, e.JobID, e.WorkerID)
				res, err := r.AcceptJobOffer(ctx, e.WorkerID, e.OfferID)
				if err != nil {
					panic(err)
				}
				r.CloseJob(ctx, res.JobID, res.AssignmentID, &jobrouter.CloseJobOptions{
					DispositionCode: "Resolved", CloseAt: r.Now().Add(2 * time.Minute)})
			case jobrouter.JobClosed:
				fmt.Printf("%v %s closed\n", at, e.JobID)
			}
		}
		if len(evs) > 0 {
			continue // the answers may have caused more events
		}
		next, ok := r.NextDeadline()
		if !ok {
			break // nothing will ever happen again
		}
		r.AdvanceTo(next)
	}
	// Output:
	// 0s call-1 offered to alice
	// 2m0s call-1 closed
	// 2m0s call-2 offered to alice
	// 4m0s call-2 closed
	// 4m0s call-3 offered to alice
	// 6m0s call-3 closed
}
