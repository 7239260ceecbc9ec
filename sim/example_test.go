package sim_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/openjobrouter/jobrouter"
	"github.com/openjobrouter/jobrouter/sim"
)

// A scenario built in Go: eight agents on one queue, two calls a minute for four
// hours, three minutes each; callers hang up after two minutes on average.
func ExampleRun() {
	sc := &sim.Scenario{
		Name:     "helpdesk",
		Seed:     1,
		Duration: 4 * time.Hour,
		WarmUp:   30 * time.Minute,
		DistributionPolicies: []jobrouter.DistributionPolicy{{ID: "longest-idle",
			OfferExpiresAfter: 30 * time.Second, Mode: jobrouter.LongestIdleMode{}}},
		Queues: []jobrouter.Queue{{ID: "support", DistributionPolicyID: "longest-idle"}},
		WorkerGroups: []sim.WorkerGroup{{Name: "agent", Count: 8, Queues: []string{"support"},
			Channels: []jobrouter.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}}},
		Arrivals: []sim.ArrivalStream{{Name: "calls", QueueID: "support", ChannelID: "voice",
			Process:    sim.Poisson{PerHour: 120},
			HandleTime: sim.Exponential{Mean: 3 * time.Minute},
			Patience:   sim.Exponential{Mean: 2 * time.Minute}}},
	}
	rep, err := sim.Run(context.Background(), sc, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	k := rep.Overall
	fmt.Printf("%d calls, %d answered, %d abandoned\n", k.Arrived, k.Answered, k.Abandoned)
	fmt.Printf("service level %.1f%% within %.0fs, ASA %.1fs\n", 100*k.ServiceLevel, k.ThresholdSeconds, k.ASASeconds)
	fmt.Printf("occupancy %.1f%%\n", 100*rep.WorkerGroups[0].Occupancy)
	// Output:
	// 405 calls, 387 answered, 18 abandoned
	// service level 86.7% within 20s, ASA 4.9s
	// occupancy 65.1%
}

