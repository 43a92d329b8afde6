// Transitions through the real binary, checked by decoding the output against references rendered
// without them: a dissolve's frames are the weighted average of the outgoing shot's media past its
// out point and the incoming shot's media before its in point (OpenTimelineIO's handles), and
// every frame outside it is exactly the cut's; a fade through a colour reaches it at the cut; a
// transition needing media a source lacks is an error naming both shots.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "media/decode_helper.h"
#include "media/testmedia.h"
#include "support/audio_analysis.h"
#include "support/subprocess.h"
#include "support/test_media_env.h"

namespace leancut::testing {
namespace {

namespace fs = std::filesystem;

const void* const kMediaEnv = register_test_media_environment();

class Transitions : public ::testing::Test {
 protected:
  void SetUp() override {
    if (leancut_binary().empty()) GTEST_SKIP() << "LEANCUT_BINARY is not set";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-transition-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  struct Output {
    std::vector<std::vector<uint8_t>> luma;  // every frame's Y plane, 320x180
    std::vector<std::optional<media::FrameCode>> codes;
    DecodedAudio audio;
    nlohmann::json summary;  // the render's --json "done" event
  };

  ProcessResult run_render(const std::string& name, const std::string& shots) {
    const fs::path bp = dir_ / (name + ".json");
    std::ofstream(bp) << R"({"version": 1, "output": {"width": 320, "height": 180, "fps": 30,
        "video": {"preset": "ultrafast", "crf": 8}}, "shots": [)"
                      << shots << "]}";
    // A content test, not a budget test: a budget any build fits (under ASan the RSS before the job
    // alone is large).
    return run_process({leancut_binary(), "render", bp.string(), "-o",
                        (dir_ / (name + ".mp4")).string(), "--json-progress", "--memory", "2G"},
                       120000);
  }

  Output render(const std::string& name, const std::string& shots) {
    ProcessResult r = run_render(name, shots);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Output o;
    auto decoded =
        media::testing::decode_file(dir_ / (name + ".mp4"), [&](const AVFrame* f, int64_t) {
          std::vector<uint8_t> plane(static_cast<size_t>(f->width * f->height));
          for (int y = 0; y < f->height; ++y) {
            std::copy_n(f->data[0] + y * f->linesize[0], f->width, plane.begin() + y * f->width);
          }
          o.luma.push_back(std::move(plane));
          o.codes.push_back(media::read_frame_code(f));
        });
    EXPECT_TRUE(decoded.ok()) << decoded.error().message;
    auto audio = decode_audio_mono(dir_ / (name + ".mp4"));
    EXPECT_TRUE(audio.ok()) << audio.error().message;
    if (audio.ok()) o.audio = std::move(audio).value();
    // --json-progress prints one event per line; the last is the summary ("done").
    std::string line;
    std::istringstream lines(r.out);
    while (std::getline(lines, line)) {
      nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
      if (event.is_object() && event.value("event", "") == "done") o.summary = event;
    }
    return o;
  }

  static std::string media(const std::string& file) { return (test_media_dir() / file).string(); }
  static std::string source_shot(const std::string& file, const std::string& in,
                                 const std::string& out, const std::string& extra = "") {
    return R"({"source": ")" + media(file) + R"(", "in": )" + in + R"(, "out": )" + out + extra +
           "}";
  }

  // Mean absolute luma difference between a frame and (1 − w)·a + w·b, over the pixels where a
  // and b differ by 16 or more (elsewhere any blend looks alike).
  static double blend_error(const std::vector<uint8_t>& out, const std::vector<uint8_t>& a,
                            const std::vector<uint8_t>& b, double w) {
    double sum = 0;
    int64_t n = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      if (std::abs(a[i] - b[i]) < 16) continue;
      sum += std::abs(out[i] - ((1 - w) * a[i] + w * b[i]));
      ++n;
    }
    EXPECT_GT(n, static_cast<int64_t>(out.size() / 100)) << "the references are too alike";
    return n == 0 ? 0 : sum / static_cast<double>(n);
  }
  static double mean(const std::vector<uint8_t>& plane) {
    double sum = 0;
    for (uint8_t v : plane) sum += v;
    return sum / static_cast<double>(plane.size());
  }

