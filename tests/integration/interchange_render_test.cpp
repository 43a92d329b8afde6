// `leancut render CUT.otio|CUT.edl` as users run it, over the standard test media: the output is
// decoded and checked against the cut's own semantics (docs/interchange.md, "Rendering"): exactly
// the timeline's duration at its rate in frames, the requested size, the right source frame at
// every output frame (testmedia's code blocks), black where the cut has a gap, half the frames
// for a 2x clip, dissolves refused or cut at their centre.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
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
using ::testing::HasSubstr;

const void* const kMediaEnv = register_test_media_environment();

constexpr int kTimeoutMs = 180000;

fs::path sample(const std::string& name) {
  const char* env = std::getenv("LEANCUT_SOURCE_DIR");
  const fs::path root =
      env != nullptr && *env != '\0' ? fs::path(env) : fs::path(LEANCUT_SOURCE_DIR_DEFAULT);
  return root / "tests" / "interchange" / "samples" / name;
}

// What an output frame shows: a source's frame (by testmedia id and frame index), or black.
struct Shows {
  int source_id = -1;  // -1: black; -2: anything (a transition's blend)
  int64_t frame = 0;
};

// The source frame on screen at editor time t (seconds) of a test clip.
Shows source_at(const std::string& file, Q t) {
  return {test_clip(file).source_id, source_frames(file).frame_at(t)};
}

struct Output {
  int64_t frames = 0;
  int width = 0;
  int height = 0;
  std::vector<std::optional<media::FrameCode>> codes;
  std::vector<int> max_luma;     // of each frame's centre row: black stays near 16
  std::vector<int> corner_luma;  // near the top-right corner: the background, past any text
};

Output decode(const fs::path& file) {
  Output out;
  auto decoded = media::testing::decode_file(file, [&](const AVFrame* f, int64_t) {
    out.codes.push_back(media::read_frame_code(f));
    int peak = 0;
    const uint8_t* row = f->data[0] + static_cast<ptrdiff_t>(f->height / 2) * f->linesize[0];
    for (int x = 0; x < f->width; ++x) peak = std::max(peak, int{row[x]});
    out.max_luma.push_back(peak);
    out.corner_luma.push_back(f->data[0][4 * f->linesize[0] + (f->width - 5)]);
  });
  EXPECT_TRUE(decoded.ok()) << decoded.error().message;
  if (!decoded.ok() || decoded->video() == nullptr) return out;
  out.frames = decoded->video()->frames;
  out.width = decoded->video()->width;
  out.height = decoded->video()->height;
  return out;
}

class InterchangeRender : public ::testing::Test {
 protected:
  void SetUp() override {
    if (leancut_binary().empty()) GTEST_SKIP() << "LEANCUT_BINARY is not set";
    out_dir_ = fs::temp_directory_path() /
               ("leancut-interchange-render-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(out_dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(out_dir_, ec);
  }
  ProcessResult render(const std::string& cut, std::vector<std::string> extra) {
    // A content test, not a budget test: a budget any build fits (under ASan the RSS before the job
    // alone is large).
    std::vector<std::string> args = {
        leancut_binary(), "render",  sample(cut).string(), "-o", out().string(), "-q",
        "--size",         "320x180", "--memory",           "2G"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_process(args, kTimeoutMs);
  }
  std::vector<std::string> remap() const {
    return {"--remap", "/Volumes/Show/media=" + test_media_dir().string()};
  }
  fs::path out() const { return out_dir_ / "out.mp4"; }

  // Every output frame shows what `expected` says: the source frame's code, or black.
  void expect_frames(const Output& o, const std::vector<Shows>& expected) {
    ASSERT_EQ(o.frames, static_cast<int64_t>(expected.size()));
    int mismatches = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      const Shows& e = expected[i];
      if (e.source_id == -2) continue;
      if (e.source_id < 0) {
        if (o.codes[i].has_value() || o.max_luma[i] > 40) {
          if (++mismatches < 10) ADD_FAILURE() << "frame " << i << " is not black";
        }
        continue;
      }
      const auto& code = o.codes[i];
      if (!code || code->source_id != e.source_id % 12 ||
          code->frame_mod32 != media::frame_code_for_index(e.frame)) {
        if (++mismatches < 10) {
          ADD_FAILURE() << "frame " << i << ": expected source " << e.source_id << " frame "
                        << e.frame << " (code " << media::frame_code_for_index(e.frame) << "), got "
                        << (code ? std::to_string(code->source_id) + "/" +
                                       std::to_string(code->frame_mod32)
                                 : std::string("no code"));
        }
      }
    }
    EXPECT_EQ(mismatches, 0);
  }

  fs::path out_dir_;
};

// render_cuts.otio at 24 fps: A = c_360p24 [1 s, 2 s), B = a_720p30 [1 s, 2 s), C = c_360p24 from
// 2 s at 2x for 1 s; 72 frames. V2 is all gap (fine); A1 (a_720p30's audio) is the sound.
TEST_F(InterchangeRender, OtioCutsSpeedAndExactFrames) {
  ProcessResult r = render("render_cuts.otio", remap());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("mixed under the picture"));
  const Output o = decode(out());
  EXPECT_EQ(o.frames, 72);  // the timeline's 3 s at 24 fps
  EXPECT_EQ(o.width, 320);
  EXPECT_EQ(o.height, 180);
  std::vector<Shows> expected;
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("c_360p24.mp4", Q{24 + k, 24}));
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("a_720p30.mp4", Q{24 + k, 24}));
  // 2x: 24 output frames cover 48 source frames, every other one.
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("c_360p24.mp4", Q{48 + 2 * k, 24}));
  expect_frames(o, expected);
}

