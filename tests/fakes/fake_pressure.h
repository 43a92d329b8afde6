// ScriptedPressureSource: plays a list of samples, one per read(), then repeats the last one; for
// tests and stress runs that drive a PressureTracker through a known story. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "base/check.h"
#include "memory/pressure.h"

namespace leancut::fakes {

class ScriptedPressureSource final : public memory::PressureSource {
 public:
  // REQUIRES: at least one sample.
  explicit ScriptedPressureSource(std::vector<memory::PressureInputs> script)
      : script_(std::move(script)) {
    LEANCUT_CHECK(!script_.empty());
  }

  // Ledger ratios only, e.g. ScriptedPressureSource::ledger({0.2, 0.9, 0.9, 0.3}).
  static ScriptedPressureSource ledger(const std::vector<double>& ratios) {
    std::vector<memory::PressureInputs> script;
    for (double r : ratios) script.push_back({.ledger_ratio = r});
    return ScriptedPressureSource(std::move(script));
  }

  memory::PressureInputs read() override {
    std::lock_guard lock(mu_);
    const size_t i = next_ < script_.size() ? next_ : script_.size() - 1;
    ++next_;
    return script_[i];
  }

  int64_t reads() const {
    std::lock_guard lock(mu_);
    return static_cast<int64_t>(next_);
  }

 private:
  mutable std::mutex mu_;
  std::vector<memory::PressureInputs> script_;  // guarded by mu_
  size_t next_ = 0;                             // guarded by mu_
};

}  // namespace leancut::fakes
