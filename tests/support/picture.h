// Test helpers that measure a decoded YUV420P picture: where its content is (versus flat
// background bars), whether a region is a given flat colour, the size of the centred code block
// (media/testmedia.h), and a coarse grid of luma means for comparing geometry with a source.
//
// Free functions over a borrowed AVFrame; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "media/av_ptr.h"

namespace leancut::testing {

struct Yuv {
  int y, u, v;
};
inline constexpr Yuv kBlack{16, 128, 128};  // limited-range black, what "black" bars are

// Whether every pixel of [x0, x1) x [y0, y1) is within `tolerance` of `colour` in Y, U and V.
// Returns the number of pixels that are not (0 = all of them are).
int64_t pixels_unlike(const AVFrame* f, int x0, int x1, int y0, int y1, Yuv colour,
                      int tolerance = 8);

// Half-open span of columns (or rows) that hold anything other than `background`: the first and
// one past the last column where some pixel differs from it by more than `tolerance`.
struct Span {
  int begin = 0;
  int end = 0;
  int size() const { return end - begin; }
};
Span content_columns(const AVFrame* f, Yuv background = kBlack, int tolerance = 12);
Span content_rows(const AVFrame* f, Yuv background = kBlack, int tolerance = 12);

// The flat code block around the picture's centre: how far its colour extends horizontally and
// vertically (luma within 6, chroma within 12 of the centre's).
struct BlockSize {
  int width = 0;
  int height = 0;
};
BlockSize code_block_size(const AVFrame* f);

// Mean luma of each of cols x rows cells over [x0, x1) x [y0, y1), row-major.
std::vector<double> luma_grid(const AVFrame* f, int x0, int x1, int y0, int y1, int cols, int rows);

// The grid of a picture turned 90 degrees clockwise, given the grid of the picture as stored
// (cols x rows); the result has rows x cols cells (width rows, height cols). And anticlockwise.
std::vector<double> grid_rotated_clockwise(const std::vector<double>& g, int cols, int rows);
std::vector<double> grid_rotated_anticlockwise(const std::vector<double>& g, int cols, int rows);

double mean_abs_difference(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace leancut::testing
