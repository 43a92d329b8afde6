// Muxer: writes encoded packets into a container file (mp4, mov, matroska, mpegts, ...).
//
//   LEANCUT_ASSIGN_OR_RETURN(auto mux, Muxer::open("out.tmp", Muxer::guess_format("out.mp4")));
//   LEANCUT_ASSIGN_OR_RETURN(int v, mux->add_stream(video_encoder->context()));
//   LEANCUT_TRY(mux->set_option("movflags", "+faststart"));
//   LEANCUT_TRY(mux->start());
//   ... LEANCUT_TRY(mux->write(pkt, v, video_encoder->time_base())); ...
//   LEANCUT_TRY(mux->finish());  // the file is complete only now
//
// Order: open, add_stream / set_rotation / set_option, start, write..., finish.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "media/av_ptr.h"
#include "media/charge.h"
#include "media/packet_sink.h"

namespace leancut::media {

// One output file. Engine/mux thread only (thread-compatible). Memory: the container's
// interleaving queue (packets held until every stream has caught up; bounded by the muxer's
// max_interleave_delta, 10 s by default) and, for mp4/mov, the sample index (~20 bytes per
// packet) until finish(). Destroying it without finish() closes the file incomplete (the
// caller deletes it).
class Muxer final : public PacketSink {
  struct PrivateKey {  // only open() constructs (through std::make_unique)
    explicit PrivateKey() = default;
  };

 public:
  // `path` is written; `format_name` chooses the container ("mp4", "mov", "matroska",
  // "mpegts"); empty = guess from `path`'s extension.
  // `io_account` is charged for the file's I/O buffer until finish() (media/charge.h).
  static Result<std::unique_ptr<Muxer>> open(const std::filesystem::path& path,
                                             const std::string& format_name,
                                             memory::Account* io_account = nullptr);
  // The libavformat muxer name for a file name's extension ("x.mp4" -> "mp4", "x.mkv" ->
  // "matroska", "x.ts" -> "mpegts"), or "" if unknown.
  static std::string guess_format(const std::filesystem::path& final_path);
  // Whether the container wants codec headers out of band (AVFMT_GLOBALHEADER: mp4, mov,
  // matroska yes; mpegts no), i.e. what to pass as the encoders' global_header. False for an
  // unknown name.
  static bool wants_global_header(const std::string& format_name);

  Muxer(PrivateKey, OutputFormatPtr ctx, std::string path);
  Muxer(const Muxer&) = delete;
  Muxer& operator=(const Muxer&) = delete;

  // Copies the opened encoder's codec parameters, time base and (when the time base is
  // 1/frame rate, i.e. constant rate) frame rate; returns the stream index.
  // REQUIRES: before start().
  Result<int> add_stream(const AVCodecContext* encoder);
  // Display rotation: a display matrix side data on the stream such that
  // av_display_rotation_get on it (what probes read) returns `degrees`, counter-clockwise.
  // -90 is the usual portrait phone clip (players turn it 90 degrees clockwise). Note FFmpeg
  // 5.1's av_display_rotation_set takes the opposite sign. REQUIRES: before start().
  Status set_rotation(int stream_index, double degrees);
  // Muxer options, private (movflags=+faststart) or generic (output_ts_offset=10), applied at
  // start(); an option the muxer does not know fails start(). REQUIRES: before start().
  Status set_option(const std::string& key, const std::string& value);
  Status start();  // avformat_write_header
  // Rescales pkt timestamps from `from` to the stream's time base and writes interleaved. Takes
  // the packet's data reference: `pkt` is blank afterwards, even on failure.
  Status write(AVPacket* pkt, int stream_index, AVRational from) override;
  Status finish();  // av_write_trailer + close; the file is complete only after this
  // Bytes written so far (buffered ones included); after finish(), the file's size.
  int64_t bytes_written() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  enum class State { Setup, Started, Finished };

  OutputFormatPtr ctx_;
  std::string path_str_;  // for error messages
  std::filesystem::path path_;
  std::vector<std::pair<std::string, std::string>> options_;
  State state_ = State::Setup;
  int64_t final_bytes_ = 0;
  BufferCharge io_buffer_;  // the file's AVIOContext buffer, until finish()
};

}  // namespace leancut::media
