package sim

import (
	"cmp"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"
)

// Report is the outcome of a run: KPIs over the measurement window (jobs that
// arrived between Start + WarmUp and Start + Duration, and worker time in that
// window), and a time series over the whole run. Times are in seconds; ratios are
// between 0 and 1, and 0 when nothing was there to measure. A Report marshals to
// stable JSON.
type Report struct {
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Seed is the seed the run used.
	Seed uint64 `json:"seed"`
	// Start is the simulated start.
	Start time.Time `json:"start"`
	// WindowStart is the start of the measurement window (Start + WarmUp).
	WindowStart time.Time `json:"windowStart"`
	// WindowEnd is its end (Start + Duration).
	WindowEnd time.Time `json:"windowEnd"`
	// StoppedAt is when the run stopped: when every job was done, or at Duration +
	// Drain.
	StoppedAt time.Time `json:"stoppedAt"`
	// IntervalSeconds is the width of each entry of Intervals.
	IntervalSeconds float64 `json:"intervalSeconds"`
	// Overall are the KPIs of every job together.
	Overall KPIs `json:"overall"`
	// Queues are the KPIs per queue, sorted by queue ID. A job counts in the first
	// queue it entered (an escalated job counts where it arrived), its offers
	// with it.
	Queues []KPIs `json:"queues"`
	// Streams are the KPIs per arrival stream, in scenario order.
	Streams []KPIs `json:"streams"`
	// WorkerGroups are the KPIs per worker group, in scenario order.
	WorkerGroups []GroupKPIs `json:"workerGroups"`
	// Exceptions counts the exception rules that fired for the jobs that arrived
	// in the window, by queue and rule.
	Exceptions []ExceptionCount `json:"exceptions"`
	// SelectorExpiries counts the jobs that arrived in the window and whose worker
	// selectors expired (JobWorkerSelectorsExpired).
	SelectorExpiries int `json:"selectorExpiries"`
	// Intervals is the time series, one entry per Interval from Start to StoppedAt.
	Intervals []Interval `json:"intervals"`
	// Run describes the simulation itself.
	Run RunStats `json:"run"`
}

// KPIs are the service KPIs of a set of jobs (a queue's, a stream's, or all).
type KPIs struct {
	// Name is the queue ID or the stream name; "overall" for every job.
	Name string `json:"name"`
	// ThresholdSeconds is the service-level threshold (for Overall, the default
	// threshold; each job is judged by its queue's).
	ThresholdSeconds float64 `json:"thresholdSeconds"`
	// Arrived counts the jobs that arrived in the window.
	Arrived int `json:"arrived"`
	// Answered counts the jobs a worker accepted.
	Answered int `json:"answered"`
	// AnsweredInThreshold counts the answered jobs that waited at most the
	// threshold.
	AnsweredInThreshold int `json:"answeredInThreshold"`
	// Abandoned counts the jobs whose customers hung up.
	Abandoned int `json:"abandoned"`
	// Cancelled counts the jobs the Router cancelled (an exception's
	// CancelAction).
	Cancelled int `json:"cancelled"`
	// Failed counts the jobs whose classification failed.
	Failed int `json:"failed"`
	// Unanswered counts the jobs still waiting when the run stopped.
	Unanswered int `json:"unanswered"`
	// ServiceLevel is AnsweredInThreshold / Arrived: abandoned, cancelled and
	// unanswered jobs count against it.
	ServiceLevel float64 `json:"serviceLevel"`
	// AbandonRate is Abandoned / Arrived.
	AbandonRate float64 `json:"abandonRate"`
	// WaitProbability is the share of jobs that were not offered to a worker the
	// instant they arrived: they found no worker free (Erlang's probability of
	// waiting).
	WaitProbability float64 `json:"waitProbability"`
	// ASASeconds is the average speed of answer: the mean wait of answered jobs.
	ASASeconds float64 `json:"asaSeconds"`
	// WaitP50Seconds is the median wait of the answered jobs (gonum's empirical
	// quantile: the smallest wait with at least 50% of the waits at or below it).
	WaitP50Seconds float64 `json:"waitP50Seconds"`
	// WaitP90Seconds is the 90th percentile of their waits.
	WaitP90Seconds float64 `json:"waitP90Seconds"`
	// WaitP95Seconds is the 95th percentile of their waits.
	WaitP95Seconds float64 `json:"waitP95Seconds"`
	// WaitP99Seconds is the 99th percentile of their waits.
	WaitP99Seconds float64 `json:"waitP99Seconds"`
	// WaitMaxSeconds is the longest of their waits.
	WaitMaxSeconds float64 `json:"waitMaxSeconds"`
	// AbandonWaitSeconds is the mean time abandoned customers waited.
	AbandonWaitSeconds float64 `json:"abandonWaitSeconds"`
	// Offers counts the offers made for these jobs, by how they ended.
	Offers OfferStats `json:"offers"`
	// QueueLengthAvg is the time-averaged number of jobs waiting in the queue
	// (queued, offered or not) during the window; for Overall, in every queue
	// together; zero for streams.
	QueueLengthAvg float64 `json:"queueLengthAvg"`
	// QueueLengthMax is the largest number of jobs waiting during the window
	// (during the interval, in Intervals).
	QueueLengthMax float64 `json:"queueLengthMax"`
}

