// PacketSpool: encoded packets parked in a file, in order and exactly as they were (timestamps
// and their time base, duration, flags, side data), to be handed to a muxer later.
//
// Why: an MP4 muxer keeps an index entry per packet until the file is finished (about 64 bytes
// with its growth: 26 MB for 104 minutes of 30 fps video with AAC). Muxing as packets arrive
// puts that index on top of the render's peak (decoders, x264), so the peak grows with the
// output's length. Spooling the packets and muxing them once the decoders and the encoder are
// gone builds the same file, byte for byte, with the index built when memory is free.
//
//   LEANCUT_ASSIGN_OR_RETURN(auto spool, PacketSpool::create("out.spool"));
//   LEANCUT_TRY(spool->write(pkt, stream, encoder_time_base));   // a PacketSink
//   LEANCUT_TRY(spool->finish());
//   LEANCUT_TRY(PacketSpool::replay("out.spool", muxer));        // muxer.write(...) for each
//
// Format (this process writes and reads it; native byte order): "LCSPOOL1", then per packet a
// fixed record {stream, flags, time base, pts, dts, duration, size, side data count}, the data,
// and each side data {type, size, bytes}. Memory: a 64 KiB write buffer; one packet at a time
// on replay.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "base/result.h"
#include "media/charge.h"
#include "media/packet_sink.h"

namespace leancut::media {

class PacketSpool final : public PacketSink {
  struct PrivateKey {
    explicit PrivateKey() = default;
  };

 public:
  // Creates (or truncates) `path`. `io_account` is charged for the write buffer.
  static Result<std::unique_ptr<PacketSpool>> create(const std::filesystem::path& path,
                                                     memory::Account* io_account = nullptr);
  // Reads `path` from the start and writes every packet to `sink`, in order; each packet is
  // charged to `packet_account` while it lives (in the sink's interleaving queue too).
  static Status replay(const std::filesystem::path& path, PacketSink& sink,
                       memory::Account* packet_account = nullptr);

  PacketSpool(PrivateKey, std::FILE* file, std::filesystem::path path, memory::Account* io_account);
  PacketSpool(const PacketSpool&) = delete;
  PacketSpool& operator=(const PacketSpool&) = delete;
  ~PacketSpool() override;  // closes the file (the caller removes it)

  Status write(AVPacket* pkt, int stream_index, AVRational from) override;
  // Flushes and closes; the spool is complete only after this. REQUIRES: called once.
  Status finish();

  int64_t packets() const { return packets_; }
  int64_t bytes() const { return bytes_; }

 private:
  // Packets average a few KB: a 64 KiB buffer makes writes large. The file is closed (flushed)
  // before the buffer is freed: in finish() or the destructor's body.
  static constexpr std::size_t kBufferBytes = 64 * 1024;
  std::unique_ptr<char[]> buffer_;
  BufferCharge buffer_charge_;
  std::FILE* file_;
  std::filesystem::path path_;
  int64_t packets_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace leancut::media
