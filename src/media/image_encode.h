// ImageEncoder: one still image (JPEG or PNG) per picture, encoded in-process with libav's own
// mjpeg and png encoders. Pictures come in as the VideoNormalizer makes them (YUV420P, BT.709,
// limited range) and are converted with swscale to what the image format expects.
//
//   LEANCUT_ASSIGN_OR_RETURN(auto enc, ImageEncoder::open({.format = ImageFormat::Jpeg,
//                                                          .width = 1280, .height = 720}));
//   LEANCUT_ASSIGN_OR_RETURN(PacketPtr jpeg, enc->encode(picture));   // the whole file's bytes
//
// Colours: the picture is first converted to RGB with the BT.709 matrix. PNG stores that RGB;
// JPEG (JFIF) is then converted to full-range BT.601 YCbCr, which is what every JPEG reader
// assumes, so the image shows the colours the video does.
//
// Memory: the codec context, two swscale contexts and one or two converted pictures of the
// image size, reused for every image. Thread-compatible.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "base/result.h"
#include "media/av_ptr.h"

namespace leancut::media {

enum class ImageFormat { Jpeg, Png };

// "jpg" (or "jpeg") and "png"; nullopt otherwise.
std::optional<ImageFormat> image_format_from_name(std::string_view name);
// The file extension written for a format, without the dot: "jpg", "png".
const char* image_extension(ImageFormat format);

// --quality 1..100 (100 best, as image tools count it) to the mjpeg encoder's quantiser scale
// 31..2 (lower is better): qscale = round(2 + (100 - quality) * 29 / 99), so 100 -> 2, 85 -> 6,
// 75 -> 9, 50 -> 17, 1 -> 31. Linear because the quantiser scales every quantisation table
// entry linearly. REQUIRES: 1 <= quality <= 100.
int jpeg_qscale_for_quality(int quality);

struct ImageSettings {
  ImageFormat format = ImageFormat::Jpeg;
  int width = 0;
  int height = 0;
  int quality = 85;  // JPEG only (jpeg_qscale_for_quality); PNG is lossless
};

class ImageEncoder {
  struct PrivateKey {  // only open() constructs (through std::make_unique)
    explicit PrivateKey() = default;
  };

 public:
  static Result<std::unique_ptr<ImageEncoder>> open(const ImageSettings& settings);
  ImageEncoder(PrivateKey, const ImageSettings& settings);

  // One image of `picture` (YUV420P, BT.709 limited range, the settings' size; borrowed). The
  // packet holds the complete file.
  Result<PacketPtr> encode(const AVFrame* picture);

 private:
  Status convert(const AVFrame* picture);

  ImageSettings settings_;
  CodecContextPtr codec_;
  SwsPtr to_rgb_;
  SwsPtr rgb_to_jpeg_;  // JPEG only: RGB -> full-range BT.601 YCbCr
  FramePtr rgb_;
  FramePtr jpeg_yuv_;  // JPEG only
  int64_t images_ = 0;
};

}  // namespace leancut::media
