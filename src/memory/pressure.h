// Pressure levels: how close the process is to its memory budget, as one named value with
// hysteresis, so the degradation ladder (ladder.h) acts on a level rather than on noisy ratios.
//
//   FixedPressureSource source({.ledger_ratio = 0.9});        // or the monitor's reader
//   PressureTracker tracker(SteadyClock::instance());
//   auto sub = tracker.subscribe([](PressureLevel from, PressureLevel to) { log(from, to); });
//   PressureInputs in = source.read();
//   PressureLevel level = tracker.update(in);                  // High: 0.9 >= 0.85
//   ladder.on_update(level, in);
//
// Three signals, each mapped through its own thresholds; the level is the worst of them:
//  - ledger_ratio: ledger current / limit. What leancut holds on purpose.
//  - working_set_ratio: the cgroup's (or RSS's) working set / limit. What the kernel will kill on;
//    includes libav's own heap and everything the ledger cannot see.
//  - psi_some_avg10: /proc/pressure/memory "some avg10", percent of the last 10 s in which some
//    task stalled on memory. Reclaim already hurting, whatever the ratios say.
// Each level has an enter and a lower exit threshold per signal, and the tracker moves down a
// level only after every signal has stayed below that level's exit threshold for a dwell time.
// Going up is immediate: a rising level is the early warning the ladder needs before the kernel's
// OOM killer acts, and a needless step up costs only a trimmed pool or a cache refill, while
// going down early re-grows queues into the pressure that shrank them (flapping).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace leancut::memory {

enum class PressureLevel { None, Low, Moderate, High, Critical };
inline constexpr int kPressureLevelCount = 5;

// "none", "low", "moderate", "high", "critical": the names used in logs, metrics and reports.
const char* to_string(PressureLevel level);

// Which input drove a level.
enum class PressureSignal { Ledger, WorkingSet, PsiSome };
// "ledger", "working_set", "psi_some".
const char* to_string(PressureSignal signal);

// One sample of the inputs, computed by the caller from the ledger and the monitor. A value.
// (The `{}` on optional members lets g++ 12 take designated initializers that omit them without
// -Wmissing-field-initializers.)
struct PressureInputs {
  double ledger_ratio = 0.0;                  // ledger current / limit (0 when unlimited)
  std::optional<double> working_set_ratio{};  // working set / limit; absent without a monitor
  std::optional<double> psi_some_avg10{};     // percent, 0..100; absent without PSI
  int64_t ledger_limit_bytes = 0;             // for messages only; 0 = unknown
};

// current / limit, or 0 when there is no limit (kNoLimit or <= 0).
double ledger_ratio(int64_t current_bytes, int64_t limit_bytes);

// Parses a fixed pressure for the CLI and stress tests ("hold pressure high"):
//   "0.97"                                   ledger ratio only
//   "ledger=0.97,working_set=0.9,psi=35"     any subset, comma-separated
// Ratios must be in [0, 10], psi in [0, 100]. Errors are InvalidInput naming the bad part.
Result<PressureInputs> parse_pressure_inputs(std::string_view text);

// Enter/exit thresholds of one level for one signal. REQUIRES: exit < enter.
struct LevelThresholds {
  double enter = 0.0;
  double exit = 0.0;
};

// One signal's thresholds for Low, Moderate, High, Critical (in that order). Enter and exit each
// rise strictly with the level.
struct SignalThresholds {
  std::array<LevelThresholds, 4> levels;

  const LevelThresholds& at(PressureLevel level) const;  // REQUIRES: level != None
  // The signal's level for `value`, given the level it had: up to the highest level whose enter
  // threshold `value` reaches if that is above `current`; otherwise down to the highest level at
  // or below `current` whose exit threshold it still reaches.
  PressureLevel map(double value, PressureLevel current) const;
  Status validate(std::string_view name) const;
};

