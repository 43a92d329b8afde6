// RAII for libav objects: one std::unique_ptr alias per type, each with the libav function
// that frees it. Outside src/media a raw libav pointer is only ever a borrowed argument.
//
//   FramePtr frame = make_frame();            // av_frame_alloc, freed by av_frame_free
//   CodecContextPtr ctx{avcodec_alloc_context3(codec)};
#pragma once

#include <memory>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

namespace leancut::media {

namespace detail {
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
// For contexts opened with avformat_open_input (demuxers).
struct InputFormatDeleter {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
// For contexts made with avformat_alloc_output_context2 (muxers); closes pb if we opened it.
struct OutputFormatDeleter {
  void operator()(AVFormatContext* f) const {
    if (f->pb != nullptr && (f->oformat->flags & AVFMT_NOFILE) == 0) avio_closep(&f->pb);
    avformat_free_context(f);
  }
};
struct FilterGraphDeleter {
  void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
};
struct FilterInOutDeleter {
  void operator()(AVFilterInOut* io) const { avfilter_inout_free(&io); }
};
struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct AudioFifoDeleter {
  void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};
struct BufferRefDeleter {
  void operator()(AVBufferRef* b) const { av_buffer_unref(&b); }
};
struct AvFreeDeleter {
  void operator()(void* p) const { av_free(p); }
};
}  // namespace detail

using FramePtr = std::unique_ptr<AVFrame, detail::FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, detail::PacketDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, detail::CodecContextDeleter>;
using InputFormatPtr = std::unique_ptr<AVFormatContext, detail::InputFormatDeleter>;
using OutputFormatPtr = std::unique_ptr<AVFormatContext, detail::OutputFormatDeleter>;
using FilterGraphPtr = std::unique_ptr<AVFilterGraph, detail::FilterGraphDeleter>;
using FilterInOutPtr = std::unique_ptr<AVFilterInOut, detail::FilterInOutDeleter>;
using SwrPtr = std::unique_ptr<SwrContext, detail::SwrDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, detail::SwsDeleter>;
using AudioFifoPtr = std::unique_ptr<AVAudioFifo, detail::AudioFifoDeleter>;
using BufferRefPtr = std::unique_ptr<AVBufferRef, detail::BufferRefDeleter>;
template <typename T>
using AvMallocPtr = std::unique_ptr<T, detail::AvFreeDeleter>;

// av_frame_alloc / av_packet_alloc; LEANCUT_CHECKs against allocation failure (out of memory
// here is not recoverable input error).
FramePtr make_frame();
PacketPtr make_packet();

// A new reference to the same data (av_frame_ref): repeats a frame without copying pixels.
FramePtr ref_frame(const AVFrame* src);

// Bytes of pixel/sample data a frame keeps alive (sum of its buffers' sizes).
std::size_t frame_bytes(const AVFrame* frame);

}  // namespace leancut::media
