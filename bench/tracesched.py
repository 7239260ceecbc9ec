#!/usr/bin/env python3
"""How a benchmark's goroutines shared the processors, from an execution trace.

Usage:
    /tmp/bench.test -test.run '^$' -test.bench 'B1Lifecycle$/workers=10000/impl=real' \
        -test.benchtime=200000x -test.trace /tmp/b1.trace
    go tool trace -d=parsed /tmp/b1.trace > /tmp/b1.parsed
    python3 bench/tracesched.py /tmp/b1.parsed [skip]

It reads the goroutine state transitions of `go tool trace -d=parsed` (the text form
of Go 1.26's trace; another release may print it differently) and, over the part of
the trace after the first `skip` of its span (default 0.4, which leaves out building
the workers), prints:

  - how many processors' worth of time the goroutines ran, in all and each (the
    runtime's own, such as the collector's workers, included; a goroutine in a
    system call counts as not running);
  - the share of the time with 0, 1 or 2+ goroutines running, and whether another
    goroutine was ready to run (Runnable) but waiting meanwhile; and the share with
    one running while a goroutine that it had made ready waited;
  - how long a goroutine woken from a block (Waiting, then Runnable) waited before
    it ran, in percentiles; a goroutine that yielded or was preempted (Running,
    then Runnable) is counted apart;
  - for the time one goroutine ran while another waited: which one waited, which
    goroutine had made it ready, and which one ran. Several may wait at once, so
    these shares overlap and can add up to more than the time they cover.

Goroutines are named by the outermost frame outside the standard library of the
stacks where they blocked (about the function they were started with); a goroutine
that never blocked in code of ours (the runtime's) keeps its number only. Used for
BENCHMARKS.md's reading of B1; an aid to reading a trace, not a test.
"""
import collections
import re
import sys

TRANSITION = re.compile(
    r'^M=(-?\d+) P=(-?\d+) G=(-?\d+) StateTransition Time=(\d+) GoID=(\d+) '
    r'(\w+)->(\w+) Reason="([^"]*)"')
FRAME = re.compile(r'^\t(\S+) @ 0x[0-9a-f]+$')


def outside_std(fn):
    """Whether function fn is outside the standard library: main, or a package path
    whose first element is a domain (github.com/...)."""
    if fn.startswith('main.'):
        return True
    return '/' in fn and '.' in fn.split('/', 1)[0]


def parse(path):
    events = []  # (time, goroutine, from, to, by)
    names = {}
    current = None  # goroutine whose TransitionStack is being read
    in_stack = False
    for line in open(path):
        m = TRANSITION.match(line)
        if m:
            _, _, by, t, g, a, b, _ = m.groups()
            events.append((int(t), g, a, b, by))
            current, in_stack = g, False
            continue
        if line.startswith('M='):
            current, in_stack = None, False
            continue
        if line.startswith('TransitionStack='):
            in_stack = current is not None
            continue
        if line.startswith('Stack='):
            in_stack = False
            continue
        if in_stack:
            f = FRAME.match(line)
            if f and outside_std(f.group(1)):
                # The last such frame listed is the outermost outside the standard
                # library (testing and sync start goroutines through wrappers).
                names[current] = f.group(1)
    events.sort(key=lambda e: e[0])  # stable: the file's order among equal times
    return events, names


def main():
    path = sys.argv[1]
    skip = float(sys.argv[2]) if len(sys.argv) > 2 else 0.4
    events, names = parse(path)
    first, last = events[0][0], events[-1][0]
    start = first + (last - first) * skip
    span = last - start

    def name(g):
        if g == '-1':
            return 'the runtime'
        n = names.get(g)
        return '%s (g%s)' % (n.rsplit('/', 1)[-1], g) if n else 'g%s' % g

    running, ready = set(), {}  # ready: goroutine -> who made it ready
    since, woken = {}, {}
    shares = collections.Counter()
    ran = collections.Counter()
    waits = {True: [], False: []}  # woken from a block, or yielded/preempted
    pairs = collections.Counter()
    by_runner = 0  # one running, and a goroutine it made ready waiting
    prev = None
    for t, g, a, b, by in events:
        if prev is not None and t > start:
            d = t - max(prev, start)
            for r in running:
                ran[r] += d
            shares[(min(len(running), 2), bool(ready))] += d
            if len(running) == 1:
                (r,) = running
                for w, waker in ready.items():
                    pairs[(w, waker, r)] += d
                if r in ready.values():
                    by_runner += d
        prev = t
        running.discard(g)
        ready.pop(g, None)
        if b == 'Running':
            running.add(g)
            if a == 'Runnable' and g in since and t > start:
                waits[woken[g]].append(t - since[g])
        elif b == 'Runnable':
            ready[g] = by
            since[g], woken[g] = t, a == 'Waiting'

    print('window: %.1f ms; goroutines ran %.2f processors on average:' % (
        span / 1e6, sum(ran.values()) / span))
    for g, d in ran.most_common(8):
        print('  %.3f  %s' % (d / span, name(g)))
    for (n, w), d in sorted(shares.items()):
        print('%s running, %s ready and waiting: %5.1f %% of the time' % (
            n if n < 2 else '2+', 'one or more' if w else 'none', 100 * d / span))
    for from_block, label in ((True, 'woken from a block'), (False, 'after a yield or preemption')):
        ws = sorted(waits[from_block])
        if ws:
            def pct(p):
                return ws[min(len(ws) - 1, int(len(ws) * p))] / 1e3
            print('ready → running, %s: %d waits, p50 %.1f µs, p90 %.1f µs, p99 %.1f µs' % (
                label, len(ws), pct(0.5), pct(0.9), pct(0.99)))
    print('1 running, and a goroutine it made ready waiting: %5.1f %% of the time' % (
        100 * by_runner / span))
    print('one running while another waited (waiting, made ready by, running; overlapping):')
    for (w, waker, r), d in pairs.most_common(8):
        print('  %5.1f %%  %s, by %s, while %s ran' % (100 * d / span, name(w), name(waker), name(r)))


if __name__ == '__main__':
    main()
