// One test per validation rule: each checks the exact diagnostics, path and message.
#include "blueprint/parse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace leancut::blueprint {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

const std::filesystem::path kBase = "/cuts";
constexpr const char* kShot = R"({"source": "a.mp4", "in": 0, "out": 1})";

std::vector<std::string> errors(const std::string& json) {
  ParseResult r = parse_blueprint(json, kBase);
  EXPECT_EQ(r.ok(), r.diagnostics.empty()) << json;
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.to_string());
  return out;
}

Blueprint parsed(const std::string& json) {
  ParseResult r = parse_blueprint(json, kBase);
  for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << json << "\n  " << d.to_string();
  return r.ok() ? *r.blueprint : Blueprint{};
}

// A document with one shot whose fields are `fields`.
std::string shot_doc(const std::string& fields) {
  return R"({"version": 1, "shots": [{)" + fields + "}]}";
}
// A document with one valid shot and output fields `fields`.
std::string output_doc(const std::string& fields) {
  return R"({"version": 1, "output": {)" + fields + R"(}, "shots": [)" + kShot + "]}";
}
std::string seconds_doc(const std::string& in, const std::string& out) {
  return shot_doc(R"("source": "a.mp4", "in": )" + in + R"(, "out": )" + out);
}

TEST(Parse, MinimalBlueprintGetsTheDefaults) {
  Blueprint bp = parsed(std::string(R"({"version": 1, "shots": [)") + kShot + "]}");
  EXPECT_EQ(bp.version, 1);
  EXPECT_EQ(bp.output, Output{});
  EXPECT_EQ(bp.base_dir, kBase);
  ASSERT_EQ(bp.shots.size(), 1u);
  const Shot& s = bp.shots[0];
  EXPECT_EQ(s.source_text, "a.mp4");
  EXPECT_EQ(s.source, std::filesystem::path("/cuts/a.mp4"));
  EXPECT_EQ(s.in, TimeRef(Rational(0)));
  EXPECT_EQ(s.out, TimeRef(Rational(1)));
  EXPECT_EQ(s.fit, Fit::Fit);
  EXPECT_TRUE(s.audio);
  EXPECT_EQ(s.name, "");
}

TEST(Parse, TheIssueExample) {
  Blueprint bp = parsed(R"({ "version": 1,
  "output": { "width": 1280, "height": 720, "fps": 30,
              "video": { "codec": "h264", "crf": 23, "preset": "veryfast" },
              "audio": { "codec": "aac", "sample_rate": 48000, "channels": 2 } },
  "shots": [ { "source": "clips/a.mp4", "in": 1.5, "out": 3.0 },
             { "source": "clips/b.mov", "in": 0, "out": 2, "fit": "fill", "audio": false } ] })");
  ASSERT_EQ(bp.shots.size(), 2u);
  EXPECT_EQ(bp.shots[0].in, TimeRef(Rational(3, 2)));
  EXPECT_EQ(bp.shots[0].out, TimeRef(Rational(3)));
  EXPECT_EQ(bp.shots[1].fit, Fit::Fill);
  EXPECT_FALSE(bp.shots[1].audio);
  EXPECT_EQ(bp.shots[1].source, std::filesystem::path("/cuts/clips/b.mov"));
}

TEST(Parse, EveryOutputField) {
  Blueprint bp = parsed(R"({"version": 1, "output": {
      "width": 1920, "height": 1080, "fps": "30000/1001", "background": "#FF8000",
      "video": {"codec": "libx264", "crf": 18, "preset": "slow", "pix_fmt": "yuv420p",
                "bitrate": 8000000, "gop_seconds": 4},
      "audio": {"codec": "aac", "sample_rate": 44100, "channels": 1, "bitrate": 192000}},
    "shots": [{"source": "a.mp4", "in": 0, "out": 1}]})");
  const Output& o = bp.output;
  EXPECT_EQ(o.width, 1920);
  EXPECT_EQ(o.height, 1080);
  EXPECT_EQ(o.fps, Rational(30000, 1001));
  EXPECT_EQ(o.background, "#FF8000");
  EXPECT_EQ(o.video.codec, "h264");  // libx264 is an alias
  EXPECT_EQ(o.video.crf, 18);
  EXPECT_EQ(o.video.preset, "slow");
  EXPECT_EQ(o.video.bitrate, 8000000);
  EXPECT_EQ(o.video.gop_seconds, 4);
  EXPECT_EQ(o.audio.sample_rate, 44100);
  EXPECT_EQ(o.audio.channels, 1);
  EXPECT_EQ(o.audio.bitrate, 192000);
}

// --- The document ---

TEST(Parse, MalformedJsonIsOneDiagnosticWithLineAndColumn) {
  EXPECT_THAT(errors(R"({"version": 1,)"),
              ElementsAre("line 1, column 15: syntax error while parsing object key - unexpected "
                          "end of input; expected string literal"));
  EXPECT_THAT(errors("{\n  \"version\": 1,\n  \"shots\": [tru]\n}"),
              ElementsAre("line 3, column 16: syntax error while parsing value - invalid literal; "
                          "last read: '\"shots\": [tru]'"));
  EXPECT_THAT(errors("{} x"), ElementsAre(StartsWith("line 1, column 4: syntax error")));
  EXPECT_THAT(errors(""), ElementsAre(StartsWith("line 1, column 1: syntax error while parsing "
                                                 "value - unexpected end of input")));
  // A raw newline inside a string: the column points at it, on its own line.
  EXPECT_THAT(errors("{\n\"a\": \"x\ny\"}"),
              ElementsAre(StartsWith("line 2, column 8: syntax error while parsing value - invalid "
                                     "string: control character U+000A (LF)")));
  // Ill-formed UTF-8 is reported, and not echoed into the message.
  std::vector<std::string> utf8 = errors("{\"a\": \"\xff\"}");
  ASSERT_EQ(utf8.size(), 1u);
  EXPECT_THAT(utf8[0], StartsWith("line 1, column 8: syntax error while parsing value - invalid "
                                  "string: ill-formed UTF-8 byte"));
  EXPECT_EQ(utf8[0].find('\xff'), std::string::npos);
  // Comments and trailing commas are not JSON.
  EXPECT_THAT(errors(R"({"version": 1, // no
  })"),
              ElementsAre(StartsWith("line 1, column 16: syntax error")));
  EXPECT_THAT(errors(R"({"version": 1,})"), ElementsAre(StartsWith("line 1, column 15: syntax")));
}