// OfferStats counts offers by how they ended.
type OfferStats struct {
	// Issued counts the offers made (OfferIssued).
	Issued int `json:"issued"`
	// Accepted counts the offers accepted.
	Accepted int `json:"accepted"`
	// Declined counts the offers declined.
	Declined int `json:"declined"`
	// Expired counts the offers that expired (OfferExpired).
	Expired int `json:"expired"`
	// Revoked counts offers revoked by the Router (another worker accepted the
	// job, it was cancelled, the worker logged out).
	Revoked int `json:"revoked"`
	// Late counts answers that came after the offer had ended.
	Late int `json:"late"`
}

// GroupKPIs are a worker group's KPIs over the window.
type GroupKPIs struct {
	// Name is the group's name.
	Name string `json:"name"`
	// Workers is the group's Count.
	Workers int `json:"workers"`
	// StaffedAvg is the average number of its workers logged in (or finishing
	// jobs after logging out).
	StaffedAvg float64 `json:"staffedAvg"`
	// Occupancy is the capacity its jobs held (from accept to close: handle time
	// and wrap-up) over the capacity staffed. With capacity 1 per job, the share
	// of staffed time spent on jobs.
	Occupancy float64 `json:"occupancy"`
	// Handled counts the jobs its workers accepted (of those that arrived in the
	// window).
	Handled int `json:"handled"`
	// AvgHandleSeconds is their mean handle time (without wrap-up).
	AvgHandleSeconds float64 `json:"avgHandleSeconds"`
	// Offers counts the offers made to its workers (of the jobs that arrived in the
	// window).
	Offers OfferStats `json:"offers"`
}

// ExceptionCount is how often one exception rule fired.
type ExceptionCount struct {
	// Queue is the queue whose exception policy holds the rule.
	Queue string `json:"queue"`
	// Rule is the rule's ID.
	Rule string `json:"rule"`
	// Count is how many jobs it fired for.
	Count int `json:"count"`
}

// Interval is one entry of the time series. Job counts are by arrival time;
// queue lengths and occupancy are over the interval itself.
type Interval struct {
	// Start is the interval's start.
	Start time.Time `json:"start"`
	// InWindow tells whether the interval lies in the measurement window.
	InWindow bool `json:"inWindow"`
	// Overall are the interval's KPIs of every job, as in Report, but only the
	// counts, the ratios, the ASA and the queue lengths are filled in.
	Overall KPIs `json:"overall"`
	// Queues are the same per queue, sorted by queue ID.
	Queues []KPIs `json:"queues"`
	// WorkerGroups hold StaffedAvg and Occupancy over the interval.
	WorkerGroups []GroupKPIs `json:"workerGroups"`
}

// RunStats describes a run's work.
type RunStats struct {
	// Jobs counts every job created, in the window or not.
	Jobs int `json:"jobs"`
	// Steps counts the instants the simulation stopped at.
	Steps int `json:"steps"`
	// RouterCalls counts the calls made to the Router.
	RouterCalls int `json:"routerCalls"`
	// Events counts the Router events the simulator read.
	Events int `json:"events"`
}

