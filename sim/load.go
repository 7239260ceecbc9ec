package sim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/openjobrouter/jobrouter"
)

// Load reads the scenario file at path (YAML; see the package documentation for its
// shape) and validates it. Files the scenario names (CSV traces and empirical
// distributions) are read relative to the scenario file's directory. An error about
// the content is a *FieldError naming the file, the line and the field.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Parse reads a scenario from YAML data, as Load does. name is used in errors and
// to resolve the files the scenario names (relative to name's directory); it may
// be empty, and then relative files are read from the working directory.
func Parse(data []byte, name string) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &FieldError{File: name, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: "), Err: err}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &FieldError{File: name, Msg: "the file is empty"}
	}
	d := &decoder{lines: map[string]int{}}
	var f fileScenario
	withFile := func(err error) error {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.File = name
			if fe.Line == 0 {
				fe.Line = d.lineOf(fe.Path)
			}
		}
		return err
	}
	if err := d.decode(root.Content[0], reflectValue(&f), ""); err != nil {
		return nil, withFile(err)
	}
	dir := "."
	if name != "" {
		dir = filepath.Dir(name)
	}
	sc, err := f.scenario(dir)
	if err != nil {
		return nil, withFile(err)
	}
	if err := sc.Validate(); err != nil {
		return nil, withFile(err)
	}
	return sc, nil
}

// lineOf returns the line of path, or of its nearest ancestor that has one.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// The file structs mirror Scenario in YAML's spelling (lowerCamelCase, the Go
// field names); the library's polymorphic types become mappings with a kind.

type fileScenario struct {
	Name                   string                     `yaml:"name"`
	Seed                   uint64                     `yaml:"seed"`
	Start                  *yamlStart                 `yaml:"start"`
	Duration               yamlDuration               `yaml:"duration"`
	WarmUp                 yamlDuration               `yaml:"warmUp"`
	Drain                  *yamlDuration              `yaml:"drain"`
	Interval               yamlDuration               `yaml:"interval"`
	ServiceLevel           fileServiceLevel           `yaml:"serviceLevel"`
	Router                 fileRouter                 `yaml:"router"`
	DistributionPolicies   []fileDistributionPolicy   `yaml:"distributionPolicies"`
	ClassificationPolicies []fileClassificationPolicy `yaml:"classificationPolicies"`
	ExceptionPolicies      []fileExceptionPolicy      `yaml:"exceptionPolicies"`
	Queues                 []fileQueue                `yaml:"queues"`
	WorkerGroups           []fileWorkerGroup          `yaml:"workerGroups"`
	Arrivals               []fileArrival              `yaml:"arrivals"`
}

type fileServiceLevel struct {
	Threshold yamlDuration            `yaml:"threshold"`
	Queues    map[string]yamlDuration `yaml:"queues"`
}

type fileRouter struct {
	KeepWorkersOnOfferExpiry bool         `yaml:"keepWorkersOnOfferExpiry"`
	MaxJobAge                yamlDuration `yaml:"maxJobAge"`
}

type fileQueue struct {
	ID                   string         `yaml:"id"`
	Name                 string         `yaml:"name"`
	DistributionPolicyID string         `yaml:"distributionPolicyId"`
	ExceptionPolicyID    string         `yaml:"exceptionPolicyId"`
	Labels               map[string]any `yaml:"labels"`
}

type fileWorkerGroup struct {
	Name                string         `yaml:"name"`
	Count               int            `yaml:"count"`
	Queues              []string       `yaml:"queues"`
	Capacity            int            `yaml:"capacity"`
	Channels            []fileChannel  `yaml:"channels"`
	Labels              map[string]any `yaml:"labels"`
	MaxConcurrentOffers int            `yaml:"maxConcurrentOffers"`
	Shift               fileShift      `yaml:"shift"`
	Behaviour           fileBehaviour  `yaml:"behaviour"`
	HandleTimeFactor    float64        `yaml:"handleTimeFactor"`
}

type fileChannel struct {
	ChannelID          string `yaml:"channelId"`
	CapacityCostPerJob int    `yaml:"capacityCostPerJob"`
	MaxNumberOfJobs    int    `yaml:"maxNumberOfJobs"`
}

type fileShift struct {
	Start yamlTimeOfDay `yaml:"start"`
	End   yamlTimeOfDay `yaml:"end"`
}