TEST(Parse, DeepNestingIsRefused) {
  std::string deep =
      R"({"version": 1, "x": )" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_THAT(errors(deep), ElementsAre("the document nests deeper than 64 levels"));
}

TEST(Parse, TheDocumentMustBeAnObject) {
  EXPECT_THAT(errors("[]"), ElementsAre("expected a blueprint object, got an array"));
  EXPECT_THAT(errors("1.5"), ElementsAre("expected a blueprint object, got 1.5"));
  EXPECT_THAT(errors("null"), ElementsAre("expected a blueprint object, got null"));
}

TEST(Parse, UnknownTopLevelField) {
  EXPECT_THAT(errors(std::string(R"({"version": 1, "fps": 30, "shots": [)") + kShot + "]}"),
              ElementsAre("fps: unknown field (known: version, output, shots, audio)"));
  EXPECT_THAT(errors(std::string(R"({"version": 1, "Shots": [], "shots": [)") + kShot + "]}"),
              ElementsAre("Shots: unknown field (did you mean \"shots\"? known: version, output, "
                          "shots, audio)"));
  // Keys that are not identifiers are bracketed, so the path stays unambiguous.
  EXPECT_THAT(errors(std::string(R"({"version": 1, "a.b": 1, "": 2, "shots": [)") + kShot + "]}"),
              ElementsAre("[\"a.b\"]: unknown field (known: version, output, shots, audio)",
                          "[\"\"]: unknown field (known: version, output, shots, audio)"));
}

TEST(Parse, AudioBeds) {
  const Blueprint bp = parsed(std::string(R"({"version": 1, "shots": [)") + kShot +
                              R"(], "audio": [
      {"source": "music.mp4"},
      {"source": "/abs/m.mp4", "at": 2.5, "in": 1, "out": "10/3", "duration": 20, "loop": true,
       "gain_db": -9.5, "fade_in": 0.5, "fade_out": 2, "duck": true},
      {"source": "m.mp4", "duck": {"amount_db": -20, "threshold_db": -50, "attack": 0.1,
       "release": 1}},
      {"source": "m.mp4", "duck": false}]})");
  ASSERT_EQ(bp.audio.size(), 4u);
  const AudioClip& plain = bp.audio[0];
  EXPECT_EQ(plain.source, kBase / "music.mp4");
  EXPECT_EQ(plain.at, Rational{0});
  EXPECT_EQ(plain.in, Rational{0});
  EXPECT_FALSE(plain.out.has_value());
  EXPECT_FALSE(plain.duration.has_value());
  EXPECT_FALSE(plain.loop);
  EXPECT_FALSE(plain.duck.has_value());
  const AudioClip& full = bp.audio[1];
  EXPECT_EQ(full.source, std::filesystem::path("/abs/m.mp4"));
  EXPECT_EQ(full.at, (Rational{5, 2}));
  EXPECT_EQ(full.out, (Rational{10, 3}));
  EXPECT_EQ(full.duration, Rational{20});
  EXPECT_TRUE(full.loop);
  EXPECT_EQ(full.gain_db, (Rational{-19, 2}));
  EXPECT_EQ(full.fade_in, (Rational{1, 2}));
  EXPECT_EQ(full.fade_out, Rational{2});
  ASSERT_TRUE(full.duck.has_value());
  EXPECT_EQ(*full.duck, Duck{});  // the defaults
  ASSERT_TRUE(bp.audio[2].duck.has_value());
  EXPECT_EQ(bp.audio[2].duck->amount_db, Rational{-20});
  EXPECT_EQ(bp.audio[2].duck->threshold_db, Rational{-50});
  EXPECT_EQ(bp.audio[2].duck->attack, (Rational{1, 10}));
  EXPECT_EQ(bp.audio[2].duck->release, Rational{1});
  EXPECT_FALSE(bp.audio[3].duck.has_value());
  // Written back and read again: the same beds.
  EXPECT_EQ(parsed(to_json(bp)).audio, bp.audio);
}

TEST(Parse, AudioBedErrorsAllAtOnce) {
  EXPECT_THAT(
      errors(std::string(R"({"version": 1, "shots": [)") + kShot + R"(], "audio": [
      {"at": -1, "in": 3, "out": 2, "gain_db": 30, "loop": 1, "duration": 0, "volume": 1},
      {"source": "m.mp4", "in": "00:00:01:00", "duck": {"amount_db": 3, "attack": 0}},
      {"source": "m.mp4", "duck": "yes"}, 7]})"),
      ElementsAre(
          "audio[0].at: must not be negative, got -1",
          "audio[0].gain_db: must be between -60 and 24, got 30",
          "audio[0].loop: expected true or false, got 1", "audio[0].duration: must be more than 0",
          "audio[0].volume: unknown field (known: source, at, in, out, duration, loop, "
          "gain_db, fade_in, fade_out, duck)",
          "audio[0].source: required field is missing", "audio[0].out: 2s must be after in (3s)",
          "audio[1].in: expected seconds (a number or \"num/den\"), not a timecode",
          "audio[1].duck.amount_db: must be between -60 and 0, got 3",
          "audio[1].duck.attack: must be between 0.001 and 5, got 0",
          "audio[2].duck: expected true, false or a duck object, got \"yes\"",
          "audio[3]: expected an audio clip object, got 7"));
  EXPECT_THAT(errors(std::string(R"({"version": 1, "shots": [)") + kShot + R"(], "audio": {}})"),
              ElementsAre("audio: expected an array of audio clips, got an object"));
}

TEST(Parse, SchemaKeyIsAllowedForEditors) {
  parsed(std::string(R"({"$schema": "../docs/blueprint.schema.json", "version": 1, "shots": [)") +
         kShot + "]}");
  EXPECT_THAT(errors(std::string(R"({"$schema": 1, "version": 1, "shots": [)") + kShot + "]}"),
              ElementsAre("$schema: expected a string, got 1"));
}

