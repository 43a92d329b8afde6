// End-to-end renders over the standard test media, in process: every output frame must show the
// source frame the time rules say (docs/blueprint.md), pictures must be placed as the fit mode
// says, and the audio must be each shot's source tone or silence, in sync to the sample.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "blueprint/parse.h"
#include "engine/timeline.h"
#include "render_support.h"
#include "support/picture.h"
#include "support/test_media_env.h"

namespace leancut::testing {
namespace {

namespace fs = std::filesystem;

const void* const kMediaEnv = register_test_media_environment();

class Render : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-render-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);  // kept for a look when something failed
  }
  fs::path dir_;
};

// A timecode shot: the JSON strings as written, and the seconds the test expects them to mean.
TestShot tc_shot(const std::string& file, const std::string& in_tc, Q in, const std::string& out_tc,
                 Q out) {
  return TestShot{file, "\"" + in_tc + "\"", "\"" + out_tc + "\"", in, out, "fit", true};
}

bool is_portrait(const std::string& file) {
  return file == "d_portrait.mp4" || file == "e_rotated.mp4";
}

// A 720x1280 (displayed) picture fitted into 640x360: 202.5 px wide, centred, bars either side.
void expect_pillarboxed_portrait(const AVFrame* f, const std::string& where) {
  ASSERT_EQ(f->width, 640);
  Span cols = content_columns(f);
  EXPECT_NEAR(cols.size(), 202, 4) << where << ": content " << cols.begin << ".." << cols.end;
  EXPECT_NEAR(cols.begin, 219, 4) << where;
  // x264 at ultrafast leaves a little noise in flat black right after a cut from full-frame
  // content (no scene-cut keyframe): allow 0.1% of the bar's pixels to stray.
  const int64_t allowed = 214 * f->height / 1000;
  EXPECT_LE(pixels_unlike(f, 0, 214, 0, f->height, kBlack, 12), allowed)
      << where << ": left bar not black";
  EXPECT_LE(pixels_unlike(f, 426, 640, 0, f->height, kBlack, 12), allowed)
      << where << ": right bar not black";
  Span rows = content_rows(f);
  EXPECT_EQ(rows.begin, 0) << where;
  EXPECT_EQ(rows.end, f->height) << where;
}

void expect_no_bars(const AVFrame* f, const std::string& where) {
  Span cols = content_columns(f);
  Span rows = content_rows(f);
  EXPECT_EQ(cols.begin, 0) << where;
  EXPECT_EQ(cols.end, f->width) << where;
  EXPECT_EQ(rows.begin, 0) << where;
  EXPECT_EQ(rows.end, f->height) << where;
}

std::string frame_where(const RenderCase& c, int64_t frame, int s) {
  return c.name + " frame " + std::to_string(frame) + " (shot " + std::to_string(s) + " " +
         c.shots[static_cast<std::size_t>(s)].file + " " +
         c.shots[static_cast<std::size_t>(s)].fit + ")";
}

// Every kind of clip in the standard set, each cut somewhere inside, at 640x360 @ 30.
TEST_F(Render, EveryClipKindAt30Fps) {
  RenderCase c{.name = "kinds", .output = {.preset = "veryfast"}};
  c.shots = {
      shot("a_720p30.mp4", "1", "2.5"),
      shot("b_1080p25.mp4", "2", "3.5"),
      shot("c_360p24.mp4", "0.5", "2"),  // mono 44.1 kHz, 24 fps: repeats frames
      shot("d_portrait.mp4", "1", "2"),
      shot("e_rotated.mp4", "0.5", "1.5"),
      shot("f_noaudio.mp4", "1", "2"),          // silence
      shot("g_shortaudio.mp4", "0.5", "2"),     // tone
      shot("g_shortaudio.mp4", "2.51", "4.5"),  // tone until 3 s, then silence
      shot("h_ntsc.mp4", "2", "3.5"),
      shot("i_vfr.mkv", "1", "3"),
      shot("j_offset.ts", "0", "1.5"),  // measured from its first frame, not from 10 s
      shot("a_720p30.mp4", "3", "4", "fit", /*audio=*/false),
      shot("j_offset.ts", "6.5", "8"),  // to the very end
  };
  Rendered r = render_and_check(c, dir_, [&](const AVFrame* f, int64_t i, int s, int64_t k) {
    if (k % 10 != 0) return;  // placement is the same for the whole shot: a few frames each
    if (is_portrait(c.shots[static_cast<std::size_t>(s)].file)) {
      expect_pillarboxed_portrait(f, frame_where(c, i, s));
    } else {
      expect_no_bars(f, frame_where(c, i, s));
    }
  });
  ASSERT_TRUE(r.ok);
  EXPECT_GE(r.audio_windows_checked, 25);
  // e -> f (silence) -> g; g's own end at 3 s (10 ms after `in` 2.51 would put it: audio
  // follows the frame grid, round(in x fps) / fps = 2.5 s, like the video); silence -> h;
  // j -> silent a -> j.
  EXPECT_EQ(r.audio_edges_checked, 6);
}

