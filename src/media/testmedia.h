// Deterministic test media, generated in-process (libavfilter testsrc2 + sine, our Encoder and
// Muxer), with frames and audio that say where they came from after any scaling,
// letterboxing, centred cropping or 90-degree rotation.
//
//   LEANCUT_ASSIGN_OR_RETURN(auto clips, generate_test_media(dir, {}));   // the standard set
//   ... decode a rendered frame (YUV420P) ...
//   if (auto code = read_frame_code(frame)) EXPECT_EQ(code->frame_mod32, frame_code_for_index(i));
//
// The code block: each frame gets a centred flat square, side min(w, h) / 4 rounded down to
// even, at an even offset, painted into the YUV420P planes before encoding:
//   luma   Y = 16 + 7 * (frame_index % 32)       (codes 0..31 -> Y 16..233, steps of 7)
//   chroma (U, V) = kCodePalette[source_id % 12] (below)
// frame_index counts the clip's frames in presentation order from 0. Codes survive YUV scaling
// and padding (the centre stays flat); an RGB round trip may clip the more saturated entries.
//
// Palette (source_id % 12 -> U, V); the first 8 are the 3x3 grid of {48, 128, 208} without
// the grey centre, the last 4 sit between them; every pair is >= 56 apart and >= 56 from grey:
//    0 (48, 48)    1 (48, 208)   2 (208, 48)   3 (208, 208)
//    4 (48, 128)   5 (208, 128)  6 (128, 48)   7 (128, 208)
//    8 (88, 88)    9 (88, 168)  10 (168, 88)  11 (168, 168)
// The bench set has ids 0..19, so ids 12..19 reuse colours 0..7 (read_frame_code returns the
// palette index, i.e. source_id % 12).
//
// Audio: a sine of audio_frequency_hz = 300 + 100 * source_id Hz on every channel.
//
// The standard set (source ids 0..9; every .mp4 has B-frames, hence edit lists):
//   0 a_720p30.mp4     1280x720 @30, stereo 48 kHz, 10 s
//   1 b_1080p25.mp4    1920x1080 @25, stereo 48 kHz, 8 s
//   2 c_360p24.mp4     640x360 @24, mono 44.1 kHz, 10 s
//   3 d_portrait.mp4   720x1280 @30, stereo 48 kHz, 6 s
//   4 e_rotated.mp4    stored 1280x720 @30 with a -90 degree display matrix (the phone case:
//                      displays as 720x1280), stereo 48 kHz, 6 s
//   5 f_noaudio.mp4    1280x720 @30, no audio stream, 6 s
//   6 g_shortaudio.mp4 1280x720 @30, 8 s of video, stereo 48 kHz audio for the first 3 s only
//   7 h_ntsc.mp4       640x360 @30000/1001, stereo 48 kHz, 300 frames (10.01 s)
//   8 i_vfr.mkv        640x360, variable rate: frame durations alternate 33 and 67 ms (time
//                      base 1/1000; 160 frames, average 20 fps), stereo 48 kHz, 8 s
//   9 j_offset.ts      MPEG-TS 640x360 @25, stereo 48 kHz, 8 s, timestamps start at ~10 s
// The bench set: 20 clips bench_XX_<kind>.mp4 of 30..60 s, a fixed-seed mix of the mp4 kinds
// above (720p, 1080p, 360p mono, portrait, rotated, no audio, ntsc).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "media/av_ptr.h"

namespace leancut::media {

struct ClipInfo {
  std::string file;  // name inside the directory
  int source_id = 0;
  int width = 0, height = 0;                  // stored size
  int display_width = 0, display_height = 0;  // after rotation
  AVRational fps{0, 1};                       // for VFR, the average rate
  bool vfr = false;
  int64_t frames = 0;
  double duration_s = 0;  // frames times their durations
  bool has_audio = false;
  int audio_sample_rate = 0, audio_channels = 0;
  double audio_duration_s = 0;
  double audio_frequency_hz = 0;
  int rotation_degrees = 0;  // the display matrix, counter-clockwise (av_display_rotation_get)
  std::string container;     // libavformat muxer name: "mp4", "matroska", "mpegts"
  double start_time_s = 0;   // container start, e.g. 10 for the TS

  bool operator==(const ClipInfo& o) const;
};

struct TestMediaOptions {
  std::string set = "standard";  // "standard" | "bench"
};

// Writes the clips and a manifest DIR/manifest.json (the ClipInfo fields); skips clips that
// already exist with the same manifest entry (idempotent, fast re-run). Creates `dir`. Files
// are written under temporary names and renamed, and a lock file (DIR/.lock) serialises
// concurrent generators (parallel test processes), so readers never see half a clip.
Result<std::vector<ClipInfo>> generate_test_media(const std::filesystem::path& dir,
                                                  const TestMediaOptions& opt);

// The clips a set consists of, without generating anything (the manifest's content).
Result<std::vector<ClipInfo>> test_media_clips(const std::string& set);

// Reads the code block back from a decoded YUV420P (or YUVJ420P) frame of any size: the median
// of a centred window of up to 8x8 luma and 4x4 chroma samples, mapped to the nearest code and
// palette entry. nullopt when the centre is not a code block: another pixel format, a window
// that is not flat, or a chroma far from every palette entry (black, grey, picture content).
struct FrameCode {
  int frame_mod32;
  int source_id;  // the palette index: source_id % 12
};
std::optional<FrameCode> read_frame_code(const AVFrame* yuv420p_frame);

// Expected code for a clip frame index, for tests.
int frame_code_for_index(int64_t index);

// The exact colour painted for a frame index and source id (Y, U, V).
struct CodeColour {
  uint8_t y, u, v;
};
CodeColour code_colour(int64_t frame_index, int source_id);

// Paints the code block into a writable YUV420P frame (what the generator does; exposed for
// tests that build frames by hand). REQUIRES: frame is YUV420P and writable.
void paint_frame_code(AVFrame* frame, int64_t frame_index, int source_id);

}  // namespace leancut::media