type fileBehaviour struct {
	AcceptTime         *fileDist    `yaml:"acceptTime"`
	DeclineProbability float64      `yaml:"declineProbability"`
	RetryDelay         yamlDuration `yaml:"retryDelay"`
	ExpireProbability  float64      `yaml:"expireProbability"`
	ReregisterAfter    yamlDuration `yaml:"reregisterAfter"`
}

type fileArrival struct {
	Name                     string         `yaml:"name"`
	QueueID                  string         `yaml:"queueId"`
	ChannelID                string         `yaml:"channelId"`
	ClassificationPolicyID   string         `yaml:"classificationPolicyId"`
	Priority                 int            `yaml:"priority"`
	Labels                   map[string]any `yaml:"labels"`
	RequestedWorkerSelectors []fileSelector `yaml:"requestedWorkerSelectors"`
	Process                  *fileProcess   `yaml:"process"`
	HandleTime               *fileDist      `yaml:"handleTime"`
	WrapUp                   *fileDist      `yaml:"wrapUp"`
	Patience                 *fileDist      `yaml:"patience"`
}

// fileProcess is an ArrivalProcess: kind poisson (perHour), piecewise (rates) or
// trace (file). The kind may be left out when the fields say it.
type fileProcess struct {
	Set     keySet
	Kind    string     `yaml:"kind"`
	PerHour float64    `yaml:"perHour"`
	Rates   []fileRate `yaml:"rates"`
	File    string     `yaml:"file"`
}

type fileRate struct {
	From    yamlTimeOfDay `yaml:"from"`
	PerHour float64       `yaml:"perHour"`
}

// fileDist is a Distribution: dist exponential (mean), lognormal and gamma (mean,
// stddev), uniform (min, max), fixed (value) or empirical (file, column,
// weightColumn). A plain duration is shorthand for a fixed one.
type fileDist struct {
	Set          keySet
	Dist         string       `yaml:"dist"`
	Mean         yamlDuration `yaml:"mean"`
	StdDev       yamlDuration `yaml:"stddev"`
	Min          yamlDuration `yaml:"min"`
	Max          yamlDuration `yaml:"max"`
	Value        yamlDuration `yaml:"value"`
	File         string       `yaml:"file"`
	Column       string       `yaml:"column"`
	WeightColumn string       `yaml:"weightColumn"`
	fixed        bool         // written as a plain duration
}

func (f *fileDist) decodeNode(d *decoder, n *yaml.Node, path string) error {
	if n.Kind == yaml.ScalarNode {
		v, err := parseDuration(n)
		if err != nil {
			return d.errf(n, path, `want a distribution such as {dist: exponential, mean: 3m} or a fixed duration: %v`, err)
		}
		f.Value, f.fixed, f.Dist = yamlDuration(v), true, "fixed"
		return nil
	}
	type plain fileDist // without the method: no recursion
	var p plain
	if err := d.decodeStruct(n, reflectValue(&p), path); err != nil {
		return err
	}
	*f = fileDist(p)
	return nil
}

// yamlStart is the scenario's start: an RFC 3339 timestamp, "2006-01-02 15:04"
// (UTC), or a time of day on DefaultStart's day.
type yamlStart struct{ t time.Time }

func (s *yamlStart) decodeNode(d *decoder, n *yaml.Node, path string) error {
	if n.Kind == yaml.ScalarNode {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, n.Value); err == nil {
				s.t = t
				return nil
			}
		}
		if tod, err := parseTimeOfDay(n); err == nil {
			s.t = DefaultStart.Add(tod)
			return nil
		}
	}
	return d.errf(n, path, `want a time of day such as "08:00" or a timestamp such as "2025-03-03T08:00:00Z", got %s`, describe(n))
}

// only refuses the keys of s other than allowed (and the kind's own key).
func (s keySet) only(path, kindKey, kind string, allowed ...string) error {
	for _, k := range sortedKeys(s) {
		if k != kindKey && !slices.Contains(allowed, k) {
			return &FieldError{Line: s[k], Path: join(path, k), Msg: fmt.Sprintf("does not apply to %s %q", kindKey, kind)}
		}
	}
	return nil
}

// infer returns kind, or when it is empty the one kind whose distinctive key is
// present.
func (s keySet) infer(path, kindKey, kind string, byKey map[string]string) (string, error) {
	if kind != "" {
		return kind, nil
	}
	found := ""
	for _, k := range sortedKeys(byKey) {
		if _, ok := s[k]; ok {
			if found != "" {
				return "", fieldErr(join(path, kindKey), "is required (both %s and %s are given)", found, k)
			}
			found = k
		}
	}
	if found == "" {
		kinds := slices.Sorted(func(yield func(string) bool) {
			for _, v := range byKey {
				if !yield(v) {
					return
				}
			}
		})
		return "", fieldErr(join(path, kindKey), "is required: one of %s", strings.Join(slices.Compact(kinds), ", "))
	}
	return byKey[found], nil
}

