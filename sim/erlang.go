package sim

import (
	"math"
	"time"
)

// ErlangC is the M/M/c queue of queueing theory: Poisson arrivals, exponential
// handle times, Agents identical agents, first come first served, nobody
// abandons. Its formulas (A. K. Erlang, 1917) are what a simulation of that
// situation must reproduce, and what workforce planners staff with.
type ErlangC struct {
	// ArrivalsPerHour is the arrival rate λ.
	ArrivalsPerHour float64
	// MeanHandleTime is the mean handle time 1/μ.
	MeanHandleTime time.Duration
	// Agents is the number of agents c.
	Agents int
}

// Load returns the offered load A = λ/μ, in Erlangs.
func (e ErlangC) Load() float64 { return e.ArrivalsPerHour * e.MeanHandleTime.Hours() }

// Utilisation returns ρ = A / c, the share of agent time spent on jobs.
func (e ErlangC) Utilisation() float64 { return e.Load() / float64(e.Agents) }

// stable reports whether the queue has a steady state (ρ < 1).
func (e ErlangC) stable() bool {
	return e.Agents > 0 && e.ArrivalsPerHour > 0 && e.MeanHandleTime > 0 && e.Utilisation() < 1
}

// WaitProbability returns the Erlang C formula: the probability that an arriving
// job waits at all. It is 1 when the queue is unstable (ρ ≥ 1). It is computed from
// the Erlang B recursion, which stays accurate for thousands of agents.
func (e ErlangC) WaitProbability() float64 {
	if !e.stable() {
		return 1
	}
	a, c := e.Load(), float64(e.Agents)
	b := erlangB(a, e.Agents)
	return c * b / (c - a*(1-b))
}

// ASA returns the average speed of answer E[W] = C · (1/μ) / (c − A). It is the
// largest Duration when the queue is unstable.
func (e ErlangC) ASA() time.Duration {
	if !e.stable() {
		return math.MaxInt64
	}
	return seconds(e.WaitProbability() * e.MeanHandleTime.Seconds() / (float64(e.Agents) - e.Load()))
}

// ServiceLevel returns the probability of being answered within t:
// 1 − C · e^(−(c − A) t μ). It is 0 when the queue is unstable.
func (e ErlangC) ServiceLevel(t time.Duration) float64 {
	if !e.stable() {
		return 0
	}
	return 1 - e.WaitProbability()*math.Exp(-(float64(e.Agents)-e.Load())*t.Seconds()/e.MeanHandleTime.Seconds())
}

// QueueLength returns the mean number of jobs waiting, λ · E[W].
func (e ErlangC) QueueLength() float64 {
	if !e.stable() {
		return math.Inf(1)
	}
	return e.ArrivalsPerHour / 3600 * e.ASA().Seconds()
}

// erlangB returns the Erlang B blocking probability of load a on c servers, by the
// recursion B(0) = 1, B(k) = a B(k−1) / (k + a B(k−1)).
func erlangB(a float64, c int) float64 {
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// ErlangA is the M/M/c+M queue (Palm 1943; the "Erlang A" of Garnett, Mandelbaum
// and Reiman, 2002): Erlang C's queue where each waiting customer hangs up after
// an exponential patience of mean MeanPatience. It has a steady state at any load.
// The figures are computed exactly from the birth–death chain of the number of
// jobs present (truncated where its probabilities fall below e^-40 of their peak).
type ErlangA struct {
	// ArrivalsPerHour is the arrival rate λ.
	ArrivalsPerHour float64
	// MeanHandleTime is the mean handle time 1/μ.
	MeanHandleTime time.Duration
	// MeanPatience is the mean patience 1/θ. Must be positive.
	MeanPatience time.Duration
	// Agents is the number of agents c.
	Agents int
}

// ErlangAResult holds the steady-state figures of an ErlangA queue.
type ErlangAResult struct {
	// WaitProbability is the probability that an arriving job finds every agent
	// busy.
	WaitProbability float64
	// AbandonProbability is the probability that an arriving job is abandoned.
	AbandonProbability float64
	// ASA is the mean wait of the answered jobs (those that abandon excluded).
	ASA time.Duration
	// MeanWait is the mean wait of every job, until answered or abandoned.
	MeanWait time.Duration
	// QueueLength is the mean number of jobs waiting.
	QueueLength float64
}

// Solve computes the queue's figures. It returns the zero ErlangAResult when a
// parameter is not positive.
func (e ErlangA) Solve() ErlangAResult {
	if e.Agents <= 0 || e.ArrivalsPerHour <= 0 || e.MeanHandleTime <= 0 || e.MeanPatience <= 0 {
		return ErlangAResult{}
	}
	lambda := e.ArrivalsPerHour / 3600
	mu := 1 / e.MeanHandleTime.Seconds()
	theta := 1 / e.MeanPatience.Seconds()
	c := e.Agents
	cmu := float64(c) * mu

	// log π_n (unnormalised) from π_n / π_{n-1} = λ / d_n, until the terms have
	// fallen far below their peak on the way down.
	logp := []float64{0}
	peak := 0.0
	for n := 1; ; n++ {
		d := float64(min(n, c))*mu + float64(max(n-c, 0))*theta
		lp := logp[n-1] + math.Log(lambda/d)
		logp = append(logp, lp)
		peak = math.Max(peak, lp)
		if n > c && lambda < d && lp < peak-40 {
			break
		}
	}
	var z, wait, queue, servedWait float64
	sumInv := 0.0 // Σ_{i=0..j} 1/(cμ + (i+1)θ) for j = n − c
	for n, lp := range logp {
		p := math.Exp(lp - peak)
		z += p
		if n < c {
			continue
		}
		j := n - c // jobs ahead of an arrival that finds n present
		wait += p
		queue += float64(j) * p
		sumInv += 1 / (cmu + float64(j+1)*theta)
		// An arrival with j ahead moves up at rate cμ + iθ with i ahead, and
		// abandons at rate θ: it is answered with probability
		// Π (cμ+iθ)/(cμ+(i+1)θ) = cμ/(cμ+(j+1)θ), after stages whose lengths do not
		// depend on how they end.
		served := cmu / (cmu + float64(j+1)*theta)
		servedWait += p * served * sumInv
	}
	wait /= z
	queue /= z
	servedWait /= z
	abandon := theta * queue / lambda
	return ErlangAResult{
		WaitProbability:    wait,
		AbandonProbability: abandon,
		ASA:                seconds(servedWait / (1 - abandon)),
		MeanWait:           seconds(queue / lambda),
		QueueLength:        queue,
	}
}
