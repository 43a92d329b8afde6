#include "render_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <sstream>

#include "blueprint/parse.h"
#include "engine/timeline.h"
#include "support/frame_code.h"
#include "support/test_media_env.h"

namespace leancut::testing {
namespace {

// Audio windows stay this many samples away from a shot's boundaries (three AAC frames: the
// encoder's overlap smears a cut over about two).
constexpr int64_t kBoundaryMargin = 3 * 1024;
constexpr int64_t kWindow = 4096;
// Source audio this close to where it ends is neither required to be tone nor silence.
constexpr double kAudioEndSlack = 0.1;
constexpr double kSilenceRms = 1e-3;
// How far (modulo the tone's period) the audio may sit from the source position the time rules
// give: a few samples, for resampling and codec phase response.
constexpr double kMaxSyncError_s = 0.25e-3;

}  // namespace

TestShot shot(const std::string& file, const std::string& in, const std::string& out,
              const std::string& fit, bool audio) {
  return TestShot{file, in, out, q_from_decimal(in), q_from_decimal(out), fit, audio};
}

std::vector<ExpectedShot> expected_shots(const RenderCase& c) {
  std::vector<ExpectedShot> out;
  const Q fps = c.output.fps;
  auto sample_at_frame = [&](int64_t frame) {
    return round_half_up(mul(div(Q{frame, 1}, fps), Q{c.output.sample_rate, 1}));
  };
  int64_t cumulative = 0;
  for (const TestShot& s : c.shots) {
    ExpectedShot e;
    e.source_first_frame = round_half_up(mul(s.in, fps));
    e.frame_count = round_half_up(mul(s.out, fps)) - e.source_first_frame;
    e.first_frame = cumulative;
    e.first_sample = sample_at_frame(cumulative);
    e.sample_count = sample_at_frame(cumulative + e.frame_count) - e.first_sample;
    cumulative += e.frame_count;
    out.push_back(e);
  }
  return out;
}

std::string blueprint_json(const RenderCase& c) {
  std::ostringstream j;
  j << R"({"version": 1, "output": {"width": )" << c.output.width << R"(, "height": )"
    << c.output.height << R"(, "fps": )" << c.output.fps_json << R"(, "video": {"preset": ")"
    << c.output.preset << R"(", "crf": 23})"
    << R"(, "audio": {"sample_rate": )" << c.output.sample_rate << R"(, "channels": )"
    << c.output.channels << "}";
  if (!c.output.mp4_layout.empty()) j << R"(, "mp4_layout": ")" << c.output.mp4_layout << '"';
  j << "}, \"shots\": [\n";
  for (std::size_t i = 0; i < c.shots.size(); ++i) {
    const TestShot& s = c.shots[i];
    j << R"(  {"source": ")" << s.file << R"(", "in": )" << s.in_json << R"(, "out": )"
      << s.out_json << R"(, "fit": ")" << s.fit << R"(", "audio": )" << (s.audio ? "true" : "false")
      << "}" << (i + 1 < c.shots.size() ? ",\n" : "\n");
  }
  j << "]}";
  return j.str();
}

