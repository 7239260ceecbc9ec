package engine

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// The cache returns the name unique.Make gives, whatever it held before: strings that
// share a slot (same length, first and last bytes) replace each other, and a string
// never gets another's name.
func TestNameCacheReturnsEachStringsOwnName(t *testing.T) {
	var c nameCache
	require.Equal(t, name{}, c.intern(""))
	var strs []string
	for i := range 200 {
		strs = append(strs, fmt.Sprintf("q%d", i), fmt.Sprintf("a%03dz", i), "voice", fmt.Sprintf("x%dx", i%7))
	}
	for round := range 2 {
		for _, s := range strs {
			n := c.intern(s)
			require.Equal(t, s, n.String(), "round %d", round)
			require.Equal(t, intern(s), n, "round %d: %q", round, s)
		}
	}
}
