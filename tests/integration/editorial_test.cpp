// Editorial shot features through the real binary, checked by decoding the output: speed (the
// right source frames, audio time-stretched with its pitch kept), freeze frames, gain, and colour
// shots (slates and gaps).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
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

constexpr int kRate = 48000;
constexpr double kFps = 30;

class Editorial : public ::testing::Test {
 protected:
  void SetUp() override {
    if (leancut_binary().empty()) GTEST_SKIP() << "LEANCUT_BINARY is not set";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-editorial-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  // Renders shots (JSON objects, sources relative to the test media) at 320x180, 30 fps; decodes
  // the output: each frame's code (source id, frame mod 32) or its centre pixel, and the audio.
  struct Output {
    std::vector<std::optional<media::FrameCode>> codes;
    std::vector<std::array<int, 3>> centre_yuv;
    std::vector<int> max_luma_in_middle_band;  // rows 40%..60% of the height
    std::vector<int> max_luma_in_top_band;     // rows 5%..15%
    DecodedAudio audio;
  };
  Output render(const std::string& shots) {
    const fs::path bp = dir_ / "bp.json";
    std::ofstream(bp) << R"({"version": 1, "output": {"width": 320, "height": 180, "fps": 30,
        "video": {"preset": "ultrafast"}}, "shots": [)"
                      << shots << "]}";
    const fs::path out = dir_ / "out.mp4";
    ProcessResult r =
        run_process({leancut_binary(), "render", bp.string(), "-o", out.string(), "-q"}, 120000);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Output o;
    auto decoded = media::testing::decode_file(out, [&](const AVFrame* f, int64_t) {
      o.codes.push_back(media::read_frame_code(f));
      const int x = f->width / 2, y = f->height / 2;
      const auto band_max = [&](int from, int to) {
        int best = 0;
        for (int row = from; row < to; ++row) {
          for (int col = 0; col < f->width; ++col) {
            best = std::max<int>(best, f->data[0][row * f->linesize[0] + col]);
          }
        }
        return best;
      };
      o.max_luma_in_middle_band.push_back(band_max(f->height * 2 / 5, f->height * 3 / 5));
      o.max_luma_in_top_band.push_back(band_max(f->height / 20, f->height * 3 / 20));
      o.centre_yuv.push_back({f->data[0][y * f->linesize[0] + x],
                              f->data[1][(y / 2) * f->linesize[1] + x / 2],
                              f->data[2][(y / 2) * f->linesize[2] + x / 2]});
    });
    EXPECT_TRUE(decoded.ok()) << decoded.error().message;
    auto audio = decode_audio_mono(out);
    EXPECT_TRUE(audio.ok()) << audio.error().message;
    if (audio.ok()) o.audio = std::move(audio).value();
    return o;
  }
  static std::string media(const std::string& file) { return (test_media_dir() / file).string(); }

  // The audio of output frames [first, first + count), a few frames in from each edge.
  static std::span<const float> frames_audio(const DecodedAudio& a, int64_t first, int64_t count) {
    const int64_t margin = 3 * kRate / 30;
    const int64_t start = first * kRate / 30 + margin;
    return a.window(start, count * kRate / 30 - 2 * margin);
  }

  fs::path dir_;
};

TEST_F(Editorial, SpeedPicksEveryNthSourceFrameAndKeepsThePitch) {
  // a_720p30 (source 0, 30 fps, a 300 Hz tone): 2 s at 2x = 30 frames, 1 s at 0.5x = 60 frames.
  const Output o = render(R"({"source": ")" + media("a_720p30.mp4") +
                          R"(", "in": 0, "out": 2, "speed": 2},
      {"source": ")" + media("a_720p30.mp4") +
                          R"(", "in": 2, "out": 3, "speed": 0.5})");
  ASSERT_EQ(o.codes.size(), 90u);
  for (int64_t k = 0; k < 30; ++k) {
    ASSERT_TRUE(o.codes[k]) << "frame " << k;
    EXPECT_EQ(o.codes[k]->source_id, 0);
    EXPECT_EQ(o.codes[k]->frame_mod32, media::frame_code_for_index(2 * k)) << "2x frame " << k;
  }
  for (int64_t k = 0; k < 60; ++k) {
    ASSERT_TRUE(o.codes[30 + k]) << "frame " << 30 + k;
    EXPECT_EQ(o.codes[30 + k]->frame_mod32, media::frame_code_for_index(60 + k / 2))
        << "0.5x frame " << k;
  }
  // 3 s of audio; in both shots the tone is still 300 Hz (not 600 or 150) at about its level
  // (the test media's tones have an RMS of ~0.06).
  EXPECT_NEAR(static_cast<double>(o.audio.mono.size()) / o.audio.sample_rate, 3.0, 0.05);
  const double level = rms(frames_audio(o.audio, 0, 30));
  for (auto [first, count] : {std::pair<int64_t, int64_t>{0, 30}, {30, 60}}) {
    const auto w = frames_audio(o.audio, first, count);
    EXPECT_EQ(dominant_tone(w, o.audio.sample_rate, {150, 300, 600}), 300) << "at " << first;
    EXPECT_GT(rms(w), 0.03) << "at " << first;
    EXPECT_NEAR(rms(w) / level, 1.0, 0.15) << "at " << first;
  }
}

TEST_F(Editorial, FreezeHoldsThePictureAtInWithSilence) {
  const Output o = render(R"({"source": ")" + media("a_720p30.mp4") +
                          R"(", "in": 1, "out": 2},
      {"source": ")" + media("a_720p30.mp4") +
                          R"(", "in": 4, "out": 5, "freeze": true})");
  ASSERT_EQ(o.codes.size(), 60u);
  for (int64_t k = 0; k < 30; ++k) {
    ASSERT_TRUE(o.codes[30 + k]);
    EXPECT_EQ(o.codes[30 + k]->frame_mod32, media::frame_code_for_index(120)) << "frame " << k;
  }
  EXPECT_GT(rms(frames_audio(o.audio, 0, 30)), 0.03);
  EXPECT_LT(rms(frames_audio(o.audio, 30, 30)), 0.001);
}

