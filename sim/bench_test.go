package sim

import (
	"context"
	"testing"
)

// BenchmarkDay100 is the performance target of the simulator: an 8-hour day with
// 100 agents and about 10,000 calls (testdata/day100.yaml), which must take well
// under 2 s on a 2-core machine. Run it with
//
//	go test -run '^$' -bench . ./sim/
func BenchmarkDay100(b *testing.B) {
	sc, err := Load("testdata/day100.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var jobs int
	for b.Loop() {
		rep, err := Run(context.Background(), sc, nil)
		if err != nil {
			b.Fatal(err)
		}
		jobs = rep.Run.Jobs
	}
	b.ReportMetric(float64(jobs), "jobs/run")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(jobs), "µs/job")
}
