package simtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// maxFuzzOps bounds the operations one fuzz input runs: short inputs keep the fuzzer
// fast (a few hundred executions a second), and most failures need few operations.
const maxFuzzOps = 400

// FuzzOperations decodes arbitrary bytes into a world and a sequence of operations
// (Decode), runs them on the engine (and the naive oracle in a world without
// policies) and requires every invariant after every operation.
//
//	go test ./internal/simtest -run '^$' -fuzz '^FuzzOperations$' -fuzztime 5m -fuzzminimizetime 5s
//
// A crash is written to testdata/fuzz/FuzzOperations and replays with every later
// `go test`; the message carries the operations as a Replay call for a regression
// test.
func FuzzOperations(f *testing.F) {
	f.Add([]byte{})
	f.Add(Encode(World{}, []Op{{KindCreateJob, 1}, {KindAccept, 2}, {KindClose, 3}}, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, ops := Decode(data)
		if len(ops) > maxFuzzOps {
			ops = ops[:maxFuzzOps]
		}
		res := Replay(w, ops, Options{})
		if f := res.Failure; f != nil {
			short := Shrink(w, res.Ops, f.Invariant, shrinkFor(10_000))
			r := Replay(w, short, Options{Text: true})
			t.Fatalf("%v\n\nshrunk to %d operations:\n\tsimtest.Replay(simtest.World{%s}, []simtest.Op{%s}, simtest.Options{})\n\n%s",
				f, len(short), worldGo(w), FormatOps(short), lastLines(r.History, 120))
		}
	})
}

// shrinkFor returns a stop function that allows n replays.
func shrinkFor(n int) func() bool {
	return func() bool { n--; return n < 0 }
}

// TestDecodeAnyInput: every input decodes, the standard setup comes first unless
// bit 7 of the first byte is set, and Encode inverts Decode.
func TestDecodeAnyInput(t *testing.T) {
	w, ops := Decode(nil)
	require.Equal(t, standardSetup(), ops)
	require.Equal(t, World{}, w)
	in := []Op{{KindCreateJob, 7}, {KindMoveTime, 65535}, {KindReclassify, 3}}
	for _, world := range []World{{}, {Policies: true, KeepWorkersOnOfferExpiry: true, MaxJobAge: -1}} {
		w, ops = Decode(Encode(world, in, false))
		require.Equal(t, world, w)
		want := in
		if !world.Policies {
			want = []Op{in[0], in[1], {KindRead, 3}} // a policy-only kind reads in a world without policies
		}
		require.Equal(t, want, ops)
	}
	_, ops = Decode([]byte{0x80, 255, 1, 2, 9})
	require.Equal(t, []Op{{Kind(255 % int(numKinds)), 0x201}}, ops, "the kind wraps, the short tail is ignored")
}

// TestWriteFuzzCorpus regenerates the committed seed corpus of FuzzOperations from
// generated histories (SIMTEST_WRITE_CORPUS=1). The seeds run with every `go test`.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SIMTEST_WRITE_CORPUS") == "" {
		t.Skip("set SIMTEST_WRITE_CORPUS=1 to regenerate testdata/fuzz/FuzzOperations")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzOperations")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, seed := range []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11} {
		res := Run(seed, 160, Options{})
		require.Nil(t, res.Failure)
		data := Encode(res.World, res.Ops, false)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", seed)), []byte(body), 0o644))
	}
}
