#include "media/av_time.h"

#include <limits>

#include "base/check.h"

namespace leancut::media {

AVRational to_av_rational(Rational r) {
  LEANCUT_CHECK(r.num() <= std::numeric_limits<int>::max() &&
                r.num() >= std::numeric_limits<int>::min() &&
                r.den() <= std::numeric_limits<int>::max());
  return AVRational{static_cast<int>(r.num()), static_cast<int>(r.den())};
}

int64_t to_timestamp_floor(Rational seconds, AVRational time_base) {
  return floor_to_int(seconds / to_rational(time_base));
}

}  // namespace leancut::media
