package jobrouter

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// allJobs pages through ListJobs with opts and returns every page.
func allJobs(t *testing.T, r *Router, opts ListJobsOptions) [][]Job {
	t.Helper()
	var pages [][]Job
	for {
		p, err := r.ListJobs(ctx, &opts)
		require.NoError(t, err)
		pages = append(pages, p.Jobs)
		if p.ContinuationToken == "" {
			return pages
		}
		require.Len(t, p.Jobs, effectiveSize(opts.PageSize), "only the last page is short")
		opts.ContinuationToken = p.ContinuationToken
	}
}

func effectiveSize(n int) int {
	if n == 0 {
		return DefaultPageSize
	}
	return n
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func jobID(j Job) string { return j.ID }

func TestListJobs_PagesEveryJobOnceInIDOrder(t *testing.T) {
	f := newFixture(t, &Options{ManualTime: true})
	const n = 2500
	// Created in an order unlike ID order, so that ID order is the index's doing.
	for i := 0; i < n; i++ {
		f.job(fmt.Sprintf("job-%04d", (i*7919)%n))
	}
	pages := allJobs(t, f.r, ListJobsOptions{PageSize: 100})
	require.Len(t, pages, 25)
	var got []string
	for _, p := range pages {
		require.Len(t, p, 100)
		got = append(got, ids(p, jobID)...)
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("job-%04d", i)
	}
	require.Equal(t, want, got, "each job exactly once, in ID order")

	// nil options: the first DefaultPageSize jobs.
	first, err := f.r.ListJobs(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, want[:DefaultPageSize], ids(first.Jobs, jobID))
	require.NotEmpty(t, first.ContinuationToken)

	// The largest page.
	big, err := f.r.ListJobs(ctx, &ListJobsOptions{PageSize: MaxPageSize})
	require.NoError(t, err)
	require.Len(t, big.Jobs, MaxPageSize)
}

func TestListJobs_LastPageHasNoToken(t *testing.T) {
	f := newFixture(t, nil)
	p, err := f.r.ListJobs(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, JobPage{Jobs: []Job{}}, p, "no jobs: an empty last page")
	for i := 0; i < 4; i++ {
		f.job(fmt.Sprintf("j%d", i))
	}
	// Exactly a page: the token would lead to nothing, so there is none.
	p, err = f.r.ListJobs(ctx, &ListJobsOptions{PageSize: 4})
	require.NoError(t, err)
	require.Len(t, p.Jobs, 4)
	require.Empty(t, p.ContinuationToken)
	p, err = f.r.ListJobs(ctx, &ListJobsOptions{PageSize: 3})
	require.NoError(t, err)
	require.NotEmpty(t, p.ContinuationToken)
	p, err = f.r.ListJobs(ctx, &ListJobsOptions{PageSize: 3, ContinuationToken: p.ContinuationToken})
	require.NoError(t, err)
	require.Equal(t, []string{"j3"}, ids(p.Jobs, jobID))
	require.Empty(t, p.ContinuationToken)
}

func TestListJobs_FiltersWithPaging(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.r.UpsertQueue(ctx, Queue{ID: "q2", DistributionPolicyID: "p"})
	require.NoError(t, err)
	var wantQ2, wantSched, wantCancelled []string
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("j%03d", i)
		j := Job{ID: id, ChannelID: "voice", QueueID: "q"}
		if i%3 == 0 {
			j.QueueID = "q2"
		}
		if i%5 == 0 {
			j.MatchingMode = ScheduleAndSuspendMode{ScheduleAt: start.Add(time.Duration(i) * time.Minute)}
		}
		_, err := f.r.CreateJob(ctx, j)
		require.NoError(t, err)
		if i%7 == 0 {
			require.NoError(t, f.r.CancelJob(ctx, id, nil))
		}
		if j.QueueID == "q2" && i%7 != 0 {
			wantQ2 = append(wantQ2, id)
		}
		if i%5 == 0 && i > 100 {
			wantSched = append(wantSched, id)
		}
		if i%7 == 0 {
			wantCancelled = append(wantCancelled, id)
		}
	}
	flat := func(pages [][]Job) []string {
		var out []string
		for _, p := range pages {
			out = append(out, ids(p, jobID)...)
		}
		return out
	}
	require.Equal(t, wantQ2, flat(allJobs(t, f.r, ListJobsOptions{QueueID: "q2", Active: true, PageSize: 7})))
	require.Equal(t, wantSched, flat(allJobs(t, f.r, ListJobsOptions{ScheduledAfter: start.Add(100 * time.Minute), PageSize: 9})))
	require.Equal(t, wantCancelled, flat(allJobs(t, f.r, ListJobsOptions{Status: JobStatusCancelled, PageSize: 10})))
	require.Empty(t, flat(allJobs(t, f.r, ListJobsOptions{ChannelID: "chat", PageSize: 10})))
	for _, p := range allJobs(t, f.r, ListJobsOptions{Status: JobStatusCancelled, PageSize: 10}) {
		for _, j := range p {
			require.Equal(t, JobStatusCancelled, j.Status)
		}
	}
}

