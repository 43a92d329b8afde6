#include "interchange/otio.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "blueprint/json_tree.h"
#include "time/time_parse.h"

namespace leancut::interchange {
namespace {

using Json = nlohmann::json;

// Limits that keep every sum of times inside int64 (docs/interchange.md): a RationalTime's value
// has at most 3 decimals and magnitude 1e10, a rate at most 1e6 fps and 3 decimals unless it
// snaps to an integer or NTSC rate.
constexpr int64_t kMaxValue = 10'000'000'000;
constexpr int64_t kMaxRate = 1'000'000;
constexpr int64_t kMaxDecimalDen = 1000;

using Node = blueprint::JsonNode;

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Reads one .otio document; collects problems instead of stopping at the first.
class Reader {
 public:
  explicit Reader(std::string base_dir) : base_dir_(std::move(base_dir)) {}

  ReadResult read(const Node& root) {
    ReadResult result;
    Timeline timeline;
    timeline.base_dir = base_dir_;
    if (schema_of(root, "") != "Timeline.1") {
      if (root.kind == Node::Kind::Object) {
        fail("", "the document must be a Timeline.1, got " + describe_schema(root));
      }
    } else {
      read_timeline(root, timeline);
    }
    if (problems_.empty() && timeline.clips().empty()) {
      fail("tracks", "the timeline has no clips: nothing to play");
    }
    if (check_exact_sums(timeline, problems_)) check_structure(timeline, problems_);
    result.problems = std::move(problems_);
    (result.problems.empty() ? result.timeline : result.partial) = std::move(timeline);
    return result;
  }

 private:
  void fail(const std::string& where, std::string message) {
    problems_.push_back({where, std::move(message)});
  }

  static std::string describe_schema(const Node& n) {
    const Node* s = n.kind == Node::Kind::Object ? n.get("OTIO_SCHEMA") : nullptr;
    if (s && s->kind == Node::Kind::String) return "\"" + s->text + "\"";
    return "an object without OTIO_SCHEMA";
  }

  // The object's OTIO_SCHEMA ("Clip.2"), or "" with a problem when there is none.
  std::string schema_of(const Node& n, const std::string& where) {
    if (n.kind != Node::Kind::Object) {
      fail(where, "must be an OTIO object");
      return "";
    }
    const Node* s = n.get("OTIO_SCHEMA");
    if (!s || s->kind != Node::Kind::String) {
      fail(where, "has no OTIO_SCHEMA");
      return "";
    }
    return s->text;
  }

  std::string string_field(const Node& n, std::string_view key) {
    const Node* f = n.get(key);
    return f && f->kind == Node::Kind::String ? f->text : std::string();
  }

  // A JSON number's exact value, within the limits above.
  std::optional<Rational> exact_number(const Node* n, const std::string& where, int64_t max_abs) {
    if (!n || n->kind != Node::Kind::Number) {
      fail(where, "must be a number");
      return std::nullopt;
    }
    Result<Rational> r = parse_decimal(n->text);
    if (!r) {
      fail(where, r.error().message);
      return std::nullopt;
    }
    const Rational v = r.value();
    if (v > Rational{max_abs} || v < Rational{-max_abs}) {
      fail(where, n->text + " is out of range (at most " + std::to_string(max_abs) + ")");
      return std::nullopt;
    }
    return v;
  }

