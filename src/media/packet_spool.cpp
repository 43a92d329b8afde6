#include "media/packet_spool.h"

#include <cstring>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include "media/av_error.h"
#include "media/av_ptr.h"

namespace leancut::media {
namespace {

constexpr char kMagic[8] = {'L', 'C', 'S', 'P', 'O', 'O', 'L', '1'};

struct Record {
  int32_t stream = 0;
  int32_t flags = 0;
  int32_t tb_num = 0;
  int32_t tb_den = 1;
  int64_t pts = 0;
  int64_t dts = 0;
  int64_t duration = 0;
  int32_t size = 0;
  int32_t side_data_count = 0;
};

struct SideHeader {
  int32_t type = 0;
  int32_t size = 0;
};

// A packet larger than this in a spool means the file is damaged, not that x264 made it.
constexpr int32_t kMaxPacketBytes = 256 << 20;

}  // namespace

Result<std::unique_ptr<PacketSpool>> PacketSpool::create(const std::filesystem::path& path,
                                                         memory::Account* io_account) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return make_error(ErrorCode::Io, path.string() + ": cannot create the spool");
  auto spool = std::make_unique<PacketSpool>(PrivateKey{}, f, path, io_account);
  if (std::fwrite(kMagic, 1, sizeof kMagic, f) != sizeof kMagic) {
    return make_error(ErrorCode::Io, path.string() + ": write failed");
  }
  spool->bytes_ = sizeof kMagic;
  return spool;
}

PacketSpool::PacketSpool(PrivateKey /*key*/, std::FILE* file, std::filesystem::path path,
                         memory::Account* io_account)
    : buffer_(std::make_unique<char[]>(kBufferBytes)),
      buffer_charge_(io_account),
      file_(file),
      path_(std::move(path)) {
  std::setvbuf(file_, buffer_.get(), _IOFBF, kBufferBytes);
  buffer_charge_.set(static_cast<int64_t>(kBufferBytes));
}

PacketSpool::~PacketSpool() {
  if (file_ != nullptr) std::fclose(file_);
}

Status PacketSpool::write(AVPacket* pkt, int stream_index, AVRational from) {
  struct Unref {
    AVPacket* p;
    ~Unref() { av_packet_unref(p); }
  } unref{pkt};
  if (file_ == nullptr) return make_error(ErrorCode::Internal, path_.string() + ": spool finished");
  Record r;
  r.stream = stream_index;
  r.flags = pkt->flags;
  r.tb_num = from.num;
  r.tb_den = from.den;
  r.pts = pkt->pts;
  r.dts = pkt->dts;
  r.duration = pkt->duration;
  r.size = pkt->size;
  r.side_data_count = pkt->side_data_elems;
  bool ok = std::fwrite(&r, sizeof r, 1, file_) == 1 &&
            (pkt->size == 0 || std::fwrite(pkt->data, 1, static_cast<size_t>(pkt->size), file_) ==
                                   static_cast<size_t>(pkt->size));
  int64_t side_bytes = 0;
  for (int i = 0; ok && i < pkt->side_data_elems; ++i) {
    const AVPacketSideData& sd = pkt->side_data[i];
    SideHeader h{static_cast<int32_t>(sd.type), static_cast<int32_t>(sd.size)};
    ok = std::fwrite(&h, sizeof h, 1, file_) == 1 &&
         (sd.size == 0 || std::fwrite(sd.data, 1, sd.size, file_) == sd.size);
    side_bytes += static_cast<int64_t>(sizeof h + sd.size);
  }
  if (!ok) return make_error(ErrorCode::Io, path_.string() + ": write failed (disk full?)");
  ++packets_;
  bytes_ += static_cast<int64_t>(sizeof r) + pkt->size + side_bytes;
  return ok_status();
}

Status PacketSpool::finish() {
  if (file_ == nullptr) return make_error(ErrorCode::Internal, path_.string() + ": spool finished");
  const bool ok = std::fflush(file_) == 0 && std::ferror(file_) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  buffer_.reset();
  buffer_charge_.set(0);
  if (!ok || !closed) return make_error(ErrorCode::Io, path_.string() + ": write failed");
  return ok_status();
}

Status PacketSpool::replay(const std::filesystem::path& path, PacketSink& sink,
                           memory::Account* packet_account) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return make_error(ErrorCode::Io, path.string() + ": cannot open the spool");
  struct Close {
    std::FILE* f;
    ~Close() { std::fclose(f); }
  } close{f};
  const std::string where = path.string();
  char magic[sizeof kMagic];
  if (std::fread(magic, 1, sizeof magic, f) != sizeof magic ||
      std::memcmp(magic, kMagic, sizeof magic) != 0) {
    return make_error(ErrorCode::Io, where + ": not a packet spool");
  }
  PacketPtr pkt = make_packet();
  for (int64_t index = 0;; ++index) {
    Record r;
    const size_t got = std::fread(&r, 1, sizeof r, f);
    if (got == 0 && std::feof(f)) return ok_status();
    const std::string at = where + ": packet " + std::to_string(index);
    if (got != sizeof r || r.size < 0 || r.size > kMaxPacketBytes || r.side_data_count < 0 ||
        r.tb_den <= 0) {
      return make_error(ErrorCode::Io, at + ": truncated or damaged");
    }
    if (int err = av_new_packet(pkt.get(), r.size); err < 0) return av_error(err, "av_new_packet");
    if (r.size > 0 &&
        std::fread(pkt->data, 1, static_cast<size_t>(r.size), f) != static_cast<size_t>(r.size)) {
      av_packet_unref(pkt.get());
      return make_error(ErrorCode::Io, at + ": truncated");
    }
    for (int i = 0; i < r.side_data_count; ++i) {
      SideHeader h;
      if (std::fread(&h, sizeof h, 1, f) != 1 || h.size < 0 || h.size > kMaxPacketBytes) {
        av_packet_unref(pkt.get());
        return make_error(ErrorCode::Io, at + ": damaged side data");
      }
      uint8_t* data = av_packet_new_side_data(pkt.get(), static_cast<AVPacketSideDataType>(h.type),
                                              static_cast<size_t>(h.size));
      if (data == nullptr || (h.size > 0 && std::fread(data, 1, static_cast<size_t>(h.size), f) !=
                                                static_cast<size_t>(h.size))) {
        av_packet_unref(pkt.get());
        return make_error(ErrorCode::Io, at + ": damaged side data");
      }
    }
    pkt->flags = r.flags;
    pkt->pts = r.pts;
    pkt->dts = r.dts;
    pkt->duration = r.duration;
    charge_packet(pkt.get(), packet_account);
    LEANCUT_TRY(sink.write(pkt.get(), r.stream, AVRational{r.tb_num, r.tb_den}));
  }
}

}  // namespace leancut::media
