// Exact time arithmetic for tests, written independently of src/time so that expectations are
// not computed by the code under test. Q is a rational num/den (den > 0), compared with 128-bit
// products; round_half_up rounds halves away from zero, as docs/blueprint.md's time rules say.
//
//   Q fps{30000, 1001};
//   int64_t f = round_half_up(mul(q_from_decimal("1.5"), fps));   // 45
//
// Value types; thread-safe.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <string_view>

namespace leancut::testing {

// -Wpedantic knows no __int128; the extension is deliberate (exact products of int64).
__extension__ typedef __int128 I128;

struct Q {
  int64_t num = 0;
  int64_t den = 1;
};

inline Q reduce(I128 num, I128 den) {
  if (den < 0) {
    num = -num;
    den = -den;
  }
  I128 a = num < 0 ? -num : num;
  I128 b = den;
  while (b != 0) {
    I128 t = a % b;
    a = b;
    b = t;
  }
  if (a == 0) a = 1;
  return Q{static_cast<int64_t>(num / a), static_cast<int64_t>(den / a)};
}

inline Q mul(Q a, Q b) {
  return reduce(static_cast<I128>(a.num) * b.num, static_cast<I128>(a.den) * b.den);
}
inline Q div(Q a, Q b) {
  return reduce(static_cast<I128>(a.num) * b.den, static_cast<I128>(a.den) * b.num);
}
inline Q add(Q a, Q b) {
  return reduce(static_cast<I128>(a.num) * b.den + static_cast<I128>(b.num) * a.den,
                static_cast<I128>(a.den) * b.den);
}
inline Q sub(Q a, Q b) {
  return add(a, Q{-b.num, b.den});
}
// -1, 0, 1 as a < b, a == b, a > b.
inline int compare(Q a, Q b) {
  I128 l = static_cast<I128>(a.num) * b.den;
  I128 r = static_cast<I128>(b.num) * a.den;
  return l < r ? -1 : (l > r ? 1 : 0);
}
inline double to_double(Q q) {
  return static_cast<double>(q.num) / static_cast<double>(q.den);
}

// floor(q + 1/2) for q >= 0, -(floor(-q + 1/2)) for q < 0: halves away from zero.
inline int64_t round_half_up(Q q) {
  I128 n = q.num < 0 ? -static_cast<I128>(q.num) : q.num;
  I128 r = (2 * n + q.den) / (2 * static_cast<I128>(q.den));
  return static_cast<int64_t>(q.num < 0 ? -r : r);
}

// "1.5" -> 3/2, "10" -> 10, "0.001" -> 1/1000 (plain decimals only; tests write their own).
inline Q q_from_decimal(std::string_view text) {
  I128 num = 0;
  I128 den = 1;
  bool frac = false;
  for (char c : text) {
    if (c == '.') {
      frac = true;
      continue;
    }
    if (c < '0' || c > '9') std::abort();  // a typo in a test's own literal
    num = num * 10 + (c - '0');
    if (frac) den *= 10;
  }
  return reduce(num, den);
}

}  // namespace leancut::testing
