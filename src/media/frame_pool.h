// FramePool: decoded pictures in ledger-charged, recycled memory (AVCodecContext.get_buffer2).
//
//   memory::BlockPool blocks(frames_account, {.max_idle_bytes = 24 * memory::kMiB});
//   FramePool pool(&blocks, {.wait = 5s, .stop = job_stop_token});
//   StreamReader::open(probe, StreamKind::Video, {.threads = 1, .frame_pool = &pool});
//
// Decoders that allow it (AV_CODEC_CAP_DR1) get their picture planes from the BlockPool, laid out
// as libav's own allocator lays them out (avcodec_align_dimensions2 sizes, stride alignment,
// 16 + STRIDE_ALIGN bytes of padding per plane), so the ledger sees every decoded frame the moment
// the decoder asks for it, and one pool of memory serves every source of the same size. When the
// budget is full the decoder waits in get_buffer2 (backpressure) until a frame is released, up to
// `wait`, then fails the decode with ENOMEM. Other decoders (no DR1, hardware, palettes) keep
// libav's allocator; those frames are counted in stats() and are the engine's to estimate.
//
// Thread-safe: libav may call get_buffer2 from its frame threads; frames may be freed anywhere.
// REQUIRES: outlives every decoder it is installed in and every frame they made.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "base/result.h"
#include "memory/block_pool.h"

struct AVCodecContext;
struct AVFrame;

namespace leancut::media {

struct FramePoolOptions {
  std::chrono::milliseconds wait{5000};  // longest a decoder waits for budget
  std::stop_token stop;                  // cancels a waiting decoder
};

struct FramePoolStats {
  int64_t pooled_frames = 0;   // pictures whose planes came from the pool
  int64_t default_frames = 0;  // pictures libav allocated itself (not charged)
  int64_t refused_frames = 0;  // get_buffer2 calls that found no budget in time
};

// What one decoded picture of this size and format costs in the pool, alignment and padding
// included (an estimate for planning: codecs align heights differently). pixel_format: libav's
// name ("yuv420p"); unknown names count as yuv420p.
int64_t estimate_picture_bytes(int width, int height, const std::string& pixel_format);

class FramePool {
 public:
  FramePool(memory::BlockPool* blocks, FramePoolOptions options);
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;

  // Call before avcodec_open2. Takes over ctx->get_buffer2 and ctx->opaque for DR1 video
  // decoders and returns true; leaves other decoders alone and returns false.
  bool install(AVCodecContext* ctx);

  FramePoolStats stats() const;
  // Why `ctx`'s first refused picture was refused (a decoder that got no memory drops the
  // picture and goes on, so its reader must check and stop); nullopt while none was.
  std::optional<Error> refusal(const AVCodecContext* ctx) const;
  // Forgets `ctx` (its decoder is being freed; the address may be reused).
  void forget(const AVCodecContext* ctx);
  memory::BlockPool& blocks() { return *blocks_; }

 private:
  static int get_buffer2(AVCodecContext* ctx, AVFrame* frame, int flags);
  static void free_plane(void* opaque, uint8_t* data);
  int allocate(AVCodecContext* ctx, AVFrame* frame);

  memory::BlockPool* const blocks_;
  const FramePoolOptions options_;
  std::atomic<int64_t> pooled_frames_{0};
  std::atomic<int64_t> default_frames_{0};
  std::atomic<int64_t> refused_frames_{0};
  mutable std::mutex error_mu_;
  std::map<const AVCodecContext*, Error> refused_;  // guarded by error_mu_
};

}  // namespace leancut::media
