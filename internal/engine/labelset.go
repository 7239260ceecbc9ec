package engine

import (
	"math"
	"reflect"
	"strconv"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/openjobrouter/jobrouter/internal/match"
)

// Worker labels are stored interned: a worker holds a pointer to an immutable
// labelSet, shared engine-wide by every worker whose labels are equal, value for
// value and Go type for Go type. A contact centre has many agents with one skill
// profile (B4: 10,000 workers, about 700 label sets), and a 16-label Go map costs
// about 1.2 KB, so one shared sorted slice per profile is most of the saving.
//
// "Id" is never stored: every worker carries the label Id = its ID (SEMANTICS), and
// the engine resolves it from the ID wherever labels are read — selectors and the
// default score (match.WorkerLabels), a scoring function's input (Engine.score), events
// (Event.WorkerLabelMap) and views of the worker (workerState.view). Keeping it out is
// what makes sets shareable, and it is why a worker class (matchindex.go) is keyed by
// the set itself.

// labelSet is an interned worker label set.
type labelSet struct {
	labels.Set        // the labels but "Id", sorted by key
	key        string // labelKey of the labels: the set's key in Engine.labelSets
	refs       int    // workers holding the set
}

// internLabels returns the shared set of the labels m (validated) without "Id", made
// when no worker holds such a set yet, and counts one more holder.
// O(n log n) for n labels, plus O(n) to make a new set.
func (e *Engine) internLabels(m Labels) *labelSet {
	set := labels.NewSet(m, "Id")
	key := labelKey(set)
	if s := e.labelSets[key]; s != nil {
		s.refs++
		return s
	}
	s := &labelSet{Set: *set, key: key, refs: 1}
	if e.labelSets == nil {
		e.labelSets = make(map[string]*labelSet)
	}
	e.labelSets[key] = s
	return s
}

// reinternLabels is internLabels(m) for a worker that holds cur (nil: none): when m
// holds exactly cur's labels, as an update that leaves a worker's labels alone does,
// it counts one more holder of cur without building a set or its key, and without
// allocating: O(n) for n labels; otherwise internLabels' O(n log n).
func (e *Engine) reinternLabels(cur *labelSet, m Labels) *labelSet {
	if cur != nil && cur.holds(m) {
		cur.refs++
		return cur
	}
	return e.internLabels(m)
}

// holds reports whether the labels m (validated), "Id" aside, are exactly s's: the
// same keys, with values of the same Go types that labelKey encodes alike (floats
// by their bits). It never reports true for labels that intern to another set; a
// false for labels that intern to s would only miss the fast path, and no validated
// map gives one (validation admits only the built-in types exactEqual compares).
// O(n) for n labels (one map lookup each).
func (s *labelSet) holds(m Labels) bool {
	n := len(m)
	if _, ok := m["Id"]; ok {
		n--
	}
	if n != s.Len() {
		return false
	}
	for _, p := range s.Pairs() {
		v, ok := m[p.Key]
		if !ok || !exactEqual(v, p.Value) {
			return false
		}
	}
	return true
}

// exactEqual reports whether two label values are of the same Go type and equal,
// floats by their bits (so 0 and -0 differ): what appendExact encodes alike.
func exactEqual(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		return a == b // comparable, and of the same type only when equal
	}
	return false
}

// releaseLabels counts one holder less of s, and forgets s when none is left (a later
// worker with those labels interns a new set). O(1).
func (e *Engine) releaseLabels(s *labelSet) {
	if s == nil {
		return
	}
	s.refs--
	if s.refs == 0 {
		delete(e.labelSets, s.key)
	}
}

// labelKey encodes the label set s, so that two sets share a key exactly when they
// hold the same keys with the same values of the same Go types (so a worker reads
// back the values it was given: 1 and 1.0 do not share a set). It is the label part
// of a worker class's signature: keys by appendStr, values by appendExact. O(n).
func labelKey(s *labels.Set) string {
	b := make([]byte, 0, 16*s.Len())
	for _, p := range s.Pairs() {
		b = appendStr(b, p.Key)
		b = appendExact(b, p.Value)
	}
	return string(b)
}

// appendExact appends a label value so that two values share an encoding exactly
// when they are of the same Go type and equal (==): a number's encoding is its type
// then appendValue's (a float's by its bits, so 0 and -0 differ); strings and bools
// are appendValue's, which is already exact for them.
func appendExact(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil, string, bool:
		return appendValue(b, v)
	case float64:
		return append(strconv.AppendUint(append(b, 'F', 'd'), math.Float64bits(x), 16), ';')
	case float32:
		return append(strconv.AppendUint(append(b, 'F', 'f'), uint64(math.Float32bits(x)), 16), ';')
	}
	// An integer: its kind (validation admits only the built-in integer types, so the
	// kind names the type), then its value.
	return appendValue(append(b, 'I', byte(reflect.TypeOf(v).Kind())), v)
}

// matchLabels returns w's labels as matching reads them, "Id" included. O(1).
func (w *workerState) matchLabels() match.WorkerLabels {
	return match.WorkerLabels{ID: w.ID, Set: &w.labels.Set}
}

// WorkerLabelMap returns a new map of a worker's labels: the set s (an event's
// WorkerLabels) plus "Id" = id; nil when s is nil. O(labels).
func WorkerLabelMap(s *labels.Set, id string) Labels {
	if s == nil {
		return nil
	}
	return s.MapWith("Id", id)
}

// WorkerLabelMap returns a new map of the labels of the worker in ev, "Id"
// included; nil when ev carries no worker labels. O(labels).
func (ev *Event) WorkerLabelMap() Labels { return WorkerLabelMap(ev.WorkerLabels, ev.WorkerID) }
