// Lowering: an interchange Timeline (conformed, so every clip has a media path or a slate mark)
// becomes a blueprint the engine renders: video tracks flattened top over bottom, dissolves as
// blueprint transitions. What the engine cannot do is a problem naming the object, or a
// documented fallback (docs/interchange.md, "Rendering").
//
//   LowerOptions opt{.output = validated_output};   // its fps is the grid the cut is placed on
//   Lowered l = lower(timeline, opt);
//   if (!l.ok()) for (const Problem& p : l.problems) print(p.to_string());
//   blueprint::Blueprint bp = *l.blueprint;       // l.shot_origins[i] names shot i's item
//
// Frames are exact: every item boundary sits at round(t × fps) on the output, t being its exact
// place in the track, so the shots sum to round(duration × fps) frames, the timeline's length
// at that rate, however the items' lengths fall between frames.
// Pure (no media, no filesystem); thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "blueprint/blueprint.h"
#include "interchange/model.h"

namespace leancut::interchange {

enum class TransitionPolicy {
  Render,  // a dissolve: the blueprint's transition on the shot after it, with the same offsets
  Refuse,  // a transition is a problem naming both clips
  Cut,     // rendered as a cut at the transition's centre
};

struct LowerOptions {
  blueprint::Output output;  // the render's settings; output.fps places the cut on its grid
  // Which video track to render, 1 = the bottom one (V1). nullopt: every track with clips,
  // composited top over bottom.
  std::optional<int> video_track;
  TransitionPolicy transitions = TransitionPolicy::Render;
};

// The colour that stands in for missing media (--missing slate): a dark grey, so a slate is
// told apart from black gaps at a glance. A text label comes later.
inline constexpr blueprint::Rgb kSlateColour{0x40, 0x40, 0x40};  // "#404040"

struct Lowered {
  std::optional<blueprint::Blueprint> blueprint;  // set when problems is empty
  std::vector<Origin> shot_origins;               // per blueprint shot: the item it came from
  int64_t frames = 0;                             // round(timeline duration × fps)
  std::vector<Problem> problems;
  std::vector<Problem> notes;
  bool ok() const { return blueprint.has_value() && problems.empty(); }
};

// REQUIRES: the timeline was read without problems and conformed (clips have a media_path, or
// media_missing under the slate policy).
Lowered lower(const Timeline& timeline, const LowerOptions& options);

}  // namespace leancut::interchange
