#include "memory/ladder.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "memory/ledger.h"
#include "memory/rss.h"

namespace leancut::memory {

namespace {

size_t index_of(LadderStep step) {
  return static_cast<size_t>(step);
}

std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", ratio * 100.0);
  return buf;
}

std::string give_up_message(Clock::Duration critical_for, const PressureInputs& inputs) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f s",
                std::chrono::duration<double>(critical_for).count());
  std::string what = "ledger " + percent(inputs.ledger_ratio);
  if (inputs.ledger_limit_bytes > 0 && inputs.ledger_limit_bytes != kNoLimit) {
    what += " of " + format_bytes(inputs.ledger_limit_bytes);
  }
  if (inputs.working_set_ratio) what += ", working set " + percent(*inputs.working_set_ratio);
  if (inputs.psi_some_avg10) {
    char psi[48];
    std::snprintf(psi, sizeof psi, ", PSI some %.1f%%", *inputs.psi_some_avg10);
    what += psi;
  }
  return std::string("memory pressure stayed critical for ") + seconds + " (" + what +
         "); stopping instead of being OOM-killed";
}

}  // namespace

const char* to_string(LadderStep step) {
  switch (step) {
    case LadderStep::TrimPools:
      return "trim_pools";
    case LadderStep::EvictCaches:
      return "evict_caches";
    case LadderStep::ReleaseAllocator:
      return "release_allocator";
    case LadderStep::ShrinkQueues:
      return "shrink_queues";
    case LadderStep::Backpressure:
      return "backpressure";
  }
  return "unknown";
}

PressureLevel entry_level(LadderStep step) {
  switch (step) {
    case LadderStep::TrimPools:
      return PressureLevel::Low;
    case LadderStep::EvictCaches:
    case LadderStep::ReleaseAllocator:
      return PressureLevel::Moderate;
    case LadderStep::ShrinkQueues:
      return PressureLevel::High;
    case LadderStep::Backpressure:
      return PressureLevel::Critical;
  }
  return PressureLevel::Critical;
}

bool is_sticky(LadderStep step) {
  return step == LadderStep::ShrinkQueues || step == LadderStep::Backpressure;
}

LadderAction::LadderAction(LadderAction&& other) noexcept
    : ladder_(std::exchange(other.ladder_, nullptr)), id_(std::exchange(other.id_, 0)) {}

LadderAction& LadderAction::operator=(LadderAction&& other) noexcept {
  if (this != &other) {
    reset();
    ladder_ = std::exchange(other.ladder_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void LadderAction::reset() {
  if (ladder_ == nullptr) return;
  std::exchange(ladder_, nullptr)->remove(id_);
  id_ = 0;
}

DegradationLadder::DegradationLadder(const Clock& clock, LadderOptions options)
    : clock_(clock), options_(options) {
  for (Clock::Duration interval : options_.min_interval) {
    LEANCUT_CHECK(interval >= Clock::Duration::zero());
  }
  LEANCUT_CHECK(options_.give_up_after >= Clock::Duration::zero());
}

DegradationLadder::~DegradationLadder() {
  std::lock_guard lock(mu_);
  LEANCUT_CHECK(actions_.empty());
}

LadderAction DegradationLadder::add_action(LadderStep step, Action run, Action undo) {
  LEANCUT_CHECK(run != nullptr);
  LEANCUT_CHECK(undo == nullptr || is_sticky(step));
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  actions_.emplace(id, Registered{step, std::move(run), std::move(undo)});
  return LadderAction(this, id);
}

void DegradationLadder::remove(uint64_t id) {
  std::unique_lock gate = gate_.hold_unless_inside();
  Registered doomed{};  // destroyed outside mu_: its captures may do anything
  std::lock_guard lock(mu_);
  auto it = actions_.find(id);
  if (it == actions_.end()) return;
  doomed = std::move(it->second);
  actions_.erase(it);
}

void DegradationLadder::on_update(PressureLevel level, const PressureInputs& inputs) {
  const Clock::TimePoint now = clock_.now();
  std::vector<std::pair<uint64_t, Call>> calls;
  {
    std::lock_guard lock(mu_);
    // Undo sticky steps above the level, highest first; each step's actions in reverse order.
    for (auto step = kLadderSteps.rbegin(); step != kLadderSteps.rend(); ++step) {
      StepState& st = steps_[index_of(*step)];
      if (!is_sticky(*step) || level >= entry_level(*step) || !st.engaged) continue;
      st.engaged = false;
      ++st.undos;
      for (auto it = actions_.rbegin(); it != actions_.rend(); ++it) {
        if (it->second.step != *step || !it->second.engaged) continue;
        it->second.engaged = false;
        if (it->second.undo) calls.emplace_back(it->first, Call::Undo);
      }
    }
    // Run the steps the level calls for, lowest first; each step's actions in registration order.
    for (LadderStep step : kLadderSteps) {
      if (level < entry_level(step)) continue;
      StepState& st = steps_[index_of(step)];
      const bool due = !st.last_run || now - *st.last_run >= options_.min_interval[index_of(step)];
      if (is_sticky(step) && st.engaged) {
        // Engaged already: only actions added since then still have to run.
        for (auto& [id, action] : actions_) {
          if (action.step != step || action.engaged) continue;
          action.engaged = true;
          calls.emplace_back(id, Call::Run);
        }
        continue;
      }
      if (!due) continue;
      ++st.runs;
      st.last_run = now;
      if (is_sticky(step)) st.engaged = true;
      for (auto& [id, action] : actions_) {
        if (action.step != step) continue;
        if (is_sticky(step)) action.engaged = true;
        calls.emplace_back(id, Call::Run);
      }
    }
    // The last resort.
    if (level == PressureLevel::Critical) {
      if (!critical_since_) critical_since_ = now;
      const Clock::Duration critical_for = now - *critical_since_;
      if (!give_up_ && critical_for >= options_.give_up_after) {
        give_up_ = make_error(ErrorCode::OverBudget, give_up_message(critical_for, inputs));
      }
    } else {
      critical_since_.reset();
    }
  }
  call(calls);
}

void DegradationLadder::call(const std::vector<std::pair<uint64_t, Call>>& calls) {
  if (calls.empty()) return;
  gate_.enter();
  for (const auto& [id, kind] : calls) {
    Action action;
    {
      std::lock_guard lock(mu_);
      auto it = actions_.find(id);
      if (it == actions_.end()) continue;  // removed by an earlier action
      // A copy: the action may remove itself while running.
      action = kind == Call::Run ? it->second.run : it->second.undo;
    }
    action();
  }
  gate_.leave();
}

Status DegradationLadder::status() const {
  std::lock_guard lock(mu_);
  if (give_up_) return *give_up_;
  return ok_status();
}

bool DegradationLadder::gave_up() const {
  std::lock_guard lock(mu_);
  return give_up_.has_value();
}

LadderStepStats DegradationLadder::stats(LadderStep step) const {
  std::lock_guard lock(mu_);
  const StepState& st = steps_[index_of(step)];
  LadderStepStats out;
  out.step = step;
  out.runs = st.runs;
  out.undos = st.undos;
  out.engaged = st.engaged;
  out.last_run = st.last_run;
  for (const auto& entry : actions_) {
    if (entry.second.step == step) ++out.actions;
  }
  return out;
}

std::array<LadderStepStats, kLadderStepCount> DegradationLadder::stats() const {
  std::array<LadderStepStats, kLadderStepCount> out;
  for (LadderStep step : kLadderSteps) out[index_of(step)] = stats(step);
  return out;
}

}  // namespace leancut::memory
