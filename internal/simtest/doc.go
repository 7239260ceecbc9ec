// Package simtest is the deterministic simulation harness of the router's core: a
// seeded generator of operations, a simulator that applies them to internal/engine on
// a virtual clock (and to the naive reference router of internal/naive in lockstep),
// the invariants it checks after every operation, a shrinker for failing histories,
// and the decoder that turns fuzz input into operations. It is used by tests only.
//
// A run is a World (engine configuration; whether classification and exception
// policies take part) and a list of Ops. Each Op is a Kind and an Arg: the kind says
// what to do (create a job, accept an offer, move the clock onto the next deadline,
// upsert an exception policy, …), the Arg seeds every choice the operation makes
// against the state it meets (which job, which offer, which fields, valid or not). A
// recorded list therefore replays exactly, and any sub-list still runs, which is what
// lets Shrink cut a failing history of thousands of operations down to a handful.
//
// After every operation the simulator requires:
//   - the same results, errors, events and state digest from the naive router (in a
//     world without policies, which it does not model), or else from a twin engine
//     that is given the same commands but moved through time one deadline at a time;
//   - that a failed command announced nothing and left the state digest unchanged, and
//     returned a typed *engine.Error; that nothing panicked;
//   - the invariants of invariants.go: valid per-job and per-offer event paths with
//     gap-free sequence numbers, one active assignment per job, capacity and
//     eligibility at every offer, queue order and quiescence of matching, and exactly
//     the deadlines the state implies, none overdue;
//   - and the engine's own index checks (engine.Config.Checks).
//
// The same seed gives the same history byte for byte (Options.Text keeps it as text;
// Digest summarises it). TestSimulation runs many seeds; a failing seed prints the
// one command that replays it and its shrunk history. See RELIABILITY.md.
package simtest
