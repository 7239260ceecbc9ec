package sim

import (
	"hash/fnv"
	"math/rand/v2"
)

// stream returns the random source named by parts under seed. Every random
// quantity of a run has a stream of its own (a stream's arrival times, its handle
// times, one worker's answers...), so that changing one part of a scenario does not
// shift the random numbers of another: two runs with the same seed see the same
// arrivals whatever their policies (common random numbers).
func stream(seed uint64, parts ...string) rand.Source {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return rand.NewPCG(seed, h.Sum64())
}
