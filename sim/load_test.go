package sim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter"
)

// baseYAML is a small valid scenario; the error cases replace one of its lines.
const baseYAML = `name: base
duration: 1h
distributionPolicies:
  - id: li
    offerExpiresAfter: 30s
    mode: {kind: longestIdle}
queues:
  - id: q
    distributionPolicyId: li
workerGroups:
  - name: a
    count: 2
    queues: [q]
    channels: [{channelId: voice, capacityCostPerJob: 1}]
    behaviour:
      declineProbability: 0.1
arrivals:
  - name: calls
    queueId: q
    channelId: voice
    process: {kind: poisson, perHour: 30}
    handleTime: {dist: exponential, mean: 3m}
`

func TestLoadExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "sim", "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 2)
	for _, f := range append(files, "testdata/day100.yaml", "testdata/trace.yaml") {
		_, err := Load(f)
		require.NoError(t, err, f)
	}
}

func TestParseBase(t *testing.T) {
	sc, err := Parse([]byte(baseYAML), "base.yaml")
	require.NoError(t, err)
	require.Equal(t, time.Hour, sc.Duration)
	require.Equal(t, []jobrouter.DistributionPolicy{{ID: "li", OfferExpiresAfter: 30 * time.Second,
		Mode: jobrouter.LongestIdleMode{}}}, sc.DistributionPolicies)
	require.Equal(t, Poisson{PerHour: 30}, sc.Arrivals[0].Process)
	require.Equal(t, Exponential{Mean: 3 * time.Minute}, sc.Arrivals[0].HandleTime)
	require.Equal(t, 0.1, sc.WorkerGroups[0].Behaviour.DeclineProbability)
	require.True(t, sc.Start.IsZero(), "Start is left to its default")
}

// TestParseShapes covers the YAML forms of the library's polymorphic types and the
// simulator's shorthands.
func TestParseShapes(t *testing.T) {
	y := strings.Replace(baseYAML, "name: base\n", `name: shapes
start: "2025-03-03T08:00:00Z"
drain: 0s
serviceLevel: {threshold: 15s, queues: {q: 45s}}
router: {keepWorkersOnOfferExpiry: true, maxJobAge: 24h}
x-defaults: &defaults
  offerExpiresAfter: 30s
`, 1)
	y = strings.Replace(y, "unused", "", 1)
	y = strings.Replace(y, "  - id: li\n    offerExpiresAfter: 30s\n    mode: {kind: longestIdle}\n", `  - id: li
    offerExpiresAfter: 30s
    mode: {kind: longestIdle}
  - id: best
    <<: *defaults
    mode:
      kind: bestWorker
      maxConcurrentOffers: 2
      scoringRule: {expression: "worker.Skill"}
      scoringRuleOptions: {batchSize: 5}
classificationPolicies:
  - id: cp
    fallbackQueueId: q
    prioritizationRule: {expression: "job.VIP ? 10 : 1"}
    queueSelectorAttachments:
      - {kind: static, queueSelector: {key: Id, labelOperator: "=", value: q}}
      - {kind: conditional, condition: {value: true}, queueSelectors: [{key: Id, labelOperator: equal, value: q}]}
      - {kind: passThrough, key: Lang, labelOperator: equal}
      - {kind: ruleEngine, rule: {kind: directMap}}
      - {kind: weightedAllocation, allocations: [{weight: 1, queueSelectors: [{key: Id, labelOperator: equal, value: q}]}]}
    workerSelectorAttachments:
      - {kind: static, workerSelector: {key: Skill, labelOperator: ">=", value: 5, expiresAfter: 30s}}
      - {kind: passThrough, key: Lang, labelOperator: equal, expiresAfter: 1m}
      - kind: ruleEngine
        rule: {value: [{key: Skill, labelOperator: greaterThan, value: 1}]}
exceptionPolicies:
  - id: ep
    exceptionRules:
      - id: long
        trigger: {kind: queueLength, threshold: 10}
        actions:
          - {kind: cancel, dispositionCode: Full}
      - id: slow
        trigger: {kind: waitTime, threshold: 90}
        actions:
          - {kind: manualReclassify, priority: 5, workerSelectors: [{key: Skill, labelOperator: "<", value: 3}]}
          - {kind: reclassify, classificationPolicyId: cp, labelsToUpsert: {Escalated: true}}
`, 1)
	y = strings.Replace(y, "    process: {kind: poisson, perHour: 30}\n", `    process:
      rates:
        - {from: "08:00", perHour: 30}
        - {from: "12:30:15", perHour: 0}
    wrapUp: 20s
    patience: {dist: uniform, min: 10s, max: 2m}
`, 1)
	y = strings.Replace(y, "    handleTime: {dist: exponential, mean: 3m}\n", "    handleTime: {dist: gamma, mean: 3m, stddev: 1m}\n", 1)
	sc, err := Parse([]byte(y), "shapes.yaml")
	require.NoError(t, err)
	require.Equal(t, time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC), sc.Start)
	require.Equal(t, time.Duration(-1), sc.Drain, "an explicit drain of 0 means none")
	require.Equal(t, ServiceLevel{Threshold: 15 * time.Second, Queues: map[string]time.Duration{"q": 45 * time.Second}}, sc.ServiceLevel)
	require.Equal(t, RouterOptions{KeepWorkersOnOfferExpiry: true, MaxJobAge: 24 * time.Hour}, sc.Router)
	require.Equal(t, jobrouter.DistributionPolicy{ID: "best", OfferExpiresAfter: 30 * time.Second,
		Mode: jobrouter.BestWorkerMode{MaxConcurrentOffers: 2, ScoringRule: jobrouter.ExpressionRule{Expression: "worker.Skill"},
			ScoringRuleOptions: &jobrouter.ScoringRuleOptions{BatchSize: 5, DescendingOrder: true}}}, sc.DistributionPolicies[1])
	cp := sc.ClassificationPolicies[0]
	require.Len(t, cp.QueueSelectorAttachments, 5)
	require.Equal(t, jobrouter.StaticQueueSelectorAttachment{QueueSelector: jobrouter.QueueSelector{Key: "Id",
		LabelOperator: jobrouter.LabelOperatorEqual, Value: "q"}}, cp.QueueSelectorAttachments[0])
	require.Equal(t, jobrouter.RuleEngineQueueSelectorAttachment{Rule: jobrouter.DirectMapRule{}}, cp.QueueSelectorAttachments[3])
	require.Equal(t, jobrouter.StaticWorkerSelectorAttachment{WorkerSelector: jobrouter.WorkerSelector{Key: "Skill",
		LabelOperator: jobrouter.LabelOperatorGreaterThanOrEqual, Value: 5, ExpiresAfter: 30 * time.Second}}, cp.WorkerSelectorAttachments[0])
	ep := sc.ExceptionPolicies[0]
	require.Equal(t, jobrouter.QueueLengthTrigger{Threshold: 10}, ep.ExceptionRules[0].Trigger)
	require.Equal(t, jobrouter.WaitTimeTrigger{Threshold: 90 * time.Second}, ep.ExceptionRules[1].Trigger)
	require.Equal(t, jobrouter.ReclassifyAction{ClassificationPolicyID: "cp", LabelsToUpsert: jobrouter.Labels{"Escalated": true}},
		ep.ExceptionRules[1].Actions[1])
	require.Equal(t, PiecewisePoisson{Rates: []RateStep{{From: 8 * time.Hour, PerHour: 30},
		{From: 12*time.Hour + 30*time.Minute + 15*time.Second}}}, sc.Arrivals[0].Process)
	require.Equal(t, Fixed{Value: 20 * time.Second}, sc.Arrivals[0].WrapUp)
	require.Equal(t, Uniform{Min: 10 * time.Second, Max: 2 * time.Minute}, sc.Arrivals[0].Patience)
	require.Equal(t, Gamma{Mean: 3 * time.Minute, StdDev: time.Minute}, sc.Arrivals[0].HandleTime)
}

