#include "media/av_ptr.h"

#include "base/check.h"

namespace leancut::media {

FramePtr make_frame() {
  FramePtr f{av_frame_alloc()};
  LEANCUT_CHECK(f != nullptr);
  return f;
}

PacketPtr make_packet() {
  PacketPtr p{av_packet_alloc()};
  LEANCUT_CHECK(p != nullptr);
  return p;
}

FramePtr ref_frame(const AVFrame* src) {
  FramePtr f = make_frame();
  LEANCUT_CHECK(av_frame_ref(f.get(), src) == 0);
  return f;
}

std::size_t frame_bytes(const AVFrame* frame) {
  std::size_t bytes = 0;
  for (AVBufferRef* buf : frame->buf) {
    if (buf != nullptr) bytes += buf->size;
  }
  for (int i = 0; i < frame->nb_extended_buf; ++i) bytes += frame->extended_buf[i]->size;
  return bytes;
}

}  // namespace leancut::media
