package jobrouter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/openjobrouter/jobrouter"
)

// A callback scheduled for 14:00: the job waits in "scheduled", becomes
// "waitingForActivation" at exactly 14:00 (JobWaitingForActivation), and is queued
// and offered once the application activates it with UpdateJob.
func ExampleScheduleAndSuspendMode() {
	ctx := context.Background()
	r, clk, sub := newExampleRouter() // the clock starts at 09:00
	defer r.Close()
	defer sub.Close()
	r.UpsertWorker(ctx, jobrouter.Worker{ID: "alice", Queues: []string{"support"}, Capacity: 1,
		Channels: voice, AvailableForOffers: true})

	at := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	job, _ := r.CreateJob(ctx, jobrouter.Job{ID: "callback-1", ChannelID: "voice", QueueID: "support",
		MatchingMode: jobrouter.ScheduleAndSuspendMode{ScheduleAt: at}})
	fmt.Println(job.Status, "until", job.ScheduledAt.Format("15:04"))

	clk.Set(at)
	for ev := range sub.Events() {
		if w, ok := ev.(jobrouter.JobWaitingForActivation); ok {
			fmt.Println("waiting for activation since", w.Time().Format("15:04"))
			break
		}
	}
	job, _ = r.GetJob(ctx, "callback-1")
	job.MatchingMode = jobrouter.QueueAndMatchMode{}
	r.UpdateJob(ctx, job)
	offer := nextOffer(sub)
	fmt.Println("offered to", offer.WorkerID, "at", offer.OfferedAt.Format("15:04"))
	// Output:
	// scheduled until 14:00
	// waiting for activation since 14:00
	// offered to alice at 14:00
}

// Queue statistics: with one assignment a minute, the fifth job in line is about
// five minutes away.
func ExampleRouter_GetQueuePosition() {
	ctx := context.Background()
	r, clk, sub := newExampleRouter()
	defer r.Close()
	sub.Close() // this example reads no events
	// Offers stay open for an hour here, so that none expires while the clock moves.
	r.UpsertDistributionPolicy(ctx, jobrouter.DistributionPolicy{ID: "longest-idle",
		OfferExpiresAfter: time.Hour, Mode: jobrouter.LongestIdleMode{}})
	r.UpsertWorker(ctx, jobrouter.Worker{ID: "alice", Queues: []string{"support"}, Capacity: 1,
		Channels: voice, AvailableForOffers: true})
	for i := 1; i <= 12; i++ {
		r.CreateJob(ctx, jobrouter.Job{ID: fmt.Sprintf("call-%02d", i), ChannelID: "voice", QueueID: "support"})
	}
	// Alice takes a call at the top of each minute, five minutes running.
	for i := 0; i < 5; i++ {
		if i > 0 {
			clk.Add(time.Minute)
		}
		w, _ := r.GetWorker(ctx, "alice")
		res, _ := r.AcceptJobOffer(ctx, "alice", w.Offers[0].ID)
		r.CloseJob(ctx, res.JobID, res.AssignmentID, &jobrouter.CloseJobOptions{DispositionCode: "Resolved"})
	}
	st, _ := r.GetQueueStatistics(ctx, "support")
	fmt.Println("queued:", st.Length)
	pos, _ := r.GetQueuePosition(ctx, "call-10")
	fmt.Printf("call-10 is number %d of %d, about %v away\n", pos.Position, pos.QueueLength, pos.EstimatedWaitTime.Round(time.Second))
	// Output:
	// queued: 7
	// call-10 is number 5 of 7, about 5m0s away
}