// A token names the last ID returned: after deletions and insertions, the next page
// starts right after it, and nothing is returned twice.
func TestListJobs_TokenSurvivesChanges(t *testing.T) {
	f := newFixture(t, nil)
	for i := 0; i < 10; i++ {
		f.job(fmt.Sprintf("j%d", i))
	}
	p, err := f.r.ListJobs(ctx, &ListJobsOptions{PageSize: 4})
	require.NoError(t, err)
	require.Equal(t, []string{"j0", "j1", "j2", "j3"}, ids(p.Jobs, jobID))

	// Delete the last job returned and the next one; add one before and one after.
	for _, id := range []string{"j3", "j4"} {
		require.NoError(t, f.r.CancelJob(ctx, id, nil))
		require.NoError(t, f.r.DeleteJob(ctx, id))
	}
	f.job("j0a") // sorts before the token: not seen by this walk
	f.job("j5a") // sorts after: seen
	next, err := f.r.ListJobs(ctx, &ListJobsOptions{PageSize: 4, ContinuationToken: p.ContinuationToken})
	require.NoError(t, err)
	require.Equal(t, []string{"j5", "j5a", "j6", "j7"}, ids(next.Jobs, jobID))
	last, err := f.r.ListJobs(ctx, &ListJobsOptions{PageSize: 4, ContinuationToken: next.ContinuationToken})
	require.NoError(t, err)
	require.Equal(t, []string{"j8", "j9"}, ids(last.Jobs, jobID))
	require.Empty(t, last.ContinuationToken)

	// A token for a list that has since emptied gives an empty last page.
	for i := 5; i < 10; i++ {
		require.NoError(t, f.r.CancelJob(ctx, fmt.Sprintf("j%d", i), nil))
		require.NoError(t, f.r.DeleteJob(ctx, fmt.Sprintf("j%d", i)))
	}
	require.NoError(t, f.r.CancelJob(ctx, "j5a", nil))
	require.NoError(t, f.r.DeleteJob(ctx, "j5a"))
	empty, err := f.r.ListJobs(ctx, &ListJobsOptions{PageSize: 4, ContinuationToken: p.ContinuationToken})
	require.NoError(t, err)
	require.Empty(t, empty.Jobs)
	require.Empty(t, empty.ContinuationToken)
}