TEST_F(Editorial, GainScalesTheShotsAudio) {
  const Output o = render(R"({"source": ")" + media("a_720p30.mp4") +
                          R"(", "in": 5, "out": 6},
      {"source": ")" + media("a_720p30.mp4") +
                          R"(", "in": 5, "out": 6, "gain_db": -6},
      {"source": ")" + media("a_720p30.mp4") +
                          R"(", "in": 5, "out": 6, "gain_db": 3.5})");
  const double base = rms(frames_audio(o.audio, 0, 30));
  ASSERT_GT(base, 0.03);
  EXPECT_NEAR(rms(frames_audio(o.audio, 30, 30)) / base, std::pow(10.0, -6.0 / 20), 0.02);
  EXPECT_NEAR(rms(frames_audio(o.audio, 60, 30)) / base, std::pow(10.0, 3.5 / 20), 0.04);
}

TEST_F(Editorial, ColourShotsAreSlatesAndGapsOfExactLength) {
  const Output o = render(R"({"color": "#ff0000", "duration": 0.5},
      {"source": ")" + media("a_720p30.mp4") +
                          R"(", "in": 0, "out": 1},
      {"color": "black", "duration": "1/3", "name": "gap"})");
  ASSERT_EQ(o.codes.size(), 15u + 30u + 10u);
  // BT.709 limited range: pure red is Y 63, Cb 102, Cr 240; black is Y 16, Cb = Cr = 128.
  for (int64_t k = 0; k < 15; ++k) {
    EXPECT_NEAR(o.centre_yuv[k][0], 63, 3) << "frame " << k;
    EXPECT_NEAR(o.centre_yuv[k][1], 102, 3) << "frame " << k;
    EXPECT_NEAR(o.centre_yuv[k][2], 240, 3) << "frame " << k;
  }
  ASSERT_TRUE(o.codes[15]);
  EXPECT_EQ(o.codes[15]->frame_mod32, media::frame_code_for_index(0));
  for (int64_t k = 45; k < 55; ++k) {
    EXPECT_NEAR(o.centre_yuv[k][0], 16, 3) << "frame " << k;
    EXPECT_NEAR(o.centre_yuv[k][2], 128, 3) << "frame " << k;
  }
  EXPECT_LT(rms(frames_audio(o.audio, 0, 15)), 0.001);
  EXPECT_GT(rms(frames_audio(o.audio, 15, 30)), 0.03);
  EXPECT_LT(rms(frames_audio(o.audio, 45, 10)), 0.001);
}

TEST_F(Editorial, TitleTextIsDrawnOnlyBetweenItsStartAndEnd) {
  // A black title card (30 frames) whose white text shows from 0.3 s to 0.7 s, then a source
  // shot with a caption for its whole length.
  const Output o = render(R"({"color": "black", "duration": 1,
        "text": {"text": "TITLE: a \"quoted\" 50% \\ test", "size": 24, "position": "center",
                 "start": 0.3, "end": 0.7}},
      {"source": ")" + media("a_720p30.mp4") +
                          R"(", "in": 0, "out": 0.5,
        "text": [{"text": "caption", "position": "top", "box": "black", "box_opacity": 1}]})");
  ASSERT_EQ(o.max_luma_in_middle_band.size(), 45u);
  for (int64_t k = 0; k < 30; ++k) {
    const bool shown = k >= 9 && k < 21;  // [0.3 s, 0.7 s) at 30 fps
    if (shown) {
      EXPECT_GT(o.max_luma_in_middle_band[k], 180) << "frame " << k << ": the title is missing";
    } else {
      EXPECT_LT(o.max_luma_in_middle_band[k], 24) << "frame " << k << ": text outside its time";
    }
  }
  // The caption's box is black behind white letters at the top; the frame code (bottom-left
  // corner block) is still readable.
  for (int64_t k = 30; k < 45; ++k) {
    ASSERT_TRUE(o.codes[k]) << "frame " << k;
    EXPECT_GT(o.max_luma_in_top_band[k], 180) << "frame " << k << ": no caption";
  }
}

TEST_F(Editorial, BadEditorialFieldsAreNamed) {
  const fs::path bp = dir_ / "bad.json";
  std::ofstream(bp) << R"({"version": 1, "shots": [
      {"source": ")" + media("a_720p30.mp4") +
                           R"(", "in": 0, "out": 1, "speed": 5},
      {"source": ")" + media("a_720p30.mp4") +
                           R"(", "in": 0, "out": 1, "speed": 2, "freeze": true},
      {"source": ")" + media("a_720p30.mp4") +
                           R"(", "in": 0, "out": 1, "gain_db": "loud"},
      {"color": "mauve", "duration": 1},
      {"color": "black", "duration": 0},
      {"color": "black", "in": 0, "duration": 1},
      {"color": "black", "duration": 1, "text": {"size": 9, "position": "left", "end": 0}}]})";
  ProcessResult r = run_process({leancut_binary(), "validate", bp.string()}, 60000);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[0].speed: must be between 0.25 and 4, got 5"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[1].speed: a freeze frame has no speed"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[2].gain_db: expected a number"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[3].color: unknown colour \"mauve\""));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[4].duration: must be positive"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[5].in: unknown field"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[6].text.text: required field is missing"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[6].text.position: unknown position \"left\""));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[6].text.end: must be after start"));
}

}  // namespace
}  // namespace leancut::testing
