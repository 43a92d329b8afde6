#include "time/rational.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

#include "time/time_parse.h"

namespace leancut {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

void expect_parts(Rational r, int64_t num, int64_t den) {
  EXPECT_EQ(r.num(), num) << r.to_string();
  EXPECT_EQ(r.den(), den) << r.to_string();
}

TEST(Rational, DefaultIsZero) {
  expect_parts(Rational{}, 0, 1);
}

TEST(Rational, ReducesAndKeepsTheDenominatorPositive) {
  expect_parts(Rational{6, 4}, 3, 2);
  expect_parts(Rational{-6, 4}, -3, 2);
  expect_parts(Rational{6, -4}, -3, 2);
  expect_parts(Rational{-6, -4}, 3, 2);
  expect_parts(Rational{0, -5}, 0, 1);
  expect_parts(Rational{0, 7}, 0, 1);
  expect_parts(Rational{30000, 1001}, 30000, 1001);
  expect_parts(Rational{60000, 2002}, 30000, 1001);
  expect_parts(Rational{7}, 7, 1);
}

TEST(Rational, ExtremeInputsReduceInto64Bits) {
  expect_parts(Rational{kMin, 2}, kMin / 2, 1);
  expect_parts(Rational{kMin, kMin}, 1, 1);
  expect_parts(Rational{kMax, kMax}, 1, 1);
  expect_parts(Rational{kMax, -kMax}, -1, 1);
  expect_parts(Rational{2, kMin}, -1, kMax / 2 + 1);
  expect_parts(Rational{kMax}, kMax, 1);
  expect_parts(Rational{-kMax}, -kMax, 1);
}

TEST(Rational, Arithmetic) {
  EXPECT_EQ(Rational(1, 3) + Rational(1, 6), Rational(1, 2));
  EXPECT_EQ(Rational(1, 3) - Rational(1, 2), Rational(-1, 6));
  EXPECT_EQ(Rational(3, 2) * Rational(30000, 1001), Rational(45000, 1001));
  EXPECT_EQ(Rational(3, 2) / Rational(3, 4), Rational(2));
  EXPECT_EQ(Rational(1, 2) / Rational(-1, 4), Rational(-2));
  EXPECT_EQ(-Rational(3, 2), Rational(-3, 2));
  Rational r{1, 2};
  r += Rational{1, 3};
  EXPECT_EQ(r, Rational(5, 6));
  r -= Rational{5, 6};
  EXPECT_EQ(r, Rational(0));
}

TEST(Rational, ReducesBeforeCheckingForOverflow) {
  // Each unreduced intermediate is far beyond int64; the reduced results are small.
  EXPECT_EQ(Rational(kMax, 3) * Rational(3, kMax), Rational(1));
  EXPECT_EQ(Rational(1, kMax) + Rational(1, kMax), Rational(2, kMax));
  EXPECT_EQ(Rational(kMax - 1, kMax) + Rational(1, kMax), Rational(1));
  EXPECT_EQ(Rational(kMax) - Rational(kMax - 1), Rational(1));
  EXPECT_EQ(Rational(kMax, 2) / Rational(kMax, 4), Rational(2));
}

TEST(Rational, FiveThousandNtscFramesSumExactly) {
  Rational total;
  for (int i = 0; i < 5000; ++i) total += Rational{1001, 30000};
  EXPECT_EQ(total, Rational(5000 * 1001, 30000));
  EXPECT_EQ(total, Rational(1001, 6));
}

TEST(Rational, OrderingIsExactWhereDoubleIsNot) {
  EXPECT_LT(Rational(1, 3), Rational(1, 2));
  EXPECT_LT(Rational(-1, 2), Rational(1, 3));
  EXPECT_LT(Rational(-1, 2), Rational(-1, 3));
  EXPECT_GT(Rational(2), Rational(3, 2));
  EXPECT_LE(Rational(2, 4), Rational(1, 2));
  // 1 + 1/(kMax-1) < 1 + 1/(kMax-2); as doubles both are 1.0.
  Rational a{kMax, kMax - 1};
  Rational b{kMax - 1, kMax - 2};
  EXPECT_EQ(a.to_double(), b.to_double());
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
}

TEST(Rational, Strings) {
  EXPECT_EQ(Rational(3, 2).to_string(), "3/2");
  EXPECT_EQ(Rational(3).to_string(), "3");
  EXPECT_EQ(Rational(-1, 4).to_string(), "-1/4");
  EXPECT_EQ(Rational(466, 5).to_seconds_string(), "93.2s");
  EXPECT_EQ(Rational(1, 30).to_seconds_string(), "0.0333s");
  EXPECT_EQ(Rational(2).to_seconds_string(), "2s");
  EXPECT_EQ(Rational(90).to_seconds_string(), "90s");
  EXPECT_EQ(Rational(5, 2).to_seconds_string(), "2.5s");
  EXPECT_EQ(Rational(-1, 4).to_seconds_string(), "-0.25s");
  EXPECT_EQ(Rational(1, 20000).to_seconds_string(), "0.0001s");  // half rounds away from zero
  EXPECT_EQ(Rational(-1, 20000).to_seconds_string(), "-0.0001s");
  EXPECT_EQ(Rational(1, 30000).to_seconds_string(), "0s");
  EXPECT_EQ(Rational(-1, 30000).to_seconds_string(), "0s");
  EXPECT_EQ(Rational(1001, 30000).to_seconds_string(), "0.0334s");
  EXPECT_EQ(Rational(kMax).to_seconds_string(), "9223372036854775807s");
}

TEST(Rational, ExactDecimal) {
  EXPECT_EQ(to_exact_decimal(Rational(3, 2)), "1.5");
  EXPECT_EQ(to_exact_decimal(Rational(-1, 4)), "-0.25");
  EXPECT_EQ(to_exact_decimal(Rational(7)), "7");
  EXPECT_EQ(to_exact_decimal(Rational(0)), "0");
  EXPECT_EQ(to_exact_decimal(Rational(1, 1024)), "0.0009765625");
  EXPECT_EQ(to_exact_decimal(Rational(466, 5)), "93.2");
  EXPECT_EQ(to_exact_decimal(Rational(1, 3)), std::nullopt);
  EXPECT_EQ(to_exact_decimal(Rational(1001, 30000)), std::nullopt);
  std::optional<std::string> tiny = to_exact_decimal(Rational(1, int64_t{1} << 62));
  ASSERT_TRUE(tiny.has_value());
  EXPECT_EQ(tiny->size(), 64u);  // "0." and 62 digits
  EXPECT_EQ(tiny->substr(0, 8), "0.000000");
}

TEST(Rational, ExactDecimalReparsesToTheSameValue) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    int twos = static_cast<int>(rng() % 63);
    int fives = static_cast<int>(rng() % 28);
    int64_t den = 1;
    for (int j = 0; j < twos && den <= kMax / 2; ++j) den *= 2;
    for (int j = 0; j < fives && den <= kMax / 5; ++j) den *= 5;
    int64_t num = static_cast<int64_t>(rng() >> (rng() % 64)) * ((rng() & 1) != 0 ? -1 : 1);
    Rational r{num, den};
    std::optional<std::string> text = to_exact_decimal(r);
    ASSERT_TRUE(text.has_value()) << r.to_string();
    Result<Rational> back = parse_decimal(*text);
    ASSERT_TRUE(back.ok()) << *text << ": " << back.error().message;
    EXPECT_EQ(back.value(), r) << *text;
  }
}