// kpiAcc accumulates the KPIs of a set of jobs.
type kpiAcc struct {
	k           KPIs
	waits       []float64 // answered jobs' waits, in seconds
	abandonWait float64
	queued      int // jobs not offered at once
}

func (a *kpiAcc) add(r *record, threshold time.Duration) {
	a.k.Arrived++
	if r.offered != 0 {
		a.queued++ // not offered the instant it arrived
	}
	a.k.Offers = addOffers(a.k.Offers, OfferStats(r.offers))
	switch r.outcome {
	case outcomeAnswered:
		a.k.Answered++
		if r.wait <= threshold {
			a.k.AnsweredInThreshold++
		}
		a.waits = append(a.waits, r.wait.Seconds())
	case outcomeAbandoned:
		a.k.Abandoned++
		a.abandonWait += r.wait.Seconds()
	case outcomeCancelled:
		a.k.Cancelled++
	case outcomeFailed:
		a.k.Failed++
	default:
		a.k.Unanswered++
	}
}

// kpis computes the ratios and percentiles.
func (a *kpiAcc) kpis(full bool) KPIs {
	k := a.k
	if k.Arrived > 0 {
		k.ServiceLevel = float64(k.AnsweredInThreshold) / float64(k.Arrived)
		k.AbandonRate = float64(k.Abandoned) / float64(k.Arrived)
		k.WaitProbability = float64(a.queued) / float64(k.Arrived)
	}
	if k.Abandoned > 0 {
		k.AbandonWaitSeconds = a.abandonWait / float64(k.Abandoned)
	}
	if len(a.waits) == 0 {
		return k
	}
	k.ASASeconds = stat.Mean(a.waits, nil)
	if full {
		slices.Sort(a.waits)
		k.WaitP50Seconds = stat.Quantile(0.50, stat.Empirical, a.waits, nil)
		k.WaitP90Seconds = stat.Quantile(0.90, stat.Empirical, a.waits, nil)
		k.WaitP95Seconds = stat.Quantile(0.95, stat.Empirical, a.waits, nil)
		k.WaitP99Seconds = stat.Quantile(0.99, stat.Empirical, a.waits, nil)
		k.WaitMaxSeconds = a.waits[len(a.waits)-1]
	}
	return k
}

