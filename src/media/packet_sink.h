// PacketSink: where encoded packets go: a Muxer (the output file) or a PacketSpool (a file that
// parks them until the muxer may take them). The encode loop writes to either.
#pragma once

extern "C" {
#include <libavcodec/packet.h>
#include <libavutil/rational.h>
}

#include "base/result.h"

namespace leancut::media {

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // Takes the packet's data reference: `pkt` is blank afterwards, even on failure. Its
  // timestamps are in `from`.
  virtual Status write(AVPacket* pkt, int stream_index, AVRational from) = 0;
};

}  // namespace leancut::media