TEST(Parse, Version) {
  EXPECT_THAT(errors(std::string(R"({"shots": [)") + kShot + "]}"),
              ElementsAre("version: required field is missing"));
  EXPECT_THAT(errors(std::string(R"({"version": "1", "shots": [)") + kShot + "]}"),
              ElementsAre("version: expected the integer 1, got \"1\""));
  EXPECT_THAT(errors(std::string(R"({"version": 1.5, "shots": [)") + kShot + "]}"),
              ElementsAre("version: unsupported version 1.5 (this leancut reads version 1)"));
  EXPECT_THAT(errors(std::string(R"({"version": 2.0, "shots": [)") + kShot + "]}"),
              ElementsAre("version: unsupported version 2.0 (this leancut reads version 1)"));
  parsed(std::string(R"({"version": 1.0, "shots": [)") + kShot + "]}");
}

TEST(Parse, AnotherVersionStopsValidationThere) {
  // A version 2 document follows another schema; listing its "errors" against v1 would mislead.
  EXPECT_THAT(errors(R"({"shots": 5, "version": 2, "frames": []})"),
              ElementsAre("version: unsupported version 2 (this leancut reads version 1)"));
}

TEST(Parse, DuplicateKeys) {
  EXPECT_THAT(errors(std::string(R"({"version": 1, "version": 1, "shots": [)") + kShot + "]}"),
              ElementsAre("version: duplicate field (each field may appear only once)"));
  EXPECT_THAT(errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "in": 0.5)")),
              ElementsAre("shots[0].in: duplicate field (each field may appear only once)"));
  EXPECT_THAT(errors(output_doc(R"("video": {"crf": 20, "crf": 30})")),
              ElementsAre("output.video.crf: duplicate field (each field may appear only once)"));
}

// --- output ---

TEST(Parse, OutputMustBeAnObjectWithKnownFields) {
  EXPECT_THAT(errors(std::string(R"({"version": 1, "output": [], "shots": [)") + kShot + "]}"),
              ElementsAre("output: expected an object, got an array"));
  EXPECT_THAT(errors(output_doc(R"("frame_rate": 30, "widht": 640)")),
              ElementsAre("output.frame_rate: unknown field (known: width, height, fps, "
                          "background, mp4_layout, video, audio)",
                          "output.widht: unknown field (did you mean \"width\"? known: width, "
                          "height, fps, background, mp4_layout, video, audio)"));
  EXPECT_THAT(errors(output_doc(R"("mp4_layout": "moov-first")")),
              ElementsAre("output.mp4_layout: unknown mp4_layout \"moov-first\" (one of: "
                          "fragmented, standard, faststart)"));
}

TEST(Parse, WidthAndHeight) {
  EXPECT_EQ(parsed(output_doc(R"("width": 640, "height": 360)")).output.width, 640);
  EXPECT_EQ(parsed(output_doc(R"("width": 16, "height": 8192)")).output.height, 8192);
  // JSON Schema's integer: no fractional part, however written.
  EXPECT_EQ(parsed(output_doc(R"("width": 1280.0)")).output.width, 1280);
  EXPECT_EQ(parsed(output_doc(R"("width": 1.92e3)")).output.width, 1920);
  EXPECT_THAT(errors(output_doc(R"("width": 1281, "height": 14)")),
              ElementsAre("output.width: must be even (yuv420p halves the chroma planes), got 1281",
                          "output.height: must be from 16 to 8192, got 14"));
  EXPECT_THAT(errors(output_doc(R"("width": 8194, "height": -720)")),
              ElementsAre("output.width: must be from 16 to 8192, got 8194",
                          "output.height: must be from 16 to 8192, got -720"));
  EXPECT_THAT(errors(output_doc(R"("width": "1280", "height": 720.5)")),
              ElementsAre("output.width: expected an integer, got \"1280\"",
                          "output.height: expected an integer, got 720.5"));
  EXPECT_THAT(errors(output_doc(R"("width": 1e30)")),
              ElementsAre("output.width: must be from 16 to 8192, got 1e30"));
  // Beyond double's range the JSON reader itself gives up (nlohmann converts while lexing).
  EXPECT_THAT(errors(output_doc(R"("width": 1e400)")),
              ElementsAre("line 1, column 40: number overflow parsing '1e400'"));
}

TEST(Parse, Fps) {
  EXPECT_EQ(parsed(output_doc(R"("fps": 25)")).output.fps, Rational(25));
  EXPECT_EQ(parsed(output_doc(R"("fps": "30000/1001")")).output.fps, Rational(30000, 1001));
  EXPECT_EQ(parsed(output_doc(R"("fps": "60000/1001")")).output.fps, Rational(60000, 1001));
  EXPECT_EQ(parsed(output_doc(R"("fps": "23.976")")).output.fps, Rational(2997, 125));
  EXPECT_EQ(parsed(output_doc(R"("fps": "24")")).output.fps, Rational(24));
  EXPECT_EQ(parsed(output_doc(R"("fps": 240)")).output.fps, Rational(240));
  EXPECT_EQ(parsed(output_doc(R"("fps": "240000/1001")")).output.fps, Rational(240000, 1001));
  EXPECT_EQ(parsed(output_doc(R"("fps": "1/2")")).output.fps, Rational(1, 2));
  EXPECT_THAT(errors(output_doc(R"("fps": 29.97)")),
              ElementsAre("output.fps: expected a positive integer or a rate string such as "
                          "\"30000/1001\" or \"23.976\", got 29.97"));
  EXPECT_THAT(errors(output_doc(R"("fps": true)")),
              ElementsAre("output.fps: expected a positive integer or a rate string such as "
                          "\"30000/1001\" or \"23.976\", got true"));
  EXPECT_THAT(errors(output_doc(R"("fps": 0)")),
              ElementsAre("output.fps: must be positive, got 0"));
  EXPECT_THAT(errors(output_doc(R"("fps": -30)")),
              ElementsAre("output.fps: must be positive, got -30"));
  EXPECT_THAT(errors(output_doc(R"("fps": "0/1")")),
              ElementsAre("output.fps: must be positive, got \"0/1\""));
  EXPECT_THAT(errors(output_doc(R"("fps": "-30000/1001")")),
              ElementsAre("output.fps: must be positive, got \"-30000/1001\""));
  EXPECT_THAT(errors(output_doc(R"("fps": 241)")),
              ElementsAre("output.fps: must be at most 240 fps, got 241"));
  EXPECT_THAT(errors(output_doc(R"("fps": 1e30)")),
              ElementsAre("output.fps: must be at most 240 fps, got 1e30"));
  EXPECT_THAT(errors(output_doc(R"("fps": -1e30)")),
              ElementsAre("output.fps: must be positive, got -1e30"));
  EXPECT_THAT(errors(output_doc(R"("fps": "241000/1000")")),
              ElementsAre("output.fps: must be at most 240 fps, got \"241000/1000\""));
  EXPECT_THAT(errors(output_doc(R"("fps": "30fps")")),
              ElementsAre("output.fps: \"30fps\" is not a rate (expected an integer such as 30, a "
                          "ratio such as 30000/1001 or a decimal such as 23.976)"));
  EXPECT_THAT(errors(output_doc(R"("fps": "30/0")")),
              ElementsAre("output.fps: \"30/0\" has a zero denominator"));
}

