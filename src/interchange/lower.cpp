#include "interchange/lower.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "time/time_range.h"

namespace leancut::interchange {
namespace {

// A stretch of the rendered track in record time (seconds from the track's start, exact),
// before it is put on the output's frame grid.
struct Segment {
  enum class Kind { Clip, Black, Slate };
  Kind kind = Kind::Black;
  Rational start;
  Rational end;
  const Clip* clip = nullptr;  // Clip and Slate
  // Clip: the media time (seconds from the file's first frame) shown at `start`.
  Rational media_at_start;
  Origin origin;
  const Transition* transition_in = nullptr;  // rendered: the dissolve into this segment
};

std::string describe(const Item& item) {
  if (const auto* c = std::get_if<Clip>(&item)) {
    return "clip \"" + c->name + "\" (" + c->origin + ")";
  }
  return "a gap (" + item_origin(item) + ")";
}

std::string track_label(const Track& track, size_t index) {
  std::string label = "V" + std::to_string(index + 1);
  if (!track.name.empty() && track.name != label) label += " \"" + track.name + "\"";
  return label;
}

// Picks the video tracks to render, bottom first: the one --video-track names, else every track
// with clips (they composite top over bottom); or says why none can be.
std::optional<std::vector<size_t>> choose_tracks(const Timeline& timeline,
                                                 const LowerOptions& options,
                                                 std::vector<Problem>& problems,
                                                 std::vector<Problem>& notes) {
  const std::vector<Track>& video = timeline.video;
  if (video.empty()) {
    problems.push_back({"",
                        "the timeline has no video track; audio-only cuts cannot be "
                        "rendered yet"});
    return std::nullopt;
  }
  std::vector<size_t> with_clips;
  for (size_t i = 0; i < video.size(); ++i) {
    for (const Item& item : video[i].items) {
      if (std::holds_alternative<Clip>(item)) {
        with_clips.push_back(i);
        break;
      }
    }
  }
  if (options.video_track) {
    const int n = *options.video_track;
    if (n < 1 || static_cast<size_t>(n) > video.size()) {
      problems.push_back({"", "--video-track " + std::to_string(n) + ": the timeline has " +
                                  std::to_string(video.size()) + " video track" +
                                  (video.size() == 1 ? "" : "s") + " (1 is the bottom one)"});
      return std::nullopt;
    }
    const size_t chosen = static_cast<size_t>(n - 1);
    for (size_t i : with_clips) {
      if (i != chosen) {
        notes.push_back({video[i].origin, "video track " + track_label(video[i], i) +
                                              " is not rendered (--video-track " +
                                              std::to_string(n) + ")"});
      }
    }
    return std::vector<size_t>{chosen};
  }
  if (with_clips.size() > 1) {
    std::string labels;
    for (size_t i : with_clips) {
      labels += (labels.empty() ? "" : ", ") + track_label(video[i], i);
    }
    notes.push_back({video[with_clips.back()].origin,
                     "video tracks " + labels +
                         " composite top over bottom: where an upper track has a clip it covers "
                         "the tracks below, its gaps show them (OTIO clips are opaque and "
                         "full-frame); --video-track N renders one alone"});
  }
  if (with_clips.empty()) return std::vector<size_t>{0};
  return with_clips;
}

// One video track's items as segments in record time, with its transitions applied as the
// policy says (kept as the blueprint's, moved to a cut, or refused).
std::vector<Segment> track_segments(const Track& track, const LowerOptions& options, Lowered& out) {
  // Items -> segments in record time; transitions remembered by the boundary they sit on (the
  // index of the segment after them).
  std::vector<Segment> segments;
  struct Boundary {
    size_t next;  // the segment after the transition
    const Transition* transition;
    const Item* before;
    const Item* after;
  };
  std::vector<Boundary> transitions;
  Rational position{0};
  for (size_t i = 0; i < track.items.size(); ++i) {
    const Item& item = track.items[i];
    if (const auto* t = std::get_if<Transition>(&item)) {
      // check_structure guarantees a transition sits between two items.
      const Item* before = i > 0 ? &track.items[i - 1] : nullptr;
      const Item* after = i + 1 < track.items.size() ? &track.items[i + 1] : nullptr;
      transitions.push_back({segments.size(), t, before, after});
      continue;
    }
    Segment s;
    s.start = position;
    s.end = position + item_duration(item);
    s.origin = item_origin(item);
    if (const auto* c = std::get_if<Clip>(&item)) {
      s.clip = c;
      s.kind = c->media_missing ? Segment::Kind::Slate : Segment::Kind::Clip;
      // OTIO times a clip's media from the media's available range start (often the source
      // timecode, 86400 s for 01:00:00:00 at 24 fps); the file's first frame is that start.
      s.media_at_start =
          c->media_range().start - (c->available_range ? c->available_range->start : Rational{0});
    }
    segments.push_back(std::move(s));
    position = segments.back().end;
  }
  for (const Boundary& b : transitions) {
    const Transition& t = *b.transition;
    const std::string between = (b.before ? describe(*b.before) : std::string("nothing")) +
                                " and " + (b.after ? describe(*b.after) : std::string("nothing"));
    if (options.transitions == TransitionPolicy::Refuse || b.next == 0 ||
        b.next >= segments.size()) {
      out.problems.push_back(
          {t.origin, "dissolve (" + t.written_as + ") between " + between +
                         ": refused (--transitions refuse); the default renders it, --transitions "
                         "cut makes it a cut at its centre"});
      continue;
    }
    if (options.transitions == TransitionPolicy::Render) {
      // The cut stays where it is; the blueprint's transition carries OTIO's offsets and the
      // engine reads the handles past both sides of it.
      segments[b.next].transition_in = &t;
      continue;
    }
    // The transition runs from in_offset before the cut to out_offset after it; its centre is
    // (out_offset - in_offset) / 2 after the cut. Both neighbours have media there: the handles
    // a dissolve needs are longer than half of it.
    const Rational shift = (t.out_offset - t.in_offset) * Rational{1, 2};
    Segment& before = segments[b.next - 1];
    Segment& after = segments[b.next];
    before.end += shift;
    after.start += shift;
    if (after.kind == Segment::Kind::Clip && after.clip->effect.kind != TimeEffect::Kind::Freeze) {
      after.media_at_start += shift * after.clip->effect.speed;
    }
    out.notes.push_back({t.origin, "dissolve between " + between +
                                       " rendered as a cut at its centre (--transitions cut)"});
  }
  for (const Segment& s : segments) {
    if (s.end < s.start) {
      out.problems.push_back(
          {s.origin,
           "the transitions at both ends of this item overlap once rendered as cuts "
           "at their centres"});
    }
  }

  return segments;
}

// Several tracks' segments (bottom first) flattened into one: at every moment the topmost
// segment that is not black shows (a clip or a slate), as OTIO's flatten_stack does. A segment
// cut into by an upper track continues from the media time where it shows again; a dissolve
// stays only where both its sides still meet, else it becomes a cut (a note says so).
std::vector<Segment> flatten(const std::vector<std::vector<Segment>>& layers, Lowered& out) {
  std::vector<Rational> edges;
  for (const auto& layer : layers) {
    for (const Segment& s : layer) {
      edges.push_back(s.start);
      edges.push_back(s.end);
    }
  }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());

