package simtest

import "math/rand/v2"

// Generator draws a seeded sequence of operations. It looks at the simulator's state
// only to choose kinds (there is nothing to accept: make something to offer); every
// other choice belongs to the operation, so the operations it drew replay on their
// own.
type Generator struct {
	rng   *rand.Rand
	world World
}

// NewGenerator returns the generator of a seed, in the seed's world.
func NewGenerator(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, 0xd1ff)), world: WorldFor(seed)}
}

// World returns the world the generator draws for.
func (g *Generator) World() World { return g.world }

func (g *Generator) chance(n int) bool { return g.rng.IntN(n) == 0 }

// Setup returns the operations that build the starting world: the RoundRobin and
// BestWorker policies, two or three queues, one to six workers, and in a policy
// world a classification and an exception policy.
func (g *Generator) Setup() []Op {
	r := g.rng
	ops := []Op{{KindAddPolicy, 0}, {KindAddPolicy, 1}}
	if g.chance(2) {
		ops = append(ops, Op{KindAddPolicy, 2})
	}
	if g.world.Policies {
		ops = append(ops, Op{KindUpsertException, r.Uint32()})
	}
	for i := range 2 + r.IntN(2) {
		ops = append(ops, Op{KindAddQueue, uint32(i) | r.Uint32()<<8})
	}
	for i := range 1 + r.IntN(6) {
		ops = append(ops, Op{KindAddWorker, uint32(i) | r.Uint32()<<8})
	}
	if g.world.Policies {
		ops = append(ops, Op{KindUpsertClassification, r.Uint32()}, Op{KindUpsertException, r.Uint32()})
	}
	return ops
}

// Next draws the next operation for the simulator's current state.
func (g *Generator) Next(s *Sim) Op {
	r := g.rng
	op := Op{Arg: r.Uint32()}
	if g.world.Policies && r.IntN(100) < 12 {
		op.Kind = pick(r, []Kind{KindUpsertClassification, KindUpsertClassification, KindDeleteClassification,
			KindUpsertException, KindUpsertException, KindDeleteException, KindReclassify, KindReclassify, KindReclassify,
			KindUpsertQueue})
		return op
	}
	offers, held := s.hasOpenOffers(), s.hasHeldJobs()
	switch n := r.IntN(100); {
	case n < 11:
		op.Kind = KindMoveTime
	case n < 14:
		op.Kind = KindAtExpiry
	case n < 30:
		op.Kind = KindCreateJob
	case n < 36:
		op.Kind = KindUpdateJob
	case n < 56 && !offers && !g.chance(4):
		// Nothing to accept or decline: make something to offer.
		op.Kind = pick(r, []Kind{KindCreateJob, KindAddWorker})
	case n < 48:
		op.Kind = KindAccept
	case n >= 56 && n < 76 && !held && !g.chance(4):
		// Nothing held to complete, close or unassign: accept something.
		op.Kind = KindCreateJob
		if offers {
			op.Kind = KindAccept
		}
	case n < 56:
		op.Kind = KindDecline
	case n < 61:
		op.Kind = KindComplete
	case n < 67:
		op.Kind = KindClose
	case n < 70:
		op.Kind = KindCancel
	case n < 76:
		op.Kind = KindUnassign
	case n < 78:
		op.Kind = KindDeleteJob
	case n < 84:
		op.Kind = KindUpsertWorker
	case n < 85:
		op.Kind = KindDeleteWorker
	case n < 86:
		op.Kind = KindUpsertQueue
	case n < 87:
		op.Kind = KindDeleteQueue
	case n < 89:
		op.Kind = KindUpsertPolicy
	case n < 90:
		op.Kind = KindDeletePolicy
	case n < 92:
		op.Kind = KindQueueStats
	default:
		op.Kind = KindRead
	}
	return op
}