TEST(Parse, Background) {
  for (const char* name : {"black", "white", "gray", "red", "green", "blue", "#00ff7F"}) {
    EXPECT_EQ(parsed(output_doc(std::string(R"("background": ")") + name + "\"")).output.background,
              name);
  }
  // ffmpeg draws the background and knows only "gray".
  EXPECT_EQ(parsed(output_doc(R"("background": "grey")")).output.background, "gray");
  const std::string known = " (one of: black, white, gray, grey, red, green, blue, or \"#RRGGBB\")";
  EXPECT_THAT(errors(output_doc(R"("background": "purple")")),
              ElementsAre("output.background: unknown colour \"purple\"" + known));
  EXPECT_THAT(errors(output_doc(R"("background": "#12345g")")),
              ElementsAre("output.background: unknown colour \"#12345g\"" + known));
  EXPECT_THAT(errors(output_doc(R"("background": "Black")")),
              ElementsAre("output.background: unknown colour \"Black\"" + known));
  EXPECT_THAT(errors(output_doc(R"("background": 0)")),
              ElementsAre("output.background: expected a string, got 0"));
}

TEST(Parse, ParseColour) {
  EXPECT_EQ(parse_colour("green"), (Rgb{0, 128, 0}));
  EXPECT_EQ(parse_colour("grey"), (Rgb{128, 128, 128}));
  EXPECT_EQ(parse_colour("#FF8000"), (Rgb{255, 128, 0}));
  EXPECT_EQ(parse_colour("#ff8000"), (Rgb{255, 128, 0}));
  EXPECT_EQ(parse_colour("#ff800"), std::nullopt);
  EXPECT_EQ(parse_colour("ff8000"), std::nullopt);
  EXPECT_EQ(parse_colour(""), std::nullopt);
}

TEST(Parse, Video) {
  EXPECT_THAT(errors(output_doc(R"("video": {"codec": "hevc", "crf": 52, "preset": "quick",
                                             "pix_fmt": "yuv444p", "bitrate": 0,
                                             "gop_seconds": 61, "tune": "film"})")),
              ElementsAre("output.video.codec: unsupported codec \"hevc\" (v1 supports \"h264\", "
                          "also spelled \"libx264\")",
                          "output.video.crf: must be from 0 to 51, got 52",
                          "output.video.preset: unknown preset \"quick\" (one of: ultrafast, "
                          "superfast, veryfast, faster, fast, medium, slow, slower, veryslow, "
                          "placebo)",
                          "output.video.pix_fmt: unsupported pixel format \"yuv444p\" (v1 "
                          "supports \"yuv420p\")",
                          "output.video.bitrate: must be at least 1, got 0",
                          "output.video.gop_seconds: must be from 1 to 60, got 61",
                          "output.video.tune: unknown field (known: codec, crf, preset, pix_fmt, "
                          "bitrate, gop_seconds)"));
  EXPECT_THAT(errors(output_doc(R"("video": {"codec": 264, "crf": -1, "preset": null,
                                             "gop_seconds": 0, "bitrate": 2.5})")),
              ElementsAre("output.video.codec: expected a string, got 264",
                          "output.video.crf: must be from 0 to 51, got -1",
                          "output.video.preset: expected a string, got null",
                          "output.video.gop_seconds: must be from 1 to 60, got 0",
                          "output.video.bitrate: expected an integer, got 2.5"));
  EXPECT_THAT(errors(output_doc(R"("video": "h264")")),
              ElementsAre("output.video: expected an object, got \"h264\""));
  Blueprint bp =
      parsed(output_doc(R"("video": {"crf": 0, "preset": "placebo", "gop_seconds": 60})"));
  EXPECT_EQ(bp.output.video.crf, 0);
  EXPECT_EQ(bp.output.video.preset, "placebo");
  EXPECT_EQ(bp.output.video.gop_seconds, 60);
  EXPECT_EQ(bp.output.video.bitrate, std::nullopt);
}

TEST(Parse, Loudness) {
  const Blueprint bp =
      parsed(output_doc(R"("audio": {"loudness": {"target_lufs": -23, "peak_db": -1.5}})"));
  ASSERT_TRUE(bp.output.audio.loudness.has_value());
  EXPECT_EQ(bp.output.audio.loudness->target_lufs, Rational{-23});
  EXPECT_EQ(bp.output.audio.loudness->peak_db, (Rational{-3, 2}));
  EXPECT_EQ(parsed(to_json(bp)).output.audio, bp.output.audio);
  EXPECT_EQ(parsed(output_doc(R"("audio": {"loudness": {"target_lufs": -16}})"))
                .output.audio.loudness->peak_db,
            Rational{-1});
  EXPECT_FALSE(parsed(output_doc(R"("audio": {})")).output.audio.loudness.has_value());
  EXPECT_THAT(errors(output_doc(R"("audio": {"loudness": {"target_lufs": -3, "peak_db": 1}})")),
              ElementsAre("output.audio.loudness.target_lufs: must be between -70 and -5, got -3",
                          "output.audio.loudness.peak_db: must be between -20 and 0, got 1"));
  EXPECT_THAT(errors(output_doc(R"("audio": {"loudness": {"peak_db": -1}})")),
              ElementsAre("output.audio.loudness.target_lufs: required field is missing"));
}

TEST(Parse, Audio) {
  EXPECT_THAT(errors(output_doc(R"("audio": {"codec": "mp3", "sample_rate": 7999, "channels": 6,
                                             "bitrate": 15999, "volume": 1})")),
              ElementsAre("output.audio.codec: unsupported codec \"mp3\" (v1 supports \"aac\")",
                          "output.audio.sample_rate: must be from 8000 to 192000, got 7999",
                          "output.audio.channels: must be 1 or 2, got 6",
                          "output.audio.bitrate: must be from 16000 to 512000, got 15999",
                          "output.audio.volume: unknown field (known: codec, sample_rate, "
                          "channels, bitrate, loudness)"));
  EXPECT_THAT(errors(output_doc(R"("audio": {"sample_rate": 192001, "channels": "2",
                                             "bitrate": 512001})")),
              ElementsAre("output.audio.sample_rate: must be from 8000 to 192000, got 192001",
                          "output.audio.channels: expected an integer, got \"2\"",
                          "output.audio.bitrate: must be from 16000 to 512000, got 512001"));
  EXPECT_THAT(errors(output_doc(R"("audio": {"channels": 1.5})")),
              ElementsAre("output.audio.channels: must be 1 or 2, got 1.5"));
  Blueprint bp = parsed(output_doc(R"("audio": {"sample_rate": 8000, "channels": 1,
                                                "bitrate": 16000})"));
  EXPECT_EQ(bp.output.audio.sample_rate, 8000);
  EXPECT_EQ(bp.output.audio.channels, 1);
  EXPECT_EQ(bp.output.audio.bitrate, 16000);
}

// --- shots ---

TEST(Parse, ShotsArray) {
  EXPECT_THAT(errors(R"({"version": 1})"), ElementsAre("shots: required field is missing"));
  EXPECT_THAT(errors(R"({"version": 1, "shots": []})"),
              ElementsAre("shots: must contain at least one shot"));
  EXPECT_THAT(errors(R"({"version": 1, "shots": {}})"),
              ElementsAre("shots: expected an array of shots, got an object"));
  EXPECT_THAT(errors(R"({"version": 1, "shots": ["a.mp4", null]})"),
              ElementsAre("shots[0]: expected a shot object, got \"a.mp4\"",
                          "shots[1]: expected a shot object, got null"));
}

// Two shots, the second with `transition` as its "transition" value.
std::string transition_doc(const std::string& transition) {
  return R"({"version": 1, "shots": [)" + std::string(kShot) +
         R"(, {"source": "b.mp4", "in": 2, "out": 4, "transition": )" + transition + "}]}";
}

TEST(Parse, TransitionsTheirLengthsAndColour) {
  Blueprint bp = parsed(transition_doc(R"({"type": "dissolve", "frames": 12})"));
  ASSERT_EQ(bp.shots.size(), 2u);
  ASSERT_TRUE(bp.shots[1].transition);
  EXPECT_EQ(bp.shots[1].transition->kind, TransitionKind::Dissolve);
  EXPECT_EQ(bp.shots[1].transition->frames, 12);
  EXPECT_FALSE(bp.shots[0].transition);

  bp = parsed(transition_doc(R"({"type": "fade", "duration": 0.5, "color": "#102030"})"));
  ASSERT_TRUE(bp.shots[1].transition);
  EXPECT_EQ(bp.shots[1].transition->kind, TransitionKind::Fade);
  EXPECT_EQ(bp.shots[1].transition->duration, Rational(1, 2));
  EXPECT_EQ(bp.shots[1].transition->color, (Rgb{0x10, 0x20, 0x30}));

  bp = parsed(transition_doc(R"({"type": "dissolve", "before": "1/24", "after": 0.25})"));
  ASSERT_TRUE(bp.shots[1].transition);
  EXPECT_EQ(bp.shots[1].transition->before, Rational(1, 24));
  EXPECT_EQ(bp.shots[1].transition->after, Rational(1, 4));
  // Written back as read.
  EXPECT_EQ(parsed(to_json(bp)), bp);
}

TEST(Parse, BadTransitionsAreNamed) {
  EXPECT_THAT(errors(R"({"version": 1, "shots": [{"source": "a.mp4", "in": 0, "out": 1,
                         "transition": {"type": "fade", "frames": 5}}]})"),
              ElementsAre("shots[0].transition: the first shot has no shot before it to "
                          "transition from"));
  EXPECT_THAT(errors(transition_doc(R"({"type": "wipe", "frames": 5})")),
              ElementsAre("shots[1].transition.type: unknown transition type \"wipe\" (one of: "
                          "dissolve, fade)"));
  EXPECT_THAT(errors(transition_doc(R"({"type": "dissolve"})")),
              ElementsAre(HasSubstr("shots[1].transition: needs a length")));
  EXPECT_THAT(errors(transition_doc(R"({"type": "dissolve", "frames": 5, "duration": 1})")),
              ElementsAre(HasSubstr("shots[1].transition: give one length")));
  EXPECT_THAT(errors(transition_doc(R"({"type": "dissolve", "before": 1})")),
              ElementsAre("shots[1].transition: \"before\" and \"after\" go together"));
  EXPECT_THAT(errors(transition_doc(R"({"type": "dissolve", "frames": 0})")),
              ElementsAre(HasSubstr("shots[1].transition.frames:")));
  EXPECT_THAT(errors(transition_doc(R"({"type": "dissolve", "frames": 5, "color": "red"})")),
              ElementsAre("shots[1].transition.color: applies only to a \"fade\" transition"));
  EXPECT_THAT(errors(transition_doc(R"({"type": "fade", "before": "00:00:01:00", "after": 1})")),
              ElementsAre("shots[1].transition.before: a transition's lengths are in seconds, "
                          "not timecodes"));
}

TEST(Parse, UnknownShotField) {
  EXPECT_THAT(errors(R"({"version": 1, "shots": [)" + std::string(kShot) + "," + kShot + "," +
                     kShot + R"(, {"source": "a.mp4", "in": 0, "out": 1, "fps": 30}]})"),
              ElementsAre("shots[3].fps: unknown field (known: source, in, out, fit, focus, audio, "
                          "name, speed, freeze, gain_db, text, sha256, transition)"));
  EXPECT_THAT(
      errors(shot_doc(R"("souce": "a.mp4", "in": 0, "out": 1)")),
      ElementsAre(
          "shots[0].souce: unknown field (did you mean \"source\"? known: source, "
          "in, out, fit, focus, audio, name, speed, freeze, gain_db, text, sha256, transition)",
          "shots[0].source: required field is missing"));
}

TEST(Parse, RequiredShotFields) {
  EXPECT_THAT(errors(shot_doc("")), ElementsAre("shots[0].source: required field is missing",
                                                "shots[0].in: required field is missing",
                                                "shots[0].out: required field is missing"));
}

TEST(Parse, Source) {
  EXPECT_THAT(errors(shot_doc(R"("source": "", "in": 0, "out": 1)")),
              ElementsAre("shots[0].source: must not be empty"));
  EXPECT_THAT(errors(shot_doc(R"("source": ["a.mp4"], "in": 0, "out": 1)")),
              ElementsAre("shots[0].source: expected a string, got an array"));
  EXPECT_THAT(errors(shot_doc(R"("source": "a\u0000.mp4", "in": 0, "out": 1)")),
              ElementsAre("shots[0].source: must not contain a NUL character"));
}

TEST(Parse, SourcesResolveAgainstTheBaseFolder) {
  auto resolved = [](const std::string& source) {
    Blueprint bp = parsed(shot_doc(R"("source": ")" + source + R"(", "in": 0, "out": 1)"));
    EXPECT_EQ(bp.shots.at(0).source_text, source);
    return bp.shots.at(0).source;
  };
  EXPECT_EQ(resolved("clips/a.mp4"), std::filesystem::path("/cuts/clips/a.mp4"));
  EXPECT_EQ(resolved("./clips/../b.mov"), std::filesystem::path("/cuts/b.mov"));
  EXPECT_EQ(resolved("../media/c.mp4"), std::filesystem::path("/media/c.mp4"));
  EXPECT_EQ(resolved("/abs/./d.mp4"), std::filesystem::path("/abs/d.mp4"));
  EXPECT_EQ(resolved("clips//e.mp4"), std::filesystem::path("/cuts/clips/e.mp4"));
}

TEST(Parse, SecondsAreExactFromTheNumbersText) {
  auto in_of = [](const std::string& in) {
    return parsed(seconds_doc(in, "100000")).shots.at(0).in;
  };
  EXPECT_EQ(in_of("1.5"), TimeRef(Rational(3, 2)));
  EXPECT_EQ(in_of("0.1"), TimeRef(Rational(1, 10)));  // not the double nearest 0.1
  EXPECT_EQ(in_of("93.2"), TimeRef(Rational(466, 5)));
  EXPECT_EQ(in_of("1e-3"), TimeRef(Rational(1, 1000)));
  EXPECT_EQ(in_of("2.5E1"), TimeRef(Rational(25)));
  EXPECT_EQ(in_of("0.033366666666666666"),
            TimeRef(Rational(16683333333333333, 500000000000000000)));
  EXPECT_EQ(in_of("-0"), TimeRef(Rational(0)));
  EXPECT_EQ(in_of("12345678901234567890e-15"),
            TimeRef(Rational(1234567890123456789, 100000000000000)));
  EXPECT_EQ(in_of(R"("1001/30000")"), TimeRef(Rational(1001, 30000)));
  EXPECT_EQ(in_of(R"("2/4")"), TimeRef(Rational(1, 2)));
}

TEST(Parse, TimeErrors) {
  const std::string expected =
      "expected a number of seconds, a \"num/den\" seconds string or a timecode \"HH:MM:SS:FF\", "
      "got ";
  EXPECT_THAT(errors(seconds_doc("-1.5", "2")),
              ElementsAre("shots[0].in: must not be negative, got -1.5"));
  EXPECT_THAT(errors(seconds_doc("0", R"("-1/2")")),
              ElementsAre("shots[0].out: must not be negative, got \"-1/2\""));
  EXPECT_THAT(errors(seconds_doc(R"("1.5")", "2")),
              ElementsAre("shots[0].in: seconds must be a JSON number, not a string: write 1.5, "
                          "not \"1.5\""));
  EXPECT_THAT(
      errors(seconds_doc(R"("1.5s")", "true")),
      ElementsAre("shots[0].in: " + expected + "\"1.5s\"", "shots[0].out: " + expected + "true"));
  EXPECT_THAT(
      errors(seconds_doc("null", "{}")),
      ElementsAre("shots[0].in: " + expected + "null", "shots[0].out: " + expected + "an object"));
  EXPECT_THAT(errors(seconds_doc("0", R"("1.)" + std::string(50, '0') + "\"")),
              ElementsAre("shots[0].out: seconds must be a JSON number, not a string: write it "
                          "without the quotes"));
  EXPECT_THAT(errors(seconds_doc(R"("1/0")", "2")),
              ElementsAre("shots[0].in: \"1/0\" has a zero denominator"));
  EXPECT_THAT(errors(seconds_doc(R"("1/2/3")", "2")),
              ElementsAre("shots[0].in: \"1/2/3\" is not a ratio (expected integers such as "
                          "\"1001/30000\")"));
  EXPECT_THAT(errors(seconds_doc("1e-400", "2")),
              ElementsAre("shots[0].in: \"1e-400\" is out of range (an exact value needs a 64-bit "
                          "numerator and denominator)"));
  EXPECT_THAT(errors(seconds_doc("0.1234567890123456789", "2")),
              ElementsAre("shots[0].in: \"0.1234567890123456789\" is out of range (an exact value "
                          "needs a 64-bit numerator and denominator)"));
}

