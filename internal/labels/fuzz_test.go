package labels

import (
	"math"
	"testing"

	"github.com/openjobrouter/jobrouter/internal/labels/labelstest"
)

// FuzzMatch checks the label value rules and the six operators on arbitrary values:
// Validate accepts exactly the values Match can compare; Same is reflexive and
// symmetric on valid values; Equal and NotEqual are complements on a present label
// and a missing label satisfies only NotEqual; the ordering operators hold only for
// two numbers and agree with each other (a < b exactly when b > a; <= is < or same);
// nothing panics.
//
//	go test ./internal/labels -run '^$' -fuzz '^FuzzMatch$' -fuzztime 2m
func FuzzMatch(f *testing.F) {
	f.Add(byte(2), "", int64(5), 5.0, false, byte(6), "", int64(0), 5.0, false)
	f.Add(byte(0), "en", int64(0), 0.0, false, byte(0), "fr", int64(0), 0.0, true)
	f.Add(byte(3), "", int64(1<<53+1), 0.0, false, byte(6), "", int64(0), float64(1<<53), false)
	f.Add(byte(6), "", int64(0), math.NaN(), false, byte(6), "", int64(0), math.Inf(1), false)
	f.Add(byte(5), "", int64(-1), 0.0, false, byte(3), "", int64(-1), 0.0, false)
	f.Add(byte(1), "", int64(0), 0.0, true, byte(10), "x", int64(0), 0.0, true)
	f.Fuzz(func(t *testing.T, ka byte, sa string, ia int64, fa float64, ba bool, kb byte, sb string, ib int64, fb float64, bb bool) {
		a, b := labelstest.FuzzValue(ka, sa, ia, fa, ba), labelstest.FuzzValue(kb, sb, ib, fb, bb)
		va, vb := Validate(a) == nil, Validate(b) == nil
		if _, ok := normalize(a); ok != va {
			t.Fatalf("Validate(%#v) = %v, but normalize says %v", a, va, ok)
		}
		if err := ValidateMap(map[string]any{"k": a}); (err == nil) != va {
			t.Fatalf("ValidateMap({k: %#v}) = %v, Validate says %v", a, err, va)
		}
		if va && !Same(a, a) {
			t.Fatalf("Same(%#v, itself) is false", a)
		}
		if Same(a, b) != Same(b, a) {
			t.Fatalf("Same is not symmetric on %#v, %#v", a, b)
		}
		if Same(a, b) && !(va && vb) {
			t.Fatalf("Same(%#v, %#v) holds for an invalid value", a, b)
		}
		for _, op := range []Operator{Equal, NotEqual, LessThan, LessThanOrEqual, GreaterThan, GreaterThanOrEqual} {
			if Match(op, a, false, b) != (op == NotEqual) {
				t.Fatalf("a missing label: %s %#v gives %v", op, b, Match(op, a, false, b))
			}
			if Match(op, a, true, b) && op.Ordering() && !(IsNumber(a) && IsNumber(b)) {
				t.Fatalf("%#v %s %#v holds for a non-number", a, op, b)
			}
		}
		if Match(Equal, a, true, b) == Match(NotEqual, a, true, b) {
			t.Fatalf("Equal and NotEqual agree on %#v, %#v", a, b)
		}
		if Match(Equal, a, true, b) != Same(a, b) {
			t.Fatalf("Equal(%#v, %#v) differs from Same", a, b)
		}
		lt, gt := Match(LessThan, a, true, b), Match(GreaterThan, b, true, a)
		if lt != gt {
			t.Fatalf("%#v < %#v is %v but %#v > %#v is %v", a, b, lt, b, a, gt)
		}
		if le := Match(LessThanOrEqual, a, true, b); le != (lt || IsNumber(a) && IsNumber(b) && Same(a, b)) {
			t.Fatalf("%#v <= %#v is %v; < is %v, same %v", a, b, le, lt, Same(a, b))
		}
		if IsNumber(a) && IsNumber(b) {
			n := 0
			for _, op := range []Operator{LessThan, GreaterThan} {
				if Match(op, a, true, b) {
					n++
				}
			}
			if Same(a, b) {
				n++
			}
			if n != 1 {
				t.Fatalf("numbers %#v and %#v are not exactly one of <, >, same", a, b)
			}
		}
	})
}
