#include "memory/pressure.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "memory/ledger.h"

namespace leancut::memory {

namespace {

int index_of(PressureLevel level) {
  return static_cast<int>(level);
}

PressureLevel level_at(int index) {
  return static_cast<PressureLevel>(index);
}

std::string format_number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

// Parses a whole decimal number (no trailing characters); nullopt otherwise.
std::optional<double> parse_number(std::string_view text) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

const char* to_string(PressureLevel level) {
  switch (level) {
    case PressureLevel::None:
      return "none";
    case PressureLevel::Low:
      return "low";
    case PressureLevel::Moderate:
      return "moderate";
    case PressureLevel::High:
      return "high";
    case PressureLevel::Critical:
      return "critical";
  }
  return "unknown";
}

const char* to_string(PressureSignal signal) {
  switch (signal) {
    case PressureSignal::Ledger:
      return "ledger";
    case PressureSignal::WorkingSet:
      return "working_set";
    case PressureSignal::PsiSome:
      return "psi_some";
  }
  return "unknown";
}

double ledger_ratio(int64_t current_bytes, int64_t limit_bytes) {
  if (limit_bytes <= 0 || limit_bytes == kNoLimit) return 0.0;
  return static_cast<double>(current_bytes) / static_cast<double>(limit_bytes);
}

Result<PressureInputs> parse_pressure_inputs(std::string_view text) {
  const std::string whole(text);
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::InvalidInput, "pressure \"" + whole + "\": " + why);
  };
  PressureInputs inputs;
  text = trim(text);
  if (text.empty()) return bad("empty");
  if (text.find('=') == std::string_view::npos) {
    std::optional<double> v = parse_number(text);
    if (!v || *v < 0.0 || *v > 10.0) return bad("expected a ledger ratio in [0, 10]");
    inputs.ledger_ratio = *v;
    return inputs;
  }
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) return bad("\"" + std::string(part) + "\" is not key=value");
    std::string_view key = trim(part.substr(0, eq));
    std::optional<double> v = parse_number(trim(part.substr(eq + 1)));
    const std::string k(key);
    if (!v) return bad(k + ": not a number");
    if (key == "ledger" || key == "working_set") {
      if (*v < 0.0 || *v > 10.0) return bad(k + ": ratio must be in [0, 10]");
      if (key == "ledger") {
        inputs.ledger_ratio = *v;
      } else {
        inputs.working_set_ratio = *v;
      }
    } else if (key == "psi") {
      if (*v < 0.0 || *v > 100.0) return bad("psi: percent must be in [0, 100]");
      inputs.psi_some_avg10 = *v;
    } else {
      return bad("unknown key \"" + k + "\" (ledger, working_set, psi)");
    }
  }
  return inputs;
}

const LevelThresholds& SignalThresholds::at(PressureLevel level) const {
  LEANCUT_CHECK(level != PressureLevel::None);
  return levels[static_cast<size_t>(index_of(level) - 1)];
}

PressureLevel SignalThresholds::map(double value, PressureLevel current) const {
  int up = 0;
  for (int k = 1; k < kPressureLevelCount; ++k) {
    if (value >= at(level_at(k)).enter) up = k;
  }
  if (up > index_of(current)) return level_at(up);
  for (int k = index_of(current); k >= 1; --k) {
    if (value >= at(level_at(k)).exit) return level_at(k);
  }
  return PressureLevel::None;
}

Status SignalThresholds::validate(std::string_view name) const {
  for (int k = 1; k < kPressureLevelCount; ++k) {
    const LevelThresholds& t = at(level_at(k));
    std::string where = std::string(name) + "." + to_string(level_at(k));
    if (!(t.exit < t.enter)) {
      return make_error(ErrorCode::InvalidInput, where + ": exit (" + format_number(t.exit) +
                                                     ") must be below enter (" +
                                                     format_number(t.enter) + ")");
    }
    if (k > 1) {
      const LevelThresholds& below = at(level_at(k - 1));
      if (!(below.enter < t.enter) || !(below.exit < t.exit)) {
        return make_error(ErrorCode::InvalidInput, where + ": thresholds must rise with the level");
      }
    }
  }
  return ok_status();
}

