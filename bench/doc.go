// Package bench holds the performance suite of issue 4: benchmarks that run the real
// Router and the naive reference router (internal/naive) on the same seeded workloads
// and report both. The code lives in the test files; BENCHMARKS.md at the module root
// gives the commands, the machine and the figures.
//
// Run it with
//
//	go test -run '^$' -bench . -benchtime=1x ./bench/
//
// BENCH_SCALE=small|default|large picks the sizes; BENCH_LARGE=1 adds the growth
// sub-benchmarks of B2 up to 100,000 workers and 1,000,000 jobs. Timings are reported,
// never asserted.
package bench
