// In-process renders for the integration tests, checked against expectations computed here from
// docs/blueprint.md's time rules and an independent decode of the sources (never engine code):
//
//   RenderCase c{.name = "kinds", .output = {.width = 640, .height = 360}};
//   c.shots = {shot("a_720p30.mp4", "1", "2.5"), tc_shot("h_ntsc.mp4", ...)};
//   Rendered r = render_and_check(c, dir);   // renders, decodes, checks every frame and the audio
//   EXPECT_GT(r.stats.reader_reuses, 0);
//
// Checks (each a gtest failure, named by shot and output frame): exact frame count, dimensions,
// video duration, audio stream (rate, channels, length within one AAC frame of the video), every
// output frame's code block (source id and source frame), and the audio of every shot sampled
// every half second away from its boundaries: the source's tone where the source has audio,
// silence where it has none or the shot says "audio": false.
//
// Thread-compatible (the test thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/render_job.h"
#include "media/decode_helper.h"
#include "media/testmedia.h"
#include "support/audio_analysis.h"
#include "support/exact.h"

namespace leancut::testing {

struct TestShot {
  std::string file;     // inside the test media folder
  std::string in_json;  // the JSON value written for "in"
  std::string out_json;
  Q in;  // what the test takes in/out to mean, in seconds
  Q out;
  std::string fit = "fit";
  bool audio = true;
};

// Decimal seconds, written as JSON numbers: shot("a_720p30.mp4", "1.5", "3").
TestShot shot(const std::string& file, const std::string& in, const std::string& out,
              const std::string& fit = "fit", bool audio = true);

struct OutputSpec {
  int width = 640;
  int height = 360;
  std::string fps_json = "30";
  Q fps{30, 1};
  int sample_rate = 48000;
  int channels = 2;
  std::string preset = "ultrafast";
  std::string extension = ".mp4";
  std::string mp4_layout = {};  // written when set: "standard", "faststart", "fragmented"
};

struct RenderCase {
  std::string name = {};
  OutputSpec output = {};
  std::vector<TestShot> shots = {};
};

// What the time rules make of a shot on the output.
struct ExpectedShot {
  int64_t source_first_frame = 0;  // round(in × fps)
  int64_t frame_count = 0;
  int64_t first_frame = 0;  // on the output
  int64_t first_sample = 0;
  int64_t sample_count = 0;
};
std::vector<ExpectedShot> expected_shots(const RenderCase& c);

// Sees every decoded output frame with the shot it belongs to and its index k in the shot.
using FrameHook = std::function<void(const AVFrame* yuv, int64_t frame, int shot, int64_t k)>;

struct Rendered {
  bool ok = false;  // rendered and decoded; the checks may still have failed
  std::filesystem::path file;
  engine::RenderStats stats;
  std::vector<ExpectedShot> shots;
  int64_t total_frames = 0;
  int64_t frame_code_mismatches = 0;
  int64_t audio_windows_checked = 0;
  double max_audio_sync_error_s = 0;
  int64_t audio_edges_checked = 0;  // cuts between sound and silence, located to 2 ms  // over the
                                    // tone windows, modulo each tone's period
};

std::string blueprint_json(const RenderCase& c);

Rendered render_and_check(const RenderCase& c, const std::filesystem::path& out_dir,
                          const FrameHook& hook = {});

}  // namespace leancut::testing
