// Metrics: the job server's counters and histograms, and their Prometheus text exposition
// (format 0.0.4: HELP and TYPE lines, counters ending in _total, base units bytes and seconds).
//
//   Metrics metrics;
//   metrics.count_rejection("queue_full");                     // POST refused
//   metrics.observe_job_end(JobState::Succeeded, 12.5, peak);  // the runner, as a job ends
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
};

class Metrics {
 public:
  Metrics();

  // A POST that was refused before it became a job; `reason` is a label value
  // ("queue_full", "over_budget", "invalid", "limit", "memory_pressure", "shutting_down").
  void count_rejection(std::string_view reason);
  // A job reached a final state after running for `seconds`; `peak_bytes` when measured.
  void observe_job_end(JobState state, double seconds, std::optional<int64_t> peak_bytes);

  std::string render(const MetricsSnapshot& now) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t, std::less<>> rejections_;  // guarded by mu_
  std::map<JobState, int64_t> finished_;                    // guarded by mu_
  Histogram<10> duration_seconds_;                          // guarded by mu_
  Histogram<10> peak_bytes_;                                // guarded by mu_
};

}  // namespace leancut::server
