#!/usr/bin/env bash
# instructions.sh: instructions per benchmark iteration, counted by valgrind, for
# comparing two builds when timings spread more than the change (this 2-core
# machine's runs of B1 spread by ±15 %; an instruction count repeats to within a
# few instructions). Each build runs the benchmark twice, at 20,000 and 60,000
# iterations, on one core without the collector, and the difference is divided by
# 40,000, so that the setup (10,000 workers registered, say) cancels out.
# Instructions are not time (cache misses and the collector are left out), so
# a change is kept only when the timed runs do not contradict its count.
#
#   go test -c -o /tmp/before.test ./bench/   # at the base commit
#   go test -c -o /tmp/after.test ./bench/    # with the change
#   bench/instructions.sh /tmp/before.test /tmp/after.test
#   bench/instructions.sh /tmp/after.test -- 'B1Lifecycle$/workers=10000/impl=real'
#
# Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail
pattern='B1LifecycleSync/workers=10000/impl=real'
bins=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then pattern=$2; shift 2; continue; fi
  bins+=("$1"); shift
done
count() { # binary iterations -> instructions
  GOGC=off GOMAXPROCS=1 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    "$1" -test.run '^$' -test.bench "$pattern" -test.benchtime="$2"x 2>&1 |
    awk '/I +refs:/ { gsub(",", "", $4); print $4 }'
}
for b in "${bins[@]}"; do
  lo=$(count "$b" 20000)
  hi=$(count "$b" 60000)
  echo "$b $pattern: $(( (hi - lo) / 40000 )) instructions per iteration"
done
