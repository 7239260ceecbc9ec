package sim

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes rep as indented JSON. The same report always gives the same
// bytes.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes rep as tables for people: service per queue and stream,
// offers, worker groups, exceptions.
func (rep *Report) WriteTable(w io.Writer) error {
	var buf bytes.Buffer
	if err := rep.writeTable(&buf); err != nil {
		return err
	}
	// tabwriter pads the last cells: trim the lines.
	lines := strings.Split(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

func (rep *Report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	name := rep.Scenario
	if name == "" {
		name = "scenario"
	}
	fmt.Fprintf(tw, "%s (seed %d): jobs arriving %s to %s (after %s of warm-up), run stopped %s\n\n",
		name, rep.Seed, clock(rep.WindowStart, rep.Start), clock(rep.WindowEnd, rep.Start),
		human(rep.WindowStart.Sub(rep.Start).Seconds()), clock(rep.StoppedAt, rep.Start))

	header := func(first string) {
		fmt.Fprintln(tw, first+"\tARRIVED\tANSWERED\tSL (THRESHOLD)\tASA\tP(WAIT)\tWAIT P50\tP90\tP99\tMAX\tABANDONED\tCANCELLED\tUNANSWERED\tQUEUE AVG\tMAX\t")
	}
	header("QUEUE")
	row := func(k KPIs, withQueue bool) {
		qa, qm := "-", "-"
		if withQueue {
			qa, qm = fmt.Sprintf("%.2f", k.QueueLengthAvg), fmt.Sprintf("%.0f", k.QueueLengthMax)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s (%s)\t%s\t%s\t%s\t%s\t%s\t%s\t%d (%s)\t%d\t%d\t%s\t%s\t\n",
			k.Name, k.Arrived, k.Answered, pct(k.ServiceLevel), human(k.ThresholdSeconds), human(k.ASASeconds),
			pct(k.WaitProbability), human(k.WaitP50Seconds), human(k.WaitP90Seconds), human(k.WaitP99Seconds),
			human(k.WaitMaxSeconds), k.Abandoned, pct(k.AbandonRate), k.Cancelled, k.Unanswered+k.Failed, qa, qm)
	}
	for _, k := range rep.Queues {
		row(k, true)
	}
	row(rep.Overall, true)
	if len(rep.Streams) > 1 {
		fmt.Fprintln(tw)
		header("STREAM")
		for _, k := range rep.Streams {
			row(k, false)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "OFFERS\tISSUED\tACCEPTED\tDECLINED\tEXPIRED\tREVOKED\tLATE ANSWERS\t")
	offers := func(name string, o OfferStats) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", name, o.Issued, o.Accepted, o.Declined, o.Expired, o.Revoked, o.Late)
	}
	for _, k := range rep.Queues {
		offers(k.Name, k.Offers)
	}
	offers("overall", rep.Overall.Offers)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "WORKER GROUP\tWORKERS\tSTAFFED AVG\tOCCUPANCY\tHANDLED\tAVG HANDLE\tOFFERS\tDECLINED\tEXPIRED\t")
	for _, g := range rep.WorkerGroups {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%d\t%s\t%d\t%d\t%d\t\n", g.Name, g.Workers, g.StaffedAvg, pct(g.Occupancy),
			g.Handled, human(g.AvgHandleSeconds), g.Offers.Issued, g.Offers.Declined, g.Offers.Expired)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Exceptions) > 0 || rep.SelectorExpiries > 0 {
		fmt.Fprintln(w)
		for _, e := range rep.Exceptions {
			fmt.Fprintf(w, "exception rule %q of queue %s fired %d times\n", e.Rule, e.Queue, e.Count)
		}
		if rep.SelectorExpiries > 0 {
			fmt.Fprintf(w, "worker selectors expired on %d jobs\n", rep.SelectorExpiries)
		}
	}
	_, err := fmt.Fprintf(w, "\nSL: answered within the threshold / arrived (abandoned and unanswered count against it). Waits are of answered jobs.\n")
	return err
}

