#include "time/time_parse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace leancut {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
const Rational kNtsc{30000, 1001};
const Rational kNtsc60{60000, 1001};

Rational decimal(std::string_view text) {
  Result<Rational> r = parse_decimal(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().message;
  return r.ok() ? r.value() : Rational{-999};
}

std::string decimal_error(std::string_view text) {
  Result<Rational> r = parse_decimal(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << r->to_string();
  return r.ok() ? "" : r.error().message;
}

TEST(ParseDecimal, ExactValues) {
  EXPECT_EQ(decimal("1.5"), Rational(3, 2));
  EXPECT_EQ(decimal("93.2"), Rational(466, 5));
  EXPECT_EQ(decimal("2"), Rational(2));
  EXPECT_EQ(decimal("-0.25"), Rational(-1, 4));
  EXPECT_EQ(decimal("0"), Rational(0));
  EXPECT_EQ(decimal("-0"), Rational(0));
  EXPECT_EQ(decimal("0.000"), Rational(0));
  EXPECT_EQ(decimal("0.1"), Rational(1, 10));  // not the double nearest 0.1
  EXPECT_EQ(decimal("0.30000000000000004"), Rational(7500000000000001, 25000000000000000));
  EXPECT_EQ(decimal("1.001"), Rational(1001, 1000));
  EXPECT_EQ(decimal("1.50000000000000000000000000000000000000000000000000000000000000000000"),
            Rational(3, 2));  // trailing zeros do not count as digits
  EXPECT_EQ(decimal("9223372036854775807"), Rational(kMax));
  EXPECT_EQ(decimal("-9223372036854775807"), Rational(-kMax));
}

TEST(ParseDecimal, Exponents) {
  EXPECT_EQ(decimal("1e-3"), Rational(1, 1000));
  EXPECT_EQ(decimal("1.5E2"), Rational(150));
  EXPECT_EQ(decimal("1E+2"), Rational(100));
  EXPECT_EQ(decimal("1e0"), Rational(1));
  EXPECT_EQ(decimal("-2.5e-1"), Rational(-1, 4));
  EXPECT_EQ(decimal("123.456e-2"), Rational(154320, 125000));
  EXPECT_EQ(decimal("1e18"), Rational(1000000000000000000));
  EXPECT_EQ(decimal("1e-18"), Rational(1, 1000000000000000000));
  EXPECT_EQ(decimal("5e-19"), Rational(1, 2000000000000000000));  // 10^19 cancels to 2 * 10^18
  EXPECT_EQ(decimal("0e-400"), Rational(0));
  EXPECT_EQ(decimal("0e99999999999999999999"), Rational(0));
  EXPECT_EQ(decimal("1000e-3"), Rational(1));
  EXPECT_EQ(decimal("0.001e3"), Rational(1));
  // 2^-62 has 62 fractional digits and 44 significant ones; it still fits exactly.
  EXPECT_EQ(decimal("2.16840434497100886801490560173988342285156250e-19"),
            Rational(1, int64_t{1} << 62));
}

TEST(ParseDecimal, SyntaxErrorsFollowTheJsonGrammar) {
  for (const char* bad :
       {"",   "-",    "+1",  "01",  "-01", "1.",  ".5",   "1e",  "1e+",   "1.5x", " 1",
        "1 ", "0x10", "NaN", "inf", "1/2", "1,5", "1..5", "--1", "1e5.5", "e5"}) {
    std::string message = decimal_error(bad);
    EXPECT_NE(message.find("is not a decimal number"), std::string::npos) << bad << ": " << message;
  }
  EXPECT_EQ(decimal_error("01"), "\"01\" is not a decimal number: leading zeros are not allowed");
  EXPECT_EQ(decimal_error("1."), "\"1.\" is not a decimal number: expected a digit after '.'");
  EXPECT_EQ(decimal_error("1e+"),
            "\"1e+\" is not a decimal number: expected a digit in the exponent");
  EXPECT_EQ(decimal_error("1.5s"),
            "\"1.5s\" is not a decimal number: unexpected characters after the number");
  EXPECT_EQ(decimal_error(""), "\"\" is not a decimal number: empty text");
}

TEST(ParseDecimal, ValuesThatCannotBeExactIn64BitsAreErrors) {
  for (const char* big : {"9223372036854775808", "-9223372036854775808", "1e19", "1e-19", "1e-400",
                          "1e400", "3.3333333333333333333", "1e-63", "0.1e-62"}) {
    std::string message = decimal_error(big);
    EXPECT_NE(message.find("out of range"), std::string::npos) << big << ": " << message;
  }
  std::string many = "1." + std::string(70, '0') + "1";
  EXPECT_NE(decimal_error(many).find("too many significant digits"), std::string::npos);
}

TEST(ParseRatio, Values) {
  EXPECT_EQ(parse_ratio("1001/30000").value(), Rational(1001, 30000));
  EXPECT_EQ(parse_ratio("-3/6").value(), Rational(-1, 2));
  EXPECT_EQ(parse_ratio("0/5").value(), Rational(0));
  EXPECT_EQ(parse_ratio("9223372036854775807/1").value(), Rational(kMax));
  for (const char* bad : {"1/", "/2", "1.5/2", "a/b", "1/-2", "+1/2", "1/2/3", "1", " 1/2", ""}) {
    Result<Rational> r = parse_ratio(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("is not a ratio"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(parse_ratio("1/0").error().message, "\"1/0\" has a zero denominator");
  EXPECT_NE(parse_ratio("99999999999999999999/1").error().message.find("out of range"),
            std::string::npos);
}

TEST(ParseRate, AcceptsIntegersRatiosAndDecimals) {
  EXPECT_EQ(parse_rate("30").value(), Rational(30));
  EXPECT_EQ(parse_rate("30000/1001").value(), kNtsc);
  EXPECT_EQ(parse_rate("23.976").value(), Rational(2997, 125));
  EXPECT_EQ(parse_rate("29.97").value(), Rational(2997, 100));
  EXPECT_EQ(parse_rate("1e2").value(), Rational(100));
  EXPECT_EQ(parse_rate("48000").value(), Rational(48000));
}

TEST(ParseRate, Errors) {
  EXPECT_EQ(parse_rate("0").error().message, "rate must be positive, got \"0\"");
  EXPECT_EQ(parse_rate("-30").error().message, "rate must be positive, got \"-30\"");
  EXPECT_EQ(parse_rate("0/1").error().message, "rate must be positive, got \"0/1\"");
  EXPECT_EQ(parse_rate("-30000/1001").error().message,
            "rate must be positive, got \"-30000/1001\"");
  EXPECT_EQ(parse_rate("30fps").error().message,
            "\"30fps\" is not a rate (expected an integer such as 30, a ratio such as 30000/1001 "
            "or a decimal such as 23.976)");
  EXPECT_EQ(parse_rate("30/0").error().message, "\"30/0\" has a zero denominator");
  EXPECT_NE(parse_rate("1e400").error().message.find("out of range"), std::string::npos);
  EXPECT_EQ(parse_rate("").error().code, ErrorCode::InvalidInput);
}

Timecode tc(int64_t h, int64_t m, int64_t s, int64_t f, bool df = false) {
  Timecode t;
  t.hours = h;
  t.minutes = m;
  t.seconds = s;
  t.frames = f;
  t.drop_frame = df;
  return t;
}

TEST(Timecode, ParsesAndPrints) {
  EXPECT_EQ(parse_timecode("01:00:00:12").value(), tc(1, 0, 0, 12));
  EXPECT_EQ(parse_timecode("00:01:00;02").value(), tc(0, 1, 0, 2, true));
  EXPECT_EQ(parse_timecode("00:01:00.02").value(), tc(0, 1, 0, 2, true));
  EXPECT_EQ(parse_timecode("123:59:59:119").value(), tc(123, 59, 59, 119));
  EXPECT_EQ(to_string(tc(1, 0, 0, 12)), "01:00:00:12");
  EXPECT_EQ(to_string(tc(0, 1, 0, 2, true)), "00:01:00;02");
  EXPECT_EQ(to_string(tc(123, 59, 59, 119)), "123:59:59:119");
  for (const Timecode& t : {tc(0, 0, 0, 0), tc(23, 59, 59, 29, true), tc(999999, 0, 1, 100)}) {
    EXPECT_EQ(parse_timecode(to_string(t)).value(), t) << to_string(t);
  }
}

TEST(Timecode, SyntaxErrors) {
  for (const char* bad :
       {"", "1:00:00:00", "00:00:00", "00:00:00:00:00", "aa:bb:cc:dd", "00:00:00:0",
        "00:00:00:0000", "00:00:00:00 ", " 00:00:00:00", "-1:00:00:00", "00;00;00;00",
        "00:00;00:00", "00:0:00:00", "0000000:00:00:00", "00:00:00,00", "1.5"}) {
    Result<Timecode> r = parse_timecode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message, "\"" + std::string(bad) +
                                     "\" is not a timecode (expected HH:MM:SS:FF, or HH:MM:SS;FF "
                                     "for drop-frame)");
  }
  EXPECT_EQ(parse_timecode("00:60:00:00").error().message,
            "\"00:60:00:00\": minutes must be below 60");
  EXPECT_EQ(parse_timecode("00:00:60;00").error().message,
            "\"00:00:60;00\": seconds must be below 60");
}

TEST(Timecode, NonDropFrameCountsAtTheNominalRate) {
  EXPECT_EQ(timecode_to_frame(tc(0, 0, 1, 0), Rational(25)).value(), 25);
  EXPECT_EQ(timecode_to_frame(tc(1, 0, 0, 0), kNtsc).value(), 108000);
  EXPECT_EQ(timecode_to_frame(tc(0, 0, 1, 0), Rational(24000, 1001)).value(), 24);
  EXPECT_EQ(timecode_to_frame(tc(0, 0, 1, 0), Rational(2997, 125)).value(), 24);  // 23.976
  EXPECT_EQ(timecode_to_frame(tc(0, 0, 0, 29), kNtsc).value(), 29);
  EXPECT_EQ(timecode_to_seconds(tc(1, 0, 0, 0), kNtsc).value(), Rational(18018, 5));  // 3603.6
  EXPECT_EQ(timecode_to_seconds(tc(0, 0, 1, 12), Rational(25)).value(), Rational(37, 25));
  EXPECT_EQ(timecode_to_frame(tc(0, 0, 0, 25), Rational(25)).error().message,
            "\"00:00:00:25\": frame 25 is out of range at 25 fps (00 to 24)");
  EXPECT_EQ(timecode_to_frame(tc(0, 0, 0, 30), kNtsc).error().message,
            "\"00:00:00:30\": frame 30 is out of range at 30000/1001 fps (00 to 29)");
  EXPECT_EQ(timecode_to_frame(tc(0, 0, 0, 0), Rational(0)).error().message,
            "rate must be positive, got 0");
  EXPECT_FALSE(timecode_to_frame(tc(0, 61, 0, 0), Rational(25)).ok());
  EXPECT_FALSE(timecode_to_frame(tc(-1, 0, 0, 0), Rational(25)).ok());
  EXPECT_FALSE(timecode_to_frame(tc(0, 0, 0, -1), Rational(25)).ok());
}

TEST(Timecode, DropFrame) {
  EXPECT_EQ(timecode_to_frame(tc(0, 0, 59, 29, true), kNtsc).value(), 1799);
  EXPECT_EQ(timecode_to_frame(tc(0, 1, 0, 2, true), kNtsc).value(), 1800);
  EXPECT_EQ(timecode_to_frame(tc(0, 10, 0, 0, true), kNtsc).value(), 17982);
  EXPECT_EQ(timecode_to_frame(tc(1, 0, 0, 0, true), kNtsc).value(), 107892);
  EXPECT_EQ(timecode_to_frame(tc(0, 1, 0, 4, true), kNtsc60).value(), 3600);
  EXPECT_EQ(timecode_to_frame(tc(1, 0, 0, 0, true), kNtsc60).value(), 215784);
  // Drop-frame keeps labels on the wall clock: an hour of labels is 3599.9964 s.
  EXPECT_EQ(timecode_to_seconds(tc(1, 0, 0, 0, true), kNtsc).value(), Rational(8999991, 2500));
  EXPECT_EQ(timecode_to_frame(tc(0, 1, 0, 0, true), kNtsc).error().message,
            "\"00:01:00;00\" does not exist: drop-frame skips ;00 to 01 at the start of each "
            "minute not divisible by 10");
  EXPECT_FALSE(timecode_to_frame(tc(0, 1, 0, 1, true), kNtsc).ok());
  EXPECT_FALSE(timecode_to_frame(tc(0, 1, 0, 3, true), kNtsc60).ok());
  EXPECT_TRUE(timecode_to_frame(tc(0, 1, 0, 3, true), kNtsc).ok());
  EXPECT_TRUE(timecode_to_frame(tc(0, 10, 0, 0, true), kNtsc).ok());
  EXPECT_TRUE(timecode_to_frame(tc(0, 1, 1, 0, true), kNtsc).ok());
  EXPECT_EQ(timecode_to_frame(tc(0, 0, 0, 0, true), Rational(25)).error().message,
            "\"00:00:00;00\" is drop-frame, which exists only at 30000/1001 and 60000/1001 fps, "
            "not at 25");
  EXPECT_FALSE(timecode_to_frame(tc(0, 0, 0, 0, true), Rational(30)).ok());
  EXPECT_FALSE(timecode_to_frame(tc(0, 0, 0, 0, true), Rational(2997, 100)).ok());
  EXPECT_FALSE(frame_to_timecode(0, Rational(25), true).ok());
  EXPECT_FALSE(frame_to_timecode(-1, kNtsc, false).ok());
  EXPECT_FALSE(frame_to_timecode(0, Rational(-1), false).ok());
}

// Reference: walk the labels one by one as a drop-frame counter does, skipping the dropped ones,
// and check both directions for every frame of an hour. Also check a closed form written
// differently from the implementation: whole 10-minute blocks, then the block's first (full)
// minute, then the shortened minutes.
void check_every_drop_frame_label_of_an_hour(Rational rate) {
  const int64_t nominal = ceil_to_int(rate);
  const int64_t drop = nominal / 15;
  Timecode label = tc(0, 0, 0, 0, true);
  const int64_t hour_frames = timecode_to_frame(tc(1, 0, 0, 0, true), rate).value();
  for (int64_t frame = 0; frame < hour_frames; ++frame) {
    ASSERT_EQ(timecode_to_frame(label, rate).value(), frame) << to_string(label);
    ASSERT_EQ(frame_to_timecode(frame, rate, true).value(), label) << frame;
    int64_t block_minute = label.minutes % 10;
    int64_t in_minute = label.seconds * nominal + label.frames;
    int64_t reference =
        (nominal * 600 - 9 * drop) * (label.minutes / 10) +
        (block_minute == 0
             ? in_minute
             : nominal * 60 + (nominal * 60 - drop) * (block_minute - 1) + in_minute - drop);
    ASSERT_EQ(reference, frame) << to_string(label);
    // Next label, skipping dropped ones.
    do {
      if (++label.frames == nominal) {
        label.frames = 0;
        if (++label.seconds == 60) {
          label.seconds = 0;
          if (++label.minutes == 60) {
            label.minutes = 0;
            ++label.hours;
          }
        }
      }
    } while (label.seconds == 0 && label.frames < drop && label.minutes % 10 != 0);
  }
  EXPECT_EQ(label, tc(1, 0, 0, 0, true));
  EXPECT_EQ(hour_frames, nominal == 30 ? 107892 : 215784);
}

TEST(Timecode, EveryDropFrameLabelOfAnHourAt2997) {
  check_every_drop_frame_label_of_an_hour(kNtsc);
}
TEST(Timecode, EveryDropFrameLabelOfAnHourAt5994) {
  check_every_drop_frame_label_of_an_hour(kNtsc60);
}

TEST(Timecode, NonDropFrameRoundTripsForAnHour) {
  for (Rational rate : {Rational(25), kNtsc, Rational(24000, 1001), Rational(2997, 100)}) {
    const int64_t nominal = ceil_to_int(rate);
    for (int64_t frame = 0; frame < nominal * 3600; ++frame) {
      Timecode label = frame_to_timecode(frame, rate, false).value();
      ASSERT_EQ(label, tc(frame / nominal / 3600, frame / nominal / 60 % 60, frame / nominal % 60,
                          frame % nominal));
      ASSERT_EQ(timecode_to_frame(label, rate).value(), frame);
    }
  }
}

}  // namespace
}  // namespace leancut
