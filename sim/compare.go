package sim

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// metricKind says how a compared figure is printed and how its difference is.
type metricKind uint8

const (
	metricCount   metricKind = iota // an integer count
	metricRatio                     // a ratio, printed as a percentage; differences in points
	metricSeconds                   // a time in seconds
	metricFloat                     // a plain number
)

type metric struct {
	label string
	kind  metricKind
	get   func(KPIs) float64
}

var comparedKPIs = []metric{
	{"arrived", metricCount, func(k KPIs) float64 { return float64(k.Arrived) }},
	{"answered", metricCount, func(k KPIs) float64 { return float64(k.Answered) }},
	{"service level", metricRatio, func(k KPIs) float64 { return k.ServiceLevel }},
	{"ASA", metricSeconds, func(k KPIs) float64 { return k.ASASeconds }},
	{"P(wait)", metricRatio, func(k KPIs) float64 { return k.WaitProbability }},
	{"wait p90", metricSeconds, func(k KPIs) float64 { return k.WaitP90Seconds }},
	{"wait p99", metricSeconds, func(k KPIs) float64 { return k.WaitP99Seconds }},
	{"abandon rate", metricRatio, func(k KPIs) float64 { return k.AbandonRate }},
	{"cancelled", metricCount, func(k KPIs) float64 { return float64(k.Cancelled) }},
	{"unanswered", metricCount, func(k KPIs) float64 { return float64(k.Unanswered + k.Failed) }},
	{"queue length avg", metricFloat, func(k KPIs) float64 { return k.QueueLengthAvg }},
	{"queue length max", metricCount, func(k KPIs) float64 { return k.QueueLengthMax }},
	{"offers issued", metricCount, func(k KPIs) float64 { return float64(k.Offers.Issued) }},
	{"offers declined", metricCount, func(k KPIs) float64 { return float64(k.Offers.Declined) }},
	{"offers expired", metricCount, func(k KPIs) float64 { return float64(k.Offers.Expired) }},
}

var comparedGroupKPIs = []struct {
	label string
	kind  metricKind
	get   func(GroupKPIs) float64
}{
	{"staffed avg", metricFloat, func(g GroupKPIs) float64 { return g.StaffedAvg }},
	{"occupancy", metricRatio, func(g GroupKPIs) float64 { return g.Occupancy }},
	{"handled", metricCount, func(g GroupKPIs) float64 { return float64(g.Handled) }},
	{"avg handle", metricSeconds, func(g GroupKPIs) float64 { return g.AvgHandleSeconds }},
}

// WriteComparison writes the KPIs of reports side by side, one column per report
// headed by its name in names, then the difference of each later report to the
// first: overall, per queue and per worker group (a queue or group missing from a
// report shows "-"). Run the reports with the same seed for common random numbers:
// their arrivals are then the same, and the differences are the policies'.
func WriteComparison(w io.Writer, names []string, reports []*Report) error {
	if len(names) != len(reports) || len(reports) < 2 {
		return fmt.Errorf("sim: compare needs two reports or more, each with a name")
	}
	var table [][]string
	head := []string{"KPI"}
	head = append(head, names...)
	for _, n := range names[1:] {
		head = append(head, "Δ "+n)
	}
	line := func(cells []string) { table = append(table, cells) }
	line(head)
	row := func(label string, kind metricKind, vals []float64, ok []bool) {
		cells := []string{label}
		for i, v := range vals {
			cells = append(cells, formatMetric(kind, v, ok[i]))
		}
		for i := 1; i < len(vals); i++ {
			cells = append(cells, formatDelta(kind, vals[i]-vals[0], ok[0] && ok[i]))
		}
		line(cells)
	}
	blank := make([]string, len(head))
	section := func(title string) {
		line(blank)
		cells := slices.Clone(blank)
		cells[0] = title
		line(cells)
	}
	kpiSection := func(title string, get func(*Report) (KPIs, bool)) {
		section(title)
		for _, m := range comparedKPIs {
			if strings.HasPrefix(title, "stream ") && strings.HasPrefix(m.label, "queue length") {
				continue // streams have no queue of their own
			}
			vals := make([]float64, len(reports))
			ok := make([]bool, len(reports))
			for i, r := range reports {
				if k, found := get(r); found {
					vals[i], ok[i] = m.get(k), true
				}
			}
			row("  "+m.label, m.kind, vals, ok)
		}
	}
	kpiSection("overall", func(r *Report) (KPIs, bool) { return r.Overall, true })
	var queues, streams, groups []string
	for _, r := range reports {
		for _, q := range r.Queues {
			if !slices.Contains(queues, q.Name) && (q.Arrived > 0 || q.QueueLengthMax > 0) {
				queues = append(queues, q.Name)
			}
		}
		for _, st := range r.Streams {
			if !slices.Contains(streams, st.Name) {
				streams = append(streams, st.Name)
			}
		}
		for _, g := range r.WorkerGroups {
			if !slices.Contains(groups, g.Name) {
				groups = append(groups, g.Name)
			}
		}
	}
	slices.Sort(queues)
	for _, q := range queues {
		kpiSection("queue "+q, func(r *Report) (KPIs, bool) {
			i := slices.IndexFunc(r.Queues, func(k KPIs) bool { return k.Name == q })
			if i < 0 {
				return KPIs{}, false
			}
			return r.Queues[i], true
		})
	}
	if len(streams) > 1 {
		for _, name := range streams {
			kpiSection("stream "+name, func(r *Report) (KPIs, bool) {
				i := slices.IndexFunc(r.Streams, func(k KPIs) bool { return k.Name == name })
				if i < 0 {
					return KPIs{}, false
				}
				return r.Streams[i], true
			})
		}
	}
	for _, g := range groups {
		section("worker group " + g)
		for _, m := range comparedGroupKPIs {
			vals := make([]float64, len(reports))
			ok := make([]bool, len(reports))
			for i, r := range reports {
				if j := slices.IndexFunc(r.WorkerGroups, func(k GroupKPIs) bool { return k.Name == g }); j >= 0 {
					vals[i], ok[i] = m.get(r.WorkerGroups[j]), true
				}
			}
			row("  "+m.label, m.kind, vals, ok)
		}
	}
	return writeAligned(w, table)
}

// writeAligned writes rows in columns two spaces apart, the first column aligned
// left and the others (numbers) right.
func writeAligned(w io.Writer, rows [][]string) error {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

func formatMetric(kind metricKind, v float64, ok bool) string {
	if !ok {
		return "-"
	}
	switch kind {
	case metricRatio:
		return pct(v)
	case metricSeconds:
		return human(v)
	case metricFloat:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func formatDelta(kind metricKind, d float64, ok bool) string {
	if !ok {
		return "-"
	}
	var s string
	switch kind {
	case metricRatio:
		s = fmt.Sprintf("%.1f pp", 100*math.Abs(d))
	case metricSeconds:
		s = human(math.Abs(d))
	case metricFloat:
		s = fmt.Sprintf("%.2f", math.Abs(d))
	default:
		s = fmt.Sprintf("%.0f", math.Abs(d))
	}
	// The sign of what is shown: a difference too small to show is +0.
	if d < 0 && strings.ContainsAny(s, "123456789") {
		return "-" + s
	}
	return "+" + s
}
