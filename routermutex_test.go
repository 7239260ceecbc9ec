package jobrouter

import (
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/lockprobe"
)

// Outside the lockprobe build the Router's lock is exactly a sync.Mutex: its
// probe takes no room (a zero-size field placed last would be padded).
func TestRouterMutexIsAMutexOutsideTheProbeBuild(t *testing.T) {
	if lockprobe.Enabled {
		t.Skip("the lockprobe build times the lock")
	}
	require.Equal(t, unsafe.Sizeof(sync.Mutex{}), unsafe.Sizeof(routerMutex{}))
}
