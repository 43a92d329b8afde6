// `leancut validate CUT.otio|CUT.edl`: reads an interchange file into the editorial model,
// conforms its media, and lists every problem at once (docs/interchange.md).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "blueprint/parse.h"
#include "cli/commands.h"
#include "interchange/conform.h"
#include "interchange/edl.h"
#include "interchange/lower.h"
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

namespace {

// The options shared by validate and render, checked: a bad value is a usage error (exit 2).
struct Conformed {
  interchange::ConformOptions options;
  std::optional<Rational> fps;  // --fps, as an editor's rate (29.97 = 30000/1001)
};

std::optional<Conformed> conform_options(const InterchangeArgs& args, int* exit_code) {
  using namespace interchange;
  Conformed c;
  ConformOptions& options = c.options;
  *exit_code = kExitUsage;
  for (const std::string& text : args.remaps) {
    Result<Remap> remap = parse_remap(text);
    if (!remap) {
      usage(remap.error().message);
      return std::nullopt;
    }
    options.remaps.push_back(remap.value());
  }
  for (const auto& root : args.media_roots) {
    std::error_code ec;
    if (!std::filesystem::is_directory(root, ec)) {
      usage("--media-root " + root.string() + ": not a folder");
      return std::nullopt;
    }
    options.media_roots.push_back(root);
  }
  Result<MissingPolicy> missing = parse_missing_policy(args.missing);
  if (!missing) {
    usage(missing.error().message);
    return std::nullopt;
  }
  options.missing = missing.value();
  if (!args.reel_map.empty()) {
    auto map = load_reel_map(args.reel_map);
    if (!map) {
      usage("--reel-map " + map.error().message);
      return std::nullopt;
    }
    options.reel_map = map.value();
  }
  if (!args.fps.empty()) {
    // Editors' 29.97 means 30000/1001 here (interchange::standard_rate), unlike the blueprint.
    Result<Rational> rate = parse_rate(args.fps);
    if (!rate) {
      usage("--fps " + args.fps + ": " + rate.error().message);
      return std::nullopt;
    }
    c.fps = standard_rate(rate.value());
  }
  *exit_code = kExitOk;
  return c;
}

}  // namespace

