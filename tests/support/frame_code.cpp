#include "support/frame_code.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
}

namespace leancut::testing {
namespace {

constexpr int kCodes = 32;
constexpr int kIds = 12;
constexpr int kCell = 16;  // each palette entry is painted as a flat 16x16 cell

struct Entry {
  int y, u, v;
};

// The palette after ffmpeg's scale filter converts it from BT.601 to BT.709; empty on failure.
std::vector<Entry> build_converted_palette() {
  using namespace leancut::media;
  const int w = kCodes * kCell;
  const int h = kIds * kCell;
  FramePtr in = make_frame();
  in->format = AV_PIX_FMT_YUV420P;
  in->width = w;
  in->height = h;
  if (av_frame_get_buffer(in.get(), 0) < 0) return {};
  for (int id = 0; id < kIds; ++id) {
    for (int code = 0; code < kCodes; ++code) {
      media::CodeColour c = media::code_colour(code, id);
      for (int y = id * kCell; y < (id + 1) * kCell; ++y) {
        std::fill_n(in->data[0] + y * in->linesize[0] + code * kCell, kCell, c.y);
      }
      for (int y = id * kCell / 2; y < (id + 1) * kCell / 2; ++y) {
        std::fill_n(in->data[1] + y * in->linesize[1] + code * kCell / 2, kCell / 2, c.u);
        std::fill_n(in->data[2] + y * in->linesize[2] + code * kCell / 2, kCell / 2, c.v);
      }
    }
  }
  in->colorspace = AVCOL_SPC_SMPTE170M;
  in->color_primaries = AVCOL_PRI_SMPTE170M;
  in->color_trc = AVCOL_TRC_SMPTE170M;
  in->color_range = AVCOL_RANGE_MPEG;
  in->pts = 0;

  FilterGraphPtr graph{avfilter_graph_alloc()};
  AVFilterContext* src = nullptr;
  AVFilterContext* sink = nullptr;
  const std::string args = "video_size=" + std::to_string(w) + "x" + std::to_string(h) +
                           ":pix_fmt=" + std::to_string(AV_PIX_FMT_YUV420P) +
                           ":time_base=1/30:pixel_aspect=1/1";
  if (avfilter_graph_create_filter(&src, avfilter_get_by_name("buffer"), "in", args.c_str(),
                                   nullptr, graph.get()) < 0 ||
      avfilter_graph_create_filter(&sink, avfilter_get_by_name("buffersink"), "out", nullptr,
                                   nullptr, graph.get()) < 0) {
    return {};
  }
  FilterInOutPtr outputs{avfilter_inout_alloc()};
  FilterInOutPtr inputs{avfilter_inout_alloc()};
  outputs->name = av_strdup("in");
  outputs->filter_ctx = src;
  inputs->name = av_strdup("out");
  inputs->filter_ctx = sink;
  AVFilterInOut* in_raw = inputs.release();
  AVFilterInOut* out_raw = outputs.release();
  int err = avfilter_graph_parse_ptr(graph.get(),
                                     "scale=out_range=tv:out_color_matrix=bt709,format=yuv420p",
                                     &in_raw, &out_raw, nullptr);
  inputs.reset(in_raw);
  outputs.reset(out_raw);
  if (err < 0 || avfilter_graph_config(graph.get(), nullptr) < 0) return {};
  if (av_buffersrc_add_frame(src, in.get()) < 0) return {};
  FramePtr out = make_frame();
  if (av_buffersink_get_frame(sink, out.get()) < 0) return {};

  std::vector<Entry> table(kCodes * kIds);
  for (int id = 0; id < kIds; ++id) {
    for (int code = 0; code < kCodes; ++code) {
      const int cx = code * kCell + kCell / 2;
      const int cy = id * kCell + kCell / 2;
      table[static_cast<std::size_t>(id * kCodes + code)] = {
          out->data[0][cy * out->linesize[0] + cx],
          out->data[1][(cy / 2) * out->linesize[1] + cx / 2],
          out->data[2][(cy / 2) * out->linesize[2] + cx / 2]};
    }
  }
  return table;
}

int median(std::vector<int> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

bool is_bt601(const AVFrame* frame) {
  return frame->colorspace == AVCOL_SPC_SMPTE170M || frame->colorspace == AVCOL_SPC_BT470BG;
}

bool shows_converted_code(const AVFrame* f, int64_t frame_index, int source_id, std::string* got) {
  static const std::vector<Entry> table = build_converted_palette();
  if (table.empty() || f->format != AV_PIX_FMT_YUV420P) {
    if (got != nullptr) *got = "no converted palette / not yuv420p";
    return false;
  }
  // The centre 8x8 luma and 4x4 chroma samples.
  const int cx = (f->width / 2) & ~1;
  const int cy = (f->height / 2) & ~1;
  std::vector<int> ys;
  std::vector<int> us;
  std::vector<int> vs;
  for (int y = cy - 4; y < cy + 4; ++y) {
    for (int x = cx - 4; x < cx + 4; ++x) ys.push_back(f->data[0][y * f->linesize[0] + x]);
  }
  for (int y = cy / 2 - 2; y < cy / 2 + 2; ++y) {
    for (int x = cx / 2 - 2; x < cx / 2 + 2; ++x) {
      us.push_back(f->data[1][y * f->linesize[1] + x]);
      vs.push_back(f->data[2][y * f->linesize[2] + x]);
    }
  }
  const Entry c{median(ys), median(us), median(vs)};
  if (got != nullptr) {
    *got = "centre YUV (" + std::to_string(c.y) + ", " + std::to_string(c.u) + ", " +
           std::to_string(c.v) + ")";
  }
  auto entry = [&](int64_t index) {
    const int64_t code = ((index % kCodes) + kCodes) % kCodes;
    return table[static_cast<std::size_t>((source_id % kIds) * kCodes + code)];
  };
  auto dist = [](const Entry& a, const Entry& b) {
    return (a.y - b.y) * (a.y - b.y) + (a.u - b.u) * (a.u - b.u) + (a.v - b.v) * (a.v - b.v);
  };
  const Entry want = entry(frame_index);
  if (got != nullptr) {
    *got += ", want (" + std::to_string(want.y) + ", " + std::to_string(want.u) + ", " +
            std::to_string(want.v) + ")";
  }
  // Encoding noise on a flat block is a few levels at most.
  if (std::abs(c.y - want.y) > 4 || std::abs(c.u - want.u) > 6 || std::abs(c.v - want.v) > 6) {
    return false;
  }
  const int d = dist(c, want);
  for (int64_t n = frame_index - 3; n <= frame_index + 3; ++n) {
    if (n == frame_index) continue;
    const Entry other = entry(n);
    // Clipped to (nearly) the same colour: within encoding noise of each other, so a frame
    // cannot be told from its neighbour (unclipped neighbours are >= 36 apart: 6 luma levels).
    if (dist(other, want) < 25) continue;
    if (dist(c, other) <= d) return false;
  }
  return true;
}

}  // namespace leancut::testing
