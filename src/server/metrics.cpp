#include "server/metrics.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace leancut::server {
namespace {

// Prometheus floats: integers print without an exponent, the rest with enough digits.
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string num(int64_t v) {
  return std::to_string(v);
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const std::string& name, const std::string& labels,
            const std::string& value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += value;
  out += '\n';
}

template <std::size_t N>
void histogram(std::string& out, const char* name, const char* help, const Histogram<N>& h) {
  header(out, name, "histogram", help);
  int64_t cumulative = 0;
  const std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i < N; ++i) {
    cumulative += h.counts[i];
    sample(out, bucket, "le=\"" + num(h.bounds[i]) + "\"", num(cumulative));
  }
  sample(out, bucket, "le=\"+Inf\"", num(h.count));
  sample(out, std::string(name) + "_sum", "", num(h.sum));
  sample(out, std::string(name) + "_count", "", num(h.count));
}

constexpr JobState kStates[] = {JobState::Queued, JobState::Running, JobState::Succeeded,
                                JobState::Failed, JobState::Canceled};

}  // namespace

Metrics::Metrics() {
  // Renders take seconds to tens of minutes; peaks tens of MiB to a few GiB.
  duration_seconds_.bounds = {1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600};
  constexpr double kMiB = 1024.0 * 1024.0;
  peak_bytes_.bounds = {32 * kMiB,  64 * kMiB,  96 * kMiB,   128 * kMiB,  192 * kMiB,
                        256 * kMiB, 512 * kMiB, 1024 * kMiB, 2048 * kMiB, 4096 * kMiB};
}

void Metrics::count_rejection(std::string_view reason) {
  std::lock_guard lock(mu_);
  auto it = rejections_.find(reason);
  if (it == rejections_.end()) it = rejections_.emplace(std::string(reason), 0).first;
  ++it->second;
}

void Metrics::observe_job_end(JobState state, double seconds, std::optional<int64_t> peak_bytes) {
  std::lock_guard lock(mu_);
  ++finished_[state];
  duration_seconds_.observe(seconds);
  if (peak_bytes) peak_bytes_.observe(static_cast<double>(*peak_bytes));
}

void Metrics::add_job_report(const JobReportFigures& figures) {
  std::lock_guard lock(mu_);
  job_totals_.pool_acquires += figures.pool_acquires;
  job_totals_.pool_allocations += figures.pool_allocations;
  job_totals_.cache_hits += figures.cache_hits;
  job_totals_.cache_misses += figures.cache_misses;
}

