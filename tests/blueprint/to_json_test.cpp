// to_json: read mirrors write. parse_blueprint(to_json(bp), bp.base_dir) == bp, for hand-picked
// and for many random blueprints.
#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <tuple>
#include <variant>

#include "blueprint/parse.h"

namespace leancut::blueprint {
namespace {

const std::filesystem::path kBase = "/cuts";

Blueprint round_trip(const Blueprint& bp) {
  std::string json = to_json(bp);
  ParseResult r = parse_blueprint(json, bp.base_dir);
  for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << d.to_string() << "\n" << json;
  return r.ok() ? *r.blueprint : Blueprint{};
}

Shot make_shot(const std::string& source, TimeRef in, TimeRef out) {
  Shot s;
  s.source_text = source;
  std::filesystem::path p(source);
  s.source = (p.is_absolute() ? p : kBase / p).lexically_normal();
  s.in = in;
  s.out = out;
  return s;
}

Blueprint one_shot(TimeRef in, TimeRef out) {
  Blueprint bp;
  bp.base_dir = kBase;
  bp.shots.push_back(make_shot("a.mp4", in, out));
  return bp;
}

TEST(ToJson, WritesTerminatingSecondsAsExactNumbersAndOthersAsRatios) {
  std::string json = to_json(one_shot(Rational{3, 2}, Rational{1001, 30000}));
  EXPECT_NE(json.find(R"("in": 1.5,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("out": "1001/30000",)"), std::string::npos) << json;
  json = to_json(one_shot(Rational{1, 1024}, Rational{7}));
  EXPECT_NE(json.find(R"("in": 0.0009765625,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("out": 7,)"), std::string::npos) << json;
  json = to_json(one_shot(Timecode{0, 0, 1, 12, false}, Timecode{0, 1, 0, 2, true}));
  EXPECT_NE(json.find(R"("in": "00:00:01:12",)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("out": "00:01:00;02",)"), std::string::npos) << json;
}

TEST(ToJson, TheWholeDocument) {
  Blueprint bp = one_shot(Rational{3, 2}, Rational{3});
  bp.output.fps = Rational{30000, 1001};
  bp.output.video.bitrate = 4000000;
  bp.shots[0].name = "say \"hi\"\n";
  bp.shots[0].fit = Fit::Fill;
  bp.shots[0].audio = false;
  EXPECT_EQ(to_json(bp), R"({
  "version": 1,
  "output": {
    "width": 1280,
    "height": 720,
    "fps": "30000/1001",
    "background": "black",
    "mp4_layout": "standard",
    "video": {"codec": "h264", "crf": 23, "preset": "veryfast", "pix_fmt": "yuv420p", "bitrate": 4000000, "gop_seconds": 2},
    "audio": {"codec": "aac", "sample_rate": 48000, "channels": 2, "bitrate": 128000}
  },
  "shots": [
    {"source": "a.mp4", "in": 1.5, "out": 3, "fit": "fill", "audio": false, "name": "say \"hi\"\n"}
  ]
}
)");
  EXPECT_EQ(round_trip(bp), bp);
}

TEST(ToJson, ExtremeRationalsRoundTrip) {
  const int64_t max = INT64_MAX;
  for (Rational r : {Rational{0}, Rational{1, int64_t{1} << 62}, Rational{max, int64_t{1} << 62},
                     Rational{max}, Rational{max, max - 1}, Rational{1, max},
                     Rational{7450580596923828125, 3}, Rational{1, 7450580596923828125}}) {
    if (r > Rational{0}) {
      Blueprint bp = one_shot(Rational{0}, r);
      EXPECT_EQ(round_trip(bp), bp) << r.to_string();
    }
    if (r < Rational{max}) {
      Blueprint bp = one_shot(r, Rational{max});
      EXPECT_EQ(round_trip(bp), bp) << r.to_string();
    }
  }
}

TEST(ToJson, ASourceGivenOnlyAsAPathIsWrittenAsThatPath) {
  // Generators may fill in only the resolved path.
  Blueprint bp = one_shot(Rational{0}, Rational{1});
  bp.shots[0].source_text.clear();
  bp.shots[0].source = "/media/clip.mp4";
  Blueprint back = round_trip(bp);
  ASSERT_EQ(back.shots.size(), 1u);
  EXPECT_EQ(back.shots[0].source_text, "/media/clip.mp4");
  EXPECT_EQ(back.shots[0].source, std::filesystem::path("/media/clip.mp4"));
}

TEST(ToJson, StillShotsReadBack) {
  Blueprint bp = one_shot(Rational{0}, Rational{1});
  Shot still;
  still.image_text = "art/logo.png";
  still.image = kBase / "art/logo.png";
  still.duration = Rational{1001, 30000};
  still.fit = Fit::Fill;
  still.audio = false;  // a still is silent; the parser says so
  still.name = "logo";
  bp.shots.push_back(still);
  const std::string json = to_json(bp);
  EXPECT_NE(json.find(R"({"image": "art/logo.png", "duration": "1001/30000", "fit": "fill", )"
                      R"("name": "logo"})"),
            std::string::npos)
      << json;
  EXPECT_EQ(round_trip(bp), bp);
}

// Random rationals with denominators of every shape: powers of 2 and 5 (terminating decimals,
// up to 2^62), NTSC-style, primes, and arbitrary ones.
TEST(ToJson, FocusIsWrittenWhenNotCentredAndReadsBack) {
  Blueprint bp = one_shot(Rational{0}, Rational{1});
  bp.shots[0].fit = Fit::Fill;
  EXPECT_EQ(to_json(bp).find("focus"), std::string::npos) << "the default stays implicit";
  bp.shots[0].focus = Focus{Rational{1, 4}, Rational{1, 3}};
  std::string json = to_json(bp);
  EXPECT_NE(json.find(R"("focus": [0.25, "1/3"])"), std::string::npos) << json;
  EXPECT_EQ(round_trip(bp), bp);
}

Rational random_seconds(std::mt19937_64& rng) {
  static const int64_t dens[] = {1,
                                 2,
                                 4,
                                 8,
                                 10,
                                 100,
                                 1000,
                                 1024,
                                 48000,
                                 44100,
                                 30000,
                                 24000,
                                 1001,
                                 3,
                                 7,
                                 625,
                                 int64_t{1} << 40,
                                 int64_t{1} << 62,
                                 7450580596923828125 /* 5^27 */,
                                 1000000007,
                                 999999999989};
  int64_t den = dens[rng() % std::size(dens)];
  if (rng() % 4 == 0) den = static_cast<int64_t>(rng() % 1000000000000) + 1;
  int64_t num = static_cast<int64_t>(rng() % (static_cast<uint64_t>(den) < (uint64_t{1} << 40)
                                                  ? static_cast<uint64_t>(den) * 100000
                                                  : uint64_t{1} << 62));
  return Rational{num, den};
}

Timecode random_timecode(std::mt19937_64& rng, bool drop_frame) {
  Timecode t;
  t.drop_frame = drop_frame;
  do {
    t.hours = static_cast<int64_t>(rng() % 30);
    t.minutes = static_cast<int64_t>(rng() % 60);
    t.seconds = static_cast<int64_t>(rng() % 60);
    t.frames = static_cast<int64_t>(rng() % (drop_frame ? 30 : 120));
  } while (drop_frame && t.seconds == 0 && t.frames < 2 && t.minutes % 10 != 0);
  return t;
}

std::string random_text(std::mt19937_64& rng) {
  static const std::string pieces[] = {"a",  "Z",  "_",    " ",    "\"", "\\", "/",
                                       "\n", "\t", "\x01", "\x1f", "é",  "ß",  "日本",
                                       "🎬",  ".",  "..",   "~",    "{",  "]"};
  std::string s;
  size_t n = 1 + rng() % 12;
  for (size_t i = 0; i < n; ++i) s += pieces[rng() % std::size(pieces)];
  return s;
}

Blueprint random_blueprint(std::mt19937_64& rng) {
  static const char* presets[] = {"ultrafast", "superfast", "veryfast", "faster",   "fast",
                                  "medium",    "slow",      "slower",   "veryslow", "placebo"};
  static const char* colours[] = {"black", "white", "gray", "red", "green", "blue", "#A0b1C2"};
  Blueprint bp;
  bp.base_dir = kBase;
  Output& o = bp.output;
  o.width = 16 + 2 * static_cast<int>(rng() % 4089);
  o.height = 16 + 2 * static_cast<int>(rng() % 4089);
  do {
    o.fps =
        Rational{static_cast<int64_t>(rng() % 240000) + 1, static_cast<int64_t>(rng() % 1001) + 1};
  } while (o.fps > Rational{240});
  if (rng() % 3 == 0) o.fps = Rational{static_cast<int64_t>(rng() % 240) + 1};
  o.background = colours[rng() % std::size(colours)];
  o.video.crf = static_cast<int>(rng() % 52);
  o.video.preset = presets[rng() % std::size(presets)];
  if (rng() % 2 == 0) o.video.bitrate = static_cast<int64_t>(rng() % 100000000) + 1;
  o.video.gop_seconds = 1 + static_cast<int>(rng() % 60);
  o.audio.sample_rate = 8000 + static_cast<int>(rng() % 184001);
  o.audio.channels = 1 + static_cast<int>(rng() % 2);
  o.audio.bitrate = 16000 + static_cast<int64_t>(rng() % 496001);
  size_t shots = 1 + rng() % 20;
  for (size_t i = 0; i < shots; ++i) {
    TimeRef in;
    TimeRef out;
    switch (rng() % 4) {
      case 0: {  // seconds, in < out
        Rational a = random_seconds(rng);
        Rational b = random_seconds(rng);
        if (a == b) b = a + Rational{1, 30};
        in = a < b ? a : b;
        out = a < b ? b : a;
        break;
      }
      case 1: {  // timecodes of one kind, in < out
        bool df = rng() % 2 == 0;
        Timecode a = random_timecode(rng, df);
        Timecode b = random_timecode(rng, df);
        auto key = [](const Timecode& t) {
          return std::tuple(t.hours, t.minutes, t.seconds, t.frames);
        };
        if (key(a) == key(b)) b.hours += 1;
        in = key(a) < key(b) ? a : b;
        out = key(a) < key(b) ? b : a;
        break;
      }
      default:  // mixed forms, unordered: only the engine can compare them
        in = random_timecode(rng, rng() % 2 == 0);
        out = random_seconds(rng);
        if (rng() % 2 == 0) std::swap(in, out);
    }
    std::string source = rng() % 5 == 0 ? "/abs/" + random_text(rng) : "clips/" + random_text(rng);
    Shot s = make_shot(source, in, out);
    s.fit = static_cast<Fit>(rng() % 3);
    s.audio = rng() % 2 == 0;
    if (rng() % 2 == 0) s.name = random_text(rng);
    bp.shots.push_back(s);
  }
  return bp;
}

TEST(ToJson, RandomBlueprintsRoundTrip) {
  std::mt19937_64 rng(20261125);
  for (int i = 0; i < 3000; ++i) {
    Blueprint bp = random_blueprint(rng);
    Blueprint back = round_trip(bp);
    ASSERT_EQ(back, bp) << "case " << i << "\n" << to_json(bp);
  }
}

TEST(ToJson, FiveThousandShotsRoundTrip) {
  std::mt19937_64 rng(5000);
  Blueprint bp = one_shot(Rational{0}, Rational{1});
  bp.shots.clear();
  for (int i = 0; i < 5000; ++i) {
    // An hour of footage at denominators a generator would use; sums stay far inside 64 bits.
    static const int64_t dens[] = {1, 10, 100, 1000, 30000, 24000, 48000, 3};
    int64_t den = dens[rng() % std::size(dens)];
    Rational in{static_cast<int64_t>(rng() % static_cast<uint64_t>(3600 * den)), den};
    bp.shots.push_back(make_shot("clips/" + std::to_string(i % 37) + ".mp4", in,
                                 in + Rational{static_cast<int64_t>(rng() % 300) + 1, 30}));
  }
  EXPECT_EQ(round_trip(bp), bp);
}

}  // namespace
}  // namespace leancut::blueprint