func (f *fileScenario) scenario(dir string) (*Scenario, error) {
	sc := &Scenario{
		Name: f.Name, Seed: f.Seed,
		Duration: time.Duration(f.Duration), WarmUp: time.Duration(f.WarmUp),
		Interval:     time.Duration(f.Interval),
		ServiceLevel: ServiceLevel{Threshold: time.Duration(f.ServiceLevel.Threshold)},
		Router: RouterOptions{KeepWorkersOnOfferExpiry: f.Router.KeepWorkersOnOfferExpiry,
			MaxJobAge: time.Duration(f.Router.MaxJobAge)},
	}
	if f.Start != nil {
		sc.Start = f.Start.t
	}
	if f.Drain != nil {
		sc.Drain = time.Duration(*f.Drain)
		if sc.Drain == 0 {
			sc.Drain = -1 // an explicit 0: no drain
		}
	}
	if len(f.ServiceLevel.Queues) > 0 {
		sc.ServiceLevel.Queues = map[string]time.Duration{}
		for k, v := range f.ServiceLevel.Queues {
			sc.ServiceLevel.Queues[k] = time.Duration(v)
		}
	}
	for i, p := range f.DistributionPolicies {
		dp, err := p.policy(fmt.Sprintf("distributionPolicies[%d]", i))
		if err != nil {
			return nil, err
		}
		sc.DistributionPolicies = append(sc.DistributionPolicies, dp)
	}
	for i, p := range f.ClassificationPolicies {
		cp, err := p.policy(fmt.Sprintf("classificationPolicies[%d]", i))
		if err != nil {
			return nil, err
		}
		sc.ClassificationPolicies = append(sc.ClassificationPolicies, cp)
	}
	for i, p := range f.ExceptionPolicies {
		ep, err := p.policy(fmt.Sprintf("exceptionPolicies[%d]", i))
		if err != nil {
			return nil, err
		}
		sc.ExceptionPolicies = append(sc.ExceptionPolicies, ep)
	}
	for _, q := range f.Queues {
		sc.Queues = append(sc.Queues, jobrouter.Queue{ID: q.ID, Name: q.Name, DistributionPolicyID: q.DistributionPolicyID,
			ExceptionPolicyID: q.ExceptionPolicyID, Labels: jobrouter.Labels(q.Labels)})
	}
	for i, g := range f.WorkerGroups {
		path := fmt.Sprintf("workerGroups[%d]", i)
		wg := WorkerGroup{Name: g.Name, Count: g.Count, Queues: g.Queues, Capacity: g.Capacity,
			Labels: jobrouter.Labels(g.Labels), MaxConcurrentOffers: g.MaxConcurrentOffers,
			Shift:            Shift{Start: time.Duration(g.Shift.Start), End: time.Duration(g.Shift.End)},
			HandleTimeFactor: g.HandleTimeFactor,
			Behaviour: Behaviour{DeclineProbability: g.Behaviour.DeclineProbability,
				RetryDelay:        time.Duration(g.Behaviour.RetryDelay),
				ExpireProbability: g.Behaviour.ExpireProbability,
				ReregisterAfter:   time.Duration(g.Behaviour.ReregisterAfter)},
		}
		if g.Count == 0 {
			return nil, fieldErr(path+".count", "is required")
		}
		for _, c := range g.Channels {
			wg.Channels = append(wg.Channels, jobrouter.ChannelConfig(c))
		}
		var err error
		if wg.Behaviour.AcceptTime, err = g.Behaviour.AcceptTime.distribution(path+".behaviour.acceptTime", dir); err != nil {
			return nil, err
		}
		sc.WorkerGroups = append(sc.WorkerGroups, wg)
	}
	for i, a := range f.Arrivals {
		st, err := a.stream(fmt.Sprintf("arrivals[%d]", i), dir, sc)
		if err != nil {
			return nil, err
		}
		sc.Arrivals = append(sc.Arrivals, st)
	}
	return sc, nil
}

