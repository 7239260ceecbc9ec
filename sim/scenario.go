package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter"
)

// Default values of a Scenario's optional fields.
const (
	// DefaultInterval is the width of a report interval.
	DefaultInterval = 15 * time.Minute
	// DefaultDrain is how long the simulation goes on after Duration to let the jobs
	// that arrived finish.
	DefaultDrain = time.Hour
	// DefaultServiceLevelThreshold is the wait within which an answered job counts
	// towards the service level.
	DefaultServiceLevelThreshold = 20 * time.Second
)

// DefaultStart is the simulated start when Scenario.Start is zero: midnight UTC of
// Monday 6 January 2025. Only its time of day matters to a scenario that repeats
// daily.
var DefaultStart = time.Date(2025, time.January, 6, 0, 0, 0, 0, time.UTC)

// Scenario is one simulated run: the Router's configuration (the same policies and
// queues as the library's), the workers, the jobs that arrive and how everyone
// behaves. Load reads one from YAML; a Go program may also build one directly, and
// then use what YAML cannot express, such as a FuncRule or a BestWorkerMode
// ScoringFunc. Run does not modify it.
type Scenario struct {
	// Name labels the reports. Optional.
	Name string
	// Seed seeds every random stream of the run. The same Scenario and Seed give the
	// same Report, byte for byte. Defaults to 0 (a fixed seed).
	Seed uint64
	// Start is the simulated instant at which the run begins; times of day (shifts,
	// rate tables) are taken on Start's day, in Start's location. Defaults to
	// DefaultStart (midnight UTC).
	Start time.Time
	// Duration is how long jobs arrive, from Start. Required, positive.
	Duration time.Duration
	// WarmUp is the start of the measurement window, from Start: jobs that arrive
	// before it are simulated but not counted, and occupancy is measured from it.
	// Defaults to 0; must be less than Duration.
	WarmUp time.Duration
	// Drain is how long the run may go on after Duration so that the jobs already
	// arrived can be answered (or abandon). Jobs still waiting then are counted as
	// unanswered. Defaults to DefaultDrain; negative means none.
	Drain time.Duration
	// Interval is the width of the report's time series. Defaults to
	// DefaultInterval.
	Interval time.Duration
	// ServiceLevel sets the service-level thresholds.
	ServiceLevel ServiceLevel
	// Router sets the simulated Router's options.
	Router RouterOptions

	// DistributionPolicies are upserted into the Router before the run, as given,
	// like the other policies and the queues. A WebhookRule anywhere is refused: a
	// simulation cannot wait on the network.
	DistributionPolicies []jobrouter.DistributionPolicy
	// ClassificationPolicies are upserted into the Router before the run.
	ClassificationPolicies []jobrouter.ClassificationPolicy
	// ExceptionPolicies are upserted into the Router before the run.
	ExceptionPolicies []jobrouter.ExceptionPolicy
	// Queues are upserted into the Router before the run (first without their
	// exception policies, which may name them, then with).
	Queues []jobrouter.Queue

	// WorkerGroups are the workers. At least one is required.
	WorkerGroups []WorkerGroup
	// Arrivals are the streams of jobs. At least one is required.
	Arrivals []ArrivalStream
}

// ServiceLevel says within what wait an answered job counts as answered in time.
type ServiceLevel struct {
	// Threshold applies to every queue not in Queues. Defaults to
	// DefaultServiceLevelThreshold.
	Threshold time.Duration
	// Queues gives some queues (by ID) a threshold of their own (chat is often
	// allowed longer than voice). Optional.
	Queues map[string]time.Duration
}

// thresholdFor returns the threshold of queueID.
func (s ServiceLevel) thresholdFor(queueID string) time.Duration {
	if d, ok := s.Queues[queueID]; ok {
		return d
	}
	return s.Threshold
}

// RouterOptions are the options of the simulated Router that a scenario may set;
// the rest (time, IDs, seed) belong to the simulator.
type RouterOptions struct {
	// KeepWorkersOnOfferExpiry is jobrouter.Options.KeepWorkersOnOfferExpiry.
	// Defaults to false: as in Azure, a worker whose offer expires is deregistered
	// (and comes back after its Behaviour.ReregisterAfter).
	KeepWorkersOnOfferExpiry bool
	// MaxJobAge is jobrouter.Options.MaxJobAge. Defaults to 0, which here means
	// never (unlike the library's 90 days: a long simulation should not cancel
	// jobs behind the modeller's back); set it to simulate the limit.
	MaxJobAge time.Duration
}

