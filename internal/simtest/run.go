package simtest

// Result is what one run did.
type Result struct {
	World   World
	Ops     []Op     // every operation applied, the failing one last
	Failure *Failure // nil: every invariant held
	Digest  uint64   // the history's digest
	Counts  map[string]int
	History string // with Options.Text
}

// Run runs the seed's generated history: its setup, then operations up to steps in
// all (setup included), stopping at the first failure.
func Run(seed uint64, steps int, opt Options) Result {
	g := NewGenerator(seed)
	s := New(g.World(), opt)
	res := Result{World: g.World()}
	setup := g.Setup()
	for i := 0; i < steps; i++ {
		var op Op
		if i < len(setup) {
			op = setup[i]
		} else {
			op = g.Next(s)
		}
		res.Ops = append(res.Ops, op)
		if f := s.Apply(op); f != nil {
			res.Failure = f
			break
		}
	}
	return finish(s, res)
}

// Replay applies recorded operations in world w, stopping at the first failure.
func Replay(w World, ops []Op, opt Options) Result {
	s := New(w, opt)
	res := Result{World: w}
	for _, op := range ops {
		res.Ops = append(res.Ops, op)
		if f := s.Apply(op); f != nil {
			res.Failure = f
			break
		}
	}
	return finish(s, res)
}

func finish(s *Sim, res Result) Result {
	if res.Failure == nil {
		res.Failure = s.finalCompare()
	}
	res.Digest = s.Digest()
	res.Counts = s.Counts()
	res.History = s.History()
	return res
}

// Shrink returns a shorter list of operations that fails the same invariant in world
// w: delta debugging (drop halves, then quarters, … then single operations, keeping
// every removal that still fails), each candidate replayed from scratch. Because an
// operation's choices are drawn from its own argument against the state it meets, a
// shortened list always runs. It stops when stop says so (it is asked before each
// replay).
func Shrink(w World, ops []Op, invariant string, stop func() bool) []Op {
	fails := func(cand []Op) ([]Op, bool) {
		if stop() {
			return nil, false
		}
		r := Replay(w, cand, Options{})
		if r.Failure == nil || r.Failure.Invariant != invariant {
			return nil, false
		}
		return r.Ops, true // cut after the failing operation
	}
	if r, ok := fails(ops); ok {
		ops = r
	}
	n := 2
	for len(ops) >= 2 && !stop() {
		chunk := (len(ops) + n - 1) / n
		reduced := false
		for start := 0; start < len(ops) && !stop(); start += chunk {
			cand := append(append([]Op(nil), ops[:start]...), ops[min(start+chunk, len(ops)):]...)
			if r, ok := fails(cand); ok {
				ops = r
				n = max(n-1, 2)
				reduced = true
				break
			}
		}
		if !reduced {
			if chunk == 1 {
				break
			}
			n = min(2*n, len(ops))
		}
	}
	return ops
}
