#include "media/encode.h"

#include <algorithm>
#include <cerrno>
#include <utility>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include "media/av_error.h"

namespace leancut::media {
namespace {

// Options for avcodec_open2; whatever the codec leaves unused is an error, so a typo in a
// preset or an option the codec lacks does not pass silently.
class Options {
 public:
  Options() = default;
  Options(const Options&) = delete;
  Options& operator=(const Options&) = delete;
  ~Options() { av_dict_free(&dict_); }

  void set(const char* key, const std::string& value) {
    av_dict_set(&dict_, key, value.c_str(), 0);
  }
  AVDictionary** get() { return &dict_; }
  // The first key nobody consumed, or "" when all were used.
  std::string unused_key() const {
    const AVDictionaryEntry* e = av_dict_get(dict_, "", nullptr, AV_DICT_IGNORE_SUFFIX);
    return e != nullptr ? e->key : "";
  }

 private:
  AVDictionary* dict_ = nullptr;
};

Result<const AVCodec*> find_encoder(const std::string& name, AVMediaType type) {
  const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
  if (codec == nullptr || codec->type != type) {
    return make_error(ErrorCode::Unsupported, "no " + std::string(av_get_media_type_string(type)) +
                                                  " encoder named '" + name + "' in this FFmpeg");
  }
  return codec;
}

Result<CodecContextPtr> alloc_context(const AVCodec* codec) {
  CodecContextPtr ctx{avcodec_alloc_context3(codec)};
  if (!ctx) return av_error(AVERROR(ENOMEM), "avcodec_alloc_context3", codec->name);
  return ctx;
}

Status open_context(AVCodecContext* ctx, const AVCodec* codec, Options& opts) {
  if (int err = avcodec_open2(ctx, codec, opts.get()); err < 0) {
    return av_error(err, "avcodec_open2", codec->name);
  }
  if (std::string key = opts.unused_key(); !key.empty()) {
    return make_error(ErrorCode::InvalidInput, std::string("avcodec_open2(") + codec->name +
                                                   "): unknown option '" + key + "'");
  }
  return ok_status();
}

}  // namespace

Encoder::Encoder(PrivateKey /*key*/, CodecContextPtr ctx, std::string what)
    : ctx_(std::move(ctx)), pkt_(make_packet()), what_(std::move(what)) {}

Result<std::unique_ptr<Encoder>> Encoder::open_video(const VideoEncoderSettings& s) {
  if (s.width <= 0 || s.height <= 0 || s.frame_rate.num <= 0 || s.frame_rate.den <= 0) {
    return make_error(ErrorCode::InvalidInput, "video encoder: bad size " +
                                                   std::to_string(s.width) + "x" +
                                                   std::to_string(s.height) + " or frame rate " +
                                                   std::to_string(s.frame_rate.num) + "/" +
                                                   std::to_string(s.frame_rate.den));
  }
  if (s.gop_frames <= 0) {
    return make_error(ErrorCode::InvalidInput, "video encoder: gop_frames must be > 0");
  }
  LEANCUT_ASSIGN_OR_RETURN(const AVCodec* codec, find_encoder(s.codec, AVMEDIA_TYPE_VIDEO));
  LEANCUT_ASSIGN_OR_RETURN(CodecContextPtr ctx, alloc_context(codec));

  ctx->width = s.width;
  ctx->height = s.height;
  ctx->pix_fmt = s.pix_fmt;
  ctx->framerate = s.frame_rate;
  ctx->time_base = s.time_base.num > 0 ? s.time_base : av_inv_q(s.frame_rate);
  ctx->sample_aspect_ratio = AVRational{1, 1};
  ctx->gop_size = s.gop_frames;
  // x264 clamps keyint_min to keyint/2+1; one second keeps scene-cut keyframes from bunching.
  const int one_second = std::max(1, static_cast<int>(av_q2d(s.frame_rate) + 0.5));
  ctx->keyint_min = std::max(1, std::min(s.gop_frames / 2, one_second));
  ctx->thread_count = s.threads;
  if (s.global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  // BT.709 at every size: the normalizer converts tagged sources to it, so the tags must say
  // so even for SD-sized outputs (and the test clips, tagged alike, pass through unconverted).
  ctx->color_primaries = AVCOL_PRI_BT709;
  ctx->color_trc = AVCOL_TRC_BT709;
  ctx->colorspace = AVCOL_SPC_BT709;
  ctx->color_range = AVCOL_RANGE_MPEG;

  Options opts;
  if (s.bitrate > 0) {
    ctx->bit_rate = s.bitrate;
  } else {
    opts.set("crf", std::to_string(s.crf));
  }
  if (!s.preset.empty()) opts.set("preset", s.preset);
  if (!s.x264_params.empty()) opts.set("x264-params", s.x264_params);
  LEANCUT_TRY(open_context(ctx.get(), codec, opts));

  auto enc = std::make_unique<Encoder>(PrivateKey{}, std::move(ctx), codec->name);
  enc->keyframe_on_pict_type_i_ = s.keyframe_on_pict_type_i;
  enc->scratch_ = make_frame();
  enc->default_duration_ =
      std::max<int64_t>(1, av_rescale_q(1, av_inv_q(s.frame_rate), enc->ctx_->time_base));
  return enc;
}

Result<std::unique_ptr<Encoder>> Encoder::open_audio(const AudioEncoderSettings& s) {
  if (s.sample_rate <= 0 || s.channels < 1 || s.channels > 2) {
    return make_error(ErrorCode::InvalidInput,
                      "audio encoder: need a positive sample rate and 1 or 2 channels, got " +
                          std::to_string(s.sample_rate) + " Hz x" + std::to_string(s.channels));
  }
  LEANCUT_ASSIGN_OR_RETURN(const AVCodec* codec, find_encoder(s.codec, AVMEDIA_TYPE_AUDIO));
  LEANCUT_ASSIGN_OR_RETURN(CodecContextPtr ctx, alloc_context(codec));

  ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
  if (codec->sample_fmts != nullptr) {
    bool fltp = false;
    for (const AVSampleFormat* f = codec->sample_fmts; *f != AV_SAMPLE_FMT_NONE; ++f) {
      fltp = fltp || *f == AV_SAMPLE_FMT_FLTP;
    }
    if (!fltp) {
      return make_error(ErrorCode::Unsupported,
                        "audio encoder '" + s.codec + "' does not take planar float samples");
    }
  }
  ctx->sample_rate = s.sample_rate;
  av_channel_layout_default(&ctx->ch_layout, s.channels);
  ctx->bit_rate = s.bitrate;
  ctx->time_base = AVRational{1, s.sample_rate};
  if (s.global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  Options opts;
  LEANCUT_TRY(open_context(ctx.get(), codec, opts));
  return std::make_unique<Encoder>(PrivateKey{}, std::move(ctx), codec->name);
}

int Encoder::frame_size() const {
  if (ctx_->codec_type != AVMEDIA_TYPE_AUDIO) return 0;
  if ((ctx_->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) != 0) return 0;
  return ctx_->frame_size;
}

Status Encoder::encode(const AVFrame* frame, const std::function<Status(AVPacket*)>& sink) {
  if (drained_) {
    if (frame == nullptr) return ok_status();
    return make_error(ErrorCode::Internal, "encode(" + what_ + "): frame sent after the drain");
  }
  if (frame != nullptr && ctx_->codec_type == AVMEDIA_TYPE_VIDEO) {
    if (frame->pts == AV_NOPTS_VALUE) {
      return make_error(ErrorCode::Internal, "encode(" + what_ + "): video frame without pts");
    }
    pending_durations_[frame->pts] =
        frame->pkt_duration > 0 ? frame->pkt_duration : default_duration_;
  }
  const AVFrame* to_send = frame;
  bool scratch_used = false;
  if (frame != nullptr && ctx_->codec_type == AVMEDIA_TYPE_VIDEO &&
      frame->pict_type != AV_PICTURE_TYPE_NONE && !keyframe_on_pict_type_i_) {
    // A new reference, not a copy: only the frame's properties change.
    if (int err = av_frame_ref(scratch_.get(), frame); err < 0) {
      return av_error(err, "av_frame_ref", what_);
    }
    scratch_->pict_type = AV_PICTURE_TYPE_NONE;
    to_send = scratch_.get();
    scratch_used = true;
  }
  int err = avcodec_send_frame(ctx_.get(), to_send);
  if (scratch_used) av_frame_unref(scratch_.get());
  if (err < 0) return av_error(err, "avcodec_send_frame", what_);
  if (frame == nullptr) drained_ = true;
  return receive_all(sink);
}

Status Encoder::receive_all(const std::function<Status(AVPacket*)>& sink) {
  for (;;) {
    int err = avcodec_receive_packet(ctx_.get(), pkt_.get());
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return ok_status();
    if (err < 0) return av_error(err, "avcodec_receive_packet", what_);
    if (ctx_->codec_type == AVMEDIA_TYPE_VIDEO) {
      auto it = pending_durations_.find(pkt_->pts);
      if (it != pending_durations_.end()) {
        if (pkt_->duration == 0) pkt_->duration = it->second;
        pending_durations_.erase(it);
      } else if (pkt_->duration == 0) {
        pkt_->duration = default_duration_;
      }
    }
    pkt_->time_base = ctx_->time_base;
    Status st = sink(pkt_.get());
    av_packet_unref(pkt_.get());
    if (!st) return st;
  }
}

}  // namespace leancut::media
