package sim

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every run
// closes its Router, whose goroutines end with it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
