// StageRecorder: what each stage of a job cost (parse, probe, plan, render, finalize, cleanup):
// wall seconds, the process's peak RSS during the stage and the ledger's peak. For
// `render --report`.
//
//   StageRecorder stages(process_account, SteadyClock::instance());
//   stages.begin("parse");  ...  stages.begin("probe");  ...  stages.end();
//   another thread, every tick: stages.note_rss(read_rss_bytes())
//
// A stage's RSS peak is exact when the process set a new high-water mark (VmHWM) during it;
// otherwise it is the highest RSS seen by note_rss() and at the stage's ends. The ledger's peak
// likewise (the account's peak is not reset, so the job's totals stay whole). (Resetting the
// high-water mark through /proc/self/clear_refs would be exact, but it also resets what
// getrusage and `time` report for the whole process.)
// Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "memory/ledger.h"

namespace leancut::memory {

struct StageStats {
  std::string name;
  double seconds = 0;
  int64_t rss_peak_bytes = 0;  // the process's peak RSS during the stage
  int64_t peak_bytes = 0;      // the ledger's (root account's) peak during the stage
};

class StageRecorder {
 public:
  // `account` (may be null) and `clock` must outlive the recorder.
  StageRecorder(Account* account, const Clock& clock,
                std::filesystem::path proc_self = "/proc/self");

  // Ends the current stage, if any, and starts `name`.
  void begin(std::string name);
  void end();
  void note_rss(int64_t rss_bytes);
  std::vector<StageStats> stages() const;

 private:
  void end_locked();

  Account* const account_;
  const Clock& clock_;
  const std::filesystem::path proc_self_;
  mutable std::mutex mu_;
  std::vector<StageStats> stages_;  // guarded by mu_
  std::optional<Clock::TimePoint> started_;
  int64_t hwm_at_start_ = 0;
  int64_t sampled_peak_ = 0;
  int64_t ledger_peak_at_start_ = 0;
  int64_t sampled_ledger_peak_ = 0;
};

}  // namespace leancut::memory
