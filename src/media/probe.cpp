#include "media/probe.h"

#include <algorithm>
#include <cmath>
#include <system_error>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "media/av_error.h"
#include "media/av_ptr.h"
#include "media/av_time.h"
#include "media/demux.h"

namespace leancut::media {
namespace {

// How far before the estimated end we seek to find the exact end of each stream. Generous, since
// seeking lands on a keyframe before the target and some containers estimate durations poorly.
constexpr int64_t kEndScanSeconds = 15;

struct FirstFrame {
  Rational time;           // presentation time, seconds
  int decoder_frames = 0;  // pictures the decoder keeps: references + reorder delay
};

// Decodes until the first video frame comes out; returns its presentation time in seconds.
// Editors show this frame at 0, whatever the container's start time or edit list says.
Result<FirstFrame> first_frame(AVFormatContext* fmt, const AVStream* stream,
                               const std::filesystem::path& path) {
  LEANCUT_ASSIGN_OR_RETURN(CodecContextPtr decoder, open_decoder(stream, 1, path));
  PacketPtr packet = make_packet();
  FramePtr frame = make_frame();
  bool draining = false;
  while (true) {
    int err = avcodec_receive_frame(decoder.get(), frame.get());
    if (err == 0) {
      int64_t pts = frame->best_effort_timestamp;
      if (pts == AV_NOPTS_VALUE) pts = frame->pts;
      if (pts == AV_NOPTS_VALUE)
        pts = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;
      // refs: from the bitstream's header where the codec has one (H.264/HEVC SPS), else 1.
      return FirstFrame{to_seconds(pts, stream->time_base),
                        std::max(1, decoder->refs) + std::max(0, decoder->has_b_frames)};
    }
    if (err == AVERROR_EOF) break;
    if (err != AVERROR(EAGAIN)) return av_error(err, "avcodec_receive_frame", path.string());
    if (draining) break;
    err = av_read_frame(fmt, packet.get());
    if (err == AVERROR_EOF) {
      draining = true;
      LEANCUT_TRY(avcodec_send_packet(decoder.get(), nullptr) < 0
                      ? Status{make_error(ErrorCode::MediaError, "flush failed")}
                      : ok_status());
      continue;
    }
    if (err < 0) return av_error(err, "av_read_frame", path.string());
    if (packet->stream_index == stream->index) {
      err = avcodec_send_packet(decoder.get(), packet.get());
      if (err < 0 && err != AVERROR(EAGAIN) && err != AVERROR_INVALIDDATA) {
        av_packet_unref(packet.get());
        return av_error(err, "avcodec_send_packet", path.string());
      }
    }
    av_packet_unref(packet.get());
  }
  return make_error(ErrorCode::MediaError, path.string() + ": no video frame could be decoded");
}

struct StreamEnds {
  std::optional<Rational> video_end;
  bool video_end_guessed = false;  // the last frame had no duration (VFR Matroska, some TS)
  // Video packets seen from the earliest scanned pts: the measured average rate of the tail.
  int64_t video_packets = 0;
  std::optional<Rational> video_first_pts;
  std::optional<Rational> audio_end;
};

// Reads the packets of the last seconds of the file and returns where each stream ends: the
// largest pts + duration (container seconds). Reading the tail only keeps probing cheap for long
// sources; if the seek fails we read from where we are, which is still exact, just slower.
StreamEnds stream_ends(AVFormatContext* fmt, const AVStream* video, const AVStream* audio,
                       Rational video_frame_duration) {
  if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > kEndScanSeconds * AV_TIME_BASE) {
    int64_t start = fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0;
    int64_t target = start + fmt->duration - kEndScanSeconds * AV_TIME_BASE;
    if (av_seek_frame(fmt, -1, target, AVSEEK_FLAG_BACKWARD) < 0) {
      av_seek_frame(fmt, -1, start, AVSEEK_FLAG_BACKWARD);
    }
  } else {
    av_seek_frame(fmt, -1, fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0,
                  AVSEEK_FLAG_BACKWARD);
  }
  StreamEnds ends;
  PacketPtr packet = make_packet();
  while (av_read_frame(fmt, packet.get()) >= 0) {
    const AVStream* st = fmt->streams[packet->stream_index];
    int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
    if (ts != AV_NOPTS_VALUE && (packet->flags & AV_PKT_FLAG_DISCARD) == 0) {
      Rational end = to_seconds(ts, st->time_base);
      if (st == video) {
        ++ends.video_packets;
        if (!ends.video_first_pts || end < *ends.video_first_pts) ends.video_first_pts = end;
        bool guessed = packet->duration <= 0;
        end += guessed ? video_frame_duration : to_seconds(packet->duration, st->time_base);
        if (!ends.video_end || *ends.video_end < end) {
          ends.video_end = end;
          ends.video_end_guessed = guessed;
        }
      } else if (st == audio) {
        end += to_seconds(packet->duration, st->time_base);
        if (!ends.audio_end || *ends.audio_end < end) ends.audio_end = end;
      }
    }
    av_packet_unref(packet.get());
  }
  // A last frame without a duration lasts until the end the container declares, when that is
  // plausible (within three nominal frames: VFR frames run long); otherwise one nominal frame.
  if (ends.video_end && ends.video_end_guessed && fmt->duration != AV_NOPTS_VALUE) {
    int64_t start = fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0;
    Rational declared = to_seconds(start + fmt->duration, AVRational{1, AV_TIME_BASE});
    Rational last_start = *ends.video_end - video_frame_duration;
    if (declared > last_start && declared <= last_start + video_frame_duration * Rational{3}) {
      ends.video_end = declared;
    }
  }
  return ends;
}

// What every probe knows of a file before its streams: path, container, size.
ProbeInfo file_info(const std::filesystem::path& path, const AVFormatContext* fmt) {
  ProbeInfo info;
  info.path = path;
  info.format_name = fmt->iformat->name;
  std::error_code ec;
  info.file_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  return info;
}

// An audio stream's codec parameters (its start and duration are the caller's to place).
AudioInfo audio_info(const AVStream* astream) {
  const AVCodecParameters* apar = astream->codecpar;
  AudioInfo a;
  a.stream_index = astream->index;
  a.codec = avcodec_get_name(apar->codec_id);
  a.sample_rate = apar->sample_rate;
  a.channels = apar->ch_layout.nb_channels;
  return a;
}

}  // namespace

