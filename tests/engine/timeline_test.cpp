// resolve_timeline: a parsed blueprint against real (generated) media. Frame and sample ranges
// follow docs/blueprint.md's time rules exactly, timecodes count at each source's own rate, and
// every media-dependent problem is reported at once with its JSON path.
#include "engine/timeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "blueprint/parse.h"
#include "support/exact.h"
#include "support/test_media_env.h"

namespace leancut {
// Readable failures: "3/2" instead of the object's bytes.
void PrintTo(const Rational& r, std::ostream* os) {
  *os << r.to_string();
}
}  // namespace leancut

namespace leancut::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::Q;

const void* const kMediaEnv = testing::register_test_media_environment();

// A blueprint over the standard media: `shots` is the inside of the shots array.
std::string blueprint_json(const std::string& fps_json, const std::string& shots,
                           int sample_rate = 48000) {
  return R"({"version": 1, "output": {"width": 320, "height": 180, "fps": )" + fps_json +
         R"(, "audio": {"sample_rate": )" + std::to_string(sample_rate) + R"(}}, "shots": [)" +
         shots + "]}";
}

ResolveResult resolve(const std::string& json) {
  blueprint::ParseResult parsed = blueprint::parse_blueprint(json, testing::test_media_dir());
  EXPECT_TRUE(parsed.ok()) << (parsed.diagnostics.empty() ? std::string()
                                                          : parsed.diagnostics[0].to_string());
  if (!parsed.ok()) return {};
  return resolve_timeline(*parsed.blueprint);
}

std::string all(const std::vector<blueprint::Diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds) s += d.to_string() + "\n";
  return s;
}

// What the time rules say, computed here from first principles: the shot's frames, its first
// frame on the output, and its audio sample range.
struct Expected {
  int64_t source_first_frame, frame_count, first_frame, first_sample, sample_count;
};
std::vector<Expected> expected_ranges(const std::vector<std::pair<Q, Q>>& in_out, Q fps,
                                      int64_t rate) {
  std::vector<Expected> out;
  int64_t cumulative = 0;
  for (auto [in, o] : in_out) {
    const int64_t f0 = testing::round_half_up(testing::mul(in, fps));
    const int64_t n = testing::round_half_up(testing::mul(o, fps)) - f0;
    auto sample = [&](int64_t frame) {
      return testing::round_half_up(testing::mul(testing::div(Q{frame, 1}, fps), Q{rate, 1}));
    };
    out.push_back(
        {f0, n, cumulative, sample(cumulative), sample(cumulative + n) - sample(cumulative)});
    cumulative += n;
  }
  return out;
}

