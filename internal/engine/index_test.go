package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIDIndex(t *testing.T) {
	var x idIndex // the zero value is an empty index
	walk := func(after string, max int) []string {
		var out []string
		x.ascendAfter(after, func(id string) bool {
			out = append(out, id)
			return len(out) < max
		})
		return out
	}
	require.Empty(t, walk("", 10))
	x.remove("absent") // harmless on an empty index
	for _, id := range []string{"c", "a", "e", "b", "d", "a"} {
		x.insert(id)
	}
	require.Equal(t, 5, x.len(), "inserting an ID twice keeps one")
	require.Equal(t, []string{"a", "b", "c", "d", "e"}, walk("", 10))
	require.Equal(t, []string{"d", "e"}, walk("c", 10), "strictly after")
	require.Equal(t, []string{"c", "d"}, walk("bb", 2), "after an absent ID: from the next one; stops when told")
	require.Empty(t, walk("e", 10))
	x.remove("c")
	x.remove("zz")
	require.Equal(t, []string{"a", "b", "d", "e"}, walk("", 10))
	require.Equal(t, []string{"d", "e"}, walk("c", 10), "after an ID since removed")
}

// naiveJobs is the reference ListJobs: sort every ID, filter, page.
func naiveJobs(e *Engine, f JobFilter) []string {
	var out []string
	for _, j := range e.jobs.sorted() {
		id := j.ID
		if id <= f.After && f.After != "" ||
			f.Status != "" && j.Status() != f.Status ||
			f.Active && j.st.terminal() ||
			f.QueueID != "" && j.QueueID() != f.QueueID ||
			f.ChannelID != "" && j.ChannelID() != f.ChannelID ||
			f.ClassificationPolicyID != "" && j.cold().ClassificationPolicyID != f.ClassificationPolicyID ||
			!f.ScheduledBefore.IsZero() && (j.cold().ScheduledAt.IsZero() || !j.cold().ScheduledAt.Before(f.ScheduledBefore)) ||
			!f.ScheduledAfter.IsZero() && (j.cold().ScheduledAt.IsZero() || !j.cold().ScheduledAt.After(f.ScheduledAfter)) {
			continue
		}
		out = append(out, id)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out
}

// naiveWorkers is the reference ListWorkers.
func naiveWorkers(e *Engine, f WorkerFilter) []string {
	ids := make([]string, 0, len(e.workers))
	for id := range e.workers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []string
	for _, id := range ids {
		w := e.workers[id]
		_, onChannel := w.channel(f.ChannelID)
		if id <= f.After && f.After != "" ||
			f.State != "" && w.state.State() != f.State ||
			f.QueueID != "" && !slices.Contains(w.Queues, f.QueueID) ||
			f.ChannelID != "" && !onChannel ||
			f.HasCapacity && !w.hasCapacity(f.ChannelID) {
			continue
		}
		out = append(out, id)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out
}

func jobIDs(js []Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.ID)
	}
	return out
}

func workerIDs(ws []Worker) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

