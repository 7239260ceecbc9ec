//go:build !lockprobe

package lockprobe

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Without the tag the probe is off: Span is empty (it adds nothing to the
// Router's lock) and nothing is counted.
func TestOffBuildCountsNothing(t *testing.T) {
	require.False(t, Enabled)
	var s Span
	require.Zero(t, unsafe.Sizeof(s))
	s.Start()
	s.Stop()
	held, n := Read()
	require.Zero(t, held)
	require.Zero(t, n)
}
