#include "media/image_encode.h"

#include <cerrno>
#include <string>

extern "C" {
#include <libavutil/imgutils.h>
}

#include "base/check.h"
#include "media/av_error.h"

namespace leancut::media {
namespace {

// The scale is 1:1; these flags matter for 4:2:0 chroma upsampling and rounding only.
constexpr int kSwsFlags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT;

Result<FramePtr> alloc_picture(int width, int height, AVPixelFormat format) {
  FramePtr f = make_frame();
  f->width = width;
  f->height = height;
  f->format = format;
  if (int err = av_frame_get_buffer(f.get(), 0); err < 0) {
    return av_error(err, "av_frame_get_buffer", "image picture");
  }
  return f;
}

Result<SwsPtr> make_scaler(int width, int height, AVPixelFormat from, AVPixelFormat to,
                           int from_colorspace, int from_full_range, int to_colorspace,
                           int to_full_range) {
  SwsPtr sws{
      sws_getContext(width, height, from, width, height, to, kSwsFlags, nullptr, nullptr, nullptr)};
  if (!sws) return make_error(ErrorCode::MediaError, "sws_getContext failed for the image");
  // Explicit matrices and ranges: swscale's defaults (BT.601, range from the J formats) are
  // right for JPEG but not for the BT.709 pictures the normalizer makes.
  constexpr int kBrightness = 0;
  constexpr int kUnity = 1 << 16;  // contrast and saturation unchanged
  sws_setColorspaceDetails(sws.get(), sws_getCoefficients(from_colorspace), from_full_range,
                           sws_getCoefficients(to_colorspace), to_full_range, kBrightness, kUnity,
                           kUnity);
  return sws;
}

}  // namespace

std::optional<ImageFormat> image_format_from_name(std::string_view name) {
  if (name == "jpg" || name == "jpeg") return ImageFormat::Jpeg;
  if (name == "png") return ImageFormat::Png;
  return std::nullopt;
}

const char* image_extension(ImageFormat format) {
  return format == ImageFormat::Jpeg ? "jpg" : "png";
}

int jpeg_qscale_for_quality(int quality) {
  LEANCUT_CHECK(quality >= 1 && quality <= 100);
  // round(2 + (100 - q) * 29 / 99) in integers: add half the divisor before dividing.
  return 2 + ((100 - quality) * 29 + 99 / 2) / 99;
}

ImageEncoder::ImageEncoder(PrivateKey /*key*/, const ImageSettings& settings)
    : settings_(settings) {}

Result<std::unique_ptr<ImageEncoder>> ImageEncoder::open(const ImageSettings& s) {
  if (s.width <= 0 || s.height <= 0) {
    return make_error(
        ErrorCode::InvalidInput,
        "image encoder: bad size " + std::to_string(s.width) + "x" + std::to_string(s.height));
  }
  if (s.quality < 1 || s.quality > 100) {
    return make_error(ErrorCode::InvalidInput,
                      "image encoder: quality " + std::to_string(s.quality) + " is outside 1..100");
  }
  const bool jpeg = s.format == ImageFormat::Jpeg;
  const AVCodecID id = jpeg ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_PNG;
  const AVCodec* codec = avcodec_find_encoder(id);
  if (codec == nullptr) {
    return make_error(ErrorCode::Unsupported,
                      std::string("no ") + (jpeg ? "mjpeg" : "png") + " encoder in this FFmpeg");
  }
  auto enc = std::make_unique<ImageEncoder>(PrivateKey{}, s);
  enc->codec_.reset(avcodec_alloc_context3(codec));
  if (!enc->codec_) return av_error(AVERROR(ENOMEM), "avcodec_alloc_context3", codec->name);
  AVCodecContext* ctx = enc->codec_.get();
  ctx->width = s.width;
  ctx->height = s.height;
  ctx->time_base = AVRational{1, 25};  // required by the API; still images have no timing
  ctx->sample_aspect_ratio = AVRational{1, 1};
  if (jpeg) {
    ctx->pix_fmt = AV_PIX_FMT_YUVJ420P;
    ctx->color_range = AVCOL_RANGE_JPEG;
    ctx->colorspace = AVCOL_SPC_BT470BG;
    // A fixed quantiser scale, not a bitrate: every image gets the same quality.
    ctx->flags |= AV_CODEC_FLAG_QSCALE;
    ctx->global_quality = FF_QP2LAMBDA * jpeg_qscale_for_quality(s.quality);
  } else {
    ctx->pix_fmt = AV_PIX_FMT_RGB24;
  }
  if (int err = avcodec_open2(ctx, codec, nullptr); err < 0) {
    return av_error(err, "avcodec_open2", codec->name);
  }

  LEANCUT_ASSIGN_OR_RETURN(enc->rgb_, alloc_picture(s.width, s.height, AV_PIX_FMT_RGB24));
  LEANCUT_ASSIGN_OR_RETURN(enc->to_rgb_,
                           make_scaler(s.width, s.height, AV_PIX_FMT_YUV420P, AV_PIX_FMT_RGB24,
                                       SWS_CS_ITU709, 0, SWS_CS_ITU709, 1));
  if (jpeg) {
    LEANCUT_ASSIGN_OR_RETURN(enc->jpeg_yuv_, alloc_picture(s.width, s.height, AV_PIX_FMT_YUVJ420P));
    LEANCUT_ASSIGN_OR_RETURN(enc->rgb_to_jpeg_,
                             make_scaler(s.width, s.height, AV_PIX_FMT_RGB24, AV_PIX_FMT_YUVJ420P,
                                         SWS_CS_ITU601, 1, SWS_CS_ITU601, 1));
  }
  return enc;
}

Status ImageEncoder::convert(const AVFrame* picture) {
  if (picture->format != AV_PIX_FMT_YUV420P || picture->width != settings_.width ||
      picture->height != settings_.height) {
    return make_error(ErrorCode::Internal,
                      "image encoder: expected a " + std::to_string(settings_.width) + "x" +
                          std::to_string(settings_.height) + " yuv420p picture, got " +
                          std::to_string(picture->width) + "x" + std::to_string(picture->height));
  }
  // The encoder may still hold a reference to the previous image's picture.
  if (int err = av_frame_make_writable(rgb_.get()); err < 0) {
    return av_error(err, "av_frame_make_writable", "image picture");
  }
  sws_scale(to_rgb_.get(), picture->data, picture->linesize, 0, picture->height, rgb_->data,
            rgb_->linesize);
  if (!jpeg_yuv_) return ok_status();
  if (int err = av_frame_make_writable(jpeg_yuv_.get()); err < 0) {
    return av_error(err, "av_frame_make_writable", "image picture");
  }
  sws_scale(rgb_to_jpeg_.get(), rgb_->data, rgb_->linesize, 0, rgb_->height, jpeg_yuv_->data,
            jpeg_yuv_->linesize);
  return ok_status();
}

Result<PacketPtr> ImageEncoder::encode(const AVFrame* picture) {
  LEANCUT_TRY(convert(picture));
  AVFrame* image = jpeg_yuv_ ? jpeg_yuv_.get() : rgb_.get();
  image->pts = images_++;
  image->quality = codec_->global_quality;
  if (int err = avcodec_send_frame(codec_.get(), image); err < 0) {
    return av_error(err, "avcodec_send_frame", codec_->codec->name);
  }
  // Both encoders are intra-only without delay: one picture in, its image out at once.
  PacketPtr packet = make_packet();
  if (int err = avcodec_receive_packet(codec_.get(), packet.get()); err < 0) {
    return av_error(err, "avcodec_receive_packet", codec_->codec->name);
  }
  return packet;
}

}  // namespace leancut::media