TEST(Parse, Timecodes) {
  Blueprint bp = parsed(seconds_doc(R"("00:00:01:12")", R"("01:00:00;02")"));
  EXPECT_EQ(bp.shots.at(0).in, TimeRef(Timecode{0, 0, 1, 12, false}));
  EXPECT_EQ(bp.shots.at(0).out, TimeRef(Timecode{1, 0, 0, 2, true}));
  EXPECT_THAT(errors(seconds_doc(R"("00:01:00;00")", R"("00:01:00;01")")),
              ElementsAre("shots[0].in: \"00:01:00;00\" does not exist: drop-frame skips ;00 and "
                          ";01 at the start of each minute not divisible by 10",
                          "shots[0].out: \"00:01:00;01\" does not exist: drop-frame skips ;00 and "
                          ";01 at the start of each minute not divisible by 10"));
  EXPECT_EQ(parsed(seconds_doc(R"("00:10:00;00")", "1000")).shots.at(0).in,
            TimeRef(Timecode{0, 10, 0, 0, true}));
  EXPECT_THAT(errors(seconds_doc(R"("1:00:00")", R"("00:61:00:00")")),
              ElementsAre("shots[0].in: \"1:00:00\" is not a timecode (expected HH:MM:SS:FF, or "
                          "HH:MM:SS;FF for drop-frame)",
                          "shots[0].out: \"00:61:00:00\": minutes must be below 60"));
}

