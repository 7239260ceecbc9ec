package simtest

import (
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/naive"
)

// Exec runs one command that the caller made, on the engine, the naive oracle (or the
// twin), as an operation of its own with every check of Apply: the same result,
// error and events from each side, the same state, the invariants. It is for tests
// that shape a world the generator does not draw (internal/naive's
// TestReviewDifferential and its scripted regressions) and mix its operations with
// their own. An Exec is not an Op: a history that holds one does not replay from
// Result.Ops. desc describes the command for the history. A returned
// engine.DistributionPolicy is compared with its scoring functions by name.
func (s *Sim) Exec(desc string, f func(r naive.Core) (any, error)) *Failure {
	return s.apply(Op{Kind: kindExec}, func() {
		s.both(cmd("%s", desc), func(r naive.Core) (any, error) {
			v, err := f(r)
			if p, ok := v.(engine.DistributionPolicy); ok {
				return policyView(p), err
			}
			return v, err
		})
	})
}

// Now returns the virtual clock: the time the next command is given.
func (s *Sim) Now() time.Time { return s.now }

// Jobs and Workers return the engine's state after the last operation
// (equal to the oracle's). The caller must not change what they return.
func (s *Sim) Jobs() []engine.Job { return s.curJobs }

// Workers: see Jobs.
func (s *Sim) Workers() []engine.Worker { return s.curWorkers }

// NewGeneratorIn returns the generator of a seed in world w instead of the seed's own.
func NewGeneratorIn(seed uint64, w World) *Generator {
	g := NewGenerator(seed)
	g.world = w
	return g
}
