#include "media/still_image.h"

#include <cstddef>
#include <cstdlib>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "media/av_error.h"
#include "media/demux.h"

namespace leancut::media {
namespace {

// "logo.png: cannot decode it as png: Invalid data found when processing input".
Error undecodable(const std::filesystem::path& path, AVCodecID id, int err) {
  return make_error(ErrorCode::MediaError, path.string() + ": cannot decode it as " +
                                               avcodec_get_name(id) + ": " + av_error_string(err));
}

// Decodes the first picture of the file's image stream.
Result<FramePtr> decode_first_picture(const std::filesystem::path& path, std::string* codec_name) {
  LEANCUT_ASSIGN_OR_RETURN(InputFormatPtr input, open_input(path, Analyze::Always));
  const int index = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) {
    return make_error(ErrorCode::MediaError, path.string() + ": not an image (no picture in it)");
  }
  const AVStream* stream = input->streams[index];
  const AVCodecID id = stream->codecpar->codec_id;
  // PNG and JPEG only: anything else the demuxers find (a video's first frame, a GIF) would play
  // as a still without saying so, and the format promises only these two.
  if (id != AV_CODEC_ID_PNG && id != AV_CODEC_ID_MJPEG) {
    return make_error(ErrorCode::Unsupported,
                      path.string() + ": not a PNG or JPEG image (" + avcodec_get_name(id) + ")");
  }
  if (codec_name != nullptr) *codec_name = avcodec_get_name(id);
  for (unsigned i = 0; i < input->nb_streams; ++i) {
    if (static_cast<int>(i) != index) input->streams[i]->discard = AVDISCARD_ALL;
  }
  LEANCUT_ASSIGN_OR_RETURN(CodecContextPtr decoder, open_decoder(stream, 1, path));
  PacketPtr packet = make_packet();
  FramePtr frame = make_frame();
  bool draining = false;
  while (true) {
    int err = avcodec_receive_frame(decoder.get(), frame.get());
    if (err == 0) break;
    if (err == AVERROR_EOF) {
      return make_error(ErrorCode::MediaError, path.string() + ": no picture could be decoded");
    }
    if (err != AVERROR(EAGAIN)) return undecodable(path, id, err);
    if (draining) {
      return make_error(ErrorCode::MediaError, path.string() + ": no picture could be decoded");
    }
    err = av_read_frame(input.get(), packet.get());
    if (err == AVERROR_EOF) {
      draining = true;
      avcodec_send_packet(decoder.get(), nullptr);
      continue;
    }
    if (err < 0) return av_error(err, "av_read_frame", path.string());
    if (packet->stream_index == index) {
      err = avcodec_send_packet(decoder.get(), packet.get());
      av_packet_unref(packet.get());
      // A corrupt image is an error here, not a frame to skip: there is only the one picture.
      if (err < 0 && err != AVERROR(EAGAIN)) return undecodable(path, id, err);
    } else {
      av_packet_unref(packet.get());
    }
  }
  if (frame->width <= 0 || frame->height <= 0) {
    return make_error(ErrorCode::MediaError, path.string() + ": the picture has no size");
  }
  return frame;
}

// An RGBA copy of a picture of any format swscale reads (same size, no scaling).
Result<FramePtr> rgba_copy(const AVFrame* picture) {
  const int w = picture->width;
  const int h = picture->height;
  SwsPtr to_rgba{sws_getContext(w, h, static_cast<AVPixelFormat>(picture->format), w, h,
                                AV_PIX_FMT_RGBA, SWS_POINT | SWS_ACCURATE_RND, nullptr, nullptr,
                                nullptr)};
  if (to_rgba == nullptr) {
    return make_error(ErrorCode::Unsupported,
                      std::string("sws_getContext: cannot convert ") +
                          av_get_pix_fmt_name(static_cast<AVPixelFormat>(picture->format)) +
                          " to rgba");
  }
  FramePtr rgba = make_frame();
  rgba->format = AV_PIX_FMT_RGBA;
  rgba->width = w;
  rgba->height = h;
  if (int err = av_frame_get_buffer(rgba.get(), 0); err < 0) {
    return av_error(err, "av_frame_get_buffer (still, rgba)");
  }
  if (int err = sws_scale(to_rgba.get(), picture->data, picture->linesize, 0, h, rgba->data,
                          rgba->linesize);
      err < 0) {
    return av_error(err, "sws_scale (still to rgba)");
  }
  return rgba;
}

// The EXIF orientation (1..8) libavcodec's JPEG decoder put in the picture's metadata; 1 (as
// stored) without one.
int exif_orientation(const AVFrame* picture) {
  const AVDictionaryEntry* e = av_dict_get(picture->metadata, "Orientation", nullptr, 0);
  if (e == nullptr) return 1;
  const int value = std::atoi(e->value);  // written with leading spaces, e.g. "    6"
  return value >= 1 && value <= 8 ? value : 1;
}

// The picture turned upright as its EXIF orientation says (cameras store a portrait photo
// sideways and tag it): an RGBA copy with every pixel moved (w and h swap for 5..8).
// Orientation 1 returns the picture itself (a new reference).
Result<FramePtr> upright(const AVFrame* picture) {
  const int orientation = exif_orientation(picture);
  if (orientation == 1) return ref_frame(picture);
  const int w = picture->width;
  const int h = picture->height;
  LEANCUT_ASSIGN_OR_RETURN(FramePtr stored, rgba_copy(picture));
  const bool swaps = orientation >= 5;
  FramePtr out = make_frame();
  out->format = AV_PIX_FMT_RGBA;
  out->width = swaps ? h : w;
  out->height = swaps ? w : h;
  out->sample_aspect_ratio = AVRational{1, 1};
  if (int err = av_frame_get_buffer(out.get(), 0); err < 0) {
    return av_error(err, "av_frame_get_buffer (upright)");
  }
  for (int y = 0; y < out->height; ++y) {
    auto* row =
        reinterpret_cast<uint32_t*>(out->data[0] + static_cast<ptrdiff_t>(y) * out->linesize[0]);
    for (int x = 0; x < out->width; ++x) {
      // Where upright pixel (x, y) is stored (EXIF 2.3, tag 0x0112).
      int sx = x;
      int sy = y;
      switch (orientation) {
        case 2:
          sx = w - 1 - x;
          break;  // mirrored
        case 3:
          sx = w - 1 - x;
          sy = h - 1 - y;
          break;  // upside down
        case 4:
          sy = h - 1 - y;
          break;  // mirrored vertically
        case 5:
          sx = y;
          sy = x;
          break;  // transposed
        case 6:
          sx = y;
          sy = h - 1 - x;
          break;  // turn 90 degrees clockwise
        case 7:
          sx = w - 1 - y;
          sy = h - 1 - x;
          break;  // transversed
        case 8:
          sx = w - 1 - y;
          sy = x;
          break;  // turn 90 degrees anticlockwise
        default:
          break;
      }
      row[x] = reinterpret_cast<const uint32_t*>(stored->data[0] + static_cast<ptrdiff_t>(sy) *
                                                                       stored->linesize[0])[sx];
    }
  }
  return out;
}

bool has_alpha(int format) {
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(format));
  return desc != nullptr && (desc->flags & AV_PIX_FMT_FLAG_ALPHA) != 0;
}

}  // namespace