// WorkerGroup is Count identical workers. They are registered with the Router as
// "<Name>-001", "<Name>-002", ... and log in and out with their Shift.
type WorkerGroup struct {
	// Name identifies the group in reports and prefixes its workers' IDs.
	// Required, unique.
	Name string
	// Count is the number of workers. Required, positive.
	Count int
	// Queues are the IDs of the queues the workers take jobs from. Required.
	Queues []string
	// Capacity is each worker's capacity (jobrouter.Worker.Capacity). Defaults to
	// 1.
	Capacity int
	// Channels are each worker's channels. Required.
	Channels []jobrouter.ChannelConfig
	// Labels are each worker's labels (the Router adds "Id"). Optional.
	Labels jobrouter.Labels
	// MaxConcurrentOffers is jobrouter.Worker.MaxConcurrentOffers. Defaults to 0,
	// no limit.
	MaxConcurrentOffers int
	// Shift is when the workers are logged in.
	Shift Shift
	// Behaviour is how the workers answer offers.
	Behaviour Behaviour
	// HandleTimeFactor multiplies the handle time of every job these workers take
	// (1.2: 20% slower than the stream's distribution). Defaults to 1; zero means 1.
	HandleTimeFactor float64
}

// Shift is a daily login period, in times of day (durations since midnight) of
// Start's day, repeated every day of a run that lasts longer. The zero Shift (or
// any with End equal to Start) means logged in all the time. End before Start means
// the shift ends the next day.
type Shift struct {
	// Start is the time of day the workers log in (register).
	Start time.Duration
	// End is the time of day they log out (deregister). A worker still holding
	// jobs then finishes them (it drains) and is counted as staffed until it is done.
	End time.Duration
}

// Behaviour is how a group's workers answer offers. Each worker draws from a
// random stream of its own. Of every offer, a worker lets it expire with
// ExpireProbability, else declines it with DeclineProbability, else accepts it;
// it answers (accepts or declines) after AcceptTime.
type Behaviour struct {
	// AcceptTime is how long a worker takes to answer an offer. Defaults to nil:
	// at once. An answer that comes when the offer has expired (or was revoked)
	// fails, as it would against a real Router.
	AcceptTime Distribution
	// DeclineProbability is the chance that a worker declines an offer, 0..1.
	// Defaults to 0.
	DeclineProbability float64
	// RetryDelay is passed as DeclineJobOfferOptions.RetryOfferAt (the answer's time
	// plus RetryDelay): the decliner may be offered the job again after it. Defaults
	// to 0, which means never again, as in the library.
	RetryDelay time.Duration
	// ExpireProbability is the chance that a worker lets an offer expire, 0..1.
	// Defaults to 0. DeclineProbability + ExpireProbability must not exceed 1.
	ExpireProbability float64
	// ReregisterAfter is how long a worker that the Router deregistered for letting
	// an offer expire takes to register again (if still on shift). Defaults to 0:
	// at once.
	ReregisterAfter time.Duration
}

// ArrivalStream is a stream of jobs of one kind: where they go, when they arrive,
// how long they take and how long the customers wait.
type ArrivalStream struct {
	// Name identifies the stream in reports, seeds its random streams and
	// prefixes its jobs' IDs. Required, unique. Two scenarios with a stream of the
	// same name and the same Seed see the same arrivals (common random numbers).
	Name string
	// QueueID is the jobs' queue (jobrouter.Job.QueueID). Required unless
	// ClassificationPolicyID is set.
	QueueID string
	// ChannelID is the jobs' channel. Required.
	ChannelID string
	// ClassificationPolicyID classifies the jobs. Optional.
	ClassificationPolicyID string
	// Priority is the jobs' priority (0 means the library's default, 1).
	Priority int
	// Labels are every job's labels. A Trace adds its own per job. Optional.
	Labels jobrouter.Labels
	// RequestedWorkerSelectors are every job's requested worker selectors.
	// Optional.
	RequestedWorkerSelectors []jobrouter.WorkerSelector
	// Process says when the jobs arrive: Poisson, PiecewisePoisson or Trace.
	// Required.
	Process ArrivalProcess
	// HandleTime is how long a worker works on a job, from accepting to
	// completing it. Required.
	HandleTime Distribution
	// WrapUp is how long the worker still holds the job after completing it (its
	// capacity is released when the job is closed). Defaults to nil: no wrap-up.
	WrapUp Distribution
	// Patience is how long a customer waits to be answered (its job assigned)
	// before hanging up: the job is then cancelled with disposition "Abandoned".
	// Defaults to nil: customers never abandon.
	Patience Distribution
}

