package sim

import "time"

// timeline maps instants to report intervals and to the measurement window.
type timeline struct {
	start    time.Time     // the run's Start: interval 0 begins here
	width    time.Duration // the interval width
	winStart time.Time     // the measurement window
	winEnd   time.Time
}

// index returns the interval holding t (t at or after start).
func (tl *timeline) index(t time.Time) int { return int(t.Sub(tl.start) / tl.width) }

// level is a quantity that changes at instants (a queue's length, a group's busy
// capacity) integrated over time: per interval (sum of value × seconds, and the
// largest value reached) and over the measurement window. Changes must come in
// time order.
type level struct {
	tl     *timeline
	v      float64
	last   time.Time
	sums   []float64
	maxes  []float64
	win    float64 // value × seconds inside the window
	winMax float64
}

func newLevel(tl *timeline) *level { return &level{tl: tl, last: tl.start} }

// grow makes interval k exist.
func (l *level) grow(k int) {
	for len(l.sums) <= k {
		l.sums = append(l.sums, 0)
		l.maxes = append(l.maxes, l.v) // the value carried into the interval
	}
}

// advance integrates the current value from l.last to t.
func (l *level) advance(t time.Time) {
	if !t.After(l.last) {
		return
	}
	// The window's share.
	a, b := l.last, t
	if a.Before(l.tl.winStart) {
		a = l.tl.winStart
	}
	if b.After(l.tl.winEnd) {
		b = l.tl.winEnd
	}
	if b.After(a) {
		l.win += l.v * b.Sub(a).Seconds()
		l.winMax = max(l.winMax, l.v)
	}
	// The intervals' shares.
	for from := l.last; from.Before(t); {
		k := l.tl.index(from)
		l.grow(k)
		end := l.tl.start.Add(time.Duration(k+1) * l.tl.width)
		if end.After(t) {
			end = t
		}
		l.sums[k] += l.v * end.Sub(from).Seconds()
		from = end
	}
	l.last = t
}

// add changes the value by delta at t.
func (l *level) add(t time.Time, delta float64) {
	l.advance(t)
	l.v += delta
	k := l.tl.index(t)
	l.grow(k)
	if l.v > l.maxes[k] {
		l.maxes[k] = l.v
	}
	if !t.Before(l.tl.winStart) && t.Before(l.tl.winEnd) && l.v > l.winMax {
		l.winMax = l.v
	}
}

// finish integrates up to end and makes every interval up to n exist.
func (l *level) finish(end time.Time, n int) {
	l.advance(end)
	if n > 0 {
		l.grow(n - 1)
	}
}
