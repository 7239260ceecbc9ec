//go:build lockprobe

package jobrouter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/lockprobe"
)

// Built with the lockprobe tag, the Router's lock is timed (internal/lockprobe, for
// the benchmarks): each call that takes it counts one span, a failed call too, and
// a span is no longer than the call that held it.
func TestLockProbeTimesTheRoutersLock(t *testing.T) {
	r := newManualRouter(t, nil)
	lockprobe.Reset()
	t0 := time.Now()
	_, err := r.CreateJob(ctx, Job{ID: "j", ChannelID: "voice", QueueID: "q"})
	call := time.Since(t0)
	require.NoError(t, err)
	held, n := lockprobe.Read()
	require.EqualValues(t, 1, n, "CreateJob takes the lock once")
	require.Positive(t, held)
	require.LessOrEqual(t, held, call)

	_, err = r.CreateJob(ctx, Job{ID: "j", ChannelID: "voice", QueueID: "q"})
	require.ErrorIs(t, err, ErrConflict)
	_, err = r.GetJob(ctx, "j")
	require.NoError(t, err)
	_, n = lockprobe.Read()
	require.EqualValues(t, 3, n)
}
