// VideoNormalizer: turns decoded source pictures into output pictures. Rotates upright, scales
// by the fit mode (fit = letterbox/pillarbox, fill = crop to cover, stretch), converts to the
// output pixel format and colour tags, through one libavfilter graph that it rebuilds only when
// the input's shape changes (a new source, or a new fit).
//
//   VideoNormalizer n({.width = 1280, .height = 720, .frame_rate = Rational{30}});
//   Result<FramePtr> out = n.normalize(std::move(decoded), {FitMode::Fill, 90}, /*pts=*/412);
//
// Memory: the graph's buffers (its output pool, scaler tables); output pictures charged to
// VideoTarget.output_account. Thread-compatible
// (the engine's normalize thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "media/av_ptr.h"
#include "memory/ledger.h"
#include "time/rational.h"

namespace leancut::media {

enum class FitMode { Fit, Fill, Stretch };

struct VideoTarget {
  int width = 1280;
  int height = 720;
  Rational frame_rate{30};
  std::string background = "black";  // pad colour, as libavfilter's color syntax takes it
  int threads = 1;                   // filter graph threads
  // Charged for each output picture the graph allocated, for as long as it lives (media/charge.h);
  // a decoded picture passed through unchanged is already charged where it was decoded.
  memory::Account* output_account = nullptr;
};

// Text drawn over the output picture (drawtext), in output seconds (the frame's pts / fps).
struct TextDraw {
  std::string text;
  std::string font;    // fontconfig family
  int size = 0;        // pixels
  std::string colour;  // "0xRRGGBB"
  Rational x{1, 2};    // the text's centre, fractions of the frame
  Rational y{1, 2};
  std::string box;  // "0xRRGGBB" or empty
  double box_opacity = 0.5;
  Rational start;  // visible in [start, end)
  Rational end;
  Rational fade_in;
  Rational fade_out;
  friend bool operator==(const TextDraw&, const TextDraw&) = default;
};

struct Placement {
  FitMode fit = FitMode::Fit;
  int rotation = 0;  // clockwise degrees to turn the stored picture upright
  // Fill only: the point of the upright picture the crop is centred on, as fractions of its
  // width and height (1/2, 1/2 = the centre); the crop stays inside the picture.
  Rational focus_x{1, 2};
  Rational focus_y{1, 2};
  // Shared by every frame of a shot (a pointer copy per frame, not a vector); null: no text.
  std::shared_ptr<const std::vector<TextDraw>> texts{};
  friend bool operator==(const Placement& a, const Placement& b) {
    return a.fit == b.fit && a.rotation == b.rotation && a.focus_x == b.focus_x &&
           a.focus_y == b.focus_y &&
           (a.texts == b.texts || (a.texts && b.texts && *a.texts == *b.texts));
  }
};

// Where a source picture lands in the output: scaled size and offset (negative = cropped).
struct ScaledRect {
  int width = 0;
  int height = 0;
  int x = 0;
  int y = 0;
};
// Pure geometry, exposed for tests: display_w/h after rotation and pixel aspect. For Fill the
// overflow is cropped around (focus_x, focus_y), clamped so the crop stays inside the picture.
ScaledRect place_picture(Rational display_width, int display_height, int out_width, int out_height,
                         FitMode fit, Rational focus_x = Rational{1, 2},
                         Rational focus_y = Rational{1, 2});

class VideoNormalizer {
 public:
  explicit VideoNormalizer(VideoTarget target);

  // Takes the decoded frame (the callee owns it, even on failure) and returns the output frame
  // with pts = output_pts in 1/frame_rate units.
  Result<FramePtr> normalize(FramePtr frame, const Placement& placement, int64_t output_pts);

  int64_t graph_builds() const { return graph_builds_; }

 private:
  struct InputShape {
    int width = 0;
    int height = 0;
    int format = -1;
    AVRational sample_aspect{0, 1};
    int colorspace = 0;
    int color_range = 0;
    Placement placement;
    bool operator==(const InputShape& o) const;
  };
  // One drawtext filter in graph_ for `t` (not linked yet).
  Result<AVFilterContext*> make_drawtext(const TextDraw& t, size_t index);
  Status build_graph(const InputShape& shape);
  Status paint_bars(AVFrame* out) const;

  VideoTarget target_;
  FilterGraphPtr graph_;
  AVFilterContext* source_ = nullptr;  // owned by graph_
  AVFilterContext* sink_ = nullptr;    // owned by graph_
  InputShape shape_;
  // Bars the graph's pad adds for the current shape (the picture's rect inside the frame), and
  // the background in BT.709 limited-range YUV that they are painted with afterwards.
  bool has_bars_ = false;
  ScaledRect bars_rect_;
  uint8_t bar_yuv_[3] = {16, 128, 128};
  int64_t graph_builds_ = 0;
};

}  // namespace leancut::media
