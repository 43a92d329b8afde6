// Ledger charges that live exactly as long as a libav frame's or packet's data.
//
//   media::charge_frame(out.get(), encoder_input, media::frame_bytes(out.get()));
//   media::charge_packet(pkt, packets);   // its buffer's size
//   queue.push(std::move(out));           // the charge travels with every reference
//
// The lease rides in the object's opaque_ref, which av_frame_ref/av_packet_ref, libav's copies
// of properties and its own queues (the muxer's interleaving buffer, a decoder's pending packet)
// all share; the bytes are credited when the last reference goes, wherever that happens. So a
// picture repeated by reference is charged once, and a packet the muxer still buffers stays
// charged. An opaque_ref already present is kept (chained), not replaced.
//
// The memory exists before it is charged (libav allocated it), so the charge never refuses
// (memory::Account::charge_existing); admission happens where leancut allocates, in FramePool.
// Thread-safe as the ledger is. REQUIRES: the account outlives every reference to the object.
#pragma once

#include <cstdint>

#include "memory/ledger.h"

struct AVFrame;
struct AVPacket;

namespace leancut::media {

// Charges `bytes` to `account` for the life of `frame`'s data. Returns the bytes charged (0 when
// account is null, bytes is 0, or libav could not allocate the small holder).
int64_t charge_frame(AVFrame* frame, memory::Account* account, int64_t bytes);

// Charges the packet's buffer (its allocated size, padding included) for the life of its data.
int64_t charge_packet(AVPacket* packet, memory::Account* account);

// Bytes of `out`'s buffers that `in` does not share: what a filter allocated, as opposed to a
// picture it passed through. REQUIRES: `in` is alive (so no buffer address was reused).
int64_t unshared_bytes(const AVFrame* out, const AVFrame* in);

// A holder of a charge for an object libav owns outright (an AVIOContext's buffer), resized as
// the buffer grows or shrinks; nothing charged without an account.
class BufferCharge {
 public:
  explicit BufferCharge(memory::Account* account = nullptr) : account_(account) {}
  void set(int64_t bytes) {
    if (account_ == nullptr || bytes == lease_.bytes()) return;
    lease_ = bytes > 0 ? account_->charge_existing(bytes) : memory::Lease{};
  }
  int64_t bytes() const { return lease_.bytes(); }

 private:
  memory::Account* account_;
  memory::Lease lease_;
};

}  // namespace leancut::media
