#include "media/video_normalizer.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/opt.h>
#include <libavutil/parseutils.h>
#include <libavutil/pixdesc.h>
}

#include "media/av_error.h"
#include "media/av_time.h"
#include "media/charge.h"
#include "media/filter_chain.h"

namespace leancut::media {
namespace {

int round_to_even(Rational v) {
  return static_cast<int>(2 * round_half_up(v / Rational{2}));
}

int at_least_two(int v) {
  return v < 2 ? 2 : v;
}

}  // namespace

ScaledRect place_picture(Rational display_width, int display_height, int out_width, int out_height,
                         FitMode fit, Rational focus_x, Rational focus_y) {
  ScaledRect r;
  if (fit == FitMode::Stretch) return {out_width, out_height, 0, 0};
  Rational sx = Rational{out_width} / display_width;
  Rational sy = Rational{out_height} / Rational{display_height};
  Rational scale = fit == FitMode::Fit ? (sx < sy ? sx : sy) : (sx < sy ? sy : sx);
  r.width = at_least_two(round_to_even(display_width * scale));
  r.height = at_least_two(round_to_even(Rational{display_height} * scale));
  if (fit == FitMode::Fit) {
    if (r.width > out_width) r.width = out_width;
    if (r.height > out_height) r.height = out_height;
  } else {
    if (r.width < out_width) r.width = out_width;
    if (r.height < out_height) r.height = out_height;
  }
  // Even offsets keep 4:2:0 chroma aligned; negative offsets mean the overflow is cropped.
  r.x = static_cast<int>(2 * floor_to_int(Rational{out_width - r.width, 4}));
  r.y = static_cast<int>(2 * floor_to_int(Rational{out_height - r.height, 4}));
  if (fit == FitMode::Fill) {
    // The crop's left (top) edge: the focus at the window's centre, moved back inside the
    // picture when that would cross an edge; even like the centred offset. A centred focus
    // gives the centred offset above for even sizes.
    auto crop_offset = [](int scaled, int out, Rational focus) {
      int64_t offset = 2 * round_half_up((focus * Rational{scaled} - Rational{out, 2}) / 2);
      const int64_t most = scaled - out;
      if (offset > most) offset = most - (most % 2);
      if (offset < 0) offset = 0;
      return static_cast<int>(-offset);
    };
    r.x = crop_offset(r.width, out_width, focus_x);
    r.y = crop_offset(r.height, out_height, focus_y);
  }
  return r;
}

bool VideoNormalizer::InputShape::operator==(const InputShape& o) const {
  return width == o.width && height == o.height && format == o.format &&
         av_cmp_q(sample_aspect, o.sample_aspect) == 0 && colorspace == o.colorspace &&
         color_range == o.color_range && placement == o.placement;
}

VideoNormalizer::VideoNormalizer(VideoTarget target) : target_(std::move(target)) {
  // libavfilter's pad (5.1) converts its colour with the BT.601 matrix whatever the frames are;
  // the output is BT.709, so a coloured background would come out a few levels off, and differ
  // from the same colour converted from an RGB picture (a still's transparent parts, a colour
  // shot). The bars are painted with the BT.709 value instead (normalize()).
  uint8_t rgba[4] = {0, 0, 0, 255};
  if (av_parse_color(rgba, target_.background.c_str(), -1, nullptr) >= 0) {
    const double r = rgba[0], g = rgba[1], b = rgba[2];
    const double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const auto to_byte = [](double v) { return static_cast<uint8_t>(std::lround(v)); };
    bar_yuv_[0] = to_byte(16 + 219 * y / 255);
    bar_yuv_[1] = to_byte(128 + 224 * (b - y) / (1.8556 * 255));
    bar_yuv_[2] = to_byte(128 + 224 * (r - y) / (1.5748 * 255));
  }
}

Status VideoNormalizer::paint_bars(AVFrame* out) const {
  if (int err = av_frame_make_writable(out); err < 0)
    return av_error(err, "av_frame_make_writable");
  const ScaledRect& r = bars_rect_;
  // Luma rows/columns [0, x) and [x + w, width), likewise vertically; chroma at half (the offsets
  // and sizes are even).
  for (int plane = 0; plane < 3; ++plane) {
    const int shift = plane == 0 ? 0 : 1;
    const int width = target_.width >> shift;
    const int height = target_.height >> shift;
    const int x0 = std::max(r.x, 0) >> shift;
    const int x1 = std::min(std::max(r.x, 0) + r.width, target_.width) >> shift;
    const int y0 = std::max(r.y, 0) >> shift;
    const int y1 = std::min(std::max(r.y, 0) + r.height, target_.height) >> shift;
    for (int y = 0; y < height; ++y) {
      uint8_t* row = out->data[plane] + static_cast<std::ptrdiff_t>(y) * out->linesize[plane];
      if (y < y0 || y >= y1) {
        std::memset(row, bar_yuv_[plane], static_cast<size_t>(width));
        continue;
      }
      std::memset(row, bar_yuv_[plane], static_cast<size_t>(x0));
      std::memset(row + x1, bar_yuv_[plane], static_cast<size_t>(width - x1));
    }
  }
  return ok_status();
}

Status VideoNormalizer::build_graph(const InputShape& shape) {
  graph_.reset(avfilter_graph_alloc());
  if (graph_ == nullptr) return make_error(ErrorCode::OverBudget, "avfilter_graph_alloc failed");
  graph_->nb_threads = target_.threads;
  source_ = nullptr;
  sink_ = nullptr;

  AVRational sar = shape.sample_aspect.num > 0 ? shape.sample_aspect : AVRational{1, 1};
  AVRational tb = to_av_rational(Rational{1} / target_.frame_rate);
  std::string src_args = "video_size=" + std::to_string(shape.width) + "x" +
                         std::to_string(shape.height) + ":pix_fmt=" + std::to_string(shape.format) +
                         ":time_base=" + std::to_string(tb.num) + "/" + std::to_string(tb.den) +
                         ":pixel_aspect=" + std::to_string(sar.num) + "/" + std::to_string(sar.den);
  int err = avfilter_graph_create_filter(&source_, avfilter_get_by_name("buffer"), "in",
                                         src_args.c_str(), nullptr, graph_.get());
  if (err < 0) return av_error(err, "avfilter_graph_create_filter(buffer)", src_args);
  err = avfilter_graph_create_filter(&sink_, avfilter_get_by_name("buffersink"), "out", nullptr,
                                     nullptr, graph_.get());
  if (err < 0) return av_error(err, "avfilter_graph_create_filter(buffersink)");

  // Upright first, then geometry in display space.
  std::string chain;
  int w = shape.width;
  int h = shape.height;
  Rational aspect = to_rational(sar);
  switch (shape.placement.rotation) {
    case 90:
      chain += "transpose=clock,";
      std::swap(w, h);
      aspect = Rational{1} / aspect;
      break;
    case 180:
      chain += "hflip,vflip,";
      break;
    case 270:
      chain += "transpose=cclock,";
      std::swap(w, h);
      aspect = Rational{1} / aspect;
      break;
    default:
      break;
  }
  ScaledRect rect =
      place_picture(Rational{w} * aspect, h, target_.width, target_.height, shape.placement.fit,
                    shape.placement.focus_x, shape.placement.focus_y);
  // Colour: a tagged source is converted to BT.709 (what we tag the output with); an untagged one
  // passes through unchanged, as players and ffmpeg's scale filter treat it. Full range becomes
  // limited (TV) range, which is what yuv420p H.264 delivery expects.
  // RGB pictures (stills, colour shots) have no YUV matrix of their own; swscale would pick
  // BT.601 for them, which the BT.709 tag would then misdescribe (pure red would play back with
  // a tenth of green), so they are converted with BT.709 too.
  std::string colour;
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(shape.format));
  const bool rgb = desc != nullptr && (desc->flags & AV_PIX_FMT_FLAG_RGB) != 0;
  if (rgb || (shape.colorspace != AVCOL_SPC_UNSPECIFIED && shape.colorspace != AVCOL_SPC_BT709 &&
              shape.colorspace != AVCOL_SPC_RGB)) {
    colour = ":out_color_matrix=bt709";
  }
  chain += "scale=w=" + std::to_string(rect.width) + ":h=" + std::to_string(rect.height) +
           ":flags=bicubic:out_range=tv" + colour;
  has_bars_ = rect.x > 0 || rect.y > 0;
  bars_rect_ = rect;
  if (has_bars_) {
    chain += ",pad=w=" + std::to_string(target_.width) + ":h=" + std::to_string(target_.height) +
             ":x=" + std::to_string(rect.x > 0 ? rect.x : 0) +
             ":y=" + std::to_string(rect.y > 0 ? rect.y : 0) + ":color=" + target_.background;
  }
  if (rect.x < 0 || rect.y < 0 || rect.width > target_.width || rect.height > target_.height) {
    chain += ",crop=w=" + std::to_string(target_.width) + ":h=" + std::to_string(target_.height) +
             ":x=" + std::to_string(rect.x < 0 ? -rect.x : 0) +
             ":y=" + std::to_string(rect.y < 0 ? -rect.y : 0) + ":exact=1";
  }
  chain += ",setsar=1,format=yuv420p";

