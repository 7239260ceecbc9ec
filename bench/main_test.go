package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the benchmarks: every router a
// workload builds (and its subscription goroutines) must be closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
