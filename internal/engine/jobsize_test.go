package engine

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestJobStructsFitTheirSizeClasses: B4's bytes per queued job and
// B4ClosedJobMemory's bytes per closed job count these structs whole. One more word
// takes jobState from the 352-byte size class to the 384-byte one, jobAssignments
// from 64 to 80 bytes, jobExtra from 288 to 320, an entry of a job's assignment
// history from 112 to 128.
func TestJobStructsFitTheirSizeClasses(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(jobState{}), uintptr(352))
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
