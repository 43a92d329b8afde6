// Metrics: the exposition passes `promtool check metrics` (the Prometheus project's own linter;
// Debian package `prometheus`, installed by scripts/install-deps.sh), and counts what it saw.
#include "server/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace leancut::server {
namespace {

using ::testing::HasSubstr;

std::string promtool() {
  for (const char* p : {"/usr/bin/promtool", "/usr/local/bin/promtool"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

// Runs `promtool check metrics` with `text` on stdin; its exit code and what it printed.
std::pair<int, std::string> promtool_check(const std::string& text) {
  const std::filesystem::path in = std::filesystem::temp_directory_path() /
                                   ("leancut-metrics-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(in, std::ios::binary) << text;
  const std::string cmd = promtool() + " check metrics < " + in.string() + " 2>&1";
  std::string out;
  int status = -1;
  if (FILE* p = ::popen(cmd.c_str(), "r"); p != nullptr) {
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    status = ::pclose(p);
  }
  std::filesystem::remove(in);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

MetricsSnapshot snapshot() {
  MetricsSnapshot s;
  s.rss_bytes = 50 << 20;
  s.budget_bytes = 1 << 30;
  s.reserved_bytes = 300 << 20;
  s.running = 2;
  s.max_running = 2;
  s.jobs = {{JobState::Queued, 3}, {JobState::Running, 2}, {JobState::Succeeded, 7}};
  s.psi_some_avg10 = 1.5;
  s.server_cache_hits = 4;
  s.server_cache_misses = 2;
  s.ledger = {{"server", 301 << 20, -1},
              {"server/jobs", 300 << 20, 1 << 30},
              {"server/probe_cache", 1 << 20, -1}};
  return s;
}

TEST(Metrics, PassesPromtool) {
  // A skipped lint is a defect: install-deps installs promtool.
  ASSERT_FALSE(promtool().empty()) << "promtool is missing: run scripts/install-deps.sh";
  Metrics m;
  m.count_rejection("queue_full");
  m.count_rejection("queue_full");
  m.count_rejection("over_budget");
  m.observe_job_end(JobState::Succeeded, 3.2, 120 << 20);
  m.observe_job_end(JobState::Failed, 0.5, std::nullopt);
  m.add_job_report({.peak_bytes = 120 << 20,
                    .pool_acquires = 500,
                    .pool_allocations = 40,
                    .cache_hits = 9,
                    .cache_misses = 1});
  const std::string text = m.render(snapshot());
  EXPECT_THAT(text, HasSubstr("leancut_frame_pool_reused_frames_total 460\n"));
  EXPECT_THAT(text, HasSubstr("leancut_server_ledger_limit_bytes{account=\"server/jobs\"} "
                              "1073741824\n"));
  const auto [code, out] = promtool_check(text);
  EXPECT_EQ(code, 0) << out << "\n" << text;
  EXPECT_EQ(out, "") << text;  // no lint warnings either
}

TEST(Metrics, CountsWhatItSaw) {
  Metrics m;
  m.count_rejection("queue_full");
  m.observe_job_end(JobState::Succeeded, 3.2, 100 << 20);
  const std::string text = m.render(snapshot());
  EXPECT_THAT(text,
              HasSubstr("leancut_server_admission_rejections_total{reason=\"queue_full\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("leancut_server_jobs{state=\"queued\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("leancut_server_jobs{state=\"failed\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("leancut_server_memory_reserved_bytes 314572800\n"));
  EXPECT_THAT(text, HasSubstr("leancut_server_job_duration_seconds_bucket{le=\"5\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("leancut_server_job_duration_seconds_bucket{le=\"2.5\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("leancut_server_job_peak_memory_bytes_count 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE leancut_server_job_peak_memory_bytes histogram\n"));
  EXPECT_THAT(text, HasSubstr("leancut_server_memory_pressure_level 0\n"));
}

}  // namespace
}  // namespace leancut::server