  struct Piece {
    size_t layer = 0;
    size_t index = 0;  // in its layer; SIZE_MAX for black where no layer has anything
  };
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<Segment> flat;
  std::vector<Piece> pieces;
  // Each layer's segments are in time order and the edges ascend: one cursor per layer walks
  // them once, so flattening is linear in the segments, whatever the cut's length.
  std::vector<size_t> cursor(layers.size(), 0);
  for (size_t e = 0; e + 1 < edges.size(); ++e) {
    const Rational t0 = edges[e];
    const Rational t1 = edges[e + 1];
    Piece piece{0, kNone};
    for (size_t l = 0; l < layers.size(); ++l) {
      while (cursor[l] < layers[l].size() && layers[l][cursor[l]].end <= t0) ++cursor[l];
    }
    for (size_t l = layers.size(); l-- > 0;) {
      const size_t i = cursor[l];
      if (i < layers[l].size() && layers[l][i].start <= t0 &&
          layers[l][i].kind != Segment::Kind::Black) {
        piece = {l, i};
        break;
      }
    }
    if (!pieces.empty() && pieces.back().layer == piece.layer &&
        pieces.back().index == piece.index) {
      flat.back().end = t1;  // the same segment goes on
      continue;
    }
    Segment s;
    if (piece.index == kNone) {
      s.start = t0;
      s.end = t1;
      s.origin = layers.front().empty() ? Origin{} : layers.front().front().origin;
    } else {
      const Segment& whole = layers[piece.layer][piece.index];
      s = whole;
      s.start = t0;
      s.end = t1;
      if (s.kind == Segment::Kind::Clip && s.clip->effect.kind != TimeEffect::Kind::Freeze) {
        const Rational speed = s.clip->effect.kind == TimeEffect::Kind::LinearSpeed
                                   ? s.clip->effect.speed
                                   : Rational{1};
        s.media_at_start = whole.media_at_start + (t0 - whole.start) * speed;
      }
      // A dissolve into this segment survives only if it starts here, right after the segment
      // it comes from on the same track.
      if (s.transition_in != nullptr) {
        const bool meets = t0 == whole.start && !pieces.empty() &&
                           pieces.back().layer == piece.layer &&
                           pieces.back().index + 1 == piece.index;
        if (!meets) {
          out.notes.push_back({s.transition_in->origin,
                               "this dissolve is covered by an upper track's clip at one side: "
                               "rendered as a cut"});
          s.transition_in = nullptr;
        }
      }
    }
    flat.push_back(std::move(s));
    pieces.push_back(piece);
  }
  return flat;
}

// The audio tracks' clips become the blueprint's audio beds, all tracks summed: each clip at its
// place in its track, reading its media range. The picture's shots then go silent, since in an
// OTIO cut the sound lives on the audio tracks (the video clips' own audio is not part of it);
// a cut without audio clips keeps each shot's own audio, the useful reading of a picture-only
// cut. Audio transitions (crossfades) are played as cuts: a bed's clips abut at the cut.
void lower_audio_tracks(const Timeline& timeline, Lowered& out, blueprint::Blueprint& bp) {
  std::vector<blueprint::AudioClip> beds;
  for (size_t t = 0; t < timeline.audio.size(); ++t) {
    const Track& track = timeline.audio[t];
    Rational position{0};
    for (const Item& item : track.items) {
      if (const auto* tr = std::get_if<Transition>(&item)) {
        out.notes.push_back(
            {tr->origin, "audio crossfade (" + tr->written_as + ") played as a cut"});
        continue;
      }
      const Rational start = position;
      position += item_duration(item);
      const auto* c = std::get_if<Clip>(&item);
      if (c == nullptr) continue;  // a gap: silence
      if (c->media_missing) {
        out.notes.push_back(
            {c->origin, "audio clip \"" + c->name + "\" has no media: silence in its place"});
        continue;
      }
      if (c->effect.kind != TimeEffect::Kind::None) {
        out.problems.push_back({c->origin, "audio clip \"" + c->name +
                                               "\": speed changes and freezes on audio tracks "
                                               "cannot be rendered yet"});
        continue;
      }
      if (c->duration() <= Rational{0}) continue;
      blueprint::AudioClip bed;
      bed.source_text = c->media_path;
      bed.source = c->media_path;
      bed.at = start;
      // Media time from the file's first frame, as for the shots.
      bed.in =
          c->media_range().start - (c->available_range ? c->available_range->start : Rational{0});
      if (bed.in < Rational{0}) {
        out.problems.push_back({c->origin, "the audio clip starts " +
                                               (-bed.in).to_seconds_string() +
                                               " before its media's start"});
        continue;
      }
      bed.out = bed.in + c->duration();
      beds.push_back(std::move(bed));
    }
  }
  if (beds.empty()) return;
  for (blueprint::Shot& shot : bp.shots) shot.audio = false;
  out.notes.push_back({timeline.audio.front().origin,
                       std::to_string(beds.size()) + " audio clip" + (beds.size() == 1 ? "" : "s") +
                           " from " + std::to_string(timeline.audio.size()) + " audio track" +
                           (timeline.audio.size() == 1 ? "" : "s") +
                           " mixed under the picture; the video clips' own audio is not used"});
  bp.audio = std::move(beds);
}

}  // namespace