int run_validate_interchange(const InterchangeArgs& args) {
  using namespace interchange;
  int code = kExitOk;
  std::optional<Conformed> conformed_options = conform_options(args, &code);
  if (!conformed_options) return code;
  const ConformOptions& options = conformed_options->options;
  const std::optional<Rational> fps = conformed_options->fps;

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

namespace {

std::string rate_json_text(Rational r) {
  return r.den() == 1 ? std::to_string(r.num()) : r.to_string();
}

// "1920x1080" -> {1920, 1080}; the blueprint's rules (even, 16..8192) are checked with the rest
// of the output settings.
std::optional<std::pair<int, int>> parse_size(const std::string& text) {
  const size_t x = text.find('x');
  if (x == std::string::npos) return std::nullopt;
  int w = 0;
  int h = 0;
  const char* end = text.data() + text.size();
  auto [pw, ew] = std::from_chars(text.data(), text.data() + x, w);
  auto [ph, eh] = std::from_chars(text.data() + x + 1, end, h);
  if (ew != std::errc{} || pw != text.data() + x || eh != std::errc{} || ph != end) {
    return std::nullopt;
  }
  return std::pair{w, h};
}

// The render's output settings: 1920x1080 at the timeline's rate, then the --output-settings
// file's `output` object over them, then --fps and --size over that; all checked by the blueprint
// parser, so a bad value is named by its JSON path. Prints the problems; nullopt with `code`.
// `rate`: the timeline's; `fps_option`: --fps, which wins over the settings file.
std::optional<blueprint::Output> output_settings(const InterchangeRenderArgs& args, Rational rate,
                                                 std::optional<Rational> fps_option, int* code) {
  nlohmann::json output = {{"width", 1920}, {"height", 1080}, {"fps", nullptr}};
  const std::string where =
      args.output_settings.empty() ? std::string("leancut render") : args.output_settings.string();
  if (!args.output_settings.empty()) {
    std::ifstream in(args.output_settings, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "leancut: --output-settings %s: cannot read\n", where.c_str());
      *code = kExitUsage;
      return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json file = nlohmann::json::parse(text.str(), nullptr, false);
    if (file.is_discarded() || !file.is_object()) {
      std::fprintf(stderr, "%s: expected a JSON object: the blueprint's \"output\" settings\n",
                   where.c_str());
      *code = kExitInvalid;
      return std::nullopt;
    }
    output.merge_patch(file);
  }
  if (output["fps"].is_null()) output["fps"] = rate_json_text(rate);
  if (fps_option) output["fps"] = rate_json_text(*fps_option);
  if (!args.size.empty()) {
    const auto size = parse_size(args.size);
    if (!size) {
      std::fprintf(stderr, "leancut: --size %s: expected WIDTHxHEIGHT, e.g. 1920x1080\n",
                   args.size.c_str());
      *code = kExitUsage;
      return std::nullopt;
    }
    output["width"] = size->first;
    output["height"] = size->second;
  }
  // A placeholder shot makes a whole document; only the output's diagnostics matter here.
  const nlohmann::json doc = {
      {"version", 1}, {"output", output}, {"shots", {{{"source", "-"}, {"in", 0}, {"out", 1}}}}};
  blueprint::ParseResult parsed = blueprint::parse_blueprint(doc.dump(), ".");
  if (!parsed.ok()) {
    for (const blueprint::Diagnostic& d : parsed.diagnostics) {
      std::fprintf(stderr, "%s: %s\n", where.c_str(), d.to_string().c_str());
    }
    *code = kExitInvalid;
    return std::nullopt;
  }
  return parsed.blueprint->output;
}

void print_problems(const std::string& name, const std::vector<interchange::Problem>& problems,
                    const char* kind) {
  for (const auto& p : problems) {
    std::fprintf(stderr, "%s: %s%s\n", name.c_str(), kind, p.to_string().c_str());
  }
}

}  // namespace

int prepare_interchange_render(const InterchangeRenderArgs& args, PreparedCut* out) {
  using namespace interchange;
  int code = kExitOk;
  std::optional<Conformed> conformed_options = conform_options(args.source, &code);
  if (!conformed_options) return code;
  LowerOptions lower_options;
  if (args.transitions == "cut") {
    lower_options.transitions = TransitionPolicy::Cut;
  } else if (args.transitions == "refuse") {
    lower_options.transitions = TransitionPolicy::Refuse;
  } else if (args.transitions != "render") {
    return usage("--transitions " + args.transitions + ": must be render, cut or refuse");
  }
  if (args.video_track != 0) lower_options.video_track = args.video_track;

  const std::string name = args.source.file.string();
  const bool edl = lower_extension(args.source.file) == ".edl";
  ReadResult read = edl ? read_edl_file(args.source.file,
                                        EdlOptions{conformed_options->fps.value_or(Rational{24})})
                        : read_otio_file(args.source.file);
  std::vector<Problem> problems = read.problems;
  std::vector<Problem> notes = read.notes;
  std::optional<Timeline>& timeline = read.timeline ? read.timeline : read.partial;
  if (timeline) {
    ConformReport conformed = conform(*timeline, conformed_options->options);
    problems.insert(problems.end(), conformed.problems.begin(), conformed.problems.end());
    notes.insert(notes.end(), conformed.notes.begin(), conformed.notes.end());
  }
  std::optional<blueprint::Output> output;
  if (read.timeline) {
    output = output_settings(args, read.timeline->rate, conformed_options->fps, &code);
    if (!output && code == kExitUsage) return code;
  }
  // Lowering's own problems (several video tracks, dissolves) join the reading and conform ones:
  // every problem of the cut in one run.
  std::optional<Lowered> lowered;
  if (read.timeline && output) {
    lower_options.output = *output;
    lowered = lower(*read.timeline, lower_options);
    problems.insert(problems.end(), lowered->problems.begin(), lowered->problems.end());
    notes.insert(notes.end(), lowered->notes.begin(), lowered->notes.end());
  }
  print_problems(name, problems, "");
  print_problems(name, notes, "note: ");
  if (!problems.empty() || !lowered || !lowered->ok()) {
    if (!problems.empty()) {
      std::fprintf(stderr, "%s: %zu problem%s; nothing was rendered\n", name.c_str(),
                   problems.size(), problems.size() == 1 ? "" : "s");
    }
    return kExitInvalid;
  }
  out->blueprint = std::move(*lowered->blueprint);
  out->shot_origins = std::move(lowered->shot_origins);
  out->frames = lowered->frames;
  return kExitOk;
}

}  // namespace leancut::cli
