#include "engine/frame_extract.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>

#include "media/source_reader.h"
#include "media/video_normalizer.h"

namespace leancut::engine {
namespace {

namespace fs = std::filesystem;

Error io_error(const std::string& what, const fs::path& path, int errnum) {
  return make_error(ErrorCode::Io, what + " " + path.string() + ": " + std::strerror(errnum));
}

// Writes `bytes` to `dir/name` through a temporary name beside it, renamed when complete.
Status write_image(const fs::path& dir, const std::string& name, const AVPacket& bytes) {
  const fs::path final_path = dir / name;
  const fs::path temp_path =
      dir / ("." + name + ".leancut-" + std::to_string(::getpid()) + ".partial");
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot write an image in", dir, errno);
  const uint8_t* data = bytes.data;
  std::size_t left = static_cast<std::size_t>(bytes.size);
  int write_errno = 0;
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      write_errno = n < 0 ? errno : EIO;
      break;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && write_errno == 0) write_errno = errno;
  if (write_errno == 0 && std::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    write_errno = errno;
  }
  if (write_errno != 0) {
    ::unlink(temp_path.c_str());
    return io_error("cannot write", final_path, write_errno);
  }
  return ok_status();
}

Status prepare_output_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return make_error(ErrorCode::Io,
                      "cannot create the output folder " + dir.string() + ": " + ec.message());
  }
  if (!fs::is_directory(dir, ec)) {
    return make_error(ErrorCode::Io, "the output " + dir.string() + " is not a folder");
  }
  return ok_status();
}

Status check_options(const media::ProbeInfo& probe, const FrameExtractOptions& o) {
  const std::string source = probe.path.string();
  const Rational duration = probe.video->duration;
  if (o.every < 1) {
    return make_error(ErrorCode::InvalidInput,
                      "--every " + std::to_string(o.every) + ": must be 1 or more");
  }
  if (o.quality < 1 || o.quality > 100) {
    return make_error(ErrorCode::InvalidInput,
                      "--quality " + std::to_string(o.quality) + ": must be within 1..100");
  }
  if (o.start < Rational{0}) {
    return make_error(ErrorCode::InvalidInput,
                      "--start " + o.start.to_seconds_string() + ": must not be negative");
  }
  if (o.start >= duration) {
    return make_error(ErrorCode::InvalidInput, "--start " + o.start.to_seconds_string() +
                                                   " is at or past the end of " + source + " (" +
                                                   duration.to_seconds_string() + ")");
  }
  if (o.end && *o.end <= o.start) {
    return make_error(ErrorCode::InvalidInput, "--end " + o.end->to_seconds_string() +
                                                   " must be after --start " +
                                                   o.start.to_seconds_string());
  }
  return ok_status();
}

}  // namespace

std::string extracted_image_name(int64_t index, media::ImageFormat format) {
  char name[64];
  std::snprintf(name, sizeof name, "frame_%06lld.%s", static_cast<long long>(index),
                media::image_extension(format));
  return name;
}

Result<FrameExtractSummary> extract_frames(
    const media::ProbeInfo& probe, const FrameExtractOptions& options,
    const std::function<void(const ExtractedImage&)>& on_image) {
  if (!probe.video) {
    return make_error(ErrorCode::MediaError, probe.path.string() + " has no video stream");
  }
  const media::VideoInfo& video = *probe.video;
  LEANCUT_TRY(check_options(probe, options));
  LEANCUT_TRY(prepare_output_dir(options.output_dir));

  FrameExtractSummary summary;
  summary.start = options.start;
  summary.end = options.end && *options.end < video.duration ? *options.end : video.duration;
  summary.width = video.display_width;
  summary.height = video.display_height;
  // Rates are positive for every probed source; the normalizer needs one only for timestamps.
  const Rational rate = video.frame_rate > Rational{0} ? video.frame_rate : Rational{25};

  LEANCUT_ASSIGN_OR_RETURN(auto reader,
                           media::StreamReader::open(probe, media::StreamKind::Video,
                                                     {.threads = options.decoder_threads}));
  if (options.start > Rational{0}) LEANCUT_TRY(reader->seek(options.start));
  media::VideoNormalizer normalizer(
      {.width = summary.width, .height = summary.height, .frame_rate = rate});
  // Stretch at the display size: only rotation and non-square pixels change the picture.
  const media::Placement upright{.fit = media::FitMode::Stretch, .rotation = video.rotation};
  LEANCUT_ASSIGN_OR_RETURN(auto encoder, media::ImageEncoder::open({.format = options.format,
                                                                    .width = summary.width,
                                                                    .height = summary.height,
                                                                    .quality = options.quality}));

  while (true) {
    if (options.should_stop && options.should_stop()) {
      return make_error(ErrorCode::Cancelled, "frame extraction interrupted");
    }
    LEANCUT_ASSIGN_OR_RETURN(std::optional<media::DecodedFrame> decoded, reader->next());
    if (!decoded || decoded->time >= summary.end) break;
    if (decoded->time < summary.start) continue;  // the seek lands on the keyframe before
    const int64_t number = summary.pictures_in_range++;
    if (number % options.every != 0) continue;

    ExtractedImage image;
    image.index = summary.images;
    image.file = extracted_image_name(image.index, options.format);
    image.time = decoded->time;
    image.source_frame = round_half_up(decoded->time * rate);
    LEANCUT_ASSIGN_OR_RETURN(media::FramePtr picture,
                             normalizer.normalize(std::move(decoded->frame), upright, number));
    LEANCUT_ASSIGN_OR_RETURN(media::PacketPtr bytes, encoder->encode(picture.get()));
    LEANCUT_TRY(write_image(options.output_dir, image.file, *bytes));
    ++summary.images;
    if (on_image) on_image(image);
  }
  return summary;
}

}  // namespace leancut::engine
