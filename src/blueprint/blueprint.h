// Blueprint: the immutable, parsed form of a blueprint v1 document (docs/blueprint.md). It says
// what to make; nothing here has touched media yet. Times that are timecodes stay timecodes
// until the engine knows the source's rate (engine/timeline.h resolves them).
//
// Value type; thread-compatible.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "time/rational.h"
#include "time/time_parse.h"

namespace leancut::blueprint {

// How a source picture is put into the output frame.
enum class Fit {
  Fit,      // scale to fit inside, letterbox/pillarbox with the background (default)
  Fill,     // scale to cover, crop the overflow around the shot's focus (centred by default)
  Stretch,  // scale to the output size exactly, ignoring aspect ratio
};
const char* to_string(Fit fit);

// The point a "fill" crop keeps in view, as fractions of the (upright) source picture: (0, 0) is
// its top-left corner, (1, 1) its bottom-right, (1/2, 1/2) the centre. The crop is centred on it
// as far as the picture allows (it never reaches past an edge).
struct Focus {
  Rational x{1, 2};
  Rational y{1, 2};
  bool is_center() const { return x == Rational{1, 2} && y == Rational{1, 2}; }
  friend bool operator==(const Focus&, const Focus&) = default;
};

// A point in a source: seconds (exact, from the JSON number's text) or a timecode at the
// source's own frame rate.
using TimeRef = std::variant<Rational, Timecode>;
std::string to_string(const TimeRef& t);  // "1.5s" or "00:00:01:12"

struct VideoSettings {
  std::string codec = "h264";       // only h264 (libx264) in v1
  int crf = 23;                     // 0..51
  std::string preset = "veryfast";  // x264 preset name
  std::string pix_fmt = "yuv420p";  // yuv420p only in v1
  std::optional<int64_t> bitrate;   // bits/s; when set, ABR instead of CRF
  int gop_seconds = 2;              // keyframe interval in seconds (1..60)
  friend bool operator==(const VideoSettings&, const VideoSettings&) = default;
};

// Loudness normalization of the whole output (EBU R128 integrated loudness, measured in a first
// pass over the audio, then one gain for all of it: docs/blueprint.md).
struct Loudness {
  Rational target_lufs{-16};  // −70 .. −5
  Rational peak_db{-1};       // −20 .. 0: the sample peak the gain may not push past
  friend bool operator==(const Loudness&, const Loudness&) = default;
};

struct AudioSettings {
  std::string codec = "aac";         // only aac in v1
  int sample_rate = 48000;           // 8000..192000
  int channels = 2;                  // 1 or 2
  int64_t bitrate = 128000;          // bits/s, 16000..512000
  std::optional<Loudness> loudness;  // absent: the mix's level as it is
  friend bool operator==(const AudioSettings&, const AudioSettings&) = default;
};

struct Output {
  int width = 1280;  // even, 16..8192
  int height = 720;  // even, 16..8192
  Rational fps{30};  // > 0, <= 240
  VideoSettings video;
  AudioSettings audio;
  std::string background = "black";  // letterbox colour: a name or "#RRGGBB"
  // How an .mp4/.mov output is laid out (other containers ignore it):
  //  "standard" (default): one index at the end, ~64 bytes of RAM per packet until the file is
  //     finished (~15 MB per hour at 30 fps + AAC); "faststart": standard, with the index moved
  //     to the front when done (a second pass over the file) for progressive web play;
  //  "fragmented": an index per 2-second fragment, so memory stays flat however long the output
  //     is. Caveat (FFmpeg 5.1's muxer): the AAC encoder's 1024 priming samples are not trimmed
  //     by an edit list, so readers that ignore the negative start play audio 21 ms late.
  std::string mp4_layout = "standard";
  friend bool operator==(const Output&, const Output&) = default;
};

// A background colour as 8-bit sRGB.
struct Rgb {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// Text drawn over a shot (a caption, a lower third, a title on a colour shot): libavfilter's
// drawtext with a fontconfig font. Times are seconds from the shot's first frame.
struct TextOverlay {
  std::string text;                  // UTF-8, drawn as written (no % expansions)
  std::string font = "DejaVu Sans";  // a fontconfig family (fonts-dejavu-core is installed)
  int size = 0;                      // pixels; 0: a fifteenth of the output's height
  std::string color = "white";       // as Output::background
  // Where the text's centre goes: "center", "top", "bottom" (a tenth of the height from the
  // edge), or [x, y] fractions of the frame.
  std::string position = "bottom";
  Rational x{1, 2};
  Rational y{1, 2};
  std::string box;             // a colour for a box behind the text; empty: no box
  Rational box_opacity{1, 2};  // 0..1
  Rational start{0};
  std::optional<Rational> end;  // default: the shot's end; clamped to it
  Rational fade_in{0};
  Rational fade_out{0};
  friend bool operator==(const TextOverlay&, const TextOverlay&) = default;
};

// A transition from the shot before into the shot that carries it, on OpenTimelineIO's terms: it
// overlaps the cut, starting `before` ahead of it and ending `after` past it, and the timeline's
// length does not change. A dissolve blends the two shots over that whole stretch, so it needs
// media past the outgoing shot's out point (`after`'s worth) and ahead of the incoming shot's in
// point (`before`'s worth): the handles. A fade through a colour fades the outgoing shot to the
// colour over `before` and the incoming one up from it over `after`, and needs no handles.
enum class TransitionKind { Dissolve, Fade };
const char* to_string(TransitionKind kind);

struct Transition {
  TransitionKind kind = TransitionKind::Dissolve;
  Rgb color;                         // a fade's colour
  std::string color_text = "black";  // as written
  // Its length, as written: exactly one of `frames` (output frames) and `duration` (seconds),
  // centred on the cut (an odd frame count puts the extra frame after it); or both `before` and
  // `after` (seconds), for a transition off centre.
  std::optional<int64_t> frames;
  std::optional<Rational> duration;
  std::optional<Rational> before;
  std::optional<Rational> after;
  friend bool operator==(const Transition&, const Transition&) = default;
};

// A shot is a piece of a source ([in, out) of `source`); or, when `color` is set, a generated
// picture: that colour for `duration` seconds, with silence (slates, gaps, black); or, when
// `image` is set, a still: that PNG/JPEG for `duration` seconds, its transparent parts showing
// the output's background, placed by `fit`, with silence.
struct Shot {
  std::string source_text;  // as written in the blueprint (for messages)
  // Resolved: relative paths against the blueprint's folder. An http(s) URL (is_remote_source)
  // stays as written until the CLI's --remote downloads it (fetch/) and puts the cached file here.
  std::filesystem::path source;
  // "sha256": the remote source's expected SHA-256 (64 lowercase hex digits); empty: unchecked.
  std::string sha256;
  TimeRef in;
  TimeRef out;  // exclusive: the shot covers [in, out)
  Fit fit = Fit::Fit;
  Focus focus;        // "fill" only: what the crop keeps in view
  bool audio = true;  // false: silence for this shot
  std::string name;   // optional label for messages and reports
  // Playback speed: the shot plays [in, out) of its source in (out − in) / speed seconds, its
  // audio time-stretched with the pitch kept. 1/4 .. 4, exact.
  Rational speed{1};
  // Freeze frame: (out − in) seconds of the picture on screen at `in`, with silence.
  bool freeze = false;
  // Audio gain in dB (−60 .. +24, exact decimal); 0 leaves the source's level.
  Rational gain_db{0};
  // A colour shot: no source, in or out; `duration` seconds of this colour.
  std::optional<Rgb> color;
  std::string color_text;  // as written ("black", "#102030")
  Rational duration{0};
  bool is_colour() const { return color.has_value(); }
  std::vector<TextOverlay> texts;  // "text": drawn over the shot, in order (last on top)
  // A still shot: no source, in or out; `duration` seconds of this picture, placed by `fit`.
  std::string image_text;       // as written in the blueprint (for messages)
  std::filesystem::path image;  // resolved like `source`
  bool is_still() const { return !image.empty(); }
  // "transition": from the shot before into this one (never on the first shot).
  std::optional<Transition> transition;
  friend bool operator==(const Shot&, const Shot&) = default;
};

// True for an http:// or https:// source (either case in the scheme): a remote source, fetched
// into the asset cache with --remote (docs/blueprint.md, "Remote sources").
bool is_remote_source(std::string_view text);

// "black", "white", "gray"/"grey", "red", "green", "blue" (CSS values: green is #008000, gray
// #808080), or "#RRGGBB" in either case; nullopt for anything else. Output::background is always
// one of these once parsed.
std::optional<Rgb> parse_colour(std::string_view text);

// Ducking: a bed's level drops by `amount_db` while the shots' own audio is above
// `threshold_db` (dBFS, the peak of the shots' mix), moving there over `attack` seconds and back
// over `release` seconds. Defaults (docs/blueprint.md says why): −12 dB, −40 dBFS, 0.05 s, 0.5 s.
struct Duck {
  Rational amount_db{-12};     // −60 .. 0
  Rational threshold_db{-40};  // −90 .. 0
  Rational attack{1, 20};      // seconds, 0.001 .. 5
  Rational release{1, 2};      // seconds, 0.001 .. 10
  friend bool operator==(const Duck&, const Duck&) = default;
};

// An audio bed clip ("audio": [...]): [in, out) of `source`'s audio placed at `at` seconds on the
// output, mixed under the shots' audio. Times are seconds (no timecodes: a bed has no frames).
struct AudioClip {
  std::string source_text;       // as written
  std::filesystem::path source;  // resolved like a shot's
  Rational at{0};
  Rational in{0};
  std::optional<Rational> out;       // default: the end of the source's audio
  std::optional<Rational> duration;  // default: out − in once, or to the timeline's end if loop
  bool loop = false;                 // repeat [in, out) until `duration` is filled
  Rational gain_db{0};               // −60 .. +24
  Rational fade_in{0};               // seconds from the clip's start on the output
  Rational fade_out{0};              // seconds before the clip's end on the output
  std::optional<Duck> duck;          // absent: the bed never ducks
  friend bool operator==(const AudioClip&, const AudioClip&) = default;
};

struct Blueprint {
  int version = 1;
  Output output;
  std::vector<Shot> shots;
  std::vector<AudioClip> audio;    // beds, summed under the shots' audio
  std::filesystem::path base_dir;  // the folder relative sources resolve against
  friend bool operator==(const Blueprint&, const Blueprint&) = default;
};

}  // namespace leancut::blueprint
