#include "engine/timeline.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <system_error>

#include "time/time_range.h"

namespace leancut::engine {
namespace {

std::string shot_path(std::size_t i, const char* field) {
  return "shots[" + std::to_string(i) + "]." + field;
}

media::FitMode to_fit_mode(blueprint::Fit fit) {
  switch (fit) {
    case blueprint::Fit::Fill:
      return media::FitMode::Fill;
    case blueprint::Fit::Stretch:
      return media::FitMode::Stretch;
    case blueprint::Fit::Fit:
      break;
  }
  return media::FitMode::Fit;
}

// Seconds for a time reference in a source with the given nominal frame rate.
Result<Rational> to_seconds(const blueprint::TimeRef& t, Rational source_rate) {
  if (const auto* seconds = std::get_if<Rational>(&t)) return *seconds;
  return timecode_to_seconds(std::get<Timecode>(t), source_rate);
}

// The transition into tl.shots[j] from tl.shots[j - 1] (blueprint shots `b.index - 1` and
// `b.index`): its frames on the output grid, and the media a dissolve needs past the cut on each
// side. Problems name the transition and both shots.
void resolve_transition(Timeline& tl, std::size_t j, const blueprint::Transition& t,
                        std::vector<blueprint::Diagnostic>& diagnostics) {
  const Rational fps = tl.output.fps;
  ResolvedShot& b = tl.shots[j];
  const ResolvedShot& a = tl.shots[j - 1];
  const std::string where = shot_path(static_cast<std::size_t>(b.index), "transition");
  const std::string a_name = "shots[" + std::to_string(a.index) + "]";
  const std::string b_name = "shots[" + std::to_string(b.index) + "]";
  ResolvedTransition rt;
  rt.kind = t.kind;
  rt.color = t.color;
  if (t.frames || t.duration) {
    const int64_t n = t.frames ? *t.frames : frame_count(TimeRange{Rational{0}, *t.duration}, fps);
    if (n <= 0) {
      diagnostics.push_back({where, t.duration->to_seconds_string() +
                                        " is shorter than one output frame (" +
                                        (Rational{1} / fps).to_seconds_string() + ")"});
      return;
    }
    rt.before = n / 2;
    rt.after = n - rt.before;
  } else {
    rt.before = frame_index_at(*t.before, fps);
    rt.after = frame_index_at(*t.after, fps);
    if (rt.before + rt.after <= 0) {
      diagnostics.push_back({where, "before + after is shorter than one output frame (" +
                                        (Rational{1} / fps).to_seconds_string() + ")"});
      return;
    }
  }
  const auto seconds = [&](int64_t frames) { return frame_time(frames, fps).to_seconds_string(); };
  // The shot before may also end a transition of its own at its start.
  const int64_t a_free = a.frame_count - (a.transition_in ? a.transition_in->after : 0);
  bool ok = true;
  if (rt.before > a_free) {
    diagnostics.push_back(
        {where, "starts " + seconds(rt.before) + " before the cut, but " + a_name + " has only " +
                    seconds(a_free) +
                    (a_free == a.frame_count ? "" : " after its own transition")});
    ok = false;
  }
  if (rt.after > b.frame_count) {
    diagnostics.push_back({where, "ends " + seconds(rt.after) + " after the cut, but " + b_name +
                                      " is only " + seconds(b.frame_count) + " long"});
    ok = false;
  }
  if (ok && rt.is_dissolve()) {
    // Handles: media past the outgoing shot's out point and ahead of the incoming one's in point.
    // A frozen, colour or still shot shows the same picture however long it runs.
    if (rt.after > 0 && a.has_source() && !a.freeze) {
      const media::ProbeInfo& probe = tl.sources[static_cast<std::size_t>(a.source)];
      const Rational needed = a.slot_time(a.frame_count + rt.after - 1, fps);
      if (needed >= probe.video->duration) {
        diagnostics.push_back(
            {where, "the dissolve needs " + display_path(probe.path) + " up to " +
                        (a.slot_time(a.frame_count + rt.after, fps)).to_seconds_string() + " (" +
                        seconds(rt.after) + " past " + a_name + "'s out point, " +
                        a.out.to_seconds_string() + "), but it ends at " +
                        probe.video->duration.to_seconds_string()});
        ok = false;
      }
    }
    if (rt.before > 0 && b.has_source() && !b.freeze && b.source_first_frame < rt.before) {
      const media::ProbeInfo& probe = tl.sources[static_cast<std::size_t>(b.source)];
      diagnostics.push_back({where, "the dissolve needs " + display_path(probe.path) + " from " +
                                        b.slot_time(-rt.before, fps).to_seconds_string() + " (" +
                                        seconds(rt.before) + " before " + b_name + "'s in point, " +
                                        b.in.to_seconds_string() + "), but it starts at 0s"});
      ok = false;
    }
  }
  if (ok) b.transition_in = rt;
}

}  // namespace

Rational ResolvedShot::slot_time(int64_t k, Rational fps) const {
  const int64_t slot = source_first_frame + (freeze ? 0 : k);
  return speed == Rational{1} ? frame_time(slot, fps) : frame_time(slot, fps / speed);
}

std::string display_path(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::path rel = std::filesystem::relative(p, std::filesystem::current_path(ec), ec);
  if (ec || rel.empty() || rel.native().rfind("..", 0) == 0) return p.string();
  return rel.string();
}

ResolveResult resolve_timeline(const blueprint::Blueprint& bp, const std::vector<bool>* only,
                               media::ProbeCache* probes) {
  ResolveResult result;
  Timeline tl;
  tl.output = bp.output;
  const Rational fps = bp.output.fps;
  const int64_t sample_rate = bp.output.audio.sample_rate;

  // Each distinct source is probed once, however many shots cut it: by the probe cache when
  // there is one (every shot asks it, so its hit rate shows the reuse), else by this index.
  std::map<std::filesystem::path, int> source_index;
  std::map<std::filesystem::path, Error> source_error;
  std::map<std::filesystem::path, Result<media::ImageInfo>> images;

  // Appends a shot after the ones placed so far.
  const auto place = [&](ResolvedShot& rs) {
    rs.timeline_first_frame = tl.total_frames;
    tl.total_frames += rs.frame_count;
    // Audio boundaries sit on the output's frame boundaries, computed from cumulative frame
    // counts: sample_at(frames / fps). Rounding never accumulates.
    rs.timeline_first_sample = sample_at(frame_time(rs.timeline_first_frame, fps), sample_rate);
    const int64_t end_sample = sample_at(frame_time(tl.total_frames, fps), sample_rate);
    rs.sample_count = end_sample - rs.timeline_first_sample;
    tl.total_samples = end_sample;
    tl.shots.push_back(rs);
  };

  for (std::size_t i = 0; i < bp.shots.size(); ++i) {
    if (only != nullptr && (i >= only->size() || !(*only)[i])) continue;
    const blueprint::Shot& shot = bp.shots[i];
    if (shot.is_colour()) {
      ResolvedShot rs;
      rs.index = static_cast<int>(i);
      rs.source = kNoSource;
      rs.color = *shot.color;
      rs.texts = shot.texts;
      rs.in = Rational{0};
      rs.out = shot.duration;
      rs.take_audio = false;
      rs.frame_count = frame_count(TimeRange{Rational{0}, shot.duration}, fps);
      if (rs.frame_count <= 0) {
        result.diagnostics.push_back(
            {shot_path(i, "duration"), shot.duration.to_seconds_string() +
                                           " is shorter than one output frame (" +
                                           (Rational{1} / fps).to_seconds_string() + ")"});
        continue;
      }
      place(rs);
      continue;
    }
    if (shot.is_still()) {
      ResolvedShot rs;
      rs.index = static_cast<int>(i);
      rs.source = kNoSource;
      rs.in = Rational{0};
      rs.out = shot.duration;
      rs.take_audio = false;
      rs.fit = to_fit_mode(shot.fit);
      rs.frame_count = frame_count(TimeRange{Rational{0}, shot.duration}, fps);
      bool ok = true;
      if (rs.frame_count <= 0) {
        result.diagnostics.push_back(
            {shot_path(i, "duration"), shot.duration.to_seconds_string() +
                                           " is shorter than one output frame (" +
                                           (Rational{1} / fps).to_seconds_string() + ")"});
        ok = false;
      }
      // Each distinct image is decoded once, however many shots show it.
      auto known_image = images.find(shot.image);
      if (known_image == images.end()) {
        std::error_code ec;
        Result<media::ImageInfo> probe =
            !std::filesystem::exists(shot.image, ec)
                ? Result<media::ImageInfo>{make_error(ErrorCode::NotFound,
                                                      display_path(shot.image) + ": no such file")}
            : access(shot.image.c_str(), R_OK) != 0
                ? Result<media::ImageInfo>{make_error(
                      ErrorCode::NotFound,
                      display_path(shot.image) + ": not readable (permission denied)")}
                : media::probe_image(shot.image);
        known_image = images.emplace(shot.image, std::move(probe)).first;
      }
      if (!known_image->second) {
        result.diagnostics.push_back({shot_path(i, "image"), known_image->second.error().message});
        ok = false;
      }
      if (!ok) continue;
      rs.image = known_image->second.value();
      rs.texts = shot.texts;
      place(rs);
      continue;
    }
    if (auto bad = source_error.find(shot.source); bad != source_error.end()) {
      result.diagnostics.push_back({shot_path(i, "source"), bad->second.message});
      continue;
    }
    auto known = source_index.find(shot.source);
    if (known == source_index.end() || probes != nullptr) {
      std::error_code ec;
      Result<media::ProbeInfo> probe =
          !std::filesystem::exists(shot.source, ec)
              ? Result<media::ProbeInfo>{make_error(ErrorCode::NotFound,
                                                    display_path(shot.source) + ": no such file")}
          : access(shot.source.c_str(), R_OK) != 0
              ? Result<media::ProbeInfo>{make_error(
                    ErrorCode::NotFound,
                    display_path(shot.source) + ": not readable (permission denied)")}
          : probes != nullptr ? probes->probe(shot.source)
                              : media::probe_file(shot.source);
      if (!probe) {
        // A remote source's problem names its URL first (the message names the cached file).
        const Error e = blueprint::is_remote_source(shot.source_text)
                            ? probe.error().with_context(shot.source_text)
                            : probe.error();
        source_error.emplace(shot.source, e);
        result.diagnostics.push_back({shot_path(i, "source"), e.message});
        continue;
      }
      if (known == source_index.end()) {
        known = source_index.emplace(shot.source, static_cast<int>(tl.sources.size())).first;
        tl.sources.push_back(std::move(probe).value());
      }
    }
    const int src = known->second;
    const media::ProbeInfo& probe = tl.sources[src];
    const media::VideoInfo& video = *probe.video;

    Result<Rational> in = to_seconds(shot.in, video.frame_rate);
    Result<Rational> out = to_seconds(shot.out, video.frame_rate);
    if (!in) result.diagnostics.push_back({shot_path(i, "in"), in.error().message});
    if (!out) result.diagnostics.push_back({shot_path(i, "out"), out.error().message});
    if (!in || !out) continue;

    // A remote source is named by its URL, not by the asset cache's file for it.
    const std::string where =
        blueprint::is_remote_source(shot.source_text) ? shot.source_text : display_path(probe.path);
    bool ok = true;
    if (*in >= video.duration) {
      result.diagnostics.push_back(
          {shot_path(i, "in"), in->to_seconds_string() + " is past the end of " + where + " (" +
                                   video.duration.to_seconds_string() + ")"});
      ok = false;
    }
    if (*out > video.duration) {
      result.diagnostics.push_back(
          {shot_path(i, "out"), out->to_seconds_string() + " is past the end of " + where + " (" +
                                    video.duration.to_seconds_string() + ")"});
      ok = false;
    }
    if (*in >= *out) {
      result.diagnostics.push_back(
          {shot_path(i, "out"),
           out->to_seconds_string() + " must be after in (" + in->to_seconds_string() + ")"});
      ok = false;
    }
    if (!ok) continue;

    ResolvedShot rs;
    rs.index = static_cast<int>(i);
    rs.source = src;
    rs.in = *in;
    rs.out = *out;
    rs.texts = shot.texts;
    rs.speed = shot.speed;
    rs.freeze = shot.freeze;
    rs.gain = std::pow(10.0, shot.gain_db.to_double() / 20.0);
    // The shot's grid in the source: output frames at speed s are s/fps apart there.
    const Rational grid = fps / shot.speed;
    rs.source_first_frame = frame_index_at(*in, grid);
    rs.frame_count = frame_count(TimeRange{*in, *out}, grid);
    if (rs.frame_count <= 0) {
      result.diagnostics.push_back(
          {shot_path(i, "out"), "the shot [" + in->to_seconds_string() + ", " +
                                    out->to_seconds_string() +
                                    ") is shorter than one output frame (" +
                                    (Rational{1} / fps).to_seconds_string() + ")"});
      continue;
    }
    rs.fit = to_fit_mode(shot.fit);
    rs.focus_x = shot.focus.x;
    rs.focus_y = shot.focus.y;
    rs.take_audio = shot.audio && !shot.freeze && probe.audio.has_value();
    place(rs);
  }
  // Transitions, once both shots of each are placed (a partial resolution skips any whose shots
  // were not).
  for (std::size_t j = 1; j < tl.shots.size(); ++j) {
    const blueprint::Shot& shot = bp.shots[static_cast<std::size_t>(tl.shots[j].index)];
    if (shot.transition && tl.shots[j - 1].index + 1 == tl.shots[j].index) {
      resolve_transition(tl, j, *shot.transition, result.diagnostics);
    }
  }
  // Beds: each source probed once like the shots' (and shared with them), placed on the output's
  // sample grid once the shots have fixed its length.
  for (std::size_t i = 0; i < bp.audio.size() && only == nullptr; ++i) {
    const blueprint::AudioClip& clip = bp.audio[i];
    const auto at = [&](const char* field) { return "audio[" + std::to_string(i) + "]." + field; };
    if (auto bad = source_error.find(clip.source); bad != source_error.end()) {
      result.diagnostics.push_back({at("source"), bad->second.message});
      continue;
    }
    auto known = source_index.find(clip.source);
    if (known == source_index.end()) {
      std::error_code ec;
      Result<media::ProbeInfo> probe =
          !std::filesystem::exists(clip.source, ec)
              ? Result<media::ProbeInfo>{make_error(ErrorCode::NotFound,
                                                    display_path(clip.source) + ": no such file")}
          : probes != nullptr ? probes->probe(clip.source)
                              : media::probe_file(clip.source);
      // A bed reads only audio: a music file without pictures is fine here.
      if (!probe && probe.error().message.find("has no video stream") != std::string::npos) {
        probe = media::probe_audio_file(clip.source);
      }
      if (!probe) {
        source_error.emplace(clip.source, probe.error());
        result.diagnostics.push_back({at("source"), probe.error().message});
        continue;
      }
      known = source_index.emplace(clip.source, static_cast<int>(tl.sources.size())).first;
      tl.sources.push_back(std::move(probe).value());
    }
    const media::ProbeInfo& probe = tl.sources[known->second];
    const std::string where = display_path(probe.path);
    if (!probe.audio) {
      result.diagnostics.push_back({at("source"), where + " has no audio stream"});
      continue;
    }
    const Rational end = probe.audio->duration;
    const Rational out = clip.out.value_or(end);
    bool ok = true;
    if (clip.in >= end) {
      result.diagnostics.push_back({at("in"), clip.in.to_seconds_string() + " is past the end of " +
                                                  where + "'s audio (" + end.to_seconds_string() +
                                                  ")"});
      ok = false;
    } else if (out > end) {
      result.diagnostics.push_back({at("out"), out.to_seconds_string() + " is past the end of " +
                                                   where + "'s audio (" + end.to_seconds_string() +
                                                   ")"});
      ok = false;
    }
    const Rational timeline_end = frame_time(tl.total_frames, fps);
    if (clip.at >= timeline_end) {
      result.diagnostics.push_back({at("at"), clip.at.to_seconds_string() +
                                                  " is at or past the end of the timeline (" +
                                                  timeline_end.to_seconds_string() + ")"});
      ok = false;
    }
    if (!ok) continue;
    const Rational pass = out - clip.in;
    if (clip.duration && !clip.loop && *clip.duration > pass) {
      result.diagnostics.push_back(
          {at("duration"), clip.duration->to_seconds_string() + " is longer than [in, out) (" +
                               pass.to_seconds_string() + "); set \"loop\": true to repeat it"});
      continue;
    }
    const Rational length = clip.duration.value_or(clip.loop ? timeline_end - clip.at : pass);
    if (clip.fade_in + clip.fade_out > length) {
      result.diagnostics.push_back(
          {at("fade_out"), "fade_in + fade_out (" +
                               (clip.fade_in + clip.fade_out).to_seconds_string() +
                               ") is longer than the clip (" + length.to_seconds_string() + ")"});
      continue;
    }
    ResolvedBed bed;
    bed.index = static_cast<int>(i);
    bed.source = known->second;
    bed.in = clip.in;
    bed.first_sample = sample_at(clip.at, sample_rate);
    // What runs past the timeline's end is cut there, as a video would end the sound.
    bed.sample_count =
        std::min(sample_at(clip.at + length, sample_rate), tl.total_samples) - bed.first_sample;
    bed.period = sample_at(pass, sample_rate);
    // A clip that plays once is one pass, even when rounding its place on the grid gave it a
    // sample more than round((out − in) × rate): no second pass of one sample.
    if (!clip.loop) bed.period = std::max(bed.period, bed.sample_count);
    bed.gain = std::pow(10.0, clip.gain_db.to_double() / 20.0);
    bed.fade_in = sample_at(clip.fade_in, sample_rate);
    bed.fade_out = sample_at(clip.fade_out, sample_rate);
    bed.duck = clip.duck;
    if (bed.sample_count <= 0 || bed.period <= 0) {
      result.diagnostics.push_back({at("out"), "the clip is shorter than one sample"});
      continue;
    }
    tl.beds.push_back(bed);
  }
  // (A partial blueprint's empty shots were already reported by the parser.)
  if (bp.shots.empty() && only == nullptr) {
    result.diagnostics.push_back({"shots", "must have at least one shot"});
  }
  if (result.diagnostics.empty() && only == nullptr) result.timeline = std::move(tl);
  return result;
}

}  // namespace leancut::engine