Result<ProbeInfo> probe_audio_file(const std::filesystem::path& path) {
  Result<ProbeInfo> with_video = probe_file(path);
  if (with_video || with_video.error().message.find("has no video stream") == std::string::npos) {
    return with_video;
  }
  LEANCUT_ASSIGN_OR_RETURN(InputFormatPtr fmt, open_input(path));
  const int aindex = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (aindex < 0) return make_error(ErrorCode::MediaError, path.string() + ": has no audio stream");
  const AVStream* astream = fmt->streams[aindex];
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (fmt->streams[i] != astream) fmt->streams[i]->discard = AVDISCARD_ALL;
  }
  ProbeInfo info = file_info(path, fmt.get());
  AudioInfo a = audio_info(astream);
  info.time_origin = astream->start_time != AV_NOPTS_VALUE
                         ? to_seconds(astream->start_time, astream->time_base)
                         : Rational{0};
  StreamEnds ends = stream_ends(fmt.get(), nullptr, astream, Rational{0});
  if (!ends.audio_end || a.sample_rate <= 0 || a.channels <= 0) {
    return make_error(ErrorCode::MediaError, path.string() + ": audio stream has no packets");
  }
  a.duration = *ends.audio_end - info.time_origin;
  info.audio = a;
  return info;
}

