package jobrouter

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// allEventTypes lists every public event type.
var allEventTypes = []EventType{
	EventTypeJobReceived, EventTypeJobClassified, EventTypeJobClassificationFailed,
	EventTypeJobQueued, EventTypeJobCompleted, EventTypeJobClosed, EventTypeJobCancelled,
	EventTypeJobExceptionTriggered, EventTypeJobWorkerSelectorsExpired,
	EventTypeJobUnassigned, EventTypeJobWaitingForActivation, EventTypeJobSchedulingFailed,
	EventTypeJobDeleted, EventTypeOfferIssued, EventTypeOfferAccepted,
	EventTypeOfferDeclined, EventTypeOfferExpired, EventTypeOfferRevoked,
	EventTypeWorkerRegistered, EventTypeWorkerDeregistered, EventTypeWorkerUpdated,
	EventTypeWorkerDeleted,
}

var testEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// newTestBus returns a bus that is closed when the test ends.
func newTestBus(t *testing.T, maxBacklog int) *bus {
	t.Helper()
	b := newBus(maxBacklog)
	t.Cleanup(func() { b.close(time.Second) })
	return b
}

// offerIssued returns a synthetic OfferIssued engine event.
func offerIssued(seq uint64, jobID, workerID, queueID string) engine.Event {
	return engine.Event{
		Seq: seq, Time: testEpoch.Add(time.Duration(seq) * time.Second), Type: engine.EvOfferIssued,
		JobID: jobID, WorkerID: workerID, QueueID: queueID, OfferID: "offer-" + jobID + "-" + workerID,
	}
}

// drain reads s until its channel is closed.
func drain(s *Subscription) []Event {
	var out []Event
	for ev := range s.Events() {
		out = append(out, ev)
	}
	return out
}

// collect drains s on another goroutine; receive the result once the channel closes.
func collect(s *Subscription) <-chan []Event {
	c := make(chan []Event, 1)
	go func() { c <- drain(s) }()
	return c
}

func seqs(evs []Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq()
	}
	return out
}

func TestBusDeliversInOrder(t *testing.T) {
	const n = 10_000
	b := newTestBus(t, 0)
	s := b.subscribe(nil)
	got := collect(s)

	// Publish in batches of varying size, as the Router does, while the reader reads.
	rng := rand.New(rand.NewPCG(1, 2))
	for seq := uint64(1); seq <= n; {
		size := 1 + rng.IntN(7)
		batch := make([]engine.Event, 0, size)
		for ; len(batch) < size && seq <= n; seq++ {
			batch = append(batch, offerIssued(seq, "j", "w", "q"))
		}
		b.publish(batch)
	}
	b.close(time.Minute)

	evs := <-got
	require.Equal(t, n, len(evs))
	for i, ev := range evs {
		oi, ok := ev.(OfferIssued)
		require.True(t, ok, "event %d is %T", i, ev)
		require.Equal(t, uint64(i+1), oi.Seq())
		require.Equal(t, testEpoch.Add(time.Duration(i+1)*time.Second), oi.Time())
		require.Equal(t, EventTypeOfferIssued, oi.Type())
	}
	require.NoError(t, s.Err())
}

