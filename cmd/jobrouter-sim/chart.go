package main

import (
	"fmt"
	"image/color"
	"os"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/openjobrouter/jobrouter/sim"
)

// palette is the lines' colours, in order (Okabe–Ito, legible to the colour-blind).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{213, 94, 0, 255},    // vermilion
	color.RGBA{0, 158, 115, 255},   // green
	color.RGBA{204, 121, 167, 255}, // purple
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{86, 180, 233, 255},  // sky blue
	color.RGBA{0, 0, 0, 255},       // black
}

// writeChart draws two panels over the run, one point per report interval: the
// mean queue length, and the service level of the jobs that arrived in the
// interval (intervals without arrivals have no point). One report: a line per queue
// and one for all jobs. Several (compare): a line per report, for all jobs.
func writeChart(path string, names []string, reports []*sim.Report) error {
	length := plot.New()
	length.Title.Text = "Queue length (mean over each interval)"
	length.Y.Label.Text = "jobs waiting"
	sl := plot.New()
	sl.Title.Text = "Service level (jobs arriving in each interval)"
	sl.Y.Label.Text = "% answered in threshold"
	sl.Y.Min, sl.Y.Max = 0, 100
	for _, p := range []*plot.Plot{length, sl} {
		p.X.Tick.Marker = clockTicks{loc: reports[0].Start.Location()}
		p.X.Label.Text = "time of day"
		p.Add(plotter.NewGrid())
	}
	// One legend, in the top panel (the colours are the same below), above the
	// lines: the panel gets headroom for it.
	length.Legend.Top = true
	length.Legend.Left = true
	maxLength := 1.0
	type line struct {
		name string
		rep  *sim.Report
		pick func(iv sim.Interval) sim.KPIs
	}
	var lines []line
	if len(reports) == 1 {
		rep := reports[0]
		for qi, q := range rep.Queues {
			lines = append(lines, line{q.Name, rep, func(iv sim.Interval) sim.KPIs { return iv.Queues[qi] }})
		}
		if len(rep.Queues) > 1 {
			lines = append(lines, line{"all queues", rep, func(iv sim.Interval) sim.KPIs { return iv.Overall }})
		}
	} else {
		for i, rep := range reports {
			lines = append(lines, line{names[i], rep, func(iv sim.Interval) sim.KPIs { return iv.Overall }})
		}
	}
	for i, l := range lines {
		var lengths, levels plotter.XYs
		half := l.rep.IntervalSeconds / 2
		for _, iv := range l.rep.Intervals {
			x := float64(iv.Start.Unix()) + half
			k := l.pick(iv)
			lengths = append(lengths, plotter.XY{X: x, Y: k.QueueLengthAvg})
			maxLength = max(maxLength, k.QueueLengthAvg)
			if k.Arrived > 0 {
				levels = append(levels, plotter.XY{X: x, Y: 100 * k.ServiceLevel})
			}
		}
		for _, d := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{length, lengths}, {sl, levels}} {
			if len(d.xys) == 0 {
				continue
			}
			ln, err := plotter.NewLine(d.xys)
			if err != nil {
				return fmt.Errorf("chart: %w", err)
			}
			ln.Color = palette[i%len(palette)]
			ln.Width = vg.Points(1.5)
			if len(lines) > 1 && i == len(lines)-1 && len(reports) == 1 {
				ln.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			d.p.Add(ln)
			if d.p == length {
				d.p.Legend.Add(l.name, ln)
			}
		}
	}
	length.Y.Min = 0
	length.Y.Max = maxLength * (1.15 + 0.12*float64(len(lines)))
	canvas := vgsvg.New(9*vg.Inch, 7*vg.Inch)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	plots := [][]*plot.Plot{{length}, {sl}}
	cs := plot.Align(plots, tiles, draw.New(canvas))
	length.Draw(cs[0][0])
	sl.Draw(cs[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := canvas.WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// clockTicks marks whole hours (every hour, two, six or twelve, as the span needs)
// with their time of day, and the quarter hours between when they fit.
type clockTicks struct{ loc *time.Location }

// Ticks returns the ticks between lo and hi, Unix seconds.
func (c clockTicks) Ticks(lo, hi float64) []plot.Tick {
	span := time.Duration((hi - lo) * float64(time.Second))
	step, minor := time.Hour, 15*time.Minute
	switch {
	case span > 4*24*time.Hour:
		step, minor = 24*time.Hour, 6*time.Hour
	case span > 36*time.Hour:
		step, minor = 12*time.Hour, 3*time.Hour
	case span > 16*time.Hour:
		step, minor = 2*time.Hour, time.Hour
	}
	from := time.Unix(int64(lo), 0).In(c.loc).Truncate(minor)
	var ticks []plot.Tick
	for t := from; !t.After(time.Unix(int64(hi), 0)); t = t.Add(minor) {
		x := float64(t.Unix())
		if x < lo {
			continue
		}
		label := ""
		if _, off := t.Zone(); (t.Unix()+int64(off))%int64(step/time.Second) == 0 {
			label = t.Format("15:04")
			if step >= 24*time.Hour {
				label = t.Format("Mon 02")
			}
		}
		ticks = append(ticks, plot.Tick{Value: x, Label: label})
	}
	return ticks
}
