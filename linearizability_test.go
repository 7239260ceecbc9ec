package jobrouter

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
)

// Linearizability: many goroutines (8 to 32) call the public Router at once on a few
// shared jobs, each job offered to several workers at the same time: they accept,
// decline, complete, close, cancel and read. Every call is recorded with its real
// invocation and response times, and porcupine checks that the history is
// linearizable against a sequential model of one job: some order of the calls,
// consistent with their real-time order, explains every result. In particular
// exactly one accept of a job wins and every other gets ErrNotFound; a call that
// fails changes nothing.
//
//	go test -race -run TestLinearizability .                        # 1,000 histories
//	LIN_HISTORIES=100000 go test -run TestLinearizability . -v      # more

const (
	linJobs         = 4 // shared jobs per history
	linWorkers      = 4 // workers offered each job at once
	linOpsPerClient = 12
)

type linOp uint8

const (
	linAccept linOp = iota
	linDecline
	linComplete
	linClose
	linCancel
	linGet
)

var linOpNames = [...]string{"accept", "decline", "complete", "close", "cancel", "get"}

type linInput struct {
	Op         linOp
	Job        int
	Worker     int // accept, decline: the worker (index) and its offer
	Offer      string
	Assignment string // complete, close: the assignment named ("" or made up: none)
}

// linErr is what the model sees of an error.
type linErr uint8

const (
	linOK linErr = iota
	linNotFound
	linConflict
	linOther
)

type linOutput struct {
	Err        linErr
	Detail     string // the error, for a report
	JobID      string // accept
	Assignment string // accept
	Status     JobStatus
}

// linState is the sequential model of one job.
type linState struct {
	Status     JobStatus
	Open       uint64 // bit i: worker i's offer is open
	Assignment string // "" until accepted
	Winner     int
}

func linJobID(j int) string { return "job-" + strconv.Itoa(j) }

// linModel is the sequential specification, partitioned by job (jobs are
// independent: each has its own queue and workers).
var linModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		parts := make([][]porcupine.Operation, linJobs)
		for _, op := range history {
			j := op.Input.(linInput).Job
			parts[j] = append(parts[j], op)
		}
		return parts
	},
	Init: func() any {
		return linState{Status: JobStatusQueued, Open: 1<<linWorkers - 1, Winner: -1}
	},
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(linState), input.(linInput), output.(linOutput)
		terminal := s.Status == JobStatusClosed || s.Status == JobStatusCancelled
		switch in.Op {
		case linAccept:
			if s.Status == JobStatusQueued && s.Open&(1<<in.Worker) != 0 {
				if out.Err != linOK || out.Assignment == "" || out.JobID != linJobID(in.Job) {
					return false, s
				}
				s.Status, s.Open, s.Assignment, s.Winner = JobStatusAssigned, 0, out.Assignment, in.Worker
				return true, s
			}
			return out.Err == linNotFound, s
		case linDecline:
			if s.Status == JobStatusQueued && s.Open&(1<<in.Worker) != 0 {
				s.Open &^= 1 << in.Worker
				return out.Err == linOK, s
			}
			return out.Err == linNotFound, s
		case linComplete:
			switch {
			case in.Assignment == "" || in.Assignment != s.Assignment:
				return out.Err == linNotFound, s
			case s.Status == JobStatusAssigned:
				s.Status = JobStatusCompleted
				return out.Err == linOK, s
			}
			return out.Err == linConflict, s
		case linClose:
			switch {
			case in.Assignment == "" || in.Assignment != s.Assignment:
				return out.Err == linNotFound, s
			case s.Status == JobStatusAssigned || s.Status == JobStatusCompleted:
				s.Status = JobStatusClosed
				return out.Err == linOK, s
			}
			return out.Err == linConflict, s
		case linCancel:
			if terminal {
				return out.Err == linConflict, s
			}
			s.Status, s.Open = JobStatusCancelled, 0
			return out.Err == linOK, s
		case linGet:
			return out.Err == linOK && out.Status == s.Status, s
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		res := "ok"
		if out.Err != linOK {
			res = out.Detail
		}
		switch in.Op {
		case linAccept, linDecline:
			return fmt.Sprintf("%s(%s, w%d, %s) → %s %s", linOpNames[in.Op], linJobID(in.Job), in.Worker, in.Offer, res, out.Assignment)
		case linComplete, linClose:
			return fmt.Sprintf("%s(%s, %q) → %s", linOpNames[in.Op], linJobID(in.Job), in.Assignment, res)
		case linGet:
			return fmt.Sprintf("get(%s) → %s", linJobID(in.Job), out.Status)
		}
		return fmt.Sprintf("%s(%s) → %s", linOpNames[in.Op], linJobID(in.Job), res)
	},
	DescribeState: func(state any) string {
		s := state.(linState)
		return fmt.Sprintf("%s open=%04b assignment=%q", s.Status, s.Open, s.Assignment)
	},
}

