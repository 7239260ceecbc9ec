package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIntegrity_DeletingAPolicyUsedByAQueueIsAConflict(t *testing.T) {
	f := newFixture(t)
	f.basic()
	before := f.digest()
	requireCode(t, f.e.DeleteDistributionPolicy(f.now, "p"), CodeConflict)
	f.requireUnchanged(before)

	require.NoError(t, f.e.DeleteQueue(f.now, "q"))
	requireCode(t, f.e.DeleteDistributionPolicy(f.now, "p"), CodeConflict) // q2 still uses it
	require.NoError(t, f.e.DeleteQueue(f.now, "q2"))
	require.NoError(t, f.e.DeleteDistributionPolicy(f.now, "p"))
	_, err := f.e.GetDistributionPolicy("p")
	requireCode(t, err, CodeNotFound)
}

func TestIntegrity_DeletingAQueueWithAnActiveJobIsAConflict(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fixture)
	}{
		{"queued", func(f *fixture) { f.job(call("j", "q")) }},
		{"offered", func(f *fixture) {
			f.worker(agent("w", "q2", "q"))
			f.job(call("j", "q"))
			require.NoError(f.t, f.e.DeleteWorker(f.now, "w")) // offers revoked; the job stays
		}},
		{"assigned", func(f *fixture) {
			f.worker(agent("w", "q2", "q"))
			f.assign("w", "j", "q")
			w := agent("w", "q2") // stops listening on q while holding the job
			f.worker(w)
		}},
		{"waiting for activation", func(f *fixture) {
			j := call("j", "q")
			j.MatchingMode = MatchingMode{Kind: Suspend}
			f.job(j)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.basic()
			tc.setup(f)
			f.take()
			before := f.digest()
			requireCode(t, f.e.DeleteQueue(f.now, "q"), CodeConflict)
			f.requireUnchanged(before)

			// Once the job is terminal the queue can go.
			j := f.getJob("j")
			if j.Status == JobAssigned {
				for aid := range j.Assignments {
					require.NoError(t, f.e.CloseJob(f.now, "j", aid, "", "", time.Time{}))
				}
			} else {
				require.NoError(t, f.e.CancelJob(f.now, "j", "", ""))
			}
			require.NoError(t, f.e.DeleteQueue(f.now, "q"))
			_, err := f.e.GetQueue("q")
			requireCode(t, err, CodeNotFound)
		})
	}
}

func TestIntegrity_DeletingAQueueAWorkerListensOnIsAConflict(t *testing.T) {
	for _, available := range []bool{true, false} {
		f := newFixture(t)
		f.basic()
		w := agent("w", "q")
		w.AvailableForOffers = available
		f.worker(w)
		f.take()
		before := f.digest()
		requireCode(t, f.e.DeleteQueue(f.now, "q"), CodeConflict)
		f.requireUnchanged(before)

		w.Queues = nil
		f.worker(w)
		require.NoError(t, f.e.DeleteQueue(f.now, "q"))
	}
}

func TestIntegrity_UnknownReferencesAreNotFound(t *testing.T) {
	cases := []struct {
		name string
		call func(f *fixture) error
	}{
		{"queue with an unknown distribution policy", func(f *fixture) error {
			_, err := f.e.UpsertQueue(f.now, Queue{ID: "q3", DistributionPolicyID: "nope"})
			return err
		}},
		{"queue with an unknown exception policy", func(f *fixture) error {
			_, err := f.e.UpsertQueue(f.now, Queue{ID: "q3", DistributionPolicyID: "p", ExceptionPolicyID: "nope"})
			return err
		}},
		{"worker on an unknown queue", func(f *fixture) error {
			_, err := f.e.UpsertWorker(f.now, agent("w2", "q", "nope"))
			return err
		}},
		{"existing worker moved to an unknown queue", func(f *fixture) error {
			_, err := f.e.UpsertWorker(f.now, agent("w", "nope"))
			return err
		}},
		{"job in an unknown queue", func(f *fixture) error {
			_, err := f.e.CreateJob(f.now, call("j2", "nope"))
			return err
		}},
		{"job with an unknown classification policy", func(f *fixture) error {
			j := call("j2", "q")
			j.ClassificationPolicyID = "nope"
			_, err := f.e.CreateJob(f.now, j)
			return err
		}},
		{"job moved to an unknown queue", func(f *fixture) error {
			j := f.getJob("j")
			j.QueueID = "nope"
			_, err := f.e.UpdateJob(f.now, j)
			return err
		}},
		{"delete an unknown queue", func(f *fixture) error { return f.e.DeleteQueue(f.now, "nope") }},
		{"delete an unknown policy", func(f *fixture) error { return f.e.DeleteDistributionPolicy(f.now, "nope") }},
		{"delete an unknown worker", func(f *fixture) error { return f.e.DeleteWorker(f.now, "nope") }},
		{"get an unknown queue", func(f *fixture) error { _, err := f.e.GetQueue("nope"); return err }},
		{"get an unknown policy", func(f *fixture) error { _, err := f.e.GetDistributionPolicy("nope"); return err }},
		{"get an unknown worker", func(f *fixture) error { _, err := f.e.GetWorker("nope"); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.basic()
			f.worker(agent("w", "q"))
			f.job(call("j", "q"))
			f.take()
			before := f.digest()
			requireCode(t, tc.call(f), CodeNotFound)
			f.requireUnchanged(before)
		})
	}
}

// A classification policy (or a queue) that an active job uses cannot be deleted:
// the conflict names the active job with the lowest ID, and closed or cancelled
// jobs, which are not visited, do not block it.
func TestIntegrity_DeletingWhatAnActiveJobUsesNamesTheFirstActiveJob(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.classified(ClassificationPolicy{ID: "cp", FallbackQueueID: "q2"})
	for _, id := range []string{"a", "b", "c", "d"} {
		f.job(Job{ID: id, ChannelID: voice, ClassificationPolicyID: "cp"})
	}
	require.NoError(t, f.e.CancelJob(f.now, "a", "", ""))
	err := f.e.DeleteClassificationPolicy(f.now, "cp")
	requireCode(t, err, CodeConflict)
	require.ErrorContains(t, err, `used by active job "b"`)
	err = f.e.DeleteQueue(f.now, "q2")
	requireCode(t, err, CodeConflict)
	require.ErrorContains(t, err, `active job "b" is in it`)

	require.NoError(t, f.e.CancelJob(f.now, "b", "", ""))
	require.NoError(t, f.e.CancelJob(f.now, "d", "", ""))
	require.ErrorContains(t, f.e.DeleteClassificationPolicy(f.now, "cp"), `used by active job "c"`)
	require.ErrorContains(t, f.e.DeleteQueue(f.now, "q2"), `active job "c" is in it`)

	require.NoError(t, f.e.CancelJob(f.now, "c", "", ""))
	require.NoError(t, f.e.DeleteClassificationPolicy(f.now, "cp"))
	require.NoError(t, f.e.DeleteQueue(f.now, "q2"))
}
