// Package sim simulates a contact centre on the real jobrouter engine, in virtual
// time: "if I switch from LongestIdle to BestWorker, add three Spanish-speaking
// agents, or relax a skill selector after 30 s, what happens to my service level?"
//
// A Scenario describes the Router's policies and queues (the library's own types),
// groups of workers with their shifts and behaviour, and streams of arriving jobs
// with their handle times, wrap-up and customers' patience. Run plays it on a
// jobrouter.Router created with Options.ManualTime, through the public API only:
// it creates the jobs, answers each offer as the worker's Behaviour says, completes
// and closes the jobs, cancels those whose customers hang up, and jumps time to the
// earliest of its own next event and Router.NextDeadline (offer expiries,
// RetryOfferAt, CloseAt, exception wait times and selector expiries fire inside the
// Router, at their own instants). Nothing sleeps and nothing reads the wall clock;
// an 8-hour day of 100 agents and 10,000 calls takes about 0.2 s.
//
// The command cmd/jobrouter-sim runs scenario files and prints, charts and compares
// their reports; examples/sim holds scenarios to start from.
//
// # Reproducibility and common random numbers
//
// The same Scenario with the same Seed gives the same Report, byte for byte once
// written (JSON, tables, CSV). Every random quantity has a stream of its own,
// seeded from Seed and its name: each arrival stream's arrival times, its handle
// times, its wrap-ups and its patience draws, and each worker's answers. So two
// scenarios run with the same seed see the same customers (the k-th job of stream
// "calls" arrives at the same instant, needs the same handle time and has the same
// patience) whatever their policies, staffing or behaviour: differences between
// their reports are the policies', not noise (common random numbers).
// A piecewise rate table is sampled by inverting its cumulative rate, so changing
// one period's rate moves only the arrivals of that period.
//
// # Scenario files
//
// Load and Parse read YAML in the shape of Scenario, with the Go field names in
// lowerCamelCase, which are mostly Azure Job Router's JSON names
// (distributionPolicyId, capacityCostPerJob; offerExpiresAfter without Azure's
// "Seconds"). Durations are Go durations ("90s", "4m30s", "1h") or numbers of
// seconds; times of day are "HH:MM" or "HH:MM:SS". The library's
// polymorphic types are mappings with a kind:
//
//	mode:      {kind: longestIdle | roundRobin | bestWorker, minConcurrentOffers, maxConcurrentOffers,
//	            bypassSelectors, scoringRule, scoringRuleOptions}
//	rule:      {kind: static, value: ...} | {kind: directMap} | {kind: expression, expression: "..."}
//	           (the kind may be left out when value or expression says it)
//	queueSelectorAttachments / workerSelectorAttachments:
//	           {kind: static, queueSelector | workerSelector} | {kind: conditional, condition, queueSelectors | workerSelectors}
//	           | {kind: passThrough, key, labelOperator[, expiresAfter]} | {kind: ruleEngine, rule}
//	           | {kind: weightedAllocation, allocations: [{weight, queueSelectors | workerSelectors}]}
//	selector:  {key, labelOperator: equal | notEqual | lessThan | ... (or = != < <= > >=), value[, expiresAfter, expedite]}
//	trigger:   {kind: waitTime, threshold: 30s} | {kind: queueLength, threshold: 10}
//	action:    {kind: cancel, dispositionCode, note} | {kind: manualReclassify, queueId, priority, workerSelectors}
//	           | {kind: reclassify, classificationPolicyId, labelsToUpsert}
//	process:   {kind: poisson, perHour: 120} | {kind: piecewise, rates: [{from: "08:00", perHour: 90}, ...]}
//	           | {kind: trace, file: calls.csv}   (the kind may be left out)
//	dist:      {dist: exponential, mean} | {dist: lognormal, mean, stddev} | {dist: gamma, mean, stddev}
//	           | {dist: uniform, min, max} | {dist: fixed, value} | {dist: empirical, file[, column, weightColumn]}
//	           | 30s   (a plain duration is a fixed one)
//
// Keys starting with "x-" are ignored anywhere: a place for YAML anchors shared by
// several entries ("<<: *defaults" merges work). Unknown keys, repeated keys, values
// of the wrong type and fields that do not apply to a kind are errors; every error
// is a *FieldError naming the file, the line and the field
// (contact.yaml:31: workerGroups[1].behaviour.declineProbability: must be 0..1).
// Policies and queues are checked by upserting them into a scratch Router, so the
// library's own validation applies, with the field's path. Webhook rules are
// refused: a simulation does not wait on the network (use an expression, or a
// FuncRule from Go).
//
// A trace file is CSV with a header: a column "time" (seconds or a Go duration since
// the start, a time of day on the start's day, or an RFC 3339 timestamp), optional
// columns "handleTime", "wrapUp" and "patience" replacing the stream's draws for that
// job, and any other column as a job label. An empirical distribution is CSV of
// durations (seconds or Go durations), optionally weighted. Files are read relative
// to the scenario file.
//
// # What the KPIs mean
//
// Job KPIs count the jobs that arrived in the measurement window, from Start +
// WarmUp to Start + Duration, whenever they ended; the run goes on for up to Drain
// after Duration so that they can, and those still waiting then are "unanswered".
// A job is answered when a worker accepts its offer; its wait is from its arrival
// to then (offer-to-accept time included, as a caller hears it ring). Then:
//
//   - service level: answered within the threshold / arrived. Abandoned, cancelled
//     and unanswered jobs count against it (the strict definition; some tools
//     leave out the jobs abandoned within the threshold). Each queue may have its
//     own threshold (ServiceLevel.Queues);
//   - ASA and the wait percentiles: over the answered jobs;
//   - P(wait): the share of arrived jobs not offered to a worker the instant they
//     arrived (Erlang's probability of waiting: no worker was free);
//   - abandonment rate: the share of arrived jobs whose customers hung up;
//   - offers: the offers made for those jobs, by how they ended; "late" answers
//     are accepts and declines that came after the offer had expired or been
//     revoked, which the Router refused, as it would a real agent's;
//   - per queue, a job counts in the first queue it entered: an escalated job
//     counts where the customer called, with its whole wait;
//   - queue length: the jobs in queued status (offered or not), time-averaged and
//     at its largest, over the window and per interval;
//   - occupancy per worker group: the capacity held by jobs (from accept to close,
//     so handle time and wrap-up) over the capacity staffed. A worker is staffed
//     while on shift, including while the Router has deregistered it for a missed
//     offer, and after its shift while it finishes its jobs.
//
// The report's time series has one entry per Interval: jobs by arrival interval,
// queue lengths and occupancy over the interval.
//
// # Decisions of ours
//
// Where neither the library nor Azure Job Router says, the simulator decides:
//
//   - A worker that misses an offer is deregistered by the Router, as in Azure
//     (RouterOptions.KeepWorkersOnOfferExpiry turns that off); the simulated agent
//     registers again after Behaviour.ReregisterAfter, if still on shift.
//   - A job is closed with disposition "Resolved" by CloseJob with CloseAt at the
//     end of its wrap-up, so the Router itself holds the capacity during wrap-up;
//     an abandoned job is cancelled with disposition "Abandoned".
//   - Handle times belong to the job (drawn when it arrives), scaled by the
//     accepting group's HandleTimeFactor: the same customer takes the same time
//     in every variant of a comparison.
//   - Router.Options.MaxJobAge defaults to never in a simulation (RouterOptions).
//   - Jobs that are done are deleted from the Router, so long runs keep a flat
//     memory.
//   - Every worker answers each offer on its own, so with MaxConcurrentOffers above
//     1 the quickest one gets the job and the others' accepts arrive late.
//   - At one instant, the Router's deadlines fire first (AdvanceTo), then the
//     simulator's events in the order they were scheduled: an answer at the very
//     instant its offer expires is late, as the library says.
//   - Times of day are taken in Start's location, and every day is 24 hours long
//     from the midnight of Start's day (a daylight-saving change is not followed).
//
// # Erlang C and Erlang A
//
// ErlangC and ErlangA compute the steady state of the M/M/c and M/M/c+M queues.
// The tests check them against published values and closed forms, and check the
// simulator against them: one queue, Poisson arrivals, exponential handle times,
// c agents, LongestIdle, instant answers, with and without abandonment. Run the
// long version with
//
//	SIM_LONG=1 go test -run Validation -v -timeout 30m ./sim/
//
// # How it reads the Router's events
//
// The simulator reads a Synchronous Subscription: it has no goroutine, and its
// events are queued under the Router's lock before each call returns. So when a
// step's calls have returned, one Subscription.Poll takes every event they caused,
// in order, and the simulator handles them all before it moves time on; nothing can
// still be on its way. RunStats.Events counts the events it read.
package sim