Result<ProbeInfo> probe_file(const std::filesystem::path& path) {
  LEANCUT_ASSIGN_OR_RETURN(InputFormatPtr fmt, open_input(path));
  ProbeInfo info = file_info(path, fmt.get());

  int vindex = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  int aindex = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, vindex, nullptr, 0);
  const AVStream* vstream = nullptr;
  // Attached pictures (cover art) are not video to cut from.
  if (vindex >= 0 && (fmt->streams[vindex]->disposition & AV_DISPOSITION_ATTACHED_PIC) == 0) {
    vstream = fmt->streams[vindex];
  }
  const AVStream* astream = aindex >= 0 ? fmt->streams[aindex] : nullptr;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (fmt->streams[i] != vstream && fmt->streams[i] != astream) {
      fmt->streams[i]->discard = AVDISCARD_ALL;
    }
  }

  if (vstream != nullptr) {
    const AVCodecParameters* par = vstream->codecpar;
    VideoInfo v;
    v.stream_index = vstream->index;
    v.codec = avcodec_get_name(par->codec_id);
    v.width = par->width;
    v.height = par->height;
    if (par->width <= 0 || par->height <= 0) {
      return make_error(ErrorCode::MediaError, path.string() + ": video stream has no size");
    }
    AVRational sar =
        av_guess_sample_aspect_ratio(fmt.get(), const_cast<AVStream*>(vstream), nullptr);
    if (sar.num > 0 && sar.den > 0) v.sample_aspect = to_rational(sar);
    v.rotation = display_rotation(vstream);
    int64_t shown_w = floor_to_int(Rational{v.width} * v.sample_aspect + Rational{1, 2});
    v.display_width = v.rotation % 180 == 0 ? static_cast<int>(shown_w) : v.height;
    v.display_height = v.rotation % 180 == 0 ? v.height : static_cast<int>(shown_w);
    // The nominal rate timecodes count at. For constant-rate sources r_frame_rate is the clean
    // value (30000/1001); for variable-rate ones it is only the finest timestamp step, and the
    // average (frames / duration) is what the clip plays at.
    AVRational rate = av_guess_frame_rate(fmt.get(), const_cast<AVStream*>(vstream), nullptr);
    v.frame_rate = rate.num > 0 && rate.den > 0 ? to_rational(rate) : Rational{25};
    const char* pix = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format));
    v.pixel_format = pix != nullptr ? pix : "unknown";

    LEANCUT_ASSIGN_OR_RETURN(FirstFrame first, first_frame(fmt.get(), vstream, path));
    v.first_frame_time = first.time;
    v.decoder_frames = first.decoder_frames;
    StreamEnds ends = stream_ends(fmt.get(), vstream, astream, Rational{1} / v.frame_rate);
    if (!ends.video_end) {
      return make_error(ErrorCode::MediaError, path.string() + ": video stream has no packets");
    }
    v.duration = *ends.video_end - v.first_frame_time;
    // The nominal rate timecodes count at. For constant-rate sources r_frame_rate is the clean
    // value (30000/1001); for variable-rate ones it is only the finest timestamp step, and the
    // average rate (the container's, else measured over the scanned tail) is what the clip plays.
    Rational average{0};
    if (vstream->avg_frame_rate.num > 0 && vstream->avg_frame_rate.den > 0) {
      average = to_rational(vstream->avg_frame_rate);
    } else if (ends.video_packets >= 2 && *ends.video_first_pts < *ends.video_end) {
      average = Rational{ends.video_packets} / (*ends.video_end - *ends.video_first_pts);
    }
    if (average > Rational{0} && std::abs((average / v.frame_rate).to_double() - 1.0) > 0.01) {
      v.frame_rate = average;
    }
    if (astream != nullptr) {
      AudioInfo a = audio_info(astream);
      Rational start = astream->start_time != AV_NOPTS_VALUE
                           ? to_seconds(astream->start_time, astream->time_base)
                           : v.first_frame_time;
      a.start = start - v.first_frame_time;
      a.duration = ends.audio_end ? *ends.audio_end - v.first_frame_time : a.start;
      if (a.sample_rate > 0 && a.channels > 0) info.audio = a;
    }
    info.video = v;
    info.time_origin = v.first_frame_time;
  }
  if (!info.video) {
    return make_error(ErrorCode::MediaError, path.string() + ": has no video stream");
  }
  return info;
}

}  // namespace leancut::media