// Ledger ratio: Low at 60% so pools are trimmed while it is still free to do so; Moderate at 75%
// and High at 85% leave room for one shot boundary (two readers open plus a prefetch, ~10% of a
// 256 MiB budget at 1080p); Critical at 95%, where the next frame-sized reserve may be refused.
// Exits sit 5-10 points lower: a frame is ~1-3% of a small budget, so frame churn alone cannot
// cross both thresholds.
inline constexpr SignalThresholds kDefaultLedgerThresholds{
    {{{0.60, 0.50}, {0.75, 0.65}, {0.85, 0.75}, {0.95, 0.90}}}};
// Working set: 5-10 points above the ledger's up to High, since it also holds libav's fixed ~40 MB
// and the allocator's slack, which no ladder step can give back; Critical at 95% like the ledger,
// because the cgroup's OOM killer acts at 100%.
inline constexpr SignalThresholds kDefaultWorkingSetThresholds{
    {{{0.70, 0.60}, {0.80, 0.70}, {0.90, 0.82}, {0.95, 0.90}}}};
// `defaults` for a job the planner expects to reach `planned_ratio` of the signal's limit (the
// peak estimate / the RSS budget for the working set; the tracked estimate / the job's account
// limit for the ledger): use up to the plan is not pressure, so Low and Moderate start no lower
// than the plan (Low at it, Moderate 2 points above), capped 4 and 2 points below High so High
// and Critical stay where the defaults put them. Exits keep the defaults' distance below the
// enters. A plan below the defaults' Low gets `defaults`.
SignalThresholds thresholds_for_plan(const SignalThresholds& defaults, double planned_ratio);
inline SignalThresholds working_set_thresholds_for_plan(double planned_ratio) {
  return thresholds_for_plan(kDefaultWorkingSetThresholds, planned_ratio);
}

// PSI some avg10 (percent): a few percent of stalled time already means reclaim is taking pages
// from someone. systemd-oomd by default kills at 60% memory pressure (its "full" line) held for
// 30 s; "some" is never below "full", so Critical at 40% some, and a clean give-up, come first.
inline constexpr SignalThresholds kDefaultPsiThresholds{
    {{{5.0, 2.0}, {10.0, 5.0}, {20.0, 10.0}, {40.0, 25.0}}}};

// Five seconds below a level before leaving it: longer than the burst of a shot boundary (a second
// reader opening, a prefetch decoding up to its in point), so sticky ladder steps are not undone
// and redone on every cut; short enough that queues regrow within a few shots once pressure ends.
inline constexpr Clock::Duration kDefaultDownDwell = std::chrono::seconds(5);
// History entries kept for the report (~80 bytes each); the oldest are dropped beyond this.
inline constexpr size_t kDefaultMaxHistory = 256;

struct PressureOptions {
  SignalThresholds ledger = kDefaultLedgerThresholds;
  SignalThresholds working_set = kDefaultWorkingSetThresholds;
  SignalThresholds psi_some_avg10 = kDefaultPsiThresholds;
  Clock::Duration down_dwell = kDefaultDownDwell;
  size_t max_history = kDefaultMaxHistory;  // >= 1

  Status validate() const;
};

// One stay at a level, for the report. The maxima cover the samples taken during the stay,
// including the one that caused the entry.
struct PressureEpisode {
  PressureLevel level = PressureLevel::None;
  std::optional<PressureSignal> cause{};  // the worst signal on entry; none for level None
  Clock::TimePoint entered_at{};
  std::optional<Clock::TimePoint> left_at{};  // absent for the current level
  double max_ledger_ratio = 0.0;
  std::optional<double> max_working_set_ratio{};
  std::optional<double> max_psi_some_avg10{};
};

// Where pressure samples come from. Contract: read() is non-blocking and cheap (at most a few
// small proc or cgroup reads); it is called from the one thread that drives the tracker.
class PressureSource {
 public:
  virtual ~PressureSource() = default;
  virtual PressureInputs read() = 0;
};

// Returns whatever it was last given: for tests, stress runs and a CLI flag that holds pressure
// high. Thread-safe (set() from one thread while another reads).
class FixedPressureSource final : public PressureSource {
 public:
  explicit FixedPressureSource(PressureInputs inputs = {}) : inputs_(inputs) {}
  PressureInputs read() override;
  void set(PressureInputs inputs);

 private:
  std::mutex mu_;
  PressureInputs inputs_;  // guarded by mu_
};

