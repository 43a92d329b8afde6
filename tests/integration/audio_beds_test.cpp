// Audio beds (blueprint "audio": music under the shots) through the real binary, checked by
// decoding the output and measuring the bed's own frequency: c_360p24's 500 Hz tone (a mono
// 44.1 kHz source, so every bed is resampled) under shots of a_720p30's 300 Hz tone or silence.
// Placement (at/in/out) is checked by the tone's phase against the source's, the loop's seams
// likewise, levels as ratios to the same tone played as a shot.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "support/audio_analysis.h"
#include "support/subprocess.h"
#include "support/test_media_env.h"

namespace leancut::testing {
namespace {

namespace fs = std::filesystem;

const void* const kMediaEnv = register_test_media_environment();

constexpr int kRate = 48000;
constexpr double kBedHz = 500;   // c_360p24.mp4
constexpr double kShotHz = 300;  // a_720p30.mp4
constexpr double kTwoPi = 2 * std::numbers::pi;

#ifdef __SANITIZE_ADDRESS__
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

class AudioBeds : public ::testing::Test {
 protected:
  void SetUp() override {
    if (leancut_binary().empty()) GTEST_SKIP() << "LEANCUT_BINARY is not set";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-beds-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto src = decode_audio_mono(test_media_dir() / "c_360p24.mp4");
    ASSERT_TRUE(src.ok()) << src.error().message;
    bed_source_ = std::move(src).value();
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  static std::string media(const std::string& file) { return (test_media_dir() / file).string(); }
  // A colour shot: silence for `seconds`.
  static std::string silence(const std::string& seconds) {
    return R"({"color": "black", "duration": )" + seconds + "}";
  }
  static std::string tone(const std::string& in, const std::string& out, bool audio = true) {
    return R"({"source": ")" + media("a_720p30.mp4") + R"(", "in": )" + in + R"(, "out": )" + out +
           (audio ? "" : R"(, "audio": false)") + "}";
  }
  static std::string bed(const std::string& fields) {
    return R"({"source": ")" + media("c_360p24.mp4") + R"(", )" + fields + "}";
  }

  // Renders at 320x180, 30 fps; returns the decoded audio (mono), and the report in report_.
  DecodedAudio render(const std::string& shots, const std::string& audio,
                      const std::string& output_audio = "") {
    const fs::path bp = dir_ / "bp.json";
    std::ofstream(bp) << R"({"version": 1, "output": {"width": 320, "height": 180, "fps": 30,
        "video": {"preset": "ultrafast"})"
                      << (output_audio.empty() ? "" : ", \"audio\": " + output_audio)
                      << R"(}, "shots": [)" << shots << R"(], "audio": [)" << audio << "]}";
    const fs::path out = dir_ / "out.mp4";
    const fs::path report = dir_ / "report.json";
    // A content test, not a budget test: a budget any build fits (under ASan the RSS before the job
    // alone is large).
    ProcessResult r = run_process({leancut_binary(), "render", bp.string(), "-o", out.string(),
                                   "-q", "--report", report.string(), "--memory", "2G"},
                                  240000);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    report_ = nlohmann::json::parse(std::ifstream(report), nullptr, false);
    auto decoded = decode_audio_mono(out);
    EXPECT_TRUE(decoded.ok()) << decoded.error().message;
    out_file_ = out;
    return decoded.ok() ? std::move(decoded).value() : DecodedAudio{};
  }

  // Output samples for [from, to) seconds of the output's timeline.
  static std::span<const float> at(const DecodedAudio& a, double from, double to) {
    const int64_t start = std::llround((from - a.first_s) * kRate);
    return a.window(start, std::llround((to - from) * kRate));
  }
  // The amplitude of `hz` in the window (tone_power gives ~A²/4 for a sine of amplitude A).
  static double amplitude(std::span<const float> w, double hz) {
    return 2 * std::sqrt(tone_power(w, kRate, hz));
  }
  static double db(double ratio) { return 20 * std::log10(ratio); }

  // How far (seconds, signed) the bed's tone in the output window [from, from + 0.1) is from
  // the source's tone at source time `src`: 0 when the output plays the source from there.
  double offset_from_source(const DecodedAudio& out, double from, double src) const {
    const double src_rate = bed_source_.sample_rate;
    const int64_t n0 = std::llround((src - bed_source_.first_s) * src_rate);
    const double src_phase =
        tone_phase(bed_source_.window(n0, std::llround(0.1 * src_rate)), bed_source_.sample_rate,
                   kBedHz) +
        kTwoPi * kBedHz * (src - (bed_source_.first_s + static_cast<double>(n0) / src_rate));
    const int64_t m0 = std::llround((from - out.first_s) * kRate);
    const double out_phase =
        tone_phase(out.window(m0, kRate / 10), kRate, kBedHz) +
        kTwoPi * kBedHz * (from - (out.first_s + static_cast<double>(m0) / kRate));
    return std::remainder(out_phase - src_phase, kTwoPi) / (kTwoPi * kBedHz);
  }

