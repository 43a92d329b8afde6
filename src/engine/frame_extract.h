// Frame extraction: every Nth picture of a source's [start, end) written as a still image, one
// file at a time, streaming (`leancut frames`, docs/cli.md).
//
//   FrameExtractOptions opt{.output_dir = "stills", .every = 30};
//   auto done = extract_frames(probe, opt, [](const ExtractedImage& im) { log(im.file); });
//
// Which pictures: the source's decoded pictures in presentation order whose editor time t
// (probe.h) lies in [start, end) are numbered 0, 1, 2, ...; those whose number is a multiple of
// `every` become images, so there are exactly ceil(pictures_in_range / every) of them. Image k
// is written as DIR/frame_%06d.EXT with k as the number (frame_000000.jpg, ...; wider past
// 999999) under a temporary name `.NAME.leancut-PID.partial` beside it, then renamed: a final
// name never holds half an image. Pictures are turned upright (rotation) and to square pixels
// first, like a render's, at the source's display size.
//
// Memory is bounded whatever the input's length: one reader (demuxer + decoder), one normalizer
// graph, one image encoder and the picture in hand; nothing accumulates per image (each is
// reported through the callback and forgotten). Thread-compatible.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "base/result.h"
#include "media/image_encode.h"
#include "media/probe.h"
#include "time/rational.h"

namespace leancut::engine {

struct FrameExtractOptions {
  std::filesystem::path output_dir;  // created when missing
  int64_t every = 1;                 // 1 or more; less is an InvalidInput error
  media::ImageFormat format = media::ImageFormat::Jpeg;
  int quality = 85;             // JPEG, 1..100 (media::jpeg_qscale_for_quality)
  Rational start{0};            // editor time
  std::optional<Rational> end;  // editor time; nullopt or past the source's end: to the end
  int decoder_threads = 1;
  // Asked before each picture; true stops the extraction with a Cancelled error (SIGINT). The
  // images written so far stay; none is left half-written.
  std::function<bool()> should_stop;
};

// One image written (and renamed into place).
struct ExtractedImage {
  int64_t index = 0;  // k: the image's number, in its name
  std::string file;   // name inside output_dir
  Rational time;      // editor time of the source picture
  // The picture's number counted from the source's first picture at its nominal rate:
  // round(time * frame_rate), exact for constant-rate sources.
  int64_t source_frame = 0;
};

struct FrameExtractSummary {
  int64_t images = 0;
  int64_t pictures_in_range = 0;  // decoded pictures with start <= t < end
  int width = 0;                  // of every image
  int height = 0;
  Rational start;
  Rational end;  // the range actually used (end clamped to the source's end)
};

// Errors: InvalidInput for every < 1, quality outside 1..100, start < 0, start at or past the
// source's end, end <= start (messages name the option and the values); Cancelled; Io for an output
// folder that cannot be made or written (naming the path); MediaError for a source that fails to
// decode. Images written before a failure stay (they are complete).
Result<FrameExtractSummary> extract_frames(
    const media::ProbeInfo& probe, const FrameExtractOptions& options,
    const std::function<void(const ExtractedImage&)>& on_image = {});

// The name of image k: "frame_000042.jpg".
std::string extracted_image_name(int64_t index, media::ImageFormat format);

}  // namespace leancut::engine
