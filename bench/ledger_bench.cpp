// Ledger hot path: one reserve + release pair. The bar: well under 100 ns uncontended.
//   build/default/bench/ledger_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include "memory/ledger.h"

namespace leancut::memory {
namespace {

// A three-level chain as in a render: process -> job -> decoded_frames.
void BM_TryReserveRelease(benchmark::State& state) {
  auto process = Account::make_root("process", 256 * kMiB);
  auto job = process->make_child("job", 200 * kMiB);
  auto frames = job->make_child("decoded_frames", kNoLimit);
  for (auto _ : state) {
    Result<Lease> lease = frames->try_reserve(3'110'400);
    benchmark::DoNotOptimize(lease);
  }
}
BENCHMARK(BM_TryReserveRelease);

// Blocking reserve() when it fits at once (the common case): must cost the same.
void BM_ReserveRelease(benchmark::State& state) {
  auto process = Account::make_root("process", 256 * kMiB);
  auto job = process->make_child("job", 200 * kMiB);
  auto frames = job->make_child("decoded_frames", kNoLimit);
  for (auto _ : state) {
    Result<Lease> lease = frames->reserve(3'110'400, std::chrono::milliseconds(1000));
    benchmark::DoNotOptimize(lease);
  }
}
BENCHMARK(BM_ReserveRelease);

// charge_existing(): how packets, filtered pictures and I/O buffers are charged (one per packet,
// tens of thousands a minute of output), then released.
void BM_ChargeExistingRelease(benchmark::State& state) {
  auto process = Account::make_root("process", 256 * kMiB);
  auto job = process->make_child("job", 200 * kMiB);
  auto packets = job->make_child("packets", kNoLimit);
  for (auto _ : state) {
    Lease lease = packets->charge_existing(65'536);
    benchmark::DoNotOptimize(lease);
  }
}
BENCHMARK(BM_ChargeExistingRelease);

// Contended: every thread charges its own component under one shared job and process.
void BM_TryReserveReleaseContended(benchmark::State& state) {
  static std::unique_ptr<Account> process;
  static std::unique_ptr<Account> job;
  static std::vector<std::unique_ptr<Account>> components;
  if (state.thread_index() == 0) {
    process = Account::make_root("process", 256 * kMiB);
    job = process->make_child("job", 200 * kMiB);
    components.clear();
    for (int i = 0; i < state.threads(); ++i) {
      components.push_back(job->make_child("c" + std::to_string(i), kNoLimit));
    }
  }
  // (Google Benchmark starts every thread's loop together, after thread 0's set-up.)
  for (auto _ : state) {
    Result<Lease> lease = components[static_cast<size_t>(state.thread_index())]->try_reserve(4096);
    benchmark::DoNotOptimize(lease);
  }
  if (state.thread_index() == 0) {
    components.clear();
    job.reset();
    process.reset();
  }
}
BENCHMARK(BM_TryReserveReleaseContended)->Threads(1)->Threads(2);

}  // namespace
}  // namespace leancut::memory

BENCHMARK_MAIN();