// WriteCSV writes rep's time series and KPIs into dir (created if needed):
// intervals.csv (one row per interval and queue, "overall" included),
// groups.csv (one row per interval and worker group) and kpis.csv (the window's
// KPIs per queue, stream and overall).
func (rep *Report) WriteCSV(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var iv [][]string
	iv = append(iv, []string{"start", "in_window", "queue", "arrived", "answered", "answered_in_threshold",
		"abandoned", "cancelled", "unanswered", "service_level", "asa_seconds", "queue_length_avg", "queue_length_max"})
	var gr [][]string
	gr = append(gr, []string{"start", "in_window", "group", "staffed_avg", "occupancy"})
	for _, in := range rep.Intervals {
		start := in.Start.Format(time.RFC3339)
		win := strconv.FormatBool(in.InWindow)
		for _, k := range append(in.Queues, in.Overall) {
			iv = append(iv, []string{start, win, k.Name, itoa(k.Arrived), itoa(k.Answered), itoa(k.AnsweredInThreshold),
				itoa(k.Abandoned), itoa(k.Cancelled), itoa(k.Unanswered + k.Failed), ftoa(k.ServiceLevel), ftoa(k.ASASeconds),
				ftoa(k.QueueLengthAvg), ftoa(k.QueueLengthMax)})
		}
		for _, g := range in.WorkerGroups {
			gr = append(gr, []string{start, win, g.Name, ftoa(g.StaffedAvg), ftoa(g.Occupancy)})
		}
	}
	kp := [][]string{{"scope", "name", "threshold_seconds", "arrived", "answered", "answered_in_threshold", "abandoned",
		"cancelled", "failed", "unanswered", "service_level", "abandon_rate", "wait_probability", "asa_seconds",
		"wait_p50_seconds", "wait_p90_seconds", "wait_p95_seconds", "wait_p99_seconds", "wait_max_seconds",
		"offers_issued", "offers_accepted", "offers_declined", "offers_expired", "offers_revoked", "queue_length_avg", "queue_length_max"}}
	kpiRow := func(scope string, k KPIs) {
		kp = append(kp, []string{scope, k.Name, ftoa(k.ThresholdSeconds), itoa(k.Arrived), itoa(k.Answered),
			itoa(k.AnsweredInThreshold), itoa(k.Abandoned), itoa(k.Cancelled), itoa(k.Failed), itoa(k.Unanswered),
			ftoa(k.ServiceLevel), ftoa(k.AbandonRate), ftoa(k.WaitProbability), ftoa(k.ASASeconds),
			ftoa(k.WaitP50Seconds), ftoa(k.WaitP90Seconds), ftoa(k.WaitP95Seconds), ftoa(k.WaitP99Seconds), ftoa(k.WaitMaxSeconds),
			itoa(k.Offers.Issued), itoa(k.Offers.Accepted), itoa(k.Offers.Declined), itoa(k.Offers.Expired), itoa(k.Offers.Revoked),
			ftoa(k.QueueLengthAvg), ftoa(k.QueueLengthMax)})
	}
	for _, k := range rep.Queues {
		kpiRow("queue", k)
	}
	for _, k := range rep.Streams {
		kpiRow("stream", k)
	}
	kpiRow("overall", rep.Overall)
	for name, rows := range map[string][][]string{"intervals.csv": iv, "groups.csv": gr, "kpis.csv": kp} {
		if err := writeCSVFile(filepath.Join(dir, name), rows); err != nil {
			return err
		}
	}
	return nil
}

func writeCSVFile(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func itoa(i int) string { return strconv.Itoa(i) }

// ftoa formats a float with at most 6 decimals, shortest form.
func ftoa(f float64) string {
	return strconv.FormatFloat(math.Round(f*1e6)/1e6, 'f', -1, 64)
}

func pct(r float64) string { return fmt.Sprintf("%.1f%%", 100*r) }

// human formats seconds: "7.2s", "4m05s", "1h02m".
func human(s float64) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%.1fs", s)
	case s < 3600:
		r := int(math.Round(s))
		return fmt.Sprintf("%dm%02ds", r/60, r%60)
	default:
		r := int(math.Round(s / 60))
		return fmt.Sprintf("%dh%02dm", r/60, r%60)
	}
}

// clock formats t as a time of day, with the date when it is not start's.
func clock(t, start time.Time) string {
	t = t.In(start.Location())
	if y, m, d := t.Date(); y == start.Year() && m == start.Month() && d == start.Day() {
		return t.Format("15:04")
	}
	return strings.TrimSuffix(t.Format("Mon 15:04"), " ")
}