Lowered lower(const Timeline& timeline, const LowerOptions& options) {
  Lowered out;
  const std::optional<std::vector<size_t>> chosen =
      choose_tracks(timeline, options, out.problems, out.notes);
  if (!chosen) return out;
  std::vector<std::vector<Segment>> layers;
  for (size_t i : *chosen) layers.push_back(track_segments(timeline.video[i], options, out));
  const Track& track = timeline.video[chosen->back()];
  std::vector<Segment> segments =
      layers.size() == 1 ? std::move(layers.front()) : flatten(layers, out);
  Rational position = segments.empty() ? Rational{0} : segments.back().end;

  // The timeline lasts as long as its longest track (an audio track, another video track): black
  // fills the rest so the render is exactly as long as the cut.
  const Rational total = timeline.duration();
  if (position < total) {
    Segment tail;
    tail.start = position;
    tail.end = total;
    tail.origin = track.origin;
    segments.push_back(tail);
    out.notes.push_back({track.origin,
                         "black fills the end: the timeline is longer than video "
                         "track " +
                             track_label(track, chosen->back())});
  }
  if (!out.problems.empty()) return out;

  const Rational fps = options.output.fps;
  blueprint::Blueprint bp;
  bp.output = options.output;
  bp.base_dir = timeline.base_dir;
  bool previous_emitted = false;  // the segment before this one became a shot
  for (const Segment& s : segments) {
    // Boundaries on the output grid at round(t × fps): consecutive shots share them, so the
    // frame counts telescope to round(total × fps). An item shorter than half a frame may get
    // none; it is dropped rather than refused.
    const int64_t first = frame_index_at(s.start, fps);
    const int64_t frames = frame_index_at(s.end, fps) - first;
    if (frames <= 0) {
      previous_emitted = false;
      continue;
    }
    blueprint::Shot shot;
    if (s.kind == Segment::Kind::Clip) {
      const Clip& c = *s.clip;
      shot.source_text = c.media_path;
      shot.source = c.media_path;
      shot.name = c.name;
      if (c.effect.kind == TimeEffect::Kind::Freeze) {
        // The engine holds the picture at `in` for out - in seconds.
        shot.freeze = true;
        shot.in = s.media_at_start;
        shot.out = s.media_at_start + frame_time(frames, fps);
      } else {
        const Rational speed =
            c.effect.kind == TimeEffect::Kind::LinearSpeed ? c.effect.speed : Rational{1};
        shot.speed = speed;
        // The media shown at the shot's first output frame; `out` is `frames` slots of the
        // shot's source grid (speed / fps apart) later, so the engine's round(out × fps / s) −
        // round(in × fps / s) is exactly `frames`.
        const Rational in = s.media_at_start + (frame_time(first, fps) - s.start) * speed;
        if (in < Rational{0}) {
          out.problems.push_back({s.origin, "the clip starts " + (-in).to_seconds_string() +
                                                " before its media's first frame"});
          continue;
        }
        shot.in = in;
        shot.out = in + frame_time(frames, fps) * speed;
      }
    } else {
      // A generator shot: black for a gap, a dark grey slate for missing media.
      const bool slate = s.kind == Segment::Kind::Slate;
      shot.color = slate ? kSlateColour : blueprint::Rgb{0, 0, 0};
      shot.color_text = slate ? "#404040" : "black";
      shot.duration = frame_time(frames, fps);
      if (s.clip != nullptr) {
        shot.name = "missing: " + s.clip->name;
        // A labelled slate: whoever watches the conform check sees what is missing there.
        blueprint::TextOverlay title;
        title.text = "MISSING: " + (s.clip->name.empty() ? s.clip->media_path : s.clip->name);
        title.position = "center";
        blueprint::TextOverlay path;
        path.text = s.clip->media_path;
        path.size = 0;  // the default, a fifteenth of the height
        path.position = "point";
        path.x = Rational{1, 2};
        path.y = Rational{2, 3};
        shot.texts = {title, path};
      }
    }
    if (s.transition_in != nullptr) {
      if (bp.shots.empty() || !previous_emitted) {
        out.problems.push_back({s.transition_in->origin,
                                "the dissolve sits next to an item shorter than one frame at " +
                                    fps.to_string() + " fps"});
      } else {
        blueprint::Transition t;
        t.kind = blueprint::TransitionKind::Dissolve;
        t.before = s.transition_in->in_offset;
        t.after = s.transition_in->out_offset;
        shot.transition = t;
      }
    }
    previous_emitted = true;
    bp.shots.push_back(std::move(shot));
    out.shot_origins.push_back(s.origin);
    out.frames += frames;
  }
  if (bp.shots.empty() && out.problems.empty()) {
    out.problems.push_back(
        {"", "the timeline is shorter than one frame at " + fps.to_string() + " fps"});
  }
  lower_audio_tracks(timeline, out, bp);
  if (out.problems.empty()) out.blueprint = std::move(bp);
  return out;
}

}  // namespace leancut::interchange
