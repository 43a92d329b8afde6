#include "media/demux.h"

#include <cmath>

extern "C" {
#include <libavutil/display.h>
}

#include "media/av_error.h"

namespace leancut::media {

Result<InputFormatPtr> open_input(const std::filesystem::path& path, Analyze analyze) {
  AVDictionary* options = nullptr;
  // Sources are local files; a crafted playlist must not make us open sockets or other files.
  av_dict_set(&options, "protocol_whitelist", "file", 0);
  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), nullptr, &options);
  av_dict_free(&options);
  if (err < 0) return av_error(err, "avformat_open_input", path.string());
  InputFormatPtr input{raw};
  if (analyze == Analyze::IfHeaderless && (input->ctx_flags & AVFMTCTX_NOHEADER) == 0) {
    return input;
  }
  err = avformat_find_stream_info(input.get(), nullptr);
  if (err < 0) return av_error(err, "avformat_find_stream_info", path.string());
  return input;
}

Result<CodecContextPtr> open_decoder(const AVStream* stream, int threads,
                                     const std::filesystem::path& path_for_errors,
                                     FramePool* frame_pool) {
  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  if (codec == nullptr) {
    return make_error(ErrorCode::Unsupported, path_for_errors.string() + ": no decoder for codec " +
                                                  avcodec_get_name(stream->codecpar->codec_id));
  }
  CodecContextPtr ctx{avcodec_alloc_context3(codec)};
  if (ctx == nullptr) return make_error(ErrorCode::OverBudget, "avcodec_alloc_context3 failed");
  int err = avcodec_parameters_to_context(ctx.get(), stream->codecpar);
  if (err < 0) return av_error(err, "avcodec_parameters_to_context", path_for_errors.string());
  ctx->pkt_timebase = stream->time_base;
  ctx->thread_count = threads;
  ctx->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  if (frame_pool != nullptr) frame_pool->install(ctx.get());
  err = avcodec_open2(ctx.get(), codec, nullptr);
  if (err < 0) {
    return av_error(err, std::string("avcodec_open2(") + codec->name + ")",
                    path_for_errors.string());
  }
  return ctx;
}

int display_rotation(const AVStream* stream) {
  const uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
  if (matrix == nullptr) return 0;
  // av_display_rotation_get is counter-clockwise; we want the clockwise turn that shows it upright.
  double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(ccw)) return 0;
  long quarter = std::lround(-ccw / 90.0);
  int degrees = static_cast<int>(((quarter % 4) + 4) % 4) * 90;
  return degrees;
}

}  // namespace leancut::media
