package bench

import (
	"fmt"
	"testing"
)

// TestPaddedIsSprintf checks the benchmarks' ID builder against the fmt.Sprintf it
// replaced, wider numbers than the width included.
func TestPaddedIsSprintf(t *testing.T) {
	for _, i := range []int{0, 1, 9, 10, 99, 1234567, 9999999, 10000000, 12345678, 123456789, 1 << 40} {
		if got, want := workerID(i), fmt.Sprintf("w%07d", i); got != want {
			t.Errorf("workerID(%d) = %q, want %q", i, got, want)
		}
		if got, want := jobID("j", i), fmt.Sprintf("%s%08d", "j", i); got != want {
			t.Errorf("jobID(j, %d) = %q, want %q", i, got, want)
		}
	}
}
