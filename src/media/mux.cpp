#include "media/mux.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

extern "C" {
#include <libavutil/dict.h>
#include <libavutil/display.h>
}

#include "media/av_error.h"

namespace leancut::media {
namespace {

const char* state_error(bool started) {
  return started ? "already started (streams and options come before start())"
                 : "not started (call start() first)";
}

}  // namespace

Muxer::Muxer(PrivateKey /*key*/, OutputFormatPtr ctx, std::string path)
    : ctx_(std::move(ctx)), path_str_(path), path_(std::move(path)) {}

Result<std::unique_ptr<Muxer>> Muxer::open(const std::filesystem::path& path,
                                           const std::string& format_name,
                                           memory::Account* io_account) {
  const std::string path_str = path.string();
  AVFormatContext* raw = nullptr;
  int err = avformat_alloc_output_context2(
      &raw, nullptr, format_name.empty() ? nullptr : format_name.c_str(), path_str.c_str());
  OutputFormatPtr ctx{raw};
  if (err < 0 || !ctx) {
    if (err == AVERROR(EINVAL) || err >= 0) {
      return make_error(
          ErrorCode::InvalidInput,
          "avformat_alloc_output_context2(" + path_str + "): no muxer for " +
              (format_name.empty() ? "this file extension" : "format '" + format_name + "'"));
    }
    return av_error(err, "avformat_alloc_output_context2", path_str);
  }
  if ((ctx->oformat->flags & AVFMT_NOFILE) == 0) {
    if (err = avio_open(&ctx->pb, path_str.c_str(), AVIO_FLAG_WRITE); err < 0) {
      Error e = av_error(err, "avio_open", path_str);
      if (e.code == ErrorCode::MediaError || e.code == ErrorCode::NotFound) e.code = ErrorCode::Io;
      return e;
    }
  }
  const int io_bytes = ctx->pb != nullptr ? ctx->pb->buffer_size : 0;
  auto muxer = std::make_unique<Muxer>(PrivateKey{}, std::move(ctx), path_str);
  muxer->io_buffer_ = BufferCharge(io_account);
  muxer->io_buffer_.set(io_bytes);
  return muxer;
}

std::string Muxer::guess_format(const std::filesystem::path& final_path) {
  const std::string name = final_path.filename().string();
  const AVOutputFormat* f = av_guess_format(nullptr, name.c_str(), nullptr);
  return f != nullptr ? f->name : "";
}

bool Muxer::wants_global_header(const std::string& format_name) {
  const AVOutputFormat* f = av_guess_format(format_name.c_str(), nullptr, nullptr);
  return f != nullptr && (f->flags & AVFMT_GLOBALHEADER) != 0;
}

Result<int> Muxer::add_stream(const AVCodecContext* encoder) {
  if (state_ != State::Setup) {
    return make_error(ErrorCode::Internal, "add_stream(" + path_str_ + "): " + state_error(true));
  }
  AVStream* st = avformat_new_stream(ctx_.get(), nullptr);
  if (st == nullptr) return av_error(AVERROR(ENOMEM), "avformat_new_stream", path_str_);
  if (int err = avcodec_parameters_from_context(st->codecpar, encoder); err < 0) {
    return av_error(err, "avcodec_parameters_from_context", path_str_);
  }
  st->time_base = encoder->time_base;
  // A frame rate only for constant-rate streams (time base = 1/rate); matroska would turn it
  // into a default frame duration that is wrong for every frame of a VFR stream.
  if (encoder->codec_type == AVMEDIA_TYPE_VIDEO && encoder->framerate.num > 0 &&
      av_cmp_q(encoder->time_base, av_inv_q(encoder->framerate)) == 0) {
    st->avg_frame_rate = encoder->framerate;
    st->r_frame_rate = encoder->framerate;
  }
  return st->index;
}

Status Muxer::set_rotation(int stream_index, double degrees) {
  if (state_ != State::Setup) {
    return make_error(ErrorCode::Internal, "set_rotation(" + path_str_ + "): " + state_error(true));
  }
  if (stream_index < 0 || stream_index >= static_cast<int>(ctx_->nb_streams)) {
    return make_error(ErrorCode::Internal,
                      "set_rotation(" + path_str_ + "): no stream " + std::to_string(stream_index));
  }
  uint8_t* data = av_stream_new_side_data(ctx_->streams[stream_index], AV_PKT_DATA_DISPLAYMATRIX,
                                          sizeof(int32_t) * 9);
  if (data == nullptr) return av_error(AVERROR(ENOMEM), "av_stream_new_side_data", path_str_);
  // FFmpeg 5.1's av_display_rotation_set turns clockwise while av_display_rotation_get (what
  // every reader uses) reports counter-clockwise: negate, so readers get back `degrees`.
  int32_t matrix[9];
  av_display_rotation_set(matrix, -degrees);
  std::memcpy(data, matrix, sizeof matrix);
  return ok_status();
}

Status Muxer::set_option(const std::string& key, const std::string& value) {
  if (state_ != State::Setup) {
    return make_error(ErrorCode::Internal,
                      "set_option(" + path_str_ + ", " + key + "): " + state_error(true));
  }
  options_.emplace_back(key, value);
  return ok_status();
}

Status Muxer::start() {
  if (state_ != State::Setup) {
    return make_error(ErrorCode::Internal, "start(" + path_str_ + "): " + state_error(true));
  }
  if (ctx_->nb_streams == 0) {
    return make_error(ErrorCode::Internal, "start(" + path_str_ + "): no streams");
  }
  AVDictionary* raw_opts = nullptr;
  for (const auto& [key, value] : options_) {
    av_dict_set(&raw_opts, key.c_str(), value.c_str(), 0);
  }
  // The dictionary must outlive avformat_write_header (which replaces it with the leftovers).
  struct DictFree {
    AVDictionary** d;
    ~DictFree() { av_dict_free(d); }
  } dict_free{&raw_opts};

  if (int err = avformat_write_header(ctx_.get(), &raw_opts); err < 0) {
    return av_error(err, "avformat_write_header", path_str_);
  }
  state_ = State::Started;
  if (const AVDictionaryEntry* e = av_dict_get(raw_opts, "", nullptr, AV_DICT_IGNORE_SUFFIX)) {
    return make_error(ErrorCode::InvalidInput, "avformat_write_header(" + path_str_ +
                                                   "): unknown muxer option '" + e->key + "'");
  }
  return ok_status();
}

Status Muxer::write(AVPacket* pkt, int stream_index, AVRational from) {
  if (state_ != State::Started) {
    av_packet_unref(pkt);
    return make_error(ErrorCode::Internal,
                      "write(" + path_str_ + "): " + state_error(state_ == State::Finished));
  }
  if (stream_index < 0 || stream_index >= static_cast<int>(ctx_->nb_streams)) {
    av_packet_unref(pkt);
    return make_error(ErrorCode::Internal,
                      "write(" + path_str_ + "): no stream " + std::to_string(stream_index));
  }
  AVStream* st = ctx_->streams[stream_index];
  pkt->stream_index = stream_index;
  av_packet_rescale_ts(pkt, from, st->time_base);
  pkt->time_base = st->time_base;
  if (int err = av_interleaved_write_frame(ctx_.get(), pkt); err < 0) {
    av_packet_unref(pkt);
    return av_error(err, "av_interleaved_write_frame", path_str_);
  }
  return ok_status();
}

Status Muxer::finish() {
  if (state_ != State::Started) {
    return make_error(ErrorCode::Internal,
                      "finish(" + path_str_ + "): " + state_error(state_ == State::Finished));
  }
  state_ = State::Finished;
  int err = av_write_trailer(ctx_.get());
  if (ctx_->pb != nullptr && (ctx_->oformat->flags & AVFMT_NOFILE) == 0) {
    avio_flush(ctx_->pb);
    int64_t size = avio_size(ctx_->pb);
    final_bytes_ = size >= 0 ? size : ctx_->pb->bytes_written;
    if (ctx_->pb->error < 0 && err >= 0) err = ctx_->pb->error;
    if (int close_err = avio_closep(&ctx_->pb); close_err < 0 && err >= 0) err = close_err;
  }
  io_buffer_.set(0);
  if (err < 0) {
    Error e = av_error(err, "av_write_trailer", path_str_);
    if (e.code == ErrorCode::MediaError) e.code = ErrorCode::Io;
    return e;
  }
  return ok_status();
}

int64_t Muxer::bytes_written() const {
  if (state_ == State::Finished) return final_bytes_;
  // avio_tell counts what sits in the write buffer too; mp4 and mkv seek back only in the
  // trailer, so until then it is the amount written.
  return ctx_->pb != nullptr ? std::max<int64_t>(avio_tell(ctx_->pb), ctx_->pb->bytes_written) : 0;
}

}  // namespace leancut::media
