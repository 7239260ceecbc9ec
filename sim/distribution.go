package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Distribution is a distribution of durations: a handle time, a wrap-up, a
// customer's patience, a worker's time to answer. It is one of Exponential,
// LogNormal, Gamma, Uniform, Fixed and Empirical, given as a value. Samples are
// drawn with gonum's distuv from a random stream of the simulator's; a sample below
// zero is taken as zero.
type Distribution interface {
	// check reports a parameter out of range.
	check() error
	// sampler returns a function drawing samples from src.
	sampler(src rand.Source) func() time.Duration
}

// Exponential is the exponential distribution with mean Mean (the M of M/M/c).
type Exponential struct {
	// Mean is the distribution's mean. Required, positive.
	Mean time.Duration
}

// LogNormal is the log-normal distribution with mean Mean and standard deviation
// StdDev (of the durations themselves, not of their logarithm): the usual shape of
// call handle times.
type LogNormal struct {
	// Mean is the distribution's mean. Required, positive.
	Mean time.Duration
	// StdDev is the distribution's standard deviation. Required, positive.
	StdDev time.Duration
}

// Gamma is the gamma distribution with mean Mean and standard deviation StdDev.
type Gamma struct {
	// Mean is the distribution's mean. Required, positive.
	Mean time.Duration
	// StdDev is the distribution's standard deviation. Required, positive.
	StdDev time.Duration
}

// Uniform is the uniform distribution on [Min, Max].
type Uniform struct {
	// Min is the smallest value. Must not be negative.
	Min time.Duration
	// Max is the largest value. Must not be less than Min.
	Max time.Duration
}

// Fixed is always Value.
type Fixed struct {
	// Value is the only value. Must not be negative.
	Value time.Duration
}

// Empirical draws one of Values, each with probability proportional to its weight
// (all equal when Weights is nil): a bootstrap from observed durations. In YAML the
// values come from a CSV file.
type Empirical struct {
	// Values are the observed durations. Required: at least one, none negative.
	Values []time.Duration
	// Weights, when set, has one non-negative weight per value, not all zero.
	// Defaults to nil: equal weights.
	Weights []float64
}

func (d Exponential) check() error {
	if d.Mean <= 0 {
		return errors.New("exponential: mean must be positive")
	}
	return nil
}

func (d Exponential) sampler(src rand.Source) func() time.Duration {
	x := distuv.Exponential{Rate: 1 / d.Mean.Seconds(), Src: src}
	return func() time.Duration { return seconds(x.Rand()) }
}

func (d LogNormal) check() error {
	if d.Mean <= 0 || d.StdDev <= 0 {
		return errors.New("lognormal: mean and stddev must be positive")
	}
	return nil
}

// sampler converts the mean m and standard deviation s of the durations into the
// parameters of their logarithm: σ² = ln(1 + s²/m²), μ = ln m − σ²/2.
func (d LogNormal) sampler(src rand.Source) func() time.Duration {
	m, s := d.Mean.Seconds(), d.StdDev.Seconds()
	v := math.Log1p(s * s / (m * m))
	x := distuv.LogNormal{Mu: math.Log(m) - v/2, Sigma: math.Sqrt(v), Src: src}
	return func() time.Duration { return seconds(x.Rand()) }
}

func (d Gamma) check() error {
	if d.Mean <= 0 || d.StdDev <= 0 {
		return errors.New("gamma: mean and stddev must be positive")
	}
	return nil
}

// sampler converts mean m and standard deviation s into shape k = m²/s² and rate
// k/m.
func (d Gamma) sampler(src rand.Source) func() time.Duration {
	m, s := d.Mean.Seconds(), d.StdDev.Seconds()
	k := m * m / (s * s)
	x := distuv.Gamma{Alpha: k, Beta: k / m, Src: src}
	return func() time.Duration { return seconds(x.Rand()) }
}

func (d Uniform) check() error {
	if d.Min < 0 || d.Max < d.Min {
		return errors.New("uniform: need 0 <= min <= max")
	}
	return nil
}

func (d Uniform) sampler(src rand.Source) func() time.Duration {
	if d.Min == d.Max {
		return func() time.Duration { return d.Min }
	}
	x := distuv.Uniform{Min: d.Min.Seconds(), Max: d.Max.Seconds(), Src: src}
	return func() time.Duration { return seconds(x.Rand()) }
}

func (d Fixed) check() error {
	if d.Value < 0 {
		return errors.New("fixed: value must not be negative")
	}
	return nil
}

func (d Fixed) sampler(rand.Source) func() time.Duration {
	return func() time.Duration { return d.Value }
}

func (d Empirical) check() error {
	if len(d.Values) == 0 {
		return errors.New("empirical: at least one value is required")
	}
	for i, v := range d.Values {
		if v < 0 {
			return fmt.Errorf("empirical: value %d (%s) is negative", i+1, v)
		}
	}
	if d.Weights == nil {
		return nil
	}
	if len(d.Weights) != len(d.Values) {
		return fmt.Errorf("empirical: %d weights for %d values", len(d.Weights), len(d.Values))
	}
	sum := 0.0
	for i, w := range d.Weights {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("empirical: weight %d must be a non-negative number", i+1)
		}
		sum += w
	}
	if sum <= 0 {
		return errors.New("empirical: the weights must not all be zero")
	}
	return nil
}

// sampler draws an index from a distuv.Categorical over the weights.
func (d Empirical) sampler(src rand.Source) func() time.Duration {
	w := d.Weights
	if w == nil {
		w = make([]float64, len(d.Values))
		for i := range w {
			w[i] = 1
		}
	}
	x := distuv.NewCategorical(w, src)
	return func() time.Duration { return d.Values[int(x.Rand())] }
}

// seconds converts a sample in seconds to a duration, negative samples to zero.
func seconds(s float64) time.Duration {
	if !(s > 0) { // also NaN
		return 0
	}
	if s >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(math.Round(s * float64(time.Second)))
}
