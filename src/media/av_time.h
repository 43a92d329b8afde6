// Conversions between libav's AVRational timestamps and leancut's exact Rational seconds.
// The only place where the two meet.
#pragma once

#include <cstdint>

extern "C" {
#include <libavutil/rational.h>
}

#include "time/rational.h"

namespace leancut::media {

// ts * time_base, exactly.
inline Rational to_seconds(int64_t ts, AVRational time_base) {
  return Rational{ts} * Rational{time_base.num, time_base.den};
}

inline Rational to_rational(AVRational r) {
  return Rational{r.num, r.den};
}

// REQUIRES: r fits in int (true for every frame rate and time base we produce).
AVRational to_av_rational(Rational r);

// The timestamp in `time_base` at or before `seconds`: floor(seconds / time_base).
int64_t to_timestamp_floor(Rational seconds, AVRational time_base);

}  // namespace leancut::media
