//go:build lockprobe

package jobrouter

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/lockprobe"
)

// Built with the lockprobe tag, the Router's lock is timed (internal/lockprobe, for
// the benchmarks): each call that takes it counts one span, a failed call too, and
// the spans add up to the time it was held.
func TestLockProbeTimesTheRoutersLock(t *testing.T) {
	r := newManualRouter(t, nil)
	lockprobe.Reset()
	_, err := r.CreateJob(ctx, Job{ID: "j", ChannelID: "voice", QueueID: "q"})
	require.NoError(t, err)
	held, n := lockprobe.Read()
	require.EqualValues(t, 1, n, "CreateJob takes the lock once")
	require.Positive(t, held)

	_, err = r.CreateJob(ctx, Job{ID: "j", ChannelID: "voice", QueueID: "q"})
	require.ErrorIs(t, err, ErrConflict)
	_, err = r.GetJob(ctx, "j")
	require.NoError(t, err)
	_, n = lockprobe.Read()
	require.EqualValues(t, 3, n)
}
