// Metrics: the job server's counters and histograms, and their Prometheus text exposition
// (format 0.0.4: HELP and TYPE lines, counters ending in _total, base units bytes and seconds).
//
//   Metrics metrics;
//   metrics.count_rejection("queue_full");                     // POST refused
//   metrics.observe_job_end(JobState::Succeeded, 12.5, peak);  // the runner, as a job ends
//   metrics.add_job_report(figures);                           // and its report's pool/cache
//   MetricsSnapshot now{.rss_bytes = ..., .budget_bytes = ..., .jobs = store.count_by_state()};
//   std::string text = metrics.render(now);                    // GET /metrics
//
// Gauges (memory now, jobs by state) are read by the caller at scrape time and passed in, so
// this file reads nothing itself. Thread-safe: one mutex guards the counters. Memory held: a
// few fixed arrays (one per histogram) and one entry per rejection reason.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/job_store.h"

namespace leancut::server {

// A cumulative histogram with fixed upper bounds (the +Inf bucket is implicit).
template <std::size_t N>
struct Histogram {
  std::array<double, N> bounds{};
  std::array<int64_t, N> counts{};  // observations <= bounds[i], each counted once (not cumulative)
  int64_t count = 0;
  double sum = 0;

  void observe(double v) {
    for (std::size_t i = 0; i < N; ++i) {
      if (v <= bounds[i]) {
        ++counts[i];
        break;
      }
    }
    ++count;
    sum += v;
  }
};

// What a succeeded job's --report says (docs/report.md) that the server adds up across jobs.
struct JobReportFigures {
  std::optional<int64_t> peak_bytes{};  // peak_rss_bytes
  int64_t pool_acquires = 0;            // frame_pool: pictures the decoders asked for
  int64_t pool_allocations = 0;         //   of which newly allocated (the rest reused)
  int64_t cache_hits = 0;               // caches[]: lookups answered from memory
  int64_t cache_misses = 0;
};

// One ledger account's figures at scrape time.
struct LedgerFigure {
  std::string account{};  // "server/jobs"
  int64_t current_bytes = 0;
  int64_t limit_bytes = -1;  // -1: none
};

// What is true at scrape time, read by the caller.
struct MetricsSnapshot {
  int64_t rss_bytes = 0;       // the server process
  int64_t budget_bytes = 0;    // what admission may reserve in all
  int64_t reserved_bytes = 0;  // the running jobs' reservations
  int64_t running = 0;         // jobs with a live child
  int64_t max_running = 0;
  bool admitting = true;                   // false while shutting down
  std::map<JobState, int64_t> jobs{};      // every state, from the store
  std::optional<double> psi_some_avg10{};  // memory pressure stall (percent), when PSI is on
  int pressure_level = 0;                  // memory::PressureLevel: 0 none .. 4 critical
  int64_t server_cache_hits = 0;           // the server's own probe cache (submission checks)
  int64_t server_cache_misses = 0;
  std::vector<LedgerFigure> ledger{};  // the server's accounts
};

class Metrics {
 public:
  Metrics();

  // A POST that was refused before it became a job; `reason` is a label value
  // ("queue_full", "over_budget", "invalid", "limit", "memory_pressure", "shutting_down").
  void count_rejection(std::string_view reason);
  // A job reached a final state after running for `seconds`; `peak_bytes` when measured.
  void observe_job_end(JobState state, double seconds, std::optional<int64_t> peak_bytes);
  // Adds a finished job's pool and cache figures to the totals.
  void add_job_report(const JobReportFigures& figures);

  std::string render(const MetricsSnapshot& now) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t, std::less<>> rejections_;  // guarded by mu_
  std::map<JobState, int64_t> finished_;                    // guarded by mu_
  Histogram<10> duration_seconds_;                          // guarded by mu_
  Histogram<10> peak_bytes_;                                // guarded by mu_
  JobReportFigures job_totals_;                             // guarded by mu_ (peak unused)
};

}  // namespace leancut::server
