// Package labels holds the value rules for labels, tags and selector values, and
// evaluates the six selector operators.
//
// A label value is a string, a bool, an integer or a float; nothing else. Values keep
// the Go type the caller gave them; comparison normalises integers and floats to
// numbers so that 5 equals 5.0 and int32(5) equals int64(5).
package labels

import (
	"fmt"
	"math"
	"sort"
)

// Operator is a selector operator. Its values are Azure Job Router's.
type Operator string

// The six operators.
const (
	Equal              Operator = "equal"
	NotEqual           Operator = "notEqual"
	LessThan           Operator = "lessThan"
	LessThanOrEqual    Operator = "lessThanOrEqual"
	GreaterThan        Operator = "greaterThan"
	GreaterThanOrEqual Operator = "greaterThanOrEqual"
)

// Valid reports whether op is one of the six operators.
func (op Operator) Valid() bool {
	switch op {
	case Equal, NotEqual, LessThan, LessThanOrEqual, GreaterThan, GreaterThanOrEqual:
		return true
	}
	return false
}

// Ordering reports whether op compares order (less or greater), which only numbers have.
func (op Operator) Ordering() bool {
	switch op {
	case LessThan, LessThanOrEqual, GreaterThan, GreaterThanOrEqual:
		return true
	}
	return false
}

// kind is the normalised class of a value.
type kind uint8

const (
	kindInvalid kind = iota
	kindString
	kindBool
	kindNumber
)

// Value is a label value normalised for comparison: numbers become float64 (and, for
// integers that a float64 cannot hold exactly, are also kept as int64).
type value struct {
	k     kind
	s     string
	b     bool
	f     float64
	i     int64
	exact bool // i holds the exact integer value
}

func normalize(v any) (value, bool) {
	switch x := v.(type) {
	case string:
		return value{k: kindString, s: x}, true
	case bool:
		return value{k: kindBool, b: x}, true
	case int:
		return intValue(int64(x)), true
	case int8:
		return intValue(int64(x)), true
	case int16:
		return intValue(int64(x)), true
	case int32:
		return intValue(int64(x)), true
	case int64:
		return intValue(x), true
	case uint:
		return uintValue(uint64(x))
	case uint8:
		return intValue(int64(x)), true
	case uint16:
		return intValue(int64(x)), true
	case uint32:
		return intValue(int64(x)), true
	case uint64:
		return uintValue(x)
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	}
	return value{}, false
}

// wholeFloat marks a float holding a whole number within int64's range as exact.
func wholeFloat(v value) value {
	if !v.exact && v.f == math.Trunc(v.f) && v.f >= -(1<<63) && v.f < 1<<63 {
		v.i, v.exact = int64(v.f), true
	}
	return v
}

func intValue(i int64) value { return value{k: kindNumber, f: float64(i), i: i, exact: true} }

func uintValue(u uint64) (value, bool) {
	if u > math.MaxInt64 {
		return value{}, false
	}
	return intValue(int64(u)), true
}

func floatValue(f float64) (value, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return value{}, false
	}
	return value{k: kindNumber, f: f}, true
}

// Validate returns nil when v is a supported label value: a string, a bool, a signed or
// unsigned integer that fits in int64, or a finite float. NaN and infinities are
// rejected because they compare unequal to themselves.
func Validate(v any) error {
	if _, ok := normalize(v); !ok {
		return fmt.Errorf("unsupported label value %v of type %T (want string, bool, integer or finite float)", v, v)
	}
	return nil
}

// ValidateMap validates every key and value of m. Keys must be non-empty. The error
// for a map with several bad entries is always the same one: that of the first bad
// key in sorted order. A valid map, the usual case, is checked in one pass that
// allocates nothing; the keys are sorted only once some entry is bad. O(n) for a
// valid map of n labels, O(n log n) for an invalid one.
func ValidateMap(m map[string]any) error {
	bad := false
	for k, v := range m {
		if !validEntry(k, v) {
			bad = true
			break
		}
	}
	if !bad {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		if k == "" {
			return fmt.Errorf("empty label key")
		}
		if err := Validate(v); err != nil {
			return fmt.Errorf("label %q: %w", k, err)
		}
	}
	return nil
}

// validEntry reports whether the key k and the value v are both valid, as
// ValidateMap checks them, without building an error. O(1).
func validEntry(k string, v any) bool {
	_, ok := normalize(v)
	return ok && k != ""
}

// IsNumber reports whether v is an integer or a float.
func IsNumber(v any) bool {
	n, ok := normalize(v)
	return ok && n.k == kindNumber
}

// Number returns v as a float64 when v is an integer or a float.
func Number(v any) (float64, bool) {
	n, ok := normalize(v)
	if !ok || n.k != kindNumber {
		return 0, false
	}
	return n.f, true
}

// Same reports whether a and b are the same label value: same string, same bool or
// the same number (integers and floats compare by value).
func Same(a, b any) bool {
	x, ok1 := normalize(a)
	y, ok2 := normalize(b)
	if !ok1 || !ok2 || x.k != y.k {
		return false
	}
	switch x.k {
	case kindString:
		return x.s == y.s
	case kindBool:
		return x.b == y.b
	default:
		return numCompare(x, y) == 0
	}
}

// numCompare orders two numbers, exactly when both are integers or when one is an
// integer and the other a whole float within int64's range (so 1<<53+1 > 1<<53.0).
func numCompare(x, y value) int {
	x, y = wholeFloat(x), wholeFloat(y)
	if x.exact && y.exact {
		switch {
		case x.i < y.i:
			return -1
		case x.i > y.i:
			return 1
		}
		return 0
	}
	switch {
	case x.f < y.f:
		return -1
	case x.f > y.f:
		return 1
	}
	return 0
}

// Match evaluates "label op want" where have is the label's value and present says
// whether the label exists. A missing label fails Equal and the ordering operators and
// satisfies NotEqual. Ordering operators compare numbers only: a non-number on either
// side fails them.
//
// Complexity: O(1).
func Match(op Operator, have any, present bool, want any) bool {
	if !present {
		return op == NotEqual
	}
	switch op {
	case Equal:
		return Same(have, want)
	case NotEqual:
		return !Same(have, want)
	}
	x, ok1 := normalize(have)
	y, ok2 := normalize(want)
	if !ok1 || !ok2 || x.k != kindNumber || y.k != kindNumber {
		return false
	}
	c := numCompare(x, y)
	switch op {
	case LessThan:
		return c < 0
	case LessThanOrEqual:
		return c <= 0
	case GreaterThan:
		return c > 0
	case GreaterThanOrEqual:
		return c >= 0
	}
	return false
}

// Clone returns a shallow copy of m (values are scalars, so the copy is deep), or nil
// when m is empty.
func Clone(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
