// DegradationLadder: what leancut does, in order, as memory pressure rises, so a job slows down and
// sheds memory instead of being OOM-killed. The ladder knows no pools, caches or queues: the engine
// registers an action per step and the ladder decides when each runs.
//
//   DegradationLadder ladder(clock);
//   auto trim = ladder.add_action(LadderStep::TrimPools, [&] { pool.trim(); });
//   auto shrink = ladder.add_action(LadderStep::ShrinkQueues, [&] { queues.shrink(); },
//                                   [&] { queues.restore(); });
//   // on the pressure thread, per sample:
//   PressureInputs in = source.read();
//   ladder.on_update(tracker.update(in), in);
//   // the engine polls:
//   if (Status s = ladder.status(); !s) cancel_job(s.error());   // OverBudget, "memory
//   pressure..."
//
// Steps, their names in logs, metrics and reports, and the level from which each runs:
//   trim_pools         Low       free idle pool blocks
//   evict_caches       Moderate  caches down to their low-water marks
//   release_allocator  Moderate  malloc_trim: hand freed heap back to the kernel
//   shrink_queues      High      smaller queue limits, no prefetching     (sticky: undone below)
//   backpressure       Critical  producers wait for budget                (sticky: undone below)
//   fail               Critical for longer than give_up_after: status() turns into an error
// Non-sticky steps run again at most once per their min interval while the level holds. Sticky
// steps are a state: their actions run once when the level reaches the step and their undo once
// when it falls below (the tracker's dwell keeps that from flapping). Give-up is latched.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "memory/pressure.h"

namespace leancut::memory {

enum class LadderStep { TrimPools, EvictCaches, ReleaseAllocator, ShrinkQueues, Backpressure };
inline constexpr int kLadderStepCount = 5;
inline constexpr std::array<LadderStep, kLadderStepCount> kLadderSteps = {
    LadderStep::TrimPools, LadderStep::EvictCaches, LadderStep::ReleaseAllocator,
    LadderStep::ShrinkQueues, LadderStep::Backpressure};

// "trim_pools", "evict_caches", "release_allocator", "shrink_queues", "backpressure".
const char* to_string(LadderStep step);
// The name of the last resort, as reports print it.
inline constexpr const char* kLadderFailName = "fail";
// The lowest level at which the step runs.
PressureLevel entry_level(LadderStep step);
// Sticky steps hold a state until the level falls below their entry level (then undone).
bool is_sticky(LadderStep step);

// Minimum time between two runs of a step (for sticky steps: between two engagements).
//  - trim_pools 1 s: cheap (frees idle blocks), but blocks come back idle only as frames retire.
//  - evict_caches 2 s: evicting to the low-water mark again at once finds nothing to evict.
//  - release_allocator 5 s: malloc_trim walks every heap (milliseconds), and right after a trim
//    there is little left to give back.
//  - shrink_queues 1 s: re-engaging right after an undo would undo the dwell's work.
//  - backpressure 0: the last defence before giving up never waits.
inline constexpr std::array<Clock::Duration, kLadderStepCount> kDefaultStepIntervals = {
    std::chrono::seconds(1), std::chrono::seconds(2), std::chrono::seconds(5),
    std::chrono::seconds(1), Clock::Duration::zero()};
// Critical for 10 s with backpressure on means the job cannot make progress in its budget; a clean
// error then beats an OOM kill that loses the report (and, in a cgroup, maybe other jobs).
inline constexpr Clock::Duration kDefaultGiveUpAfter = std::chrono::seconds(10);

struct LadderOptions {
  std::array<Clock::Duration, kLadderStepCount> min_interval = kDefaultStepIntervals;  // by step
  Clock::Duration give_up_after = kDefaultGiveUpAfter;
};

// Per-step figures for reports and metrics.
struct LadderStepStats {
  LadderStep step = LadderStep::TrimPools;
  int64_t runs = 0;   // times the step ran (a sticky step: engagements)
  int64_t undos = 0;  // sticky steps: times undone
  bool engaged = false;
  int64_t actions = 0;  // registered actions
  std::optional<Clock::TimePoint> last_run{};
};

class DegradationLadder;

// RAII registration of one action; move-only. Destroying it (or reset()) removes the action
// without running its undo (whatever it shrank is going away with it); once that returns the
// action does not run again. REQUIRES: the ladder outlives it (CHECKed).
class LadderAction {
 public:
  LadderAction() = default;
  LadderAction(LadderAction&& other) noexcept;
  LadderAction& operator=(LadderAction&& other) noexcept;
  LadderAction(const LadderAction&) = delete;
  LadderAction& operator=(const LadderAction&) = delete;
  ~LadderAction() { reset(); }

  void reset();
  bool active() const { return ladder_ != nullptr; }

 private:
  friend class DegradationLadder;
  LadderAction(DegradationLadder* ladder, uint64_t id) : ladder_(ladder), id_(id) {}

  DegradationLadder* ladder_ = nullptr;
  uint64_t id_ = 0;
};

// Threads: on_update() from one thread at a time (the pressure thread); actions run on it, outside
// the ladder's lock, and must not call on_update(). add_action(), removal, status() and stats()
// from any thread. Memory held: the registered callbacks.
class DegradationLadder {
 public:
  using Action = std::function<void()>;

  // `clock` must outlive the ladder.
  explicit DegradationLadder(const Clock& clock, LadderOptions options = {});
  DegradationLadder(const DegradationLadder&) = delete;
  DegradationLadder& operator=(const DegradationLadder&) = delete;
  ~DegradationLadder();  // CHECKs: no registered actions left.

  // Registers `run` for `step`; `undo` (sticky steps only, may be empty) reverses it. An action
  // added to an engaged sticky step runs at the next on_update().
  [[nodiscard]] LadderAction add_action(LadderStep step, Action run, Action undo = {});

  // Runs the steps the level calls for (lowest first), undoes sticky steps above it (highest
  // first), and starts or checks the give-up deadline. After giving up, steps still run.
  void on_update(PressureLevel level, const PressureInputs& inputs);

  // ok() until pressure stayed Critical past give_up_after; then OverBudget, e.g. "memory pressure
  // stayed critical for 10.0 s (ledger 97% of 256.0 MiB); stopping instead of being OOM-killed".
  Status status() const;
  bool gave_up() const;

  LadderStepStats stats(LadderStep step) const;
  std::array<LadderStepStats, kLadderStepCount> stats() const;
  const LadderOptions& options() const { return options_; }

 private:
  friend class LadderAction;
  struct Registered {
    LadderStep step;
    Action run;
    Action undo;
    bool engaged = false;  // sticky steps: run and not yet undone
  };
  struct StepState {
    int64_t runs = 0;
    int64_t undos = 0;
    bool engaged = false;
    std::optional<Clock::TimePoint> last_run;
  };
  enum class Call { Run, Undo };

  void remove(uint64_t id);
  // Marks what to call under mu_, then calls it outside.
  void call(const std::vector<std::pair<uint64_t, Call>>& calls);

  const Clock& clock_;
  const LadderOptions options_;

  mutable std::mutex mu_;
  std::array<StepState, kLadderStepCount> steps_{};  // guarded by mu_
  std::map<uint64_t, Registered> actions_;           // guarded by mu_; by id = registration order
  uint64_t next_id_ = 1;                             // guarded by mu_
  std::optional<Clock::TimePoint> critical_since_;   // guarded by mu_
  std::optional<Error> give_up_;                     // guarded by mu_; latched
  detail::CallGate gate_;
};

}  // namespace leancut::memory
