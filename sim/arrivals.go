package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/openjobrouter/jobrouter"
)

// ArrivalProcess says when a stream's jobs arrive. It is one of Poisson,
// PiecewisePoisson and Trace, given as a value. Jobs arrive from the scenario's
// Start until Start + Duration.
type ArrivalProcess interface {
	check(path string) error
	// generator returns the stream's arrivals in order, drawing from src.
	generator(src rand.Source, start time.Time, until time.Duration) arrivalGen
}

// Poisson is a Poisson process with a constant rate.
type Poisson struct {
	// PerHour is the mean number of arrivals per hour. Required, positive.
	PerHour float64
}

// PiecewisePoisson is a Poisson process whose rate changes with the time of day:
// each step's rate holds from its From until the next step's From, and the table
// repeats every day (before the first step, the last step's rate of the day before
// holds).
type PiecewisePoisson struct {
	// Rates are the steps, in increasing From order. Required: at least one, and
	// at least one positive rate.
	Rates []RateStep
}

// RateStep is one step of a PiecewisePoisson rate table.
type RateStep struct {
	// From is the time of day (since midnight of Start's day) from which PerHour
	// holds, 00:00 to 23:59:59.
	From time.Duration
	// PerHour is the mean number of arrivals per hour. Must not be negative.
	PerHour float64
}

// Trace replays recorded arrivals. In YAML it is read from a CSV file.
type Trace struct {
	// Arrivals are the recorded jobs, in order of At. Arrivals at or after the
	// scenario's Duration are left out.
	Arrivals []TracedArrival
}

// TracedArrival is one recorded arrival.
type TracedArrival struct {
	// At is the arrival's time since the scenario's Start. Must not be negative.
	At time.Duration
	// Labels are added to the stream's labels for this job. Optional.
	Labels jobrouter.Labels
	// HandleTime, WrapUp and Patience, when positive, replace a draw from the
	// stream's distribution for this job.
	HandleTime, WrapUp, Patience time.Duration
}

// arrivalGen yields a stream's arrivals, as offsets from Start, in order.
type arrivalGen interface {
	// next returns the next arrival, or false when there is none before the end.
	next() (at time.Duration, rec *TracedArrival, ok bool)
}

func (p Poisson) check(path string) error {
	if !(p.PerHour > 0) || math.IsInf(p.PerHour, 0) {
		return fieldErr(path+".perHour", "must be a positive number")
	}
	return nil
}

func (p Poisson) generator(src rand.Source, _ time.Time, until time.Duration) arrivalGen {
	return &poissonGen{gap: distuv.Exponential{Rate: p.PerHour / 3600, Src: src}, until: until}
}

type poissonGen struct {
	gap   distuv.Exponential // inter-arrival time, in seconds
	t     time.Duration
	until time.Duration
}

func (g *poissonGen) next() (time.Duration, *TracedArrival, bool) {
	g.t += seconds(g.gap.Rand())
	if g.t >= g.until {
		g.t = g.until
		return 0, nil, false
	}
	return g.t, nil, true
}

func (p PiecewisePoisson) check(path string) error {
	if len(p.Rates) == 0 {
		return fieldErr(path+".rates", "at least one step is required")
	}
	positive := false
	for i, s := range p.Rates {
		sp := fmt.Sprintf("%s.rates[%d]", path, i)
		if s.From < 0 || s.From >= 24*time.Hour {
			return fieldErr(sp+".from", "a time of day must be 00:00..23:59:59")
		}
		if i > 0 && s.From <= p.Rates[i-1].From {
			return fieldErr(sp+".from", "the steps must be in increasing order of from")
		}
		if s.PerHour < 0 || math.IsNaN(s.PerHour) || math.IsInf(s.PerHour, 0) {
			return fieldErr(sp+".perHour", "must be a non-negative number")
		}
		positive = positive || s.PerHour > 0
	}
	if !positive {
		return fieldErr(path+".rates", "at least one rate must be positive")
	}
	return nil
}

// generator inverts the cumulative rate: arrivals are the images of a unit-rate
// Poisson process, so a change to one step's rate moves only the arrivals near it
// (which keeps common random numbers common).
func (p PiecewisePoisson) generator(src rand.Source, start time.Time, until time.Duration) arrivalGen {
	y, m, d := start.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, start.Location())
	return &piecewiseGen{
		rates: p.Rates,
		unit:  distuv.Exponential{Rate: 1, Src: src},
		// Offsets from Start to the midnight of its day: negative or zero.
		dayOffset: midnight.Sub(start),
		until:     until,
	}
}

type piecewiseGen struct {
	rates     []RateStep
	unit      distuv.Exponential
	dayOffset time.Duration // Start's midnight minus Start
	t         time.Duration // offset from Start
	until     time.Duration
}

// segment returns the rate per second at offset t and the offset at which it next
// changes.
func (g *piecewiseGen) segment(t time.Duration) (perSecond float64, end time.Duration) {
	const day = 24 * time.Hour
	sinceMidnight := t - g.dayOffset
	dayStart := sinceMidnight - sinceMidnight%day
	tod := sinceMidnight % day
	i := len(g.rates) - 1 // before the first step: the last step of the day before
	for i >= 0 && g.rates[i].From > tod {
		i--
	}
	var next time.Duration
	switch {
	case i < 0:
		i = len(g.rates) - 1
		next = g.rates[0].From
	case i == len(g.rates)-1:
		next = day + g.rates[0].From
	default:
		next = g.rates[i+1].From
	}
	return g.rates[i].PerHour / 3600, dayStart + next + g.dayOffset
}

func (g *piecewiseGen) next() (time.Duration, *TracedArrival, bool) {
	need := g.unit.Rand() // unit-rate work to the next arrival
	for g.t < g.until {
		rate, end := g.segment(g.t)
		if rate > 0 {
			span := (end - g.t).Seconds()
			if rate*span >= need {
				g.t += seconds(need / rate)
				if g.t >= g.until {
					break
				}
				return g.t, nil, true
			}
			need -= rate * span
		}
		g.t = end
	}
	g.t = g.until
	return 0, nil, false
}

func (p Trace) check(path string) error {
	for i, a := range p.Arrivals {
		ap := fmt.Sprintf("%s.arrivals[%d]", path, i)
		if a.At < 0 {
			return fieldErr(ap+".at", "must not be negative")
		}
		if i > 0 && a.At < p.Arrivals[i-1].At {
			return fieldErr(ap+".at", "the arrivals must be in order of time")
		}
		if a.HandleTime < 0 || a.WrapUp < 0 || a.Patience < 0 {
			return fieldErr(ap, "handle time, wrap-up and patience must not be negative")
		}
	}
	return nil
}

func (p Trace) generator(_ rand.Source, _ time.Time, until time.Duration) arrivalGen {
	return &traceGen{arrivals: p.Arrivals, until: until}
}

type traceGen struct {
	arrivals []TracedArrival
	i        int
	until    time.Duration
}

func (g *traceGen) next() (time.Duration, *TracedArrival, bool) {
	if g.i >= len(g.arrivals) || g.arrivals[g.i].At >= g.until {
		return 0, nil, false
	}
	a := &g.arrivals[g.i]
	g.i++
	return a.At, a, true
}