// NTSC output, timecodes at each source's own rate, mono 44.1 kHz audio.
TEST_F(Render, NtscOutputWithTimecodesAndMonoAudio) {
  RenderCase c{.name = "ntsc",
               .output = {.width = 320,
                          .height = 180,
                          .fps_json = "\"30000/1001\"",
                          .fps = {30000, 1001},
                          .sample_rate = 44100,
                          .channels = 1}};
  c.output.extension = ".ts";
  c.shots = {
      // Drop-frame at the NTSC source: ;00 of second 1 is frame 30, of second 3 frame 90.
      tc_shot("h_ntsc.mp4", "00:00:01;00", {30 * 1001, 30000}, "00:00:03;00", {90 * 1001, 30000}),
      // 25 fps: frame 60 = 2.4 s; to 4 s as seconds.
      TestShot{"j_offset.ts", "\"00:00:02:10\"", "4", {12, 5}, {4, 1}, "fit", true},
      // 24 fps into 29.97: frame 12 = 0.5 s.
      tc_shot("c_360p24.mp4", "00:00:00:12", {1, 2}, "00:00:02:00", {2, 1}),
      shot("i_vfr.mkv", "2.2", "4.1"),
      // An exact fraction of seconds: one NTSC frame in.
      TestShot{"a_720p30.mp4", "\"1001/30000\"", "1.25", {1001, 30000}, {5, 4}, "fit", true},
      // To the exact end of the NTSC source (300 frames of 1001/30000 s).
      TestShot{"h_ntsc.mp4", "9.5", "\"1001/100\"", {19, 2}, {1001, 100}, "fit", true},
      // The VFR Matroska from its first frame (at container time 0.021 s).
      shot("i_vfr.mkv", "0", "1"),
  };
  Rendered r = render_and_check(c, dir_);
  ASSERT_TRUE(r.ok);
  EXPECT_GE(r.audio_windows_checked, 10);
}

// 25 fps output: 30 fps sources drop frames, 24 fps ones repeat, NTSC drifts against it.
TEST_F(Render, PalOutputResamplesEveryRate) {
  RenderCase c{
      .name = "pal",
      .output = {
          .width = 320, .height = 180, .fps_json = "25", .fps = {25, 1}, .extension = ".mkv"}};
  c.shots = {
      shot("a_720p30.mp4", "0.1", "2.3"),
      shot("b_1080p25.mp4", "1", "3"),
      shot("c_360p24.mp4", "5", "7.5"),
      shot("h_ntsc.mp4", "7.7", "10"),
      tc_shot("b_1080p25.mp4", "00:00:05:05", {26, 5}, "00:00:06:20", {34, 5}),
  };
  Rendered r = render_and_check(c, dir_);
  ASSERT_TRUE(r.ok);
}

// A Matroska source cut from its start: its audio must be there from the first sample. (The
// audio reader seeks 0.1 s before a shot's start; at or before 0 that is a seek "to the file's
// start", which in this Matroska file lands at 1.9 s.)
TEST_F(Render, MatroskaSourceCutFromItsStartKeepsItsAudio) {
  RenderCase c{.name = "mkvstart", .output = {.width = 320, .height = 180}};
  c.shots = {shot("a_720p30.mp4", "0", "0.5"), shot("i_vfr.mkv", "0", "2.5"),
             shot("i_vfr.mkv", "3", "3.5")};
  Rendered r = render_and_check(c, dir_);
  ASSERT_TRUE(r.ok);
}

