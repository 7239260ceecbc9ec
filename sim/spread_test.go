package sim

import (
	"context"
	"os"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// TestValidationSpread measures what the short validation's tolerances are made of:
// the spread of a short run's error against the formulas, over 30 seeds per point
// (the tolerances are about four standard deviations). It only runs when asked:
//
//	SIM_SPREAD=1 go test -run ValidationSpread -v ./sim/
func TestValidationSpread(t *testing.T) {
	if os.Getenv("SIM_SPREAD") == "" {
		t.Skip("set SIM_SPREAD=1 to measure the spread of short validation runs")
	}
	const seeds = 30
	for _, p := range mmcPoints {
		e := ErlangC{ArrivalsPerHour: p.rho * float64(p.c) / validationAHT.Hours(), MeanHandleTime: validationAHT, Agents: p.c}
		var dPP, dASA []float64
		for s := uint64(1); s <= seeds; s++ {
			rep, err := Run(context.Background(), mmcScenario(s*7919, p.c, p.rho, 0, shortJobs), nil)
			if err != nil {
				t.Fatal(err)
			}
			dPP = append(dPP, 100*(rep.Overall.WaitProbability-e.WaitProbability()))
			dASA = append(dASA, rep.Overall.ASASeconds/e.ASA().Seconds()-1)
		}
		m1, s1 := stat.MeanStdDev(dPP, nil)
		m2, s2 := stat.MeanStdDev(dASA, nil)
		t.Logf("Erlang C c=%d ρ=%.2f: P(wait) error %+.2f ± %.2f points, ASA error %+.3f ± %.3f (tolerances %.0f, %.2f)",
			p.c, p.rho, m1, s1, m2, s2, p.shortPP, p.shortASA)
	}
	for _, p := range mmcmPoints {
		e := ErlangA{ArrivalsPerHour: p.rho * float64(p.c) / validationAHT.Hours(), MeanHandleTime: validationAHT,
			MeanPatience: p.patience, Agents: p.c}.Solve()
		var dPP, dAb, dASA []float64
		for s := uint64(1); s <= seeds; s++ {
			rep, err := Run(context.Background(), mmcScenario(s*7919, p.c, p.rho, p.patience, shortJobs), nil)
			if err != nil {
				t.Fatal(err)
			}
			dPP = append(dPP, 100*(rep.Overall.WaitProbability-e.WaitProbability))
			dAb = append(dAb, 100*(rep.Overall.AbandonRate-e.AbandonProbability))
			dASA = append(dASA, rep.Overall.ASASeconds/e.ASA.Seconds()-1)
		}
		_, s1 := stat.MeanStdDev(dPP, nil)
		_, s2 := stat.MeanStdDev(dAb, nil)
		_, s3 := stat.MeanStdDev(dASA, nil)
		t.Logf("Erlang A c=%d ρ=%.2f: σ P(wait) %.2f points, σ P(abandon) %.2f points, σ ASA %.3f (tolerances %.1f, %.1f, %.2f)",
			p.c, p.rho, s1, s2, s3, p.shortPP, p.shortAb, p.shortASA)
	}
}
