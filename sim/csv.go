package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openjobrouter/jobrouter"
)

// readTrace reads a CSV trace of arrivals. The first row names the columns:
//
//   - time (required): the arrival, as seconds since the scenario's start ("93.5"),
//     a Go duration since the start ("1h2m3s"), a time of day on the start's day
//     ("08:31:07") or an RFC 3339 timestamp;
//   - handleTime, wrapUp, patience (optional): this job's values, as seconds or Go
//     durations, replacing draws from the stream's distributions (empty: draw);
//   - every other column is a job label: an integer, a float, true/false, or else a
//     string; an empty cell sets no label.
//
// Rows need not be in time order; they are sorted (stably).
func readTrace(path string, start time.Time) (Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return Trace{}, err
	}
	defer func() { _ = f.Close() }()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return Trace{}, fmt.Errorf("%s: reading the header: %w", path, err)
	}
	timeCol := slices.Index(header, "time")
	if timeCol < 0 {
		return Trace{}, fmt.Errorf("%s: no column named \"time\" in the header (%s)", path, strings.Join(header, ","))
	}
	y, m, d := start.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, start.Location())
	var tr Trace
	for line := 2; ; line++ {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Trace{}, fmt.Errorf("%s: %w", path, err)
		}
		var a TracedArrival
		for i, cell := range row {
			col := header[i]
			cell = strings.TrimSpace(cell)
			bad := func(what string) error {
				return fmt.Errorf("%s:%d: column %s: %q is not %s", path, line, col, cell, what)
			}
			switch col {
			case "time":
				at, ok := parseTraceTime(cell, start, midnight)
				if !ok {
					return Trace{}, bad(`a time (seconds, a duration such as "1h2m", "HH:MM:SS" or an RFC 3339 timestamp)`)
				}
				if at < 0 {
					return Trace{}, fmt.Errorf("%s:%d: time %s is before the scenario's start", path, line, cell)
				}
				a.At = at
			case "handleTime", "wrapUp", "patience":
				if cell == "" {
					continue
				}
				v, ok := parseCSVDuration(cell)
				if !ok || v < 0 {
					return Trace{}, bad("a duration (seconds or a Go duration)")
				}
				switch col {
				case "handleTime":
					a.HandleTime = v
				case "wrapUp":
					a.WrapUp = v
				default:
					a.Patience = v
				}
			default:
				if cell == "" {
					continue
				}
				if a.Labels == nil {
					a.Labels = jobrouter.Labels{}
				}
				a.Labels[col] = labelValue(cell)
			}
		}
		tr.Arrivals = append(tr.Arrivals, a)
	}
	slices.SortStableFunc(tr.Arrivals, func(x, y TracedArrival) int {
		return int(min(max(x.At-y.At, -1), 1))
	})
	return tr, nil
}

func parseTraceTime(s string, start, midnight time.Time) (time.Duration, bool) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return time.Duration(math.Round(f * float64(time.Second))), true
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.Sub(start), true
	}
	if strings.Count(s, ":") >= 1 && !strings.ContainsAny(s, "T ") {
		parts := strings.Split(s, ":")
		var v [3]float64
		if len(parts) > 3 {
			return 0, false
		}
		for i, p := range parts {
			x, err := strconv.ParseFloat(p, 64)
			if err != nil || x < 0 {
				return 0, false
			}
			v[i] = x
		}
		secs := v[0]*3600 + v[1]*60 + v[2]
		return midnight.Add(time.Duration(math.Round(secs * float64(time.Second)))).Sub(start), true
	}
	return 0, false
}

func parseCSVDuration(s string) (time.Duration, bool) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return time.Duration(math.Round(f * float64(time.Second))), true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// labelValue types a CSV cell: an integer, a float, a bool, or the string.
func labelValue(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return int(i)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return f
	}
	if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
		return b
	}
	return s
}

// readEmpirical reads durations (seconds or Go durations) from a CSV file: from
// the column named column, or the first column; weights, if any, from the column
// named weightColumn. A first row that does not parse as a duration is a header
// (required when columns are named).
func readEmpirical(path, column, weightColumn string) (Empirical, error) {
	f, err := os.Open(path)
	if err != nil {
		return Empirical{}, err
	}
	defer func() { _ = f.Close() }()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return Empirical{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return Empirical{}, fmt.Errorf("%s: no values", path)
	}
	vi, wi := 0, -1
	first := 0
	if _, ok := parseCSVDuration(strings.TrimSpace(rows[0][0])); !ok || column != "" || weightColumn != "" {
		first = 1 // a header
		h := rows[0]
		if column != "" {
			if vi = slices.Index(h, column); vi < 0 {
				return Empirical{}, fmt.Errorf("%s: no column %q in the header (%s)", path, column, strings.Join(h, ","))
			}
		}
		if weightColumn != "" {
			if wi = slices.Index(h, weightColumn); wi < 0 {
				return Empirical{}, fmt.Errorf("%s: no column %q in the header (%s)", path, weightColumn, strings.Join(h, ","))
			}
		}
	}
	var e Empirical
	for i, row := range rows[first:] {
		line := first + i + 1
		if vi >= len(row) || (wi >= 0 && wi >= len(row)) {
			return Empirical{}, fmt.Errorf("%s:%d: too few columns", path, line)
		}
		cell := strings.TrimSpace(row[vi])
		if cell == "" {
			continue
		}
		v, ok := parseCSVDuration(cell)
		if !ok || v < 0 {
			return Empirical{}, fmt.Errorf("%s:%d: %q is not a duration (seconds or a Go duration)", path, line, cell)
		}
		e.Values = append(e.Values, v)
		if wi >= 0 {
			w, err := strconv.ParseFloat(strings.TrimSpace(row[wi]), 64)
			if err != nil || w < 0 {
				return Empirical{}, fmt.Errorf("%s:%d: weight %q is not a non-negative number", path, line, row[wi])
			}
			e.Weights = append(e.Weights, w)
		}
	}
	if len(e.Values) == 0 {
		return Empirical{}, fmt.Errorf("%s: no values", path)
	}
	return e, nil
}
