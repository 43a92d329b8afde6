#include "media/decode_helper.h"

#include <cerrno>
#include <cstdlib>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/log.h>
}

#include "media/av_error.h"

#ifndef LEANCUT_TEST_MEDIA_DEFAULT_DIR
#define LEANCUT_TEST_MEDIA_DEFAULT_DIR "test-media"
#endif

namespace leancut::media::testing {
namespace {

struct StreamDecoder {
  DecodedStream info;
  CodecContextPtr ctx;
};

// Converts a decoded video frame to YUV420P for the callback (a no-op for YUV420P).
class ToYuv420p {
 public:
  Result<const AVFrame*> convert(const AVFrame* in) {
    if (in->format == AV_PIX_FMT_YUV420P) return in;
    sws_.reset(sws_getCachedContext(sws_.release(), in->width, in->height,
                                    static_cast<AVPixelFormat>(in->format), in->width, in->height,
                                    AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr));
    if (!sws_) return make_error(ErrorCode::MediaError, "sws_getCachedContext failed");
    out_ = make_frame();
    out_->format = AV_PIX_FMT_YUV420P;
    out_->width = in->width;
    out_->height = in->height;
    if (int err = av_frame_get_buffer(out_.get(), 0); err < 0) {
      return av_error(err, "av_frame_get_buffer");
    }
    sws_scale(sws_.get(), in->data, in->linesize, 0, in->height, out_->data, out_->linesize);
    return out_.get();
  }

 private:
  SwsPtr sws_;
  FramePtr out_;
};

}  // namespace

const DecodedStream* DecodedFile::video() const {
  for (const DecodedStream& s : streams) {
    if (s.type == AVMEDIA_TYPE_VIDEO) return &s;
  }
  return nullptr;
}

const DecodedStream* DecodedFile::audio() const {
  for (const DecodedStream& s : streams) {
    if (s.type == AVMEDIA_TYPE_AUDIO) return &s;
  }
  return nullptr;
}

Result<DecodedFile> decode_file(const std::filesystem::path& path,
                                const VideoFrameFn& on_video_frame) {
  const std::string name = path.string();
  AVFormatContext* raw = nullptr;
  if (int err = avformat_open_input(&raw, name.c_str(), nullptr, nullptr); err < 0) {
    return av_error(err, "avformat_open_input", name);
  }
  InputFormatPtr fmt{raw};
  if (int err = avformat_find_stream_info(fmt.get(), nullptr); err < 0) {
    return av_error(err, "avformat_find_stream_info", name);
  }

  DecodedFile out;
  out.format_name = fmt->iformat->name;
  out.start_time_s =
      fmt->start_time == AV_NOPTS_VALUE ? 0.0 : static_cast<double>(fmt->start_time) / AV_TIME_BASE;

  std::vector<StreamDecoder> decoders(fmt->nb_streams);
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    AVStream* st = fmt->streams[i];
    StreamDecoder& d = decoders[i];
    d.info.index = static_cast<int>(i);
    d.info.type = st->codecpar->codec_type;
    d.info.time_base = st->time_base;
    d.info.codec = avcodec_get_name(st->codecpar->codec_id);
    if (const uint8_t* m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr)) {
      d.info.rotation = av_display_rotation_get(reinterpret_cast<const int32_t*>(m));
    }
    if (d.info.type != AVMEDIA_TYPE_VIDEO && d.info.type != AVMEDIA_TYPE_AUDIO) continue;
    const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (codec == nullptr) {
      return make_error(ErrorCode::Unsupported, name + ": no decoder for " + d.info.codec);
    }
    d.ctx.reset(avcodec_alloc_context3(codec));
    if (!d.ctx) return av_error(AVERROR(ENOMEM), "avcodec_alloc_context3", name);
    if (int err = avcodec_parameters_to_context(d.ctx.get(), st->codecpar); err < 0) {
      return av_error(err, "avcodec_parameters_to_context", name);
    }
    d.ctx->pkt_timebase = st->time_base;
    d.ctx->thread_count = 0;
    if (int err = avcodec_open2(d.ctx.get(), codec, nullptr); err < 0) {
      return av_error(err, "avcodec_open2", name);
    }
  }

  ToYuv420p to_yuv;
  FramePtr frame = make_frame();
  auto drain = [&](StreamDecoder& d) -> Status {
    for (;;) {
      int err = avcodec_receive_frame(d.ctx.get(), frame.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return ok_status();
      if (err < 0) return av_error(err, "avcodec_receive_frame", name);
      const double tb = av_q2d(d.info.time_base);
      const int64_t ts = frame->best_effort_timestamp;
      DecodedStream& s = d.info;
      if (s.type == AVMEDIA_TYPE_VIDEO) {
        s.width = frame->width;
        s.height = frame->height;
        // Without a duration from the container, a frame lasts as long as the one before.
        int64_t duration = frame->pkt_duration;
        if (duration <= 0 && !s.pts.empty()) duration = ts - s.pts.back();
        s.pts.push_back(ts);
        if (s.frames == 0) s.first_s = static_cast<double>(ts) * tb;
        s.end_s = static_cast<double>(ts + duration) * tb;
        if (on_video_frame) {
          LEANCUT_ASSIGN_OR_RETURN(const AVFrame* yuv, to_yuv.convert(frame.get()));
          on_video_frame(yuv, s.frames);
        }
      } else {
        s.sample_rate = frame->sample_rate;
        s.channels = frame->ch_layout.nb_channels;
        if (s.frames == 0) s.first_s = static_cast<double>(ts) * tb;
        s.samples += frame->nb_samples;
        s.end_s = static_cast<double>(ts) * tb +
                  static_cast<double>(frame->nb_samples) / frame->sample_rate;
      }
      ++s.frames;
      av_frame_unref(frame.get());
    }
  };

  PacketPtr pkt = make_packet();
  for (;;) {
    int err = av_read_frame(fmt.get(), pkt.get());
    if (err == AVERROR_EOF) break;
    if (err < 0) return av_error(err, "av_read_frame", name);
    StreamDecoder& d = decoders[pkt->stream_index];
    if (d.ctx) {
      err = avcodec_send_packet(d.ctx.get(), pkt.get());
      av_packet_unref(pkt.get());
      if (err < 0) return av_error(err, "avcodec_send_packet", name);
      LEANCUT_TRY(drain(d));
    } else {
      av_packet_unref(pkt.get());
    }
  }
  for (StreamDecoder& d : decoders) {
    if (!d.ctx) continue;
    if (int err = avcodec_send_packet(d.ctx.get(), nullptr); err < 0) {
      return av_error(err, "avcodec_send_packet(flush)", name);
    }
    LEANCUT_TRY(drain(d));
  }
  for (StreamDecoder& d : decoders) out.streams.push_back(std::move(d.info));
  return out;
}

void quiet_libav_logs() {
  av_log_set_level(AV_LOG_ERROR);
}

std::filesystem::path shared_test_media_dir() {
  if (const char* env = std::getenv("LEANCUT_TEST_MEDIA_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return LEANCUT_TEST_MEDIA_DEFAULT_DIR;
}

}  // namespace leancut::media::testing