  // RationalTime.1 as seconds, and its rate.
  struct Time {
    Rational seconds;
    Rational rate;
  };
  std::optional<Time> read_time(const Node* n, const std::string& where) {
    if (!n || n->kind != Node::Kind::Object) {
      fail(where, "must be a RationalTime.1");
      return std::nullopt;
    }
    std::string schema = schema_of(*n, where);
    if (schema.empty()) return std::nullopt;
    if (schema != "RationalTime.1") {
      fail(where, "must be a RationalTime.1, got \"" + schema + "\"");
      return std::nullopt;
    }
    std::optional<Rational> value = exact_number(n->get("value"), join(where, "value"), kMaxValue);
    std::optional<Rational> written = exact_number(n->get("rate"), join(where, "rate"), kMaxRate);
    if (!value || !written) return std::nullopt;
    std::optional<Rational> rate = standard_rate(*written);
    if (!rate) {
      fail(join(where, "rate"), "must be positive, got " + n->get("rate")->text);
      return std::nullopt;
    }
    if (rate->den() > kMaxDecimalDen + 1 || value->den() > kMaxDecimalDen) {
      fail(where,
           "value and rate may have at most 3 decimals (rates near 23.976, 29.97, ... "
           "become 24000/1001, 30000/1001, ...)");
      return std::nullopt;
    }
    return Time{*value / *rate, *rate};
  }

  struct Range {
    TimeRange range;
    Rational rate;
  };
  // TimeRange.1; null gives nullopt without a problem when `optional`.
  std::optional<Range> read_range(const Node* n, const std::string& where, bool optional) {
    if (!n || n->kind == Node::Kind::Null) {
      if (!optional) fail(where, "is required (a TimeRange.1)");
      return std::nullopt;
    }
    std::string schema = schema_of(*n, where);
    if (schema.empty()) return std::nullopt;
    if (schema != "TimeRange.1") {
      fail(where, "must be a TimeRange.1, got \"" + schema + "\"");
      return std::nullopt;
    }
    std::optional<Time> start = read_time(n->get("start_time"), join(where, "start_time"));
    std::optional<Time> duration = read_time(n->get("duration"), join(where, "duration"));
    if (!start || !duration) return std::nullopt;
    if (duration->seconds < Rational{0}) {
      fail(join(where, "duration"), "must not be negative");
      return std::nullopt;
    }
    return Range{{start->seconds, start->seconds + duration->seconds}, duration->rate};
  }

  const Node* array_field(const Node& n, std::string_view key, const std::string& where) {
    const Node* a = n.get(key);
    if (!a || a->kind == Node::Kind::Null) return nullptr;
    if (a->kind != Node::Kind::Array) {
      fail(join(where, key), "must be an array");
      return nullptr;
    }
    return a;
  }

  // Effects on objects that may not carry any (tracks, stacks, gaps, transitions).
  void refuse_effects(const Node& n, const std::string& where) {
    const Node* effects = array_field(n, "effects", where);
    if (!effects) return;
    for (size_t i = 0; i < effects->items.size(); ++i) {
      std::string at = index(join(where, "effects"), i);
      fail(at, "unsupported effect " + describe_schema(effects->items[i]) +
                   " (time effects are supported on clips only)");
    }
  }

  void read_timeline(const Node& n, Timeline& timeline) {
    timeline.name = string_field(n, "name");
    std::optional<Time> start;
    const Node* gst = n.get("global_start_time");
    if (gst && gst->kind != Node::Kind::Null) start = read_time(gst, "global_start_time");
    const Node* tracks = n.get("tracks");
    if (!tracks || tracks->kind != Node::Kind::Object) {
      fail("tracks", "is required (a Stack.1)");
      return;
    }
    std::string schema = schema_of(*tracks, "tracks");
    if (schema.empty()) return;
    if (schema != "Stack.1") {
      fail("tracks", "must be a Stack.1, got \"" + schema + "\"");
      return;
    }
    refuse_effects(*tracks, "tracks");
    const Node* children = array_field(*tracks, "children", "tracks");
    if (children) {
      for (size_t i = 0; i < children->items.size(); ++i) {
        read_track(children->items[i], index("tracks.children", i), timeline);
      }
    }
    if (start) {
      timeline.global_start = start->seconds;
      timeline.rate = start->rate;
    } else if (first_clip_rate_) {
      timeline.rate = *first_clip_rate_;
    }
    std::optional<Range> stack_range =
        read_range(tracks->get("source_range"), "tracks.source_range",
                   /*optional=*/true);
    if (stack_range) {
      std::optional<Rational> longest = Rational{0};
      for (const auto* kind : {&timeline.video, &timeline.audio}) {
        for (const Track& track : *kind) {
          std::optional<Rational> d = checked_duration(track);
          longest = d && longest ? std::max(*longest, *d) : std::optional<Rational>();
        }
      }
      check_untrimmed(*stack_range, longest, "tracks.source_range");
    }
  }