TEST(ResolveTimeline, FrameAndSampleRangesAt30Fps) {
  ResolveResult r = resolve(blueprint_json("30", R"(
      {"source": "a_720p30.mp4", "in": 1.5, "out": 3},
      {"source": "b_1080p25.mp4", "in": 0, "out": 2},
      {"source": "c_360p24.mp4", "in": 0.01, "out": 0.05})"));
  ASSERT_TRUE(r.timeline) << all(r.diagnostics);
  const Timeline& tl = *r.timeline;
  ASSERT_EQ(tl.shots.size(), 3u);
  // [1.5, 3): round(45) - round(90) = 45 frames; [0, 2): 60; [0.01, 0.05): round(1.5) - round(0.3)
  // = 2 - 0 = 2 (halves away from zero).
  EXPECT_EQ(tl.shots[0].source_first_frame, 45);
  EXPECT_EQ(tl.shots[0].frame_count, 45);
  EXPECT_EQ(tl.shots[1].frame_count, 60);
  EXPECT_EQ(tl.shots[2].source_first_frame, 0);
  EXPECT_EQ(tl.shots[2].frame_count, 2);
  EXPECT_EQ(tl.shots[1].timeline_first_frame, 45);
  EXPECT_EQ(tl.shots[2].timeline_first_frame, 105);
  EXPECT_EQ(tl.total_frames, 107);
  // 1600 samples a frame at 48 kHz / 30 fps.
  EXPECT_EQ(tl.shots[1].timeline_first_sample, 72000);
  EXPECT_EQ(tl.shots[1].sample_count, 96000);
  EXPECT_EQ(tl.total_samples, 107 * 1600);
  EXPECT_EQ(tl.duration(), Rational(107, 30));
  EXPECT_EQ(tl.sources.size(), 3u);
  EXPECT_EQ(tl.shots[0].slot_time(0, Rational{30}), Rational(3, 2));
  EXPECT_EQ(tl.shots[0].slot_time(7, Rational{30}), Rational(52, 30));
}

TEST(ResolveTimeline, NtscOutputSampleBoundariesAreRoundedFromCumulativeFrames) {
  // At 30000/1001 and 48 kHz a frame is 1601.6 samples: boundaries must come from cumulative
  // frame counts, never from summing rounded shot lengths.
  std::string shots;
  std::vector<std::pair<Q, Q>> in_out;
  for (int i = 0; i < 40; ++i) {
    // [i*0.2, i*0.2 + 0.07): 2 or 3 frames each, fractions everywhere.
    const int in_ms = 200 * i;
    const int out_ms = in_ms + 70;
    if (i > 0) shots += ",";
    shots += R"({"source": "h_ntsc.mp4", "in": )" + std::to_string(in_ms / 1000) + "." +
             std::to_string(1000 + in_ms % 1000).substr(1) + R"(, "out": )" +
             std::to_string(out_ms / 1000) + "." + std::to_string(1000 + out_ms % 1000).substr(1) +
             "}";
    in_out.push_back({Q{in_ms, 1000}, Q{out_ms, 1000}});
  }
  ResolveResult r = resolve(blueprint_json(R"("30000/1001")", shots, 44100));
  ASSERT_TRUE(r.timeline) << all(r.diagnostics);
  std::vector<Expected> want = expected_ranges(in_out, Q{30000, 1001}, 44100);
  ASSERT_EQ(r.timeline->shots.size(), want.size());
  int64_t frames = 0;
  int64_t samples = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const ResolvedShot& s = r.timeline->shots[i];
    SCOPED_TRACE("shot " + std::to_string(i));
    EXPECT_EQ(s.index, static_cast<int>(i));
    EXPECT_EQ(s.source_first_frame, want[i].source_first_frame);
    EXPECT_EQ(s.frame_count, want[i].frame_count);
    EXPECT_EQ(s.timeline_first_frame, want[i].first_frame);
    EXPECT_EQ(s.timeline_first_sample, want[i].first_sample);
    EXPECT_EQ(s.sample_count, want[i].sample_count);
    EXPECT_EQ(s.timeline_first_frame, frames);  // contiguous
    EXPECT_EQ(s.timeline_first_sample, samples);
    frames += s.frame_count;
    samples += s.sample_count;
  }
  EXPECT_EQ(r.timeline->total_frames, frames);
  EXPECT_EQ(r.timeline->total_samples, samples);
  // The total is exactly sample_at(total / fps), whatever the shots.
  EXPECT_EQ(samples, testing::round_half_up(
                         testing::mul(testing::div(Q{frames, 1}, Q{30000, 1001}), Q{44100, 1})));
  EXPECT_EQ(r.timeline->sources.size(), 1u);  // probed once
}