// The indexed lists give what the naive ones give, over random creations, deletions,
// state changes and page requests.
func TestList_IndexMatchesNaiveReference(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0))
			f := newFixture(t)
			f.basic()
			pick := func(ids []string) string {
				if len(ids) == 0 {
					return ""
				}
				return ids[r.IntN(len(ids))]
			}
			for step := 0; step < 600; step++ {
				f.advance(time.Duration(r.IntN(20)) * time.Second)
				switch r.IntN(8) {
				case 0, 1:
					q := []string{"q", "q2"}[r.IntN(2)]
					j := Job{ID: fmt.Sprintf("j%03d", r.IntN(300)), QueueID: q, ChannelID: []string{voice, chat}[r.IntN(2)]}
					if r.IntN(4) == 0 {
						j.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: f.now.Add(time.Duration(1+r.IntN(100)) * time.Minute)}
					}
					_, _ = f.e.CreateJob(f.now, j)
				case 2:
					id := pick(naiveJobs(f.e, JobFilter{Active: true}))
					if id != "" {
						require.NoError(t, f.e.CancelJob(f.now, id, "", ""))
					}
				case 3:
					if id := pick(naiveJobs(f.e, JobFilter{Status: JobCancelled})); id != "" {
						require.NoError(t, f.e.DeleteJob(f.now, id))
					}
				case 4:
					w := agent(fmt.Sprintf("w%02d", r.IntN(40)), []string{"q", "q2"}[:1+r.IntN(2)]...)
					w.AvailableForOffers = r.IntN(3) > 0
					if r.IntN(2) == 0 {
						w.Channels = append(w.Channels, ChannelConfig{ChannelID: chat, CapacityCostPerJob: 1})
					}
					f.worker(w)
				case 5:
					if id := pick(naiveWorkers(f.e, WorkerFilter{})); id != "" {
						_ = f.e.DeleteWorker(f.now, id) // ErrConflict while it holds a job
					}
				case 6:
					for _, w := range f.e.ListWorkers(WorkerFilter{}) {
						if len(w.Offers) > 0 && r.IntN(2) == 0 {
							_, _, err := f.e.AcceptOffer(f.now, w.ID, w.Offers[0].ID)
							require.NoError(t, err)
						}
					}
				case 7:
					// Page through with random filters; every page matches the reference.
					jf := JobFilter{Limit: 1 + r.IntN(30)}
					switch r.IntN(5) {
					case 0:
						jf.Status = []JobStatus{JobQueued, JobAssigned, JobCancelled, JobScheduled}[r.IntN(4)]
					case 1:
						jf.Active = true
					case 2:
						jf.QueueID = "q2"
					case 3:
						jf.ChannelID = chat
					case 4:
						jf.ScheduledAfter = f.now.Add(time.Duration(r.IntN(50)) * time.Minute)
					}
					var all []string
					for {
						got := jobIDs(f.e.ListJobs(jf))
						require.Equal(t, naiveJobs(f.e, jf), got, "filter %+v", jf)
						all = append(all, got...)
						if len(got) < jf.Limit {
							break
						}
						jf.After = got[len(got)-1]
					}
					jf.After, jf.Limit = "", 0
					require.Equal(t, naiveJobs(f.e, jf), all, "pages joined = the whole list")

					wf := WorkerFilter{Limit: 1 + r.IntN(10), HasCapacity: r.IntN(2) == 0}
					switch r.IntN(3) {
					case 0:
						wf.State = []WorkerState{WorkerActive, WorkerInactive, WorkerDraining}[r.IntN(3)]
					case 1:
						wf.QueueID = "q2"
					case 2:
						wf.ChannelID = chat
					}
					for {
						got := workerIDs(f.e.ListWorkers(wf))
						require.Equal(t, naiveWorkers(f.e, wf), got, "filter %+v", wf)
						if len(got) < wf.Limit {
							break
						}
						wf.After = got[len(got)-1]
					}
				}
				require.Equal(t, f.e.jobs.len(), f.e.activeIDs.len()+f.e.doneIDs.len(), "the job indexes hold every job")
				require.Equal(t, len(f.e.workers), f.e.workerIDs.len(), "the worker index holds every worker")
			}
		})
	}
}

// BenchmarkListJobsPage lists one page of 100 from the middle of 200,000 jobs: the
// cost is a seek and the page, not the number of jobs.
func BenchmarkListJobsPage(b *testing.B) {
	e := New(Config{})
	now := t0
	_, _ = e.UpsertDistributionPolicy(now, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: Mode{Kind: LongestIdle}})
	_, _ = e.UpsertQueue(now, Queue{ID: "q", DistributionPolicyID: "p"})
	for i := 0; i < 200_000; i++ {
		if _, err := e.CreateJob(now, call(fmt.Sprintf("j%06d", i), "q")); err != nil {
			b.Fatal(err)
		}
	}
	e.TakeEvents()
	b.ResetTimer()
	for b.Loop() {
		if got := e.ListJobs(JobFilter{After: "j100000", Limit: 100}); len(got) != 100 {
			b.Fatal(len(got))
		}
	}
}