// TestParseErrors replaces one line of baseYAML (or appends some) and expects an
// error naming the field, its line and what is wrong.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name      string
		old, new  string // replace old by new in baseYAML; old "" appends new
		wantLine  int
		wantParts []string
	}{
		{"not YAML", "name: base", "name: [", 0, []string{"bad.yaml:", "not valid YAML"}},
		{"unknown field", "duration: 1h", "duraton: 1h", 2, []string{"duraton: unknown field", "duration"}},
		{"bad duration", "duration: 1h", "duration: ten", 2, []string{"duration:", `want a duration such as "90s"`, `"ten"`}},
		{"negative duration", "duration: 1h", "duration: -1h", 2, []string{"duration: must be positive"}},
		{"count not a number", "count: 2", "count: two", 12, []string{"workerGroups[0].count", "want an integer", `"two"`}},
		{"probability", "declineProbability: 0.1", "declineProbability: 1.5", 16, []string{"workerGroups[0].behaviour.declineProbability: must be 0..1"}},
		{"unknown process kind", "{kind: poisson, perHour: 30}", "{kind: poison, perHour: 30}", 21, []string{"arrivals[0].process.kind", `unknown kind "poison"`}},
		{"ambiguous process", "{kind: poisson, perHour: 30}", "{perHour: 30, file: x.csv}", 21, []string{"arrivals[0].process.kind: is required (both file and perHour are given)"}},
		{"field of another kind", "{kind: poisson, perHour: 30}", "{kind: poisson, perHour: 30, rates: []}", 21, []string{"arrivals[0].process.rates", `does not apply to kind "poisson"`}},
		{"incomplete distribution", "{dist: exponential, mean: 3m}", "{dist: lognormal, mean: 3m}", 22, []string{"arrivals[0].handleTime: lognormal: mean and stddev must be positive"}},
		{"distribution field", "{dist: exponential, mean: 3m}", "{dist: exponential, mean: 3m, stddev: 1m}", 22, []string{"arrivals[0].handleTime.stddev", `does not apply to dist "exponential"`}},
		{"unknown distribution", "{dist: exponential, mean: 3m}", "{dist: normal, mean: 3m}", 22, []string{"arrivals[0].handleTime.dist", `unknown distribution "normal"`}},
		{"time of day", "    behaviour:\n", "    shift: {start: \"25:00\", end: \"17:00\"}\n    behaviour:\n", 15, []string{"workerGroups[0].shift.start", "want a time of day"}},
		{"router refuses", "distributionPolicyId: li", "distributionPolicyId: nope", 8, []string{"queues[0]:", `distribution policy "nope" not found`}},
		{"mode kind", "mode: {kind: longestIdle}", "mode: {minConcurrentOffers: 1}", 6, []string{"distributionPolicies[0].mode.kind: is required"}},
		{"operator", "", "    requestedWorkerSelectors: [{key: Skill, labelOperator: like, value: 1}]", 23, []string{"arrivals[0].requestedWorkerSelectors[0].labelOperator", `unknown operator "like"`}},
		{"webhook", "", "classificationPolicies:\n  - id: c\n    prioritizationRule: {url: \"http://example.com\"}", 25, []string{"classificationPolicies[0].prioritizationRule", "webhook rule cannot run in a simulation"}},
		{"missing trace", "{kind: poisson, perHour: 30}", "{file: nowhere.csv}", 21, []string{"arrivals[0].process.file", "nowhere.csv"}},
		{"repeated key", "count: 2", "count: 2\n    count: 3", 13, []string{"workerGroups[0].count: repeated key"}},
		{"service level of an unknown queue", "", "serviceLevel: {queues: {chat: 1m}}", 23, []string{"serviceLevel.queues.chat: no queue \"chat\""}},
		{"trigger threshold", "", "exceptionPolicies:\n  - id: e\n    exceptionRules:\n      - id: r\n        trigger: {kind: queueLength, threshold: 30s}\n        actions: [{kind: cancel}]", 27, []string{"exceptionPolicies[0].exceptionRules[0].trigger.threshold", "want an integer"}},
		{"label value", "", "    labels: {Tier: [1, 2]}", 23, []string{"arrivals[0].labels.Tier", "want a string, number or bool"}},
		{"unknown top-level field", "arrivals:", "nothing:", 17, []string{"nothing: unknown field"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			y := baseYAML + c.new + "\n"
			if c.old != "" {
				require.Contains(t, baseYAML, c.old)
				y = strings.Replace(baseYAML, c.old, c.new, 1)
			}
			_, err := Parse([]byte(y), "bad.yaml")
			require.Error(t, err)
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%T %v", err, err)
			require.Equal(t, "bad.yaml", fe.File)
			if c.wantLine > 0 {
				require.Equal(t, c.wantLine, fe.Line, "%v", err)
			}
			for _, p := range c.wantParts {
				require.Contains(t, err.Error(), p)
			}
		})
	}
	_, err := Parse(nil, "empty.yaml")
	require.ErrorContains(t, err, "empty.yaml: the file is empty")
	_, err = Load("testdata/does-not-exist.yaml")
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadCSVErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	_, err := readTrace(write("a.csv", "when,Lang\n1,en\n"), DefaultStart)
	require.ErrorContains(t, err, `no column named "time"`)
	_, err = readTrace(write("b.csv", "time\n1\nsoon\n"), DefaultStart)
	require.ErrorContains(t, err, "b.csv:3: column time")
	_, err = readTrace(write("c.csv", "time,handleTime\n1,-3\n"), DefaultStart)
	require.ErrorContains(t, err, "c.csv:2: column handleTime")
	tr, err := readTrace(write("d.csv", "time,Tier,Score\n2025-01-06T00:01:00Z,gold,2.5\n30,,1\n"), DefaultStart)
	require.NoError(t, err)
	require.Equal(t, []TracedArrival{{At: 30 * time.Second, Labels: jobrouter.Labels{"Score": 1}},
		{At: time.Minute, Labels: jobrouter.Labels{"Tier": "gold", "Score": 2.5}}}, tr.Arrivals, "sorted by time")

	e, err := readEmpirical(write("e.csv", "30\n1m\n90s\n"), "", "")
	require.NoError(t, err)
	require.Equal(t, Empirical{Values: []time.Duration{30 * time.Second, time.Minute, 90 * time.Second}}, e)
	_, err = readEmpirical(write("f.csv", "aht\n30\n"), "handle", "")
	require.ErrorContains(t, err, `no column "handle"`)
	_, err = readEmpirical(write("g.csv", "aht\nfast\n"), "", "")
	require.ErrorContains(t, err, `g.csv:2: "fast" is not a duration`)
}
