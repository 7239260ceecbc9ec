package bench

import (
	"context"
	"strconv"
	"time"

	"github.com/openjobrouter/jobrouter"
)

// realCore is the public Router with ManualTime: no clock, no timer goroutine; time
// moves by AdvanceTo only. Offer and assignment IDs come from a counter (NewID is
// called under the Router's lock), so both implementations see the same IDs.
type realCore struct {
	r   *jobrouter.Router
	ctx context.Context
	t   time.Time // the Router's time: see now
}

func newRealCore(cfg coreConfig) core {
	var n uint64
	r, err := jobrouter.New(&jobrouter.Options{
		ManualTime:               true,
		StartTime:                startTime,
		NewID:                    func() string { n++; return "id-" + strconv.FormatUint(n, 10) },
		KeepWorkersOnOfferExpiry: cfg.keepWorkersOnOfferExpiry,
	})
	if err != nil {
		panic(err) // the options are constant
	}
	return &realCore{r: r, ctx: context.Background(), t: startTime}
}

func (c *realCore) upsertPolicy(p policySpec) error {
	var mode jobrouter.DistributionMode
	switch p.mode {
	case bestWorker:
		mode = jobrouter.BestWorkerMode{MinConcurrentOffers: p.minOffers, MaxConcurrentOffers: p.maxOffers}
	default:
		mode = jobrouter.LongestIdleMode{MinConcurrentOffers: p.minOffers, MaxConcurrentOffers: p.maxOffers}
	}
	_, err := c.r.UpsertDistributionPolicy(c.ctx, jobrouter.DistributionPolicy{
		ID: p.id, OfferExpiresAfter: p.offerExpiresAfter, Mode: mode})
	return err
}

func (c *realCore) upsertQueue(id, policyID string) error {
	_, err := c.r.UpsertQueue(c.ctx, jobrouter.Queue{ID: id, DistributionPolicyID: policyID})
	return err
}

func (c *realCore) upsertWorker(w workerSpec) error {
	_, err := c.r.UpsertWorker(c.ctx, jobrouter.Worker{
		ID:                 w.id,
		Queues:             w.queues,
		Capacity:           w.capacity,
		Channels:           []jobrouter.ChannelConfig{{ChannelID: channelID, CapacityCostPerJob: 1, MaxNumberOfJobs: w.maxJobs}},
		Labels:             w.labels,
		AvailableForOffers: w.available,
	})
	return err
}

func (c *realCore) createJob(j jobSpec) error {
	var sel []jobrouter.WorkerSelector
	if len(j.selectors) > 0 {
		sel = make([]jobrouter.WorkerSelector, len(j.selectors))
		for i, s := range j.selectors {
			sel[i] = jobrouter.WorkerSelector{Key: s.key, LabelOperator: jobrouter.LabelOperatorEqual, Value: s.value}
		}
	}
	_, err := c.r.CreateJob(c.ctx, jobrouter.Job{
		ID: j.id, ChannelID: channelID, QueueID: j.queueID, Priority: j.priority,
		RequestedWorkerSelectors: sel, Labels: j.labels})
	return err
}

func (c *realCore) cancelJob(jobID string) error { return c.r.CancelJob(c.ctx, jobID, nil) }

func (c *realCore) deleteJob(jobID string) error { return c.r.DeleteJob(c.ctx, jobID) }

func (c *realCore) accept(workerID, offerID string) (string, error) {
	res, err := c.r.AcceptJobOffer(c.ctx, workerID, offerID)
	return res.AssignmentID, err
}

func (c *realCore) decline(workerID, offerID string, retryAt time.Time) error {
	return c.r.DeclineJobOffer(c.ctx, workerID, offerID, &jobrouter.DeclineJobOfferOptions{RetryOfferAt: retryAt})
}

func (c *realCore) complete(jobID, assignmentID string) error {
	return c.r.CompleteJob(c.ctx, jobID, assignmentID, nil)
}