TEST(Parse, InMustBeBeforeOutWhenBothAreSeconds) {
  std::string shots;
  for (int i = 0; i < 3; ++i) shots += std::string(kShot) + ",";
  EXPECT_THAT(errors(R"({"version": 1, "shots": [)" + shots +
                     R"({"source": "a.mp4", "in": 2.5, "out": 2}]})"),
              ElementsAre("shots[3].out: 2s must be after in (2.5s)"));
  EXPECT_THAT(errors(seconds_doc("1.5", "1.50")),
              ElementsAre("shots[0].out: 1.5s must be after in (1.5s)"));
  EXPECT_THAT(errors(seconds_doc(R"("1/3")", "0.25")),
              ElementsAre("shots[0].out: 0.25s must be after in (1/3s)"));
  // Exact, where doubles would call these equal.
  parsed(seconds_doc("0.30000000000000000", "0.30000000000000001"));
}

TEST(Parse, InMustBeBeforeOutWhenBothAreTimecodesOfOneKind) {
  EXPECT_THAT(errors(seconds_doc(R"("00:00:03:00")", R"("00:00:02:29")")),
              ElementsAre("shots[0].out: 00:00:02:29 must be after in (00:00:03:00)"));
  EXPECT_THAT(errors(seconds_doc(R"("00:00:03;00")", R"("00:00:03;00")")),
              ElementsAre("shots[0].out: 00:00:03;00 must be after in (00:00:03;00)"));
  // Mixed forms need the source's rate: the engine checks them.
  parsed(seconds_doc(R"("00:00:03:00")", "1"));
  parsed(seconds_doc("100", R"("00:00:03:00")"));
  parsed(seconds_doc(R"("00:10:00;20")", R"("00:10:00:10")"));
}

