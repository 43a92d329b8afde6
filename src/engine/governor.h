// Governor: keeps a running job inside its budget. Its thread samples memory every tick (the
// process's RSS against the budget, the cgroup's working set against its limit, the job's ledger
// against its limit, PSI), turns the worst into a pressure level (memory::PressureTracker, with
// hysteresis) and lets the degradation ladder run the steps the job registered as actions:
// trim_pools, evict_caches, release_allocator, shrink_queues, backpressure. When pressure stays
// critical past the ladder's deadline, `on_give_up` is called once with a clear error.
//
//   Governor gov({.budget_bytes = 256 * kMiB, .ledger = job_account}, on_give_up);
//   auto trim = gov.ladder().add_action(memory::LadderStep::TrimPools, [&] { pool.trim(0); });
//   gov.start();  ... the job runs ...  gov.stop();
//
// Thread-safe: start/stop from the job's thread; actions run on the governor's thread.
// Memory held: the pressure history (bounded) and the registered actions.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "memory/ladder.h"
#include "memory/ledger.h"
#include "memory/monitor.h"
#include "memory/pressure.h"

namespace leancut::engine {

struct GovernorOptions {
  int64_t budget_bytes = 0;           // the process's RSS budget; 0 = only the cgroup's limit
  memory::Account* ledger = nullptr;  // the job's account, for the ledger ratio
  // The planner's estimate of the job's peak RSS, and of what the job's accounts hold at their
  // peak (0 = none): use up to either is not pressure (memory::thresholds_for_plan).
  int64_t planned_peak_bytes = 0;
  int64_t planned_ledger_bytes = 0;
  std::chrono::milliseconds tick{100};
  // Replaces the monitor's readings (tests, stress runs): pressure held where the source says.
  memory::PressureSource* source = nullptr;
};

struct GovernorReport {
  std::vector<memory::PressureEpisode> levels;  // levels visited, in order
  std::vector<memory::LadderStepStats> steps;   // how often each ladder step ran
  int64_t samples = 0;
  int64_t max_rss_bytes = 0;  // the highest RSS the governor saw
};

class Governor {
 public:
  Governor(GovernorOptions options, std::function<void(Error)> on_give_up);
  ~Governor();  // stops the thread
  Governor(const Governor&) = delete;
  Governor& operator=(const Governor&) = delete;

  memory::DegradationLadder& ladder() { return ladder_; }
  void start();
  void stop();
  // REQUIRES: stopped.
  GovernorReport report() const;

 private:
  memory::PressureInputs read_inputs();
  void loop();

  const GovernorOptions options_;
  const std::function<void(Error)> on_give_up_;
  const Clock& clock_;
  memory::Monitor monitor_;
  memory::PressureTracker tracker_;
  memory::DegradationLadder ladder_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  bool gave_up_ = false;
  int64_t samples_ = 0;
  int64_t max_rss_bytes_ = 0;
  std::thread thread_;
};

}  // namespace leancut::engine
