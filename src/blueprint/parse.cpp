#include "blueprint/parse.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "blueprint/json_tree.h"
#include "time/rational.h"
#include "time/time_parse.h"

namespace leancut::blueprint {
namespace {

using Json = nlohmann::json;

constexpr int kMaxFps = 240;
constexpr std::string_view kPresets[] = {"ultrafast", "superfast", "veryfast", "faster",
                                         "fast",      "medium",    "slow",     "slower",
                                         "veryslow",  "placebo"};

using Node = JsonNode;

bool is_identifier(std::string_view key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$';
  });
}

// A JSON string for messages: quoted and escaped, long ones shortened.
std::string show_string(std::string_view s) {
  constexpr size_t kMaxShown = 60;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    char c = s[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out + "\"";
}

std::string member_path(const std::string& parent, std::string_view key) {
  if (!is_identifier(key)) return parent + "[" + show_string(key) + "]";
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

// What a value is, for "expected X, got Y".
std::string describe(const Node& n) {
  switch (n.kind) {
    case Node::Kind::Null:
      return "null";
    case Node::Kind::Bool:
      return n.boolean ? "true" : "false";
    case Node::Kind::Number:
      return n.text;
    case Node::Kind::String:
      return show_string(n.text);
    case Node::Kind::Array:
      return "an array";
    case Node::Kind::Object:
      return "an object";
  }
  return "?";
}

// Edits (insert, delete, substitute, swap two neighbours) between two short strings.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string join(std::initializer_list<std::string_view> names) {
  std::string s;
  for (std::string_view name : names) s += (s.empty() ? "" : ", ") + std::string(name);
  return s;
}

bool is_timecode_like(std::string_view s) {
  return s.find(':') != std::string_view::npos;
}

class Validator {
 public:
  explicit Validator(std::filesystem::path base_dir) : base_dir_(std::move(base_dir)) {}

  std::vector<Diagnostic> take_diagnostics() { return std::move(diagnostics_); }

  std::optional<Blueprint> blueprint(const Node& root) {
    if (root.kind != Node::Kind::Object) {
      error("", "expected a blueprint object, got " + describe(root));
      return std::nullopt;
    }
    // An unsupported version means a different schema: its other fields would only add noise.
    for (size_t i = 0; i < root.keys.size(); ++i) {
      Rational v;
      if (root.keys[i] == "version" && root.items[i].kind == Node::Kind::Number &&
          number_value(root.items[i], v) && v != Rational{1}) {
        error("version",
              "unsupported version " + root.items[i].text + " (this leancut reads version 1)");
        return std::nullopt;
      }
    }
    Blueprint bp;
    bp.base_dir = base_dir_;
    object(root, "", {"version", "output", "shots", "audio", "$schema"}, {"version", "shots"},
           [&](std::string_view key, const Node& n, const std::string& path) {
             if (key == "version") {
               Rational v;
               if (n.kind != Node::Kind::Number) {
                 error(path, "expected the integer 1, got " + describe(n));
               } else if (!number_value(n, v) || v != Rational{1}) {
                 error(path, "unsupported version " + n.text + " (this leancut reads version 1)");
               }
             } else if (key == "output") {
               output(n, path, bp.output);
             } else if (key == "shots") {
               shots(n, path, bp.shots);
             } else if (key == "audio") {
               audio_clips(n, path, bp.audio);
             } else if (key == "$schema") {
               if (n.kind != Node::Kind::String) {
                 error(path, "expected a string, got " + describe(n));
               }
             }
           });
    return bp;
  }

  std::vector<bool> take_shot_checkable() { return std::move(shot_checkable_); }

 private:
  using Handler = std::function<void(std::string_view key, const Node& n, const std::string& path)>;

  void error(const std::string& path, std::string message) {
    diagnostics_.push_back({path, std::move(message)});
  }

  // Walks an object's members in document order, reporting duplicate and unknown keys and, at
  // the end, missing required ones; `handle` sees each known key once.
  void object(const Node& n, const std::string& path, std::initializer_list<std::string_view> known,
              std::initializer_list<std::string_view> required, const Handler& handle) {
    if (n.kind != Node::Kind::Object) {
      error(path, "expected an object, got " + describe(n));
      return;
    }
    std::set<std::string_view> seen;  // a set: hostile documents may have many keys
    for (size_t i = 0; i < n.keys.size(); ++i) {
      const std::string& key = n.keys[i];
      std::string child = member_path(path, key);
      if (!seen.insert(key).second) {
        error(child, "duplicate field (each field may appear only once)");
        continue;
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        error(child, unknown_field_message(key, known));
        continue;
      }
      handle(key, n.items[i], child);
    }
    for (std::string_view key : required) {
      if (seen.count(key) == 0) {
        error(member_path(path, key), "required field is missing");
      }
    }
  }

  static std::string unknown_field_message(std::string_view key,
                                           std::initializer_list<std::string_view> known) {
    // Suggest only near misses ("souce", "widht", "Source", "sample_rte"), not every short
    // word: one edit, two for names of eight letters or more, or a difference of case.
    std::string_view closest;
    size_t best = std::numeric_limits<size_t>::max();
    std::string lower(key);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    for (std::string_view k : known) {
      if (k.front() == '$' || key.size() > 64) continue;
      size_t d = lower == k ? 0 : edit_distance(key, k);
      size_t allowed = k.size() >= 8 ? 2 : 1;
      if (d <= allowed && d < best) {
        best = d;
        closest = k;
      }
    }
    std::string listed;
    for (std::string_view k : known) {
      if (k.front() != '$') listed += (listed.empty() ? "" : ", ") + std::string(k);
    }
    if (!closest.empty()) {
      return "unknown field (did you mean \"" + std::string(closest) + "\"? known: " + listed + ")";
    }
    return "unknown field (known: " + listed + ")";
  }

  // The exact value of a number node; false when it cannot be represented.
  static bool number_value(const Node& n, Rational& out) {
    Result<Rational> r = parse_decimal(n.text);
    if (!r) return false;
    out = r.value();
    return true;
  }

  // An integer in [lo, hi]. JSON Schema's rule: a number with no fractional part (1280.0) counts.
  std::optional<int64_t> integer(const Node& n, const std::string& path, int64_t lo, int64_t hi) {
    if (n.kind != Node::Kind::Number) {
      error(path, "expected an integer, got " + describe(n));
      return std::nullopt;
    }
    Rational v;
    bool representable = number_value(n, v);
    if (representable && v.den() != 1) {
      error(path, "expected an integer, got " + n.text);
      return std::nullopt;
    }
    if (!representable || v < Rational{lo} || v > Rational{hi}) {
      if (hi == std::numeric_limits<int64_t>::max()) {
        error(path, "must be at least " + std::to_string(lo) + ", got " + n.text);
      } else {
        error(path, "must be from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " +
                        n.text);
      }
      return std::nullopt;
    }
    return v.num();
  }

  std::optional<std::string> string(const Node& n, const std::string& path) {
    if (n.kind != Node::Kind::String) {
      error(path, "expected a string, got " + describe(n));
      return std::nullopt;
    }
    return n.text;
  }

  // One of `names`, else "<what> "x" (one of: a, b)".
  std::optional<std::string> choice(const Node& n, const std::string& path, const char* what,
                                    std::initializer_list<std::string_view> names) {
    std::optional<std::string> s = string(n, path);
    if (!s) return std::nullopt;
    if (std::find(names.begin(), names.end(), *s) == names.end()) {
      error(path, std::string(what) + " " + show_string(*s) + " (one of: " + join(names) + ")");
      return std::nullopt;
    }
    return s;
  }

  void output(const Node& n, const std::string& path, Output& out) {
    object(n, path, {"width", "height", "fps", "background", "mp4_layout", "video", "audio"}, {},
           [&](std::string_view key, const Node& v, const std::string& p) {
             if (key == "width" || key == "height") {
               std::optional<int64_t> size = integer(v, p, 16, 8192);
               if (size && *size % 2 != 0) {
                 error(p, "must be even (yuv420p halves the chroma planes), got " + v.text);
               } else if (size) {
                 (key == "width" ? out.width : out.height) = static_cast<int>(*size);
               }
             } else if (key == "fps") {
               fps(v, p, out.fps);
             } else if (key == "background") {
               background(v, p, out.background);
             } else if (key == "mp4_layout") {
               if (auto layout = choice(v, p, "unknown mp4_layout",
                                        {"fragmented", "standard", "faststart"})) {
                 out.mp4_layout = *layout;
               }
             } else if (key == "video") {
               video(v, p, out.video);
             } else if (key == "audio") {
               audio(v, p, out.audio);
             }
           });
  }

  void fps(const Node& n, const std::string& path, Rational& out) {
    const std::string expected =
        "expected a positive integer or a rate string such as \"30000/1001\" or \"23.976\", got ";
    std::optional<Rational> rate;
    std::string given;
    if (n.kind == Node::Kind::Number) {
      Rational v;
      if (number_value(n, v) && v.den() != 1) {
        error(path, expected + n.text);
        return;
      }
      given = n.text;
      if (!number_value(n, v)) {  // beyond 64 bits: too fast, or far below zero
        v = n.text.front() == '-' ? Rational{-1} : Rational{kMaxFps + 1};
      }
      if (v > Rational{0}) rate = v;
    } else if (n.kind == Node::Kind::String) {
      given = show_string(n.text);
      Result<Rational> r = parse_rate(n.text);
      if (r) {
        rate = r.value();
      } else {
        // Well-formed but not positive falls through to the message below.
        bool ratio = n.text.find('/') != std::string::npos;
        if (!(ratio ? parse_ratio(n.text) : parse_decimal(n.text)).ok()) {
          error(path, r.error().message);
          return;
        }
      }
    } else {
      error(path, expected + describe(n));
      return;
    }
    if (!rate) {
      error(path, "must be positive, got " + given);
    } else if (*rate > Rational{kMaxFps}) {
      error(path, "must be at most " + std::to_string(kMaxFps) + " fps, got " + given);
    } else {
      out = *rate;
    }
  }

  void background(const Node& n, const std::string& path, std::string& out) {
    std::optional<std::string> s = string(n, path);
    if (!s) return;
    if (!parse_colour(*s)) {
      error(path, "unknown colour " + show_string(*s) +
                      " (one of: black, white, gray, grey, red, green, blue, or \"#RRGGBB\")");
      return;
    }
    // ffmpeg, which draws the background, knows "gray" but not "grey".
    out = *s == "grey" ? "gray" : *s;
  }

  void video(const Node& n, const std::string& path, VideoSettings& out) {
    object(n, path, {"codec", "crf", "preset", "pix_fmt", "bitrate", "gop_seconds"}, {},
           [&](std::string_view key, const Node& v, const std::string& p) {
             if (key == "codec") {
               std::optional<std::string> s = string(v, p);
               if (s && *s != "h264" && *s != "libx264") {
                 error(p, "unsupported codec " + show_string(*s) +
                              " (v1 supports \"h264\", also spelled \"libx264\")");
               } else if (s) {
                 out.codec = "h264";
               }
             } else if (key == "crf") {
               if (auto crf = integer(v, p, 0, 51)) out.crf = static_cast<int>(*crf);
             } else if (key == "preset") {
               std::optional<std::string> s = string(v, p);
               if (s &&
                   std::find(std::begin(kPresets), std::end(kPresets), *s) == std::end(kPresets)) {
                 std::string names;
                 for (std::string_view name : kPresets) {
                   names += (names.empty() ? "" : ", ") + std::string(name);
                 }
                 error(p, "unknown preset " + show_string(*s) + " (one of: " + names + ")");
               } else if (s) {
                 out.preset = *s;
               }
             } else if (key == "pix_fmt") {
               std::optional<std::string> s = string(v, p);
               if (s && *s != "yuv420p") {
                 error(p, "unsupported pixel format " + show_string(*s) +
                              " (v1 supports \"yuv420p\")");
               } else if (s) {
                 out.pix_fmt = *s;
               }
             } else if (key == "bitrate") {
               if (auto bitrate = integer(v, p, 1, std::numeric_limits<int64_t>::max())) {
                 out.bitrate = *bitrate;
               }
             } else if (key == "gop_seconds") {
               if (auto gop = integer(v, p, 1, 60)) out.gop_seconds = static_cast<int>(*gop);
             }
           });
  }

  void audio(const Node& n, const std::string& path, AudioSettings& out) {
    object(n, path, {"codec", "sample_rate", "channels", "bitrate", "loudness"}, {},
           [&](std::string_view key, const Node& v, const std::string& p) {
             if (key == "codec") {
               std::optional<std::string> s = string(v, p);
               if (s && *s != "aac") {
                 error(p, "unsupported codec " + show_string(*s) + " (v1 supports \"aac\")");
               } else if (s) {
                 out.codec = *s;
               }
             } else if (key == "sample_rate") {
               if (auto rate = integer(v, p, 8000, 192000)) {
                 out.sample_rate = static_cast<int>(*rate);
               }
             } else if (key == "channels") {
               if (v.kind != Node::Kind::Number) {
                 error(p, "expected an integer, got " + describe(v));
                 return;
               }
               Rational c;
               if (number_value(v, c) && (c == Rational{1} || c == Rational{2})) {
                 out.channels = static_cast<int>(c.num());
               } else {
                 error(p, "must be 1 or 2, got " + v.text);
               }
             } else if (key == "bitrate") {
               if (auto bitrate = integer(v, p, 16000, 512000)) out.bitrate = *bitrate;
             } else if (key == "loudness") {
               Loudness l;
               object(v, p, {"target_lufs", "peak_db"}, {"target_lufs"},
                      [&](std::string_view k, const Node& x, const std::string& xp) {
                        if (k == "target_lufs") {
                          if (auto t = exact_number(x, xp, Rational{-70}, Rational{-5})) {
                            l.target_lufs = *t;
                          }
                        } else if (k == "peak_db") {
                          if (auto t = exact_number(x, xp, Rational{-20}, Rational{0})) {
                            l.peak_db = *t;
                          }
                        }
                      });
               out.loudness = l;
             }
           });
  }

  void audio_clips(const Node& n, const std::string& path, std::vector<AudioClip>& out) {
    if (n.kind != Node::Kind::Array) {
      error(path, "expected an array of audio clips, got " + describe(n));
      return;
    }
    for (size_t i = 0; i < n.items.size(); ++i) {
      out.push_back(audio_clip(n.items[i], index_path(path, i)));
    }
  }

  // Seconds, at least 0: a JSON number or a "num/den" string (what to_json writes for a time
  // that is no finite decimal, e.g. lowered from OTIO at 30000/1001). No timecodes: a bed has no
  // frame rate of its own to read them at.
  std::optional<Rational> seconds(const Node& n, const std::string& path) {
    std::optional<TimeRef> t = time(n, path);
    if (!t) return std::nullopt;
    if (const Rational* r = std::get_if<Rational>(&*t)) return *r;
    error(path, "expected seconds (a number or \"num/den\"), not a timecode");
    return std::nullopt;
  }

  AudioClip audio_clip(const Node& n, const std::string& path) {
    AudioClip c;
    if (n.kind != Node::Kind::Object) {
      error(path, "expected an audio clip object, got " + describe(n));
      return c;
    }
    object(
        n, path,
        {"source", "at", "in", "out", "duration", "loop", "gain_db", "fade_in", "fade_out", "duck"},
        {"source"}, [&](std::string_view key, const Node& v, const std::string& p) {
          if (key == "source") {
            file_path(v, p, c.source_text, c.source);
          } else if (key == "at") {
            if (auto t = seconds(v, p)) c.at = *t;
          } else if (key == "in") {
            if (auto t = seconds(v, p)) c.in = *t;
          } else if (key == "out") {
            c.out = seconds(v, p);
          } else if (key == "duration") {
            c.duration = seconds(v, p);
            if (c.duration && *c.duration == Rational{0}) {
              error(p, "must be more than 0");
              c.duration.reset();
            }
          } else if (key == "loop") {
            if (v.kind != Node::Kind::Bool) {
              error(p, "expected true or false, got " + describe(v));
            } else {
              c.loop = v.boolean;
            }
          } else if (key == "gain_db") {
            if (auto gain = exact_number(v, p, Rational{-60}, Rational{24})) c.gain_db = *gain;
          } else if (key == "fade_in") {
            if (auto t = seconds(v, p)) c.fade_in = *t;
          } else if (key == "fade_out") {
            if (auto t = seconds(v, p)) c.fade_out = *t;
          } else if (key == "duck") {
            duck(v, p, c.duck);
          }
        });
    if (c.out && *c.out <= c.in) {
      error(member_path(path, "out"),
            to_string(TimeRef{*c.out}) + " must be after in (" + to_string(TimeRef{c.in}) + ")");
    }
    return c;
  }

  void duck(const Node& n, const std::string& path, std::optional<Duck>& out) {
    if (n.kind == Node::Kind::Bool) {
      if (n.boolean) out = Duck{};
      return;
    }
    if (n.kind != Node::Kind::Object) {
      error(path, "expected true, false or a duck object, got " + describe(n));
      return;
    }
    Duck d;
    object(n, path, {"amount_db", "threshold_db", "attack", "release"}, {},
           [&](std::string_view key, const Node& v, const std::string& p) {
             if (key == "amount_db") {
               if (auto x = exact_number(v, p, Rational{-60}, Rational{0})) d.amount_db = *x;
             } else if (key == "threshold_db") {
               if (auto x = exact_number(v, p, Rational{-90}, Rational{0})) d.threshold_db = *x;
             } else if (key == "attack") {
               if (auto x = exact_number(v, p, Rational{1, 1000}, Rational{5})) d.attack = *x;
             } else if (key == "release") {
               if (auto x = exact_number(v, p, Rational{1, 1000}, Rational{10})) d.release = *x;
             }
           });
    out = d;
  }

  void shots(const Node& n, const std::string& path, std::vector<Shot>& out) {
    if (n.kind != Node::Kind::Array) {
      error(path, "expected an array of shots, got " + describe(n));
      return;
    }
    if (n.items.empty()) {
      error(path, "must contain at least one shot");
      return;
    }
    out.reserve(n.items.size());
    for (size_t i = 0; i < n.items.size(); ++i) {
      out.push_back(shot(n.items[i], index_path(path, i)));
    }
    if (out.front().transition) {
      error(member_path(index_path(path, 0), "transition"),
            "the first shot has no shot before it to transition from");
    }
  }

  Shot shot(const Node& n, const std::string& path) {
    Shot s;
    if (n.kind != Node::Kind::Object) {
      error(path, "expected a shot object, got " + describe(n));
      shot_checkable_.push_back(false);
      return s;
    }
    if (std::find(n.keys.begin(), n.keys.end(), "color") != n.keys.end()) {
      colour_shot(n, path, s);
      shot_checkable_.push_back(false);  // nothing to probe
      return s;
    }
    if (std::find(n.keys.begin(), n.keys.end(), "image") != n.keys.end()) {
      const bool ok = still_shot(n, path, s);
      // Its image is probed with the media checks when its own fields are fine.
      shot_checkable_.push_back(ok);
      return s;
    }
    std::optional<TimeRef> in;
    std::optional<TimeRef> out;
    std::optional<std::string> focus_path;  // set when the shot has a focus field
    std::optional<std::string> sha256_path;
    object(n, path,
           {"source", "in", "out", "fit", "focus", "audio", "name", "speed", "freeze", "gain_db",
            "text", "sha256", "transition"},
           {"source", "in", "out"}, [&](std::string_view key, const Node& v, const std::string& p) {
             if (key == "source") {
               source(v, p, s);
             } else if (key == "in") {
               in = time(v, p);
             } else if (key == "out") {
               out = time(v, p);
             } else if (key == "fit") {
               if (auto f = fit(v, p)) s.fit = *f;
             } else if (key == "focus") {
               focus_path = p;
               if (auto f = focus(v, p)) s.focus = *f;
             } else if (key == "audio") {
               if (v.kind != Node::Kind::Bool) {
                 error(p, "expected true or false, got " + describe(v));
               } else {
                 s.audio = v.boolean;
               }
             } else if (key == "name") {
               if (auto name = string(v, p)) s.name = *name;
             } else if (key == "speed") {
               if (auto speed = exact_number(v, p, Rational{1, 4}, Rational{4})) s.speed = *speed;
             } else if (key == "freeze") {
               if (v.kind != Node::Kind::Bool) {
                 error(p, "expected true or false, got " + describe(v));
               } else {
                 s.freeze = v.boolean;
               }
             } else if (key == "gain_db") {
               if (auto gain = exact_number(v, p, Rational{-60}, Rational{24})) s.gain_db = *gain;
             } else if (key == "text") {
               texts(v, p, s.texts);
             } else if (key == "transition") {
               s.transition = transition(v, p);
             } else if (key == "sha256") {
               sha256_path = p;
               sha256(v, p, s);
             }
           });
    if (sha256_path && !s.source_text.empty() && !is_remote_source(s.source_text)) {
      error(*sha256_path, "applies only to an http(s) source (it checks the download)");
    }
    if (s.freeze && s.speed != Rational{1}) {
      error(member_path(path, "speed"), "a freeze frame has no speed (it holds one picture)");
    }
    if (focus_path && s.fit != Fit::Fill) {
      error(*focus_path, std::string("applies only to fit \"fill\" (this shot's fit is \"") +
                             to_string(s.fit) + "\")");
    }
    if (in) s.in = *in;
    if (out) s.out = *out;
    bool ordered = true;
    if (in && out && !(in_before_out(*in, *out))) {
      error(member_path(path, "out"),
            to_string(*out) + " must be after in (" + to_string(*in) + ")");
      ordered = false;
    }
    shot_checkable_.push_back(!s.source.empty() && in && out && ordered);
    return s;
  }

  // "center", or [x, y]: fractions 0..1 of the source picture, exact like every number here.
  std::optional<Focus> focus(const Node& n, const std::string& path) {
    static const std::string kExpected =
        "expected \"center\" or [x, y] with x and y from 0 to 1 (fractions of the picture), got ";
    if (n.kind == Node::Kind::String) {
      if (n.text == "center") return Focus{};
      error(path, kExpected + show_string(n.text));
      return std::nullopt;
    }
    if (n.kind != Node::Kind::Array) {
      error(path, kExpected + describe(n));
      return std::nullopt;
    }
    if (n.items.size() != 2) {
      error(path, kExpected + "an array of " + std::to_string(n.items.size()) + " items");
      return std::nullopt;
    }
    Focus f;
    bool ok = true;
    for (size_t i = 0; i < 2; ++i) {
      const Node& item = n.items[i];
      const std::string item_path = index_path(path, i);
      Rational v;
      // A "num/den" string too, as for seconds: to_json writes 1/3 that way.
      const bool ratio = item.kind == Node::Kind::String && parse_ratio(item.text).ok();
      if (item.kind != Node::Kind::Number && !ratio) {
        error(item_path, "expected a number from 0 to 1, got " + describe(item));
        ok = false;
      } else if (ratio) {
        v = parse_ratio(item.text).value();
        if (v < Rational{0} || v > Rational{1}) {
          error(item_path, "must be from 0 to 1, got " + item.text);
          ok = false;
        } else {
          (i == 0 ? f.x : f.y) = v;
        }
      } else if (!number_value(item, v) || v < Rational{0} || v > Rational{1}) {
        error(item_path, "must be from 0 to 1, got " + item.text);
        ok = false;
      } else {
        (i == 0 ? f.x : f.y) = v;
      }
    }
    if (!ok) return std::nullopt;
    return f;
  }

  // A generated shot: a colour for `duration` seconds, with silence (a slate, a gap, black).
  void colour_shot(const Node& n, const std::string& path, Shot& s) {
    object(n, path, {"color", "duration", "name", "text", "transition"}, {"color", "duration"},
           [&](std::string_view key, const Node& v, const std::string& p) {
             if (key == "color") {
               std::string text;
               background(v, p, text);
               if (!text.empty()) {
                 s.color = parse_colour(text);
                 s.color_text = text;
               }
             } else if (key == "duration") {
               if (auto d = duration(v, p, "a colour shot")) s.duration = *d;
             } else if (key == "name") {
               if (auto name = string(v, p)) s.name = *name;
             } else if (key == "text") {
               texts(v, p, s.texts);
             } else if (key == "transition") {
               s.transition = transition(v, p);
             }
           });
    s.audio = false;
  }

  // "transition": {"type": "dissolve" | "fade", and its length: "frames" or "duration" (centred
  // on the cut), or "before" and "after" (seconds); a fade's "color"}.
  std::optional<Transition> transition(const Node& n, const std::string& path) {
    Transition t;
    const size_t errors_before = diagnostics_.size();
    std::optional<std::string> color_path;
    object(n, path, {"type", "frames", "duration", "before", "after", "color"}, {"type"},
           [&](std::string_view key, const Node& v, const std::string& p) {
             if (key == "type") {
               if (auto k = choice(v, p, "unknown transition type", {"dissolve", "fade"})) {
                 t.kind = *k == "fade" ? TransitionKind::Fade : TransitionKind::Dissolve;
               }
             } else if (key == "frames") {
               t.frames = integer(v, p, 1, 100'000);
             } else if (key == "duration") {
               t.duration = duration(v, p, "a transition");
             } else if (key == "before" || key == "after") {
               std::optional<TimeRef> d = time(v, p);
               if (d && !std::holds_alternative<Rational>(*d)) {
                 error(p, "a transition's lengths are in seconds, not timecodes");
               } else if (d) {
                 (key == "before" ? t.before : t.after) = std::get<Rational>(*d);
               }
             } else if (key == "color") {
               color_path = p;
               std::string text;
               background(v, p, text);
               if (!text.empty()) {
                 t.color = *parse_colour(text);
                 t.color_text = text;
               }
             }
           });
    const int lengths = (t.frames ? 1 : 0) + (t.duration ? 1 : 0) + (t.before || t.after ? 1 : 0);
    if (diagnostics_.size() == errors_before) {
      if (lengths != 1) {
        error(path, lengths == 0 ? "needs a length: \"frames\", \"duration\" (seconds), or "
                                   "\"before\" and \"after\" (seconds)"
                                 : "give one length: \"frames\", \"duration\", or "
                                   "\"before\" and \"after\"");
      } else if ((t.before || t.after) && !(t.before && t.after)) {
        error(path, "\"before\" and \"after\" go together");
      } else if (t.before && t.after && *t.before + *t.after <= Rational{0}) {
        error(path, "before + after must be positive");
      }
      if (color_path && t.kind != TransitionKind::Fade) {
        error(*color_path, "applies only to a \"fade\" transition");
      }
    }
    if (diagnostics_.size() != errors_before) return std::nullopt;
    return t;
  }

  // "text": one overlay object, or an array of them.
  void texts(const Node& n, const std::string& path, std::vector<TextOverlay>& out) {
    if (n.kind == Node::Kind::Object) {
      out.push_back(text_overlay(n, path));
      return;
    }
    if (n.kind != Node::Kind::Array) {
      error(path, "expected a text object or an array of them, got " + describe(n));
      return;
    }
    for (size_t i = 0; i < n.items.size(); ++i) {
      out.push_back(text_overlay(n.items[i], index_path(path, i)));
    }
  }

  TextOverlay text_overlay(const Node& n, const std::string& path) {
    TextOverlay t;
    object(n, path,
           {"text", "font", "size", "color", "position", "box", "box_opacity", "start", "end",
            "fade_in", "fade_out"},
           {"text"}, [&](std::string_view key, const Node& v, const std::string& p) {
             if (key == "text") {
               if (auto text = string(v, p)) {
                 if (text->empty()) {
                   error(p, "must not be empty");
                 } else if (text->find('\0') != std::string::npos) {
                   error(p, "must not contain a NUL character");
                 } else {
                   t.text = *text;
                 }
               }
             } else if (key == "font") {
               if (auto font = string(v, p)) t.font = *font;
             } else if (key == "size") {
               if (auto size = exact_number(v, p, Rational{4}, Rational{1000})) {
                 t.size = static_cast<int>(round_half_up(*size));
               }
             } else if (key == "color") {
               background(v, p, t.color);
             } else if (key == "box") {
               background(v, p, t.box);
             } else if (key == "box_opacity") {
               if (auto o = exact_number(v, p, Rational{0}, Rational{1})) t.box_opacity = *o;
             } else if (key == "position") {
               text_position(v, p, t);
             } else if (key == "start" || key == "end" || key == "fade_in" || key == "fade_out") {
               std::optional<TimeRef> time_ref = time(v, p);
               if (time_ref && !std::holds_alternative<Rational>(*time_ref)) {
                 error(p, "text times are seconds from the shot's start, not timecodes");
               } else if (time_ref) {
                 const Rational seconds = std::get<Rational>(*time_ref);
                 if (key == "start") t.start = seconds;
                 if (key == "end") t.end = seconds;
                 if (key == "fade_in") t.fade_in = seconds;
                 if (key == "fade_out") t.fade_out = seconds;
               }
             }
           });
    if (t.end && *t.end <= t.start) {
      error(member_path(path, "end"), "must be after start (" + to_string(TimeRef{t.start}) + ")");
    }
    return t;
  }

  void text_position(const Node& n, const std::string& path, TextOverlay& t) {
    if (n.kind == Node::Kind::String) {
      if (auto p = choice(n, path, "unknown position", {"center", "top", "bottom"})) {
        t.position = *p;
      }
      return;
    }
    if (n.kind != Node::Kind::Array || n.items.size() != 2) {
      error(path,
            "expected \"center\", \"top\", \"bottom\" or [x, y] (fractions of the frame), "
            "got " +
                describe(n));
      return;
    }
    auto x = exact_number(n.items[0], index_path(path, 0), Rational{0}, Rational{1});
    auto y = exact_number(n.items[1], index_path(path, 1), Rational{0}, Rational{1});
    if (x && y) {
      t.position = "point";
      t.x = *x;
      t.y = *y;
    }
  }

  // A still: a PNG or JPEG for `duration` seconds, placed by `fit`, with silence. True when its
  // fields are fine, so the image can be checked against the media.
  bool still_shot(const Node& n, const std::string& path, Shot& s) {
    const size_t errors_before = diagnostics_.size();
    object(n, path, {"image", "duration", "fit", "name", "text", "transition"},
           {"image", "duration"}, [&](std::string_view key, const Node& v, const std::string& p) {
             if (key == "text") {
               texts(v, p, s.texts);
             } else if (key == "transition") {
               s.transition = transition(v, p);
             } else if (key == "image") {
               if (v.kind == Node::Kind::String && is_remote_source(v.text)) {
                 error(p,
                       "a still's image must be a local file (only a shot's source may be an "
                       "http(s) URL)");
               } else {
                 file_path(v, p, s.image_text, s.image);
               }
             } else if (key == "duration") {
               if (auto d = duration(v, p, "a still shot")) s.duration = *d;
             } else if (key == "fit") {
               if (auto f = fit(v, p)) s.fit = *f;
             } else if (key == "name") {
               if (auto name = string(v, p)) s.name = *name;
             }
           });
    s.audio = false;
    return diagnostics_.size() == errors_before;
  }

  std::optional<Fit> fit(const Node& v, const std::string& p) {
    std::optional<std::string> f = choice(v, p, "unknown fit", {"fit", "fill", "stretch"});
    if (!f) return std::nullopt;
    return *f == "fill" ? Fit::Fill : (*f == "stretch" ? Fit::Stretch : Fit::Fit);
  }

  // A generated shot's length: positive seconds. `what` names the shot kind for the message.
  std::optional<Rational> duration(const Node& v, const std::string& p, const char* what) {
    std::optional<TimeRef> d = time(v, p);
    if (d && !std::holds_alternative<Rational>(*d)) {
      error(p,
            std::string(what) + "'s duration is in seconds (it has no source rate for a timecode)");
    } else if (d && std::get<Rational>(*d) <= Rational{0}) {
      error(p, "must be positive");
    } else if (d) {
      return std::get<Rational>(*d);
    }
    return std::nullopt;
  }

  // False only when the order is known to be wrong without media: both seconds, or both
  // timecodes of the same kind (their fields then order like the frames they label).
  static bool in_before_out(const TimeRef& in, const TimeRef& out) {
    const Rational* in_s = std::get_if<Rational>(&in);
    const Rational* out_s = std::get_if<Rational>(&out);
    if (in_s && out_s) return *in_s < *out_s;
    const Timecode* in_tc = std::get_if<Timecode>(&in);
    const Timecode* out_tc = std::get_if<Timecode>(&out);
    if (in_tc && out_tc && in_tc->drop_frame == out_tc->drop_frame) {
      auto fields = [](const Timecode& t) {
        return std::tuple(t.hours, t.minutes, t.seconds, t.frames);
      };
      return fields(*in_tc) < fields(*out_tc);
    }
    return true;
  }

  // A JSON number read exactly from its digits, within [lo, hi].
  std::optional<Rational> exact_number(const Node& n, const std::string& path, Rational lo,
                                       Rational hi) {
    if (n.kind != Node::Kind::Number) {
      error(path, "expected a number, got " + describe(n));
      return std::nullopt;
    }
    Result<Rational> r = parse_decimal(n.text);
    if (!r) {
      error(path, r.error().message);
      return std::nullopt;
    }
    if (*r < lo || *r > hi) {
      error(path, "must be between " + to_exact_decimal(lo).value_or(lo.to_string()) + " and " +
                      to_exact_decimal(hi).value_or(hi.to_string()) + ", got " + n.text);
      return std::nullopt;
    }
    return *r;
  }

  void source(const Node& n, const std::string& path, Shot& s) {
    // A URL is kept as written: it names no file until --remote downloads it (fetch/).
    if (n.kind == Node::Kind::String && is_remote_source(n.text)) {
      if (n.text.find_first_of(std::string_view(" \t\r\n\0", 5)) != std::string::npos) {
        error(path, "a URL must not contain spaces or control characters (percent-encode them)");
        return;
      }
      s.source_text = n.text;
      s.source = n.text;
      return;
    }
    file_path(n, path, s.source_text, s.source);
  }

  // 64 hex digits, kept in lowercase.
  void sha256(const Node& n, const std::string& path, Shot& s) {
    std::optional<std::string> text = string(n, path);
    if (!text) return;
    const bool hex = text->size() == 64 && std::all_of(text->begin(), text->end(), [](char c) {
                       return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                     });
    if (!hex) {
      error(path, "expected 64 hex digits (a SHA-256), got " + show_string(*text));
      return;
    }
    s.sha256 = *text;
    for (char& c : s.sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }

  // A media file's name as written, and resolved: relative to the blueprint's folder.
  void file_path(const Node& n, const std::string& path, std::string& as_written,
                 std::filesystem::path& resolved) {
    std::optional<std::string> text = string(n, path);
    if (!text) return;
    if (text->empty()) {
      error(path, "must not be empty");
      return;
    }
    if (text->find('\0') != std::string::npos) {
      error(path, "must not contain a NUL character");
      return;
    }
    as_written = *text;
    std::filesystem::path p(*text);
    resolved = (p.is_absolute() ? p : base_dir_ / p).lexically_normal();
  }

  std::optional<TimeRef> time(const Node& n, const std::string& path) {
    static const std::string kExpected =
        "expected a number of seconds, a \"num/den\" seconds string or a timecode "
        "\"HH:MM:SS:FF\", got ";
    if (n.kind == Node::Kind::Number) {
      Result<Rational> r = parse_decimal(n.text);
      if (!r) {
        error(path, r.error().message);
        return std::nullopt;
      }
      if (r.value() < Rational{0}) {
        error(path, "must not be negative, got " + n.text);
        return std::nullopt;
      }
      return r.value();
    }
    if (n.kind != Node::Kind::String) {
      error(path, kExpected + describe(n));
      return std::nullopt;
    }
    const std::string& s = n.text;
    if (is_timecode_like(s)) {
      Result<Timecode> tc = parse_timecode(s);
      if (!tc) {
        error(path, tc.error().message);
        return std::nullopt;
      }
      // Labels every drop-frame rate skips; 60000/1001 also skips ;02 and ;03, which only the
      // engine, knowing the source's rate, can tell.
      const Timecode& t = tc.value();
      if (t.drop_frame && t.seconds == 0 && t.frames < 2 && t.minutes % 10 != 0) {
        error(path, show_string(s) +
                        " does not exist: drop-frame skips ;00 and ;01 at the start of each "
                        "minute not divisible by 10");
        return std::nullopt;
      }
      return t;
    }
    if (s.find('/') != std::string::npos) {
      Result<Rational> r = parse_ratio(s);
      if (!r) {
        error(path, r.error().message);
        return std::nullopt;
      }
      if (r.value() < Rational{0}) {
        error(path, "must not be negative, got " + show_string(s));
        return std::nullopt;
      }
      return r.value();
    }
    if (parse_decimal(s).ok()) {
      constexpr size_t kMaxEcho = 40;
      error(path, "seconds must be a JSON number, not a string: write " +
                      (s.size() <= kMaxEcho ? s + ", not " + show_string(s)
                                            : std::string("it without the quotes")));
      return std::nullopt;
    }
    error(path, kExpected + show_string(s));
    return std::nullopt;
  }

  std::filesystem::path base_dir_;
  std::vector<Diagnostic> diagnostics_;
  std::vector<bool> shot_checkable_;  // per shot: source, in and out parsed and ordered
};

}  // namespace

ParseResult parse_blueprint(std::string_view json_text, const std::filesystem::path& base_dir) {
  ParseResult result;
  Result<JsonNode> tree = parse_json_tree(json_text);
  if (!tree) {
    result.diagnostics.push_back({"", tree.error().message});
    return result;
  }
  Validator validator(base_dir);
  std::optional<Blueprint> bp = validator.blueprint(*tree);
  result.diagnostics = validator.take_diagnostics();
  if (result.diagnostics.empty()) {
    result.blueprint = std::move(bp);
  } else if (bp) {
    result.partial = std::move(bp);
    result.shot_checkable = validator.take_shot_checkable();
  }
  return result;
}

ParseResult load_blueprint(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    ParseResult result;
    result.diagnostics.push_back({"", "cannot read " + file.string() + ": it is a folder"});
    return result;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ParseResult result;
    result.diagnostics.push_back(
        {"", "cannot read " + file.string() + ": " + std::strerror(errno)});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    ParseResult result;
    result.diagnostics.push_back({"", "cannot read " + file.string()});
    return result;
  }
  std::filesystem::path dir = std::filesystem::absolute(file, ec).parent_path();
  if (ec) dir = file.parent_path();
  return parse_blueprint(text.str(), dir.lexically_normal());
}

}  // namespace leancut::blueprint
