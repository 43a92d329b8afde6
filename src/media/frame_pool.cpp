#include "media/frame_pool.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}

#include <cstring>
#include <memory>
#include <utility>

namespace leancut::media {

namespace {

// libav's STRIDE_ALIGN on x86-64 builds with AVX-512 (Debian's): linesizes are multiples of it.
constexpr int kStrideAlign = 64;
// libav pads each plane buffer by 16 + STRIDE_ALIGN - 1 bytes; SIMD may read (not write) there.
constexpr int64_t kPlanePadding = 16 + kStrideAlign - 1;

// One plane's block on loan to libav; freed (handed back) by free_plane.
struct PlaneLoan {
  memory::BlockPool* blocks;
  memory::BlockPool::Block block;
};

}  // namespace

int64_t estimate_picture_bytes(int width, int height, const std::string& pixel_format) {
  AVPixelFormat format = av_get_pix_fmt(pixel_format.c_str());
  if (format == AV_PIX_FMT_NONE) format = AV_PIX_FMT_YUV420P;
  // H.264/HEVC code 16- or 32-line macroblock rows and libav adds edge room; 64-aligned strides.
  const int aligned_w = (width + 63) / 64 * 64;
  const int aligned_h = (height + 31) / 32 * 32 + 32;
  const int bytes = av_image_get_buffer_size(format, aligned_w, aligned_h, kStrideAlign);
  const int planes = av_pix_fmt_count_planes(format);
  if (bytes <= 0) return int64_t{width} * height * 3 / 2;
  return int64_t{bytes} + std::max(planes, 1) * kPlanePadding;
}

FramePool::FramePool(memory::BlockPool* blocks, FramePoolOptions options)
    : blocks_(blocks), options_(std::move(options)) {}

bool FramePool::install(AVCodecContext* ctx) {
  if (ctx->codec == nullptr || ctx->codec_type != AVMEDIA_TYPE_VIDEO ||
      (ctx->codec->capabilities & AV_CODEC_CAP_DR1) == 0) {
    return false;
  }
  ctx->opaque = this;
  ctx->get_buffer2 = &FramePool::get_buffer2;
  return true;
}

std::optional<Error> FramePool::refusal(const AVCodecContext* ctx) const {
  if (refused_frames_.load(std::memory_order_relaxed) == 0) return std::nullopt;
  std::lock_guard lock(error_mu_);
  auto it = refused_.find(ctx);
  if (it == refused_.end()) return std::nullopt;
  return it->second;
}

void FramePool::forget(const AVCodecContext* ctx) {
  std::lock_guard lock(error_mu_);
  refused_.erase(ctx);
}

FramePoolStats FramePool::stats() const {
  return {pooled_frames_.load(), default_frames_.load(), refused_frames_.load()};
}

int FramePool::get_buffer2(AVCodecContext* ctx, AVFrame* frame, int flags) {
  auto* self = static_cast<FramePool*>(ctx->opaque);
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame->format));
  const bool plain = desc != nullptr &&
                     (desc->flags & (AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_PAL)) == 0 &&
                     ctx->hw_frames_ctx == nullptr;
  if (!plain) {
    self->default_frames_.fetch_add(1, std::memory_order_relaxed);
    return avcodec_default_get_buffer2(ctx, frame, flags);
  }
  return self->allocate(ctx, frame);
}

void FramePool::free_plane(void* opaque, uint8_t* /*data*/) {
  std::unique_ptr<PlaneLoan> loan(static_cast<PlaneLoan*>(opaque));
  loan->blocks->give_back(std::move(loan->block));
}

int FramePool::allocate(AVCodecContext* ctx, AVFrame* frame) {
  const auto format = static_cast<AVPixelFormat>(frame->format);
  int w = frame->width;
  int h = frame->height;
  int stride_align[AV_NUM_DATA_POINTERS];
  avcodec_align_dimensions2(ctx, &w, &h, stride_align);
  for (int& a : stride_align) a = std::max(a, kStrideAlign);

  // Widen until every plane's linesize is aligned (as libav's update_frame_pool does).
  int linesize[4] = {};
  for (;;) {
    if (int err = av_image_fill_linesizes(linesize, format, w); err < 0) return err;
    bool unaligned = false;
    for (int i = 0; i < 4; ++i) unaligned = unaligned || linesize[i] % stride_align[i] != 0;
    if (!unaligned) break;
    w += w & ~(w - 1);
  }
  ptrdiff_t linesizes[4];
  for (int i = 0; i < 4; ++i) linesizes[i] = linesize[i];
  size_t plane_bytes[4] = {};
  if (int err = av_image_fill_plane_sizes(plane_bytes, format, h, linesizes); err < 0) return err;

  for (int i = 0; i < 4 && plane_bytes[i] > 0; ++i) {
    const int64_t size = static_cast<int64_t>(plane_bytes[i]) + kPlanePadding;
    Result<memory::BlockPool::Block> block = blocks_->acquire(size, options_.wait, options_.stop);
    if (!block.ok()) {
      refused_frames_.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(error_mu_);
        refused_.emplace(ctx, block.error());  // keeps the first refusal of this decoder
      }
      av_frame_unref(frame);  // gives back the planes already taken
      return AVERROR(ENOMEM);
    }
    uint8_t* data = block.value().data();
    auto loan = std::make_unique<PlaneLoan>(PlaneLoan{blocks_, std::move(block.value())});
    AVBufferRef* buf =
        av_buffer_create(data, static_cast<size_t>(size), &FramePool::free_plane, loan.get(), 0);
    if (buf == nullptr) {
      blocks_->give_back(std::move(loan->block));
      av_frame_unref(frame);
      return AVERROR(ENOMEM);
    }
    static_cast<void>(loan.release());  // owned by `buf` now, returned in free_plane
    frame->buf[i] = buf;
    frame->data[i] = data;
    frame->linesize[i] = linesize[i];
  }
  frame->extended_data = frame->data;
  pooled_frames_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

}  // namespace leancut::media