// render_layers.otio at 24 fps: V1 = c_360p24 from 1 s for 3 s; V2 = 1 s of gap, then a_720p30
// from 1 s for 1 s. Top over bottom: V1, then V2's clip covering it, then V1 again where it
// shows again (3 s into its media). 72 frames.
TEST_F(InterchangeRender, VideoTracksCompositeTopOverBottom) {
  ProcessResult r = render("render_layers.otio", remap());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("composite top over bottom"));
  std::vector<Shows> expected;
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("c_360p24.mp4", Q{24 + k, 24}));
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("a_720p30.mp4", Q{24 + k, 24}));
  for (int k = 48; k < 72; ++k) expected.push_back(source_at("c_360p24.mp4", Q{24 + k, 24}));
  expect_frames(decode(out()), expected);
}

// render_audio_tracks.otio: render_cuts.otio plus A2, a gap of 1 s then b_1080p25 [1 s, 3 s).
// Both audio tracks are heard, summed, each where its clips sit; the video clips' own audio
// (c_360p24's 500 Hz) is not.
TEST_F(InterchangeRender, OtioAudioTracksAreSummedUnderThePicture) {
  ProcessResult r = render("render_audio_tracks.otio", remap());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("2 audio clips from 2 audio tracks mixed under the picture"));
  auto decoded = decode_audio_mono(out());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const DecodedAudio& a = *decoded;
  const auto level = [&](double from, double to, double hz) {
    const auto w = a.window(std::llround((from - a.first_s) * a.sample_rate),
                            std::llround((to - from) * a.sample_rate));
    return 2 * std::sqrt(tone_power(w, a.sample_rate, hz));
  };
  const double a1 = test_clip("a_720p30.mp4").audio_frequency_hz;
  const double a2 = test_clip("b_1080p25.mp4").audio_frequency_hz;
  const double shots = test_clip("c_360p24.mp4").audio_frequency_hz;
  const double full = level(0.1, 0.9, a1);
  ASSERT_GT(full, 0.05);
  // A1 throughout; A2 from 1 s only, at the same level (the test tones share one amplitude).
  EXPECT_NEAR(level(1.1, 2.9, a1) / full, 1.0, 0.05);
  EXPECT_LT(level(0.1, 0.9, a2), full * 0.01);
  EXPECT_NEAR(level(1.1, 2.9, a2) / full, 1.0, 0.05);
  // The video clips' own audio is not played.
  EXPECT_LT(level(0.1, 0.9, shots), full * 0.01);
  EXPECT_LT(level(2.1, 2.9, shots), full * 0.01);
}

TEST_F(InterchangeRender, MediaRootFindsTheFilesAndFpsOverridesTheRate) {
  ProcessResult r =
      render("render_cuts.otio", {"--media-root", test_media_dir().string(), "--fps", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Output o = decode(out());
  EXPECT_EQ(o.frames, 90);  // 3 s at 30 fps
  ASSERT_EQ(o.codes.size(), 90u);
  // B's first frame (output frame 30) is a_720p30's frame 30.
  ASSERT_TRUE(o.codes[30].has_value());
  EXPECT_EQ(o.codes[30]->frame_mod32, media::frame_code_for_index(30));
}

// The default: a dissolve renders as one. in_offset 0, out_offset 12 frames: the cut stays at
// frame 24, A (c_360p24 from 1 s) runs on into its handle under B (a_720p30 from 1 s) for frames
// 24..35, which blend; every other frame is exactly the cut's. 48 frames in all.
TEST_F(InterchangeRender, DissolvesRenderAsDissolves) {
  ProcessResult r = render("render_dissolve.otio", remap());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<Shows> expected;
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("c_360p24.mp4", Q{24 + k, 24}));
  for (int k = 0; k < 12; ++k) expected.push_back({-2, 0});
  for (int k = 12; k < 24; ++k) expected.push_back(source_at("a_720p30.mp4", Q{24 + k, 24}));
  // (transition_test checks the blended frames' pixels against references.)
  expect_frames(decode(out()), expected);
}

TEST_F(InterchangeRender, DissolvesAreRefusedNamingBothClipsWhenAsked) {
  std::vector<std::string> args = remap();
  args.insert(args.end(), {"--transitions", "refuse"});
  ProcessResult r = render("render_dissolve.otio", args);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("tracks.children[0].children[1]: dissolve (SMPTE_Dissolve) "
                               "between clip \"A\" (tracks.children[0].children[0]) and clip "
                               "\"B\" (tracks.children[0].children[2])"));
  EXPECT_FALSE(fs::exists(out()));
}

