// The standard test media for a test binary: generated once (idempotent, shared by every test
// process through shared_test_media_dir()) by a GoogleTest global environment, plus the source
// clips' frame timestamps from an independent decode, to compute what a render must show.
//
//   // in one .cpp of the test binary:
//   const auto* const kEnv = leancut::testing::register_test_media_environment();
//   ...
//   const ClipInfo& a = test_clip("a_720p30.mp4");
//   int64_t j = source_frames("c_360p24.mp4").frame_at(Q{7, 30});   // frame on screen at 7/30 s
//
// Thread-compatible: call from the test thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "media/testmedia.h"
#include "support/audio_analysis.h"
#include "support/exact.h"

namespace leancut::testing {

// Registers the environment with GoogleTest (which owns it); call once at namespace scope.
const void* register_test_media_environment();

const std::filesystem::path& test_media_dir();
const std::vector<media::ClipInfo>& test_clips();
const media::ClipInfo& test_clip(std::string_view file);

// A clip's video frames in presentation order, from decode_file (tests/media/decode_helper.h).
struct SourceFrames {
  AVRational time_base{0, 1};
  std::vector<int64_t> pts;
  bool bt601 = false;  // tagged BT.601 (smpte170m): the engine converts it to BT.709

  // Editor time of frame i: (pts[i] - pts[0]) * time_base, measured from the first frame.
  Q time_of(int64_t i) const;
  // The latest frame whose editor time is <= t (the frame on screen at t); the last frame when t
  // is past them all; -1 when t precedes the first frame.
  int64_t frame_at(Q t) const;
  // End of the last frame (editor time), taking the last frame to last as long as the one before.
  Q end() const;
};
const SourceFrames& source_frames(const std::string& file);

// A clip's audio, decoded to mono at its own rate, and where it starts in editor time (its first
// decoded sample's timestamp minus the first video frame's): sample n plays at start_s + n / rate.
struct SourceAudio {
  DecodedAudio audio;
  double start_s = 0;
};
const SourceAudio& source_audio(const std::string& file);

}  // namespace leancut::testing
