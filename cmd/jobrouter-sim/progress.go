package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// stderrIsTerminal reports whether the progress bar has someone to show it to.
func stderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }

// progress is the bar on stderr: simulated seconds done over the runs' total. It
// is the command's only use of wall time (the bar's own throttling and rate).
// Without a terminal every method does nothing.
type progress struct {
	mu   sync.Mutex
	bar  *progressbar.ProgressBar
	done []int64 // per run, in simulated seconds
	sum  int64
}

// newProgress returns the bar of runs whose longest simulated spans are totals.
func newProgress(on bool, w io.Writer, totals []time.Duration) *progress {
	p := &progress{done: make([]int64, len(totals))}
	if !on {
		return p
	}
	desc := "simulating"
	if len(totals) > 1 {
		desc = "simulating the scenarios"
	}
	var max int64
	for _, t := range totals {
		max += int64(t.Seconds())
	}
	p.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(false),
	)
	return p
}

// callback returns the sim.RunOptions.Progress of run i.
func (p *progress) callback(i int) func(elapsed, total time.Duration) {
	if p.bar == nil {
		return nil
	}
	return func(elapsed, _ time.Duration) {
		p.mu.Lock()
		defer p.mu.Unlock()
		s := int64(elapsed.Seconds())
		p.sum += s - p.done[i]
		p.done[i] = s
		_ = p.bar.Set64(p.sum)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
	}
}
