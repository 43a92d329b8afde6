// Timeline: a Blueprint resolved against its media. Every shot knows its source's probe, its
// exact frame range on the source's editor-time grid and on the output, and its exact audio
// sample range; timecodes have become seconds at the source's rate. Resolution is where the
// media-dependent checks live (missing or corrupt source, `out` past the end), all reported at
// once with their JSON paths.
//
//   ResolveResult r = resolve_timeline(bp);
//   if (!r.timeline) for (auto& d : r.diagnostics) print(d.to_string());
//
// Value type; thread-compatible. Probes each distinct source once.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "blueprint/blueprint.h"
#include "blueprint/parse.h"
#include "media/probe.h"
#include "media/probe_cache.h"
#include "media/still_image.h"
#include "media/video_normalizer.h"
#include "time/rational.h"

namespace leancut::engine {

inline constexpr int kNoSource = -1;  // ResolvedShot::source of a colour or still shot

// A transition into a shot, on the output's frame grid: it covers the `before` frames ending at
// the cut (the end of the shot before) and the `after` frames starting there (the start of the
// shot that carries it). Frame j of its n = before + after frames shows (j + 1/2) / n of the
// incoming picture (a dissolve), or the colour at a fade's darkest point.
struct ResolvedTransition {
  blueprint::TransitionKind kind = blueprint::TransitionKind::Dissolve;
  blueprint::Rgb color;
  int64_t before = 0;
  int64_t after = 0;
  bool is_dissolve() const { return kind == blueprint::TransitionKind::Dissolve; }
};

struct ResolvedShot {
  int index = 0;   // position in the blueprint's shots
  int source = 0;  // index into Timeline::sources; kNoSource for a colour or still shot
  std::optional<blueprint::Rgb> color;        // a colour shot's picture (no source)
  std::optional<media::ImageInfo> image;      // a still shot's picture (no source), as probed
  std::vector<blueprint::TextOverlay> texts;  // drawn over the shot
  Rational in;                                // seconds, as given (timecodes converted)
  Rational out;
  int64_t source_first_frame = 0;  // round(in × fps): output-rate grid index in the source
  int64_t frame_count = 0;         // round(out × fps) − round(in × fps)
  int64_t timeline_first_frame = 0;
  int64_t timeline_first_sample = 0;
  int64_t sample_count = 0;
  media::FitMode fit = media::FitMode::Fit;
  Rational focus_x{1, 2};  // fill: the crop's centre, fractions of the upright picture
  Rational focus_y{1, 2};
  bool take_audio = true;  // the shot wants audio and the source has it (never when frozen)
  // Speed s places the shot on a grid of spacing s/fps in the source: source_first_frame =
  // round(in × fps / s), frame_count = round(out × fps / s) − round(in × fps / s). At s = 1 that
  // is the blueprint's frame rule.
  Rational speed{1};
  bool freeze = false;  // every frame shows slot_time(0)
  double gain = 1.0;    // linear audio gain (from gain_db)
  // From the shot before into this one. A dissolve reads this shot's source `before` frames
  // ahead of its in point (slot_time(-before ..)) and the shot before's `after` frames past its
  // out point (slot_time(frame_count ..)); resolution checked both exist.
  std::optional<ResolvedTransition> transition_in;

  // Editor time in the source of the shot's output frame k: (source_first_frame + k) × speed /
  // fps, or the first frame's for a freeze.
  Rational slot_time(int64_t k, Rational fps) const;
  bool is_colour() const { return color.has_value(); }
  bool is_still() const { return image.has_value(); }
  bool has_source() const { return source != kNoSource; }
};

// An audio bed clip on the output's sample grid. Samples [first_sample, first_sample +
// sample_count) of the output carry passes over the source's [in, in + period samples), each pass
// starting again at `in` (a loop); a clip that does not loop has one pass, sample_count <= period.
struct ResolvedBed {
  int index = 0;             // position in the blueprint's audio
  int source = 0;            // index into Timeline::sources
  Rational in;               // seconds in the source where every pass starts
  int64_t first_sample = 0;  // on the output: sample_at(at)
  int64_t sample_count = 0;  // ends at the timeline's end at the latest
  int64_t period = 0;        // samples per pass: sample_at(out − in)
  double gain = 1.0;         // linear, from gain_db
  int64_t fade_in = 0;       // samples ramping up from the start
  int64_t fade_out = 0;      // samples ramping down to the end
  std::optional<blueprint::Duck> duck;
};

struct Timeline {
  blueprint::Output output;
  std::vector<media::ProbeInfo> sources;
  std::vector<ResolvedShot> shots;
  std::vector<ResolvedBed> beds;
  int64_t total_frames = 0;
  int64_t total_samples = 0;

  Rational duration() const { return Rational{total_frames} / output.fps; }
};

struct ResolveResult {
  std::optional<Timeline> timeline;  // set only when diagnostics is empty
  std::vector<blueprint::Diagnostic> diagnostics;
};

// `only`: when given, shots whose entry is false are skipped (a blueprint with parse errors,
// resolved only to report media problems too); no timeline is produced then.
// `probes`: where probe results come from (and go); nullptr probes every distinct source anew.
ResolveResult resolve_timeline(const blueprint::Blueprint& bp,
                               const std::vector<bool>* only = nullptr,
                               media::ProbeCache* probes = nullptr);

// Relative to the current directory when shorter, for messages: "clips/a.mp4".
std::string display_path(const std::filesystem::path& p);

}  // namespace leancut::engine
