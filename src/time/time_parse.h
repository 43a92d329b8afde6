// Parsing time values from text, exactly: decimal seconds (the JSON number's own text, not a
// double), rates ("30", "30000/1001", "23.976"), and SMPTE timecode ("01:00:00:12",
// drop-frame "00:01:00;02").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "time/rational.h"

namespace leancut {

// "1.5" -> 3/2, "93.2" -> 466/5, "2" -> 2, "-0.25" -> -1/4, "1e-3" -> 1/1000, "1.5E2" -> 150.
// The JSON number grammar exactly: optional '-', no leading zeros or '+', digits on both sides of
// '.', optional exponent. Any value whose reduced fraction fits in int64 parses (2^-62 has 62
// decimals). Errors (InvalidInput) name what is wrong with the text; too many digits to be exact
// in 64 bits is one.
Result<Rational> parse_decimal(std::string_view text);

// An exact ratio of integers: "1001/30000" -> 1001/30000, "-3/6" -> -1/2. Digits only around the
// '/', an optional '-' on the numerator; the denominator must not be zero.
Result<Rational> parse_ratio(std::string_view text);

// A positive frame or sample rate: an integer ("30"), a ratio ("30000/1001") or a decimal
// ("29.97" is taken literally as 2997/100; use the ratio for NTSC rates).
Result<Rational> parse_rate(std::string_view text);

// SMPTE timecode. ':' before the frames field is non-drop-frame; ';' (or '.') is drop-frame.
struct Timecode {
  int64_t hours = 0;
  int64_t minutes = 0;
  int64_t seconds = 0;
  int64_t frames = 0;
  bool drop_frame = false;
  friend bool operator==(const Timecode&, const Timecode&) = default;
};

// Syntax only: "HH:MM:SS:FF" with minutes and seconds < 60; HH has two or more digits (at most
// six), MM and SS two, FF two or three. Range of FF is checked against a rate by
// timecode_to_frame.
Result<Timecode> parse_timecode(std::string_view text);

// "01:00:00:12", drop-frame "00:01:00;02"; hours and frames padded to two digits. Reparses with
// parse_timecode to the same value.
std::string to_string(const Timecode& tc);

// The frame number the timecode labels at `rate`: frames are counted at the nominal integer
// rate (ceil: 30 for 30000/1001); drop-frame skips the labels ;00 and ;01 (;00 to ;03 at
// 60000/1001) at the start of every minute except each tenth. Errors: a rate that is not
// positive, FF >= nominal rate, drop-frame at a rate that has none (only 30000/1001 and
// 60000/1001), a dropped label such as 00:01:00;00.
Result<int64_t> timecode_to_frame(const Timecode& tc, Rational rate);

// The inverse: the label of frame `frame` (>= 0) at `rate`, drop-frame if asked. Errors: a rate
// that is not positive, a negative frame, drop-frame at a rate that has none.
Result<Timecode> frame_to_timecode(int64_t frame, Rational rate, bool drop_frame);

// Seconds since the first frame: timecode_to_frame(tc, rate) / rate.
Result<Rational> timecode_to_seconds(const Timecode& tc, Rational rate);

}  // namespace leancut
