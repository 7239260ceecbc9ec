// Command quickstart runs the classic Job Router flow on an in-process router:
// a worker registers, a call arrives, the worker declines it asking to see it again
// in five minutes, a second worker accepts it, completes it and closes it with a
// disposition code. It prints every event as it happens.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/openjobrouter/jobrouter"
)

func main() {
	ctx := context.Background()
	// A mock clock makes the run instant and its output stable; a real program
	// passes nil options and gets the real clock.
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	ids := 0
	r, err := jobrouter.New(&jobrouter.Options{
		Clock: clk,
		NewID: func() string { ids++; return fmt.Sprintf("id-%d", ids) },
	})
	check(err)
	defer r.Close()

	sub := r.Subscribe(nil) // every event
	done := make(chan struct{})
	offers := make(chan jobrouter.OfferIssued, 8)
	go func() {
		defer close(done)
		for ev := range sub.Events() {
			fmt.Printf("%s  #%-2d %-19s %s\n", ev.Time().Format("15:04:05"), ev.Seq(), ev.Type(), describe(ev))
			if o, ok := ev.(jobrouter.OfferIssued); ok {
				offers <- o
			}
		}
	}()

	_, err = r.UpsertDistributionPolicy(ctx, jobrouter.DistributionPolicy{
		ID: "longest-idle", OfferExpiresAfter: time.Minute, Mode: jobrouter.LongestIdleMode{},
	})
	check(err)
	_, err = r.UpsertQueue(ctx, jobrouter.Queue{ID: "support", DistributionPolicyID: "longest-idle"})
	check(err)
	voice := []jobrouter.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}
	_, err = r.UpsertWorker(ctx, jobrouter.Worker{ID: "alice", Queues: []string{"support"}, Capacity: 1,
		Channels: voice, Labels: jobrouter.Labels{"English": 10}, AvailableForOffers: true})
	check(err)

	_, err = r.CreateJob(ctx, jobrouter.Job{ID: "call-1", ChannelID: "voice", QueueID: "support",
		Priority: 5, Labels: jobrouter.Labels{"customer": "gold"}})
	check(err)

	// Alice is busy: she declines and asks to be offered the call again in 5 minutes.
	first := <-offers
	check(r.DeclineJobOffer(ctx, first.WorkerID, first.OfferID,
		&jobrouter.DeclineJobOfferOptions{RetryOfferAt: clk.Now().Add(5 * time.Minute)}))

	// Bob registers a minute later and gets the call at once.
	clk.Add(time.Minute)
	_, err = r.UpsertWorker(ctx, jobrouter.Worker{ID: "bob", Queues: []string{"support"}, Capacity: 1,
		Channels: voice, AvailableForOffers: true})
	check(err)
	second := <-offers
	res, err := r.AcceptJobOffer(ctx, second.WorkerID, second.OfferID)
	check(err)

	clk.Add(3 * time.Minute)
	check(r.CompleteJob(ctx, res.JobID, res.AssignmentID, &jobrouter.CompleteJobOptions{Note: "customer happy"}))
	clk.Add(30 * time.Second)
	check(r.CloseJob(ctx, res.JobID, res.AssignmentID, &jobrouter.CloseJobOptions{DispositionCode: "Resolved"}))

	job, err := r.GetJob(ctx, "call-1")
	check(err)
	check(r.Close()) // puts every queued event on the channel, then closes it
	<-done
	fmt.Printf("job %s: status %s, disposition %q, handled by %s\n",
		job.ID, job.Status, job.DispositionCode, job.Assignments[res.AssignmentID].WorkerID)
}

func describe(ev jobrouter.Event) string {
	switch e := ev.(type) {
	case jobrouter.WorkerRegistered:
		return "worker=" + e.WorkerID
	case jobrouter.JobReceived:
		return fmt.Sprintf("job=%s priority=%d", e.JobID, e.Priority)
	case jobrouter.JobQueued:
		return "job=" + e.JobID + " queue=" + e.QueueID
	case jobrouter.OfferIssued:
		return fmt.Sprintf("job=%s worker=%s offer=%s expires=%s", e.JobID, e.WorkerID, e.OfferID, e.ExpiresAt.Format("15:04:05"))
	case jobrouter.OfferDeclined:
		return fmt.Sprintf("job=%s worker=%s retryAt=%s", e.JobID, e.WorkerID, e.RetryOfferAt.Format("15:04:05"))
	case jobrouter.OfferAccepted:
		return "job=" + e.JobID + " worker=" + e.WorkerID + " assignment=" + e.AssignmentID
	case jobrouter.JobCompleted:
		return "job=" + e.JobID + " worker=" + e.WorkerID
	case jobrouter.JobClosed:
		return "job=" + e.JobID + " disposition=" + e.DispositionCode
	}
	return ""
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