// Fit letterboxes (black bars), fill crops (no bars, larger picture), stretch distorts. The
// centred code block shows the scale in each direction: it is 180 px square in the portrait
// sources (min(720, 1280) / 4), 90 px square in the 16:9 ones scaled to 640x360.
TEST_F(Render, FitFillAndStretchPlaceThePicture) {
  RenderCase c{.name = "fit"};
  c.shots = {
      shot("d_portrait.mp4", "0", "0.5", "fit"),      // scale 0.28125: block ~51, bars
      shot("d_portrait.mp4", "0.5", "1", "fill"),     // scale 0.889: block 160, cropped
      shot("d_portrait.mp4", "1", "1.5", "stretch"),  // 0.889 x 0.28125: block 160 x 51
      shot("e_rotated.mp4", "0", "0.5", "fit"),
      shot("e_rotated.mp4", "0.5", "1", "fill"),
      shot("e_rotated.mp4", "1", "1.5", "stretch"),
      shot("a_720p30.mp4", "0", "0.5", "fill"),  // same aspect: all three agree
      shot("b_1080p25.mp4", "0", "0.5", "stretch"),
      shot("c_360p24.mp4", "0", "0.5", "fit"),
  };
  struct Want {
    int block_w, block_h;
    bool bars;
  };
  const std::vector<Want> want = {{51, 51, true},  {160, 160, false}, {160, 51, false},
                                  {51, 51, true},  {160, 160, false}, {160, 51, false},
                                  {90, 90, false}, {90, 90, false},   {90, 90, false}};
  std::map<int, int> frames_seen;
  Rendered r = render_and_check(c, dir_, [&](const AVFrame* f, int64_t i, int s, int64_t) {
    ++frames_seen[s];
    const std::string where = frame_where(c, i, s);
    const Want& w = want[static_cast<std::size_t>(s)];
    BlockSize b = code_block_size(f);
    EXPECT_NEAR(b.width, w.block_w, 4) << where << ": code block width";
    EXPECT_NEAR(b.height, w.block_h, 4) << where << ": code block height";
    if (w.bars) {
      expect_pillarboxed_portrait(f, where);
    } else {
      expect_no_bars(f, where);
    }
  });
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(frames_seen.size(), c.shots.size());
}

// The rotated clip is stored landscape with a -90 degree display matrix: players turn it 90
// degrees clockwise. The output must show the stored picture turned clockwise (not
// anticlockwise, not unturned), pillarboxed. Compared on a coarse luma grid against the stored
// source frame each output frame shows; the unrotated portrait clip checks the method itself.
TEST_F(Render, RotatedClipIsTurnedClockwise) {
  RenderCase c{.name = "rotated"};
  c.shots = {shot("e_rotated.mp4", "1", "2"), shot("d_portrait.mp4", "1", "1.5")};
  // Stored pictures of both sources as 16x9 (e) and 9x16 (d) grids of mean luma.
  std::map<std::string, std::vector<std::vector<double>>> grids;
  for (const auto& [file, cols, rows] :
       {std::tuple{"e_rotated.mp4", 16, 9}, std::tuple{"d_portrait.mp4", 9, 16}}) {
    auto& g = grids[file];
    auto d = media::testing::decode_file(
        test_media_dir() / file, [&, cols = cols, rows = rows](const AVFrame* f, int64_t) {
          g.push_back(luma_grid(f, 0, f->width, 0, f->height, cols, rows));
        });
    ASSERT_TRUE(d.ok()) << d.error().message;
  }
  const std::vector<ExpectedShot> shots = expected_shots(c);
  int compared = 0;
  Rendered r = render_and_check(c, dir_, [&](const AVFrame* f, int64_t i, int s, int64_t k) {
    const std::string& file = c.shots[static_cast<std::size_t>(s)].file;
    const int64_t j = source_frames(file).frame_at(
        div(Q{shots[static_cast<std::size_t>(s)].source_first_frame + k, 1}, c.output.fps));
    const std::vector<double>& src = grids[file][static_cast<std::size_t>(j)];
    Span cols = content_columns(f);
    std::vector<double> out = luma_grid(f, cols.begin, cols.end, 0, f->height, 9, 16);
    const std::string where = frame_where(c, i, s);
    if (file == "e_rotated.mp4") {
      const double cw = mean_abs_difference(out, grid_rotated_clockwise(src, 16, 9));
      const double ccw = mean_abs_difference(out, grid_rotated_anticlockwise(src, 16, 9));
      EXPECT_LT(cw, 8.0) << where << ": not the stored picture turned clockwise (ccw " << ccw
                         << ")";
      EXPECT_LT(cw * 3, ccw) << where;
    } else {
      EXPECT_LT(mean_abs_difference(out, src), 8.0) << where << ": portrait picture changed";
    }
    ++compared;
  });
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(compared, r.total_frames);
}

