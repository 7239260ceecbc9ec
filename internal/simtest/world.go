package simtest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// T0 is the virtual clock's start.
var T0 = time.Date(2025, time.June, 2, 8, 0, 0, 0, time.UTC)

// The small world every run lives in: few IDs, so that operations collide.
var (
	queueIDs  = []string{"q1", "q2", "q3"}
	workerIDs = []string{"w1", "w2", "w3", "w4", "w5", "w6"}
	policyIDs = []string{"p-rr", "p-best", "p-idle"}
	channels  = []string{"voice", "chat"}
	classIDs  = []string{"cp1", "cp2"}
	excIDs    = []string{"ep1", "ep2"}
)

// maxJobs bounds the jobs a run keeps: past it, the generator deletes terminal jobs
// or lets time pass.
const maxJobs = 30

// World is what a run fixes before its first operation: the engine's configuration,
// and whether classification and exception policies take part.
type World struct {
	KeepWorkersOnOfferExpiry bool
	MaxJobAge                time.Duration // engine.Config.MaxJobAge: 0 (90 days), a few hours, or -1 (never)
	// Policies adds classification and exception policies, reclassification and
	// jobs that name a classification policy. The naive oracle does not model them:
	// a policy world runs the engine alone, against the invariants.
	Policies bool
	// RepeatIDs makes Config.NewID repeat itself (n1, n2, n3, n1, …), so that the
	// routers' suffixes make IDs unique within their scope: a job's among the jobs,
	// an assignment's within its job, an offer's among its worker's open offers.
	RepeatIDs bool
}

var maxJobAges = []time.Duration{0, 2 * time.Hour, 6 * time.Hour, -1}

// WorldFor returns the world of a seed: a quarter of the seeds are policy worlds.
func WorldFor(seed uint64) World {
	r := rand.New(rand.NewPCG(seed, 0x3071d))
	return World{
		KeepWorkersOnOfferExpiry: r.IntN(3) == 0,
		MaxJobAge:                maxJobAges[r.IntN(len(maxJobAges))],
		Policies:                 r.IntN(4) == 0,
		RepeatIDs:                r.IntN(4) == 0,
	}
}

// worldFromByte and worldByte code a world in the low bits of a byte (bit 7 is
// Decode's).
func worldFromByte(b byte) World {
	return World{KeepWorkersOnOfferExpiry: b&1 != 0, MaxJobAge: maxJobAges[b>>1&3], Policies: b&8 != 0, RepeatIDs: b&16 != 0}
}

func worldByte(w World) byte {
	var b byte
	if w.KeepWorkersOnOfferExpiry {
		b |= 1
	}
	for i, a := range maxJobAges {
		if a == w.MaxJobAge {
			b |= byte(i) << 1
		}
	}
	if w.Policies {
		b |= 8
	}
	if w.RepeatIDs {
		b |= 16
	}
	return b
}

func (w World) String() string {
	return fmt.Sprintf("KeepWorkersOnOfferExpiry=%v MaxJobAge=%v Policies=%v RepeatIDs=%v", w.KeepWorkersOnOfferExpiry, w.MaxJobAge, w.Policies, w.RepeatIDs)
}

func (w World) config() engine.Config {
	// Checks: the engine verifies its matching indexes after every pass too.
	return engine.Config{KeepWorkersOnOfferExpiry: w.KeepWorkersOnOfferExpiry, MaxJobAge: w.MaxJobAge, Checks: true}
}

// maxAge is the age at which the world's jobs expire, and whether they do.
func (w World) maxAge() (time.Duration, bool) {
	switch {
	case w.MaxJobAge < 0:
		return 0, false
	case w.MaxJobAge == 0:
		return engine.DefaultMaxJobAge, true
	}
	return w.MaxJobAge, true
}

// counterIDs is a deterministic Config.NewID: n1, n2, …
func counterIDs() func() string {
	n := 0
	return func() string {
		n++
		return "n" + itoa(n)
	}
}

// repeatingIDs is a deterministic Config.NewID that repeats itself: n1, n2, n3, n1, …
func repeatingIDs() func() string {
	n := 0
	return func() string {
		n = n%3 + 1
		return "n" + itoa(n)
	}
}

// newID returns the world's Config.NewID, a fresh one for each router.
func (w World) newID() func() string {
	if w.RepeatIDs {
		return repeatingIDs()
	}
	return counterIDs()
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func itoa(n int) string { return strconv.Itoa(n) }
