package sim

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/openjobrouter/jobrouter"
)

// The validation against queueing theory: the simulator, running the real Router
// with LongestIdle, must reproduce the Erlang C (M/M/c) and Erlang A (M/M/c+M)
// formulas. By default (and in CI) each point runs one short replication with wide
// tolerances, which still catch a routing or measuring error of any size; with
// SIM_LONG=1 each point runs replications of 500,000 jobs and must match within
// ±1.5 percentage points and ±5%:
//
//	SIM_LONG=1 go test -run Validation -v -timeout 30m ./sim/
//
// Every point has its own seed, so that the points' errors are independent.

// validationAHT is the mean handle time of every point (μ = 20 per hour).
const validationAHT = 3 * time.Minute

// mmcScenario is the M/M/c queue (M/M/c+M with patience): one queue, Poisson
// arrivals, exponential handle times, c identical agents, LongestIdle, answers at
// once, no wrap-up. Jobs arrive for as long as it takes jobs of them to arrive on
// average; the first 5% of that are the warm-up.
func mmcScenario(seed uint64, c int, rho float64, patience time.Duration, jobs int) *Scenario {
	perHour := rho * float64(c) / validationAHT.Hours()
	dur := time.Duration(float64(jobs) / perHour * float64(time.Hour)).Round(time.Second)
	sc := &Scenario{
		Name: "mmc", Seed: seed, Duration: dur, WarmUp: dur / 20, Drain: 1000 * time.Hour, Interval: dur,
		DistributionPolicies: []jobrouter.DistributionPolicy{{ID: "longest-idle", OfferExpiresAfter: time.Hour,
			Mode: jobrouter.LongestIdleMode{}}},
		Queues: []jobrouter.Queue{{ID: "q", DistributionPolicyID: "longest-idle"}},
		WorkerGroups: []WorkerGroup{{Name: "agent", Count: c, Queues: []string{"q"},
			Channels: []jobrouter.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}}},
		Arrivals: []ArrivalStream{{Name: "calls", QueueID: "q", ChannelID: "voice",
			Process: Poisson{PerHour: perHour}, HandleTime: Exponential{Mean: validationAHT}}},
	}
	if patience > 0 {
		sc.Arrivals[0].Patience = Exponential{Mean: patience}
	}
	return sc
}

// tally pools the jobs of a point's replications.
type tally struct {
	arrived, queued, answered, abandoned int
	waitSum                              float64
	reps                                 []float64 // each replication's ASA, for its standard error
}

func (t *tally) asa() float64   { return t.waitSum / float64(t.answered) }
func (t *tally) pWait() float64 { return float64(t.queued) / float64(t.arrived) }
func (t *tally) pAb() float64   { return float64(t.abandoned) / float64(t.arrived) }

// se returns the standard error of the ASA across replications, relative to ref;
// NaN with one replication.
func (t *tally) se(ref float64) float64 {
	n := float64(len(t.reps))
	if n < 2 {
		return math.NaN()
	}
	var m, v float64
	for _, x := range t.reps {
		m += x / n
	}
	for _, x := range t.reps {
		v += (x - m) * (x - m) / (n - 1)
	}
	return math.Sqrt(v/n) / ref
}

// replicate runs reps replications of the scenario made by mk (from seed), two at
// a time, and pools their window's jobs.
func replicate(t *testing.T, reps int, mk func(seed uint64) *Scenario, seed uint64) *tally {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := &tally{}
	sem := make(chan struct{}, 2)
	for r := range reps {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rep, err := Run(context.Background(), mk(seed*1000+uint64(r)), nil)
			if err != nil {
				t.Error(err)
				return
			}
			k := rep.Overall
			mu.Lock()
			defer mu.Unlock()
			out.arrived += k.Arrived
			out.queued += int(math.Round(k.WaitProbability * float64(k.Arrived)))
			out.answered += k.Answered
			out.abandoned += k.Abandoned
			out.waitSum += k.ASASeconds * float64(k.Answered)
			out.reps = append(out.reps, k.ASASeconds)
		})
	}
	wg.Wait()
	return out
}

