package bench

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// markingNow reports whether the garbage collector is marking: set only in a build
// with the tag gcphase (gcphase_probe_test.go), which reads the runtime's phase
// variable; nil otherwise. With it, B2 also reports its samples split by whether
// they ran beside the collector's marking:
//
//	go test -c -tags gcphase -ldflags=-checklinkname=0 -o /tmp/phase.test ./bench/
//	/tmp/phase.test -test.run '^$' -test.bench 'B2Match/workers=10000' -test.benchtime=1s
//
// (-checklinkname=0: since Go 1.23 the linker refuses a reference to a runtime
// variable the runtime does not export by name.) It is how "Where B2's tail went"
// in BENCHMARKS-HISTORY.md was measured, and how BENCHMARKS.md splits B2 by phase.
var markingNow func() bool

// collectorMarking is markingNow, false without the probe.
func collectorMarking() bool { return markingNow != nil && markingNow() }

// gcSplit holds B2's samples apart by whether the collector was marking when the
// call began or when it ended (in) or at neither instant (out). A call that spans a
// whole marking phase would count as out; B2's calls take microseconds, a marking
// phase tens of milliseconds.
type gcSplit struct{ in, out latencies }

func (g *gcSplit) add(d time.Duration, marking bool) {
	if markingNow == nil {
		return
	}
	if marking {
		g.in = append(g.in, d)
	} else {
		g.out = append(g.out, d)
	}
}

// report adds marking-% (the share of samples in) and the p50 and p99 of each part
// to b's results (p95 too for in); nothing without the probe.
func (g *gcSplit) report(b *testing.B) {
	n := len(g.in) + len(g.out)
	if markingNow == nil || n == 0 {
		return
	}
	b.ReportMetric(100*float64(len(g.in))/float64(n), "marking-%")
	for _, part := range []struct {
		name string
		l    latencies
		ps   []int
	}{{"in", g.in, []int{50, 95, 99}}, {"out", g.out, []int{50, 99}}} {
		if len(part.l) == 0 {
			continue
		}
		s := slices.Clone(part.l)
		slices.Sort(s)
		for _, p := range part.ps {
			b.ReportMetric(float64(pct(s, p)), part.name+"-p"+strconv.Itoa(p)+"-ns")
		}
	}
}
