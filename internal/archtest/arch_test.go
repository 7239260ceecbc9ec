package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The rules of DESIGN.md that the compiler does not enforce:
//
//	(a) the core (internal/engine and the packages under it) imports neither the shell
//	    (the root package), nor the clock library, nor "sync" / "sync/atomic";
//	(b) the core never reads the real clock, never starts a real timer and never starts
//	    a goroutine;
//	(c) only the shell's clock handling (router.go, options.go) imports the clock library
//	    (commands, such as the examples, are users of the library and may pass it a
//	    mock clock);
//	(d) in the root package only router.go reads the real clock; subscription.go may use
//	    time.NewTimer for its real-time close timeout, and nothing else;
//	(e) the simulator (sim and the packages under it, and its command cmd/jobrouter-sim)
//	    drives the Router through the public API only: it imports none of the module's
//	    internal packages; and sim runs on the Router's manual time alone, so it never
//	    reads the real clock, sleeps or starts a real timer (the command may: its
//	    progress bar runs on wall time).
//
// The checks read syntax only (go/parser), so they run even while a package does not
// compile. Test files are exempt.

const clockPath = "github.com/benbjohnson/clock"

// coreDirs are the core packages, relative to the module root. Their subdirectories
// are core too.
var coreDirs = []string{"internal/engine", "internal/match", "internal/deadline", "internal/labels"}

// coreTimeFuncs are the time package functions that read the real clock, sleep or
// start a real timer: none of them has a place in a pure state machine.
var coreTimeFuncs = []string{
	"Now", "Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick", "Since", "Until",
}

// simDirs are the simulator's packages, relative to the module root (rule (e)); the
// first also covers its subdirectories and runs on manual time only.
var simDirs = []string{"sim", "cmd/jobrouter-sim"}

// rootTimeFuncs are the time package functions the root package leaves to router.go,
// which owns the clock.
var rootTimeFuncs = []string{"Now", "Sleep", "After", "NewTimer"}

// rule is one layering rule as it applies to one file.
type rule struct {
	id             string          // the rule's letter in the list above
	imports        map[string]bool // import paths the file may not import
	importPrefixes []string        // import paths the file may not import, with everything below them
	timeFuncs      map[string]bool // time package functions the file may not refer to
	noGo           bool            // the file may not contain a go statement
}

// violation is one breach of a rule.
type violation struct {
	pos  token.Position
	rule string
	msg  string
}

func (v violation) String() string { return fmt.Sprintf("%s: rule (%s): %s", v.pos, v.rule, v.msg) }

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// inCore reports whether dir (slash-separated, relative to the module root) is a core
// package or below one.
func inCore(dir string) bool {
	for _, c := range coreDirs {
		if dir == c || strings.HasPrefix(dir, c+"/") {
			return true
		}
	}
	return false
}

// rulesFor returns the rules that apply to the non-test Go file rel (slash-separated,
// relative to the module root) of package pkg in the module modulePath.
func rulesFor(rel, pkg, modulePath string) []rule {
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	var rs []rule
	if inCore(dir) {
		rs = append(rs,
			rule{id: "a", imports: setOf(modulePath, clockPath, "sync", "sync/atomic")},
			rule{id: "b", timeFuncs: setOf(coreTimeFuncs...), noGo: true},
		)
	}
	if pkg != "main" && (dir != "" || (base != "router.go" && base != "options.go")) {
		rs = append(rs, rule{id: "c", imports: setOf(clockPath)})
	}
	switch {
	case dir == simDirs[0] || strings.HasPrefix(dir, simDirs[0]+"/"):
		rs = append(rs, rule{id: "e", importPrefixes: []string{modulePath + "/internal"}, timeFuncs: setOf(coreTimeFuncs...)})
	case dir == simDirs[1] || strings.HasPrefix(dir, simDirs[1]+"/"):
		rs = append(rs, rule{id: "e", importPrefixes: []string{modulePath + "/internal"}})
	}
	if dir == "" {
		switch base {
		case "router.go":
		case "subscription.go":
			banned := setOf(rootTimeFuncs...)
			delete(banned, "NewTimer")
			rs = append(rs, rule{id: "d", timeFuncs: banned})
		default:
			rs = append(rs, rule{id: "d", timeFuncs: setOf(rootTimeFuncs...)})
		}
	}
	return rs
}

