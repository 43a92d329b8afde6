#include "media/charge.h"

#include <memory>
#include <utility>

#include "media/av_ptr.h"

namespace leancut::media {
namespace {

// What an opaque_ref holds: the lease, and whatever opaque_ref the object had before.
struct Charge {
  memory::Lease lease;
  BufferRefPtr previous;
};

void free_charge(void* /*opaque*/, uint8_t* data) {
  // Owned by the AVBufferRef since attach(); its last unref ends the lease here.
  std::unique_ptr<Charge> charge(reinterpret_cast<Charge*>(data));
}

// Puts a charge of `bytes` into `*slot` (an opaque_ref), chaining what was there.
int64_t attach(AVBufferRef** slot, memory::Account* account, int64_t bytes) {
  if (account == nullptr || bytes <= 0) return 0;
  auto charge = std::make_unique<Charge>();
  charge->lease = account->charge_existing(bytes);
  AVBufferRef* ref = av_buffer_create(reinterpret_cast<uint8_t*>(charge.get()), sizeof(Charge),
                                      &free_charge, nullptr, 0);
  if (ref == nullptr) return 0;  // out of memory for 100 bytes: the charge is dropped with it
  charge->previous.reset(*slot);
  *slot = ref;
  static_cast<void>(charge.release());  // owned by `ref` now, freed in free_charge
  return bytes;
}

}  // namespace

int64_t charge_frame(AVFrame* frame, memory::Account* account, int64_t bytes) {
  return attach(&frame->opaque_ref, account, bytes);
}

int64_t charge_packet(AVPacket* packet, memory::Account* account) {
  const int64_t bytes = packet->buf != nullptr ? static_cast<int64_t>(packet->buf->size)
                                               : static_cast<int64_t>(packet->size);
  return attach(&packet->opaque_ref, account, bytes);
}

int64_t unshared_bytes(const AVFrame* out, const AVFrame* in) {
  int64_t bytes = 0;
  for (const AVBufferRef* o : out->buf) {
    if (o == nullptr) continue;
    bool shared = false;
    for (const AVBufferRef* i : in->buf) {
      if (i != nullptr && i->buffer == o->buffer) shared = true;
    }
    if (!shared) bytes += static_cast<int64_t>(o->size);
  }
  for (int k = 0; k < out->nb_extended_buf; ++k)
    bytes += static_cast<int64_t>(out->extended_buf[k]->size);
  return bytes;
}

}  // namespace leancut::media