func TestBusFilters(t *testing.T) {
	evs := []engine.Event{
		{Seq: 1, Type: engine.EvJobReceived, JobID: "j1", QueueID: "q1"},
		{Seq: 2, Type: engine.EvJobQueued, JobID: "j1", QueueID: "q1"},
		{Seq: 3, Type: engine.EvOfferIssued, JobID: "j1", WorkerID: "w1", QueueID: "q1"},
		{Seq: 4, Type: engine.EvOfferIssued, JobID: "j1", WorkerID: "w2", QueueID: "q1"},
		{Seq: 5, Type: engine.EvOfferAccepted, JobID: "j1", WorkerID: "w1", QueueID: "q1"},
		{Seq: 6, Type: engine.EvOfferRevoked, JobID: "j1", WorkerID: "w2", QueueID: "q1"},
		{Seq: 7, Type: engine.EvJobCompleted, JobID: "j1", WorkerID: "w1", QueueID: "q1"},
		{Seq: 8, Type: engine.EvJobClosed, JobID: "j1", WorkerID: "w1", QueueID: "q1"},
		{Seq: 9, Type: engine.EvWorkerRegistered, WorkerID: "w1", Extra: &engine.EventExtra{Queues: []string{"q1"}}},
		{Seq: 10, Type: engine.EvJobQueued, JobID: "j2", QueueID: "q2"},
		{Seq: 11, Type: engine.EvOfferIssued, JobID: "j2", WorkerID: "w1", QueueID: "q2"},
		{Seq: 12, Type: engine.EvWorkerDeleted, WorkerID: "w2"},
	}
	tests := []struct {
		name string
		opts *SubscribeOptions
		want []uint64
	}{
		{"nil", nil, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"zero", &SubscribeOptions{}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"one type", &SubscribeOptions{Types: []EventType{EventTypeOfferIssued}}, []uint64{3, 4, 11}},
		{"two types", &SubscribeOptions{Types: []EventType{EventTypeJobClosed, EventTypeOfferIssued}}, []uint64{3, 4, 8, 11}},
		{"unknown type", &SubscribeOptions{Types: []EventType{"NoSuchEvent"}}, nil},
		{"worker", &SubscribeOptions{WorkerID: "w1"}, []uint64{3, 5, 7, 8, 9, 11}},
		{"job", &SubscribeOptions{JobID: "j1"}, []uint64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"queue", &SubscribeOptions{QueueID: "q1"}, []uint64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"job and worker", &SubscribeOptions{JobID: "j2", WorkerID: "w1"}, []uint64{11}},
		{"type, worker and queue", &SubscribeOptions{Types: []EventType{EventTypeOfferIssued}, WorkerID: "w1", QueueID: "q2"}, []uint64{11}},
		{"disjoint", &SubscribeOptions{JobID: "j1", QueueID: "q2"}, nil},
	}
	b := newTestBus(t, 0)
	subs := make([]*Subscription, len(tests))
	results := make([]<-chan []Event, len(tests))
	for i, tt := range tests {
		subs[i] = b.subscribe(tt.opts)
		results[i] = collect(subs[i])
	}
	b.publish(evs[:5])
	b.publish(evs[5:])
	b.close(time.Minute)
	for i, tt := range tests {
		got := <-results[i]
		if tt.want == nil {
			require.Empty(t, got, tt.name)
		} else {
			require.Equal(t, tt.want, seqs(got), tt.name)
		}
		require.NoError(t, subs[i].Err(), tt.name)
	}
}

// engineFieldFor names the engine.Event field (or EventExtra field) a public event
// field is copied from.
func engineFieldFor(field string, workerEvent bool) string {
	switch field {
	case "Priority":
		return "JobPriority"
	case "Labels":
		if workerEvent {
			return "WorkerLabels"
		}
		return "JobLabels"
	case "Tags":
		if workerEvent {
			return "WorkerTags"
		}
		return "JobTags"
	case "ExpiredRequestedSelectors":
		return "RequestedSelectors"
	case "ExpiredAttachedSelectors":
		return "AttachedSelectors"
	case "OfferedAt":
		return "Time" // an offer is announced at the instant it is issued
	}
	return field
}

// engineField returns the field of ev named name, looking in ev.Extra when ev has no
// such field of its own.
func engineField(ev *engine.Event, name string) reflect.Value {
	if f := reflect.ValueOf(ev).Elem().FieldByName(name); f.IsValid() {
		return f
	}
	return reflect.ValueOf(ev.Extra).Elem().FieldByName(name)
}

// distinctEngineEvent fills every field of an engine event and of its EventExtra with
// a value that names the field (strings hold their own field name, maps a "from" key
// with it), so a field copied from the wrong source shows.
func distinctEngineEvent() engine.Event {
	ev := engine.Event{Extra: new(engine.EventExtra)}
	fill(reflect.ValueOf(&ev).Elem(), 0)
	fill(reflect.ValueOf(ev.Extra).Elem(), 100)
	return ev
}

