#include "time/time_range.h"

#include <cstdint>
#include <limits>

#include "base/check.h"

namespace leancut {
namespace {

__extension__ typedef __int128 Int128;

// round_half_up((a.num * b.num) / (a.den * b.den)) without forming the product as a Rational, so
// an unreduced product that would not fit int64 still rounds exactly; only the result must fit.
int64_t round_product(Rational a, Rational b) {
  Int128 n = static_cast<Int128>(a.num()) * b.num();
  Int128 d = static_cast<Int128>(a.den()) * b.den();
  // 2|n| + d < 2^127: |n| < 2^126 and d < 2^126.
  Int128 mag = (2 * (n < 0 ? -n : n) + d) / (2 * d);
  Int128 v = n < 0 ? -mag : mag;
  LEANCUT_CHECK(v <= std::numeric_limits<int64_t>::max() &&
                v >= std::numeric_limits<int64_t>::min());
  return static_cast<int64_t>(v);
}

}  // namespace

int64_t frame_index_at(Rational t, Rational rate) {
  return round_product(t, rate);
}

int64_t frame_count(TimeRange range, Rational rate) {
  Int128 count =
      static_cast<Int128>(round_product(range.end, rate)) - round_product(range.start, rate);
  LEANCUT_CHECK(count <= std::numeric_limits<int64_t>::max() &&
                count >= std::numeric_limits<int64_t>::min());
  return static_cast<int64_t>(count);
}

Rational frame_time(int64_t index, Rational rate) {
  LEANCUT_CHECK(rate.num() != 0);
  return Rational{index} / rate;
}

int64_t sample_at(Rational t, int64_t sample_rate) {
  return round_product(t, Rational{sample_rate});
}

}  // namespace leancut