  // A source_range on a track or the stack is accepted only when it trims nothing.
  // (`content` is nullopt when the track's times cannot be summed: check_exact_sums says so.)
  void check_untrimmed(const Range& r, std::optional<Rational> content, const std::string& where) {
    if (!content) return;
    if (r.range.start != Rational{0} || r.range.duration() != *content) {
      fail(where, "a source_range that trims a track or stack is not supported (it is [" +
                      r.range.start.to_seconds_string() + ", " + r.range.end.to_seconds_string() +
                      "), the content lasts " + content->to_seconds_string() + ")");
    }
  }

  void read_track(const Node& n, const std::string& where, Timeline& timeline) {
    std::string schema = schema_of(n, where);
    if (schema.empty()) return;
    if (schema != "Track.1") {
      fail(where, "unsupported " + describe_schema(n) +
                      " in the timeline's stack (only Track.1 is supported there)");
      return;
    }
    Track track;
    track.name = string_field(n, "name");
    track.origin = where;
    std::string kind = string_field(n, "kind");
    if (kind == "Video") {
      track.kind = Track::Kind::Video;
    } else if (kind == "Audio") {
      track.kind = Track::Kind::Audio;
    } else {
      fail(join(where, "kind"), "must be \"Video\" or \"Audio\", got \"" + kind + "\"");
      return;
    }
    refuse_effects(n, where);
    const Node* children = array_field(n, "children", where);
    if (children) {
      for (size_t i = 0; i < children->items.size(); ++i) {
        read_item(children->items[i], index(join(where, "children"), i), track);
      }
    }
    std::optional<Range> r = read_range(n.get("source_range"), join(where, "source_range"), true);
    if (r) check_untrimmed(*r, checked_duration(track), join(where, "source_range"));
    (track.kind == Track::Kind::Video ? timeline.video : timeline.audio)
        .push_back(std::move(track));
  }

  // OTIO: a disabled item keeps its place and duration but shows nothing, so it reads as a gap.
  static bool enabled(const Node& n) {
    const Node* e = n.get("enabled");
    return !(e && e->kind == Node::Kind::Bool && !e->boolean);
  }

  void read_item(const Node& n, const std::string& where, Track& track) {
    std::string schema = schema_of(n, where);
    if (schema.empty()) return;
    if (schema == "Clip.1" || schema == "Clip.2") {
      std::optional<Clip> clip = read_clip(n, schema, where);
      if (!clip) return;
      if (!enabled(n)) {
        track.items.emplace_back(std::in_place_type<Gap>, clip->duration(), where);
      } else {
        // The timeline's rate (without global_start_time) follows the first video clip: an
        // audio clip's rate is its sample rate.
        if (!first_clip_rate_ || (!first_is_video_ && track.kind == Track::Kind::Video)) {
          first_clip_rate_ = clip->rate;
          first_is_video_ = track.kind == Track::Kind::Video;
        }
        track.items.push_back(std::move(*clip));
      }
    } else if (schema == "Gap.1") {
      refuse_effects(n, where);
      std::optional<Range> r =
          read_range(n.get("source_range"), join(where, "source_range"), false);
      if (r) track.items.emplace_back(std::in_place_type<Gap>, r->range.duration(), where);
    } else if (schema == "Transition.1") {
      std::string type = string_field(n, "transition_type");
      std::optional<Time> in = read_time(n.get("in_offset"), join(where, "in_offset"));
      std::optional<Time> out = read_time(n.get("out_offset"), join(where, "out_offset"));
      if (type != "SMPTE_Dissolve") {
        fail(join(where, "transition_type"),
             "unsupported transition \"" + type + "\" (only SMPTE_Dissolve is supported)");
        return;
      }
      if (!in || !out) return;
      Transition t;
      t.written_as = type;
      t.in_offset = in->seconds;
      t.out_offset = out->seconds;
      t.origin = where;
      track.items.push_back(std::move(t));
    } else if (schema == "Stack.1" || schema == "Track.1") {
      fail(where, "unsupported \"" + schema +
                      "\" nested inside a track (flatten nested stacks before export)");
    } else {
      fail(where, "unsupported \"" + schema + "\" in a track (expected Clip, Gap or Transition)");
    }
  }

