// TimeRange and frame/sample math. Every range in leancut is half-open: [start, end), inclusive
// of its start and exclusive of its end (as OpenTimelineIO's TimeRange).
//
//   TimeRange shot{Rational{3, 2}, Rational{3}};      // [1.5 s, 3 s)
//   frame_count(shot, Rational{30});                   // round(90) - round(45) = 45
#pragma once

#include <cstdint>

#include "time/rational.h"

namespace leancut {

struct TimeRange {
  Rational start;
  Rational end;  // exclusive
  Rational duration() const { return end - start; }
  bool empty() const { return !(start < end); }
  friend bool operator==(const TimeRange&, const TimeRange&) = default;
};

// The frame index at time t on a grid of `rate` frames per second: round_half_up(t * rate).
int64_t frame_index_at(Rational t, Rational rate);

// round(end * rate) - round(start * rate): the blueprint's frame rule. Summing it over
// consecutive ranges telescopes, so a timeline's total is exact.
int64_t frame_count(TimeRange range, Rational rate);

// Start time of frame `index` on a grid of `rate`: index / rate.
Rational frame_time(int64_t index, Rational rate);

// The sample index at time t for a sample rate: round_half_up(t * sample_rate). Audio for a run
// of output frames [f0, f1) spans samples [sample_at(f0/fps), sample_at(f1/fps)), so no drift
// accumulates however many shots there are.
int64_t sample_at(Rational t, int64_t sample_rate);

}  // namespace leancut
