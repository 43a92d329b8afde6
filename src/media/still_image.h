// Still images (PNG, JPEG) for still shots: probe one, decode its one picture, and flatten its
// alpha onto a background colour so the video path (which has no alpha) shows what a viewer of
// the image over that colour would see.
//
//   LEANCUT_ASSIGN_OR_RETURN(ImageInfo info, probe_image("logo.png"));  // at resolve time
//   LEANCUT_ASSIGN_OR_RETURN(FramePtr pic, decode_image("logo.png"));   // at render time
//   LEANCUT_ASSIGN_OR_RETURN(FramePtr flat, flatten_onto(pic.get(), {32, 64, 96}));
//
// The file is read through libavformat's image demuxers and decoded by libavcodec (the same
// open_input / open_decoder every source uses); only PNG and JPEG are accepted.
//
// Memory: decode_image holds the decoder only while it runs and returns one picture; flatten_onto
// needs one RGBA copy while it runs and returns one RGB24 picture of the same size.
// Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/result.h"
#include "media/av_ptr.h"

namespace leancut::media {

struct ImageInfo {
  std::filesystem::path path;
  std::string codec;  // "png" or "mjpeg"
  int width = 0;
  int height = 0;
  std::string pixel_format;  // as decoded: "rgba", "rgb24", "yuvj420p", "pal8", ...
  bool has_alpha = false;    // the decoded format carries transparency
};

// Opens and decodes the image once (so a truncated or corrupt file is found before a render),
// then lets the picture go. Errors name the file: "logo.png: not a PNG or JPEG image (h264)".
Result<ImageInfo> probe_image(const std::filesystem::path& path);

// The image's picture, as its decoder made it (sample aspect and colour tags included), turned
// upright when a JPEG's EXIF orientation says it is stored turned or mirrored (then as RGBA).
// probe_image's width and height are the upright picture's.
Result<FramePtr> decode_image(const std::filesystem::path& path);

struct Rgb8 {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
};

// A picture without transparency: `picture` itself (a new reference) when its format has no
// alpha, else an RGB24 picture of the same size with every pixel composited over `background`:
// out = (a × c + (255 − a) × bg) / 255, rounded, per channel. The blend is done on the sRGB
// values as stored, as browsers and ffmpeg's overlay do, so the result matches what those show.
Result<FramePtr> flatten_onto(const AVFrame* picture, Rgb8 background);

}  // namespace leancut::media
