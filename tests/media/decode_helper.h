// Test helper: decodes a whole media file with libav directly (independent of the engine's
// demux/decode stages) and summarises what came out, for checks against what was written.
//
//   auto file = decode_file(path, [&](const AVFrame* yuv, int64_t i) { ... });
//   ASSERT_TRUE(file.ok()) << file.error().message;
//   EXPECT_EQ(file->video()->frames, 300);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "media/av_ptr.h"

namespace leancut::media::testing {

struct DecodedStream {
  int index = -1;
  AVMediaType type = AVMEDIA_TYPE_UNKNOWN;
  AVRational time_base{0, 1};
  std::string codec;
  int64_t frames = 0;                 // decoded frames (video) or audio frames
  std::vector<int64_t> pts;           // video: every frame's best-effort pts, presentation order
  int64_t samples = 0;                // audio: decoded samples per channel
  double first_s = 0;                 // first frame's timestamp
  double end_s = 0;                   // last frame's timestamp + its duration
  int width = 0, height = 0;          // video
  int sample_rate = 0, channels = 0;  // audio
  std::optional<double> rotation;     // av_display_rotation_get of the stream's display matrix
};

struct DecodedFile {
  std::string format_name;  // the demuxer's, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  double start_time_s = 0;  // AVFormatContext start_time
  std::vector<DecodedStream> streams;

  const DecodedStream* video() const;  // the first video stream, or nullptr
  const DecodedStream* audio() const;  // the first audio stream, or nullptr
};

// Sees each decoded video frame (converted to YUV420P when it is not) with its index in
// presentation order.
using VideoFrameFn = std::function<void(const AVFrame* yuv420p, int64_t index)>;

Result<DecodedFile> decode_file(const std::filesystem::path& path,
                                const VideoFrameFn& on_video_frame = {});

// Lowers libav's log level to errors (x264 prints its settings and statistics at info level).
void quiet_libav_logs();

// The directory shared test media goes to: $LEANCUT_TEST_MEDIA_DIR, else the build tree's
// test-media directory.
std::filesystem::path shared_test_media_dir();

}  // namespace leancut::media::testing