  std::optional<Clip> read_clip(const Node& n, const std::string& schema,
                                const std::string& where) {
    Clip clip;
    clip.name = string_field(n, "name");
    clip.origin = where;
    size_t before = problems_.size();

    // The media reference: Clip.1 has one, Clip.2 a map and the key of the active one.
    const Node* ref = nullptr;
    std::string ref_where;
    if (schema == "Clip.1") {
      ref = n.get("media_reference");
      ref_where = join(where, "media_reference");
    } else {
      std::string key = "DEFAULT_MEDIA";
      const Node* k = n.get("active_media_reference_key");
      if (k && k->kind == Node::Kind::String) key = k->text;
      const Node* refs = n.get("media_references");
      ref_where = join(join(where, "media_references"), key);
      if (!refs || refs->kind != Node::Kind::Object) {
        fail(join(where, "media_references"), "must be an object of media references");
      } else {
        ref = refs->get(key);
        if (!ref) {
          fail(join(where, "active_media_reference_key"),
               "\"" + key + "\" is not a key of media_references");
        }
      }
    }
    if (ref && ref->kind != Node::Kind::Null) read_reference(*ref, ref_where, clip);

    std::optional<Range> source =
        read_range(n.get("source_range"), join(where, "source_range"), true);
    if (source) {
      clip.source_range = source->range;
      clip.rate = source->rate;
    } else if (problems_.size() == before) {
      if (!clip.available_range) {
        fail(where, "has no source_range and its media reference has no available_range");
      } else {
        clip.source_range = *clip.available_range;
        clip.rate = available_rate_;
      }
    }
    read_effects(n, where, clip);
    if (problems_.size() != before) return std::nullopt;
    return clip;
  }

  void read_reference(const Node& n, const std::string& where, Clip& clip) {
    std::string schema = schema_of(n, where);
    if (schema.empty()) return;
    if (schema == "ExternalReference.1") {
      const Node* url = n.get("target_url");
      if (!url || url->kind != Node::Kind::String || url->text.empty()) {
        fail(join(where, "target_url"), "must be a non-empty string");
      } else {
        clip.media_text = url->text;
        Result<std::string> path = path_from_url(url->text);
        if (!path) {
          fail(join(where, "target_url"), path.error().message);
        } else {
          clip.written_path = path.value();
          std::filesystem::path p(clip.written_path);
          clip.media_path = (p.is_absolute() ? p : std::filesystem::path(base_dir_) / p)
                                .lexically_normal()
                                .string();
        }
      }
    } else if (schema != "MissingReference.1") {
      fail(where, "unsupported media reference \"" + schema +
                      "\" (ExternalReference.1 and MissingReference.1 are supported)");
      return;
    }
    std::optional<Range> avail =
        read_range(n.get("available_range"), join(where, "available_range"), true);
    if (avail) {
      clip.available_range = avail->range;
      available_rate_ = avail->rate;
    }
  }