// Shots that go on forward in the same source continue decoding without a seek; backwards
// shots seek; 24 fps sources repeat frames at 30. All still exact to the frame.
TEST_F(Render, SameSourceForwardBackwardAndRepeatedFrames) {
  RenderCase c{.name = "reuse", .output = {.width = 320, .height = 180, .extension = ".mov"}};
  c.shots = {
      shot("a_720p30.mp4", "1", "2"),     shot("a_720p30.mp4", "2", "3"),      // adjacent
      shot("a_720p30.mp4", "3.5", "4.5"),                                      // a small jump ahead
      shot("a_720p30.mp4", "4.5", "5"),   shot("a_720p30.mp4", "0.5", "1.5"),  // back
      shot("a_720p30.mp4", "1.5", "2"),                                        // forward again
      shot("c_360p24.mp4", "2", "4"),     shot("c_360p24.mp4", "4", "5"),
      shot("c_360p24.mp4", "3", "3.5"),  // back in the 24 fps source
      shot("c_360p24.mp4", "3.5", "4.2"),
  };
  // The expectations themselves must contain repeated source frames (24 -> 30).
  int64_t repeats = 0;
  const std::vector<ExpectedShot> shots = expected_shots(c);
  for (std::size_t s = 6; s < c.shots.size(); ++s) {
    for (int64_t k = 1; k < shots[s].frame_count; ++k) {
      const SourceFrames& sf = source_frames("c_360p24.mp4");
      if (sf.frame_at(div(Q{shots[s].source_first_frame + k, 1}, Q{30, 1})) ==
          sf.frame_at(div(Q{shots[s].source_first_frame + k - 1, 1}, Q{30, 1}))) {
        ++repeats;
      }
    }
  }
  EXPECT_GT(repeats, 20);
  Rendered r = render_and_check(c, dir_);
  ASSERT_TRUE(r.ok);
  EXPECT_GT(r.stats.reader_reuses, 0);
  // Shots 1, 2, 3, 5, 7 and 9 go on forward within a second of where the last one stopped.
  EXPECT_GE(r.stats.reader_reuses, 6) << "video_seeks " << r.stats.video_seeks;
  EXPECT_GE(r.stats.video_seeks, 2);  // the two backward shots at least
}

// Thousands of one-to-three-frame shots at 30000/1001 with 48 kHz audio (1601.6 samples a
// frame): the frame count is exact, every frame is right, and the audio is still the video's
// length to within one AAC frame at the end.
TEST_F(Render, ThousandsOfTinyShotsDoNotDrift) {
  RenderCase c{
      .name = "drift",
      .output = {.width = 320, .height = 180, .fps_json = "\"30000/1001\"", .fps = {30000, 1001}}};
  const std::vector<std::pair<std::string, int>> sources = {
      {"h_ntsc.mp4", 10000}, {"a_720p30.mp4", 10000}, {"c_360p24.mp4", 10000}, {"i_vfr.mkv", 8000}};
  std::mt19937 rng(7);
  const int lengths_ms[] = {40, 55, 70, 85, 100};  // 1.2 to 3 frames at 29.97
  const int gaps_ms[] = {0, 0, 0, 13, 40, 150};
  auto decimal = [](int ms) {
    return std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1);
  };
  for (std::size_t pass = 0; c.shots.size() < 2000; ++pass) {
    const auto& [file, duration_ms] = sources[pass % sources.size()];
    for (int t = 10 + static_cast<int>(pass % 7) * 3; c.shots.size() < 2000;) {
      const int len = lengths_ms[rng() % 5];
      if (t + len > duration_ms - 50) break;
      c.shots.push_back(shot(file, decimal(t), decimal(t + len)));
      t += len + gaps_ms[rng() % 6];
    }
  }
  int64_t frames = 0;
  for (const ExpectedShot& e : expected_shots(c)) {
    ASSERT_GE(e.frame_count, 1);
    ASSERT_LE(e.frame_count, 3);
    frames += e.frame_count;
  }
  Rendered r = render_and_check(c, dir_);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.total_frames, frames);
  EXPECT_GT(r.stats.reader_reuses, 1500);
}

