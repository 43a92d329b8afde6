#include "time/time_parse.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace leancut {
namespace {

constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
// A decimal's significant digits beyond this cannot be exact in 64 bits: the numerator has at most
// 19 digits, and dividing out the denominator's 2s or 5s (at most 62 of them) removes at most 44.
constexpr size_t kMaxSignificantDigits = 64;
constexpr int64_t kMaxTimecodeHours = 999999;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The text quoted for a message, shortened when long, unprintable bytes shown as '?'.
std::string quote(std::string_view text) {
  constexpr size_t kMaxShown = 40;
  std::string s = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    char c = text[i];
    s += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (text.size() > kMaxShown) s += "...";
  return s + "\"";
}

Error invalid(std::string message) {
  return make_error(ErrorCode::InvalidInput, std::move(message));
}

// Divides the decimal digit string `digits` (no leading zeros) by `divisor` when it divides
// exactly; returns whether it did.
bool divide_exactly(std::string& digits, int divisor) {
  std::string quotient;
  int rem = 0;
  for (char c : digits) {
    int cur = rem * 10 + (c - '0');
    if (!quotient.empty() || cur / divisor != 0) quotient += static_cast<char>('0' + cur / divisor);
    rem = cur % divisor;
  }
  if (rem != 0) return false;
  digits = quotient.empty() ? "0" : quotient;
  return true;
}

// Parses a run of digits into an int64; false when it does not fit.
bool digits_to_int64(std::string_view digits, int64_t& out) {
  int64_t v = 0;
  for (char c : digits) {
    if (v > (kMax64 - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool is_drop_frame_rate(Rational rate) {
  return rate == Rational{30000, 1001} || rate == Rational{60000, 1001};
}

std::string pad2(int64_t v) {
  std::string s = std::to_string(v);
  if (v >= 0 && v < 10) s.insert(0, 1, '0');
  return s;
}

// parse_decimal, telling syntax errors (`*syntax_error` set) from values out of range.
Result<Rational> parse_decimal_impl(std::string_view text, bool* syntax_error) {
  *syntax_error = false;
  auto syntax = [&](const char* what) {
    *syntax_error = true;
    return invalid(quote(text) + " is not a decimal number: " + what);
  };
  if (text.empty()) return syntax("empty text");

  size_t i = 0;
  const size_t n = text.size();
  bool negative = false;
  if (text[i] == '-') {
    negative = true;
    ++i;
  }
  if (i == n || !is_digit(text[i])) return syntax("expected a digit");
  if (text[i] == '0' && i + 1 < n && is_digit(text[i + 1])) {
    return syntax("leading zeros are not allowed");
  }
  std::string digits;  // integer and fraction digits, the value is digits * 10^exponent
  while (i < n && is_digit(text[i])) digits += text[i++];
  int64_t exponent = 0;
  if (i < n && text[i] == '.') {
    ++i;
    if (i == n || !is_digit(text[i])) return syntax("expected a digit after '.'");
    while (i < n && is_digit(text[i])) {
      digits += text[i++];
      --exponent;
    }
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
    if (i == n || !is_digit(text[i])) return syntax("expected a digit in the exponent");
    int64_t e = 0;
    constexpr int64_t kSaturated = 1000000000;  // far past any representable value
    while (i < n && is_digit(text[i])) {
      e = e * 10 + (text[i++] - '0');
      if (e > kSaturated) e = kSaturated;
    }
    exponent += exp_negative ? -e : e;
  }
  if (i != n) return syntax("unexpected characters after the number");

  // Normalize: no leading zeros, no trailing zeros (each one moves into the exponent).
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return Rational{0};
  digits.erase(0, first);
  while (digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  if (digits.size() > kMaxSignificantDigits) {
    return invalid(quote(text) + " has too many significant digits to be exact in 64 bits");
  }
  Error out_of_range = invalid(quote(text) +
                               " is out of range (an exact value needs a 64-bit numerator and "
                               "denominator)");

  int64_t num = 0;
  int64_t den = 1;
  if (exponent >= 0) {
    if (static_cast<int64_t>(digits.size()) + exponent > 19) return out_of_range;
    digits.append(static_cast<size_t>(exponent), '0');
    if (!digits_to_int64(digits, num)) return out_of_range;
  } else {
    // value = digits / (2^k * 5^k). The digits have no trailing zero, so at most one of 2 and 5
    // divides them; cancel it, and what is left of 2^k * 5^k must fit in int64 (so k <= 62).
    const int64_t k = -exponent;
    if (k > 62) return out_of_range;
    int64_t twos = k;
    int64_t fives = k;
    while (twos > 0 && divide_exactly(digits, 2)) --twos;
    if (twos == k) {
      while (fives > 0 && divide_exactly(digits, 5)) --fives;
    }
    if (digits.size() > 19 || !digits_to_int64(digits, num)) return out_of_range;
    for (int64_t j = 0; j < twos; ++j) {
      if (den > kMax64 / 2) return out_of_range;
      den *= 2;
    }
    for (int64_t j = 0; j < fives; ++j) {
      if (den > kMax64 / 5) return out_of_range;
      den *= 5;
    }
  }
  return Rational{negative ? -num : num, den};
}

}  // namespace

Result<Rational> parse_decimal(std::string_view text) {
  bool syntax_error = false;
  return parse_decimal_impl(text, &syntax_error);
}

Result<Rational> parse_ratio(std::string_view text) {
  size_t slash = text.find('/');
  auto fail = [&] {
    return invalid(quote(text) + " is not a ratio (expected integers such as \"1001/30000\")");
  };
  if (slash == std::string_view::npos) return fail();
  std::string_view num_text = text.substr(0, slash);
  std::string_view den_text = text.substr(slash + 1);
  bool negative = !num_text.empty() && num_text.front() == '-';
  if (negative) num_text.remove_prefix(1);
  auto all_digits = [](std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
      if (!is_digit(c)) return false;
    }
    return true;
  };
  if (!all_digits(num_text) || !all_digits(den_text)) return fail();
  int64_t num = 0;
  int64_t den = 0;
  if (!digits_to_int64(num_text, num) || !digits_to_int64(den_text, den)) {
    return invalid(quote(text) +
                   " is out of range (numerator and denominator must fit in 64 "
                   "bits)");
  }
  if (den == 0) return invalid(quote(text) + " has a zero denominator");
  return Rational{negative ? -num : num, den};
}

Result<Rational> parse_rate(std::string_view text) {
  bool syntax_error = false;
  Result<Rational> r = text.find('/') != std::string_view::npos
                           ? parse_ratio(text)
                           : parse_decimal_impl(text, &syntax_error);
  if (!r && syntax_error) {
    return invalid(quote(text) +
                   " is not a rate (expected an integer such as 30, a ratio such as 30000/1001 "
                   "or a decimal such as 23.976)");
  }
  if (!r) return r.error();
  if (r.value() <= Rational{0}) return invalid("rate must be positive, got " + quote(text));
  return r;
}

Result<Timecode> parse_timecode(std::string_view text) {
  auto fail = [&] {
    return invalid(quote(text) +
                   " is not a timecode (expected HH:MM:SS:FF, or HH:MM:SS;FF for drop-frame)");
  };
  // Split into four digit fields; the last separator decides drop-frame.
  std::string_view fields[4];
  size_t pos = 0;
  bool drop_frame = false;
  for (int f = 0; f < 4; ++f) {
    size_t start = pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    fields[f] = text.substr(start, pos - start);
    if (f < 3) {
      if (pos == text.size()) return fail();
      char sep = text[pos++];
      if (f < 2 && sep != ':') return fail();
      if (f == 2) {
        if (sep == ';' || sep == '.') {
          drop_frame = true;
        } else if (sep != ':') {
          return fail();
        }
      }
    }
  }
  if (pos != text.size()) return fail();
  if (fields[0].size() < 2 || fields[0].size() > 6 || fields[1].size() != 2 ||
      fields[2].size() != 2 || fields[3].size() < 2 || fields[3].size() > 3) {
    return fail();
  }
  Timecode tc;
  tc.drop_frame = drop_frame;
  int64_t* out[4] = {&tc.hours, &tc.minutes, &tc.seconds, &tc.frames};
  for (int f = 0; f < 4; ++f) {
    if (!digits_to_int64(fields[f], *out[f])) return fail();
  }
  if (tc.minutes >= 60) return invalid(quote(text) + ": minutes must be below 60");
  if (tc.seconds >= 60) return invalid(quote(text) + ": seconds must be below 60");
  return tc;
}

std::string to_string(const Timecode& tc) {
  return pad2(tc.hours) + ":" + pad2(tc.minutes) + ":" + pad2(tc.seconds) +
         (tc.drop_frame ? ";" : ":") + pad2(tc.frames);
}

Result<int64_t> timecode_to_frame(const Timecode& tc, Rational rate) {
  if (rate <= Rational{0}) return invalid("rate must be positive, got " + rate.to_string());
  const std::string label = quote(to_string(tc));
  if (tc.hours < 0 || tc.hours > kMaxTimecodeHours || tc.minutes < 0 || tc.minutes >= 60 ||
      tc.seconds < 0 || tc.seconds >= 60 || tc.frames < 0) {
    return invalid(label + " is not a valid timecode");
  }
  const int64_t nominal = ceil_to_int(rate);
  if (tc.frames >= nominal) {
    return invalid(label + ": frame " + std::to_string(tc.frames) + " is out of range at " +
                   rate.to_string() + " fps (00 to " + pad2(nominal - 1) + ")");
  }
  int64_t frame = nominal * (3600 * tc.hours + 60 * tc.minutes + tc.seconds) + tc.frames;
  if (!tc.drop_frame) return frame;

  if (!is_drop_frame_rate(rate)) {
    return invalid(label +
                   " is drop-frame, which exists only at 30000/1001 and 60000/1001 fps, "
                   "not at " +
                   rate.to_string());
  }
  const int64_t drop = nominal / 15;  // 2 at 30000/1001, 4 at 60000/1001
  if (tc.seconds == 0 && tc.frames < drop && tc.minutes % 10 != 0) {
    return invalid(label + " does not exist: drop-frame skips ;00 to " + pad2(drop - 1) +
                   " at the start of each minute not divisible by 10");
  }
  const int64_t total_minutes = 60 * tc.hours + tc.minutes;
  return frame - drop * (total_minutes - total_minutes / 10);
}

Result<Timecode> frame_to_timecode(int64_t frame, Rational rate, bool drop_frame) {
  if (rate <= Rational{0}) return invalid("rate must be positive, got " + rate.to_string());
  if (frame < 0) return invalid("frame must not be negative, got " + std::to_string(frame));
  // Drop-frame labels run ahead of frame numbers by about 0.1%; keep far from overflow.
  if (frame > kMax64 / 2) return invalid("frame " + std::to_string(frame) + " is out of range");
  const int64_t nominal = ceil_to_int(rate);
  int64_t label = frame;  // the frame number counted without drops
  if (drop_frame) {
    if (!is_drop_frame_rate(rate)) {
      return invalid("drop-frame timecode exists only at 30000/1001 and 60000/1001 fps, not at " +
                     rate.to_string());
    }
    const int64_t drop = nominal / 15;
    const int64_t per_10_minutes = nominal * 600 - 9 * drop;
    const int64_t per_dropped_minute = nominal * 60 - drop;
    const int64_t tens = frame / per_10_minutes;
    const int64_t rest = frame % per_10_minutes;
    label += 9 * drop * tens;
    if (rest >= drop) label += drop * ((rest - drop) / per_dropped_minute);
  }
  Timecode tc;
  tc.drop_frame = drop_frame;
  tc.frames = label % nominal;
  int64_t total_seconds = label / nominal;
  tc.seconds = total_seconds % 60;
  tc.minutes = (total_seconds / 60) % 60;
  tc.hours = total_seconds / 3600;
  return tc;
}

Result<Rational> timecode_to_seconds(const Timecode& tc, Rational rate) {
  Result<int64_t> frame = timecode_to_frame(tc, rate);
  if (!frame) return frame.error();
  return Rational{frame.value()} / rate;
}

}  // namespace leancut