struct Rounding {
  Rational r;
  int64_t floor;
  int64_t ceil;
  int64_t round;
};

TEST(Rational, FloorCeilRoundBothSigns) {
  const Rounding cases[] = {
      {Rational(5, 2), 2, 3, 3},
      {Rational(-5, 2), -3, -2, -3},
      {Rational(1, 2), 0, 1, 1},
      {Rational(-1, 2), -1, 0, -1},
      {Rational(7, 3), 2, 3, 2},
      {Rational(-7, 3), -3, -2, -2},
      {Rational(8, 3), 2, 3, 3},
      {Rational(-8, 3), -3, -2, -3},
      {Rational(3), 3, 3, 3},
      {Rational(-3), -3, -3, -3},
      {Rational(0), 0, 0, 0},
      {Rational(1, kMax), 0, 1, 0},
      {Rational(-1, kMax), -1, 0, 0},
      {Rational(kMax), kMax, kMax, kMax},
      {Rational(-kMax), -kMax, -kMax, -kMax},
      {Rational(kMax, 2), kMax / 2, kMax / 2 + 1, kMax / 2 + 1},
      {Rational(-kMax, 2), -kMax / 2 - 1, -kMax / 2, -kMax / 2 - 1},
      {Rational(899, 10), 89, 90, 90},
      {Rational(-901, 10), -91, -90, -90},
  };
  for (const Rounding& c : cases) {
    EXPECT_EQ(floor_to_int(c.r), c.floor) << c.r.to_string();
    EXPECT_EQ(ceil_to_int(c.r), c.ceil) << c.r.to_string();
    EXPECT_EQ(round_half_up(c.r), c.round) << c.r.to_string();
  }
}

TEST(Rational, RoundingPropertiesOnRandomValues) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> num_dist(-1000000000, 1000000000);
  std::uniform_int_distribution<int64_t> den_dist(1, 100000);
  for (int i = 0; i < 100000; ++i) {
    Rational r{num_dist(rng), den_dist(rng)};
    int64_t f = floor_to_int(r);
    int64_t c = ceil_to_int(r);
    int64_t n = round_half_up(r);
    ASSERT_LE(Rational(f), r);
    ASSERT_LT(r, Rational(f) + Rational(1));
    ASSERT_GE(Rational(c), r);
    ASSERT_GT(r, Rational(c) - Rational(1));
    Rational diff = r - Rational(n);
    Rational half{1, 2};
    ASSERT_LE(diff, half);
    ASSERT_GE(diff, -half);
    // A half rounds away from zero: n lies beyond r, so r - n has the opposite sign of r.
    if (diff == half) {
      ASSERT_LT(r, Rational(0)) << "positive half rounded down";
    }
    if (diff == -half) {
      ASSERT_GT(r, Rational(0)) << "negative half rounded up";
    }
    ASSERT_EQ(round_half_up(-r), -n) << r.to_string();  // symmetric about zero
  }
}

using RationalDeathTest = ::testing::Test;

TEST_F(RationalDeathTest, ChecksZeroDenominatorAndOverflow) {
  EXPECT_DEATH((void)Rational(1, 0), "check failed");
  EXPECT_DEATH((void)Rational(kMin), "check failed");
  EXPECT_DEATH((void)Rational(kMin, -1), "check failed");
  EXPECT_DEATH((void)(Rational(kMax) + Rational(1)), "check failed");
  EXPECT_DEATH((void)(Rational(-kMax) - Rational(1)), "check failed");
  EXPECT_DEATH((void)(Rational(kMax) * Rational(2)), "check failed");
  EXPECT_DEATH((void)(Rational(1, kMax) * Rational(1, 2)), "check failed");
  EXPECT_DEATH((void)(Rational(1, kMax) + Rational(1, kMax - 1)), "check failed");
  EXPECT_DEATH((void)(Rational(1) / Rational(0)), "check failed");
}

}  // namespace
}  // namespace leancut
