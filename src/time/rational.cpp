#include "time/rational.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "base/check.h"

namespace leancut {
namespace {

// 128-bit intermediates: a product of two int64 values always fits, so results are reduced
// before anything is checked against the int64 range.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

constexpr Int128 kMax64 = std::numeric_limits<int64_t>::max();

UInt128 abs128(Int128 v) {
  return v < 0 ? static_cast<UInt128>(-v) : static_cast<UInt128>(v);
}

UInt128 gcd128(UInt128 a, UInt128 b) {
  while (b != 0) {
    UInt128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Reduces num/den and narrows it to int64; LEANCUT_CHECKs that the reduced value fits.
// REQUIRES: den != 0, |num| and |den| < 2^127.
void reduce(Int128 num, Int128 den, int64_t& out_num, int64_t& out_den) {
  LEANCUT_CHECK(den != 0);
  if (den < 0) {
    num = -num;
    den = -den;
  }
  UInt128 g = gcd128(abs128(num), static_cast<UInt128>(den));
  if (g > 1) {
    num /= static_cast<Int128>(g);
    den /= static_cast<Int128>(g);
  }
  if (num == 0) den = 1;
  // Symmetric range: INT64_MIN is excluded so that negation never overflows.
  LEANCUT_CHECK(num <= kMax64 && num >= -kMax64 && den <= kMax64);
  out_num = static_cast<int64_t>(num);
  out_den = static_cast<int64_t>(den);
}

Rational make(Int128 num, Int128 den) {
  int64_t n = 0;
  int64_t d = 1;
  reduce(num, den, n, d);
  return Rational{n, d};  // already reduced: the constructor's reduction is a no-op
}

// floor(n / d) for d > 0.
Int128 floor_div(Int128 n, Int128 d) {
  Int128 q = n / d;
  if (n % d != 0 && n < 0) --q;
  return q;
}

int64_t narrow(Int128 v) {
  LEANCUT_CHECK(v <= kMax64 && v >= -kMax64 - 1);
  return static_cast<int64_t>(v);
}

std::string to_decimal_string(UInt128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v != 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return s;
}

}  // namespace

Rational::Rational(int64_t num, int64_t den) {
  reduce(num, den, num_, den_);
}

Rational operator+(Rational a, Rational b) {
  return make(static_cast<Int128>(a.num_) * b.den_ + static_cast<Int128>(b.num_) * a.den_,
              static_cast<Int128>(a.den_) * b.den_);
}

Rational operator-(Rational a, Rational b) {
  return make(static_cast<Int128>(a.num_) * b.den_ - static_cast<Int128>(b.num_) * a.den_,
              static_cast<Int128>(a.den_) * b.den_);
}

Rational operator*(Rational a, Rational b) {
  return make(static_cast<Int128>(a.num_) * b.num_, static_cast<Int128>(a.den_) * b.den_);
}

Rational operator/(Rational a, Rational b) {
  LEANCUT_CHECK(b.num_ != 0);
  return make(static_cast<Int128>(a.num_) * b.den_, static_cast<Int128>(a.den_) * b.num_);
}

std::strong_ordering operator<=>(Rational a, Rational b) {
  Int128 l = static_cast<Int128>(a.num_) * b.den_;
  Int128 r = static_cast<Int128>(b.num_) * a.den_;
  if (l < r) return std::strong_ordering::less;
  if (l > r) return std::strong_ordering::greater;
  return std::strong_ordering::equal;
}

std::string Rational::to_string() const {
  std::string s = std::to_string(num_);
  if (den_ != 1) s += "/" + std::to_string(den_);
  return s;
}

std::string Rational::to_seconds_string() const {
  // Round |value| * 10^4 half away from zero, then print with the trailing zeros dropped.
  UInt128 n = abs128(num_);
  UInt128 d = static_cast<UInt128>(den_);
  UInt128 scaled = (n * 10000 * 2 + d) / (2 * d);
  std::string digits = to_decimal_string(scaled / 10000);
  UInt128 frac = scaled % 10000;
  if (frac != 0) {
    std::string f = to_decimal_string(frac);
    f.insert(0, 4 - f.size(), '0');
    while (f.back() == '0') f.pop_back();
    digits += "." + f;
  }
  bool negative = num_ < 0 && scaled != 0;
  return (negative ? "-" : "") + digits + "s";
}

std::optional<std::string> to_exact_decimal(Rational r) {
  int64_t den = r.den();
  while (den % 2 == 0) den /= 2;
  while (den % 5 == 0) den /= 5;
  if (den != 1) return std::nullopt;

  UInt128 n = abs128(r.num());
  UInt128 d = static_cast<UInt128>(r.den());
  std::string s = (r.num() < 0 ? "-" : "") + to_decimal_string(n / d);
  UInt128 rem = n % d;
  if (rem != 0) s += '.';
  // Terminates within 63 digits: d <= 2^63 is 2^a * 5^b with a, b <= 63.
  while (rem != 0) {
    rem *= 10;
    s += static_cast<char>('0' + static_cast<int>(rem / d));
    rem %= d;
  }
  return s;
}

int64_t floor_to_int(Rational r) {
  return narrow(floor_div(r.num(), r.den()));
}

int64_t ceil_to_int(Rational r) {
  return narrow(-floor_div(-static_cast<Int128>(r.num()), r.den()));
}

int64_t round_half_up(Rational r) {
  // |n|/d + 1/2 = (2|n| + d) / 2d, floored; the sign is applied afterwards (halves go away
  // from zero on both sides).
  Int128 n = r.num();
  Int128 d = r.den();
  Int128 mag = (2 * (n < 0 ? -n : n) + d) / (2 * d);
  return narrow(n < 0 ? -mag : mag);
}

}  // namespace leancut