// fill sets every field of the struct v to a distinct value; offset keeps the
// numbers and times of two structs apart.
func fill(v reflect.Value, offset int) {
	for i := 0; i < v.NumField(); i++ {
		f, name, n := v.Field(i), v.Type().Field(i).Name, offset+i
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(testEpoch.Add(time.Duration(n) * time.Minute)))
		case f.Kind() == reflect.String:
			f.SetString(name)
		case f.Kind() == reflect.Int:
			f.SetInt(int64(100 + n))
		case f.Kind() == reflect.Uint64:
			f.SetUint(uint64(1000 + n))
		case f.Type() == reflect.TypeFor[engine.Labels]():
			f.Set(reflect.ValueOf(engine.Labels{"from": name, "n": n, "ok": true, "f": 1.5}))
		case f.Type() == reflect.TypeFor[*labels.Set]():
			f.Set(reflect.ValueOf(labels.NewSet(engine.Labels{"from": name, "n": n, "ok": true, "f": 1.5}, "")))
		case f.Type() == reflect.TypeFor[[]string]():
			f.Set(reflect.ValueOf([]string{name, "x"}))
		case f.Type() == reflect.TypeFor[[]engine.ChannelConfig]():
			f.Set(reflect.ValueOf([]engine.ChannelConfig{{ChannelID: name, CapacityCostPerJob: 2, MaxNumberOfJobs: 3}}))
		case f.Type() == reflect.TypeFor[[]engine.Selector]():
			f.Set(reflect.ValueOf([]engine.Selector{{Key: name, Op: labels.GreaterThan, Value: 5,
				ExpiresAfter: time.Minute, Expedite: true, Expired: true, ExpiresAt: testEpoch}}))
		}
	}
}

func TestToEventCopiesEveryField(t *testing.T) {
	base := distinctEngineEvent()
	for _, typ := range allEventTypes {
		t.Run(string(typ), func(t *testing.T) {
			src := base
			src.Type = engine.EventType(typ)
			pub := toEvent(&src)
			require.NotNil(t, pub)
			require.Equal(t, typ, pub.Type())
			require.Equal(t, src.Seq, pub.Seq())
			require.Equal(t, src.Time, pub.Time())

			v := reflect.ValueOf(pub)
			require.Equal(t, reflect.Struct, v.Kind(), "events are delivered as values")
			require.Equal(t, string(typ), v.Type().Name())
			for i := 0; i < v.NumField(); i++ {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue // the embedded header, checked above
				}
				from := engineFieldFor(f.Name, strings.HasPrefix(string(typ), "Worker"))
				want := engineField(&src, from)
				require.True(t, want.IsValid(), "%s.%s: no engine field %s", typ, f.Name, from)
				got := v.Field(i)
				switch got := got.Interface().(type) {
				case Labels:
					if set, ok := want.Interface().(*labels.Set); ok {
						// A worker's labels: the engine's set, plus "Id" = the worker's ID.
						m := set.MapWith("Id", src.WorkerID)
						require.Equal(t, m, map[string]any(got), "%s.%s", typ, f.Name)
						require.Equal(t, "WorkerID", got["Id"])
						break
					}
					require.Equal(t, want.Interface(), map[string]any(got), "%s.%s", typ, f.Name)
					require.NotEqual(t, want.UnsafePointer(), reflect.ValueOf(got).UnsafePointer(),
						"%s.%s shares the engine's map", typ, f.Name)
				case []string:
					require.Equal(t, want.Interface(), got, "%s.%s", typ, f.Name)
					require.NotSame(t, &want.Interface().([]string)[0], &got[0], "%s.%s shares the engine's slice", typ, f.Name)
				case []ChannelConfig:
					require.Equal(t, []ChannelConfig{{ChannelID: from, CapacityCostPerJob: 2, MaxNumberOfJobs: 3}}, got)
				case []WorkerSelector:
					require.Equal(t, []WorkerSelector{{Key: from, LabelOperator: LabelOperatorGreaterThan, Value: 5,
						ExpiresAfter: time.Minute, Expedite: true, Status: SelectorStatusExpired, ExpiresAt: testEpoch}}, got)
				default:
					require.Equal(t, want.Interface(), got, "%s.%s", typ, f.Name)
				}
			}
		})
	}
	require.Nil(t, toEvent(&engine.Event{Type: "NoSuchEvent"}))
}

func TestToEventKeepsNilMaps(t *testing.T) {
	ev := toEvent(&engine.Event{Type: engine.EvJobQueued})
	require.Nil(t, ev.(JobQueued).Labels)
	require.Nil(t, ev.(JobQueued).Tags)
}

