package labels_test

import (
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"empty string", ""},
		{"string", "gold"},
		{"true", true},
		{"false", false},
		{"int", int(-7)},
		{"int8 min", int8(math.MinInt8)},
		{"int16 max", int16(math.MaxInt16)},
		{"int32 min", int32(math.MinInt32)},
		{"int64 min", int64(math.MinInt64)},
		{"int64 max", int64(math.MaxInt64)},
		{"uint zero", uint(0)},
		{"uint8 max", uint8(math.MaxUint8)},
		{"uint16 max", uint16(math.MaxUint16)},
		{"uint32 max", uint32(math.MaxUint32)},
		{"uint64 at MaxInt64", uint64(math.MaxInt64)},
		{"uint at MaxInt64 or its max", uint(math.MaxInt)},
		{"float32", float32(1.5)},
		{"float32 max", float32(math.MaxFloat32)},
		{"float64", 2.25},
		{"float64 negative zero", math.Copysign(0, -1)},
		{"float64 max", math.MaxFloat64},
		{"float64 smallest", math.SmallestNonzeroFloat64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, labels.Validate(tt.v))
		})
	}
}

func TestValidateRejects(t *testing.T) {
	x := 5
	tests := []struct {
		name string
		v    any
	}{
		{"uint64 above MaxInt64", uint64(math.MaxInt64) + 1},
		{"uint64 max", uint64(math.MaxUint64)},
		{"float64 NaN", math.NaN()},
		{"float64 +Inf", math.Inf(1)},
		{"float64 -Inf", math.Inf(-1)},
		{"float32 NaN", float32(math.NaN())},
		{"float32 +Inf", float32(math.Inf(1))},
		{"float32 -Inf", float32(math.Inf(-1))},
		{"nil", nil},
		{"struct", struct{ A int }{1}},
		{"empty struct", struct{}{}},
		{"slice", []int{1}},
		{"any slice", []any{"a"}},
		{"bytes", []byte("a")},
		{"map", map[string]any{"a": 1}},
		{"pointer", &x},
		{"nil pointer", (*int)(nil)},
		{"time.Time", time.Unix(0, 0)},
		{"complex", complex(1, 2)},
		{"func", func() {}},
		{"error", fmt.Errorf("boom")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, labels.Validate(tt.v))
		})
	}
}

func TestValidateUintAboveMaxInt64(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("uint cannot exceed MaxInt64 on this platform")
	}
	require.Error(t, labels.Validate(^uint(0)))
	require.Error(t, labels.Validate(uint(1)<<63))
	require.NoError(t, labels.Validate(uint(1)<<63-1))
}

