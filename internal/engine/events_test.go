package engine

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestEvents_PerJobOrderWithGapFreeSequenceNumbers(t *testing.T) {
	f := newFixture(t)
	f.policy("p", Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 3})
	f.queue("q", "p")
	var all []Event
	for _, id := range []string{"a", "b", "c"} {
		f.worker(agent(id, "q"))
		f.advance(time.Second)
	}
	all = append(all, f.take()...)
	f.job(call("j", "q"))
	all = append(all, f.take()...)
	f.advance(time.Second)
	aid := f.accept("b", "j")
	all = append(all, f.take()...)
	f.advance(time.Second)
	require.NoError(t, f.e.CompleteJob(f.now, "j", aid, ""))
	f.advance(time.Second)
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "", "", time.Time{}))
	all = append(all, f.take()...)

	require.Equal(t, []string{
		"JobReceived job=j",
		"JobQueued job=j",
		"OfferIssued job=j worker=a",
		"OfferIssued job=j worker=b",
		"OfferIssued job=j worker=c",
		"OfferAccepted job=j worker=b",
		"OfferRevoked job=j worker=a",
		"OfferRevoked job=j worker=c",
		"JobCompleted job=j worker=b",
		"JobClosed job=j worker=b",
	}, briefs(only(all, EvJobReceived, EvJobQueued, EvOfferIssued, EvOfferAccepted, EvOfferRevoked, EvJobCompleted, EvJobClosed)))

	for i, ev := range all {
		require.Equal(t, uint64(i+1), ev.Seq, "%d: %s", i, brief(ev))
		if i > 0 {
			require.False(t, ev.Time.Before(all[i-1].Time), "time never goes back: %s", brief(ev))
		}
	}
	require.Empty(t, f.take(), "TakeEvents forgets what it returned")
}

func TestEvents_CarryTheCommandsTime(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.advance(7 * time.Second)
	f.worker(agent("w", "q"))
	f.job(call("j", "q"))
	for _, ev := range f.take() {
		require.Equal(t, t0.Add(7*time.Second), ev.Time, brief(ev))
	}
}

func TestEvents_JobEventsCarryTheJobsFields(t *testing.T) {
	f := newFixture(t)
	f.basic()
	j := call("j", "q")
	j.ChannelReference = "ref"
	j.Priority = 4
	j.Labels = Labels{"a": "b"}
	j.Tags = Labels{"t": 1}
	f.job(j)
	evs := f.take()
	require.Equal(t, []EventType{EvJobReceived, EvJobQueued}, typesOf(evs))
	for _, ev := range evs {
		require.Equal(t, "j", ev.JobID)
		require.Equal(t, "q", ev.QueueID)
		require.Equal(t, voice, ev.ChannelID)
		require.Equal(t, "ref", ev.ChannelReference)
		require.Equal(t, 4, ev.JobPriority)
		require.Equal(t, Labels{"a": "b"}, ev.JobLabels)
		require.Equal(t, Labels{"t": 1}, ev.JobTags)
	}
	require.Equal(t, JobCreated, evs[0].JobStatus)
	require.Equal(t, JobQueued, evs[1].JobStatus)
}

// TestEventSize pins the size of Event: every event is copied several times on its
// way to a subscriber, and a stalled subscriber queues tens of thousands of them. A
// field that few events carry belongs in EventExtra.
func TestEventSize(t *testing.T) {
	t.Logf("unsafe.Sizeof(Event{}) = %d, unsafe.Sizeof(EventExtra{}) = %d", unsafe.Sizeof(Event{}), unsafe.Sizeof(EventExtra{}))
	require.LessOrEqual(t, unsafe.Sizeof(Event{}), uintptr(280))
}