// RenderJob::cancel() before run(): nothing is rendered and nothing is left behind.
// faststart: the same content, with the index (moov) moved in front of the media data (mdat).
TEST_F(Render, FaststartPutsTheIndexFirst) {
  RenderCase c{.name = "faststart",
               .output = {.width = 320, .height = 180, .mp4_layout = "faststart"}};
  c.shots = {shot("a_720p30.mp4", "1", "2"), shot("c_360p24.mp4", "2.5", "3.5")};
  Rendered r = render_and_check(c, dir_);
  ASSERT_TRUE(r.ok);
  std::ifstream in(r.file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t moov = bytes.find("moov");
  std::size_t mdat = bytes.find("mdat");
  ASSERT_NE(moov, std::string::npos);
  ASSERT_NE(mdat, std::string::npos);
  EXPECT_LT(moov, mdat);
}

TEST_F(Render, CancelledBeforeRunWritesNothing) {
  RenderCase c{.name = "cancel0", .output = {.width = 320, .height = 180}};
  c.shots = {shot("a_720p30.mp4", "0", "2")};
  blueprint::ParseResult parsed = blueprint::parse_blueprint(blueprint_json(c), test_media_dir());
  ASSERT_TRUE(parsed.ok());
  engine::ResolveResult resolved = engine::resolve_timeline(*parsed.blueprint);
  ASSERT_TRUE(resolved.timeline);
  engine::RenderJob job(std::move(*resolved.timeline), {.output = dir_ / "out.mp4"});
  job.cancel();
  Status s = job.run();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::Cancelled) << s.error().message;
  EXPECT_TRUE(fs::is_empty(dir_)) << "files left in " << dir_;
}

// RenderJob::cancel() from another thread mid-render: run() returns Cancelled promptly and
// neither the output nor its temp file remains.
TEST_F(Render, CancelledMidRenderWritesNothing) {
  RenderCase c{.name = "cancel1", .output = {.width = 640, .height = 360, .preset = "medium"}};
  for (int i = 0; i < 6; ++i) c.shots.push_back(shot("b_1080p25.mp4", "0", "8"));
  blueprint::ParseResult parsed = blueprint::parse_blueprint(blueprint_json(c), test_media_dir());
  ASSERT_TRUE(parsed.ok());
  engine::ResolveResult resolved = engine::resolve_timeline(*parsed.blueprint);
  ASSERT_TRUE(resolved.timeline);
  engine::RenderJob job(std::move(*resolved.timeline), {.output = dir_ / "out.mp4"});
  auto run = std::async(std::launch::async, [&] { return job.run(); });
  // Wait (bounded) until frames are being encoded; the render needs far longer to finish.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (job.progress().frames_done < 10 &&
         run.wait_for(std::chrono::milliseconds(5)) == std::future_status::timeout &&
         std::chrono::steady_clock::now() < deadline) {
  }
  const int64_t done = job.progress().frames_done;
  EXPECT_LT(done, job.progress().frames_total / 2) << "render nearly finished before cancel";
  job.cancel();
  ASSERT_EQ(run.wait_for(std::chrono::seconds(30)), std::future_status::ready)
      << "cancel did not stop the render";
  Status s = run.get();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::Cancelled) << s.error().message;
  EXPECT_TRUE(fs::is_empty(dir_)) << "files left in " << dir_;
}

}  // namespace
}  // namespace leancut::testing
