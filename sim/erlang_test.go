package sim

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestErlangBTable checks the Erlang B recursion against the standard traffic
// table (grade of service 1%): 10 lines carry 4.46 Erlangs, 20 lines 12.03, 50 lines
// 37.90.
func TestErlangBTable(t *testing.T) {
	for _, c := range []struct {
		load  float64
		lines int
	}{{4.46, 10}, {12.03, 20}, {37.90, 50}} {
		require.InDelta(t, 0.01, erlangB(c.load, c.lines), 0.00005, "%v Erlangs on %d lines", c.load, c.lines)
	}
}

// TestErlangCPublished checks the worked example of Call Centre Helper's "Erlang C
// formula" article, also the expected values of pyworkforce's test suite: 100 calls
// in 30 minutes, 3 minutes each (10 Erlangs), 14 agents: 17.4% wait, an ASA of 7.8 s,
// 88.8% answered within 20 s, occupancy 71.4%.
func TestErlangCPublished(t *testing.T) {
	e := ErlangC{ArrivalsPerHour: 200, MeanHandleTime: 3 * time.Minute, Agents: 14}
	require.InDelta(t, 10, e.Load(), 1e-9)
	require.InDelta(t, 0.714, e.Utilisation(), 0.0005)
	require.InDelta(t, 0.174, e.WaitProbability(), 0.0005)
	require.InDelta(t, 7.8, e.ASA().Seconds(), 0.05)
	require.InDelta(t, 0.888, e.ServiceLevel(20*time.Second), 0.0005)
}

// TestErlangCClosedForms checks the formula where it has a closed form: M/M/1
// (P(wait) = ρ, E[W] = ρ/(μ−λ)) and M/M/2 (P(wait) = 2ρ²/(1+ρ)).
func TestErlangCClosedForms(t *testing.T) {
	for _, rho := range []float64{0.1, 0.5, 0.8, 0.95} {
		mm1 := ErlangC{ArrivalsPerHour: rho * 60, MeanHandleTime: time.Minute, Agents: 1}
		require.InDelta(t, rho, mm1.WaitProbability(), 1e-12)
		require.InDelta(t, rho/(1-rho)*60, mm1.ASA().Seconds(), 1e-6)
		require.InDelta(t, rho*rho/(1-rho), mm1.QueueLength(), 1e-6)

		mm2 := ErlangC{ArrivalsPerHour: 2 * rho * 60, MeanHandleTime: time.Minute, Agents: 2}
		require.InDelta(t, 2*rho*rho/(1+rho), mm2.WaitProbability(), 1e-12)
	}
	// Thousands of agents stay finite and sensible.
	big := ErlangC{ArrivalsPerHour: 58_000, MeanHandleTime: 3 * time.Minute, Agents: 3000}
	require.Greater(t, big.WaitProbability(), 0.0)
	require.Less(t, big.WaitProbability(), 0.5)
	// Unstable: everyone waits, forever.
	over := ErlangC{ArrivalsPerHour: 100, MeanHandleTime: time.Hour, Agents: 100}
	require.Equal(t, 1.0, over.WaitProbability())
	require.Equal(t, time.Duration(math.MaxInt64), over.ASA())
	require.Equal(t, 0.0, over.ServiceLevel(time.Minute))
}

// TestErlangA checks the M/M/c+M solution against what is known in closed form:
// patience that never runs out is Erlang C; patience equal to the handle time makes
// every job leave at rate μ whether served or not, so the number present is
// Poisson(A) (M/M/∞); and the rate balance E[W] = P(abandon)/θ.
func TestErlangA(t *testing.T) {
	c := ErlangC{ArrivalsPerHour: 720, MeanHandleTime: 4 * time.Minute, Agents: 55}
	a := ErlangA{ArrivalsPerHour: 720, MeanHandleTime: 4 * time.Minute, MeanPatience: 10000 * time.Hour, Agents: 55}.Solve()
	require.InDelta(t, c.WaitProbability(), a.WaitProbability, 1e-4)
	require.InDelta(t, c.ASA().Seconds(), a.ASA.Seconds(), 0.01)
	require.Less(t, a.AbandonProbability, 1e-5)

	for _, n := range []int{1, 3, 10, 40} {
		const load = 8.0 // Erlangs
		q := ErlangA{ArrivalsPerHour: load * 12, MeanHandleTime: 5 * time.Minute, MeanPatience: 5 * time.Minute, Agents: n}.Solve()
		// Poisson(load): P(N ≥ n) and E[(N − n)+].
		p, cdf, excess := math.Exp(-load), 0.0, 0.0
		for k := 0; k < 200; k++ {
			if k < n {
				cdf += p
			} else {
				excess += float64(k-n) * p
			}
			p *= load / float64(k+1)
		}
		require.InDelta(t, 1-cdf, q.WaitProbability, 1e-9, "agents %d", n)
		require.InDelta(t, excess, q.QueueLength, 1e-9, "agents %d", n)
		theta := 1 / (5 * time.Minute).Seconds()
		require.InDelta(t, q.AbandonProbability/theta, q.MeanWait.Seconds(), 1e-3, "agents %d", n)
		require.LessOrEqual(t, q.ASA, q.MeanWait*2)
	}

	// Overload is fine with abandonment: about the excess abandons.
	over := ErlangA{ArrivalsPerHour: 200, MeanHandleTime: 6 * time.Minute, MeanPatience: 2 * time.Minute, Agents: 10}.Solve()
	require.Greater(t, over.AbandonProbability, 0.3)
	require.Less(t, over.AbandonProbability, 0.6)
	require.Equal(t, ErlangAResult{}, ErlangA{ArrivalsPerHour: 1, MeanHandleTime: time.Minute, Agents: 1}.Solve())
}
