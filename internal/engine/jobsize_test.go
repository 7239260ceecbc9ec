package engine

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestJobStructsFitTheirSizeClasses: B4's bytes per queued job and
// B4ClosedJobMemory's bytes per closed job count these structs whole. One more word
// takes jobState from the 160-byte size class to the 176-byte one, jobAssignments
// (its first entry of the assignment history included) from 176 to 192 bytes, an
// entry of a job's assignment history from 112 to 128; jobExtra (264 B) has three
// words of room in its 288-byte class.
func TestJobStructsFitTheirSizeClasses(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(jobState{}), uintptr(160))
	require.LessOrEqual(t, unsafe.Sizeof(jobAssignments{}), uintptr(176))
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
	j := f.e.storedJob("j")
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

	a := f.e.storedJob("a")
	a.Priority++
	require.ErrorContains(t, f.e.CheckIndexes(), `job "a": queued with key priority`)
	a.Priority--
	require.NoError(t, f.e.CheckIndexes())

	a.enqDelta = 2 * time.Second // a now enqueued after b, in place
	require.ErrorContains(t, f.e.CheckIndexes(), `job "b" after "a" against queue order`)
	a.enqDelta = 0
	require.NoError(t, f.e.CheckIndexes())
}

// A job record keeps EnqueuedAt as the distance between its wall time and
// CreatedAt's: a job queued later than it was created gives back the wall time the
// clock gave, in CreatedAt's location, without a monotonic reading. That holds when
// the clock's two readings part ways between the two instants (its wall time was
// stepped, or the system slept, which the monotonic reading does not count): a
// distance of monotonic readings would give back the wrong wall time.
func TestEnqueuedAtIsTheWallTimeTheClockGave(t *testing.T) {
	f := newFixture(t)
	f.basic()
	loc := time.FixedZone("UTC+5:30", 5*3600+1800)
	plain := t0.In(loc)
	mono := time.Now() // with a monotonic reading (In would strip it)
	later := mono.Add(2 * time.Minute)
	stepped := steppedWall(later.Add(time.Minute), time.Hour)
	require.Equal(t, time.Minute, stepped.Sub(later), "monotonic readings a minute apart")
	require.Equal(t, time.Hour+time.Minute, stepped.Round(0).Sub(later.Round(0)), "wall readings an hour more")
	for i, c := range []struct{ created, queued time.Time }{
		{plain, plain.Add(90 * time.Second)},
		{mono, mono.Add(90 * time.Second)},
		{later, stepped},
	} {
		id := fmt.Sprintf("j%d", i)
		j := call(id, "q")
		j.MatchingMode = MatchingMode{Kind: Suspend}
		_, err := f.e.CreateJob(c.created, j)
		require.NoError(t, err)
		require.True(t, f.getJob(id).EnqueuedAt.IsZero(), "never queued")

		j.MatchingMode = MatchingMode{Kind: QueueAndMatch}
		_, err = f.e.UpdateJob(c.queued, j)
		require.NoError(t, err)
		got := f.getJob(id)
		require.Equal(t, JobQueued, got.Status)
		require.True(t, got.CreatedAt == c.created, "CreatedAt %v, want %v", got.CreatedAt, c.created)
		require.True(t, got.EnqueuedAt == c.queued.Round(0), "case %d: EnqueuedAt %v, want %v", i, got.EnqueuedAt, c.queued.Round(0))
		f.now = c.queued
	}
}

// steppedWall returns t with its wall reading moved on by d (whole seconds) and its
// monotonic reading kept, as a clock reads after its wall time was stepped or the
// system slept. It writes time.Time's fields (wall: a monotonic flag, 33 bits of
// seconds since 1885, 30 of nanoseconds); the test above checks that the result
// reads as intended, so a change of that layout fails there, not silently.
func steppedWall(t time.Time, d time.Duration) time.Time {
	type layout struct {
		wall uint64
		ext  int64
		loc  *time.Location
	}
	p := (*layout)(unsafe.Pointer(&t))
	p.wall += uint64(d/time.Second) << 30
	return t
}

// enqueue takes a job out of queue order before its EnqueuedAt changes (the trees
// read it in place): re-queueing a queued job with a new EnqueuedAt leaves the
// order intact and moves the job. No caller does that today (a queued job is
// re-queued with its own EnqueuedAt), but one could.
func TestEnqueueWithANewTimeKeepsTheQueueOrderIntact(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(call("a", "q"))
	f.advance(time.Second)
	f.job(call("b", "q"))
	f.advance(time.Second)
	f.job(call("c", "q"))
	f.e.enqueue(f.now, f.e.storedJob("a"), f.now.Add(time.Minute)) // a now queued last
	require.NoError(t, f.e.CheckIndexes())
	require.Equal(t, 3, f.position("a").Position)
	require.Equal(t, 1, f.position("b").Position)
}

// A job's selectors record goes when it has no selector left: a job without
// selectors pays one nil pointer for them (B4).
func TestSelectorsRecordIsDroppedWhenEmpty(t *testing.T) {
	f := newFixture(t)
	f.basic()
	j := call("j", "q")
	j.RequestedWorkerSelectors = []Selector{{Key: "x", Op: "equal", Value: "y"}}
	f.job(j)
	require.NotNil(t, f.e.storedJob("j").sel)
	j.RequestedWorkerSelectors = nil
	_, err := f.e.UpdateJob(f.now, j)
	require.NoError(t, err)
	require.Nil(t, f.e.storedJob("j").sel)
	require.NoError(t, f.e.CancelJob(f.now, "j", "", ""))
	require.Nil(t, f.e.storedJob("j").sel)

	f.job(call("plain", "q"))
	require.Nil(t, f.e.storedJob("plain").sel)
}

// TestCheckIndexesCatchesABrokenOfferList: a job's open offers are a list through
// the offers with a count; CheckIndexes reports a count that disagrees with the
// list and an open offer missing from its job's list.
func TestCheckIndexesCatchesABrokenOfferList(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.policy("p2", Mode{Kind: LongestIdle, MaxConcurrentOffers: 2})
	f.queue("q3", "p2")
	f.worker(agent("w1", "q3"))
	f.worker(agent("w2", "q3"))
	f.job(call("j", "q3"))
	j := f.e.storedJob("j")
	require.EqualValues(t, 2, j.nOffers)
	require.NoError(t, f.e.CheckIndexes())

	j.nOffers++
	require.ErrorContains(t, f.e.CheckIndexes(), `job "j" (queued): 2 offers listed, 3 counted`)
	j.nOffers--

	second := j.offers.first.jlinks.next
	j.offers.first.jlinks.next = nil // the second offer is open but off the job's list
	require.ErrorContains(t, f.e.CheckIndexes(), "is not among job \"j\"'s offers")
	j.offers.first.jlinks.next = second
	require.NoError(t, f.e.CheckIndexes())
}