Status PressureOptions::validate() const {
  LEANCUT_TRY(ledger.validate("ledger"));
  LEANCUT_TRY(working_set.validate("working_set"));
  LEANCUT_TRY(psi_some_avg10.validate("psi_some_avg10"));
  if (down_dwell < Clock::Duration::zero()) {
    return make_error(ErrorCode::InvalidInput, "down_dwell must not be negative");
  }
  if (max_history < 1) return make_error(ErrorCode::InvalidInput, "max_history must be >= 1");
  return ok_status();
}

PressureInputs FixedPressureSource::read() {
  std::lock_guard lock(mu_);
  return inputs_;
}

void FixedPressureSource::set(PressureInputs inputs) {
  std::lock_guard lock(mu_);
  inputs_ = inputs;
}

namespace detail {

void CallGate::enter() {
  mu_.lock();
  running_thread_.store(std::this_thread::get_id());
}

void CallGate::leave() {
  running_thread_.store(std::thread::id());
  mu_.unlock();
}

std::unique_lock<std::mutex> CallGate::hold_unless_inside() {
  // Only the thread inside the gate can see its own id here; any other thread sees another id
  // (or none) and waits for the batch of callbacks to end.
  if (running_thread_.load() == std::this_thread::get_id()) return {};
  return std::unique_lock<std::mutex>(mu_);
}

}  // namespace detail

PressureSubscription::PressureSubscription(PressureSubscription&& other) noexcept
    : tracker_(std::exchange(other.tracker_, nullptr)), id_(std::exchange(other.id_, 0)) {}

