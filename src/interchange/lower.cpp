#include "interchange/lower.h"

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

// Picks the video track to render, or says why none can be.
std::optional<size_t> choose_track(const Timeline& timeline, const LowerOptions& options,
                                   std::vector<Problem>& problems, std::vector<Problem>& notes) {
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
    return chosen;
  }
  if (with_clips.size() > 1) {
    // Name every track that would need compositing: the user sees the whole cut's shape at once.
    for (size_t k = 1; k < with_clips.size(); ++k) {
      const size_t i = with_clips[k];
      problems.push_back(
          {video[i].origin,
           "video track " + track_label(video[i], i) + " has clips over track " +
               track_label(video[with_clips[0]], with_clips[0]) +
               ": compositing several video tracks is not supported yet; render one of them "
               "with --video-track N (1 is the bottom track)"});
    }
    return std::nullopt;
  }
  return with_clips.empty() ? 0 : with_clips[0];
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
  const std::optional<size_t> chosen = choose_track(timeline, options, out.problems, out.notes);
  if (!chosen) return out;
  const Track& track = timeline.video[*chosen];

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
                         ": dissolves cannot be rendered yet; --transitions cut renders each as a "
                         "cut at its centre"});
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
                             track_label(track, *chosen)});
  }
  if (!out.problems.empty()) return out;

  const Rational fps = options.output.fps;
  blueprint::Blueprint bp;
  bp.output = options.output;
  bp.base_dir = timeline.base_dir;
  for (const Segment& s : segments) {
    // Boundaries on the output grid at round(t × fps): consecutive shots share them, so the
    // frame counts telescope to round(total × fps). An item shorter than half a frame may get
    // none; it is dropped rather than refused.
    const int64_t first = frame_index_at(s.start, fps);
    const int64_t frames = frame_index_at(s.end, fps) - first;
    if (frames <= 0) continue;
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