func linErrOf(err error) linErr {
	switch {
	case err == nil:
		return linOK
	case errors.Is(err, ErrNotFound):
		return linNotFound
	case errors.Is(err, ErrConflict):
		return linConflict
	}
	return linOther
}

// linHistory runs one concurrent history and returns it.
func linHistory(t *testing.T, seed uint64) []porcupine.Operation {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x11a))
	clients := 8 + rng.IntN(25) // 8..32 goroutines
	var idMu sync.Mutex
	ids := 0
	r, err := New(&Options{Clock: clock.NewMock(), NewID: func() string {
		idMu.Lock()
		defer idMu.Unlock()
		ids++
		return "id" + strconv.Itoa(ids)
	}})
	require.NoError(t, err)
	defer r.Close()
	_, err = r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Hour,
		Mode: LongestIdleMode{MinConcurrentOffers: linWorkers, MaxConcurrentOffers: linWorkers}})
	require.NoError(t, err)
	offers := make([][linWorkers]string, linJobs)
	for j := range linJobs {
		q := "q" + strconv.Itoa(j)
		_, err = r.UpsertQueue(ctx, Queue{ID: q, DistributionPolicyID: "p"})
		require.NoError(t, err)
		for i := range linWorkers {
			_, err = r.UpsertWorker(ctx, Worker{ID: fmt.Sprintf("%s-w%d", q, i), Queues: []string{q}, Capacity: 1,
				Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: true})
			require.NoError(t, err)
		}
		_, err = r.CreateJob(ctx, Job{ID: linJobID(j), ChannelID: "voice", QueueID: q})
		require.NoError(t, err)
		for i := range linWorkers {
			w, err := r.GetWorker(ctx, fmt.Sprintf("%s-w%d", q, i))
			require.NoError(t, err)
			require.Len(t, w.Offers, 1, "every worker of the job holds its offer")
			offers[j][i] = w.Offers[0].ID
		}
	}

	var (
		mu       sync.Mutex
		history  []porcupine.Operation
		won      [linJobs]string // assignment IDs, as clients learn them
		start    = make(chan struct{})
		wg       sync.WaitGroup
		startAt  = time.Now()
		clientRn = make([]*rand.Rand, clients)
	)
	for c := range clients {
		clientRn[c] = rand.New(rand.NewPCG(seed, uint64(c)))
	}
	stamp := func() int64 { return int64(time.Since(startAt)) }
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rn := clientRn[c]
			<-start
			for range linOpsPerClient {
				in := linInput{Job: rn.IntN(linJobs), Worker: rn.IntN(linWorkers)}
				switch n := rn.IntN(100); {
				case n < 30:
					in.Op = linAccept
				case n < 42:
					in.Op = linDecline
				case n < 58:
					in.Op = linComplete
				case n < 74:
					in.Op = linClose
				case n < 80:
					in.Op = linCancel
				default:
					in.Op = linGet
				}
				in.Offer = offers[in.Job][in.Worker]
				if in.Op == linComplete || in.Op == linClose {
					mu.Lock()
					in.Assignment = won[in.Job]
					mu.Unlock()
					if rn.IntN(5) == 0 {
						in.Assignment = "made-up"
					}
				}
				var out linOutput
				call := stamp()
				switch in.Op {
				case linAccept:
					res, err := r.AcceptJobOffer(ctx, fmt.Sprintf("q%d-w%d", in.Job, in.Worker), in.Offer)
					out = linOutput{Err: linErrOf(err), JobID: res.JobID, Assignment: res.AssignmentID}
					if err != nil {
						out.Detail = err.Error()
					}
				case linDecline:
					err := r.DeclineJobOffer(ctx, fmt.Sprintf("q%d-w%d", in.Job, in.Worker), in.Offer, nil)
					out = linOutput{Err: linErrOf(err)}
					if err != nil {
						out.Detail = err.Error()
					}
				case linComplete:
					err := r.CompleteJob(ctx, linJobID(in.Job), in.Assignment, nil)
					out = linOutput{Err: linErrOf(err)}
					if err != nil {
						out.Detail = err.Error()
					}
				case linClose:
					err := r.CloseJob(ctx, linJobID(in.Job), in.Assignment, nil)
					out = linOutput{Err: linErrOf(err)}
					if err != nil {
						out.Detail = err.Error()
					}
				case linCancel:
					err := r.CancelJob(ctx, linJobID(in.Job), nil)
					out = linOutput{Err: linErrOf(err)}
					if err != nil {
						out.Detail = err.Error()
					}
				case linGet:
					j, err := r.GetJob(ctx, linJobID(in.Job))
					out = linOutput{Err: linErrOf(err), Status: j.Status}
					if err != nil {
						out.Detail = err.Error()
					}
				}
				ret := stamp()
				mu.Lock()
				if in.Op == linAccept && out.Err == linOK {
					won[in.Job] = out.Assignment
				}
				history = append(history, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	// The final state, read after every client has returned.
	for j := range linJobs {
		call := stamp()
		job, err := r.GetJob(ctx, linJobID(j))
		require.NoError(t, err)
		history = append(history, porcupine.Operation{ClientId: clients, Input: linInput{Op: linGet, Job: j},
			Call: call, Output: linOutput{Status: job.Status}, Return: stamp()})
	}
	return history
}

func TestLinearizability(t *testing.T) {
	histories := 1000
	if s := os.Getenv("LIN_HISTORIES"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		histories = n
	}
	began := time.Now()
	ops, overlapping, wins, lost := 0, 0, 0, 0
	for seed := range uint64(histories) {
		h := linHistory(t, seed)
		ops += len(h)
		for i, a := range h {
			in, out := a.Input.(linInput), a.Output.(linOutput)
			if in.Op == linAccept && out.Err == linOK {
				wins++
			} else if in.Op == linAccept {
				lost++
			}
			for k, b := range h {
				if k != i && a.ClientId != b.ClientId && b.Call < a.Return && a.Call < b.Return {
					overlapping++ // a ran while another client's call was in flight
					break
				}
			}
		}
		res, info := porcupine.CheckOperationsVerbose(linModel, h, time.Minute)
		if res != porcupine.Ok {
			path := filepath.Join(t.TempDir(), fmt.Sprintf("history-%d.html", seed))
			if err := porcupine.VisualizePath(linModel, info, path); err == nil {
				t.Logf("visualization: %s", path)
			}
			t.Fatalf("history %d (%d operations) is %s", seed, len(h), res)
		}
	}
	t.Logf("%d histories, %d operations (%d concurrent with another client's), %d winning and %d losing accepts: 0 violations, in %v",
		histories, ops, overlapping, wins, lost, time.Since(began).Round(time.Millisecond))
	if runtime.GOMAXPROCS(0) == 1 {
		// One processor runs one client's call to its end before the next begins
		// (a call is far shorter than the scheduler's time slice), so no call
		// overlaps another and the check above had nothing concurrent to judge.
		t.Skip("GOMAXPROCS=1: no call overlapped another client's, so the histories were sequential")
	}
	require.Positive(t, overlapping, "some calls ran while another client's was in flight")
}

// TestLinearizabilityModelRejects makes sure the model has teeth: histories with two
// winning accepts, or a result no order explains, are not linearizable.
func TestLinearizabilityModelRejects(t *testing.T) {
	op := func(client int, in linInput, out linOutput, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
	}
	twoWinners := []porcupine.Operation{
		op(0, linInput{Op: linAccept, Worker: 0}, linOutput{JobID: linJobID(0), Assignment: "a1"}, 0, 10),
		op(1, linInput{Op: linAccept, Worker: 1}, linOutput{JobID: linJobID(0), Assignment: "a2"}, 1, 11),
	}
	require.False(t, porcupine.CheckOperations(linModel, twoWinners))
	oneWinner := []porcupine.Operation{
		op(0, linInput{Op: linAccept, Worker: 0}, linOutput{JobID: linJobID(0), Assignment: "a1"}, 0, 10),
		op(1, linInput{Op: linAccept, Worker: 1}, linOutput{Err: linNotFound}, 1, 11),
	}
	require.True(t, porcupine.CheckOperations(linModel, oneWinner))
	staleRead := []porcupine.Operation{
		op(0, linInput{Op: linCancel}, linOutput{}, 0, 10),
		op(1, linInput{Op: linGet}, linOutput{Status: JobStatusQueued}, 20, 30),
	}
	require.False(t, porcupine.CheckOperations(linModel, staleRead), "a read after the cancel returned sees it")
	completeBeforeAccept := []porcupine.Operation{
		op(0, linInput{Op: linComplete, Assignment: "a1"}, linOutput{}, 0, 5),
		op(1, linInput{Op: linAccept, Worker: 0}, linOutput{JobID: linJobID(0), Assignment: "a1"}, 10, 20),
	}
	require.False(t, porcupine.CheckOperations(linModel, completeBeforeAccept))
}