  // The first sample at or after `from` whose level exceeds `level`, in seconds.
  static double onset(const DecodedAudio& a, double from, double level) {
    const int64_t start = std::max<int64_t>(0, std::llround((from - a.first_s) * kRate));
    for (int64_t i = start; i < static_cast<int64_t>(a.mono.size()); ++i) {
      if (std::abs(a.mono[static_cast<size_t>(i)]) > level) {
        return a.first_s + static_cast<double>(i) / kRate;
      }
    }
    return -1;
  }

  fs::path dir_;
  fs::path out_file_;
  DecodedAudio bed_source_;
  nlohmann::json report_;
};

TEST_F(AudioBeds, PlacedAtInOutWithGainUnderSilence) {
  // 1 s of the bed's tone as a shot (the reference level), then 4 s of silence; the bed plays
  // source [2, 4) at 2 s on the output, 6 dB down.
  const DecodedAudio o = render(
      R"({"source": ")" + media("c_360p24.mp4") + R"(", "in": 0, "out": 1}, )" + silence("4"),
      bed(R"("at": 2, "in": 2.0005, "out": 4, "gain_db": -6)"));
  ASSERT_FALSE(o.mono.empty());
  const double reference = amplitude(at(o, 0.1, 0.9), kBedHz);
  ASSERT_GT(reference, 0.05);
  // Silent between the shot and the bed, and after the bed.
  EXPECT_LT(rms(at(o, 1.1, 1.95)), reference * 1e-3);
  EXPECT_LT(rms(at(o, 4.05, 5.0)), reference * 1e-3);
  // The bed starts at 2 s to within a sample or two (the AAC codec smears an edge over a few),
  // and well within a video frame.
  EXPECT_NEAR(onset(o, 1.5, reference * 0.05), 2.0, 2e-3);
  // Its level: 6 dB below the same tone played as a shot.
  EXPECT_NEAR(db(amplitude(at(o, 2.2, 3.8), kBedHz) / reference), -6.0, 0.3);
  // It plays the source from `in`: at output 2.5 s, source 2.5005 s; at 3.5 s, source 3.5005 s.
  // (The tone repeats every 2 ms, so `in` is a quarter period off the grid: an `in` ignored or
  // off by whole periods would show as a 0.5 ms offset.)
  EXPECT_NEAR(offset_from_source(o, 2.5, 2.5005), 0.0, 1e-4);
  EXPECT_NEAR(offset_from_source(o, 3.5, 3.5005), 0.0, 1e-4);
  // A different `in` moves the source under the same output place (so the check can fail).
  const DecodedAudio shifted =
      render(silence("5"), bed(R"("at": 2, "in": 1.2505, "out": 4, "gain_db": -6)"));
  EXPECT_NEAR(offset_from_source(shifted, 2.5, 1.7505), 0.0, 1e-4);
}

TEST_F(AudioBeds, AnAudioOnlyFileIsABed) {
  // c_360p24's audio alone in an .m4a (no video stream), made by the ffmpeg program.
  if (!fs::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "no ffmpeg program to make the file with";
  const fs::path m4a = dir_ / "music.m4a";
  ProcessResult made = run_process({"/usr/bin/ffmpeg", "-nostdin", "-loglevel", "error", "-i",
                                    media("c_360p24.mp4"), "-vn", "-c:a", "copy", m4a.string()},
                                   60000);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const DecodedAudio o = render(
      silence("3"), R"({"source": ")" + m4a.string() + R"(", "at": 1, "in": 2.0005, "out": 4})");
  ASSERT_FALSE(o.mono.empty());
  EXPECT_LT(rms(at(o, 0.1, 0.95)), 1e-3);
  EXPECT_GT(amplitude(at(o, 1.1, 2.9), kBedHz), 0.05);
  EXPECT_NEAR(onset(o, 0.5, 0.005), 1.0, 2e-3);
  // The same source times as from the .mp4 (its audio starts with its first frame).
  EXPECT_NEAR(offset_from_source(o, 1.5, 2.5005), 0.0, 1e-4);
}

TEST_F(AudioBeds, FadesRampFromSilenceToFullAndBack) {
  const DecodedAudio o =
      render(silence("4"), bed(R"("in": 0, "out": 4, "fade_in": 1, "fade_out": 1)"));
  ASSERT_FALSE(o.mono.empty());
  const double full = amplitude(at(o, 1.5, 2.5), kBedHz);
  ASSERT_GT(full, 0.05);
  // Linear ramps: the mean gain over [t, t + 0.1) of the fade in is t + 0.05.
  for (double t : {0.0, 0.45, 0.9}) {
    EXPECT_NEAR(amplitude(at(o, t, t + 0.1), kBedHz) / full, t + 0.05, 0.03) << "fade in at " << t;
  }
  for (double t : {3.0, 3.45, 3.9}) {
    EXPECT_NEAR(amplitude(at(o, t, t + 0.1), kBedHz) / full, 4 - t - 0.05, 0.03)
        << "fade out at " << t;
  }
}

TEST_F(AudioBeds, LoopRepeatsThePassWithSeamsOnTheSampleGrid) {
  // A 1.0025 s pass (501.25 periods of the tone, so each seam jumps the phase by a quarter
  // period) looped over 5 s of silence.
  const double in = 2, period = 1.0025;
  const DecodedAudio o = render(silence("5"), bed(R"("in": 2, "out": 3.0025, "loop": true)"));
  ASSERT_FALSE(o.mono.empty());
  const double full = amplitude(at(o, 0.1, 0.9), kBedHz);
  ASSERT_GT(full, 0.05);
  for (int k = 0; k < 5; ++k) {
    const double seam = k * period;
    // Present throughout each pass...
    EXPECT_NEAR(amplitude(at(o, seam + 0.05, std::min(seam + 0.95, 4.95)), kBedHz) / full, 1.0,
                0.02)
        << "pass " << k;
    // ... and each pass plays the source from `in` again: right after the seam, source `in`.
    if (seam + 0.15 < 5) {
      EXPECT_NEAR(offset_from_source(o, seam + 0.01, in + 0.01), 0.0, 1e-4) << "seam " << k;
    }
  }
}

TEST_F(AudioBeds, DucksUnderTheShotsAudioAndRecovers) {
  // Tone, silence, tone, silence (1 s, 2 s, 1 s, 2 s); the bed loops under all of it, ducked
  // by 12 dB with a 50 ms attack and a 500 ms release.
  const DecodedAudio o = render(tone("0", "1") + ", " + tone("1", "3", false) + ", " +
                                    tone("3", "4") + ", " + tone("4", "6", false),
                                bed(R"("in": 0, "out": 9, "duck": {"amount_db": -12, "attack": 0.05,
                 "release": 0.5})"));
  ASSERT_FALSE(o.mono.empty());
  const double open1 = amplitude(at(o, 1.6, 2.9), kBedHz);  // after the release
  const double open2 = amplitude(at(o, 4.6, 5.9), kBedHz);
  const double ducked1 = amplitude(at(o, 0.1, 0.9), kBedHz);  // after the attack
  const double ducked2 = amplitude(at(o, 3.1, 3.9), kBedHz);
  ASSERT_GT(open1, 0.05);
  EXPECT_NEAR(db(ducked1 / open1), -12.0, 0.5);
  EXPECT_NEAR(db(ducked2 / open2), -12.0, 0.5);
  EXPECT_NEAR(db(open2 / open1), 0.0, 0.2);
  // Halfway through the release (20 ms hold, then 12 dB over 500 ms), about 6 dB down.
  EXPECT_NEAR(db(amplitude(at(o, 1.22, 1.32), kBedHz) / open1), -6.0, 1.5);
  // The shots' own tone is untouched by the bed's ducking.
  EXPECT_GT(amplitude(at(o, 0.1, 0.9), kShotHz), 0.05);
}

// Integrated loudness of a file by FFmpeg's own ebur128 filter (the ffmpeg program: an
// implementation independent of leancut's meter); nullopt without the program.
std::optional<double> ffmpeg_integrated_lufs(const fs::path& file) {
  if (!fs::exists("/usr/bin/ffmpeg")) return std::nullopt;
  ProcessResult r = run_process({"/usr/bin/ffmpeg", "-nostats", "-hide_banner", "-i", file.string(),
                                 "-af", "ebur128", "-f", "null", "-"},
                                120000);
  if (r.exit_code != 0) return std::nullopt;
  // The summary's "I:         -23.0 LUFS" is the last "I:" line.
  const size_t at = r.err.rfind("I:");
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(r.err.c_str() + at + 2, nullptr);
}

TEST_F(AudioBeds, LoudnessIsNormalizedToTheTarget) {
  if (!fs::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "no ffmpeg program to measure with";
  // Shots with and without sound and a bed under them: the mix as a whole is normalized.
  const std::string shots = tone("0", "2") + ", " + tone("2", "4", false) + ", " + tone("4", "6");
  const std::string beds = bed(R"("in": 0, "out": 6, "gain_db": -6, "duck": true)");
  render(shots, beds);
  const std::optional<double> as_is = ffmpeg_integrated_lufs(out_file_);
  ASSERT_TRUE(as_is.has_value());
  for (int target : {-30, -14}) {
    render(shots, beds, R"({"loudness": {"target_lufs": )" + std::to_string(target) + "}}");
    const std::optional<double> lufs = ffmpeg_integrated_lufs(out_file_);
    ASSERT_TRUE(lufs.has_value());
    std::printf("target %d LUFS: measured %.2f LUFS (%.2f before normalization)\n", target, *lufs,
                *as_is);
    EXPECT_NEAR(*lufs, target, 1.0);
  }
}

TEST_F(AudioBeds, LoudnessGainStopsAtThePeakCeiling) {
  if (!fs::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "no ffmpeg program to measure with";
  // −5 LUFS would need far more gain than a −12 dBFS peak ceiling allows: the peak wins.
  const DecodedAudio o =
      render(tone("0", "3"), "", R"({"loudness": {"target_lufs": -5, "peak_db": -12}})");
  ASSERT_FALSE(o.mono.empty());
  double peak = 0;
  for (float x : o.mono) peak = std::max(peak, static_cast<double>(std::abs(x)));
  std::printf("peak %.2f dBFS under a -12 dBFS ceiling\n", db(peak));
  // At the ceiling, not past it (AAC moves peaks by a few tenths of a dB); and near it, since
  // the ceiling is what stopped the gain (the source's own AAC overshoot, counted by the meter,
  // may leave the steady tone up to a dB below).
  EXPECT_LE(db(peak), -12.0 + 0.5);
  EXPECT_GE(db(peak), -12.0 - 1.5);
  const std::optional<double> lufs = ffmpeg_integrated_lufs(out_file_);
  ASSERT_TRUE(lufs.has_value());
  EXPECT_LT(*lufs, -10.0);
}

TEST_F(AudioBeds, ALongLoopingBedKeepsMemoryFlat) {
  // The same looping bed under 6 s and under 90 s. The ledger's peak does not grow with the
  // length, and at 90 s the bed costs the process little more RSS than the same render without
  // it: a bed held whole (90 s of stereo float: 35 MB) or a FIFO that grows would show. (RSS
  // itself grows with the length without any bed, x264 and the allocator's doing: hence the
  // comparison at the same length.)
  struct Peaks {
    int64_t ledger = 0;
    int64_t rss = 0;
  };
  const auto peaks = [&](const std::string& seconds, bool with_bed) {
    render(silence(seconds),
           with_bed ? bed(R"("in": 1, "out": 3, "loop": true, "fade_out": 1)") : std::string());
    EXPECT_TRUE(report_.is_object());
    Peaks p;
    for (const auto& a : report_["accounts"]) {
      if (a.value("account", "") == "process/job") p.ledger = a.value("peak_bytes", int64_t{0});
    }
    p.rss = report_.value("peak_rss_bytes", int64_t{0});
    return p;
  };
  const Peaks short_bed = peaks("6", true);
  const Peaks long_bed = peaks("90", true);
  const Peaks long_plain = peaks("90", false);
  std::printf(
      "ledger peak with the bed: %lld (6 s) -> %lld bytes (90 s); peak RSS at 90 s: "
      "%.1f MiB with the bed, %.1f MiB without\n",
      static_cast<long long>(short_bed.ledger), static_cast<long long>(long_bed.ledger),
      static_cast<double>(long_bed.rss) / (1 << 20),
      static_cast<double>(long_plain.rss) / (1 << 20));
  EXPECT_GT(short_bed.ledger, 0);
  EXPECT_LE(long_bed.ledger, short_bed.ledger + short_bed.ledger / 10);
  if (!kAsan) {
    EXPECT_LE(long_bed.rss, long_plain.rss + (8 << 20));
  }
}

}  // namespace
}  // namespace leancut::testing