PressureSubscription& PressureSubscription::operator=(PressureSubscription&& other) noexcept {
  if (this != &other) {
    reset();
    tracker_ = std::exchange(other.tracker_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void PressureSubscription::reset() {
  if (tracker_ == nullptr) return;
  std::exchange(tracker_, nullptr)->unsubscribe(id_);
  id_ = 0;
}

PressureTracker::PressureTracker(const Clock& clock, PressureOptions options)
    : clock_(clock), options_(std::move(options)) {
  LEANCUT_CHECK(options_.validate().ok());
  PressureEpisode first;
  first.entered_at = clock_.now();
  history_.push_back(first);
}

PressureTracker::~PressureTracker() {
  std::lock_guard lock(mu_);
  LEANCUT_CHECK(subscribers_.empty());
}

PressureLevel PressureTracker::update(const PressureInputs& inputs) {
  const Clock::TimePoint now = clock_.now();
  const PressureLevel old_level = level();
  PressureLevel new_level = old_level;
  {
    std::lock_guard lock(mu_);
    auto& ledger = signal_levels_[static_cast<size_t>(PressureSignal::Ledger)];
    auto& working_set = signal_levels_[static_cast<size_t>(PressureSignal::WorkingSet)];
    auto& psi = signal_levels_[static_cast<size_t>(PressureSignal::PsiSome)];
    ledger = options_.ledger.map(inputs.ledger_ratio, ledger);
    working_set = inputs.working_set_ratio
                      ? options_.working_set.map(*inputs.working_set_ratio, working_set)
                      : PressureLevel::None;
    psi = inputs.psi_some_avg10 ? options_.psi_some_avg10.map(*inputs.psi_some_avg10, psi)
                                : PressureLevel::None;
    // The worst signal; on a tie the first in the order ledger, working set, PSI names the cause.
    PressureSignal cause = PressureSignal::Ledger;
    for (size_t s = 1; s < signal_levels_.size(); ++s) {
      if (signal_levels_[s] > signal_levels_[static_cast<size_t>(cause)]) {
        cause = static_cast<PressureSignal>(s);
      }
    }
    const PressureLevel target = signal_levels_[static_cast<size_t>(cause)];

    for (int k = 1; k < kPressureLevelCount; ++k) {
      auto& since = below_since_[static_cast<size_t>(k)];
      if (index_of(target) < k) {
        if (!since) since = now;
      } else {
        since.reset();
      }
    }

    if (target > old_level) {
      new_level = target;
    } else {
      // Down one level at a time, as far as the dwell allows: leaving level k needs the worst
      // signal below k for the whole dwell. below_since_[k] is never later than below_since_[k-1]
      // (below k-1 implies below k), so the walk stops at the first level held too recently.
      int k = index_of(old_level);
      while (k > index_of(target)) {
        const auto& since = below_since_[static_cast<size_t>(k)];
        if (!since || now - *since < options_.down_dwell) break;
        --k;
      }
      new_level = level_at(k);
    }

    if (new_level != old_level) {
      history_.back().left_at = now;
      PressureEpisode episode;
      episode.level = new_level;
      if (new_level != PressureLevel::None) {
        // On the way down the target may sit below the new level; the cause is then the worst
        // signal at the moment, which is what holds the level.
        episode.cause = cause;
      }
      episode.entered_at = now;
      history_.push_back(episode);
      if (history_.size() > options_.max_history) {
        history_.erase(history_.begin());
        ++dropped_history_;
      }
    }
    PressureEpisode& current = history_.back();
    current.max_ledger_ratio = std::max(current.max_ledger_ratio, inputs.ledger_ratio);
    if (inputs.working_set_ratio) {
      current.max_working_set_ratio =
          std::max(current.max_working_set_ratio.value_or(0.0), *inputs.working_set_ratio);
    }
    if (inputs.psi_some_avg10) {
      current.max_psi_some_avg10 =
          std::max(current.max_psi_some_avg10.value_or(0.0), *inputs.psi_some_avg10);
    }
    level_.store(new_level, std::memory_order_release);
  }
  if (new_level != old_level) notify(old_level, new_level);
  return new_level;
}

PressureLevel PressureTracker::signal_level(PressureSignal signal) const {
  std::lock_guard lock(mu_);
  return signal_levels_[static_cast<size_t>(signal)];
}

std::vector<PressureEpisode> PressureTracker::history() const {
  std::lock_guard lock(mu_);
  return history_;
}

int64_t PressureTracker::dropped_history() const {
  std::lock_guard lock(mu_);
  return dropped_history_;
}

PressureSubscription PressureTracker::subscribe(Callback callback) {
  LEANCUT_CHECK(callback != nullptr);
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  subscribers_.emplace(id, std::move(callback));
  return PressureSubscription(this, id);
}

void PressureTracker::unsubscribe(uint64_t id) {
  std::unique_lock gate = gate_.hold_unless_inside();
  Callback doomed;  // destroyed outside mu_: its captures may do anything
  std::lock_guard lock(mu_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  doomed = std::move(it->second);
  subscribers_.erase(it);
}

void PressureTracker::notify(PressureLevel old_level, PressureLevel new_level) {
  gate_.enter();
  std::vector<uint64_t> ids;
  {
    std::lock_guard lock(mu_);
    ids.reserve(subscribers_.size());
    for (const auto& entry : subscribers_) ids.push_back(entry.first);
  }
  for (uint64_t id : ids) {
    Callback callback;
    {
      std::lock_guard lock(mu_);
      auto it = subscribers_.find(id);
      if (it == subscribers_.end()) continue;  // unsubscribed by an earlier callback
      callback = it->second;  // a copy: the callback may unsubscribe itself while running
    }
    callback(old_level, new_level);
  }
  gate_.leave();
}

SignalThresholds thresholds_for_plan(const SignalThresholds& defaults, double planned_ratio) {
  SignalThresholds t = defaults;
  LevelThresholds& low = t.levels[0];
  LevelThresholds& moderate = t.levels[1];
  const double high = t.levels[2].enter;
  const double low_gap = low.enter - low.exit;
  const double moderate_gap = moderate.enter - moderate.exit;
  low.enter = std::clamp(planned_ratio, low.enter, high - 0.04);
  moderate.enter =
      std::clamp(std::max(planned_ratio, low.enter) + 0.02, moderate.enter, high - 0.02);
  low.exit = low.enter - low_gap;
  moderate.exit = moderate.enter - moderate_gap;
  return t;
}

}  // namespace leancut::memory