func (a *fileArrival) stream(path, dir string, sc *Scenario) (ArrivalStream, error) {
	st := ArrivalStream{Name: a.Name, QueueID: a.QueueID, ChannelID: a.ChannelID,
		ClassificationPolicyID: a.ClassificationPolicyID, Priority: a.Priority, Labels: jobrouter.Labels(a.Labels)}
	for i, s := range a.RequestedWorkerSelectors {
		ws, err := s.selector(fmt.Sprintf("%s.requestedWorkerSelectors[%d]", path, i))
		if err != nil {
			return st, err
		}
		st.RequestedWorkerSelectors = append(st.RequestedWorkerSelectors, ws)
	}
	if a.Process == nil {
		return st, fieldErr(path+".process", "is required")
	}
	var err error
	if st.Process, err = a.Process.process(path+".process", dir, sc); err != nil {
		return st, err
	}
	if a.HandleTime == nil {
		return st, fieldErr(path+".handleTime", "is required")
	}
	if st.HandleTime, err = a.HandleTime.distribution(path+".handleTime", dir); err != nil {
		return st, err
	}
	if st.WrapUp, err = a.WrapUp.distribution(path+".wrapUp", dir); err != nil {
		return st, err
	}
	st.Patience, err = a.Patience.distribution(path+".patience", dir)
	return st, err
}

func (p *fileProcess) process(path, dir string, sc *Scenario) (ArrivalProcess, error) {
	kind, err := p.Set.infer(path, "kind", p.Kind, map[string]string{"perHour": "poisson", "rates": "piecewise", "file": "trace"})
	if err != nil {
		return nil, err
	}
	switch kind {
	case "poisson":
		if err := p.Set.only(path, "kind", kind, "perHour"); err != nil {
			return nil, err
		}
		return Poisson{PerHour: p.PerHour}, nil
	case "piecewise":
		if err := p.Set.only(path, "kind", kind, "rates"); err != nil {
			return nil, err
		}
		var pp PiecewisePoisson
		for _, r := range p.Rates {
			pp.Rates = append(pp.Rates, RateStep{From: time.Duration(r.From), PerHour: r.PerHour})
		}
		return pp, nil
	case "trace":
		if err := p.Set.only(path, "kind", kind, "file"); err != nil {
			return nil, err
		}
		if p.File == "" {
			return nil, fieldErr(path+".file", "is required")
		}
		start := sc.Start
		if start.IsZero() {
			start = DefaultStart
		}
		tr, err := readTrace(resolvePath(dir, p.File), start)
		if err != nil {
			return nil, fieldErr(path+".file", "%v", err)
		}
		return tr, nil
	}
	return nil, fieldErr(path+".kind", "unknown kind %q (poisson, piecewise or trace)", kind)
}

func (f *fileDist) distribution(path, dir string) (Distribution, error) {
	if f == nil {
		return nil, nil
	}
	if f.fixed {
		return Fixed{Value: time.Duration(f.Value)}, nil
	}
	if f.Dist == "" {
		return nil, fieldErr(path+".dist", "is required: exponential, lognormal, gamma, uniform, fixed or empirical")
	}
	mean, sd := time.Duration(f.Mean), time.Duration(f.StdDev)
	switch f.Dist {
	case "exponential":
		return Exponential{Mean: mean}, f.Set.only(path, "dist", f.Dist, "mean")
	case "lognormal":
		return LogNormal{Mean: mean, StdDev: sd}, f.Set.only(path, "dist", f.Dist, "mean", "stddev")
	case "gamma":
		return Gamma{Mean: mean, StdDev: sd}, f.Set.only(path, "dist", f.Dist, "mean", "stddev")
	case "uniform":
		return Uniform{Min: time.Duration(f.Min), Max: time.Duration(f.Max)}, f.Set.only(path, "dist", f.Dist, "min", "max")
	case "fixed":
		return Fixed{Value: time.Duration(f.Value)}, f.Set.only(path, "dist", f.Dist, "value")
	case "empirical":
		if err := f.Set.only(path, "dist", f.Dist, "file", "column", "weightColumn"); err != nil {
			return nil, err
		}
		if f.File == "" {
			return nil, fieldErr(path+".file", "is required")
		}
		e, err := readEmpirical(resolvePath(dir, f.File), f.Column, f.WeightColumn)
		if err != nil {
			return nil, fieldErr(path+".file", "%v", err)
		}
		return e, nil
	}
	return nil, fieldErr(path+".dist", "unknown distribution %q (exponential, lognormal, gamma, uniform, fixed or empirical)", f.Dist)
}

func resolvePath(dir, file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(dir, file)
}