// Listing active jobs walks only the active ones: terminal jobs are not in that index.
func TestActiveIndexHoldsExactlyTheActiveJobs(t *testing.T) {
	f := newFixture(t)
	f.basic()
	for i := 0; i < 50; i++ {
		f.job(call(fmt.Sprintf("j%02d", i), "q"))
		if i%3 != 0 {
			require.NoError(t, f.e.CancelJob(f.now, fmt.Sprintf("j%02d", i), "", ""))
		}
	}
	require.Equal(t, 17, f.e.activeIDs.len())
	got := f.e.ListJobs(JobFilter{Status: JobQueued})
	require.Len(t, got, 17)
	require.Len(t, f.e.ListJobs(JobFilter{Active: true, Limit: 5}), 5)
	require.Len(t, f.e.ListJobs(JobFilter{Status: JobCancelled}), 33)
	require.NoError(t, f.e.DeleteJob(f.now, "j01"))
	require.Equal(t, 17, f.e.activeIDs.len())
}

// ListJobs without a status filter merges the active and the terminal jobs' indexes:
// every page, from every starting point and of every size, is the slice of the whole
// ID order, whichever index each job is in and whichever runs out first.
func TestListJobsMergesActiveAndTerminalJobs(t *testing.T) {
	f := newFixture(t)
	f.basic()
	// Runs of active and cancelled jobs of varied lengths; the first run cancelled.
	var all []string
	cancelled := map[string]bool{}
	for i, n := range []int{3, 1, 1, 4, 2, 1, 5, 2} {
		for k := range n {
			id := fmt.Sprintf("j%02d-%d", i, k)
			f.job(call(id, "q"))
			all = append(all, id)
			if i%2 == 0 {
				require.NoError(t, f.e.CancelJob(f.now, id, "", ""))
				cancelled[id] = true
			}
		}
	}
	f.job(call("j99", "q"))
	all = append(all, "j99")
	check := func() {
		t.Helper()
		require.Equal(t, len(all)-len(cancelled), f.e.activeIDs.len())
		require.Equal(t, len(cancelled), f.e.doneIDs.len())
		for start := -1; start < len(all); start++ {
			after := ""
			if start >= 0 {
				after = all[start]
			}
			for limit := 0; limit <= len(all); limit++ {
				want := all[start+1:]
				if limit > 0 && len(want) > limit {
					want = want[:limit]
				}
				if len(want) == 0 {
					want = nil // as jobIDs returns an empty list
				}
				got := jobIDs(f.e.ListJobs(JobFilter{After: after, Limit: limit}))
				require.Equal(t, want, got, "after %q, limit %d", after, limit)
			}
			// A terminal status walks the terminal index alone, in order.
			var wantDone []string
			for _, id := range all[start+1:] {
				if cancelled[id] {
					wantDone = append(wantDone, id)
				}
			}
			require.Equal(t, wantDone, jobIDs(f.e.ListJobs(JobFilter{After: after, Status: JobCancelled})), "after %q", after)
		}
	}
	check() // the last job active: the terminal index runs out first
	require.NoError(t, f.e.CancelJob(f.now, "j99", "", ""))
	cancelled["j99"] = true
	check() // the last job terminal: the active index runs out first
}

// BenchmarkJobIndexInsert inserts 100,000 jobs into a jobIndex, then removes them, in
// ascending ID order (a counter, B1's IDs) and in random order (version 4 UUIDs).
// Reported per job: one insert and one remove.
func BenchmarkJobIndexInsert(b *testing.B) {
	const n = 100_000
	jobs := make([]*jobState, n)
	for i := range jobs {
		jobs[i] = &jobState{ID: fmt.Sprintf("j%08d", i)}
	}
	shuffled := slices.Clone(jobs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, k int) { shuffled[i], shuffled[k] = shuffled[k], shuffled[i] })
	for _, c := range []struct {
		name string
		jobs []*jobState
	}{{"ascending", jobs}, {"random", shuffled}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var x jobIndex
				for _, j := range c.jobs {
					x.insert(j)
				}
				for _, j := range c.jobs {
					x.remove(j)
				}
				if x.len() != 0 {
					b.Fatal(x.len())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/job")
		})
	}
}
