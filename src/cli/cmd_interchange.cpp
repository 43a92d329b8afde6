// `leancut validate CUT.otio|CUT.edl`: reads an interchange file into the editorial model,
// conforms its media, and lists every problem at once (docs/interchange.md).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "cli/commands.h"
#include "interchange/conform.h"
#include "interchange/edl.h"
#include "interchange/otio.h"
#include "time/time_parse.h"
#include "time/time_range.h"

namespace leancut::cli {
namespace {

std::string lower_extension(const std::filesystem::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

int usage(const std::string& message) {
  std::fprintf(stderr, "leancut: %s\n", message.c_str());
  return kExitUsage;
}

nlohmann::json problems_json(const std::vector<interchange::Problem>& problems) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : problems) out.push_back({{"origin", p.origin}, {"message", p.message}});
  return out;
}

}  // namespace

bool is_interchange_file(const std::filesystem::path& file) {
  const std::string ext = lower_extension(file);
  return ext == ".otio" || ext == ".edl";
}

int run_validate_interchange(const InterchangeArgs& args) {
  using namespace interchange;
  ConformOptions options;
  for (const std::string& text : args.remaps) {
    Result<Remap> remap = parse_remap(text);
    if (!remap) return usage(remap.error().message);
    options.remaps.push_back(remap.value());
  }
  for (const auto& root : args.media_roots) {
    std::error_code ec;
    if (!std::filesystem::is_directory(root, ec)) {
      return usage("--media-root " + root.string() + ": not a folder");
    }
    options.media_roots.push_back(root);
  }
  Result<MissingPolicy> missing = parse_missing_policy(args.missing);
  if (!missing) return usage(missing.error().message);
  options.missing = missing.value();
  if (!args.reel_map.empty()) {
    auto map = load_reel_map(args.reel_map);
    if (!map) return usage("--reel-map " + map.error().message);
    options.reel_map = map.value();
  }
  std::optional<Rational> fps;
  if (!args.fps.empty()) {
    // Editors' 29.97 means 30000/1001 here (interchange::standard_rate), unlike the blueprint.
    Result<Rational> rate = parse_rate(args.fps);
    if (!rate) return usage("--fps " + args.fps + ": " + rate.error().message);
    fps = standard_rate(rate.value());
  }

  const bool edl = lower_extension(args.file) == ".edl";
  ReadResult read = edl ? read_edl_file(args.file, EdlOptions{fps.value_or(Rational{24})})
                        : read_otio_file(args.file);
  std::vector<Problem> problems = read.problems;
  std::vector<Problem> notes = read.notes;
  std::optional<Timeline>& timeline = read.timeline ? read.timeline : read.partial;
  if (timeline) {
    ConformReport conformed = conform(*timeline, options);
    problems.insert(problems.end(), conformed.problems.begin(), conformed.problems.end());
    notes.insert(notes.end(), conformed.notes.begin(), conformed.notes.end());
  }
  const bool valid = problems.empty() && read.timeline.has_value();
  const std::string name = args.file.string();

  nlohmann::json j;
  j["file"] = name;
  j["valid"] = valid;
  j["problems"] = problems_json(problems);
  j["notes"] = problems_json(notes);
  if (!args.json) {
    for (const auto& p : problems)
      std::fprintf(stderr, "%s: %s\n", name.c_str(), p.to_string().c_str());
    for (const auto& n : notes) {
      std::fprintf(stderr, "%s: note: %s\n", name.c_str(), n.to_string().c_str());
    }
  }
  if (valid) {
    const Timeline& t = *read.timeline;
    // Frames at the timeline's rate (or --fps for an .otio): the duration times the rate,
    // rounded half up when a track's length is not a whole number of frames.
    const Rational rate = !edl && fps ? *fps : t.rate;
    const int64_t frames = frame_count(TimeRange{Rational{0}, t.duration()}, rate);
    const bool drop =
        t.drop_frame && (rate == Rational{30000, 1001} || rate == Rational{60000, 1001});
    Result<Timecode> tc = frame_to_timecode(frames, rate, drop);
    const std::string timecode = tc ? to_string(tc.value()) : "?";
    size_t slated = 0;
    for (const Clip* c : t.clips()) slated += c->media_missing ? 1 : 0;
    if (args.json) {
      j["video_tracks"] = t.video.size();
      j["audio_tracks"] = t.audio.size();
      j["items"] = t.item_count();
      j["clips"] = t.clips().size();
      j["slated_clips"] = slated;
      j["rate"] = rate.to_string();
      j["frames"] = frames;
      j["timecode"] = timecode;
      j["duration_seconds"] = t.duration().to_string();
    } else {
      std::printf(
          "%s: valid: %zu video and %zu audio tracks, %zu items (%zu clips%s), %lld frames at "
          "%s fps, %s\n",
          name.c_str(), t.video.size(), t.audio.size(), t.item_count(), t.clips().size(),
          slated ? (", " + std::to_string(slated) + " slated").c_str() : "",
          static_cast<long long>(frames), rate.to_string().c_str(), timecode.c_str());
    }
  }
  if (args.json) std::printf("%s\n", j.dump(2).c_str());
  return valid ? kExitOk : kExitInvalid;
}

}  // namespace leancut::cli
