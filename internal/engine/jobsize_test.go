package engine

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestJobStructsFitTheirSizeClasses: B4's bytes per queued job and
// B4ClosedJobMemory's bytes per closed job count these structs whole. One more word
// takes jobState from the 208-byte size class to the 224-byte one, jobAssignments
// from 64 to 80 bytes, jobExtra from 288 to 320, an entry of a job's assignment
// history from 112 to 128.
func TestJobStructsFitTheirSizeClasses(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(jobState{}), uintptr(208))
	require.LessOrEqual(t, unsafe.Sizeof(jobAssignments{}), uintptr(64))
	require.LessOrEqual(t, unsafe.Sizeof(jobExtra{}), uintptr(288))
	require.LessOrEqual(t, unsafe.Sizeof(assignRec{}), uintptr(112))
}

// TestAPlainJobNeedsNoJobExtra: a job with none of the jobExtra's fields set, queued,
// then assigned, completed and closed with a disposition code, never gets a jobExtra;
// its jobAssignments comes with the accept.
func TestAPlainJobNeedsNoJobExtra(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(call("j", "q"))
	j := f.e.jobs["j"]
	require.Nil(t, j.x)
	require.Nil(t, j.as)

	f.worker(agent("w", "q"))
	aid := f.accept("w", "j")
	require.Nil(t, j.x)
	require.NotNil(t, j.as)
	f.advance(time.Second)
	require.NoError(t, f.e.CompleteJob(f.now, "j", aid, ""))
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "Resolved", "", time.Time{}))
	require.Nil(t, j.x)
	got := f.getJob("j")
	require.Equal(t, JobClosed, got.Status)
	require.Equal(t, "Resolved", got.DispositionCode)
	require.Equal(t, f.now, got.Assignments[aid].ClosedAt)
}

// A job record keeps its status in a byte: every status has its own code, which
// gives the status back, and the codes agree with JobStatus.Terminal.
func TestStatusCodesRoundTrip(t *testing.T) {
	seen := map[JobStatus]bool{}
	for c := range statusCode(len(jobStatuses)) {
		s := c.status()
		require.NotEmpty(t, s, "code %d", c)
		require.False(t, seen[s], "status %s has two codes", s)
		seen[s] = true
		require.Equal(t, s.Terminal(), c.terminal(), "%s", s)
	}
	require.Len(t, seen, 12, "every JobStatus has a code")
}

// The queue-order B-trees read a job's key in place; CheckIndexes catches a key
// part changed while the job is in them: its priority without a requeue, or its
// EnqueuedAt breaking the order.
func TestCheckIndexesCatchesAQueueKeyChangedInPlace(t *testing.T) {
	f := newFixture(t)
	f.basic()
	// Each job holds an offer, so neither is in a job group: the queue order's own
	// checks are the ones that must see the change.
	w := agent("w", "q")
	w.Capacity, w.Channels[0].MaxNumberOfJobs = 2, 2
	f.worker(w)
	f.job(call("a", "q"))
	f.advance(time.Second)
	f.job(call("b", "q"))
	require.EqualValues(t, 2, f.e.workers["w"].nOffers)
	require.NoError(t, f.e.CheckIndexes())

	a := f.e.jobs["a"]
	a.Priority++
	require.ErrorContains(t, f.e.CheckIndexes(), `job "a": queued with key priority`)
	a.Priority--
	require.NoError(t, f.e.CheckIndexes())

	a.enqDelta = 2 * time.Second // a now enqueued after b, in place
	require.ErrorContains(t, f.e.CheckIndexes(), `job "b" after "a" against queue order`)
	a.enqDelta = 0
	require.NoError(t, f.e.CheckIndexes())
}

// A job record keeps EnqueuedAt as an offset from CreatedAt: a job queued later than
// it was created gives back the instant it was queued, with CreatedAt's location and
// monotonic reading: the very value a clock returned (== compares all three).
func TestEnqueuedAtIsGivenBackAsTheClockGaveIt(t *testing.T) {
	f := newFixture(t)
	f.basic()
	loc := time.FixedZone("UTC+5:30", 5*3600+1800)
	for _, created := range []time.Time{t0.In(loc), time.Now().In(loc)} { // the second has a monotonic reading
		id := "j" + created.Format("150405.000000000")
		j := call(id, "q")
		j.MatchingMode = MatchingMode{Kind: Suspend}
		_, err := f.e.CreateJob(created, j)
		require.NoError(t, err)
		require.True(t, f.getJob(id).EnqueuedAt.IsZero(), "never queued")

		queued := created.Add(90 * time.Second)
		j.MatchingMode = MatchingMode{Kind: QueueAndMatch}
		_, err = f.e.UpdateJob(queued, j)
		require.NoError(t, err)
		got := f.getJob(id)
		require.Equal(t, JobQueued, got.Status)
		require.True(t, got.CreatedAt == created, "CreatedAt %v, want %v", got.CreatedAt, created)
		require.True(t, got.EnqueuedAt == queued, "EnqueuedAt %v, want %v", got.EnqueuedAt, queued)
		f.now = queued
	}
}
