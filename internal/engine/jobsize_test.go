package engine

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestJobStructsFitTheirSizeClasses: B4's bytes per queued job and
// B4ClosedJobMemory's bytes per closed job count these structs whole. One more word
// takes jobState from the 224-byte size class to the 240-byte one, jobAssignments
// from 64 to 80 bytes, jobExtra from 288 to 320, an entry of a job's assignment
// history from 112 to 128.
func TestJobStructsFitTheirSizeClasses(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(jobState{}), uintptr(224))
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
	require.Len(t, f.e.workers["w"].offers, 2)
	require.NoError(t, f.e.CheckIndexes())

	a, b := f.e.jobs["a"], f.e.jobs["b"]
	a.Priority++
	require.ErrorContains(t, f.e.CheckIndexes(), `job "a": queued with key priority`)
	a.Priority--
	require.NoError(t, f.e.CheckIndexes())

	a.EnqueuedAt, b.EnqueuedAt = b.EnqueuedAt, a.EnqueuedAt
	require.ErrorContains(t, f.e.CheckIndexes(), `job "b" after "a" against queue order`)
	a.EnqueuedAt, b.EnqueuedAt = b.EnqueuedAt, a.EnqueuedAt
	require.NoError(t, f.e.CheckIndexes())
}