// longRuns reports whether the long validation was asked for.
func longRuns() bool { return os.Getenv("SIM_LONG") != "" }

type mmcPoint struct {
	c        int
	rho      float64
	longReps int // replications of 500,000 jobs in the long validation
	// The short validation's tolerances, P(wait) in percentage points and the ASA
	// as a fraction: four standard deviations of the error of an 8,000-job run,
	// measured over 30 seeds. Near saturation a short run says little about the
	// ASA on its own (waits come in long excursions); the pooled check of
	// TestErlangCValidation covers that.
	shortPP, shortASA float64
}

var mmcPoints = []mmcPoint{
	{c: 1, rho: 0.50, longReps: 2, shortPP: 5, shortASA: 0.30},
	{c: 2, rho: 0.60, longReps: 2, shortPP: 7, shortASA: 0.40},
	{c: 4, rho: 0.70, longReps: 3, shortPP: 10, shortASA: 0.75},
	{c: 8, rho: 0.75, longReps: 4, shortPP: 13, shortASA: 1.0},
	{c: 10, rho: 0.80, longReps: 6, shortPP: 15, shortASA: 1.15},
	{c: 20, rho: 0.85, longReps: 10, shortPP: 20, shortASA: 1.45},
	{c: 5, rho: 0.90, longReps: 10, shortPP: 14, shortASA: 1.1},
	{c: 1, rho: 0.95, longReps: 16, shortPP: 6, shortASA: 1.7},
}

const (
	shortJobs = 8_000
	longJobs  = 500_000
)

