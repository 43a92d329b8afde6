#include "media/source_reader.h"

#include <utility>

#include "media/av_error.h"
#include "media/av_time.h"
#include "media/charge.h"
#include "media/demux.h"

namespace leancut::media {

StreamReader::StreamReader(Key, const ProbeInfo& probe, StreamKind kind)
    : probe_(probe), kind_(kind) {}
StreamReader::~StreamReader() {
  if (frame_pool_ != nullptr && decoder_ != nullptr) frame_pool_->forget(decoder_.get());
}

Result<std::unique_ptr<StreamReader>> StreamReader::open(const ProbeInfo& probe, StreamKind kind,
                                                         const StreamReaderOptions& options) {
  LEANCUT_CHECK(kind == StreamKind::Video ? probe.video.has_value() : probe.audio.has_value());
  auto reader = std::make_unique<StreamReader>(Key{}, probe, kind);
  reader->packet_account_ = options.packet_account;
  reader->io_buffer_ = BufferCharge(options.io_account);
  LEANCUT_TRY(reader->open_demuxer());
  LEANCUT_ASSIGN_OR_RETURN(reader->decoder_,
                           open_decoder(reader->stream_, options.threads, probe.path,
                                        kind == StreamKind::Video ? options.frame_pool : nullptr));
  reader->time_origin_ = probe.time_origin;
  if (kind == StreamKind::Video) reader->frame_pool_ = options.frame_pool;
  reader->packet_ = make_packet();
  return reader;
}

Status StreamReader::open_demuxer() {
  LEANCUT_ASSIGN_OR_RETURN(input_, open_input(probe_.path, Analyze::IfHeaderless));
  int index = kind_ == StreamKind::Video ? probe_.video->stream_index : probe_.audio->stream_index;
  if (index < 0 || index >= static_cast<int>(input_->nb_streams)) {
    return make_error(ErrorCode::MediaError, probe_.path.string() + ": stream layout changed");
  }
  for (unsigned i = 0; i < input_->nb_streams; ++i) {
    input_->streams[i]->discard = static_cast<int>(i) == index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  stream_ = input_->streams[index];
  io_buffer_.set(input_->pb != nullptr ? input_->pb->buffer_size : 0);
  return ok_status();
}

Result<std::optional<DecodedFrame>> StreamReader::decode_next() {
  FramePtr frame = make_frame();
  while (true) {
    int err = avcodec_receive_frame(decoder_.get(), frame.get());
    if (err == 0) {
      // Right after a seek, pictures decoded without their references (an open GOP's leading
      // B-frames) are dropped rather than shown.
      if (after_seek_ &&
          ((frame->flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame->decode_error_flags != 0)) {
        av_frame_unref(frame.get());
        continue;
      }
      after_seek_ = false;
      int64_t pts = frame->best_effort_timestamp;
      if (pts == AV_NOPTS_VALUE) pts = frame->pts;
      Rational time = pts == AV_NOPTS_VALUE ? (position_ ? *position_ : Rational{0})
                                            : to_seconds(pts, stream_->time_base) - time_origin_;
      ++frames_decoded_;
      return std::optional<DecodedFrame>{DecodedFrame{std::move(frame), time}};
    }
    if (err == AVERROR_EOF) {
      decoder_done_ = true;
      return std::optional<DecodedFrame>{};
    }
    if (err != AVERROR(EAGAIN)) return av_error(err, "avcodec_receive_frame", probe_.path.string());
    if (input_done_) {
      // Drained and still EAGAIN cannot happen; treat as the end.
      decoder_done_ = true;
      return std::optional<DecodedFrame>{};
    }
    err = av_read_frame(input_.get(), packet_.get());
    if (err == AVERROR_EOF) {
      input_done_ = true;
      avcodec_send_packet(decoder_.get(), nullptr);
      continue;
    }
    if (err < 0) return av_error(err, "av_read_frame", probe_.path.string());
    // Containers that seek by byte position (MPEG-TS) land mid-GOP: start at a keyframe.
    if (packet_->stream_index == stream_->index && need_keyframe_ &&
        (packet_->flags & AV_PKT_FLAG_KEY) == 0) {
      av_packet_unref(packet_.get());
      continue;
    }
    if (packet_->stream_index == stream_->index) {
      need_keyframe_ = false;
      // The charge follows the packet into the decoder (it keeps a reference until decoded).
      charge_packet(packet_.get(), packet_account_);
      int64_t ts = packet_->pts != AV_NOPTS_VALUE ? packet_->pts : packet_->dts;
      bool skip = skip_before_ && ts != AV_NOPTS_VALUE &&
                  to_seconds(ts, stream_->time_base) - time_origin_ < *skip_before_;
      if (skip != skipping_) {
        // Frame threads pick the setting up with the next packet they are given.
        decoder_->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
        skipping_ = skip;
      }
      err = avcodec_send_packet(decoder_.get(), packet_.get());
      // A picture refused memory is dropped by the decoder, which goes on: stop at the first
      // refusal instead of waiting out the budget for every picture left (seeks decode too).
      if (frame_pool_ != nullptr) {
        if (std::optional<Error> refused = frame_pool_->refusal(decoder_.get())) {
          av_packet_unref(packet_.get());
          return *refused;
        }
      }
      // Corrupt packets are skipped the way players skip them; the decoder reports the rest.
      if (err < 0 && err != AVERROR(EAGAIN) && err != AVERROR_INVALIDDATA) {
        av_packet_unref(packet_.get());
        return av_error(err, "avcodec_send_packet", probe_.path.string());
      }
    }
    av_packet_unref(packet_.get());
  }
}

Result<std::optional<DecodedFrame>> StreamReader::next() {
  if (pending_) {
    std::optional<DecodedFrame> out = std::move(pending_);
    pending_.reset();
    position_ = out->time;
    return out;
  }
  if (decoder_done_) return std::optional<DecodedFrame>{};
  LEANCUT_ASSIGN_OR_RETURN(std::optional<DecodedFrame> out, decode_next());
  if (out) position_ = out->time;
  return out;
}

Status StreamReader::seek_to_container_time(Rational container_seconds) {
  int64_t ts = to_timestamp_floor(container_seconds, stream_->time_base);
  int err = av_seek_frame(input_.get(), stream_->index, ts, AVSEEK_FLAG_BACKWARD);
  if (err < 0) {
    // Some demuxers refuse timestamps before their first packet; the byte start always works.
    err = av_seek_frame(input_.get(), stream_->index, 0, AVSEEK_FLAG_BYTE | AVSEEK_FLAG_BACKWARD);
  }
  if (err < 0) return av_error(err, "av_seek_frame", probe_.path.string());
  return reset_decoding();
}

Status StreamReader::reset_decoding() {
  avcodec_flush_buffers(decoder_.get());
  need_keyframe_ = kind_ == StreamKind::Video;
  after_seek_ = true;
  input_done_ = false;
  decoder_done_ = false;
  pending_.reset();
  position_.reset();
  ++seeks_;
  return ok_status();
}

Status StreamReader::seek(Rational t) {
  // Back off in growing steps when the demuxer lands after `t` (MPEG-TS seeks by byte estimate,
  // open GOPs hide leading frames); the last attempt is the start of the file.
  Rational back_off{0};
  for (int attempt = 0; attempt < 8; ++attempt) {
    Rational target = t - back_off;
    bool from_start = target <= Rational{0} || attempt == 7;
    if (from_start) {
      // The start of the file, reliably: a fresh demuxer. (Seeking to "before the first packet"
      // is not: Matroska without audio cues lands an audio stream seconds in.)
      LEANCUT_TRY(open_demuxer());
      LEANCUT_TRY(reset_decoding());
    } else {
      LEANCUT_TRY(seek_to_container_time(time_origin_ + target));
    }
    LEANCUT_ASSIGN_OR_RETURN(pending_, decode_next());
    // Landing at the end (no frame at all) is as wrong as landing late.
    if (from_start || (pending_ && pending_->time <= t)) return ok_status();
    back_off = back_off == Rational{0} ? Rational{1} : back_off * Rational{2};
  }
  return ok_status();
}

}  // namespace leancut::media
