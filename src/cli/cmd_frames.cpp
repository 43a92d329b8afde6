// `leancut frames IN -o DIR --every N`: every Nth picture of a source as JPEG or PNG images
// (engine/frame_extract.h), streaming; docs/cli.md.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/frame_extract.h"
#include "media/probe.h"
#include "memory/rss.h"
#include "time/time_parse.h"

namespace leancut::cli {
namespace {

std::atomic<int> g_frames_signal{0};

void on_frames_signal(int sig) {
  g_frames_signal = sig;
}

int exit_code_for(const Error& e) {
  switch (e.code) {
    case ErrorCode::InvalidInput:
      return kExitUsage;
    case ErrorCode::NotFound:
    case ErrorCode::MediaError:
    case ErrorCode::Unsupported:
      return kExitMedia;
    case ErrorCode::Io:
      return kExitOutput;
    case ErrorCode::Cancelled:
      return kExitCancelled;
    case ErrorCode::OverBudget:
    case ErrorCode::Internal:
      break;
  }
  return kExitInternal;
}

int fail(const FramesArgs& args, const Error& e) {
  std::fprintf(stderr, "leancut frames: %s\n", e.message.c_str());
  if (args.json) {
    nlohmann::json j = {{"event", "error"}, {"code", to_string(e.code)}, {"message", e.message}};
    std::printf("%s\n", j.dump().c_str());
  }
  return exit_code_for(e);
}

// Seconds as decimal text ("12.5"), exactly; the option's name goes into the message.
Result<Rational> parse_seconds(const std::string& option, const std::string& text) {
  Result<Rational> r = parse_decimal(text);
  if (!r) {
    return make_error(ErrorCode::InvalidInput, option + " '" + text + "': not a time in seconds (" +
                                                   r.error().message + ")");
  }
  return r;
}

nlohmann::json seconds_json(Rational t) {
  return t.to_double();
}

}  // namespace

int run_frames(const FramesArgs& args) {
  // Checks that need no media come first, so a typo fails at once.
  engine::FrameExtractOptions options;
  options.output_dir = args.output_dir;
  options.every = args.every;
  options.quality = args.quality;
  if (args.every < 1) {
    return fail(args, make_error(ErrorCode::InvalidInput,
                                 "--every " + std::to_string(args.every) + ": must be 1 or more"));
  }
  if (args.quality < 1 || args.quality > 100) {
    return fail(
        args, make_error(ErrorCode::InvalidInput,
                         "--quality " + std::to_string(args.quality) + ": must be within 1..100"));
  }
  std::optional<media::ImageFormat> format = media::image_format_from_name(args.format);
  if (!format) {
    return fail(args, make_error(ErrorCode::InvalidInput,
                                 "--format '" + args.format + "': must be jpg or png"));
  }
  options.format = *format;
  if (!args.start.empty()) {
    Result<Rational> start = parse_seconds("--start", args.start);
    if (!start) return fail(args, start.error());
    options.start = *start;
  }
  if (!args.end.empty()) {
    Result<Rational> end = parse_seconds("--end", args.end);
    if (!end) return fail(args, end.error());
    options.end = *end;
  }

  Result<media::ProbeInfo> probe = media::probe_file(args.input);
  if (!probe) return fail(args, probe.error());

  g_frames_signal = 0;
  std::signal(SIGINT, on_frames_signal);
  std::signal(SIGTERM, on_frames_signal);
  options.should_stop = [] { return g_frames_signal != 0; };
  auto on_image = [&](const engine::ExtractedImage& image) {
    if (!args.json) return;
    nlohmann::json j = {{"event", "image"},
                        {"index", image.index},
                        {"file", image.file},
                        {"source_frame", image.source_frame},
                        {"time", seconds_json(image.time)},
                        {"time_exact", image.time.to_string()}};
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
  };
  Result<engine::FrameExtractSummary> done = engine::extract_frames(*probe, options, on_image);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!done) return fail(args, done.error());

  const char* ext = media::image_extension(options.format);
  // Peak RSS says whether memory stayed flat (it should not grow with the input's length).
  const int64_t peak_rss = memory::read_peak_rss_bytes().value_or(0);
  if (args.json) {
    nlohmann::json j = {{"event", "done"},
                        {"images", done->images},
                        {"frames_in_range", done->pictures_in_range},
                        {"every", args.every},
                        {"format", ext},
                        {"width", done->width},
                        {"height", done->height},
                        {"start", seconds_json(done->start)},
                        {"end", seconds_json(done->end)},
                        {"output_dir", args.output_dir.string()},
                        {"peak_rss_bytes", peak_rss}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "leancut frames: %lld image%s (%dx%d %s) in %s from %lld frames in [%s, %s); peak RSS "
        "%s\n",
        static_cast<long long>(done->images), done->images == 1 ? "" : "s", done->width,
        done->height, ext, args.output_dir.string().c_str(),
        static_cast<long long>(done->pictures_in_range), done->start.to_seconds_string().c_str(),
        done->end.to_seconds_string().c_str(), memory::format_bytes(peak_rss).c_str());
  }
  return kExitOk;
}

}  // namespace leancut::cli
