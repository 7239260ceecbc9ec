package jobrouter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/openjobrouter/jobrouter"
)

// newExampleRouter returns a Router on a mock clock with readable IDs, a queue
// "support" distributing by longest idle with one-minute offers, and a subscription
// to every event.
func newExampleRouter() (*jobrouter.Router, *clock.Mock, *jobrouter.Subscription) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	n := 0
	r, err := jobrouter.New(&jobrouter.Options{
		Clock: clk,
		NewID: func() string { n++; return fmt.Sprintf("id-%d", n) },
	})
	if err != nil {
		panic(err)
	}
	sub := r.Subscribe(nil)
	if _, err := r.UpsertDistributionPolicy(ctx, jobrouter.DistributionPolicy{
		ID: "longest-idle", OfferExpiresAfter: time.Minute, Mode: jobrouter.LongestIdleMode{},
	}); err != nil {
		panic(err)
	}
	if _, err := r.UpsertQueue(ctx, jobrouter.Queue{ID: "support", DistributionPolicyID: "longest-idle"}); err != nil {
		panic(err)
	}
	return r, clk, sub
}

// nextOffer reads events until the next OfferIssued.
func nextOffer(sub *jobrouter.Subscription) jobrouter.OfferIssued {
	for ev := range sub.Events() {
		if o, ok := ev.(jobrouter.OfferIssued); ok {
			return o
		}
	}
	panic("subscription closed")
}

var voice = []jobrouter.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}

// The classic flow: an offer arrives on the event channel, the worker accepts it,
// completes the job and closes it with a disposition code.
func ExampleRouter_AcceptJobOffer() {
	ctx := context.Background()
	r, _, sub := newExampleRouter()
	defer r.Close()
	defer sub.Close()

	r.UpsertWorker(ctx, jobrouter.Worker{ID: "alice", Queues: []string{"support"}, Capacity: 1,
		Channels: voice, AvailableForOffers: true})
	r.CreateJob(ctx, jobrouter.Job{ID: "call-1", ChannelID: "voice", QueueID: "support"})

	offer := nextOffer(sub)
	fmt.Println("offered", offer.JobID, "to", offer.WorkerID, "until", offer.ExpiresAt.Format("15:04:05"))

	res, err := r.AcceptJobOffer(ctx, offer.WorkerID, offer.OfferID)
	if err != nil {
		panic(err)
	}
	r.CompleteJob(ctx, res.JobID, res.AssignmentID, nil)
	r.CloseJob(ctx, res.JobID, res.AssignmentID, &jobrouter.CloseJobOptions{DispositionCode: "Resolved"})

	job, _ := r.GetJob(ctx, "call-1")
	fmt.Println(job.Status, job.DispositionCode, job.Assignments[res.AssignmentID].WorkerID)
	// Output:
	// offered call-1 to alice until 09:01:00
	// closed Resolved alice
}

// A worker declines an offer and asks to see the job again in five minutes. Until
// then the job waits (or goes to another worker); from that instant it is offered to
// the same worker again.
func ExampleRouter_DeclineJobOffer() {
	ctx := context.Background()
	r, clk, sub := newExampleRouter()
	defer r.Close()
	defer sub.Close()

	r.UpsertWorker(ctx, jobrouter.Worker{ID: "alice", Queues: []string{"support"}, Capacity: 1,
		Channels: voice, AvailableForOffers: true})
	r.CreateJob(ctx, jobrouter.Job{ID: "call-1", ChannelID: "voice", QueueID: "support"})
	offer := nextOffer(sub)

	retry := clk.Now().Add(5 * time.Minute)
	r.DeclineJobOffer(ctx, offer.WorkerID, offer.OfferID, &jobrouter.DeclineJobOfferOptions{RetryOfferAt: retry})

	clk.Add(4 * time.Minute)
	w, _ := r.GetWorker(ctx, "alice")
	fmt.Println("after 4 minutes, open offers:", len(w.Offers))

	clk.Add(time.Minute)
	again := nextOffer(sub)
	fmt.Println("offered again at", again.OfferedAt.Format("15:04:05"), "to", again.WorkerID)
	// Output:
	// after 4 minutes, open offers: 0
	// offered again at 09:05:00 to alice
}

// Tests move a mock clock instead of sleeping: the very next call sees that the offer
// expired (and, as in Azure Job Router, that its worker was deregistered).
func ExampleOptions_mockClock() {
	ctx := context.Background()
	r, clk, sub := newExampleRouter()
	defer r.Close()
	defer sub.Close()

	r.UpsertWorker(ctx, jobrouter.Worker{ID: "alice", Queues: []string{"support"}, Capacity: 1,
		Channels: voice, AvailableForOffers: true})
	r.CreateJob(ctx, jobrouter.Job{ID: "call-1", ChannelID: "voice", QueueID: "support"})
	offer := nextOffer(sub)

	clk.Add(time.Minute) // exactly OfferedAt + OfferExpiresAfter

	_, err := r.AcceptJobOffer(ctx, offer.WorkerID, offer.OfferID)
	fmt.Println("accept after expiry:", err)
	w, _ := r.GetWorker(ctx, "alice")
	fmt.Println("alice is", w.State)
	for ev := range sub.Events() {
		if ex, ok := ev.(jobrouter.OfferExpired); ok {
			fmt.Println(ex.Type(), ex.OfferID, "at", ex.Time().Format("15:04:05"))
			break
		}
	}
	// Output:
	// accept after expiry: jobrouter: accept offer "id-1": no open offer "id-1" for worker "alice"
	// alice is inactive
	// OfferExpired id-1 at 09:01:00
}