// check returns every breach of rules in f.
func check(fset *token.FileSet, f *ast.File, rules []rule) []violation {
	var out []violation
	report := func(p token.Pos, r rule, format string, args ...any) {
		out = append(out, violation{pos: fset.Position(p), rule: r.id, msg: fmt.Sprintf(format, args...)})
	}

	// The names under which this file refers to package time.
	timeNames := map[string]bool{}
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue // the parser has already rejected it
		}
		for _, r := range rules {
			if r.imports[p] {
				report(spec.Pos(), r, "imports %q", p)
			}
			for _, pre := range r.importPrefixes {
				if p == pre || strings.HasPrefix(p, pre+"/") {
					report(spec.Pos(), r, "imports %q", p)
				}
			}
		}
		if p != "time" {
			continue
		}
		name := "time"
		if spec.Name != nil {
			name = spec.Name.Name
		}
		switch name {
		case "_":
		case ".":
			for _, r := range rules {
				if len(r.timeFuncs) > 0 {
					report(spec.Pos(), r, `dot import of "time" hides which of its functions are used`)
				}
			}
		default:
			timeNames[name] = true
		}
	}

	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			for _, r := range rules {
				if r.noGo {
					report(n.Pos(), r, "go statement")
				}
			}
		case *ast.SelectorExpr:
			// A reference, called or not: `now := time.Now` is as bad as `time.Now()`.
			// Without type information a local variable that shadows the import
			// would also be reported; the core has no reason to write one.
			x, ok := n.X.(*ast.Ident)
			if !ok || !timeNames[x.Name] {
				break
			}
			for _, r := range rules {
				if r.timeFuncs[n.Sel.Name] {
					report(n.Pos(), r, "uses time.%s", n.Sel.Name)
				}
			}
		}
		return true
	})
	return out
}

// checkedFile reports whether the file named name is subject to the rules.
func checkedFile(name string) bool {
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
}

// moduleRoot walks up from the working directory to the directory holding go.mod and
// returns it with the module path.
func moduleRoot(t *testing.T) (dir, modulePath string) {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module")
				if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
					continue
				}
				modulePath = strings.TrimSpace(rest)
				if i := strings.Index(modulePath, "//"); i >= 0 {
					modulePath = strings.TrimSpace(modulePath[:i])
				}
				if uq, err := strconv.Unquote(modulePath); err == nil {
					modulePath = uq
				}
				require.NotEmpty(t, modulePath, "no module path in %s", filepath.Join(dir, "go.mod"))
				return dir, modulePath
			}
			t.Fatalf("no module directive in %s", filepath.Join(dir, "go.mod"))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// checkModule parses every non-test Go file of the module rooted at root and returns
// the breaches, and the number of files checked per directory.
func checkModule(t *testing.T, root, modulePath string) ([]violation, map[string]int) {
	t.Helper()
	fset := token.NewFileSet()
	var out []violation
	checked := map[string]int{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == root {
				return nil
			}
			name := d.Name()
			// What the go command ignores, and nested modules (not ours to judge).
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !checkedFile(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("cannot check %s: %v", rel, err)
			return nil
		}
		out = append(out, check(fset, f, rulesFor(rel, f.Name.Name, modulePath))...)
		checked[path.Dir(rel)]++
		return nil
	})
	require.NoError(t, err)
	return out, checked
}

func TestLayering(t *testing.T) {
	root, modulePath := moduleRoot(t)
	require.Equal(t, "github.com/openjobrouter/jobrouter", modulePath)

	violations, checked := checkModule(t, root, modulePath)

	// An empty walk would pass every rule: make sure the files that matter were read.
	for _, dir := range append(append([]string{"."}, coreDirs...), simDirs...) {
		require.Positive(t, checked[dir], "no Go file checked in %s", dir)
	}
	for _, v := range violations {
		t.Errorf("%s", v)
	}
}