func TestBusEventsDoNotShareMaps(t *testing.T) {
	b := newTestBus(t, 0)
	s1, s2 := b.subscribe(nil), b.subscribe(nil)
	jobLabels := engine.Labels{"lang": "fr", "tier": 2}
	workerLabels := labels.NewSet(engine.Labels{"skill": "billing"}, "")
	queues := []string{"q1", "q2"}
	b.publish([]engine.Event{
		{Seq: 1, Type: engine.EvOfferIssued, WorkerID: "w", JobLabels: jobLabels, JobTags: jobLabels, WorkerLabels: workerLabels},
		{Seq: 2, Type: engine.EvWorkerRegistered, WorkerID: "w", WorkerLabels: workerLabels, Extra: &engine.EventExtra{Queues: queues}},
	})
	a1, a2 := (<-s1.Events()).(OfferIssued), (<-s2.Events()).(OfferIssued)
	a1.JobLabels["lang"] = "de"
	a1.JobTags["new"] = true
	a1.WorkerLabels["skill"] = "sales"
	require.Equal(t, Labels{"lang": "fr", "tier": 2}, a2.JobLabels)
	require.Equal(t, Labels{"lang": "fr", "tier": 2}, a2.JobTags)
	require.Equal(t, Labels{"skill": "billing", "Id": "w"}, a2.WorkerLabels)
	require.Equal(t, engine.Labels{"lang": "fr", "tier": 2}, jobLabels)
	require.Equal(t, []labels.Pair{{Key: "skill", Value: "billing"}}, workerLabels.Pairs())

	w1, w2 := (<-s1.Events()).(WorkerRegistered), (<-s2.Events()).(WorkerRegistered)
	w1.Labels["skill"] = "sales"
	w1.Queues[0] = "changed"
	require.Equal(t, Labels{"skill": "billing", "Id": "w"}, w2.Labels)
	require.Equal(t, []string{"q1", "q2"}, w2.Queues)
	require.Equal(t, []string{"q1", "q2"}, queues)
}

func TestBusOverflow(t *testing.T) {
	b := newTestBus(t, 0)
	s := b.subscribe(&SubscribeOptions{MaxBacklog: 10})
	other := b.subscribe(nil)
	// The backlog counts every event published and not yet received, including the
	// one the goroutine may be offering: ten unread events fit exactly.
	for seq := uint64(1); seq <= 10; seq++ {
		b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
	}
	require.NoError(t, s.Err())
	b.publish([]engine.Event{offerIssued(11, "j", "w", "q")})
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	var e *Error
	require.ErrorAs(t, s.Err(), &e)

	// Later publishes neither block nor panic, and the subscription has left the bus.
	for seq := uint64(12); seq <= 20; seq++ {
		b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
	}
	b.mu.Lock()
	require.Equal(t, []*Subscription{other}, b.index.all())
	b.mu.Unlock()

	// The channel yields the oldest events that the goroutine had put in its buffer
	// (all ten, or fewer if it had not got to them), in order from the first, then is
	// closed.
	requirePrefix(t, seqs(drain(s)), 10)
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	s.Close()
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber, "Close keeps the overflow error")

	// The other subscription lost nothing.
	got2 := collect(other)
	b.close(time.Minute)
	require.Len(t, <-got2, 20)
	require.NoError(t, other.Err())
}

// A reader that keeps taking events while a publisher outruns it until the overflow
// receives the events in order from the first, none skipped, then the close: the
// events in the channel's buffer at the overflow are its to take. Many rounds, since
// the overflow lands at a different moment of the reader's each time.
func TestBusOverflowWhileReadingLeavesAPrefix(t *testing.T) {
	longest := 0
	for round := range 200 {
		b := newBus(0)
		s := b.subscribe(&SubscribeOptions{MaxBacklog: 100})
		got := make(chan []uint64, 1)
		go func() {
			var out []uint64
			for ev := range s.Events() {
				out = append(out, ev.Seq())
				if len(out)%8 == 0 {
					runtime.Gosched()
				}
			}
			got <- out
		}()
		for seq := uint64(1); s.Err() == nil; seq++ {
			b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
			if seq%16 == 0 {
				runtime.Gosched() // let the goroutine and the reader in now and then
			}
		}
		evs := <-got
		require.Equal(t, seqRange(1, uint64(len(evs))), evs, "round %d", round)
		longest = max(longest, len(evs))
		b.close(time.Second)
	}
	require.Greater(t, longest, eventsBuffer, "no round had the reader take events before the overflow")
}

