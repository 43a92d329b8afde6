#include "support/audio_analysis.h"

#include <algorithm>
#include <cmath>
#include <numbers>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

#include "media/av_error.h"
#include "media/av_ptr.h"

namespace leancut::testing {

std::span<const float> DecodedAudio::window(int64_t start, int64_t count) const {
  const int64_t size = static_cast<int64_t>(mono.size());
  start = std::clamp<int64_t>(start, 0, size);
  count = std::clamp<int64_t>(count, 0, size - start);
  return std::span<const float>(mono).subspan(static_cast<std::size_t>(start),
                                              static_cast<std::size_t>(count));
}

Result<DecodedAudio> decode_audio_mono(const std::filesystem::path& path) {
  using namespace leancut::media;
  const std::string name = path.string();
  AVFormatContext* raw = nullptr;
  if (int err = avformat_open_input(&raw, name.c_str(), nullptr, nullptr); err < 0) {
    return av_error(err, "avformat_open_input", name);
  }
  InputFormatPtr fmt{raw};
  if (int err = avformat_find_stream_info(fmt.get(), nullptr); err < 0) {
    return av_error(err, "avformat_find_stream_info", name);
  }
  int index = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (index < 0) return make_error(ErrorCode::NotFound, name + ": no audio stream");
  AVStream* st = fmt->streams[index];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (codec == nullptr) return make_error(ErrorCode::Unsupported, name + ": no audio decoder");
  CodecContextPtr ctx{avcodec_alloc_context3(codec)};
  if (int err = avcodec_parameters_to_context(ctx.get(), st->codecpar); err < 0) {
    return av_error(err, "avcodec_parameters_to_context", name);
  }
  ctx->pkt_timebase = st->time_base;
  if (int err = avcodec_open2(ctx.get(), codec, nullptr); err < 0) {
    return av_error(err, "avcodec_open2", name);
  }

  DecodedAudio out;
  out.sample_rate = ctx->sample_rate;
  out.channels = ctx->ch_layout.nb_channels;
  bool first = true;
  FramePtr frame = make_frame();
  auto drain = [&]() -> Status {
    for (;;) {
      int err = avcodec_receive_frame(ctx.get(), frame.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return ok_status();
      if (err < 0) return av_error(err, "avcodec_receive_frame", name);
      if (first) {
        first = false;
        int64_t ts = frame->best_effort_timestamp;
        out.first_s = ts == AV_NOPTS_VALUE ? 0.0 : static_cast<double>(ts) * av_q2d(st->time_base);
      }
      // Average the channels by hand for the formats encoders produce; no resampling needed.
      const int ch = frame->ch_layout.nb_channels;
      const int n = frame->nb_samples;
      const auto format = static_cast<AVSampleFormat>(frame->format);
      const bool planar = av_sample_fmt_is_planar(format) != 0;
      for (int i = 0; i < n; ++i) {
        double sum = 0;
        for (int c = 0; c < ch; ++c) {
          const uint8_t* base = planar ? frame->extended_data[c] : frame->extended_data[0];
          const int idx = planar ? i : i * ch + c;
          switch (av_get_packed_sample_fmt(format)) {
            case AV_SAMPLE_FMT_FLT:
              sum += reinterpret_cast<const float*>(base)[idx];
              break;
            case AV_SAMPLE_FMT_DBL:
              sum += reinterpret_cast<const double*>(base)[idx];
              break;
            case AV_SAMPLE_FMT_S16:
              sum += reinterpret_cast<const int16_t*>(base)[idx] / 32768.0;
              break;
            case AV_SAMPLE_FMT_S32:
              sum += reinterpret_cast<const int32_t*>(base)[idx] / 2147483648.0;
              break;
            default:
              av_frame_unref(frame.get());
              return make_error(ErrorCode::Unsupported, name + ": unexpected sample format");
          }
        }
        out.mono.push_back(static_cast<float>(sum / ch));
      }
      av_frame_unref(frame.get());
    }
  };
  PacketPtr pkt = make_packet();
  for (;;) {
    int err = av_read_frame(fmt.get(), pkt.get());
    if (err == AVERROR_EOF) break;
    if (err < 0) return av_error(err, "av_read_frame", name);
    if (pkt->stream_index == index) {
      err = avcodec_send_packet(ctx.get(), pkt.get());
      av_packet_unref(pkt.get());
      if (err < 0) return av_error(err, "avcodec_send_packet", name);
      LEANCUT_TRY(drain());
    } else {
      av_packet_unref(pkt.get());
    }
  }
  if (int err = avcodec_send_packet(ctx.get(), nullptr); err < 0) {
    return av_error(err, "avcodec_send_packet(flush)", name);
  }
  LEANCUT_TRY(drain());
  return out;
}

double rms(std::span<const float> samples) {
  if (samples.empty()) return 0;
  double sum = 0;
  for (float s : samples) sum += static_cast<double>(s) * s;
  return std::sqrt(sum / static_cast<double>(samples.size()));
}

double tone_power(std::span<const float> samples, int sample_rate, double hz) {
  if (samples.empty() || sample_rate <= 0) return 0;
  const double w = 2 * std::numbers::pi * hz / sample_rate;
  const double coeff = 2 * std::cos(w);
  double s1 = 0;
  double s2 = 0;
  for (float x : samples) {
    double s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  const double n = static_cast<double>(samples.size());
  return power / (n * n);
}

double tone_phase(std::span<const float> samples, int sample_rate, double hz) {
  const double w = 2 * std::numbers::pi * hz / sample_rate;
  double ss = 0, sc = 0, cc = 0, xs = 0, xc = 0;
  for (std::size_t n = 0; n < samples.size(); ++n) {
    const double s = std::sin(w * static_cast<double>(n));
    const double c = std::cos(w * static_cast<double>(n));
    ss += s * s;
    sc += s * c;
    cc += c * c;
    xs += samples[n] * s;
    xc += samples[n] * c;
  }
  // [ss sc; sc cc] [a; b] = [xs; xc]; x ~ a sin + b cos = R sin(wn + atan2(b, a)).
  const double det = ss * cc - sc * sc;
  if (det == 0) return 0;
  const double a = (xs * cc - xc * sc) / det;
  const double b = (xc * ss - xs * sc) / det;
  return std::atan2(b, a);
}

double dominant_tone(std::span<const float> samples, int sample_rate,
                     const std::vector<double>& candidates) {
  double best = -1;
  double best_power = -1;
  if (samples.empty()) return -1;
  for (double hz : candidates) {
    double p = tone_power(samples, sample_rate, hz);
    if (p > best_power) {
      best_power = p;
      best = hz;
    }
  }
  return best;
}

}  // namespace leancut::testing