// TestCheckerCatchesViolations feeds the checker small sources that break each rule
// (and some that break none), so that TestLayering cannot pass by checking nothing.
func TestCheckerCatchesViolations(t *testing.T) {
	const mod = "github.com/openjobrouter/jobrouter"
	type want struct {
		rule string
		msg  string // substring of the message
	}
	tests := []struct {
		name string
		rel  string
		src  string
		want []want // nil: no violation
	}{
		// (a) core imports.
		{
			name: "core imports sync",
			rel:  "internal/engine/bad.go",
			src:  "package engine\nimport \"sync\"\nvar mu sync.Mutex\n",
			want: []want{{"a", `"sync"`}},
		},
		{
			name: "core imports sync/atomic under an alias",
			rel:  "internal/match/bad.go",
			src:  "package match\nimport at \"sync/atomic\"\nvar n at.Int64\n",
			want: []want{{"a", `"sync/atomic"`}},
		},
		{
			name: "core imports the root package",
			rel:  "internal/labels/bad.go",
			src:  "package labels\nimport jr \"" + mod + "\"\nvar _ = jr.New\n",
			want: []want{{"a", `"` + mod + `"`}},
		},
		{
			name: "core imports the clock library",
			rel:  "internal/deadline/bad.go",
			src:  "package deadline\nimport \"" + clockPath + "\"\nvar c clock.Clock\n",
			want: []want{{"a", clockPath}, {"c", clockPath}},
		},
		{
			name: "core subpackage imports sync",
			rel:  "internal/engine/sub/bad.go",
			src:  "package sub\nimport \"sync\"\nvar mu sync.Mutex\n",
			want: []want{{"a", `"sync"`}},
		},
		{
			name: "core imports a shell subpackage: allowed",
			rel:  "internal/engine/ok.go",
			src:  "package engine\nimport \"" + mod + "/internal/labels\"\nvar _ = labels.Equal\n",
		},

		// (b) core clock reads and goroutines.
		{
			name: "core calls time.Now",
			rel:  "internal/engine/bad.go",
			src:  "package engine\nimport \"time\"\nfunc f() time.Time { return time.Now() }\n",
			want: []want{{"b", "time.Now"}},
		},
		{
			name: "core calls time.Sleep through an alias",
			rel:  "internal/deadline/bad.go",
			src:  "package deadline\nimport tm \"time\"\nfunc f() { tm.Sleep(tm.Second) }\n",
			want: []want{{"b", "time.Sleep"}},
		},
		{
			name: "core takes time.Now as a value",
			rel:  "internal/match/bad.go",
			src:  "package match\nimport \"time\"\nvar now = time.Now\n",
			want: []want{{"b", "time.Now"}},
		},
		{
			name: "core dot-imports time",
			rel:  "internal/labels/bad.go",
			src:  "package labels\nimport . \"time\"\nfunc f() Time { return Now() }\n",
			want: []want{{"b", "dot import"}},
		},
		{
			name: "core has a go statement",
			rel:  "internal/engine/bad.go",
			src:  "package engine\nfunc f() { go func() {}() }\n",
			want: []want{{"b", "go statement"}},
		},
		{
			name: "core uses time values only: allowed",
			rel:  "internal/engine/ok.go",
			src: "package engine\nimport \"time\"\n" +
				"type c struct{ Now func() time.Time }\n" +
				"func f(v c, d time.Duration) time.Time { return v.Now().Add(d).Truncate(time.Second) }\n",
		},
		{
			name: "core: another package imported as time is not package time",
			rel:  "internal/engine/ok.go",
			src:  "package engine\nimport time \"example.com/faketime\"\nfunc f() { time.Now(); time.Sleep(1) }\n",
		},
		{
			name: "not core: internal/engineering may read the clock",
			rel:  "internal/engineering/ok.go",
			src:  "package engineering\nimport (\"sync\"; \"time\")\nvar mu sync.Mutex\nfunc f() { go time.Sleep(time.Now().Sub(time.Now())) }\n",
		},

		// (c) clock imports outside router.go and options.go.
		{
			name: "root file imports the clock library",
			rel:  "job.go",
			src:  "package jobrouter\nimport clk \"" + clockPath + "\"\nvar c clk.Clock\n",
			want: []want{{"c", clockPath}},
		},
		{
			name: "library subpackage imports the clock library",
			rel:  "routertest/clock.go",
			src:  "package routertest\nimport \"" + clockPath + "\"\nvar c clock.Clock\n",
			want: []want{{"c", clockPath}},
		},
		{
			name: "non-main package under examples imports the clock library",
			rel:  "examples/shared/helper.go",
			src:  "package shared\nimport \"" + clockPath + "\"\nvar c clock.Clock\n",
			want: []want{{"c", clockPath}},
		},
		{
			name: "router.go in a subdirectory is not the shell",
			rel:  "internal/shell/router.go",
			src:  "package shell\nimport \"" + clockPath + "\"\nvar c clock.Clock\n",
			want: []want{{"c", clockPath}},
		},
		{
			name: "command imports the clock library: allowed",
			rel:  "examples/quickstart/main.go",
			src:  "package main\nimport \"" + clockPath + "\"\nfunc main() { _ = clock.NewMock() }\n",
		},
		{
			name: "options.go imports the clock library: allowed",
			rel:  "options.go",
			src:  "package jobrouter\nimport \"" + clockPath + "\"\ntype Options struct{ Clock clock.Clock }\n",
		},

		// (d) real-clock use in the root package.
		{
			name: "root file calls time.Now",
			rel:  "job.go",
			src:  "package jobrouter\nimport \"time\"\nfunc f() time.Time { return time.Now() }\n",
			want: []want{{"d", "time.Now"}},
		},
		{
			name: "root file calls time.After through an alias",
			rel:  "events.go",
			src:  "package jobrouter\nimport t \"time\"\nfunc f() { <-t.After(t.Second) }\n",
			want: []want{{"d", "time.After"}},
		},
		{
			name: "root file calls time.NewTimer",
			rel:  "offer.go",
			src:  "package jobrouter\nimport \"time\"\nvar tm = time.NewTimer(time.Second)\n",
			want: []want{{"d", "time.NewTimer"}},
		},
		{
			name: "options.go calls time.Sleep",
			rel:  "options.go",
			src:  "package jobrouter\nimport \"time\"\nfunc f() { time.Sleep(1) }\n",
			want: []want{{"d", "time.Sleep"}},
		},
		{
			name: "subscription.go calls time.Now",
			rel:  "subscription.go",
			src:  "package jobrouter\nimport \"time\"\nfunc f() time.Time { return time.Now() }\n",
			want: []want{{"d", "time.Now"}},
		},
		{
			name: "subscription.go dot-imports time",
			rel:  "subscription.go",
			src:  "package jobrouter\nimport . \"time\"\nvar d = Second\n",
			want: []want{{"d", "dot import"}},
		},
		{
			name: "subscription.go uses time.NewTimer: allowed",
			rel:  "subscription.go",
			src:  "package jobrouter\nimport \"time\"\nfunc f(d time.Duration) { t := time.NewTimer(d); defer t.Stop(); <-t.C }\n",
		},
		// (e) the simulator.
		{
			name: "simulator imports the engine",
			rel:  "sim/bad.go",
			src:  "package sim\nimport \"" + mod + "/internal/engine\"\nvar _ engine.Engine\n",
			want: []want{{"e", "/internal/engine"}},
		},
		{
			name: "simulator subpackage imports an internal package",
			rel:  "sim/report/bad.go",
			src:  "package report\nimport \"" + mod + "/internal\"\n",
			want: []want{{"e", mod + "/internal"}},
		},
		{
			name: "simulator reads the real clock",
			rel:  "sim/bad.go",
			src:  "package sim\nimport \"time\"\nfunc f() time.Duration { return time.Since(time.Now()) }\n",
			want: []want{{"e", "time.Since"}, {"e", "time.Now"}},
		},
		{
			name: "simulator sleeps",
			rel:  "sim/bad.go",
			src:  "package sim\nimport \"time\"\nfunc f() { time.Sleep(time.Millisecond) }\n",
			want: []want{{"e", "time.Sleep"}},
		},
		{
			name: "simulator uses the public API and time values: allowed",
			rel:  "sim/ok.go",
			src: "package sim\nimport (\"time\"; \"" + mod + "\")\n" +
				"func f(r *jobrouter.Router, t time.Time) error { return r.AdvanceTo(t.Add(time.Second)) }\n",
		},
		{
			name: "simulator command imports an internal package",
			rel:  "cmd/jobrouter-sim/bad.go",
			src:  "package main\nimport \"" + mod + "/internal/naive\"\nvar _ = naive.New\n",
			want: []want{{"e", "/internal/naive"}},
		},
		{
			name: "simulator command uses wall time for its progress bar: allowed",
			rel:  "cmd/jobrouter-sim/progress.go",
			src:  "package main\nimport \"time\"\nvar start = time.Now()\n",
		},
		{
			name: "a package named like the simulator elsewhere is not the simulator",
			rel:  "internal/simulation/ok.go",
			src:  "package simulation\nimport (\"time\"; \"" + mod + "/internal/engine\")\nvar _ = time.Now\nvar _ engine.Engine\n",
		},
		{
			name: "router.go reads the clock and imports the clock library: allowed",
			rel:  "router.go",
			src: "package jobrouter\nimport (\"time\"; \"" + clockPath + "\")\n" +
				"func f(c clock.Clock) { if c == nil { _ = time.Now() }; time.Sleep(0); <-time.After(0); go f(nil) }\n",
		},
	}
	// Every clock read of rule (b), one source each.
	for _, fn := range coreTimeFuncs {
		tests = append(tests, struct {
			name string
			rel  string
			src  string
			want []want
		}{
			name: "core uses time." + fn,
			rel:  "internal/engine/bad.go",
			src:  "package engine\nimport clk \"time\"\nvar _ = clk." + fn + "\n",
			want: []want{{"b", "time." + fn}},
		})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, tt.rel, tt.src, parser.SkipObjectResolution)
			require.NoError(t, err)
			got := check(fset, f, rulesFor(tt.rel, f.Name.Name, mod))
			require.Len(t, got, len(tt.want), "violations: %v", got)
			for _, w := range tt.want {
				require.True(t, slices.ContainsFunc(got, func(v violation) bool {
					return v.rule == w.rule && strings.Contains(v.msg, w.msg)
				}), "want rule (%s) %q among %v", w.rule, w.msg, got)
			}
			for _, v := range got {
				require.Equal(t, tt.rel, v.pos.Filename)
				require.Positive(t, v.pos.Line)
			}
		})
	}
}

