package fakeclock

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter"
)

var ctx = context.Background()

// setup builds a Router on a mock clock with a "chat" queue whose offers expire after
// 30 seconds, a Desk for the bot, and a subscription to the bot's events.
func setup(t *testing.T) (*jobrouter.Router, *clock.Mock, *Desk, *jobrouter.Subscription) {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	n := 0
	r, err := jobrouter.New(&jobrouter.Options{Clock: clk, NewID: func() string { n++; return fmt.Sprint("id", n) }})
	require.NoError(t, err)
	_, err = r.UpsertDistributionPolicy(ctx, jobrouter.DistributionPolicy{ID: "p", OfferExpiresAfter: 30 * time.Second, Mode: jobrouter.LongestIdleMode{}})
	require.NoError(t, err)
	_, err = r.UpsertQueue(ctx, jobrouter.Queue{ID: "chat", DistributionPolicyID: "p"})
	require.NoError(t, err)
	sub := r.Subscribe(&jobrouter.SubscribeOptions{WorkerID: "bot",
		Types: []jobrouter.EventType{jobrouter.EventTypeOfferIssued, jobrouter.EventTypeWorkerDeregistered}})
	t.Cleanup(func() { sub.Close(); r.Close() })
	d := &Desk{
		Router: r,
		Bot: jobrouter.Worker{ID: "bot", Queues: []string{"chat"}, Capacity: 10,
			Channels: []jobrouter.ChannelConfig{{ChannelID: "chat", CapacityCostPerJob: 1}}},
		Speaks:     map[string]bool{"en": true},
		RetryAfter: 2 * time.Minute,
		Now:        clk.Now,
	}
	require.NoError(t, d.Start(ctx))
	return r, clk, d, sub
}

// handleNext feeds the desk the bot's next event, which the Router has already
// queued by the time the call that caused it returned.
func handleNext(t *testing.T, d *Desk, sub *jobrouter.Subscription) jobrouter.Event {
	t.Helper()
	select {
	case ev := <-sub.Events():
		require.NoError(t, d.Handle(ctx, ev))
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event for the bot")
		return nil
	}
}

func TestBotResolvesChatsInItsLanguage(t *testing.T) {
	r, _, d, sub := setup(t)
	_, err := r.CreateJob(ctx, jobrouter.Job{ID: "c1", ChannelID: "chat", QueueID: "chat", Labels: jobrouter.Labels{"Language": "en"}})
	require.NoError(t, err)
	handleNext(t, d, sub)
	job, err := r.GetJob(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, jobrouter.JobStatusClosed, job.Status)
	require.Equal(t, "BotResolved", job.DispositionCode)
}

func TestBotDeclinesOtherLanguagesAndSeesThemAgainLater(t *testing.T) {
	r, clk, d, sub := setup(t)
	_, err := r.CreateJob(ctx, jobrouter.Job{ID: "c1", ChannelID: "chat", QueueID: "chat", Labels: jobrouter.Labels{"Language": "fr"}})
	require.NoError(t, err)
	handleNext(t, d, sub) // declined, retry in 2 minutes

	clk.Add(2*time.Minute - time.Second)
	job, _ := r.GetJob(ctx, "c1")
	require.Equal(t, jobrouter.JobStatusQueued, job.Status)
	w, _ := r.GetWorker(ctx, "bot")
	require.Empty(t, w.Offers, "no offer before the retry time")

	clk.Add(time.Second)
	ev := handleNext(t, d, sub) // offered again, declined again
	require.Equal(t, clk.Now(), ev.(jobrouter.OfferIssued).OfferedAt)
}

func TestDeskReRegistersTheBotAfterAnExpiredOffer(t *testing.T) {
	r, clk, d, sub := setup(t)
	_, err := r.CreateJob(ctx, jobrouter.Job{ID: "c1", ChannelID: "chat", QueueID: "chat", Labels: jobrouter.Labels{"Language": "en"}})
	require.NoError(t, err)
	<-sub.Events() // the bot is "busy" and misses this offer

	clk.Add(30 * time.Second) // the offer expires; the Router deregisters the bot
	w, _ := r.GetWorker(ctx, "bot")
	require.Equal(t, jobrouter.WorkerStateInactive, w.State)

	handleNext(t, d, sub) // WorkerDeregistered: the desk registers the bot again
	handleNext(t, d, sub) // which is offered the chat again, and resolves it
	job, _ := r.GetJob(ctx, "c1")
	require.Equal(t, jobrouter.JobStatusClosed, job.Status)
}