  // Text overlays: drawtext filters between the chain and the sink, made with av_opt_set so
  // the text needs no filtergraph escaping (quotes, colons and backslashes are drawn as written).
  std::vector<AVFilterContext*> texts;
  if (shape.placement.texts) {
    for (const TextDraw& t : *shape.placement.texts) {
      LEANCUT_ASSIGN_OR_RETURN(AVFilterContext * dt, make_drawtext(t, texts.size()));
      texts.push_back(dt);
    }
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    AVFilterContext* next = i + 1 < texts.size() ? texts[i + 1] : sink_;
    if (int link = avfilter_link(texts[i], 0, next, 0); link < 0) {
      return av_error(link, "avfilter_link(drawtext)");
    }
  }
  LEANCUT_TRY(link_chain_and_configure(graph_.get(), source_, texts.empty() ? sink_ : texts.front(),
                                       chain));
  shape_ = shape;
  ++graph_builds_;
  return ok_status();
}

namespace {

// drawtext's expressions see t = the frame's time in seconds; times print exactly enough.
std::string seconds(Rational r) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6f", r.to_double());
  return buf;
}

}  // namespace

Result<AVFilterContext*> VideoNormalizer::make_drawtext(const TextDraw& t, size_t index) {
  AVFilterContext* dt = avfilter_graph_alloc_filter(graph_.get(), avfilter_get_by_name("drawtext"),
                                                    ("text" + std::to_string(index)).c_str());
  if (dt == nullptr) {
    return make_error(ErrorCode::Unsupported,
                      "this libavfilter has no drawtext filter (built without libfreetype?)");
  }
  const std::string start = seconds(t.start);
  const std::string end = seconds(t.end);
  // Fades as opacity ramps at each end of [start, end).
  std::string alpha = "1";
  if (t.fade_in > Rational{0}) {
    alpha = "min(" + alpha + ",(t-" + start + ")/" + seconds(t.fade_in) + ")";
  }
  if (t.fade_out > Rational{0}) {
    alpha = "min(" + alpha + ",(" + end + "-t)/" + seconds(t.fade_out) + ")";
  }
  const std::string x = "w*" + seconds(t.x) + "-text_w/2";
  const std::string y = "h*" + seconds(t.y) + "-text_h/2";
  const std::pair<const char*, std::string> options[] = {
      {"text", t.text},
      {"expansion", "none"},
      {"font", t.font},
      {"fontsize", std::to_string(t.size)},
      {"fontcolor", t.colour},
      {"x", x},
      {"y", y},
      {"alpha", "max(0,min(1," + alpha + "))"},
      {"enable", "gte(t," + start + ")*lt(t," + end + ")"},
  };
  for (const auto& [name, value] : options) {
    if (int err = av_opt_set(dt, name, value.c_str(), AV_OPT_SEARCH_CHILDREN); err < 0) {
      return av_error(err, std::string("drawtext option ") + name, value);
    }
  }
  if (!t.box.empty()) {
    char opacity[16];
    std::snprintf(opacity, sizeof opacity, "@%.3f", t.box_opacity);
    for (const auto& [name, value] : {std::pair<const char*, std::string>{"box", "1"},
                                      {"boxcolor", t.box + opacity},
                                      {"boxborderw", std::to_string(std::max(1, t.size / 4))}}) {
      if (int err = av_opt_set(dt, name, value.c_str(), AV_OPT_SEARCH_CHILDREN); err < 0) {
        return av_error(err, std::string("drawtext option ") + name, value);
      }
    }
  }
  if (int err = avfilter_init_str(dt, nullptr); err < 0) {
    return av_error(err, "drawtext (font \"" + t.font + "\")", t.text);
  }
  return dt;
}

