// Rational: an exact time value or rate, numerator/denominator in int64, always reduced with a
// positive denominator. Never double: 5,000 shots of 1001/30000-second frames sum exactly.
//
//   Rational fps{30000, 1001};
//   Rational t = Rational{3, 2};               // 1.5 s
//   int64_t frame = round_half_up(t * fps);    // 45
//
// Value type: constexpr, immutable, passed by value, thread-safe. Arithmetic LEANCUT_CHECKs on
// int64 overflow (after reduction, with 128-bit intermediates) instead of wrapping silently. The
// numerator is never INT64_MIN, so negation and absolute values cannot overflow.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

namespace leancut {

class Rational {
 public:
  constexpr Rational() = default;
  // REQUIRES: den != 0, and the reduced value fits (|num| <= INT64_MAX after reduction).
  Rational(int64_t num, int64_t den = 1);  // NOLINT(google-explicit-constructor): 2 == 2/1

  int64_t num() const { return num_; }
  int64_t den() const { return den_; }

  friend Rational operator+(Rational a, Rational b);
  friend Rational operator-(Rational a, Rational b);
  friend Rational operator*(Rational a, Rational b);
  // REQUIRES: b != 0.
  friend Rational operator/(Rational a, Rational b);
  Rational operator-() const { return Rational{-num_, den_}; }
  Rational& operator+=(Rational b) { return *this = *this + b; }
  Rational& operator-=(Rational b) { return *this = *this - b; }

  friend bool operator==(Rational a, Rational b) { return a.num_ == b.num_ && a.den_ == b.den_; }
  friend std::strong_ordering operator<=>(Rational a, Rational b);

  double to_double() const { return static_cast<double>(num_) / static_cast<double>(den_); }
  // "3/2", or "3" when the denominator is 1.
  std::string to_string() const;
  // Seconds for people: "93.2s", "0.0333s" (rounded to 4 decimals, trailing zeros dropped).
  std::string to_seconds_string() const;

 private:
  int64_t num_ = 0;
  int64_t den_ = 1;
};

// The exact decimal digits when the value terminates (its reduced denominator is 2^a * 5^b):
// 3/2 -> "1.5", -1/4 -> "-0.25", 7 -> "7", 1/1024 -> "0.0009765625"; nullopt for 1/3.
std::optional<std::string> to_exact_decimal(Rational r);

int64_t floor_to_int(Rational r);
int64_t ceil_to_int(Rational r);
// Rounds halves away from zero: 2.5 -> 3, -2.5 -> -3. The blueprint's frame rule uses it.
int64_t round_half_up(Rational r);

}  // namespace leancut