// report builds the Report once the run has stopped.
func (rn *runner) report() *Report {
	sc := rn.sc
	stop := rn.stoppedAt
	n := int((stop.Sub(sc.Start) + sc.Interval - 1) / sc.Interval)
	rn.waiting.finish(stop, n)
	for _, q := range rn.queues {
		q.length.finish(stop, n)
	}
	for _, g := range rn.groups {
		g.staffed.finish(stop, n)
		g.staffedCap.finish(stop, n)
		g.busyCap.finish(stop, n)
	}
	rep := &Report{
		Scenario: sc.Name, Seed: sc.Seed, Start: sc.Start,
		WindowStart: rn.tl.winStart, WindowEnd: rn.tl.winEnd, StoppedAt: stop,
		IntervalSeconds:  sc.Interval.Seconds(),
		SelectorExpiries: rn.selectorExpiries,
		Run:              RunStats{Jobs: len(rn.records), Steps: rn.steps, RouterCalls: rn.calls, Events: rn.events},
	}

	// Jobs, over the window and per interval.
	overall := &kpiAcc{}
	queues := make([]kpiAcc, len(rn.queues))
	streams := make([]kpiAcc, len(rn.streams))
	ivOverall := make([]kpiAcc, n)
	ivQueues := make([][]kpiAcc, n)
	for i := range ivQueues {
		ivQueues[i] = make([]kpiAcc, len(rn.queues))
	}
	winFrom, winTo := sc.WarmUp, sc.Duration
	for i := range rn.records {
		r := &rn.records[i]
		th := sc.ServiceLevel.Threshold
		if r.queue >= 0 {
			th = rn.queues[r.queue].sl
		}
		if k := int(r.arrived / sc.Interval); k < n {
			ivOverall[k].add(r, th)
			if r.queue >= 0 {
				ivQueues[k][r.queue].add(r, th)
			}
		}
		if r.arrived < winFrom || r.arrived >= winTo {
			continue
		}
		overall.add(r, th)
		streams[r.stream].add(r, th)
		if r.queue >= 0 {
			queues[r.queue].add(r, th)
		}
	}
	window := rn.tl.winEnd.Sub(rn.tl.winStart).Seconds()
	rep.Overall = overall.kpis(true)
	rep.Overall.Name = "overall"
	rep.Overall.ThresholdSeconds = sc.ServiceLevel.Threshold.Seconds()
	for i, q := range rn.queues {
		k := queues[i].kpis(true)
		k.Name, k.ThresholdSeconds = q.id, q.sl.Seconds()
		k.QueueLengthAvg = q.length.win / window
		k.QueueLengthMax = q.length.winMax
		rep.Queues = append(rep.Queues, k)
	}
	rep.Overall.QueueLengthAvg = rn.waiting.win / window
	rep.Overall.QueueLengthMax = rn.waiting.winMax
	for i, st := range rn.streams {
		k := streams[i].kpis(true)
		k.Name = st.def.Name
		k.ThresholdSeconds = sc.ServiceLevel.Threshold.Seconds()
		if st.def.QueueID != "" {
			k.ThresholdSeconds = sc.ServiceLevel.thresholdFor(st.def.QueueID).Seconds()
		}
		rep.Streams = append(rep.Streams, k)
	}
	for _, g := range rn.groups {
		gk := GroupKPIs{Name: g.def.Name, Workers: g.def.Count, Handled: g.handled, Offers: OfferStats(g.offers),
			StaffedAvg: g.staffed.win / window, Occupancy: ratio(g.busyCap.win, g.staffedCap.win)}
		if g.handled > 0 {
			gk.AvgHandleSeconds = g.handleSum.Seconds() / float64(g.handled)
		}
		rep.WorkerGroups = append(rep.WorkerGroups, gk)
	}
	for k, c := range rn.exceptions {
		rep.Exceptions = append(rep.Exceptions, ExceptionCount{Queue: k.queue, Rule: k.rule, Count: c})
	}
	slices.SortFunc(rep.Exceptions, func(a, b ExceptionCount) int {
		return cmp.Or(cmp.Compare(a.Queue, b.Queue), cmp.Compare(a.Rule, b.Rule))
	})

	// The time series.
	for k := range n {
		from := sc.Start.Add(time.Duration(k) * sc.Interval)
		to := from.Add(sc.Interval)
		if to.After(stop) {
			to = stop
		}
		width := to.Sub(from).Seconds()
		iv := Interval{Start: from, InWindow: !from.Before(rn.tl.winStart) && from.Before(rn.tl.winEnd)}
		iv.Overall = ivOverall[k].kpis(false)
		iv.Overall.Name = "overall"
		for i, q := range rn.queues {
			qk := ivQueues[k][i].kpis(false)
			qk.Name = q.id
			qk.QueueLengthAvg = q.length.sums[k] / width
			qk.QueueLengthMax = q.length.maxes[k]
			iv.Queues = append(iv.Queues, qk)
		}
		iv.Overall.QueueLengthAvg = rn.waiting.sums[k] / width
		iv.Overall.QueueLengthMax = rn.waiting.maxes[k]
		for _, g := range rn.groups {
			iv.WorkerGroups = append(iv.WorkerGroups, GroupKPIs{Name: g.def.Name, Workers: g.def.Count,
				StaffedAvg: g.staffed.sums[k] / width, Occupancy: ratio(g.busyCap.sums[k], g.staffedCap.sums[k])})
		}
		rep.Intervals = append(rep.Intervals, iv)
	}
	return rep
}

func addOffers(a, b OfferStats) OfferStats {
	return OfferStats{Issued: a.Issued + b.Issued, Accepted: a.Accepted + b.Accepted, Declined: a.Declined + b.Declined,
		Expired: a.Expired + b.Expired, Revoked: a.Revoked + b.Revoked, Late: a.Late + b.Late}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}