func TestCheckedFile(t *testing.T) {
	require.True(t, checkedFile("router.go"))
	require.True(t, checkedFile("heap.go"))
	require.False(t, checkedFile("router_test.go"))
	require.False(t, checkedFile("README.md"))
	require.False(t, checkedFile("go.mod"))
}

// TestCheckModuleWalk runs the module walk over a temporary module laid out like ours,
// so that a walk that skips files (or checks the wrong ones) is noticed.
func TestCheckModuleWalk(t *testing.T) {
	const mod = "example.com/m"
	root := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
	}
	write("go.mod", "module "+mod+"\n")
	write("router.go", "package m\nimport (\"time\"; \""+clockPath+"\")\nvar _ = time.Now\nvar _ clock.Clock\n")
	write("job.go", "package m\nimport \"time\"\nvar _ = time.Now\n")                  // (d)
	write("job_test.go", "package m\nimport \"time\"\nvar _ = time.Now\n")             // test: exempt
	write("internal/engine/e.go", "package engine\nimport \""+mod+"\"\nvar _ = m.X\n") // (a)
	write("internal/engine/e_test.go", "package engine\nfunc f() { go f() }\n")        // test: exempt
	write("internal/match/m.go", "package match\nfunc f() { go f() }\n")               // (b)
	write("testdata/x.go", "package x\nimport \""+clockPath+"\"\n")                    // ignored dir
	write(".ci/x.go", "package x\nimport \""+clockPath+"\"\n")                         // ignored dir
	write("nested/go.mod", "module example.com/nested\n")
	write("nested/x.go", "package x\nimport \""+clockPath+"\"\n")              // other module
	write("examples/q/main.go", "package main\nimport \""+clockPath+"\"\n")    // command: allowed
	write("routertest/r.go", "package routertest\nimport \""+clockPath+"\"\n") // (c)

	t.Chdir(filepath.Join(root, "internal", "engine"))
	gotRoot, gotMod := moduleRoot(t)
	require.Equal(t, mod, gotMod)
	wantRoot, err := filepath.EvalSymlinks(root)
	require.NoError(t, err)
	gotRoot, err = filepath.EvalSymlinks(gotRoot)
	require.NoError(t, err)
	require.Equal(t, wantRoot, gotRoot)

	violations, checked := checkModule(t, root, mod)
	require.Equal(t, map[string]int{".": 2, "internal/engine": 1, "internal/match": 1, "examples/q": 1, "routertest": 1}, checked)
	var got []string
	for _, v := range violations {
		rel, err := filepath.Rel(root, v.pos.Filename)
		require.NoError(t, err)
		got = append(got, filepath.ToSlash(rel)+" "+v.rule)
	}
	slices.Sort(got)
	require.Equal(t, []string{
		"internal/engine/e.go a",
		"internal/match/m.go b",
		"job.go d",
		"routertest/r.go c",
	}, got)
}
