package labels_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

func TestSet(t *testing.T) {
	m := map[string]any{"b": 2, "a": "x", "Id": "w", "c": true, "d": 1.5}
	s := labels.NewSet(m, "Id")
	require.Equal(t, 4, s.Len())
	require.Equal(t, []labels.Pair{{"a", "x"}, {"b", 2}, {"c", true}, {"d", 1.5}}, s.Pairs(), "sorted by key, Id left out")
	require.Equal(t, 4, cap(s.Pairs()), "sized exactly")
	for k, want := range m {
		v, ok := s.Get(k)
		if k == "Id" {
			require.False(t, ok)
			continue
		}
		require.True(t, ok, k)
		require.Equal(t, want, v, k)
	}
	for _, k := range []string{"", "0", "aa", "bb", "e", "Id"} {
		_, ok := s.Get(k)
		require.False(t, ok, k)
	}
	require.Equal(t, map[string]any{"a": "x", "b": 2, "c": true, "d": 1.5, "Id": "w"}, s.MapWith("Id", "w"))
	require.Equal(t, map[string]any{"a": "y", "b": 2, "c": true, "d": 1.5}, s.MapWith("a", "y"), "the extra key replaces")
	require.Equal(t, "x", s.Pairs()[0].Value, "MapWith does not write into the set")

	all := labels.NewSet(m, "")
	require.Equal(t, 5, all.Len(), "an empty omit keeps every key")
	require.Equal(t, "Id", all.Pairs()[0].Key)
}

func TestSetEmpty(t *testing.T) {
	for _, s := range []*labels.Set{nil, {}, labels.NewSet(nil, ""), labels.NewSet(map[string]any{"Id": "w"}, "Id")} {
		require.Equal(t, 0, s.Len())
		require.Nil(t, s.Pairs())
		_, ok := s.Get("Id")
		require.False(t, ok)
		require.Equal(t, map[string]any{"Id": "w"}, s.MapWith("Id", "w"))
	}
}

// TestSetGetMatchesMap checks the binary search against a map for every key of sets
// of every size up to 40, and for keys between and around them.
func TestSetGetMatchesMap(t *testing.T) {
	for n := range 41 {
		m := map[string]any{}
		for i := range n {
			m[fmt.Sprintf("k%03d", 2*i+1)] = i
		}
		s := labels.NewSet(m, "")
		for i := range 2*n + 2 {
			k := fmt.Sprintf("k%03d", i)
			v, ok := s.Get(k)
			w, okm := m[k]
			require.Equal(t, okm, ok, k)
			require.Equal(t, w, v, k)
		}
	}
}