// withDefaults returns a copy of sc with every default filled in.
func (sc *Scenario) withDefaults() Scenario {
	out := *sc
	if out.Start.IsZero() {
		out.Start = DefaultStart
	}
	if out.Drain == 0 {
		out.Drain = DefaultDrain
	} else if out.Drain < 0 {
		out.Drain = 0
	}
	if out.Interval == 0 {
		out.Interval = DefaultInterval
	}
	if out.ServiceLevel.Threshold == 0 {
		out.ServiceLevel.Threshold = DefaultServiceLevelThreshold
	}
	out.WorkerGroups = slices.Clone(out.WorkerGroups)
	for i := range out.WorkerGroups {
		g := &out.WorkerGroups[i]
		if g.Capacity == 0 {
			g.Capacity = 1
		}
		if g.HandleTimeFactor == 0 {
			g.HandleTimeFactor = 1
		}
	}
	return out
}

// Validate checks sc without running it and returns the first problem found, as a
// *FieldError naming the field (in the YAML spelling: workerGroups[1].count).
// Policies and queues are checked by upserting them into a scratch Router, so
// everything the library refuses is refused here too.
func (sc *Scenario) Validate() error {
	s := sc.withDefaults()
	if err := s.validate(); err != nil {
		return err
	}
	r, err := newRouter(&s)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	return setupRouter(r, &s)
}

// maxWorkersPerGroup bounds WorkerGroup.Count: IDs are numbered with three digits
// or more, and a million workers is beyond what a simulation of this kind is for.
const maxWorkersPerGroup = 1_000_000

// validate checks what the Router does not: the simulator's own fields.
func (sc *Scenario) validate() error {
	if sc.Duration <= 0 {
		return fieldErr("duration", "must be positive")
	}
	if sc.WarmUp < 0 || sc.WarmUp >= sc.Duration {
		return fieldErr("warmUp", "must be at least 0 and less than duration (%s)", sc.Duration)
	}
	if sc.Interval < 0 {
		return fieldErr("interval", "must be positive")
	}
	if n := (sc.Duration + sc.Drain) / sc.Interval; n > 100_000 {
		return fieldErr("interval", "%s makes %d intervals; use a wider one", sc.Interval, n)
	}
	if sc.ServiceLevel.Threshold < 0 {
		return fieldErr("serviceLevel.threshold", "must not be negative")
	}
	for _, q := range sortedKeys(sc.ServiceLevel.Queues) {
		if sc.ServiceLevel.Queues[q] < 0 {
			return fieldErr("serviceLevel.queues."+q, "must not be negative")
		}
		if !slices.ContainsFunc(sc.Queues, func(x jobrouter.Queue) bool { return x.ID == q }) {
			return fieldErr("serviceLevel.queues."+q, "no queue %q in queues", q)
		}
	}
	if sc.Router.MaxJobAge < 0 {
		return fieldErr("router.maxJobAge", "must not be negative (0 means never)")
	}
	if len(sc.WorkerGroups) == 0 {
		return fieldErr("workerGroups", "at least one worker group is required")
	}
	names := map[string]string{}
	for i := range sc.WorkerGroups {
		if err := sc.WorkerGroups[i].validate(fmt.Sprintf("workerGroups[%d]", i), names); err != nil {
			return err
		}
	}
	if len(sc.Arrivals) == 0 {
		return fieldErr("arrivals", "at least one arrival stream is required")
	}
	streams := map[string]bool{}
	for i := range sc.Arrivals {
		if err := sc.Arrivals[i].validate(fmt.Sprintf("arrivals[%d]", i), streams); err != nil {
			return err
		}
	}
	return nil
}