func TestBusOverflowInOneBatch(t *testing.T) {
	b := newTestBus(t, 0)
	s := b.subscribe(&SubscribeOptions{MaxBacklog: 3, Types: []EventType{EventTypeOfferIssued}})
	// Filtered-out events do not count toward the backlog.
	batch := []engine.Event{
		{Seq: 1, Type: engine.EvJobQueued}, offerIssued(2, "j", "w", "q"),
		{Seq: 3, Type: engine.EvJobQueued}, offerIssued(4, "j", "w", "q"),
		offerIssued(5, "j", "w", "q"), {Seq: 6, Type: engine.EvJobQueued},
	}
	b.publish(batch)
	require.NoError(t, s.Err())
	b.publish([]engine.Event{offerIssued(7, "j", "w", "q"), offerIssued(8, "j", "w", "q")})
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	got := seqs(drain(s))
	require.LessOrEqual(t, len(got), 3)
	require.Equal(t, []uint64{2, 4, 5}[:len(got)], got)
}

// seqRange returns from, from+1, ..., to.
func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for seq := from; seq <= to; seq++ {
		out = append(out, seq)
	}
	return out
}

// requirePrefix requires got to be 1, 2, ..., with at most maxLen of them.
func requirePrefix(t *testing.T, got []uint64, maxLen int) {
	t.Helper()
	require.LessOrEqual(t, len(got), maxLen)
	for i, seq := range got {
		require.Equal(t, uint64(i+1), seq, "event %d of %v", i, got)
	}
}

func TestBusSlowSubscriberDoesNotBlockOthers(t *testing.T) {
	const n = 100_000
	b := newTestBus(t, 0)
	slow := b.subscribe(nil) // default backlog: 65,536
	// The reader keeps up in the sense that matters (it reads), but a bare publish
	// loop outruns any channel reader, so give it room for everything.
	fast := b.subscribe(&SubscribeOptions{MaxBacklog: n})
	got := collect(fast)
	for seq := uint64(1); seq <= n; seq++ {
		b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
	}
	require.ErrorIs(t, slow.Err(), ErrSlowSubscriber)
	requirePrefix(t, seqs(drain(slow)), eventsBuffer)

	b.close(time.Minute)
	evs := <-got
	require.NoError(t, fast.Err())
	require.Equal(t, n, len(evs))
	for i, ev := range evs {
		require.Equal(t, uint64(i+1), ev.Seq())
	}
}

func TestSubscriptionCloseConcurrentWithPublish(t *testing.T) {
	const maxPublished = 20_000
	b := newTestBus(t, 0)
	// r1 closes itself from its reading goroutine; r2 is closed by another goroutine
	// while its reader reads; r3 is closed by several goroutines at once; keep stays.
	r1, r2, r3 := b.subscribe(nil), b.subscribe(nil), b.subscribe(nil)
	keep := b.subscribe(nil)

	stop := make(chan struct{})
	published := make(chan uint64, 1)
	go func() {
		seq := uint64(0)
		defer func() { published <- seq }()
		for seq < maxPublished {
			select {
			case <-stop:
				return
			default:
			}
			seq++
			b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
		}
	}()

	r1got := make(chan []Event, 1)
	go func() {
		var evs []Event
		for ev := range r1.Events() {
			evs = append(evs, ev)
			if len(evs) == 100 {
				r1.Close() // from the reader, which is not receiving now
			}
		}
		r1got <- evs
	}()

	read50 := make(chan struct{})
	r2got := make(chan []Event, 1)
	go func() {
		var evs []Event
		for ev := range r2.Events() {
			evs = append(evs, ev)
			if len(evs) == 50 {
				close(read50)
			}
		}
		r2got <- evs
	}()
	var wg sync.WaitGroup
	wg.Go(func() {
		<-read50
		r2.Close()
	})

	r3got := collect(r3)
	for range 4 {
		wg.Go(r3.Close)
	}
	wg.Wait()

	requireContiguous := func(evs []Event) {
		t.Helper()
		requirePrefix(t, seqs(evs), len(evs))
	}
	evs1 := <-r1got
	require.Len(t, evs1, 100)
	requireContiguous(evs1)
	// r2 and r3 were closed by other goroutines while their readers read: what a
	// reader took before the Close is contiguous; while Close empties the channel's
	// buffer it may still take some of it, in order but not necessarily consecutive.
	requireIncreasing := func(evs []Event) {
		t.Helper()
		for i := 1; i < len(evs); i++ {
			require.Less(t, evs[i-1].Seq(), evs[i].Seq())
		}
	}
	evs2 := <-r2got
	require.GreaterOrEqual(t, len(evs2), 50)
	requireContiguous(evs2[:50])
	requireIncreasing(evs2)
	requireIncreasing(<-r3got)
	for _, s := range []*Subscription{r1, r2, r3} {
		require.NoError(t, s.Err())
		s.Close() // idempotent
		_, ok := <-s.Events()
		require.False(t, ok)
	}
	b.mu.Lock()
	require.Equal(t, []*Subscription{keep}, b.index.all(), "closed subscriptions leave the bus")
	b.mu.Unlock()

	close(stop)
	n := <-published
	keepGot := collect(keep)
	b.close(time.Minute)
	evsKeep := <-keepGot
	require.Equal(t, int(n), len(evsKeep))
	requireContiguous(evsKeep)
	require.NoError(t, keep.Err())
}

