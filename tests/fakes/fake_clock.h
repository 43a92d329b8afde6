// FakeClock: time moves only when a test says so. Thread-safe (an atomic tick count).
#pragma once

#include <atomic>
#include <chrono>

#include "base/clock.h"

namespace leancut::fakes {

class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return TimePoint(Duration(ns_.load())); }
  void advance(Duration d) { ns_.fetch_add(d.count()); }

 private:
  std::atomic<Duration::rep> ns_{1'000'000'000};  // not zero: "never" stays distinguishable
};

}  // namespace leancut::fakes