// in_offset 0, out_offset 12 frames: the cut moves 6 frames later; A runs on into its handle and
// B starts 6 frames into its range. Still 48 frames in all.
TEST_F(InterchangeRender, DissolvesAsCutsSitAtTheirCentre) {
  std::vector<std::string> args = remap();
  args.insert(args.end(), {"--transitions", "cut"});
  ProcessResult r = render("render_dissolve.otio", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<Shows> expected;
  for (int k = 0; k < 30; ++k) expected.push_back(source_at("c_360p24.mp4", Q{24 + k, 24}));
  for (int k = 0; k < 18; ++k) expected.push_back(source_at("a_720p30.mp4", Q{30 + k, 24}));
  expect_frames(decode(out()), expected);
}

// Needs generator shots (blueprint "color") in the engine.
TEST_F(InterchangeRender, OtioGapRendersBlack) {
  ProcessResult r = render("render_gap.otio", remap());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<Shows> expected;
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("c_360p24.mp4", Q{24 + k, 24}));
  for (int k = 0; k < 12; ++k) expected.push_back({});
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("a_720p30.mp4", Q{24 + k, 24}));
  expect_frames(decode(out()), expected);
}

// The same cut as an EDL: a hole in record time is black; the EDL's rate is --fps (default 24).
TEST_F(InterchangeRender, EdlGapRendersBlack) {
  ProcessResult r = render("render_gap_24.edl", {"--media-root", test_media_dir().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<Shows> expected;
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("c_360p24.mp4", Q{24 + k, 24}));
  for (int k = 0; k < 12; ++k) expected.push_back({});
  for (int k = 0; k < 24; ++k) expected.push_back(source_at("a_720p30.mp4", Q{24 + k, 24}));
  expect_frames(decode(out()), expected);
}

TEST_F(InterchangeRender, MissingMediaIsListedOrSlated) {
  ProcessResult r = render("render_gap.otio", {});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("tracks.children[0].children[0]: media not found"));
  EXPECT_THAT(r.err, HasSubstr("tracks.children[0].children[2]: media not found"));
  EXPECT_FALSE(fs::exists(out()));

  // Slated: dark grey (#404040, luma about 71) where the clips were, with a white "MISSING:"
  // label across the middle; black in the gap.
  r = render("render_gap.otio", {"--missing", "slate"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Output o = decode(out());
  ASSERT_EQ(o.frames, 60);
  for (int64_t i : {0, 23, 36, 59}) {
    EXPECT_FALSE(o.codes[i].has_value()) << i;
    EXPECT_NEAR(o.corner_luma[i], 71, 8) << i;
    EXPECT_GT(o.max_luma[i], 180) << i << ": no label on the slate";
  }
  for (int64_t i : {24, 35}) EXPECT_LE(o.max_luma[i], 20) << i;
}

TEST_F(InterchangeRender, OutputSettingsAreCheckedByTheBlueprintRules) {
  const fs::path settings = out_dir_ / "settings.json";
  std::ofstream(settings) << R"({"width": 321, "video": {"preset": "quick"}})";
  ProcessResult r = render("render_cuts.otio", {"--output-settings", settings.string()});
  EXPECT_EQ(r.exit_code, 3);
  // --size (320x180) wins over the file's width; the preset is the file's.
  EXPECT_THAT(r.err, HasSubstr("output.video.preset: unknown preset \"quick\""));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("output.width")));
  r = render("render_cuts.otio", {"--size", "big"});
  EXPECT_EQ(r.exit_code, 2);
  r = render("render_cuts.otio", {"--transitions", "blend"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(InterchangeRender, PlanAcceptsACut) {
  // A 1920x1080 plan (the cut's default size); 2G so a sanitizer build's baseline fits too.
  std::vector<std::string> args = {
      leancut_binary(), "plan", sample("render_cuts.otio").string(), "--json", "--memory", "2G"};
  for (const std::string& a : remap()) args.push_back(a);
  ProcessResult r = run_process(args, kTimeoutMs);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"peak_bytes\""));
}

}  // namespace
}  // namespace leancut::testing