  void read_effects(const Node& n, const std::string& where, Clip& clip) {
    const Node* effects = array_field(n, "effects", where);
    if (!effects) return;
    bool have_time_effect = false;
    for (size_t i = 0; i < effects->items.size(); ++i) {
      const Node& e = effects->items[i];
      std::string at = index(join(where, "effects"), i);
      std::string schema = schema_of(e, at);
      if (schema.empty()) continue;
      if (schema != "LinearTimeWarp.1" && schema != "FreezeFrame.1") {
        std::string name = string_field(e, "effect_name");
        fail(at, "unsupported effect \"" + schema + "\"" +
                     (name.empty() ? "" : " (effect_name \"" + name + "\")") +
                     "; LinearTimeWarp.1 and FreezeFrame.1 are supported");
        continue;
      }
      if (have_time_effect) {
        fail(at, "a second time effect on one clip is not supported");
        continue;
      }
      have_time_effect = true;
      if (schema == "FreezeFrame.1") {
        clip.effect.kind = TimeEffect::Kind::Freeze;
        continue;
      }
      std::optional<Rational> scalar =
          exact_number(e.get("time_scalar"), join(at, "time_scalar"), 1000);
      if (!scalar) continue;
      if (*scalar < Rational{0}) {
        fail(join(at, "time_scalar"), "reverse playback (a negative time_scalar) is not supported");
      } else if (*scalar == Rational{0}) {
        clip.effect.kind = TimeEffect::Kind::Freeze;
      } else if (*scalar != Rational{1}) {
        clip.effect = {TimeEffect::Kind::LinearSpeed, *scalar};
      }
    }
  }

  std::string base_dir_;
  std::vector<Problem> problems_;
  std::optional<Rational> first_clip_rate_;
  bool first_is_video_ = false;
  Rational available_rate_{24};
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::string> path_from_url(std::string_view url) {
  std::string_view rest = url;
  const size_t colon = url.find(':');
  const bool has_scheme =
      colon != std::string_view::npos && colon > 1 &&
      std::all_of(url.begin(), url.begin() + static_cast<ptrdiff_t>(colon), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '-' || c == '.';
      });
  // (A one-letter "scheme" is a Windows drive, "C:/media/a.mov": a path for --remap to rewrite.)
  if (!has_scheme) return std::string(url);
  std::string scheme(url.substr(0, colon));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  if (scheme != "file") {
    return make_error(ErrorCode::Unsupported,
                      "\"" + std::string(url) + "\": only file URLs and paths are supported");
  }
  rest.remove_prefix(colon + 1);
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    const size_t slash = rest.find('/');
    std::string_view host = rest.substr(0, slash);
    if (!host.empty() && host != "localhost") {
      return make_error(ErrorCode::Unsupported, "\"" + std::string(url) + "\" names the host \"" +
                                                    std::string(host) +
                                                    "\"; only local files are supported");
    }
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  std::string path;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '%') {
      path += rest[i];
      continue;
    }
    int hi = i + 2 < rest.size() ? hex_value(rest[i + 1]) : -1;
    int lo = i + 2 < rest.size() ? hex_value(rest[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return make_error(ErrorCode::InvalidInput, "\"" + std::string(url) +
                                                     "\": bad percent-encoding at byte " +
                                                     std::to_string(i + colon + 1));
    }
    path += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  // file:///C:/media/a.mov is a Windows drive path: drop the slash before the drive.
  if (path.size() >= 3 && path[0] == '/' && path[2] == ':') path.erase(0, 1);
  if (path.empty())
    return make_error(ErrorCode::InvalidInput, "\"" + std::string(url) + "\" has no path");
  return path;
}

ReadResult read_otio(std::string_view json_text, const std::filesystem::path& base_dir) {
  Result<Node> tree = blueprint::parse_json_tree(json_text);
  if (!tree) {
    ReadResult r;
    r.problems.push_back({"", "not valid JSON: " + tree.error().message});
    return r;
  }
  return Reader(base_dir.string()).read(*tree);
}

ReadResult read_otio_file(const std::filesystem::path& file) {
  return read_cut_file(file, [](std::string_view text, const std::filesystem::path& dir) {
    return read_otio(text, dir);
  });
}

}  // namespace leancut::interchange