func TestValidateMap(t *testing.T) {
	tests := []struct {
		name    string
		m       map[string]any
		wantErr string // substring; "" means no error
	}{
		{"nil", nil, ""},
		{"empty", map[string]any{}, ""},
		{"valid", map[string]any{"a": 1, "b": "x", "c": true, "d": 2.5, "e": uint8(3)}, ""},
		{"empty key", map[string]any{"": 1}, "empty label key"},
		{"empty key with valid value and other keys", map[string]any{"a": 1, "": "x"}, "empty label key"},
		{"bad value names its key", map[string]any{"skill": math.NaN()}, `"skill"`},
		{"nil value", map[string]any{"skill": nil}, `"skill"`},
		{"nested map", map[string]any{"skill": map[string]any{}}, `"skill"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := labels.ValidateMap(tt.m)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

// Several bad entries: the error is always the first bad key's in sorted order,
// whatever order the map iterates in; a valid map is checked without allocating.
func TestValidateMapReportsTheFirstBadKeyAndAllocatesNothingWhenValid(t *testing.T) {
	m := map[string]any{"d": math.Inf(1), "b": nil, "a": 1, "c": []int{1}, "e": "ok"}
	for range 50 {
		err := labels.ValidateMap(m)
		require.Error(t, err)
		require.Contains(t, err.Error(), `label "b"`)
	}
	valid := map[string]any{"a": 1, "b": "x", "c": true, "d": 2.5, "e": uint8(3), "f": -7}
	require.Zero(t, testing.AllocsPerRun(100, func() {
		if labels.ValidateMap(valid) != nil {
			t.Fatal("valid map rejected")
		}
	}))
}

func TestSame(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"int equals float", 5, 5.0, true},
		{"float equals int", 5.0, 5, true},
		{"int32 equals int64", int32(5), int64(5), true},
		{"uint8 equals int", uint8(5), 5, true},
		{"uint64 equals int8", uint64(5), int8(5), true},
		{"float32 equals float64 when exact", float32(0.5), 0.5, true},
		{"negative zero equals zero", math.Copysign(0, -1), 0, true},
		{"different ints", 5, 6, false},
		{"int and fraction", 5, 5.5, false},
		{"string vs int", "5", 5, false},
		{"int vs string", 5, "5", false},
		{"true vs 1", true, 1, false},
		{"false vs 0", false, 0, false},
		{"true vs string", true, "true", false},
		{"same string", "a", "a", true},
		{"strings are case sensitive", "a", "A", false},
		{"empty strings", "", "", true},
		{"same bool", false, false, true},
		{"different bool", true, false, false},
		{"large ints exact", int64(1<<62 + 1), int64(1 << 62), false},
		{"large ints equal", int64(1<<62 + 1), uint64(1<<62 + 1), true},
		{"max int64", int64(math.MaxInt64), uint64(math.MaxInt64), true},
		{"NaN never same", math.NaN(), math.NaN(), false},
		{"nil never same", nil, nil, false},
		{"invalid never same", []int{1}, []int{1}, false},
		{"uint64 above MaxInt64 is invalid", uint64(math.MaxUint64), uint64(math.MaxUint64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, labels.Same(tt.a, tt.b))
		})
	}
}

var allOps = []labels.Operator{
	labels.Equal, labels.NotEqual,
	labels.LessThan, labels.LessThanOrEqual,
	labels.GreaterThan, labels.GreaterThanOrEqual,
}

// results lists the expected Match result for each of allOps, in that order.
type results [6]bool

func TestMatch(t *testing.T) {
	//                                     eq     ne     lt     le     gt     ge
	var (
		onlyNotEqual = results{false, true, false, false, false, false}
		onlyEqual    = results{true, false, false, false, false, false}
		numEqual     = results{true, false, false, true, false, true}
		numLess      = results{false, true, true, true, false, false}
		numGreater   = results{false, true, false, false, true, true}
	)
	tests := []struct {
		name    string
		have    any
		present bool
		want    any
		expect  results
	}{
		// Missing label: fails Equal and ordering, satisfies NotEqual, whatever the values.
		{"missing, number", nil, false, 5, onlyNotEqual},
		{"missing, string", nil, false, "gold", onlyNotEqual},
		{"missing, bool", nil, false, true, onlyNotEqual},
		{"missing ignores have", 5, false, 5, onlyNotEqual},
		{"missing ignores have (string)", "gold", false, "gold", onlyNotEqual},

		// Numbers.
		{"number equal", 5, true, 5, numEqual},
		{"number equal int vs float", 5, true, 5.0, numEqual},
		{"number equal int32 vs int64", int32(5), true, int64(5), numEqual},
		{"number less", 3, true, 5, numLess},
		{"number less float", 4.5, true, 5, numLess},
		{"number greater", 7, true, 5, numGreater},
		{"number greater uint", uint16(7), true, int8(5), numGreater},
		{"number negative", -1, true, 0, numLess},

		// Large integers compare exactly (a float64 cannot tell these apart).
		{"int64 1<<62+1 vs 1<<62", int64(1<<62 + 1), true, int64(1 << 62), numGreater},
		{"int64 1<<62 vs 1<<62+1", int64(1 << 62), true, int64(1<<62 + 1), numLess},
		{"max int64 vs max-1", int64(math.MaxInt64), true, int64(math.MaxInt64 - 1), numGreater},
		{"uint64 max int64 vs int64 max-1", uint64(math.MaxInt64), true, int64(math.MaxInt64 - 1), numGreater},
		{"min int64 vs min+1", int64(math.MinInt64), true, int64(math.MinInt64 + 1), numLess},
		{"1<<53+1 vs 1<<53", int64(1<<53 + 1), true, int64(1 << 53), numGreater},

		// Strings: equality only; ordering is false even where strings would order.
		{"string equal", "gold", true, "gold", onlyEqual},
		{"string less lexically", "a", true, "b", onlyNotEqual},
		{"string greater lexically", "b", true, "a", onlyNotEqual},

		// Bools: equality only.
		{"bool equal", true, true, true, onlyEqual},
		{"bool different", true, true, false, onlyNotEqual},
		{"bool false equal", false, true, false, onlyEqual},

		// Mixed kinds never equal and never order.
		{"string label, number value", "5", true, 5, onlyNotEqual},
		{"number label, string value", 5, true, "5", onlyNotEqual},
		{"bool label, number value", true, true, 1, onlyNotEqual},
		{"number label, bool value", 0, true, false, onlyNotEqual},
		{"string label, bool value", "true", true, true, onlyNotEqual},

		// Unsupported values present: not equal to anything, never order.
		{"nil label present", nil, true, 5, onlyNotEqual},
		{"NaN label", math.NaN(), true, 5, onlyNotEqual},
		{"NaN value", 5, true, math.NaN(), onlyNotEqual},
	}
	for _, tt := range tests {
		for i, op := range allOps {
			t.Run(fmt.Sprintf("%s/%s", tt.name, op), func(t *testing.T) {
				require.Equal(t, tt.expect[i], labels.Match(op, tt.have, tt.present, tt.want),
					"Match(%s, %#v, %v, %#v)", op, tt.have, tt.present, tt.want)
			})
		}
	}
}

func TestMatchUnknownOperator(t *testing.T) {
	require.False(t, labels.Match("bogus", 5, true, 5))
	require.False(t, labels.Match("bogus", 5, false, 5))
	require.False(t, labels.Match("", "a", true, "a"))
}

func TestOperatorValidAndOrdering(t *testing.T) {
	tests := []struct {
		op       labels.Operator
		valid    bool
		ordering bool
	}{
		{labels.Equal, true, false},
		{labels.NotEqual, true, false},
		{labels.LessThan, true, true},
		{labels.LessThanOrEqual, true, true},
		{labels.GreaterThan, true, true},
		{labels.GreaterThanOrEqual, true, true},
		{"", false, false},
		{"Equal", false, false},
		{"lessthan", false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			require.Equal(t, tt.valid, tt.op.Valid())
			require.Equal(t, tt.ordering, tt.op.Ordering())
		})
	}
	// Azure's wire values.
	require.Equal(t, labels.Operator("equal"), labels.Equal)
	require.Equal(t, labels.Operator("notEqual"), labels.NotEqual)
	require.Equal(t, labels.Operator("lessThan"), labels.LessThan)
	require.Equal(t, labels.Operator("lessThanOrEqual"), labels.LessThanOrEqual)
	require.Equal(t, labels.Operator("greaterThan"), labels.GreaterThan)
	require.Equal(t, labels.Operator("greaterThanOrEqual"), labels.GreaterThanOrEqual)
}

func TestNumber(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want float64
		ok   bool
	}{
		{"int", 3, 3, true},
		{"uint8", uint8(200), 200, true},
		{"float32", float32(0.25), 0.25, true},
		{"float64", -1.5, -1.5, true},
		{"string", "3", 0, false},
		{"bool", true, 0, false},
		{"nil", nil, 0, false},
		{"NaN", math.NaN(), 0, false},
		{"uint64 too large", uint64(math.MaxUint64), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := labels.Number(tt.v)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.ok, labels.IsNumber(tt.v))
		})
	}
}

func TestClone(t *testing.T) {
	require.Nil(t, labels.Clone(nil))
	require.Nil(t, labels.Clone(map[string]any{}))

	m := map[string]any{"a": 1, "b": "x"}
	c := labels.Clone(m)
	require.Equal(t, m, c)
	c["a"] = 2
	delete(c, "b")
	require.Equal(t, map[string]any{"a": 1, "b": "x"}, m, "the clone must not alias the original")
}

func TestLargeIntegerAgainstWholeFloatIsExact(t *testing.T) {
	big := int64(1<<53 + 1)
	f := float64(1 << 53)
	require.False(t, labels.Same(big, f))
	require.True(t, labels.Match(labels.GreaterThan, big, true, f))
	require.True(t, labels.Match(labels.LessThan, f, true, big))
	require.True(t, labels.Same(int64(1<<53), f))
}