func TestList_PageSizeAndTokenValidation(t *testing.T) {
	f := newFixture(t, nil)
	f.worker("w1", 1)
	f.worker("w2", 1)
	f.job("a")
	f.job("b")
	jobs, err := f.r.ListJobs(ctx, &ListJobsOptions{PageSize: 1})
	require.NoError(t, err)
	workers, err := f.r.ListWorkers(ctx, &ListWorkersOptions{PageSize: 1})
	require.NoError(t, err)
	require.NotEmpty(t, jobs.ContinuationToken)
	require.NotEmpty(t, workers.ContinuationToken)

	raw := func(b ...byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	bad := map[string]string{
		"not base64":          "%%%",
		"padded base64":       base64.URLEncoding.EncodeToString([]byte{1, 3, 'j', 'o', 'b', 'a'}) + "=",
		"only a version":      raw(1),
		"unknown version":     raw(2, 3, 'j', 'o', 'b', 'a'),
		"no ID":               raw(1, 3, 'j', 'o', 'b'),
		"length past the end": raw(1, 9, 'j', 'o', 'b'),
		"another list's":      workers.ContinuationToken,
		"too long":            string(make([]byte, 5000)),
	}
	for name, tok := range bad {
		_, err := f.r.ListJobs(ctx, &ListJobsOptions{ContinuationToken: tok})
		require.ErrorIs(t, err, ErrInvalidArgument, name)
	}
	_, err = f.r.ListWorkers(ctx, &ListWorkersOptions{ContinuationToken: jobs.ContinuationToken})
	require.ErrorIs(t, err, ErrInvalidArgument, "a job token is not a worker token")
	_, err = f.r.ListQueues(ctx, &ListOptions{ContinuationToken: "%%%"})
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = f.r.ListDistributionPolicies(ctx, &ListOptions{ContinuationToken: jobs.ContinuationToken})
	require.ErrorIs(t, err, ErrInvalidArgument)

	for _, size := range []int{-1, MaxPageSize + 1} {
		_, err = f.r.ListJobs(ctx, &ListJobsOptions{PageSize: size})
		require.ErrorIs(t, err, ErrInvalidArgument, size)
		_, err = f.r.ListWorkers(ctx, &ListWorkersOptions{PageSize: size})
		require.ErrorIs(t, err, ErrInvalidArgument, size)
		_, err = f.r.ListQueues(ctx, &ListOptions{PageSize: size})
		require.ErrorIs(t, err, ErrInvalidArgument, size)
		_, err = f.r.ListDistributionPolicies(ctx, &ListOptions{PageSize: size})
		require.ErrorIs(t, err, ErrInvalidArgument, size)
	}
	// The filters of ListJobs and ListWorkers are still checked.
	_, err = f.r.ListJobs(ctx, &ListJobsOptions{Status: "active"})
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = f.r.ListWorkers(ctx, &ListWorkersOptions{State: "busy"})
	require.ErrorIs(t, err, ErrInvalidArgument)
}

// Tokens are opaque but carry any ID intact, whatever its bytes.
func TestPageToken_RoundTrip(t *testing.T) {
	for _, id := range []string{"a", "job-0001", "\xff\xfe not utf-8", "with/slash+plus=eq", string(make([]byte, 256))} {
		got, ok := decodeToken("job", encodeToken("job", id))
		require.True(t, ok, id)
		require.Equal(t, id, got)
		_, ok = decodeToken("worker", encodeToken("job", id))
		require.False(t, ok)
	}
}

func TestListWorkers_FiltersWithPaging(t *testing.T) {
	f := newFixture(t, &Options{KeepWorkersOnOfferExpiry: true})
	var wantIdleVoice []string
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("w%02d", i)
		w := Worker{ID: id, Queues: []string{"q"}, Capacity: 1, AvailableForOffers: i%4 != 0,
			Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}}
		if i%2 == 0 {
			w.Channels = append(w.Channels, ChannelConfig{ChannelID: "chat", CapacityCostPerJob: 1})
		}
		_, err := f.r.UpsertWorker(ctx, w)
		require.NoError(t, err)
	}
	// Ten jobs: the ten longest-idle available workers are offered one each and hold
	// their capacity.
	for i := 0; i < 10; i++ {
		f.job(fmt.Sprintf("j%d", i))
	}
	all, err := f.r.ListWorkers(ctx, &ListWorkersOptions{PageSize: MaxPageSize})
	require.NoError(t, err)
	require.Len(t, all.Workers, 50)
	for _, w := range all.Workers {
		if w.State == WorkerStateActive && len(w.Offers) == 0 {
			wantIdleVoice = append(wantIdleVoice, w.ID)
		}
	}
	require.Len(t, wantIdleVoice, 50-13-10)

	collect := func(opts ListWorkersOptions) []string {
		var out []string
		for {
			p, err := f.r.ListWorkers(ctx, &opts)
			require.NoError(t, err)
			out = append(out, ids(p.Workers, func(w Worker) string { return w.ID })...)
			if p.ContinuationToken == "" {
				return out
			}
			opts.ContinuationToken = p.ContinuationToken
		}
	}
	require.Equal(t, wantIdleVoice, collect(ListWorkersOptions{State: WorkerStateActive, HasCapacity: true, ChannelID: "voice", PageSize: 4}))
	var wantChatInactive []string
	for i := 0; i < 50; i += 4 {
		wantChatInactive = append(wantChatInactive, fmt.Sprintf("w%02d", i))
	}
	require.Equal(t, wantChatInactive, collect(ListWorkersOptions{State: WorkerStateInactive, ChannelID: "chat", QueueID: "q", PageSize: 3}))
	require.Empty(t, collect(ListWorkersOptions{QueueID: "other", PageSize: 3}))
}

func TestListQueuesAndPolicies_Paged(t *testing.T) {
	f := newFixture(t, nil)
	for i := 0; i < 5; i++ {
		_, err := f.r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: fmt.Sprintf("p%d", i), OfferExpiresAfter: time.Minute, Mode: RoundRobinMode{}})
		require.NoError(t, err)
		_, err = f.r.UpsertQueue(ctx, Queue{ID: fmt.Sprintf("q%d", i), DistributionPolicyID: "p"})
		require.NoError(t, err)
	}
	var qs []string
	opts := &ListOptions{PageSize: 2}
	for {
		p, err := f.r.ListQueues(ctx, opts)
		require.NoError(t, err)
		require.LessOrEqual(t, len(p.Queues), 2)
		qs = append(qs, ids(p.Queues, func(q Queue) string { return q.ID })...)
		if p.ContinuationToken == "" {
			break
		}
		opts.ContinuationToken = p.ContinuationToken
	}
	require.Equal(t, []string{"q", "q0", "q1", "q2", "q3", "q4"}, qs)

	first, err := f.r.ListDistributionPolicies(ctx, &ListOptions{PageSize: 4})
	require.NoError(t, err)
	require.Equal(t, []string{"p", "p0", "p1", "p2"}, ids(first.DistributionPolicies, func(p DistributionPolicy) string { return p.ID }))
	rest, err := f.r.ListDistributionPolicies(ctx, &ListOptions{PageSize: 4, ContinuationToken: first.ContinuationToken})
	require.NoError(t, err)
	require.Equal(t, []string{"p3", "p4"}, ids(rest.DistributionPolicies, func(p DistributionPolicy) string { return p.ID }))
	require.Empty(t, rest.ContinuationToken)

	all, err := f.r.ListQueues(ctx, nil)
	require.NoError(t, err)
	require.Len(t, all.Queues, 6)
	require.Empty(t, all.ContinuationToken)
}
