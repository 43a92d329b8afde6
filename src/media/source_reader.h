// StreamReader: decoded frames of ONE stream (video or audio) of one source, in presentation
// order, stamped with editor time (seconds from the source's first video frame, see probe.h).
// Each reader has its own demuxer, so the video and audio of a shot are read independently and
// neither has to buffer the other's packets.
//
//   auto r = StreamReader::open(probe, StreamKind::Video, {.threads = 2});
//   LEANCUT_TRY((*r)->seek(Rational{3, 2}));        // next() now starts at or before 1.5 s
//   while (auto f = (*r)->next(); f.ok() && f->has_value()) use((*f)->frame, (*f)->time);
//
// Memory: the demuxer's buffers and index, the decoder (its reference frames and, with frame
// threading, one frame per thread), and at most one pending frame. Thread-compatible: one thread
// at a time (the engine's decode or audio thread; a prefetch thread may open it first).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "base/result.h"
#include "media/av_ptr.h"
#include "media/charge.h"
#include "media/frame_pool.h"
#include "media/probe.h"
#include "time/rational.h"

namespace leancut::media {

enum class StreamKind { Video, Audio };

struct DecodedFrame {
  FramePtr frame;
  Rational time;  // editor time of the frame's first picture/sample
};

struct StreamReaderOptions {
  int threads = 1;                  // decoder threads; 0 = libav's choice
  FramePool* frame_pool = nullptr;  // where decoded pictures live; nullptr = libav's allocator
  // Charged for demuxed packets until the decoder is done with them, and for the demuxer's I/O
  // buffer while the reader is open (media/charge.h). Null: not charged.
  memory::Account* packet_account = nullptr;
  memory::Account* io_account = nullptr;
};

class StreamReader {
 public:
  // REQUIRES: the probe has the requested stream.
  static Result<std::unique_ptr<StreamReader>> open(const ProbeInfo& probe, StreamKind kind,
                                                    const StreamReaderOptions& options);
  // Only open() can make the key; the constructor is public for std::make_unique.
  class Key {
    friend class StreamReader;
    Key() = default;
  };
  StreamReader(Key, const ProbeInfo& probe, StreamKind kind);
  ~StreamReader();
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // Positions the reader so that the next frame returned starts at or before `t` (or is the
  // stream's first frame when `t` precedes it). Seeks to the keyframe before `t`; when a
  // container's seek lands late it backs off further, down to the start of the file.
  Status seek(Rational t);

  // Lets the decoder skip pictures no other picture references (AVDISCARD_NONREF) while the
  // packets it decodes start before `t`: catching up from a keyframe to an in point then decodes
  // only what the in point needs. nullopt turns it off. A caller that needs the exact picture at
  // some time u must check that the picture it got starts at or after `t` (else a skipped one
  // may have been on screen at u) and otherwise seek again without skipping.
  void set_skip_nonref_before(std::optional<Rational> t) { skip_before_ = t; }

  // The next frame in presentation order, or nullopt at the end of the stream.
  Result<std::optional<DecodedFrame>> next();

  const std::filesystem::path& path() const { return probe_.path; }
  StreamKind kind() const { return kind_; }
  // Editor time of the last frame next() returned; nullopt before the first.
  std::optional<Rational> position() const { return position_; }
  int64_t frames_decoded() const { return frames_decoded_; }
  int64_t seeks() const { return seeks_; }
  const AVCodecContext* decoder() const { return decoder_.get(); }

 private:
  Result<std::optional<DecodedFrame>> decode_next();
  Status open_demuxer();
  Status seek_to_container_time(Rational container_seconds);
  Status reset_decoding();  // after a seek or a reopen: flush the decoder, forget positions

  ProbeInfo probe_;
  StreamKind kind_;
  InputFormatPtr input_;
  CodecContextPtr decoder_;
  FramePool* frame_pool_ = nullptr;  // borrowed; checked for refused pictures
  const AVStream* stream_ = nullptr;
  Rational time_origin_;  // container seconds of editor time 0
  PacketPtr packet_;
  memory::Account* packet_account_ = nullptr;
  BufferCharge io_buffer_;               // the demuxer's AVIOContext buffer
  std::optional<DecodedFrame> pending_;  // read by seek() to check where it landed
  std::optional<Rational> position_;
  std::optional<Rational> skip_before_;
  bool skipping_ = false;       // the decoder's skip_frame is AVDISCARD_NONREF
  bool need_keyframe_ = false;  // after a seek: skip video packets until a keyframe
  bool after_seek_ = false;     // after a seek: drop pictures decoded without references
  bool input_done_ = false;
  bool decoder_done_ = false;
  int64_t frames_decoded_ = 0;
  int64_t seeks_ = 0;
};

}  // namespace leancut::media
