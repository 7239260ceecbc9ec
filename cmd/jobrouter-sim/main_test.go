package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openjobrouter/jobrouter/sim"
)

// TestMain fails the tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	contactCentre = filepath.Join("..", "..", "examples", "sim", "contact-centre.yaml")
	escalation    = filepath.Join("..", "..", "examples", "sim", "escalation.yaml")
	strict        = filepath.Join("..", "..", "examples", "sim", "escalation-strict.yaml")
)

// runCmd runs the command in-process and returns its exit status and outputs.
func runCmd(t *testing.T, terminal bool, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr, terminal)
	return code, stdout.String(), stderr.String()
}

func TestTable(t *testing.T) {
	code, out, errOut := runCmd(t, false, escalation)
	require.Equal(t, 0, code, errOut)
	require.Empty(t, errOut)
	for _, s := range []string{"escalation (seed 11)", "QUEUE", "support", "overall", "STREAM", "spanish",
		"WORKER GROUP", "bilingual", `exception rule "waited-2m"`} {
		require.Contains(t, out, s)
	}
}

// TestOutputsAreReproducible runs the same scenario twice with every output: the
// same bytes each time.
func TestOutputsAreReproducible(t *testing.T) {
	outputs := func() (string, map[string][]byte) {
		dir := t.TempDir()
		chart := filepath.Join(dir, "day.svg")
		code, out, errOut := runCmd(t, false, escalation, "-csv", filepath.Join(dir, "csv"), "-chart", chart, "-json")
		require.Equal(t, 0, code, errOut)
		files := map[string][]byte{}
		for _, f := range []string{"day.svg", "csv/intervals.csv", "csv/groups.csv", "csv/kpis.csv"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			require.NoError(t, err)
			require.NotEmpty(t, b, f)
			files[f] = b
		}
		return out, files
	}
	out1, files1 := outputs()
	out2, files2 := outputs()
	require.Equal(t, out1, out2)
	require.Equal(t, files1, files2)

	var rep sim.Report
	require.NoError(t, json.Unmarshal([]byte(out1), &rep))
	require.Equal(t, "escalation", rep.Scenario)
	require.Positive(t, rep.Overall.Arrived)
	require.True(t, bytes.HasPrefix(files1["day.svg"], []byte("<?xml")) || bytes.Contains(files1["day.svg"][:200], []byte("<svg")))
	require.True(t, strings.HasPrefix(string(files1["csv/intervals.csv"]), "start,in_window,queue,"))
}

func TestSeedFlag(t *testing.T) {
	_, a, _ := runCmd(t, false, escalation, "-json")
	_, b, _ := runCmd(t, false, "-seed", "12", escalation, "-json")
	require.NotEqual(t, a, b)
	var rep sim.Report
	require.NoError(t, json.Unmarshal([]byte(b), &rep))
	require.Equal(t, uint64(12), rep.Seed)
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCmd(t, false, "compare", strict, escalation, "-chart", filepath.Join(dir, "c.svg"), "-csv", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "escalation-strict")
	require.Contains(t, out, "Δ escalation")
	require.Contains(t, out, "stream spanish")
	require.FileExists(t, filepath.Join(dir, "c.svg"))
	require.FileExists(t, filepath.Join(dir, "escalation-strict", "kpis.csv"))
	require.FileExists(t, filepath.Join(dir, "escalation", "kpis.csv"))

	// Different seeds: the first one's is used, and the command says so.
	code, _, errOut = runCmd(t, false, "compare", contactCentre, escalation, "-json")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "seed 7 (the first one's)")
}

func TestProgressBarOnlyOnATerminal(t *testing.T) {
	code, out, errOut := runCmd(t, true, escalation)
	require.Equal(t, 0, code)
	require.NotEmpty(t, errOut, "the bar is drawn on stderr")
	require.Contains(t, out, "QUEUE")
	_, _, errOut = runCmd(t, true, escalation, "-quiet")
	require.Empty(t, errOut)
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"-nope", escalation}, {"compare", escalation}, {escalation, strict}, {"-seed", "x", escalation}} {
		code, out, errOut := runCmd(t, false, args...)
		require.Equal(t, 2, code, "%v", args)
		require.Empty(t, out)
		require.Contains(t, errOut, "usage:")
	}
	code, _, errOut := runCmd(t, false, "-h")
	require.Equal(t, 0, code)
	require.Contains(t, errOut, "usage:")
}

func TestBadScenario(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: bad\nduration: 1h\nworkerGroups:\n  - name: a\n    count: lots\n"), 0o644))
	code, out, errOut := runCmd(t, false, bad)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "bad.yaml:5: workerGroups[0].count: want an integer")

	code, _, errOut = runCmd(t, false, filepath.Join(t.TempDir(), "missing.yaml"))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "missing.yaml")
}