func (c *realCore) closeJob(jobID, assignmentID, code string) error {
	var o *jobrouter.CloseJobOptions
	if code != "" {
		o = &jobrouter.CloseJobOptions{DispositionCode: code}
	}
	return c.r.CloseJob(c.ctx, jobID, assignmentID, o)
}

// now is the Router's manual time, which it does not expose: the last AdvanceTo
// target. Time moves from the benchmark goroutine only.
func (c *realCore) now() time.Time { return c.t }

func (c *realCore) advanceTo(t time.Time) error {
	if err := c.r.AdvanceTo(t); err != nil {
		return err
	}
	c.t = t
	return nil
}

func (c *realCore) subscribe(o subOptions) subscription {
	var types []jobrouter.EventType
	for _, t := range o.types {
		types = append(types, jobrouter.EventType(t))
	}
	return &realSub{s: c.r.Subscribe(&jobrouter.SubscribeOptions{Types: types, WorkerID: o.workerID,
		MaxBacklog: o.maxBacklog, Synchronous: o.synchronous})}
}

func (c *realCore) close() { _ = c.r.Close() }

// realSub reads a Subscription's channel (or polls it) and keeps the fields the
// workloads use.
type realSub struct {
	s   *jobrouter.Subscription
	buf []jobrouter.Event // poll's buffer, reused
}

func (s *realSub) poll(dst []event) []event {
	s.buf = s.s.PollAppend(s.buf[:0])
	for _, ev := range s.buf {
		out, _ := s.convert(ev, true)
		dst = append(dst, out)
	}
	clear(s.buf)
	return dst
}

func (s *realSub) next() (event, bool) {
	ev, ok := <-s.s.Events()
	return s.convert(ev, ok)
}

func (s *realSub) nextWithin(d time.Duration) (event, bool, bool) {
	// The event is usually there already (the calls are synchronous): take it
	// without a timer, whose allocation was B2's harness's largest garbage.
	select {
	case ev, ok := <-s.s.Events():
		out, ok := s.convert(ev, ok)
		return out, ok, false
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case ev, ok := <-s.s.Events():
		out, ok := s.convert(ev, ok)
		return out, ok, false
	case <-t.C:
		return event{}, false, true
	}
}

func (*realSub) convert(ev jobrouter.Event, ok bool) (event, bool) {
	if !ok {
		return event{}, false
	}
	out := event{typ: string(ev.Type()), seq: ev.Seq(), at: ev.Time()}
	switch e := ev.(type) {
	case jobrouter.OfferIssued:
		out.jobID, out.workerID, out.offerID, out.expiresAt = e.JobID, e.WorkerID, e.OfferID, e.ExpiresAt
	case jobrouter.OfferAccepted:
		out.jobID, out.workerID, out.offerID = e.JobID, e.WorkerID, e.OfferID
	case jobrouter.OfferDeclined:
		out.jobID, out.workerID, out.offerID = e.JobID, e.WorkerID, e.OfferID
	case jobrouter.OfferExpired:
		out.jobID, out.workerID, out.offerID = e.JobID, e.WorkerID, e.OfferID
	case jobrouter.OfferRevoked:
		out.jobID, out.workerID, out.offerID = e.JobID, e.WorkerID, e.OfferID
	case jobrouter.JobReceived:
		out.jobID = e.JobID
	case jobrouter.JobQueued:
		out.jobID = e.JobID
	case jobrouter.JobCompleted:
		out.jobID, out.workerID = e.JobID, e.WorkerID
	case jobrouter.JobClosed:
		out.jobID, out.workerID = e.JobID, e.WorkerID
	case jobrouter.JobCancelled:
		out.jobID, out.workerID = e.JobID, e.WorkerID
	case jobrouter.WorkerRegistered:
		out.workerID = e.WorkerID
	case jobrouter.WorkerDeregistered:
		out.workerID = e.WorkerID
	}
	return out, true
}

func (s *realSub) err() error { return s.s.Err() }
func (s *realSub) close()     { s.s.Close() }