TEST(Parse, FitAudioName) {
  Blueprint bp = parsed(R"({"version": 1, "shots": [
      {"source": "a.mp4", "in": 0, "out": 1, "fit": "stretch", "audio": false, "name": "intro"},
      {"source": "a.mp4", "in": 0, "out": 1, "fit": "fit", "audio": true}]})");
  EXPECT_EQ(bp.shots.at(0).fit, Fit::Stretch);
  EXPECT_FALSE(bp.shots.at(0).audio);
  EXPECT_EQ(bp.shots.at(0).name, "intro");
  EXPECT_EQ(bp.shots.at(1).fit, Fit::Fit);
  EXPECT_THAT(errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "fit": "crop",
                                 "audio": 0, "name": 7)")),
              ElementsAre("shots[0].fit: unknown fit \"crop\" (one of: fit, fill, stretch)",
                          "shots[0].audio: expected true or false, got 0",
                          "shots[0].name: expected a string, got 7"));
  EXPECT_THAT(errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "fit": "FILL",
                                 "audio": "false")")),
              ElementsAre("shots[0].fit: unknown fit \"FILL\" (one of: fit, fill, stretch)",
                          "shots[0].audio: expected true or false, got \"false\""));
}

TEST(Parse, LongStringsAreShortenedInMessages) {
  std::string long_fit(200, 'x');
  std::vector<std::string> e =
      errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "fit": ")" + long_fit + "\""));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "shots[0].fit: unknown fit \"" + std::string(60, 'x') +
                      "...\" (one of: fit, fill, stretch)");
}

TEST(Parse, AllErrorsAreReportedInDocumentOrder) {
  EXPECT_THAT(
      errors(R"({
    "shots": [{"source": "", "in": -1, "out": 1, "fit": "crop"},
              {"source": "b.mp4", "in": 2, "out": 1, "audio": "yes"}],
    "output": {"width": 1281, "fps": 0, "video": {"crf": 99}},
    "version": "1",
    "extra": true})"),
      ElementsAre("shots[0].source: must not be empty", "shots[0].in: must not be negative, got -1",
                  "shots[0].fit: unknown fit \"crop\" (one of: fit, fill, stretch)",
                  "shots[1].audio: expected true or false, got \"yes\"",
                  "shots[1].out: 1s must be after in (2s)",
                  "output.width: must be even (yuv420p halves the chroma planes), got 1281",
                  "output.fps: must be positive, got 0",
                  "output.video.crf: must be from 0 to 51, got 99",
                  "version: expected the integer 1, got \"1\"",
                  "extra: unknown field (known: version, output, shots, audio)"));
}

