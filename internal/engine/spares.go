package engine

// spares keeps records of one type that the engine has finished with (an ended
// offer, a released holding), cleared, for the next one it needs: a router that
// ends an offer and issues another, or releases a holding and accepts again, then
// allocates neither record. It keeps at most max of them, so that a router that
// once held a million offers does not keep a million spare records. The zero value
// is empty.
type spares[T any] struct {
	free []*T
}

// get returns a zero record: a kept one when there is any, else a new one. O(1).
func (s *spares[T]) get() *T {
	n := len(s.free)
	if n == 0 {
		return new(T)
	}
	x := s.free[n-1]
	s.free[n-1] = nil
	s.free = s.free[:n-1]
	return x
}

// put clears x, which nothing may refer to any more, and keeps it unless max
// records are kept already. Cleared, it keeps nothing it pointed to alive. O(1)
// (amortised: the list grows to max once).
func (s *spares[T]) put(x *T, max int) {
	if len(s.free) >= max {
		return
	}
	var zero T
	*x = zero
	s.free = append(s.free, x)
}

// len returns the number of records kept. O(1).
func (s *spares[T]) len() int { return len(s.free) }