func TestBusCloseDeliversEverything(t *testing.T) {
	const n = 1000
	b := newBus(0)
	s1 := b.subscribe(nil)
	s2 := b.subscribe(&SubscribeOptions{JobID: "even"})
	for seq := uint64(1); seq <= n; seq++ {
		job := "odd"
		if seq%2 == 0 {
			job = "even"
		}
		b.publish([]engine.Event{offerIssued(seq, job, "w", "q")})
	}
	got1, got2 := collect(s1), collect(s2)
	b.close(time.Minute)

	evs1, evs2 := <-got1, <-got2
	require.Equal(t, n, len(evs1))
	require.Equal(t, n/2, len(evs2))
	for i, ev := range evs2 {
		require.Equal(t, uint64(2*(i+1)), ev.Seq())
	}
	require.NoError(t, s1.Err())
	require.NoError(t, s2.Err())

	// After close: publishing is ignored, subscribing gives a closed subscription,
	// closing again is harmless.
	b.publish([]engine.Event{offerIssued(n+1, "j", "w", "q")})
	late := b.subscribe(nil)
	require.ErrorIs(t, late.Err(), ErrClosed)
	_, ok := <-late.Events()
	require.False(t, ok)
	b.close(time.Minute)
	s1.Close()
}

func TestBusCloseTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus(0)
		stuck := b.subscribe(nil)
		reader := b.subscribe(nil)
		drained := b.subscribe(&SubscribeOptions{JobID: "other"}) // nothing queued
		// More than the channel's buffer holds, so that stuck's goroutine waits.
		const n = eventsBuffer + 5
		for seq := uint64(1); seq <= n; seq++ {
			b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
		}
		got := collect(reader)

		start := time.Now()
		b.close(50 * time.Millisecond)
		require.Equal(t, 50*time.Millisecond, time.Since(start), "close waits exactly its timeout (fake time)")

		require.ErrorIs(t, stuck.Err(), ErrSlowSubscriber)
		require.Equal(t, seqRange(1, eventsBuffer), seqs(drain(stuck)),
			"the buffered events stay for the reader; the held one and the queued ones are discarded")
		require.Len(t, <-got, n)
		require.NoError(t, reader.Err())
		require.Empty(t, drain(drained))
		require.NoError(t, drained.Err())
	})
}

// Events that fit in the channel's buffer are left there by Router.Close, which does
// not wait for the reader: the reader takes them from the closed channel, all of
// them, in order, and Err stays nil. Subscription.Close discards them.
func TestBusCloseLeavesBufferedEventsToTheReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus(0)
		later := b.subscribe(nil)
		discarded := b.subscribe(nil)
		for seq := uint64(1); seq <= 5; seq++ {
			b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
		}
		start := time.Now()
		b.close(time.Hour)
		require.Zero(t, time.Since(start), "nothing to wait for: the events are on the channels")

		require.Equal(t, seqRange(1, 5), seqs(drain(later)))
		require.NoError(t, later.Err())

		discarded.Close()
		require.Empty(t, drain(discarded))
		require.NoError(t, discarded.Err())
	})
}

// The events in the channel's buffer count toward MaxBacklog: a reader that takes
// nothing is cut off after MaxBacklog events, wherever they wait.
func TestBusBacklogCountsTheChannelBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus(0)
		s := b.subscribe(&SubscribeOptions{MaxBacklog: 3})
		for seq := uint64(1); seq <= 3; seq++ {
			b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
		}
		synctest.Wait() // the goroutine has put all three on the channel
		require.Equal(t, 3, len(s.ch))
		require.NoError(t, s.Err())
		b.publish([]engine.Event{offerIssued(4, "j", "w", "q")})
		require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
		require.Equal(t, seqRange(1, 3), seqs(drain(s)), "what the buffer held, then the close")
		b.close(time.Hour)
	})
}

