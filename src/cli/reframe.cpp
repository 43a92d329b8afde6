#include "cli/reframe.h"

#include <charconv>
#include <optional>
#include <string_view>
#include <utility>

#include "time/time_parse.h"

namespace leancut::cli {
namespace {

constexpr int kMinSide = 16;  // the blueprint's output limits
constexpr int kMaxSide = 8192;

std::optional<int64_t> positive_integer(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

// "W<sep>H" of two positive integers.
std::optional<std::pair<int64_t, int64_t>> two_integers(std::string_view text, char sep) {
  std::size_t at = text.find(sep);
  if (at == std::string_view::npos) return std::nullopt;
  auto a = positive_integer(text.substr(0, at));
  auto b = positive_integer(text.substr(at + 1));
  if (!a || !b) return std::nullopt;
  return std::pair{*a, *b};
}

int even_at_most(Rational v) {
  return static_cast<int>(2 * floor_to_int(v / Rational{2}));
}

std::optional<blueprint::Focus> parse_focus(const std::string& text) {
  if (text == "center") return blueprint::Focus{};
  std::size_t comma = text.find(',');
  if (comma == std::string::npos) return std::nullopt;
  Result<Rational> x = parse_decimal(std::string_view(text).substr(0, comma));
  Result<Rational> y = parse_decimal(std::string_view(text).substr(comma + 1));
  if (!x || !y) return std::nullopt;
  for (Rational v : {*x, *y}) {
    if (v < Rational{0} || v > Rational{1}) return std::nullopt;
  }
  return blueprint::Focus{.x = *x, .y = *y};
}

}  // namespace

Result<blueprint::Blueprint> reframe_blueprint(const ReframeOptions& options,
                                               const std::filesystem::path& input,
                                               const media::VideoInfo& video,
                                               ReframeProblem* problem) {
  const auto refuse = [&](std::string field, std::string message, std::string cli_message) {
    const std::string text = cli_message;
    if (problem != nullptr)
      *problem = {std::move(field), std::move(message), std::move(cli_message)};
    return make_error(ErrorCode::InvalidInput, text);
  };
  auto aspect = two_integers(options.aspect, ':');
  if (!aspect) {
    return refuse("aspect", "'" + options.aspect + "': expected W:H, e.g. 9:16",
                  "--aspect '" + options.aspect + "': expected W:H, e.g. 9:16");
  }
  const Rational ratio{aspect->first, aspect->second};  // width / height
  std::optional<blueprint::Focus> focus = parse_focus(options.focus);
  if (!focus) {
    const std::string why = "expected center or x,y with x and y from 0 to 1 (e.g. 0.25,0.5)";
    return refuse("focus", "'" + options.focus + "': " + why,
                  "--focus '" + options.focus + "': " + why);
  }
  std::optional<std::pair<int64_t, int64_t>> size;
  if (!options.size.empty()) {
    size = two_integers(options.size, 'x');
    if (!size) {
      return refuse("size", "'" + options.size + "': expected WxH, e.g. 1080x1920",
                    "--size '" + options.size + "': expected WxH, e.g. 1080x1920");
    }
    // Within the rounding to even sizes: 1080x1920 is 9:16, 1000x1000 is not.
    const Rational width_for_height = Rational{size->second} * ratio;
    const Rational off = Rational{size->first} - width_for_height;
    if (off >= Rational{2} || off <= Rational{-2}) {
      return refuse("size", options.size + " is not " + options.aspect + " (aspect)",
                    "--size " + options.size + " is not " + options.aspect + " (--aspect)");
    }
  }

  blueprint::Blueprint bp;
  if (size) {
    // Beyond int, the side check below refuses it; clamp so the narrowing cannot wrap.
    bp.output.width = static_cast<int>(std::min<int64_t>(size->first, kMaxSide + 1));
    bp.output.height = static_cast<int>(std::min<int64_t>(size->second, kMaxSide + 1));
  } else {
    // The largest picture of that aspect inside the source: never scaled up.
    int height = video.display_height - video.display_height % 2;
    int width = even_at_most(Rational{height} * ratio);
    if (width > video.display_width) {
      width = video.display_width - video.display_width % 2;
      height = even_at_most(Rational{width} / ratio);
    }
    bp.output.width = width;
    bp.output.height = height;
  }
  for (int side : {bp.output.width, bp.output.height}) {
    if (side < kMinSide || side > kMaxSide || side % 2 != 0) {
      const std::string why = "the output would be " + std::to_string(bp.output.width) + "x" +
                              std::to_string(bp.output.height) +
                              "; each side must be even and from " + std::to_string(kMinSide) +
                              " to " + std::to_string(kMaxSide);
      Error e = refuse("size", why, why + " (--size)");
      if (problem != nullptr) problem->side_limits = true;
      return e;
    }
  }
  bp.output.fps = video.frame_rate;
  blueprint::Shot shot;
  shot.source = std::filesystem::absolute(input).lexically_normal();
  shot.source_text = shot.source.string();
  shot.in = Rational{0};
  shot.out = video.duration;
  shot.fit = blueprint::Fit::Fill;
  shot.focus = *focus;
  bp.shots.push_back(shot);
  return bp;
}

}  // namespace leancut::cli