// TestErlangCValidation checks P(wait) and the ASA of M/M/c against Erlang C at
// eight points from 50% to 95% utilisation. The short version also checks the
// mean error over the points (independent seeds): within three standard
// deviations, ±3.5 points and ±30%, which no systematic error of that size passes.
func TestErlangCValidation(t *testing.T) {
	long := longRuns()
	got := make([]*tally, len(mmcPoints))
	// The points run in parallel subtests (as many at once as -parallel allows).
	t.Run("points", func(t *testing.T) {
		for i, p := range mmcPoints {
			t.Run(fmt.Sprintf("c=%d,ρ=%.2f", p.c, p.rho), func(t *testing.T) {
				t.Parallel()
				reps, jobs := 1, shortJobs
				if long {
					reps, jobs = p.longReps, longJobs
				}
				got[i] = replicate(t, reps, func(seed uint64) *Scenario { return mmcScenario(seed, p.c, p.rho, 0, jobs) }, uint64(i+1))
			})
		}
	})
	if t.Failed() {
		return
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n| λ/h | μ/h | c | ρ | P(wait) Erlang C | simulated | Δ pp | ASA Erlang C | simulated | Δ | SE | jobs |\n")
	fmt.Fprintf(&table, "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var sumPP, sumASA float64
	for i, p := range mmcPoints {
		g := got[i]
		tolPP, tolASA := p.shortPP, p.shortASA
		if long {
			tolPP, tolASA = 1.5, 0.05
		}
		e := ErlangC{ArrivalsPerHour: p.rho * float64(p.c) / validationAHT.Hours(), MeanHandleTime: validationAHT, Agents: p.c}
		wantPW, wantASA := e.WaitProbability(), e.ASA().Seconds()
		dPP := 100 * (g.pWait() - wantPW)
		dASA := g.asa()/wantASA - 1
		se := "-"
		if v := g.se(wantASA); !math.IsNaN(v) {
			se = fmt.Sprintf("%.1f%%", 100*v)
		}
		fmt.Fprintf(&table, "| %.0f | %.0f | %d | %.2f | %.4f | %.4f | %+.2f | %.2fs | %.2fs | %+.1f%% | %s | %d |\n",
			e.ArrivalsPerHour, 1/validationAHT.Hours(), p.c, e.Utilisation(), wantPW, g.pWait(), dPP,
			wantASA, g.asa(), 100*dASA, se, g.arrived)
		sumPP += dPP
		sumASA += dASA
		assert.Equal(t, g.arrived, g.answered, "c=%d ρ=%.2f: every job is answered", p.c, p.rho)
		assert.LessOrEqual(t, math.Abs(dPP), tolPP, "c=%d ρ=%.2f: P(wait) %.4f, Erlang C %.4f", p.c, p.rho, g.pWait(), wantPW)
		assert.LessOrEqual(t, math.Abs(dASA), tolASA, "c=%d ρ=%.2f: ASA %.2fs, Erlang C %.2fs", p.c, p.rho, g.asa(), wantASA)
	}
	t.Log(table.String())
	n := float64(len(mmcPoints))
	assert.InDelta(t, 0, sumPP/n, 3.5, "mean P(wait) error over the points, in points")
	assert.InDelta(t, 0, sumASA/n, 0.3, "mean relative ASA error over the points")
}

type mmcmPoint struct {
	c        int
	rho      float64 // offered load per agent; above 1 is fine with abandonment
	patience time.Duration
	longReps int
	// The short validation's tolerances (four standard deviations, as for
	// mmcPoint): P(wait) and P(abandon) in points, the ASA as a fraction.
	shortPP, shortAb, shortASA float64
}

var mmcmPoints = []mmcmPoint{
	{c: 5, rho: 0.8, patience: 90 * time.Second, longReps: 2, shortPP: 5, shortAb: 3.5, shortASA: 0.3},
	{c: 10, rho: 0.95, patience: 3 * time.Minute, longReps: 2, shortPP: 9, shortAb: 3.5, shortASA: 0.4},
	{c: 20, rho: 1.1, patience: 6 * time.Minute, longReps: 2, shortPP: 13, shortAb: 4.5, shortASA: 0.4},
}

// TestErlangAValidation checks P(wait), P(abandon) and the ASA of the answered
// jobs of M/M/c+M (customers who hang up) against Erlang A.
func TestErlangAValidation(t *testing.T) {
	long := longRuns()
	got := make([]*tally, len(mmcmPoints))
	t.Run("points", func(t *testing.T) {
		for i, p := range mmcmPoints {
			t.Run(fmt.Sprintf("c=%d,ρ=%.2f", p.c, p.rho), func(t *testing.T) {
				t.Parallel()
				reps, jobs := 1, shortJobs
				if long {
					reps, jobs = p.longReps, longJobs
				}
				got[i] = replicate(t, reps, func(seed uint64) *Scenario { return mmcScenario(seed, p.c, p.rho, p.patience, jobs) }, uint64(100+i))
			})
		}
	})
	if t.Failed() {
		return
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n| λ/h | μ/h | θ/h | c | P(wait) Erlang A | sim | P(abandon) Erlang A | sim | ASA Erlang A | sim | jobs |\n")
	fmt.Fprintf(&table, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for i, p := range mmcmPoints {
		g := got[i]
		tolPP, tolAb, tolASA := p.shortPP, p.shortAb, p.shortASA
		if long {
			tolPP, tolAb, tolASA = 1.5, 1.5, 0.05
		}
		e := ErlangA{ArrivalsPerHour: p.rho * float64(p.c) / validationAHT.Hours(), MeanHandleTime: validationAHT,
			MeanPatience: p.patience, Agents: p.c}
		want := e.Solve()
		fmt.Fprintf(&table, "| %.0f | %.0f | %.0f | %d | %.4f | %.4f | %.4f | %.4f | %.2fs | %.2fs | %d |\n",
			e.ArrivalsPerHour, 1/validationAHT.Hours(), 1/p.patience.Hours(), p.c, want.WaitProbability, g.pWait(),
			want.AbandonProbability, g.pAb(), want.ASA.Seconds(), g.asa(), g.arrived)
		assert.InDelta(t, want.WaitProbability, g.pWait(), tolPP/100, "c=%d: P(wait)", p.c)
		assert.InDelta(t, want.AbandonProbability, g.pAb(), tolAb/100, "c=%d: P(abandon)", p.c)
		assert.InDelta(t, 1, g.asa()/want.ASA.Seconds(), tolASA, "c=%d: ASA %.2fs, Erlang A %.2fs", p.c, g.asa(), want.ASA.Seconds())
	}
	t.Log(table.String())
}