func (g *WorkerGroup) validate(path string, names map[string]string) error {
	if g.Name == "" {
		return fieldErr(path+".name", "is required")
	}
	if !validName(g.Name) {
		return fieldErr(path+".name", "%q: use letters, digits, '-', '_' and '.' only", g.Name)
	}
	if prev, ok := names[g.Name]; ok {
		return fieldErr(path+".name", "%q is also the name of %s", g.Name, prev)
	}
	names[g.Name] = path
	if g.Count <= 0 || g.Count > maxWorkersPerGroup {
		return fieldErr(path+".count", "must be 1..%d", maxWorkersPerGroup)
	}
	if len(g.Queues) == 0 {
		return fieldErr(path+".queues", "at least one queue is required")
	}
	if len(g.Channels) == 0 {
		return fieldErr(path+".channels", "at least one channel is required")
	}
	if g.Capacity < 0 {
		return fieldErr(path+".capacity", "must not be negative")
	}
	if g.HandleTimeFactor < 0 {
		return fieldErr(path+".handleTimeFactor", "must be positive")
	}
	if err := checkTimeOfDay(path+".shift.start", g.Shift.Start); err != nil {
		return err
	}
	if err := checkTimeOfDay(path+".shift.end", g.Shift.End); err != nil {
		return err
	}
	b := g.Behaviour
	bp := path + ".behaviour"
	if err := checkDistribution(bp+".acceptTime", b.AcceptTime, false); err != nil {
		return err
	}
	if b.DeclineProbability < 0 || b.DeclineProbability > 1 {
		return fieldErr(bp+".declineProbability", "must be 0..1")
	}
	if b.ExpireProbability < 0 || b.ExpireProbability > 1 {
		return fieldErr(bp+".expireProbability", "must be 0..1")
	}
	if b.DeclineProbability+b.ExpireProbability > 1 {
		return fieldErr(bp, "declineProbability + expireProbability must not exceed 1")
	}
	if b.RetryDelay < 0 {
		return fieldErr(bp+".retryDelay", "must not be negative")
	}
	if b.ReregisterAfter < 0 {
		return fieldErr(bp+".reregisterAfter", "must not be negative")
	}
	return nil
}

func (a *ArrivalStream) validate(path string, names map[string]bool) error {
	if a.Name == "" {
		return fieldErr(path+".name", "is required")
	}
	if !validName(a.Name) {
		return fieldErr(path+".name", "%q: use letters, digits, '-', '_' and '.' only", a.Name)
	}
	if names[a.Name] {
		return fieldErr(path+".name", "%q names another stream too", a.Name)
	}
	names[a.Name] = true
	if a.ChannelID == "" {
		return fieldErr(path+".channelId", "is required")
	}
	if a.QueueID == "" && a.ClassificationPolicyID == "" {
		return fieldErr(path+".queueId", "a queueId or a classificationPolicyId is required")
	}
	if a.Priority < -100 || a.Priority > 100 {
		return fieldErr(path+".priority", "must be -100..100")
	}
	if a.Process == nil {
		return fieldErr(path+".process", "is required")
	}
	if err := a.Process.check(path + ".process"); err != nil {
		return err
	}
	if a.HandleTime == nil {
		return fieldErr(path+".handleTime", "is required")
	}
	if err := checkDistribution(path+".handleTime", a.HandleTime, true); err != nil {
		return err
	}
	if err := checkDistribution(path+".wrapUp", a.WrapUp, false); err != nil {
		return err
	}
	return checkDistribution(path+".patience", a.Patience, false)
}

// validName reports whether s is usable in IDs and file names.
func validName(s string) bool {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return s != ""
}

func checkTimeOfDay(path string, d time.Duration) error {
	if d < 0 || d > 24*time.Hour {
		return fieldErr(path, "a time of day must be 00:00..24:00")
	}
	return nil
}

func checkDistribution(path string, d Distribution, required bool) error {
	if d == nil {
		if required {
			return fieldErr(path, "is required")
		}
		return nil
	}
	if err := d.check(); err != nil {
		return fieldErr(path, "%v", err)
	}
	return nil
}
