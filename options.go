package jobrouter

import (
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
	// uuid.NewString (random version 4 UUIDs).
	NewID func() string
	// KeepWorkersOnOfferExpiry, when true, leaves a worker registered when one of its
	// offers expires. Defaults to false: as in Azure Job Router, a worker whose offer
	// expires is deregistered (AvailableForOffers becomes false, WorkerDeregistered is
	// announced and its other offers are revoked).
	KeepWorkersOnOfferExpiry bool
	// DefaultMaxBacklog is the MaxBacklog of a subscription that does not set one.
	// Defaults to 65,536 events.
	DefaultMaxBacklog int
	// CloseTimeout is how long Close waits, in real time, for a subscriber that takes
	// no event at all. Close delivers every event already queued and keeps waiting as
	// long as each subscriber keeps taking events; a subscription whose reader takes
	// none for a whole CloseTimeout is closed with ErrSlowSubscriber and the rest of
	// its events are discarded. Defaults to 1 second.
	CloseTimeout time.Duration
}

const (
	defaultMaxBacklog   = 65536
	defaultCloseTimeout = time.Second
)
