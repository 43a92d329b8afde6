#include "support/test_media_env.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "media/decode_helper.h"
#include "support/frame_code.h"

namespace leancut::testing {
namespace {

struct State {
  std::filesystem::path dir;
  std::vector<media::ClipInfo> clips;
  std::map<std::string, SourceFrames> frames;
  std::map<std::string, SourceAudio> audio;
};

State& state() {
  static State s;
  return s;
}

class TestMediaEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    media::testing::quiet_libav_logs();
    State& s = state();
    s.dir = std::filesystem::absolute(media::testing::shared_test_media_dir());
    auto clips = media::generate_test_media(s.dir, {});
    ASSERT_TRUE(clips.ok()) << "generate_test_media: " << clips.error().message;
    s.clips = std::move(clips).value();
  }
};

}  // namespace

const void* register_test_media_environment() {
  // GoogleTest takes ownership of environments passed to it.
  return ::testing::AddGlobalTestEnvironment(new TestMediaEnvironment);
}

const std::filesystem::path& test_media_dir() {
  return state().dir;
}

const std::vector<media::ClipInfo>& test_clips() {
  return state().clips;
}

const media::ClipInfo& test_clip(std::string_view file) {
  for (const media::ClipInfo& c : state().clips) {
    if (c.file == file) return c;
  }
  ADD_FAILURE() << "no test clip " << file << " (was the media environment registered?)";
  static const media::ClipInfo kNone;
  return kNone;
}

Q SourceFrames::time_of(int64_t i) const {
  return mul(Q{pts[static_cast<std::size_t>(i)] - pts.front(), 1}, Q{time_base.num, time_base.den});
}

int64_t SourceFrames::frame_at(Q t) const {
  if (pts.empty()) return -1;
  // pts is increasing in presentation order; find the last frame with time_of(i) <= t.
  int64_t lo = 0;
  int64_t hi = static_cast<int64_t>(pts.size());  // first index with time > t
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (compare(time_of(mid), t) <= 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo - 1;
}

Q SourceFrames::end() const {
  const int64_t n = static_cast<int64_t>(pts.size());
  if (n < 2) return Q{0, 1};
  Q last = time_of(n - 1);
  return add(last, sub(last, time_of(n - 2)));
}

const SourceFrames& source_frames(const std::string& file) {
  State& s = state();
  if (auto it = s.frames.find(file); it != s.frames.end()) return it->second;
  SourceFrames f;
  auto decoded = media::testing::decode_file(s.dir / file, [&](const AVFrame* frame, int64_t i) {
    if (i == 0) f.bt601 = is_bt601(frame);
  });
  if (!decoded.ok()) {
    ADD_FAILURE() << "decode_file(" << file << "): " << decoded.error().message;
  } else if (decoded->video() == nullptr) {
    ADD_FAILURE() << file << ": no video stream";
  } else {
    f.time_base = decoded->video()->time_base;
    f.pts = decoded->video()->pts;
    if (!std::is_sorted(f.pts.begin(), f.pts.end())) {
      ADD_FAILURE() << file << ": decoded pts are not in presentation order";
    }
  }
  return s.frames.emplace(file, std::move(f)).first->second;
}

const SourceAudio& source_audio(const std::string& file) {
  State& s = state();
  if (auto it = s.audio.find(file); it != s.audio.end()) return it->second;
  SourceAudio a;
  auto decoded = decode_audio_mono(s.dir / file);
  const SourceFrames& video = source_frames(file);
  if (!decoded.ok()) {
    ADD_FAILURE() << "decode_audio_mono(" << file << "): " << decoded.error().message;
  } else if (!video.pts.empty()) {
    const double video_first_s = static_cast<double>(video.pts.front()) * av_q2d(video.time_base);
    a.start_s = decoded->first_s - video_first_s;
    a.audio = std::move(decoded).value();
  }
  return s.audio.emplace(file, std::move(a)).first->second;
}

}  // namespace leancut::testing