class PressureTracker;

namespace detail {
// Lets the owner of a registered callback drop it from any thread with a guarantee that the
// callback does not run afterwards: callbacks run between enter() and leave(); removal first
// waits for the running batch to finish, unless the removal comes from inside a callback (same
// thread), which must not wait for itself.
class CallGate {
 public:
  void enter();
  void leave();
  // Empty when called from inside a callback; otherwise holds the gate until it goes out of scope.
  std::unique_lock<std::mutex> hold_unless_inside();

 private:
  std::mutex mu_;
  std::atomic<std::thread::id> running_thread_{};
};
}  // namespace detail

// RAII registration of a level-change callback; move-only. Destroying it (or reset()) unsubscribes;
// once that returns the callback will not run again. REQUIRES: the tracker outlives it (CHECKed).
class PressureSubscription {
 public:
  PressureSubscription() = default;
  PressureSubscription(PressureSubscription&& other) noexcept;
  PressureSubscription& operator=(PressureSubscription&& other) noexcept;
  PressureSubscription(const PressureSubscription&) = delete;
  PressureSubscription& operator=(const PressureSubscription&) = delete;
  ~PressureSubscription() { reset(); }

  void reset();
  bool active() const { return tracker_ != nullptr; }

 private:
  friend class PressureTracker;
  PressureSubscription(PressureTracker* tracker, uint64_t id) : tracker_(tracker), id_(id) {}

  PressureTracker* tracker_ = nullptr;
  uint64_t id_ = 0;
};

// Turns samples into a level (hysteresis per signal, dwell before going down), keeps the history
// of levels visited and tells subscribers of each change.
//
// Threads: update() from one thread at a time (the pressure thread); level() from any thread (an
// atomic); history(), subscribe() and unsubscribing from any thread. Subscribers run on the
// update() thread, outside the tracker's lock, and must not call update(). A jump of several
// levels in one sample is one call (e.g. None -> Critical).
// Memory held: the history, at most max_history episodes (~80 bytes each), and the callbacks.
class PressureTracker {
 public:
  using Callback = std::function<void(PressureLevel old_level, PressureLevel new_level)>;

  // `clock` must outlive the tracker. REQUIRES: options.validate() is ok (CHECKed).
  explicit PressureTracker(const Clock& clock, PressureOptions options = {});
  PressureTracker(const PressureTracker&) = delete;
  PressureTracker& operator=(const PressureTracker&) = delete;
  ~PressureTracker();  // CHECKs: no live subscriptions.

  // Takes a sample; returns the level after it (and tells subscribers if it changed).
  PressureLevel update(const PressureInputs& inputs);

  PressureLevel level() const { return level_.load(std::memory_order_acquire); }
  // Each signal's own level after the last sample (before dwell), e.g. to name the cause.
  PressureLevel signal_level(PressureSignal signal) const;
  // Levels visited, oldest first; starts with None at construction. The last has no left_at.
  std::vector<PressureEpisode> history() const;
  // Episodes dropped from the front of the history to keep it within max_history.
  int64_t dropped_history() const;
  const PressureOptions& options() const { return options_; }

  [[nodiscard]] PressureSubscription subscribe(Callback callback);

 private:
  friend class PressureSubscription;
  void unsubscribe(uint64_t id);
  void notify(PressureLevel old_level, PressureLevel new_level);

  const Clock& clock_;
  const PressureOptions options_;
  std::atomic<PressureLevel> level_{PressureLevel::None};

  mutable std::mutex mu_;
  std::array<PressureLevel, 3> signal_levels_{};  // guarded by mu_; by PressureSignal
  // Index k (1..4): since when the worst signal has been continuously below level k; guarded.
  std::array<std::optional<Clock::TimePoint>, kPressureLevelCount> below_since_{};
  std::vector<PressureEpisode> history_;      // guarded by mu_
  int64_t dropped_history_ = 0;               // guarded by mu_
  uint64_t next_id_ = 1;                      // guarded by mu_
  std::map<uint64_t, Callback> subscribers_;  // guarded by mu_
  detail::CallGate gate_;
};

}  // namespace leancut::memory