std::string Metrics::render(const MetricsSnapshot& now) const {
  std::string out;
  header(out, "leancut_server_resident_memory_bytes", "gauge",
         "Resident set size of the server process (jobs run in their own processes).");
  sample(out, "leancut_server_resident_memory_bytes", "", num(now.rss_bytes));
  header(out, "leancut_server_memory_budget_bytes", "gauge",
         "Memory the server may reserve for running jobs in all.");
  sample(out, "leancut_server_memory_budget_bytes", "", num(now.budget_bytes));
  header(out, "leancut_server_memory_reserved_bytes", "gauge",
         "Sum of the running jobs' memory reservations.");
  sample(out, "leancut_server_memory_reserved_bytes", "", num(now.reserved_bytes));
  if (now.psi_some_avg10) {
    header(out, "leancut_server_memory_pressure_some_ratio", "gauge",
           "Share of the last 10 s in which some task stalled on memory (PSI some avg10).");
    sample(out, "leancut_server_memory_pressure_some_ratio", "", num(*now.psi_some_avg10 / 100));
  }
  header(out, "leancut_server_memory_pressure_level", "gauge",
         "Memory pressure: 0 none, 1 low, 2 moderate, 3 high, 4 critical (no new jobs).");
  sample(out, "leancut_server_memory_pressure_level", "", num(int64_t{now.pressure_level}));
  header(out, "leancut_server_ledger_bytes", "gauge",
         "Bytes charged to each account of the server's memory ledger (reservations, caches).");
  for (const LedgerFigure& f : now.ledger) {
    sample(out, "leancut_server_ledger_bytes", "account=\"" + f.account + "\"",
           num(f.current_bytes));
  }
  header(out, "leancut_server_ledger_limit_bytes", "gauge",
         "Limit of each ledger account that has one.");
  for (const LedgerFigure& f : now.ledger) {
    if (f.limit_bytes >= 0) {
      sample(out, "leancut_server_ledger_limit_bytes", "account=\"" + f.account + "\"",
             num(f.limit_bytes));
    }
  }
  header(out, "leancut_server_jobs", "gauge", "Jobs in the store by state.");
  for (JobState s : kStates) {
    auto it = now.jobs.find(s);
    sample(out, "leancut_server_jobs", std::string("state=\"") + to_string(s) + "\"",
           num(it == now.jobs.end() ? int64_t{0} : it->second));
  }
  header(out, "leancut_server_jobs_running_max", "gauge", "Most jobs allowed to run at once.");
  sample(out, "leancut_server_jobs_running_max", "", num(now.max_running));
  header(out, "leancut_server_admitting", "gauge", "1 while new jobs are admitted, 0 when not.");
  sample(out, "leancut_server_admitting", "", num(int64_t{now.admitting ? 1 : 0}));

  std::lock_guard lock(mu_);
  // Ratios are left to PromQL (rate(reused) / rate(acquired)): counters add up across restarts
  // of the scrape, a ratio gauge would not.
  header(out, "leancut_frame_pool_acquired_frames_total", "counter",
         "Decoded pictures the finished jobs' decoders took from their frame pools.");
  sample(out, "leancut_frame_pool_acquired_frames_total", "", num(job_totals_.pool_acquires));
  header(out, "leancut_frame_pool_reused_frames_total", "counter",
         "Of those, pictures served from recycled memory rather than a new allocation.");
  sample(out, "leancut_frame_pool_reused_frames_total", "",
         num(std::max<int64_t>(0, job_totals_.pool_acquires - job_totals_.pool_allocations)));
  header(out, "leancut_cache_lookups_total", "counter",
         "Probe-cache lookups: the server's (submission checks) and the finished jobs' own.");
  sample(out, "leancut_cache_lookups_total", "cache=\"probes\",process=\"server\",result=\"hit\"",
         num(now.server_cache_hits));
  sample(out, "leancut_cache_lookups_total", "cache=\"probes\",process=\"server\",result=\"miss\"",
         num(now.server_cache_misses));
  sample(out, "leancut_cache_lookups_total", "cache=\"probes\",process=\"jobs\",result=\"hit\"",
         num(job_totals_.cache_hits));
  sample(out, "leancut_cache_lookups_total", "cache=\"probes\",process=\"jobs\",result=\"miss\"",
         num(job_totals_.cache_misses));
  header(out, "leancut_server_admission_rejections_total", "counter",
         "Job submissions refused, by reason.");
  for (const auto& [reason, n] : rejections_) {
    sample(out, "leancut_server_admission_rejections_total", "reason=\"" + reason + "\"", num(n));
  }
  header(out, "leancut_server_jobs_finished_total", "counter",
         "Jobs that ran and ended, by final state, since the server started.");
  for (JobState s : {JobState::Succeeded, JobState::Failed, JobState::Canceled}) {
    auto it = finished_.find(s);
    sample(out, "leancut_server_jobs_finished_total", std::string("state=\"") + to_string(s) + "\"",
           num(it == finished_.end() ? int64_t{0} : it->second));
  }
  histogram(out, "leancut_server_job_duration_seconds",
            "Wall time of jobs that ran, from start to their final state.", duration_seconds_);
  histogram(out, "leancut_server_job_peak_memory_bytes",
            "Measured peak RSS of the jobs that succeeded (from their reports).", peak_bytes_);
  return out;
}

}  // namespace leancut::server