// A scenario in YAML; Load reads the same from a file.
func ExampleParse() {
	sc, err := sim.Parse([]byte(`
name: chat-desk
seed: 3
duration: 2h
distributionPolicies:
  - {id: li, offerExpiresAfter: 1m, mode: {kind: longestIdle}}
queues:
  - {id: chat, distributionPolicyId: li}
workerGroups:
  - name: agent
    count: 3
    queues: [chat]
    capacity: 3
    channels: [{channelId: chat, capacityCostPerJob: 1}]
arrivals:
  - name: chats
    queueId: chat
    channelId: chat
    process: {kind: poisson, perHour: 40}
    handleTime: {dist: lognormal, mean: 8m, stddev: 4m}
`), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := sim.Run(context.Background(), sc, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d chats, %.0f%% answered within 20 s\n", rep.Overall.Arrived, 100*rep.Overall.ServiceLevel)

	_, err = sim.Parse([]byte("name: x\nduration: 2 hours\n"), "bad.yaml")
	fmt.Println(err)
	// Output:
	// 78 chats, 100% answered within 20 s
	// bad.yaml:2: duration: want a duration such as "90s", "4m30s", "1h" (or a number of seconds), got "2 hours"
}

// Two staffing levels on the same arrivals (the same seed: common random numbers).
func ExampleWriteComparison() {
	mk := func(agents int) *sim.Scenario {
		return &sim.Scenario{
			Seed: 7, Duration: 8 * time.Hour,
			DistributionPolicies: []jobrouter.DistributionPolicy{{ID: "li", OfferExpiresAfter: time.Minute,
				Mode: jobrouter.LongestIdleMode{}}},
			Queues: []jobrouter.Queue{{ID: "q", DistributionPolicyID: "li"}},
			WorkerGroups: []sim.WorkerGroup{{Name: "agent", Count: agents, Queues: []string{"q"},
				Channels: []jobrouter.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}}},
			Arrivals: []sim.ArrivalStream{{Name: "calls", QueueID: "q", ChannelID: "voice",
				Process: sim.Poisson{PerHour: 100}, HandleTime: sim.Exponential{Mean: 4 * time.Minute},
				Patience: sim.Exponential{Mean: 3 * time.Minute}}},
		}
	}
	var reps []*sim.Report
	for _, n := range []int{8, 9} {
		rep, err := sim.Run(context.Background(), mk(n), nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		reps = append(reps, rep)
	}
	_ = sim.WriteComparison(os.Stdout, []string{"8 agents", "9 agents"}, reps)
	// Output:
	// KPI                 8 agents  9 agents  Δ 9 agents
	//
	// overall
	//   arrived                808       808          +0
	//   answered               727       761         +34
	//   service level        66.3%     77.2%    +10.9 pp
	//   ASA                  18.9s     10.9s       -8.0s
	//   P(wait)              40.7%     28.7%    -12.0 pp
	//   wait p90             1m11s     46.8s      -23.8s
	//   wait p99             2m44s     1m46s      -57.9s
	//   abandon rate         10.0%      5.8%     -4.2 pp
	//   cancelled                0         0          +0
	//   unanswered               0         0          +0
	//   queue length avg      0.59      0.34       -0.25
	//   queue length max         7         6          -1
	//   offers issued          727       761         +34
	//   offers declined          0         0          +0
	//   offers expired           0         0          +0
	//
	// queue q
	//   arrived                808       808          +0
	//   answered               727       761         +34
	//   service level        66.3%     77.2%    +10.9 pp
	//   ASA                  18.9s     10.9s       -8.0s
	//   P(wait)              40.7%     28.7%    -12.0 pp
	//   wait p90             1m11s     46.8s      -23.8s
	//   wait p99             2m44s     1m46s      -57.9s
	//   abandon rate         10.0%      5.8%     -4.2 pp
	//   cancelled                0         0          +0
	//   unanswered               0         0          +0
	//   queue length avg      0.59      0.34       -0.25
	//   queue length max         7         6          -1
	//   offers issued          727       761         +34
	//   offers declined          0         0          +0
	//   offers expired           0         0          +0
	//
	// worker group agent
	//   staffed avg           8.00      9.00       +1.00
	//   occupancy            80.1%     74.7%     -5.4 pp
	//   handled                727       761         +34
	//   avg handle           4m19s     4m19s       +0.3s
}

// Staffing a queue with the Erlang C formula.
func ExampleErlangC() {
	for agents := 11; agents <= 14; agents++ {
		e := sim.ErlangC{ArrivalsPerHour: 200, MeanHandleTime: 3 * time.Minute, Agents: agents}
		fmt.Printf("%d agents: P(wait) %.1f%%, ASA %.1fs, %.1f%% answered within 20 s\n",
			agents, 100*e.WaitProbability(), e.ASA().Seconds(), 100*e.ServiceLevel(20*time.Second))
	}
	// Output:
	// 11 agents: P(wait) 68.2%, ASA 122.8s, 39.0% answered within 20 s
	// 12 agents: P(wait) 44.9%, ASA 40.4s, 64.0% answered within 20 s
	// 13 agents: P(wait) 28.5%, ASA 17.1s, 79.6% answered within 20 s
	// 14 agents: P(wait) 17.4%, ASA 7.8s, 88.8% answered within 20 s
}

// The same queue when callers hang up after two minutes on average.
func ExampleErlangA() {
	r := sim.ErlangA{ArrivalsPerHour: 200, MeanHandleTime: 3 * time.Minute, MeanPatience: 2 * time.Minute, Agents: 11}.Solve()
	fmt.Printf("P(wait) %.1f%%, %.1f%% abandon, ASA %.1fs\n", 100*r.WaitProbability, 100*r.AbandonProbability, r.ASA.Seconds())
	// Output:
	// P(wait) 38.3%, 9.4% abandon, ASA 9.8s
}