// Router.Close keeps waiting while a reader keeps taking events, one every 30 ms
// against a timeout of 50 ms, beyond what the channel's buffer holds: the reader's
// progress counts the events it takes from the buffer.
func TestBusCloseWaitsForASlowReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus(0)
		s := b.subscribe(nil)
		const n = eventsBuffer + 10
		for seq := uint64(1); seq <= n; seq++ {
			b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
		}
		got := make(chan []uint64, 1)
		go func() {
			var out []uint64
			for ev := range s.Events() {
				out = append(out, ev.Seq())
				time.Sleep(30 * time.Millisecond)
			}
			got <- out
		}()
		start := time.Now()
		b.close(50 * time.Millisecond)
		// The goroutine ends once the last event is on the channel. The buffer took
		// the first eventsBuffer, the goroutine held the next; each event the reader
		// takes (at 0, 30, 60 ms, ...) lets one more in, and the 9th lets the last in.
		require.Equal(t, (n-eventsBuffer-1)*30*time.Millisecond, time.Since(start))
		require.NoError(t, s.Err())
		require.Equal(t, seqRange(1, n), <-got, "every event, in order")
		require.Equal(t, n*30*time.Millisecond, time.Since(start))
	})
}

// progress, which Router.Close watches, counts what the reader took: it never reads
// more than that, never goes back, and does not wrap below zero while the goroutine
// has sent an event it has not yet counted.
func TestSubscriptionProgressNeverGoesBack(t *testing.T) {
	s := newSubscription(nil, 100) // no goroutine: the test plays its part
	var ev Event = JobQueued{}
	s.ch <- ev // sent, not yet counted
	require.Zero(t, s.progress())
	s.sent.Store(1)
	require.Zero(t, s.progress())
	<-s.ch // the reader takes it
	require.Equal(t, uint64(1), s.progress())
	s.ch <- ev // sent, not yet counted: the difference reads one low
	require.Equal(t, uint64(1), s.progress())
	<-s.ch // taken before the count: two taken, still read as one
	require.Equal(t, uint64(1), s.progress())
	s.sent.Store(2)
	require.Equal(t, uint64(2), s.progress())
}

func TestBusCloseWithoutSubscribersOrBacklogIsImmediate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus(0)
		s := b.subscribe(nil)
		got := collect(s)
		start := time.Now()
		b.close(time.Hour)
		require.Zero(t, time.Since(start))
		require.Empty(t, <-got)
		require.NoError(t, s.Err())
	})
}

func TestClosedSubscription(t *testing.T) {
	s := closedSubscription(&SubscribeOptions{WorkerID: "w"})
	_, ok := <-s.Events()
	require.False(t, ok)
	require.ErrorIs(t, s.Err(), ErrClosed)
	require.True(t, errors.Is(s.Err(), ErrClosed))
	s.Close()
	s.Close()
	require.ErrorIs(t, s.Err(), ErrClosed)
}

func TestSubscriptionCloseKeepsErrNil(t *testing.T) {
	b := newTestBus(t, 0)
	s := b.subscribe(nil)
	b.publish([]engine.Event{offerIssued(1, "j", "w", "q"), offerIssued(2, "j", "w", "q")})
	ev := <-s.Events()
	require.Equal(t, uint64(1), ev.Seq())
	s.Close() // discards event 2
	_, ok := <-s.Events()
	require.False(t, ok)
	require.NoError(t, s.Err())
}

// TestEventQueue checks the chunked queue against a plain slice over random pushes
// and pops that cross chunk boundaries in every way.
func TestEventQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var q eventQueue
	var ref []uint64
	next := uint64(1)
	for range 200_000 {
		// Phases of mostly pushing and mostly popping, so the queue grows and empties.
		pushBias := 6
		if (next/500)%2 == 1 {
			pushBias = 4
		}
		if len(ref) == 0 || rng.IntN(10) < pushBias {
			q.push(&engine.Event{Seq: next})
			ref = append(ref, next)
			next++
		} else {
			require.Equal(t, ref[0], q.pop().Seq)
			ref = ref[1:]
		}
		require.Equal(t, len(ref), q.len())
	}
	for len(ref) > 0 {
		require.Equal(t, ref[0], q.pop().Seq)
		ref = ref[1:]
	}
	require.Zero(t, q.len())
}
