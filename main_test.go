package jobrouter

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the Router
// promises that none outlives Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
