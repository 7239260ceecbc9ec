// Package engine is the router's core: a pure state machine over jobs, workers,
// queues, policies and offers. It has no goroutines, no locks, no clock and no I/O;
// every command takes the current time as an argument and every state change is
// recorded as an Event, which the caller takes with TakeEvents.
package engine
