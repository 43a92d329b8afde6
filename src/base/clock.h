// Clock: the one way logic reads time, so dwell times, rate limits and TTLs are testable.
//
//   SteadyClock clock;                      // production
//   auto t0 = clock.now();
//   ... tests pass a FakeClock (tests/fakes/fake_clock.h) and advance it by hand.
//
// Thread-safe: now() may be called from any thread.
#pragma once

#include <chrono>

namespace leancut {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// std::chrono::steady_clock: monotonic, unaffected by wall-clock changes.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }

  // A process-wide instance for callers that take `const Clock&` and have no better one.
  static const SteadyClock& instance() {
    static const SteadyClock clock;
    return clock;
  }
};

}  // namespace leancut