TEST(ResolveTimeline, AdjacentShotsOfOneRangeAddUpToTheWhole) {
  ResolveResult whole = resolve(
      blueprint_json(R"("24000/1001")", R"({"source": "a_720p30.mp4", "in": 0.3, "out": 7.7})"));
  ResolveResult cut = resolve(blueprint_json(R"("24000/1001")", R"(
      {"source": "a_720p30.mp4", "in": 0.3, "out": 1.01},
      {"source": "a_720p30.mp4", "in": 1.01, "out": 4.321},
      {"source": "a_720p30.mp4", "in": 4.321, "out": 7.7})"));
  ASSERT_TRUE(whole.timeline && cut.timeline);
  EXPECT_EQ(whole.timeline->total_frames, cut.timeline->total_frames);
  EXPECT_EQ(whole.timeline->total_samples, cut.timeline->total_samples);
}

TEST(ResolveTimeline, TimecodesCountAtEachSourcesOwnRate) {
  ResolveResult r = resolve(blueprint_json("30", R"(
      {"source": "h_ntsc.mp4", "in": "00:00:01:15", "out": "00:00:02;00"},
      {"source": "b_1080p25.mp4", "in": "00:00:02:10", "out": "00:00:03:00"},
      {"source": "c_360p24.mp4", "in": "00:00:00:12", "out": 1},
      {"source": "a_720p30.mp4", "in": 2, "out": "00:00:02:15"})"));
  ASSERT_TRUE(r.timeline) << all(r.diagnostics);
  const auto& s = r.timeline->shots;
  // NTSC: frame 45 at 30000/1001 is 45 * 1001 / 30000 s; drop-frame ;00 at second 2 is frame 60.
  EXPECT_EQ(s[0].in, Rational(45 * 1001, 30000));
  EXPECT_EQ(s[0].out, Rational(60 * 1001, 30000));
  // 25 fps: frame 60 = 2.4 s, frame 75 = 3 s.
  EXPECT_EQ(s[1].in, Rational(12, 5));
  EXPECT_EQ(s[1].out, Rational(3));
  // 24 fps: frame 12 = 0.5 s.
  EXPECT_EQ(s[2].in, Rational(1, 2));
  // 30 fps: frame 75 = 2.5 s.
  EXPECT_EQ(s[3].out, Rational(5, 2));
  // Output frames from the converted seconds: round(1.5015 * 30) = 45, round(2.002 * 30) = 60.
  EXPECT_EQ(s[0].source_first_frame, 45);
  EXPECT_EQ(s[0].frame_count, 15);
  EXPECT_EQ(s[1].frame_count, 18);
  EXPECT_EQ(s[2].frame_count, 15);
  EXPECT_EQ(s[3].frame_count, 15);
}

TEST(ResolveTimeline, VfrSourceTimecodesCountAtItsNominalAverageRate) {
  // probe.h: frame_rate is the "nominal (average) rate; timecodes count frames at this rate".
  // i_vfr.mkv has 160 frames over 8 s: 20 fps on average (its frames last 33 or 67 ms).
  const media::ClipInfo& vfr = testing::test_clip("i_vfr.mkv");
  ResolveResult r =
      resolve(blueprint_json("30", R"({"source": "i_vfr.mkv", "in": "00:00:00:10", "out": 2})"));
  ASSERT_TRUE(r.timeline) << all(r.diagnostics);
  const Rational average{vfr.frames, 8};
  EXPECT_EQ(average, Rational(20));
  EXPECT_EQ(r.timeline->sources[0].video->frame_rate, average);
  EXPECT_EQ(r.timeline->shots[0].in, Rational(10) / average);
}

TEST(ResolveTimeline, AudioFlagsFollowTheShotAndTheSource) {
  ResolveResult r = resolve(blueprint_json("30", R"(
      {"source": "a_720p30.mp4", "in": 0, "out": 1},
      {"source": "a_720p30.mp4", "in": 1, "out": 2, "audio": false},
      {"source": "f_noaudio.mp4", "in": 0, "out": 1, "fit": "fill"},
      {"source": "g_shortaudio.mp4", "in": 5, "out": 6, "fit": "stretch"})"));
  ASSERT_TRUE(r.timeline) << all(r.diagnostics);
  const auto& s = r.timeline->shots;
  EXPECT_TRUE(s[0].take_audio);
  EXPECT_FALSE(s[1].take_audio);
  EXPECT_FALSE(s[2].take_audio);
  EXPECT_TRUE(s[3].take_audio);  // audio ends at 3 s: the normalizer pads, the shot still asks
  EXPECT_EQ(s[0].fit, media::FitMode::Fit);
  EXPECT_EQ(s[2].fit, media::FitMode::Fill);
  EXPECT_EQ(s[3].fit, media::FitMode::Stretch);
  EXPECT_EQ(s[0].source, s[1].source);
  EXPECT_EQ(r.timeline->sources.size(), 3u);
  // Silent shots still own their samples.
  EXPECT_EQ(s[1].sample_count, 48000);
  EXPECT_EQ(s[2].sample_count, 48000);
}

TEST(ResolveTimeline, ShotsMayEndExactlyAtTheSourcesEnd) {
  ResolveResult r = resolve(blueprint_json("30", R"(
      {"source": "a_720p30.mp4", "in": 9, "out": 10},
      {"source": "h_ntsc.mp4", "in": 9, "out": "1001/100"},
      {"source": "j_offset.ts", "in": 7, "out": 8})"));
  ASSERT_TRUE(r.timeline) << all(r.diagnostics);
  EXPECT_EQ(r.timeline->sources[1].video->duration, Rational(1001, 100));
  EXPECT_EQ(r.timeline->sources[2].video->duration, Rational(8));
}

// A blueprint of `shots` with audio beds `beds` (the inside of the audio array).
std::string with_beds(const std::string& shots, const std::string& beds) {
  std::string json = blueprint_json("30", shots);
  json.pop_back();  // the closing brace
  return json + R"(, "audio": [)" + beds + "]}";
}

TEST(ResolveTimeline, BedsLandOnTheOutputsSampleGrid) {
  // 4 s of output; c_360p24 (10 s, mono 44.1 kHz) as beds.
  const std::string c = (testing::test_media_dir() / "c_360p24.mp4").string();
  ResolveResult r = resolve(with_beds(R"({"color": "black", "duration": 4})",
                                      R"({"source": ")" + c +
                                          R"(", "at": 0.5, "in": 1, "out": 2.25, "gain_db": -6,
          "fade_in": 0.25, "fade_out": 0.1},
         {"source": ")" + c + R"(", "at": "1/3", "in": 2, "out": 3, "loop": true},
         {"source": ")" + c + R"(", "at": 3, "duck": true})"));
  ASSERT_TRUE(r.timeline.has_value()) << all(r.diagnostics);
  const Timeline& tl = *r.timeline;
  ASSERT_EQ(tl.beds.size(), 3u);
  EXPECT_EQ(tl.beds[0].first_sample, 24000);
  EXPECT_EQ(tl.beds[0].sample_count, 60000);  // 1.25 s once
  EXPECT_EQ(tl.beds[0].period, 60000);
  EXPECT_EQ(tl.beds[0].in, Rational{1});
  EXPECT_NEAR(tl.beds[0].gain, 0.501187, 1e-6);
  EXPECT_EQ(tl.beds[0].fade_in, 12000);
  EXPECT_EQ(tl.beds[0].fade_out, 4800);
  EXPECT_EQ(tl.beds[1].first_sample, 16000);
  EXPECT_EQ(tl.beds[1].sample_count, tl.total_samples - 16000);  // loops to the end
  EXPECT_EQ(tl.beds[1].period, 48000);
  // The rest of the source from 0 would run to 13 s: cut at the timeline's end.
  EXPECT_EQ(tl.beds[2].first_sample + tl.beds[2].sample_count, tl.total_samples);
  EXPECT_TRUE(tl.beds[2].duck.has_value());
  EXPECT_FALSE(tl.beds[0].duck.has_value());
  // The bed's source joins the timeline's sources once.
  EXPECT_EQ(tl.beds[0].source, tl.beds[1].source);
}

TEST(ResolveTimeline, BedProblemsAreReportedWithTheirPaths) {
  const std::string c = (testing::test_media_dir() / "c_360p24.mp4").string();
  const std::string f = (testing::test_media_dir() / "f_noaudio.mp4").string();
  ResolveResult r = resolve(
      with_beds(R"({"color": "black", "duration": 4})", R"({"source": ")" + c + R"(", "out": 12},
         {"source": ")" + f + R"("},
         {"source": ")" + c + R"(", "at": 4},
         {"source": ")" + c + R"(", "in": 1, "out": 2, "duration": 3},
         {"source": ")" + c + R"(", "in": 1, "out": 2, "fade_in": 0.75, "fade_out": 0.5},
         {"source": "/no/such.mp4"})"));
  EXPECT_FALSE(r.timeline.has_value());
  const std::string text = all(r.diagnostics);
  EXPECT_THAT(text, HasSubstr("audio[0].out: 12s is past the end of"));
  EXPECT_THAT(text, HasSubstr("audio[1].source: "));
  EXPECT_THAT(text, HasSubstr("has no audio stream"));
  EXPECT_THAT(text, HasSubstr("audio[2].at: 4s is at or past the end of the timeline (4s)"));
  EXPECT_THAT(text, HasSubstr("audio[3].duration: 3s is longer than [in, out) (1s)"));
  EXPECT_THAT(text, HasSubstr("audio[4].fade_out: fade_in + fade_out (1.25s)"));
  EXPECT_THAT(text, HasSubstr("audio[5].source: "));
  EXPECT_EQ(r.diagnostics.size(), 6u) << text;
}

class MediaDiagnostics : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("leancut-timeline-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "corrupt.mp4", std::ios::binary)
        << std::string("this is not a video at all, just some bytes \x01\x02\x03\xff", 48);
    fs::copy_file(testing::test_media_dir() / "a_720p30.mp4", dir_ / "a.mp4");
    write_wav(dir_ / "tone.wav");
  }
  // A valid audio-only file (one second of 16-bit mono silence at 8 kHz): media, but no video.
  static void write_wav(const fs::path& p) {
    const uint32_t rate = 8000;
    const uint32_t data_bytes = rate * 2;
    std::ofstream f(p, std::ios::binary);
    auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
    f << "RIFF";
    u32(36 + data_bytes);
    f << "WAVEfmt ";
    u32(16);
    u16(1);  // PCM
    u16(1);  // mono
    u32(rate);
    u32(rate * 2);
    u16(2);
    u16(16);
    f << "data";
    u32(data_bytes);
    f << std::string(data_bytes, '\0');
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ResolveResult resolve_here(const std::string& shots, const std::string& fps = "30") {
    std::string json = blueprint_json(fps, shots);
    blueprint::ParseResult parsed = blueprint::parse_blueprint(json, dir_);
    EXPECT_TRUE(parsed.ok()) << (parsed.diagnostics.empty() ? std::string()
                                                            : parsed.diagnostics[0].to_string());
    if (!parsed.ok()) return {};
    return resolve_timeline(*parsed.blueprint);
  }
  fs::path dir_;
};

TEST_F(MediaDiagnostics, EveryProblemIsReportedAtOnceInDocumentOrder) {
  const std::string ntsc = (testing::test_media_dir() / "h_ntsc.mp4").string();
  const std::string b = (testing::test_media_dir() / "b_1080p25.mp4").string();
  ResolveResult r = resolve_here(R"(
      {"source": "a.mp4", "in": 0, "out": 1},
      {"source": "missing.mp4", "in": 0, "out": 1},
      {"source": "a.mp4", "in": 9, "out": 10.5},
      {"source": "a.mp4", "in": 11, "out": 12},
      {"source": "corrupt.mp4", "in": 0, "out": 1},
      {"source": "a.mp4", "in": 1, "out": 1.01},
      {"source": ")" + ntsc + R"(", "in": "00:00:00:30", "out": 2},
      {"source": ")" + b + R"(", "in": 0, "out": "00:00:01;00"},
      {"source": "a.mp4", "in": "00:00:03:06", "out": 3},
      {"source": "missing.mp4", "in": 2, "out": 3},
      {"source": "tone.wav", "in": 0, "out": 0.5})");
  ASSERT_FALSE(r.timeline);
  std::vector<std::string> paths;
  for (const auto& d : r.diagnostics) paths.push_back(d.path);
  EXPECT_THAT(paths, ::testing::ElementsAre("shots[1].source", "shots[2].out", "shots[3].in",
                                            "shots[3].out", "shots[4].source", "shots[5].out",
                                            "shots[6].in", "shots[7].out", "shots[8].out",
                                            "shots[9].source", "shots[10].source"))
      << all(r.diagnostics);
  if (r.diagnostics.size() != 11u) return;
  const auto& d = r.diagnostics;
  EXPECT_THAT(d[0].message, HasSubstr("missing.mp4: no such file"));
  EXPECT_THAT(d[1].message,
              ::testing::MatchesRegex("10\\.5s is past the end of .*a\\.mp4 \\(10s\\)"));
  EXPECT_THAT(d[2].message, ::testing::MatchesRegex("11s is past the end of .*a\\.mp4 \\(10s\\)"));
  EXPECT_THAT(d[3].message, ::testing::MatchesRegex("12s is past the end of .*a\\.mp4 \\(10s\\)"));
  EXPECT_THAT(d[4].message, HasSubstr("corrupt.mp4"));
  EXPECT_EQ(d[5].message, "the shot [1s, 1.01s) is shorter than one output frame (0.0333s)");
  EXPECT_EQ(d[6].message,
            R"("00:00:00:30": frame 30 is out of range at 30000/1001 fps (00 to 29))");
  EXPECT_EQ(
      d[7].message,
      R"("00:00:01;00" is drop-frame, which exists only at 30000/1001 and 60000/1001 fps, not at 25)");
  EXPECT_EQ(d[8].message, "3s must be after in (3.2s)");
  EXPECT_THAT(d[9].message, HasSubstr("missing.mp4: no such file"));
  EXPECT_THAT(d[10].message, HasSubstr("tone.wav"));
  EXPECT_THAT(d[10].message, HasSubstr("no video stream"));
}

TEST_F(MediaDiagnostics, DropFrameTimecodesResolveAtTheNtscSourcesRate) {
  // (A label drop-frame skips, such as 00:01:00;00, is refused by the parser already.)
  const std::string ntsc = (testing::test_media_dir() / "h_ntsc.mp4").string();
  ResolveResult r =
      resolve_here(R"({"source": ")" + ntsc + R"(", "in": "00:00:00;01", "out": "00:00:01;00"})");
  ASSERT_TRUE(r.timeline) << all(r.diagnostics);
  EXPECT_EQ(r.timeline->shots[0].in, Rational(1001, 30000));
  EXPECT_EQ(r.timeline->shots[0].out, Rational(30 * 1001, 30000));
  // Past the end of a 10.01 s source, in timecode.
  ResolveResult late =
      resolve_here(R"({"source": ")" + ntsc + R"(", "in": "00:00:09;00", "out": "00:00:10;15"})");
  ASSERT_FALSE(late.timeline);
  ASSERT_EQ(late.diagnostics.size(), 1u) << all(late.diagnostics);
  EXPECT_EQ(late.diagnostics[0].path, "shots[0].out");
  EXPECT_THAT(
      late.diagnostics[0].message,
      ::testing::MatchesRegex("10\\.51[0-9]*s is past the end of .*h_ntsc\\.mp4 \\(10\\.01s\\)"));
}

TEST_F(MediaDiagnostics, UnreadableSourceIsReported) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  fs::permissions(dir_ / "a.mp4", fs::perms::none);
  ResolveResult r = resolve_here(R"({"source": "a.mp4", "in": 0, "out": 1})");
  ASSERT_FALSE(r.timeline);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].path, "shots[0].source");
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("not readable (permission denied)"));
}

}  // namespace
}  // namespace leancut::engine