  fs::path dir_;
};

TEST_F(Transitions, DissolveBlendsTheOutgoingHandleWithTheIncomingHandle) {
  // A: a_720p30 (source 0) [1, 3) = output 0..59; B: f_noaudio (source 5) [2, 4) = 60..119. The
  // 10-frame dissolve covers 55..64: A's source frames 85..94 (5 past its out point, 90) under
  // B's 55..64 (5 before its in point, 60).
  const Output o = render("dissolve", source_shot("a_720p30.mp4", "1", "3") + "," +
                                          source_shot("f_noaudio.mp4", "2", "4",
                                                      R"(, "transition": {"type": "dissolve",
                                                          "frames": 10})"));
  // References without the transition: output frame f of `ref_a` is A's source frame 30 + f, and
  // of `ref_b` B's source frame f.
  const Output ref_a = render("ref_a", source_shot("a_720p30.mp4", "1", "3.5"));
  const Output ref_b = render("ref_b", source_shot("f_noaudio.mp4", "0", "4"));
  ASSERT_EQ(o.luma.size(), 120u);
  ASSERT_EQ(ref_a.luma.size(), 75u);
  ASSERT_EQ(ref_b.luma.size(), 120u);
  for (int64_t f = 0; f < 120; ++f) {
    if (f >= 55 && f < 65) continue;
    ASSERT_TRUE(o.codes[f]) << "frame " << f;
    EXPECT_EQ(o.codes[f]->source_id, f < 55 ? 0 : 5) << "frame " << f;
    EXPECT_EQ(o.codes[f]->frame_mod32, media::frame_code_for_index(f < 55 ? 30 + f : f))
        << "frame " << f;
  }
  for (int64_t j = 0; j < 10; ++j) {
    const int64_t f = 55 + j;
    const double w = (2.0 * static_cast<double>(j) + 1) / 20;  // how much of B shows
    const double blended = blend_error(o.luma[f], ref_a.luma[f], ref_b.luma[f], w);
    const double pure_a = blend_error(o.luma[f], ref_a.luma[f], ref_b.luma[f], 0);
    const double pure_b = blend_error(o.luma[f], ref_a.luma[f], ref_b.luma[f], 1);
    EXPECT_LT(blended, 3.0) << "frame " << f << " is not (1-w)A + wB at w = " << w;
    EXPECT_LT(blended, std::min(pure_a, pure_b)) << "frame " << f;
    // Away from the transition's ends the blend is far from either picture.
    if (j >= 2 && j < 8) {
      EXPECT_GT(std::min(pure_a, pure_b), 3 * blended + 3) << "frame " << f;
    }
  }
  // The middle frames are neither shot: about half of each.
  const double half_a = blend_error(o.luma[59], ref_a.luma[59], ref_b.luma[59], 0);
  const double half_b = blend_error(o.luma[59], ref_a.luma[59], ref_b.luma[59], 1);
  EXPECT_NEAR(half_a / (half_a + half_b), 0.45, 0.1);
  // At most two sources are open at once: a video and an audio reader of each (f_noaudio has no
  // audio, so here three readers).
  ASSERT_TRUE(o.summary.contains("max_open_readers")) << o.summary.dump();
  EXPECT_LE(o.summary["max_open_readers"].get<int>(), 3);
}

TEST_F(Transitions, DissolveOffCentreAndBetweenColourShots) {
  // 30 frames red, then 30 blue with a dissolve from 4 frames before the cut to 8 after: frames
  // 26..37, frame j showing (j + 1/2)/12 of blue. Colour shots need no handles.
  const Output o = render("colours", R"({"color": "#ff0000", "duration": 1},
                           {"color": "#0000ff", "duration": 1,
                            "transition": {"type": "dissolve", "before": "2/15", "after": "4/15"}})");
  ASSERT_EQ(o.luma.size(), 60u);
  const double red = mean(o.luma[0]);
  const double blue = mean(o.luma[59]);
  ASSERT_GT(std::abs(red - blue), 20);
  for (int64_t f = 0; f < 60; ++f) {
    double w = 0;
    if (f >= 26 && f < 38) w = (2.0 * static_cast<double>(f - 26) + 1) / 24;
    if (f >= 38) w = 1;
    EXPECT_NEAR(mean(o.luma[f]), (1 - w) * red + w * blue, 1.5) << "frame " << f;
  }
}

TEST_F(Transitions, FadeThroughBlackReachesBlackAtTheCutAndDipsTheAudio) {
  // a_720p30 [1, 2) then [4, 5) with a 1 s fade through black: 15 frames down, 15 up.
  const Output o = render("fade", source_shot("a_720p30.mp4", "1", "2") + "," +
                                      source_shot("a_720p30.mp4", "4", "5",
                                                  R"(, "transition": {"type": "fade",
                                                      "duration": 1, "color": "black"})"));
  const Output ref = render("fade_ref", source_shot("a_720p30.mp4", "1", "2") + "," +
                                            source_shot("a_720p30.mp4", "4", "5"));
  ASSERT_EQ(o.luma.size(), 60u);
  ASSERT_EQ(ref.luma.size(), 60u);
  // The last frame before the cut is black; the frames about it darken towards it and brighten
  // after it, each the reference picture mixed with black (luma 16) by the fade's weight.
  EXPECT_NEAR(mean(o.luma[29]), 16, 1.0);
  for (int64_t f = 0; f < 60; ++f) {
    double black = 0;  // how much of the colour shows
    if (f >= 15 && f < 30) black = static_cast<double>(f - 15 + 1) / 15.0;
    if (f >= 30 && f < 45) black = static_cast<double>(45 - f - 1) / 15;
    const double expected = (1 - black) * mean(ref.luma[f]) + black * 16;
    EXPECT_NEAR(mean(o.luma[f]), expected, 1.5) << "frame " << f;
  }
  // The audio fades with the picture: quiet about the cut, full away from it.
  const int rate = o.audio.sample_rate;
  ASSERT_GT(rate, 0);
  const auto window_rms = [&](const DecodedAudio& a, double from_s, double to_s) {
    return rms(a.window(static_cast<int64_t>(from_s * rate),
                        static_cast<int64_t>((to_s - from_s) * rate)));
  };
  const double full = window_rms(ref.audio, 0.1, 0.4);
  ASSERT_GT(full, 0.03);
  EXPECT_NEAR(window_rms(o.audio, 0.1, 0.4) / full, 1.0, 0.1);
  EXPECT_LT(window_rms(o.audio, 0.95, 1.05) / full, 0.15);
  EXPECT_NEAR(window_rms(o.audio, 1.6, 1.9) / window_rms(ref.audio, 1.6, 1.9), 1.0, 0.1);
}

TEST_F(Transitions, DissolveCrossfadesTheSoundOfBothShotsHandles) {
  // A: a_720p30 (300 Hz) [1, 3); B: d_portrait (600 Hz) [2, 4), a 1 s dissolve from 1.5 s to
  // 2.5 s on the output. Before the cut B's tone comes from ahead of its in point, after it A's
  // from past its out point; each at its share: A's amplitude (1 − w), B's w.
  const Output o = render("crossfade", source_shot("a_720p30.mp4", "1", "3") + "," +
                                           source_shot("d_portrait.mp4", "2", "4",
                                                       R"(, "transition": {"type": "dissolve",
                                                           "duration": 1})"));
  const int rate = o.audio.sample_rate;
  ASSERT_GT(rate, 0);
  ASSERT_NEAR(static_cast<double>(o.audio.mono.size()) / rate, 4.0, 0.05);
  // sqrt(P600 / P300): B's amplitude over A's in a window.
  const auto ratio = [&](double from_s, double to_s) {
    const auto w = o.audio.window(static_cast<int64_t>(from_s * rate),
                                  static_cast<int64_t>((to_s - from_s) * rate));
    return std::sqrt(tone_power(w, rate, 600) / std::max(tone_power(w, rate, 300), 1e-12));
  };
  EXPECT_LT(ratio(0.2, 1.4), 0.02);  // A alone
  EXPECT_GT(ratio(2.6, 3.8), 50);    // B alone
  // w ≈ 0.1 just after the dissolve starts: A with a little of B (B's early audio).
  EXPECT_NEAR(ratio(1.55, 1.65), 0.1 / 0.9, 0.06);
  // The middle: as much of each.
  EXPECT_NEAR(ratio(1.95, 2.05), 1.0, 0.2);
  // w ≈ 0.9 near the end: B with a little of A (A's audio past its out point).
  EXPECT_NEAR(1 / ratio(2.35, 2.45), 0.1 / 0.9, 0.06);
  // The crossfade keeps the level: linear ramps of two equal tones in and out of phase sum to
  // between 0.5 and 1 of it; never silence at the cut.
  const auto level = [&](double from_s, double to_s) {
    return rms(o.audio.window(static_cast<int64_t>(from_s * rate),
                              static_cast<int64_t>((to_s - from_s) * rate)));
  };
  EXPECT_GT(level(1.97, 2.03) / level(0.2, 1.4), 0.4);
  // Two sources, each with a video and an audio reader open during the dissolve; no more.
  ASSERT_TRUE(o.summary.contains("max_open_readers")) << o.summary.dump();
  EXPECT_LE(o.summary["max_open_readers"].get<int>(), 4);
}

TEST_F(Transitions, ADissolveNeedingMediaTheSourcesLackNamesBothShots) {
  // a_720p30 is 10 s long: 10 frames past an out point of 9.9 s are not there; f_noaudio's in
  // point at 0.1 s leaves 3 frames before it, not 10.
  ProcessResult r = run_render(
      "handles", source_shot("a_720p30.mp4", "8", "9.9") + "," +
                     source_shot("f_noaudio.mp4", "0.1", "2",
                                 R"(, "transition": {"type": "dissolve", "frames": 20})"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[1].transition: the dissolve needs"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("past shots[0]'s out point, 9.9s), but it ends at 10s"));
  EXPECT_THAT(r.err,
              ::testing::HasSubstr("before shots[1]'s in point, 0.1s), but it starts at 0s"));
  EXPECT_FALSE(fs::exists(dir_ / "handles.mp4"));
}

TEST_F(Transitions, ATransitionLongerThanItsShotsIsAnError) {
  ProcessResult r = run_render("long", source_shot("a_720p30.mp4", "1", "1.5") + "," +
                                           source_shot("a_720p30.mp4", "3", "4",
                                                       R"(, "transition": {"type": "fade",
                                                           "duration": 2})"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err,
              ::testing::HasSubstr(
                  "shots[1].transition: starts 1s before the cut, but shots[0] has only 0.5s"));
}

}  // namespace
}  // namespace leancut::testing
