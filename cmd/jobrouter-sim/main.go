// Command jobrouter-sim simulates a contact centre on the real jobrouter engine, in
// virtual time, and reports its service KPIs.
//
//	jobrouter-sim [flags] scenario.yaml
//	jobrouter-sim compare [flags] a.yaml b.yaml [more.yaml ...]
//
// The first form runs one scenario and prints its KPIs as tables (or JSON with
// -json); -csv DIR writes its time series as CSV files and -chart FILE.svg draws the
// queue lengths and the service level over the run. The second runs every scenario
// with the same seed (the first scenario's, or -seed), so that they see the same
// arrivals, and prints their KPIs side by side with the differences.
//
// Flags:
//
//	-seed N       run with seed N instead of the scenario's
//	-json         print the report as JSON instead of tables
//	-csv DIR      write intervals.csv, groups.csv and kpis.csv into DIR
//	-chart FILE   write an SVG chart of queue length and service level
//	-quiet        no progress bar (it is only shown when stderr is a terminal)
//
// The scenario format is documented in package
// github.com/openjobrouter/jobrouter/sim; examples/sim has scenarios to start from.
// The exit status is 0 on success, 1 when a scenario is invalid or a run fails, and
// 2 on a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openjobrouter/jobrouter/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, stderrIsTerminal())
	stop()
	os.Exit(code)
}

// options are the command line's flags.
type options struct {
	seed     uint64
	seedSet  bool
	json     bool
	csvDir   string
	chart    string
	quiet    bool
	progress bool // stderr is a terminal
}

const usage = `usage:
  jobrouter-sim [flags] scenario.yaml
  jobrouter-sim compare [flags] a.yaml b.yaml [more.yaml ...]

flags:
  -seed N       run with seed N instead of the scenario's
  -json         print the report as JSON instead of tables
  -csv DIR      write intervals.csv, groups.csv and kpis.csv into DIR
  -chart FILE   write an SVG chart of queue length and service level over the run
  -quiet        no progress bar (shown only when stderr is a terminal)
`

// run is the command, with its outputs as arguments so that tests can run it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, terminal bool) int {
	compare := len(args) > 0 && args[0] == "compare"
	if compare {
		args = args[1:]
	}
	opts, files, err := parseArgs(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "jobrouter-sim: %v\n\n%s", err, usage)
		return 2
	}
	opts.progress = terminal && !opts.quiet
	switch {
	case compare && len(files) < 2:
		fmt.Fprintf(stderr, "jobrouter-sim: compare needs two scenarios or more\n\n%s", usage)
		return 2
	case !compare && len(files) != 1:
		fmt.Fprintf(stderr, "jobrouter-sim: give one scenario file (or use compare)\n\n%s", usage)
		return 2
	}
	scenarios := make([]*sim.Scenario, len(files))
	for i, f := range files {
		sc, err := sim.Load(f)
		if err != nil {
			fmt.Fprintf(stderr, "jobrouter-sim: %v\n", err)
			return 1
		}
		scenarios[i] = sc
	}
	if opts.seedSet {
		for _, sc := range scenarios {
			sc.Seed = opts.seed
		}
	} else if compare {
		// Common random numbers: every scenario runs with the first one's seed.
		for _, sc := range scenarios[1:] {
			if sc.Seed != scenarios[0].Seed {
				fmt.Fprintf(stderr, "jobrouter-sim: note: running every scenario with seed %d (the first one's), for common random numbers\n", scenarios[0].Seed)
				break
			}
		}
		for _, sc := range scenarios[1:] {
			sc.Seed = scenarios[0].Seed
		}
	}
	reports, err := runAll(ctx, scenarios, files, opts, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "jobrouter-sim: %v\n", err)
		return 1
	}
	if err := write(stdout, files, reports, opts, compare); err != nil {
		fmt.Fprintf(stderr, "jobrouter-sim: %v\n", err)
		return 1
	}
	return 0
}

// parseArgs parses flags wherever they stand among the file names.
func parseArgs(args []string, stderr io.Writer) (options, []string, error) {
	var o options
	fs := flag.NewFlagSet("jobrouter-sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Func("seed", "", func(s string) error {
		_, err := fmt.Sscan(s, &o.seed)
		o.seedSet = true
		return err
	})
	fs.BoolVar(&o.json, "json", false, "")
	fs.StringVar(&o.csvDir, "csv", "", "")
	fs.StringVar(&o.chart, "chart", "", "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stderr, usage)
			}
			return o, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return o, files, nil
}

// runAll runs the scenarios, two at a time (each run is one goroutine and the
// Router's subscription feeder), and returns the reports in order.
func runAll(ctx context.Context, scenarios []*sim.Scenario, files []string, opts options, stderr io.Writer) ([]*sim.Report, error) {
	totals := make([]time.Duration, len(scenarios))
	for i, sc := range scenarios {
		drain := sc.Drain
		switch {
		case drain == 0:
			drain = sim.DefaultDrain
		case drain < 0:
			drain = 0
		}
		totals[i] = sc.Duration + drain
	}
	bar := newProgress(opts.progress, stderr, totals)
	defer bar.finish()
	reports := make([]*sim.Report, len(scenarios))
	errs := make([]error, len(scenarios))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, sc := range scenarios {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			reports[i], errs[i] = sim.Run(ctx, sc, &sim.RunOptions{Progress: bar.callback(i)})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", files[i], errs[i])
			}
		})
	}
	wg.Wait()
	return reports, errors.Join(errs...)
}

func write(stdout io.Writer, files []string, reports []*sim.Report, opts options, compare bool) error {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
	}
	if opts.csvDir != "" {
		for i, rep := range reports {
			dir := opts.csvDir
			if compare {
				dir = filepath.Join(dir, names[i])
			}
			if err := rep.WriteCSV(dir); err != nil {
				return err
			}
		}
	}
	if opts.chart != "" {
		if err := writeChart(opts.chart, names, reports); err != nil {
			return err
		}
	}
	switch {
	case opts.json && compare:
		type named struct {
			Name   string      `json:"name"`
			Report *sim.Report `json:"report"`
		}
		out := make([]named, len(reports))
		for i := range reports {
			out[i] = named{names[i], reports[i]}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case opts.json:
		return reports[0].WriteJSON(stdout)
	case compare:
		return sim.WriteComparison(stdout, names, reports)
	}
	return reports[0].WriteTable(stdout)
}
