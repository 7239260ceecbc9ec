// Package fakeclock shows how an application tests its own routing code against a
// jobrouter.Router on a mock clock: no sleeping, no flaky waits, every run the same.
//
// The application here is a chat bot's front desk. It answers the offers made to
// its bot worker: chats in a language the bot speaks are accepted and resolved at
// once; others are declined with a request to be offered them again later, should
// no human have taken them by then. If the Router deregisters the bot (as it does
// when one of its offers expires), the desk registers it again.
package fakeclock

import (
	"context"
	"time"

	"github.com/openjobrouter/jobrouter"
)

// Desk answers the offers made to one bot worker.
type Desk struct {
	Router *jobrouter.Router
	Bot    jobrouter.Worker
	// Speaks lists the values of the job label "Language" the bot handles.
	Speaks map[string]bool
	// RetryAfter is how long a declined chat waits before the bot sees it again.
	RetryAfter time.Duration
	// Now is the application's clock: the same one the Router uses.
	Now func() time.Time
}

// Start registers the bot.
func (d *Desk) Start(ctx context.Context) error {
	d.Bot.AvailableForOffers = true
	_, err := d.Router.UpsertWorker(ctx, d.Bot)
	return err
}

// Handle reacts to one event. The application's loop calls it for every event of a
// subscription filtered on the bot's worker ID; tests call it directly, so every
// step is synchronous.
func (d *Desk) Handle(ctx context.Context, ev jobrouter.Event) error {
	switch e := ev.(type) {
	case jobrouter.OfferIssued:
		if !d.Speaks[languageOf(e.JobLabels)] {
			return d.Router.DeclineJobOffer(ctx, e.WorkerID, e.OfferID,
				&jobrouter.DeclineJobOfferOptions{RetryOfferAt: d.Now().Add(d.RetryAfter)})
		}
		res, err := d.Router.AcceptJobOffer(ctx, e.WorkerID, e.OfferID)
		if err != nil {
			return err
		}
		return d.Router.CloseJob(ctx, res.JobID, res.AssignmentID,
			&jobrouter.CloseJobOptions{DispositionCode: "BotResolved"})
	case jobrouter.WorkerDeregistered:
		return d.Start(ctx)
	}
	return nil
}

// Run handles the bot's events until the subscription ends or ctx is done.
func (d *Desk) Run(ctx context.Context, sub *jobrouter.Subscription) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-sub.Events():
			if !ok {
				return sub.Err()
			}
			if err := d.Handle(ctx, ev); err != nil {
				return err
			}
		}
	}
}

func languageOf(l jobrouter.Labels) string {
	s, _ := l["Language"].(string)
	return s
}
