#include "media/blend.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "media/av_error.h"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace leancut::media {

Status blend_into(AVFrame* dst, const AVFrame* src, Rational weight) {
  if (dst->width != src->width || dst->height != src->height || dst->format != src->format) {
    return make_error(ErrorCode::Internal, "blend: pictures differ (" + std::to_string(dst->width) +
                                               "x" + std::to_string(dst->height) + " vs " +
                                               std::to_string(src->width) + "x" +
                                               std::to_string(src->height) + ")");
  }
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(dst->format));
  if (desc == nullptr || (desc->flags & AV_PIX_FMT_FLAG_PLANAR) == 0 || desc->comp[0].depth != 8) {
    return make_error(ErrorCode::Internal, "blend: not a planar 8-bit picture");
  }
  // 0..256: the weight in 1/256ths, rounded half up.
  const int64_t w = std::clamp<int64_t>(round_half_up(weight * Rational{256}), 0, 256);
  if (w == 0) return ok_status();
  if (int err = av_frame_make_writable(dst); err < 0) {
    return av_error(err, "av_frame_make_writable (blend)");
  }
  const int planes = av_pix_fmt_count_planes(static_cast<AVPixelFormat>(dst->format));
  for (int p = 0; p < planes; ++p) {
    const bool chroma = p == 1 || p == 2;
    const int width = chroma ? AV_CEIL_RSHIFT(dst->width, desc->log2_chroma_w) : dst->width;
    const int height = chroma ? AV_CEIL_RSHIFT(dst->height, desc->log2_chroma_h) : dst->height;
    const auto keep = static_cast<uint32_t>(256 - w);
    const auto take = static_cast<uint32_t>(w);
    for (int y = 0; y < height; ++y) {
      uint8_t* d = dst->data[p] + static_cast<std::ptrdiff_t>(y) * dst->linesize[p];
      const uint8_t* s = src->data[p] + static_cast<std::ptrdiff_t>(y) * src->linesize[p];
      for (int x = 0; x < width; ++x) {
        d[x] = static_cast<uint8_t>((d[x] * keep + s[x] * take + 128) >> 8);
      }
    }
  }
  return ok_status();
}

}  // namespace leancut::media