Result<ImageInfo> probe_image(const std::filesystem::path& path) {
  ImageInfo info;
  info.path = path;
  LEANCUT_ASSIGN_OR_RETURN(FramePtr decoded, decode_first_picture(path, &info.codec));
  LEANCUT_ASSIGN_OR_RETURN(FramePtr picture, upright(decoded.get()));
  info.width = picture->width;
  info.height = picture->height;
  const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(picture->format));
  info.pixel_format = name != nullptr ? name : "unknown";
  info.has_alpha = has_alpha(picture->format);
  return info;
}

Result<FramePtr> decode_image(const std::filesystem::path& path) {
  LEANCUT_ASSIGN_OR_RETURN(FramePtr decoded, decode_first_picture(path, nullptr));
  return upright(decoded.get());
}

Result<FramePtr> flatten_onto(const AVFrame* picture, Rgb8 background) {
  if (!has_alpha(picture->format)) return ref_frame(picture);
  const int w = picture->width;
  const int h = picture->height;
  // Every alpha format PNG decodes to (rgba, rgba64be, ya8, ya16be, pal8 with tRNS) becomes
  // 8-bit RGBA; same size, so no filtering is involved.
  LEANCUT_ASSIGN_OR_RETURN(FramePtr rgba, rgba_copy(picture));
  FramePtr out = make_frame();
  out->format = AV_PIX_FMT_RGB24;
  out->width = w;
  out->height = h;
  if (int err = av_frame_get_buffer(out.get(), 0); err < 0) {
    return av_error(err, "av_frame_get_buffer (still, rgb24)");
  }
  out->sample_aspect_ratio = picture->sample_aspect_ratio;
  const int bg[3] = {background.r, background.g, background.b};
  for (int y = 0; y < h; ++y) {
    const uint8_t* src = rgba->data[0] + static_cast<std::ptrdiff_t>(y) * rgba->linesize[0];
    uint8_t* dst = out->data[0] + static_cast<std::ptrdiff_t>(y) * out->linesize[0];
    for (int x = 0; x < w; ++x) {
      const int a = src[4 * x + 3];
      for (int c = 0; c < 3; ++c) {
        // Rounded to nearest: (v + 127) / 255 for v = a·c + (255 − a)·bg, both terms ≤ 255².
        dst[3 * x + c] = static_cast<uint8_t>((a * src[4 * x + c] + (255 - a) * bg[c] + 127) / 255);
      }
    }
  }
  return out;
}

}  // namespace leancut::media
