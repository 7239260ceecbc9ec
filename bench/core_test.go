package bench

import (
	"fmt"
	"testing"
	"time"
)

// core is what the workloads need of a router: the same few operations on the real
// Router (realCore) and on the naive reference (naiveCore). Every workload drives it
// through this interface only, so both implementations see the very same calls.
//
// Time is manual: it moves only by advanceTo, so a workload is deterministic and no
// benchmark waits on a real timer.
type core interface {
	upsertPolicy(p policySpec) error
	upsertQueue(id, policyID string) error
	upsertWorker(w workerSpec) error
	createJob(j jobSpec) error
	cancelJob(jobID string) error
	// deleteJob deletes a closed or cancelled job.
	deleteJob(jobID string) error
	accept(workerID, offerID string) (assignmentID string, err error)
	decline(workerID, offerID string, retryAt time.Time) error
	complete(jobID, assignmentID string) error
	// closeJob closes the job now, recording code as its disposition ("": none).
	closeJob(jobID, assignmentID, code string) error
	now() time.Time
	advanceTo(t time.Time) error
	subscribe(o subOptions) subscription
	// close releases the router; every subscription's channel ends.
	close()
}

// coreConfig holds the router-wide settings a workload asks for.
type coreConfig struct {
	// keepWorkersOnOfferExpiry: see Options.KeepWorkersOnOfferExpiry.
	keepWorkersOnOfferExpiry bool
}

// impl names a core implementation and makes one.
type impl struct {
	name string
	new  func(cfg coreConfig) core
}

// impls are the implementations every benchmark runs, in order: impl=real (the
// public Router), impl=engine (the real engine in the naive router's thin shell: no
// goroutine per subscription, see newEngineCore) and impl=naive.
var impls = []impl{
	{name: "real", new: newRealCore},
	{name: "engine", new: newEngineCore},
	{name: "naive", new: newNaiveCore},
}

// eachImpl runs f as the sub-benchmarks impl=real, impl=engine and impl=naive.
func eachImpl(b *testing.B, f func(b *testing.B, im impl)) {
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) { f(b, im) })
	}
}

// channelID is the one channel of every workload; each job costs one capacity unit.
const channelID = "voice"

// startTime is the routers' time zero.
var startTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// modeKind is a distribution mode.
type modeKind uint8

const (
	longestIdle modeKind = iota
	bestWorker
)

// policySpec is a distribution policy.
type policySpec struct {
	id                string
	offerExpiresAfter time.Duration
	mode              modeKind
	minOffers         int // 0: 1
	maxOffers         int // 0: 1
}

// workerSpec is a worker on the one channel, one capacity unit per job.
type workerSpec struct {
	id        string
	queues    []string
	capacity  int
	maxJobs   int // the channel's MaxNumberOfJobs; 0: no limit
	labels    map[string]any
	available bool
}

// selector is an "equal" worker selector.
type selector struct {
	key   string
	value any
}

// jobSpec is a queue-and-match job on the one channel.
type jobSpec struct {
	id        string
	queueID   string
	priority  int // 0: the default
	selectors []selector
	labels    map[string]any
}

// Event types the workloads look at (the public values, which the engine's equal).
const (
	evJobReceived        = "JobReceived"
	evJobQueued          = "JobQueued"
	evJobCompleted       = "JobCompleted"
	evJobClosed          = "JobClosed"
	evOfferIssued        = "OfferIssued"
	evOfferAccepted      = "OfferAccepted"
	evOfferDeclined      = "OfferDeclined"
	evOfferExpired       = "OfferExpired"
	evOfferRevoked       = "OfferRevoked"
	evWorkerDeregistered = "WorkerDeregistered"
)

// event is the part of a router event the workloads read.
type event struct {
	typ       string
	seq       uint64
	at        time.Time
	jobID     string
	workerID  string
	offerID   string
	expiresAt time.Time // OfferIssued only
}

func (e event) String() string {
	return fmt.Sprintf("#%d %s job=%s worker=%s offer=%s", e.seq, e.typ, e.jobID, e.workerID, e.offerID)
}

// subOptions configures a subscription.
type subOptions struct {
	types      []string // empty: every event
	workerID   string   // not empty: only events naming this worker (SubscribeOptions.WorkerID)
	maxBacklog int      // 0: the router's default (65,536)
	// synchronous: the events are taken by poll, from the calling goroutine
	// (SubscribeOptions.Synchronous); next and nextWithin are not used.
	synchronous bool
}

// subscription is a stream of events.
type subscription interface {
	// next blocks for the next event; false once the stream has ended.
	next() (event, bool)
	// nextWithin is next giving up after d (real time): timedOut is then true.
	nextWithin(d time.Duration) (ev event, ok, timedOut bool)
	// poll appends the events published so far that were not read yet to dst,
	// without blocking, and returns the extended slice.
	poll(dst []event) []event
	// err is why the stream ended early (ErrSlowSubscriber after an overflow).
	err() error
	close()
}
