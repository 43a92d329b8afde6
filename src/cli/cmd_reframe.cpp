// `leancut reframe IN -o OUT --aspect 9:16`: a source cropped to another aspect (vertical for
// short-form platforms), as a one-shot blueprint rendered by run_render; docs/cli.md.
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "blueprint/blueprint.h"
#include "blueprint/parse.h"
#include "cli/commands.h"
#include "media/probe.h"
#include "time/time_parse.h"

namespace leancut::cli {
namespace {

constexpr int kMinSide = 16;  // the blueprint's output limits
constexpr int kMaxSide = 8192;

int usage(const std::string& message) {
  std::fprintf(stderr, "leancut reframe: %s\n", message.c_str());
  return kExitUsage;
}

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

Result<blueprint::Focus> parse_focus(const std::string& text) {
  const std::string expected =
      "--focus '" + text + "': expected center or x,y with x and y from 0 to 1 (e.g. 0.25,0.5)";
  if (text == "center") return blueprint::Focus{};
  std::size_t comma = text.find(',');
  if (comma == std::string::npos) return make_error(ErrorCode::InvalidInput, expected);
  Result<Rational> x = parse_decimal(std::string_view(text).substr(0, comma));
  Result<Rational> y = parse_decimal(std::string_view(text).substr(comma + 1));
  if (!x || !y) return make_error(ErrorCode::InvalidInput, expected);
  for (Rational v : {*x, *y}) {
    if (v < Rational{0} || v > Rational{1}) return make_error(ErrorCode::InvalidInput, expected);
  }
  return blueprint::Focus{.x = *x, .y = *y};
}

}  // namespace

int run_reframe(const ReframeArgs& args) {
  auto aspect = two_integers(args.aspect, ':');
  if (!aspect) return usage("--aspect '" + args.aspect + "': expected W:H, e.g. 9:16");
  const Rational ratio{aspect->first, aspect->second};  // width / height
  Result<blueprint::Focus> focus = parse_focus(args.focus);
  if (!focus) return usage(focus.error().message);
  std::optional<std::pair<int64_t, int64_t>> size;
  if (!args.size.empty()) {
    size = two_integers(args.size, 'x');
    if (!size) return usage("--size '" + args.size + "': expected WxH, e.g. 1080x1920");
    // Within the rounding to even sizes: 1080x1920 is 9:16, 1000x1000 is not.
    const Rational width_for_height = Rational{size->second} * ratio;
    const Rational off = Rational{size->first} - width_for_height;
    if (off >= Rational{2} || off <= Rational{-2}) {
      return usage("--size " + args.size + " is not " + args.aspect + " (--aspect)");
    }
  }

  Result<media::ProbeInfo> probe = media::probe_file(args.input);
  if (!probe) {
    std::fprintf(stderr, "leancut reframe: %s\n", probe.error().message.c_str());
    return kExitMedia;
  }
  const media::VideoInfo& video = *probe->video;

  blueprint::Blueprint bp;
  if (size) {
    bp.output.width = static_cast<int>(size->first);
    bp.output.height = static_cast<int>(size->second);
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
      return usage("the output would be " + std::to_string(bp.output.width) + "x" +
                   std::to_string(bp.output.height) + "; each side must be even and from " +
                   std::to_string(kMinSide) + " to " + std::to_string(kMaxSide) + " (--size)");
    }
  }
  bp.output.fps = video.frame_rate;
  blueprint::Shot shot;
  shot.source = std::filesystem::absolute(args.input).lexically_normal();
  shot.source_text = shot.source.string();
  shot.in = Rational{0};
  shot.out = video.duration;
  shot.fit = blueprint::Fit::Fill;
  shot.focus = *focus;
  bp.shots.push_back(shot);

  RenderArgs render = args.render;
  render.blueprint = "reframe " + args.input.string();  // names the job in messages
  render.blueprint_text = blueprint::to_json(bp);
  return run_render(render);
}

}  // namespace leancut::cli