Rendered render_and_check(const RenderCase& c, const std::filesystem::path& out_dir,
                          const FrameHook& hook) {
  Rendered r;
  r.shots = expected_shots(c);
  for (const ExpectedShot& e : r.shots) r.total_frames += e.frame_count;
  r.file = out_dir / (c.name + c.output.extension);
  const Q fps = c.output.fps;

  // Parse, resolve, render.
  const std::string json = blueprint_json(c);
  blueprint::ParseResult parsed = blueprint::parse_blueprint(json, test_media_dir());
  if (!parsed.ok()) {
    ADD_FAILURE() << c.name << ": " << parsed.diagnostics[0].to_string() << "\n" << json;
    return r;
  }
  engine::ResolveResult resolved = engine::resolve_timeline(*parsed.blueprint);
  if (!resolved.timeline) {
    ADD_FAILURE() << c.name << ": " << resolved.diagnostics[0].to_string();
    return r;
  }
  EXPECT_EQ(resolved.timeline->total_frames, r.total_frames) << c.name << ": timeline frames";
  engine::RenderJob job(std::move(*resolved.timeline), {.output = r.file, .threads = 2});
  Status status = job.run();
  r.stats = job.stats();
  if (!status) {
    ADD_FAILURE() << c.name << ": render failed: " << status.error().message;
    return r;
  }

  // Which shot each output frame belongs to.
  std::vector<int> shot_of(static_cast<std::size_t>(r.total_frames));
  for (std::size_t s = 0; s < r.shots.size(); ++s) {
    for (int64_t k = 0; k < r.shots[s].frame_count; ++k) {
      shot_of[static_cast<std::size_t>(r.shots[s].first_frame + k)] = static_cast<int>(s);
    }
  }
  // The source frame each output frame must show, from the sources' own timestamps.
  auto expected_source_frame = [&](int s, int64_t k) {
    const TestShot& ts = c.shots[static_cast<std::size_t>(s)];
    const Q slot = div(Q{r.shots[static_cast<std::size_t>(s)].source_first_frame + k, 1}, fps);
    return source_frames(ts.file).frame_at(slot);
  };
  for (const TestShot& ts : c.shots) (void)source_frames(ts.file);  // decode before the output

  std::ostringstream mismatches;
  std::vector<int64_t> wrong_in_shot(r.shots.size(), 0);
  auto decoded = media::testing::decode_file(r.file, [&](const AVFrame* f, int64_t i) {
    if (i >= r.total_frames) return;  // counted below
    const int s = shot_of[static_cast<std::size_t>(i)];
    const int64_t k = i - r.shots[static_cast<std::size_t>(s)].first_frame;
    const TestShot& ts = c.shots[static_cast<std::size_t>(s)];
    const int64_t want = expected_source_frame(s, k);
    const int want_id = test_clip(ts.file).source_id % 12;
    // BT.601-tagged sources come out converted to BT.709, which changes the code block's
    // colours: check those against the converted palette (support/frame_code.h).
    if (source_frames(ts.file).bt601) {
      std::string got;
      if (!shows_converted_code(f, want, want_id, &got)) {
        ++wrong_in_shot[static_cast<std::size_t>(s)];
        if (++r.frame_code_mismatches <= 12 || wrong_in_shot[static_cast<std::size_t>(s)] <= 3) {
          mismatches << "\n  frame " << i << " (shot " << s << " " << ts.file << " k=" << k
                     << "): want source frame " << want << " (code " << want % 32 << ", id "
                     << want_id << ", converted from BT.601), got " << got;
        }
      }
      if (hook) hook(f, i, s, k);
      return;
    }
    std::optional<media::FrameCode> got = media::read_frame_code(f);
    if (!got || got->frame_mod32 != want % 32 || got->source_id != want_id) {
      ++wrong_in_shot[static_cast<std::size_t>(s)];
      if (++r.frame_code_mismatches <= 12 || wrong_in_shot[static_cast<std::size_t>(s)] <= 3) {
        mismatches << "\n  frame " << i << " (shot " << s << " " << ts.file << " k=" << k
                   << "): want source frame " << want << " (code " << want % 32 << ", id "
                   << want_id << "), got "
                   << (got ? "code " + std::to_string(got->frame_mod32) + ", id " +
                                 std::to_string(got->source_id)
                           : std::string("no code block"));
      }
    }
    if (hook) hook(f, i, s, k);
  });
  if (!decoded.ok()) {
    ADD_FAILURE() << c.name << ": decode_file: " << decoded.error().message;
    return r;
  }
  std::ostringstream per_shot;
  for (std::size_t s = 0; s < r.shots.size(); ++s) {
    if (wrong_in_shot[s] > 0) {
      per_shot << "\n  shot " << s << " (" << c.shots[s].file << " [" << c.shots[s].in_json << ", "
               << c.shots[s].out_json << ")): " << wrong_in_shot[s] << " of "
               << r.shots[s].frame_count << " frames wrong";
    }
  }
  EXPECT_EQ(r.frame_code_mismatches, 0)
      << c.name << ": output frames showing the wrong source frame:" << per_shot.str()
      << "\n first ones:" << mismatches.str();

  // Container-level facts.
  const media::testing::DecodedStream* v = decoded->video();
  const media::testing::DecodedStream* a = decoded->audio();
  if (v == nullptr) {
    ADD_FAILURE() << c.name << ": no video stream";
    return r;
  }
  EXPECT_EQ(v->frames, r.total_frames) << c.name << ": frame count";
  EXPECT_EQ(v->width, c.output.width) << c.name;
  EXPECT_EQ(v->height, c.output.height) << c.name;
  const double video_s = to_double(div(Q{r.total_frames, 1}, fps));
  const double frame_s = 1.0 / to_double(fps);
  // MP4 and MOV trim the AAC encoder's priming with an edit list, so both streams start at 0.
  // Matroska and MPEG-TS cannot: the muxer shifts every stream by the priming (1024 samples,
  // ~21 ms) to avoid negative timestamps, so video starts there and the audio decodes with 1024
  // extra samples before it. The sync that matters is relative: audio sample index `offset`
  // is video time 0.
  const bool trims_priming = c.output.extension == ".mp4" || c.output.extension == ".mov";
  if (trims_priming) {
    EXPECT_NEAR(v->first_s, 0.0, 1e-3) << c.name << ": video starts late";
  } else if (c.output.extension == ".mkv") {
    EXPECT_LE(v->first_s, 1024.0 / c.output.sample_rate + 1e-3) << c.name << ": video starts late";
  }  // (MPEG-TS starts where its muxer's delay puts it, typically 1.4 s.)
  EXPECT_NEAR(v->end_s - v->first_s, video_s, frame_s / 2) << c.name << ": video duration";
  EXPECT_EQ(r.stats.frames_out, r.total_frames) << c.name << ": RenderStats.frames_out";

  if (a == nullptr) {
    ADD_FAILURE() << c.name << ": no audio stream";
    return r;
  }
  EXPECT_EQ(a->sample_rate, c.output.sample_rate) << c.name;
  EXPECT_EQ(a->channels, c.output.channels) << c.name;
  const int64_t offset = std::llround((v->first_s - a->first_s) * c.output.sample_rate);
  if (trims_priming) {
    EXPECT_EQ(offset, 0) << c.name << ": audio and video start apart";
  }
  const double want_samples = video_s * c.output.sample_rate;
  EXPECT_LE(std::abs(static_cast<double>(a->samples - offset) - want_samples), 1024.0)
      << c.name << ": audio has " << a->samples << " samples (" << offset
      << " before the video's start) for " << video_s << " s of video (" << want_samples << ")";

  // Audio content, shot by shot.
  auto audio = decode_audio_mono(r.file);
  if (!audio.ok()) {
    ADD_FAILURE() << c.name << ": " << audio.error().message;
    return r;
  }
  std::vector<double> tones;
  for (const media::ClipInfo& clip : test_clips()) {
    if (clip.has_audio) tones.push_back(clip.audio_frequency_hz);
  }
  const int rate = audio->sample_rate;
  const int64_t half_second = rate / 2;
  r.ok = true;
  for (std::size_t s = 0; s < r.shots.size(); ++s) {
    const ExpectedShot& e = r.shots[s];
    const TestShot& ts = c.shots[s];
    const media::ClipInfo& clip = test_clip(ts.file);
    const int64_t lo = e.first_sample + kBoundaryMargin;
    const int64_t hi = e.first_sample + e.sample_count - kBoundaryMargin;
    for (int64_t w = lo; w + kWindow <= hi; w += half_second) {
      // Source time of the window, from the shot's first frame time (in, snapped to the grid).
      const double shot_start = to_double(div(Q{e.source_first_frame, 1}, fps));
      const double src_from = shot_start + static_cast<double>(w - e.first_sample) / rate;
      const double src_to = src_from + static_cast<double>(kWindow) / rate;
      std::span<const float> window = audio->window(w + offset, kWindow);
      const double level = rms(window);
      std::ostringstream where;
      where << c.name << ": shot " << s << " (" << ts.file << ") audio at output sample " << w
            << " (source " << src_from << " s)";
      const bool silent =
          !ts.audio || !clip.has_audio || src_from > clip.audio_duration_s + kAudioEndSlack;
      const bool tone = !silent && src_to < clip.audio_duration_s - kAudioEndSlack;
      if (silent) {
        EXPECT_LT(level, kSilenceRms) << where.str() << ": expected silence";
        ++r.audio_windows_checked;
      } else if (tone) {
        const double hz = dominant_tone(window, rate, tones);
        const bool clean = tone_power(window, rate, clip.audio_frequency_hz) > 0.2 * level * level;
        EXPECT_TRUE(level > 0.01 && hz == clip.audio_frequency_hz && clean)
            << where.str() << ": expected the source's " << clip.audio_frequency_hz
            << " Hz tone, got " << (level <= 0.01 ? "silence" : std::to_string(hz) + " Hz")
            << " (rms " << level << (clean ? "" : ", not a clean tone") << ")";
        ++r.audio_windows_checked;
        if (level <= 0.01) continue;
        // Sync to the sample: the tone's phase here must be the source's phase at src_from.
        const SourceAudio& sa = source_audio(ts.file);
        const int src_rate = sa.audio.sample_rate;
        const double f_hz = clip.audio_frequency_hz;
        const int64_t n0 = std::llround((src_from - sa.start_s) * src_rate);
        const double n0_time = sa.start_s + static_cast<double>(n0) / src_rate;
        const double two_pi = 2 * std::numbers::pi;
        const double src_phase =
            tone_phase(sa.audio.window(n0, kWindow * src_rate / rate), src_rate, f_hz) +
            two_pi * f_hz * (src_from - n0_time);
        const double out_phase = tone_phase(window, rate, f_hz);
        double d = std::remainder(out_phase - src_phase, two_pi);
        const double error_s = d / (two_pi * f_hz);  // > 0: the output plays later source audio
        r.max_audio_sync_error_s = std::max(r.max_audio_sync_error_s, std::abs(error_s));
        // Matroska stores times in milliseconds: a source's packets, or the output's priming
        // offset, may each be up to half a millisecond off.
        const double tolerance_s = kMaxSyncError_s + (ts.file.ends_with(".mkv") ? 0.5e-3 : 0.0) +
                                   (c.output.extension == ".mkv" ? 0.5e-3 : 0.0);
        EXPECT_LE(std::abs(error_s), tolerance_s)
            << where.str() << ": audio is " << error_s * 1000 << " ms off the source position"
            << " (period " << 1000 / f_hz << " ms)";
      }
    }
  }

  // Where audio starts and stops: at each cut between sound and silence, and where a source's
  // audio ends inside a shot, the output's envelope must turn within 2 ms of the sample the time
  // rules give (the phase check above is blind to shifts of whole tone periods).
  auto edge = [&](int64_t expected, bool rising, double amplitude, const std::string& what) {
    const double threshold = 0.5 * amplitude;
    const int64_t span = rate / 20;  // search +-50 ms
    int64_t found = -1;
    for (int64_t i = expected - span; i < expected + span; ++i) {
      std::span<const float> x = audio->window(i + offset, 1);
      if (x.empty() || std::abs(x[0]) <= threshold) continue;
      if (rising) {
        found = i;
        break;
      }
      found = i + 1;
    }
    ++r.audio_edges_checked;
    EXPECT_NEAR(static_cast<double>(found), static_cast<double>(expected), rate / 500.0)
        << c.name << ": " << what << (rising ? ": sound starts" : ": sound stops") << " at sample "
        << found << ", expected " << expected << " ("
        << static_cast<double>(found - expected) * 1000.0 / rate << " ms off)";
  };
  struct Audible {
    bool at_start = false, at_end = false;          // surely sounding just inside the shot's ends
    bool silent_start = false, silent_end = false;  // surely silent there
    std::optional<int64_t> ends_at;  // output sample where the source's audio runs out
    double amplitude = 0;
  };
  std::vector<Audible> audible(r.shots.size());
  for (std::size_t s = 0; s < r.shots.size(); ++s) {
    const ExpectedShot& e = r.shots[s];
    const TestShot& ts = c.shots[s];
    const media::ClipInfo& clip = test_clip(ts.file);
    Audible& au = audible[s];
    const bool silent = !ts.audio || !clip.has_audio;
    const double start = to_double(div(Q{e.source_first_frame, 1}, fps));
    const double end = to_double(div(Q{e.source_first_frame + e.frame_count, 1}, fps));
    const double slack = 0.01;
    au.at_start = !silent && start < clip.audio_duration_s - slack;
    au.at_end = !silent && end < clip.audio_duration_s - slack;
    au.silent_start = silent || start > clip.audio_duration_s + slack;
    au.silent_end = silent || end > clip.audio_duration_s + slack;
    if (au.at_start && au.silent_end) {
      au.ends_at = e.first_sample + std::llround((clip.audio_duration_s - start) * rate);
    }
    if (au.at_start) {
      au.amplitude =
          std::sqrt(2.0) * rms(audio->window(e.first_sample + offset + kBoundaryMargin,
                                             std::min<int64_t>(kWindow, e.sample_count / 4)));
    }
  }
  for (std::size_t s = 0; s < r.shots.size(); ++s) {
    const std::string what = "shot " + std::to_string(s) + " (" + c.shots[s].file + ")";
    const int64_t begin = r.shots[s].first_sample;
    if (s > 0 && audible[s - 1].at_end && audible[s].silent_start) {
      edge(begin, false, audible[s - 1].amplitude, what + " cut from sound to silence");
    }
    if (s > 0 && audible[s - 1].silent_end && audible[s].at_start) {
      edge(begin, true, audible[s].amplitude, what + " cut from silence to sound");
    }
    if (audible[s].ends_at && r.shots[s].sample_count > 2 * kBoundaryMargin) {
      edge(*audible[s].ends_at, false, audible[s].amplitude, what + " source audio ends");
    }
  }
  return r;
}

}  // namespace leancut::testing
