// Encoder: one libavcodec encoder (libx264 video or native AAC audio) behind a send/drain call.
//
//   LEANCUT_ASSIGN_OR_RETURN(auto enc, Encoder::open_video({.width = 1280, .height = 720}));
//   LEANCUT_ASSIGN_OR_RETURN(int idx, muxer->add_stream(enc->context()));
//   auto sink = [&](AVPacket* pkt) { return muxer->write(pkt, idx, enc->time_base()); };
//   for (...) LEANCUT_TRY(enc->encode(frame, sink));  // frame->pts in enc->time_base()
//   LEANCUT_TRY(enc->encode(nullptr, sink));            // drain at the end
//
// Open the encoder before the muxer's start(): add_stream copies the codec parameters (with the
// global header, when asked for) from the opened context.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "media/av_ptr.h"

namespace leancut::media {

struct VideoEncoderSettings {
  int width = 0, height = 0;
  AVRational frame_rate{30, 1};  // time_base = 1/frame_rate; frame pts are frame indices
  // Overrides the time base when num > 0, for variable frame rate output (e.g. {1, 1000}, with
  // frame pts in milliseconds); frame_rate then only informs rate control (the muxer claims
  // no nominal rate for such a stream).
  AVRational time_base{0, 1};
  std::string codec = "libx264";
  int crf = 23;         // used when bitrate == 0
  int64_t bitrate = 0;  // bits/s; 0 = CRF
  std::string preset = "veryfast";
  AVPixelFormat pix_fmt = AV_PIX_FMT_YUV420P;
  int gop_frames = 60;        // keyframe interval
  int threads = 0;            // 0 = libx264's own choice
  std::string x264_params;    // extra "key=value:key=value", may be empty
  bool global_header = true;  // set AV_CODEC_FLAG_GLOBAL_HEADER (mp4/mov/mkv need it)
  // Decoders and lavfi sources mark frames AV_PICTURE_TYPE_I, and libx264 makes every such
  // frame a keyframe; so the encoder ignores pict_type unless this is set, in which case a
  // frame with AV_PICTURE_TYPE_I forces a keyframe (e.g. at shot starts).
  bool keyframe_on_pict_type_i = false;
};

struct AudioEncoderSettings {
  std::string codec = "aac";
  int sample_rate = 48000;
  int channels = 2;  // layout: mono or stereo default layout
  int64_t bitrate = 128000;
  bool global_header = true;
};

// One encoder. Engine/encode thread only (thread-compatible). Holds the codec's internal memory
// (x264 lookahead and reference frames: tens of MB at 1080p; AAC: a few KB) until destroyed.
//
// Video: libx264 with `crf` (or `bitrate` in ABR mode), `preset`, `g` = gop_frames, keyint_min
// = min(gop/2, one second of frames) so scene cuts may add keyframes but not a storm of them.
// Colour tags: BT.709 when the smaller dimension is >= 720 (HD, either orientation), BT.601
// (SMPTE 170M) below that; limited (MPEG) range. A frame's pict_type is ignored unless
// keyframe_on_pict_type_i.
// Packets get a duration when the codec leaves it 0 (libx264 in FFmpeg 5.1 does): the sent
// frame's pkt_duration when set, else one frame at frame_rate.
//
// Audio: AV_SAMPLE_FMT_FLTP, default channel layout for `channels`; frames must carry
// frame_size() samples (the last one may be shorter).
class Encoder {
  struct PrivateKey {  // only the factories construct (through std::make_unique)
    explicit PrivateKey() = default;
  };

 public:
  static Result<std::unique_ptr<Encoder>> open_video(const VideoEncoderSettings& s);
  static Result<std::unique_ptr<Encoder>> open_audio(const AudioEncoderSettings& s);

  Encoder(PrivateKey, CodecContextPtr ctx, std::string what);

  const AVCodecContext* context() const { return ctx_.get(); }
  AVRational time_base() const { return ctx_->time_base; }
  // Audio: samples per frame the encoder wants (1024 for AAC; 0 if any size works). Video: 0.
  int frame_size() const;

  // Sends `frame` (nullptr = flush/drain) and hands each produced packet to `sink` (packet is
  // owned by the encoder; sink may av_packet_move_ref it). Frame pts in time_base(). The
  // encoder does not keep `frame` (it takes its own reference when it needs one). After a
  // drain, further calls return an error except another drain, which is a no-op. A sink error
  // stops the call and is returned as is.
  Status encode(const AVFrame* frame, const std::function<Status(AVPacket*)>& sink);

 private:
  Status receive_all(const std::function<Status(AVPacket*)>& sink);

  CodecContextPtr ctx_;
  PacketPtr pkt_;
  std::string what_;  // "libx264" etc., for error messages
  bool drained_ = false;
  bool keyframe_on_pict_type_i_ = false;
  FramePtr scratch_;              // video: a reference to the frame being sent, pict_type cleared
  int64_t default_duration_ = 0;  // video: one frame in time_base, for packets without one
  // Video: frame pts -> its duration, until the packet with that pts comes out (bounded by the
  // encoder's delay, i.e. lookahead + B-frames).
  std::map<int64_t, int64_t> pending_durations_;
};

}  // namespace leancut::media