TEST(Parse, DiagnosticToString) {
  EXPECT_EQ((Diagnostic{"shots[3].in", "bad"}).to_string(), "shots[3].in: bad");
  EXPECT_EQ((Diagnostic{"", "line 1, column 1: bad"}).to_string(), "line 1, column 1: bad");
}

TEST(Load, ReadsTheFileAndResolvesAgainstItsFolder) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("leancut_load_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "cut");
  {
    std::ofstream f(dir / "cut" / "bp.json");
    f << R"({"version": 1, "shots": [{"source": "../media/a.mp4", "in": 0, "out": 1}]})";
  }
  ParseResult r = load_blueprint(dir / "cut" / "bp.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.blueprint->base_dir, (dir / "cut").lexically_normal());
  EXPECT_EQ(r.blueprint->shots.at(0).source, (dir / "media" / "a.mp4").lexically_normal());

  ParseResult missing = load_blueprint(dir / "nope.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.diagnostics,
              ElementsAre(Diagnostic{"", "cannot read " + (dir / "nope.json").string() +
                                             ": No such file or directory"}));
  EXPECT_THAT(load_blueprint(dir).diagnostics,
              ElementsAre(Diagnostic{"", "cannot read " + dir.string() + ": it is a folder"}));
  std::filesystem::remove_all(dir);
}

TEST(Parse, FillFocusIsCenterOrFractionsOfThePicture) {
  Blueprint bp = parsed(R"({"version": 1, "shots": [
      {"source": "a.mp4", "in": 0, "out": 1, "fit": "fill", "focus": [0.25, 1]},
      {"source": "a.mp4", "in": 0, "out": 1, "fit": "fill", "focus": "center"},
      {"source": "a.mp4", "in": 0, "out": 1, "fit": "fill", "focus": ["1/3", 0]},
      {"source": "a.mp4", "in": 0, "out": 1, "fit": "fill"}]})");
  ASSERT_EQ(bp.shots.size(), 4u);
  EXPECT_EQ(bp.shots[0].focus, (Focus{Rational{1, 4}, Rational{1}}));
  EXPECT_TRUE(bp.shots[1].focus.is_center());
  EXPECT_EQ(bp.shots[2].focus, (Focus{Rational{1, 3}, Rational{0}}));
  EXPECT_TRUE(bp.shots[3].focus.is_center());
}

TEST(Parse, BadFocusNamesTheFieldAndTheValue) {
  EXPECT_THAT(errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "fit": "fill",
                                 "focus": [0.5, 1.01])")),
              ElementsAre("shots[0].focus[1]: must be from 0 to 1, got 1.01"));
  EXPECT_THAT(errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "fit": "fill",
                                 "focus": [0.5, 0.5, 0.5])")),
              ElementsAre("shots[0].focus: expected \"center\" or [x, y] with x and y from 0 to 1 "
                          "(fractions of the picture), got an array of 3 items"));
  EXPECT_THAT(errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "fit": "fill",
                                 "focus": "centre")")),
              ElementsAre("shots[0].focus: expected \"center\" or [x, y] with x and y from 0 to 1 "
                          "(fractions of the picture), got \"centre\""));
  EXPECT_THAT(errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "fit": "fill",
                                 "focus": [null, "4/3"])")),
              ElementsAre("shots[0].focus[0]: expected a number from 0 to 1, got null",
                          "shots[0].focus[1]: must be from 0 to 1, got 4/3"));
  // Only a crop has something to keep in view.
  EXPECT_THAT(errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "focus": [0, 0],
                                 "fit": "stretch")")),
              ElementsAre("shots[0].focus: applies only to fit \"fill\" (this shot's fit is "
                          "\"stretch\")"));
}

}  // namespace
}  // namespace leancut::blueprint

namespace leancut::blueprint {
namespace {

TEST(ParseRemote, AUrlSourceIsKeptAsWrittenNotResolvedAgainstTheFolder) {
  const std::string sha(64, 'A');
  Blueprint bp = parsed(
      R"({"version": 1, "shots": [{"source": "HTTPS://media.example/a%20b.mp4?x=1", "in": 0,
          "out": 1, "sha256": ")" +
      sha + R"("}, {"source": "http:/not-a-url.mp4", "in": 0, "out": 1}]})");
  ASSERT_EQ(bp.shots.size(), 2u);
  EXPECT_TRUE(is_remote_source(bp.shots[0].source_text));
  EXPECT_EQ(bp.shots[0].source, std::filesystem::path("HTTPS://media.example/a%20b.mp4?x=1"));
  EXPECT_EQ(bp.shots[0].sha256, std::string(64, 'a'));  // kept in lowercase
  // One slash is a relative path, resolved like any other.
  EXPECT_FALSE(is_remote_source(bp.shots[1].source_text));
  EXPECT_EQ(bp.shots[1].source, std::filesystem::path("/cuts/http:/not-a-url.mp4"));
  // Read mirrors write, the checksum included.
  EXPECT_EQ(parse_blueprint(to_json(bp), kBase).blueprint, bp);
}

TEST(ParseRemote, Sha256IsCheckedWithItsPath) {
  EXPECT_THAT(errors(shot_doc(R"("source": "http://h/a.mp4", "in": 0, "out": 1, "sha256": "abc")")),
              ElementsAre("shots[0].sha256: expected 64 hex digits (a SHA-256), got \"abc\""));
  EXPECT_THAT(
      errors(shot_doc(R"("source": "a.mp4", "in": 0, "out": 1, "sha256": ")" +
                      std::string(64, '0') + "\"")),
      ElementsAre("shots[0].sha256: applies only to an http(s) source (it checks the download)"));
  EXPECT_THAT(
      errors(R"({"version": 1, "shots": [{"image": "https://h/logo.png", "duration": 1}]})"),
      ElementsAre(StartsWith("shots[0].image: a still's image must be a local file")));
  EXPECT_THAT(errors(shot_doc(R"("source": "http://h/a b.mp4", "in": 0, "out": 1)")),
              ElementsAre(StartsWith("shots[0].source: a URL must not contain spaces")));
}

}  // namespace
}  // namespace leancut::blueprint
