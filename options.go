package jobrouter

import (
	"net/http"
	"time"

	"github.com/benbjohnson/clock"
)

// Options configures a Router. The zero value (or a nil *Options) gives every default.
type Options struct {
	// Clock is the source of time. Use clock.NewMock() in tests and move it with Add
	// or Set: the next Router call sees every deadline that fell due. Defaults to the
	// real clock. Ignored when ManualTime is set.
	Clock clock.Clock
	// ManualTime, when true, gives the Router no clock and no timer: time is whatever
	// the last AdvanceTo said (it starts at StartTime), for discrete-event simulators.
	// Defaults to false.
	ManualTime bool
	// StartTime is the Router's time until the first AdvanceTo, with ManualTime.
	// Defaults to the Unix epoch.
	StartTime time.Time
	// NewID returns IDs for offers, assignments and jobs created without an ID. It is
	// called under the Router's lock and must not call the Router. Defaults to
	// uuid.NewString (random version 4 UUIDs). An ID it repeats gets a suffix ("-1",
	// "-2", …) that makes it unique among the jobs, among the job's assignments or
	// among the worker's open offers: the scope in which each kind is looked up.
	NewID func() string
	// KeepWorkersOnOfferExpiry, when true, leaves a worker registered when one of its
	// offers expires. Defaults to false: as in Azure Job Router, a worker whose offer
	// expires is deregistered (AvailableForOffers becomes false, WorkerDeregistered is
	// announced and its other offers are revoked).
	KeepWorkersOnOfferExpiry bool
	// MaxJobAge is the age (since CreatedAt) at which a job that is neither closed
	// nor cancelled is cancelled as CancelJob would, with DispositionCode "Expired"
	// (JobCancelled is announced at that instant). Azure Job Router expires jobs after
	// 90 days; the limit being configurable is ours. Defaults to 90 days; a negative
	// value disables it.
	MaxJobAge time.Duration
	// Seed seeds the pseudo-random source from which weighted-allocation attachments
	// of classification policies draw their choice. Defaults to 0, a fixed seed: the
	// same calls give the same split. Give different seeds to different Routers for
	// different sequences.
	Seed uint64
	// RuleTimeout bounds each call of a FuncRule's Func, in real time: Func gets a
	// context with this deadline, and a Func that returns after it has passed fails
	// (its result is discarded). Func runs while the Router's lock is held, and the
	// Router waits for it at most this long; it cannot stop a Func that ignores its
	// context, which then runs on to the end on its own goroutine. Defaults to 1
	// second; negative is ErrInvalidArgument.
	RuleTimeout time.Duration
	// WebhookTimeout bounds each request of a WebhookRule whose own Timeout is zero,
	// in real time. Defaults to 5 seconds; negative is ErrInvalidArgument.
	WebhookTimeout time.Duration
	// MaxConcurrentWebhooks bounds how many classifications may wait on webhook
	// requests at once; the others wait their turn (in no guaranteed order: webhook
	// answers, like any I/O, make the order in which jobs are classified depend on
	// timing). Defaults to 64; negative is ErrInvalidArgument.
	MaxConcurrentWebhooks int
	// WebhookClient sends the requests of WebhookRules (set it for custom TLS,
	// proxies or authentication headers via its Transport). Requests never run under
	// the Router's lock. Defaults to a client of the Router's own, whose idle
	// connections Close closes.
	WebhookClient *http.Client
	// DefaultMaxBacklog is the MaxBacklog of a subscription that does not set one.
	// Defaults to 65,536 events.
	DefaultMaxBacklog int
	// CloseTimeout is how long Close waits, in real time, for a subscriber that takes
	// no event at all. Close puts every event already queued on the subscriptions'
	// channels (each buffers 64) and keeps waiting as long as each subscriber keeps
	// taking events; a subscription whose reader takes none for a whole CloseTimeout
	// is closed with ErrSlowSubscriber and the rest of its events are discarded.
	// Defaults to 1 second.
	CloseTimeout time.Duration
}

const (
	defaultMaxBacklog     = 65536
	defaultCloseTimeout   = time.Second
	defaultRuleTimeout    = time.Second
	defaultWebhookTimeout = 5 * time.Second
)