Result<FramePtr> VideoNormalizer::normalize(FramePtr frame, const Placement& placement,
                                            int64_t output_pts) {
  InputShape shape;
  shape.width = frame->width;
  shape.height = frame->height;
  shape.format = frame->format;
  shape.sample_aspect = frame->sample_aspect_ratio;
  shape.colorspace = frame->colorspace;
  shape.color_range = frame->color_range;
  shape.placement = placement;
  if (graph_ == nullptr || !(shape == shape_)) LEANCUT_TRY(build_graph(shape));

  frame->pts = output_pts;
  // KEEP_REF: `frame` stays alive until the output is charged, so buffers the graph passed
  // through can be told from those it allocated (and no freed buffer's address is reused).
  int err = av_buffersrc_add_frame_flags(source_, frame.get(), AV_BUFFERSRC_FLAG_KEEP_REF);
  if (err < 0) return av_error(err, "av_buffersrc_add_frame");
  FramePtr out = make_frame();
  err = av_buffersink_get_frame(sink_, out.get());
  if (err < 0) return av_error(err, "av_buffersink_get_frame");
  out->pts = output_pts;
  if (has_bars_) LEANCUT_TRY(paint_bars(out.get()));
  // Each output frame lasts one output frame; what came through from the decoder was in the
  // source's time base.
  out->pkt_duration = 1;
  out->colorspace = AVCOL_SPC_BT709;
  out->color_primaries = AVCOL_PRI_BT709;
  out->color_trc = AVCOL_TRC_BT709;
  out->color_range = AVCOL_RANGE_MPEG;
  out->pict_type = AV_PICTURE_TYPE_NONE;
  charge_frame(out.get(), target_.output_account, unshared_bytes(out.get(), frame.get()));
  return out;
}

}  // namespace leancut::media
