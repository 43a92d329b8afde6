// Probing a source file: what the engine needs to cut it frame-accurately. Times here are
// "editor time": seconds measured from the source's first displayed video frame, whatever the
// container's start time or MP4 edit list says (an MPEG-TS whose first pts is 10 s has its first
// frame at editor time 0).
//
//   Result<ProbeInfo> p = probe_file("clips/a.mp4");
//   p->video->duration;   // end of the last frame, editor time
//
// Opens the file, decodes the first video frame, reads the last few seconds of packets to find the
// exact end, then closes everything. Thread-safe (no shared state).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/result.h"
#include "time/rational.h"

namespace leancut::media {

struct VideoInfo {
  int stream_index = -1;
  std::string codec;
  int width = 0;  // stored (coded picture) size
  int height = 0;
  Rational sample_aspect{1};  // pixel aspect; 1 when unknown
  int rotation = 0;           // clockwise degrees to display upright: 0, 90, 180, 270
  int display_width = 0;      // after sample aspect and rotation
  int display_height = 0;
  Rational frame_rate{0};        // nominal (average) rate; timecodes count frames at this rate
  Rational first_frame_time{0};  // container time of the first displayed frame, seconds
  Rational duration{0};          // editor time at which the last frame stops showing
  std::string pixel_format;
  int decoder_frames = 1;  // pictures a decoder holds (references + reorder): memory planning
};

struct AudioInfo {
  int stream_index = -1;
  std::string codec;
  int sample_rate = 0;
  int channels = 0;
  Rational start{0};     // editor time of the first sample (may be < 0: audio before video)
  Rational duration{0};  // editor time at which the audio ends
};

struct ProbeInfo {
  std::filesystem::path path;
  std::string format_name;  // "mov,mp4,m4a,3gp,3g2,mj2", "mpegts", ...
  std::optional<VideoInfo> video;
  std::optional<AudioInfo> audio;
  int64_t file_bytes = 0;
  // Container seconds of editor time 0: the first video frame's, or for an audio-only probe
  // (below) the audio stream's start.
  Rational time_origin{0};
};

Result<ProbeInfo> probe_file(const std::filesystem::path& path);

// As probe_file, but a file without a video stream is fine when it has audio (a music file for
// an audio bed): `video` is then empty and editor time 0 is the audio's first sample. Only for
// callers that read nothing but audio from it.
Result<ProbeInfo> probe_audio_file(const std::filesystem::path& path);

}  // namespace leancut::media
