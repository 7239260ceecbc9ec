// Package labelstest holds what the fuzz tests of label values share.
package labelstest

// FuzzValue builds a label value of the kind k from the raw inputs of a fuzz target:
// every supported type (string, bool, the integer types, the float types) and some
// that are not (nil, a slice, a struct, a map), so that validation sees both.
func FuzzValue(k byte, s string, i int64, f float64, b bool) any {
	switch k % 13 {
	case 0:
		return s
	case 1:
		return b
	case 2:
		return int(i)
	case 3:
		return i
	case 4:
		return int32(i)
	case 5:
		return uint64(i)
	case 6:
		return f
	case 7:
		return float32(f)
	case 8:
		return uint8(i)
	case 9:
		return nil
	case 10:
		return []int{int(i)}
	case 11:
		return struct{ S string }{s}
	default:
		return map[string]any{"nested": s}
	}
}
