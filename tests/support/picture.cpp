#include "support/picture.h"

#include <cmath>
#include <cstdlib>

namespace leancut::testing {
namespace {

int y_at(const AVFrame* f, int x, int y) {
  return f->data[0][y * f->linesize[0] + x];
}
int u_at(const AVFrame* f, int x, int y) {
  return f->data[1][(y / 2) * f->linesize[1] + x / 2];
}
int v_at(const AVFrame* f, int x, int y) {
  return f->data[2][(y / 2) * f->linesize[2] + x / 2];
}

bool like(const AVFrame* f, int x, int y, Yuv c, int tolerance) {
  return std::abs(y_at(f, x, y) - c.y) <= tolerance && std::abs(u_at(f, x, y) - c.u) <= tolerance &&
         std::abs(v_at(f, x, y) - c.v) <= tolerance;
}

}  // namespace

int64_t pixels_unlike(const AVFrame* f, int x0, int x1, int y0, int y1, Yuv colour, int tolerance) {
  int64_t bad = 0;
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      if (!like(f, x, y, colour, tolerance)) ++bad;
    }
  }
  return bad;
}

Span content_columns(const AVFrame* f, Yuv background, int tolerance) {
  Span s{f->width, 0};
  for (int x = 0; x < f->width; ++x) {
    for (int y = 0; y < f->height; ++y) {
      if (!like(f, x, y, background, tolerance)) {
        if (x < s.begin) s.begin = x;
        s.end = x + 1;
        break;
      }
    }
  }
  if (s.end == 0) s.begin = 0;
  return s;
}

Span content_rows(const AVFrame* f, Yuv background, int tolerance) {
  Span s{f->height, 0};
  for (int y = 0; y < f->height; ++y) {
    for (int x = 0; x < f->width; ++x) {
      if (!like(f, x, y, background, tolerance)) {
        if (y < s.begin) s.begin = y;
        s.end = y + 1;
        break;
      }
    }
  }
  if (s.end == 0) s.begin = 0;
  return s;
}

BlockSize code_block_size(const AVFrame* f) {
  const int cx = f->width / 2;
  const int cy = f->height / 2;
  const int y0 = y_at(f, cx, cy);
  const int u0 = u_at(f, cx, cy);
  const int v0 = v_at(f, cx, cy);
  auto same = [&](int x, int y) {
    return std::abs(y_at(f, x, y) - y0) <= 6 && std::abs(u_at(f, x, y) - u0) <= 12 &&
           std::abs(v_at(f, x, y) - v0) <= 12;
  };
  int left = cx;
  while (left > 0 && same(left - 1, cy)) --left;
  int right = cx;
  while (right + 1 < f->width && same(right + 1, cy)) ++right;
  int top = cy;
  while (top > 0 && same(cx, top - 1)) --top;
  int bottom = cy;
  while (bottom + 1 < f->height && same(cx, bottom + 1)) ++bottom;
  return BlockSize{right - left + 1, bottom - top + 1};
}

std::vector<double> luma_grid(const AVFrame* f, int x0, int x1, int y0, int y1, int cols,
                              int rows) {
  std::vector<double> g(static_cast<std::size_t>(cols * rows), 0.0);
  for (int r = 0; r < rows; ++r) {
    const int ya = y0 + (y1 - y0) * r / rows;
    const int yb = y0 + (y1 - y0) * (r + 1) / rows;
    for (int c = 0; c < cols; ++c) {
      const int xa = x0 + (x1 - x0) * c / cols;
      const int xb = x0 + (x1 - x0) * (c + 1) / cols;
      double sum = 0;
      int64_t n = 0;
      for (int y = ya; y < yb; ++y) {
        for (int x = xa; x < xb; ++x) {
          sum += y_at(f, x, y);
          ++n;
        }
      }
      g[static_cast<std::size_t>(r * cols + c)] = n > 0 ? sum / static_cast<double>(n) : 0;
    }
  }
  return g;
}

std::vector<double> grid_rotated_clockwise(const std::vector<double>& g, int cols, int rows) {
  // Turned clockwise, the stored picture's left column becomes the top row, read bottom-up.
  const int new_cols = rows;
  const int new_rows = cols;
  std::vector<double> out(g.size());
  for (int r = 0; r < new_rows; ++r) {
    for (int c = 0; c < new_cols; ++c) {
      out[static_cast<std::size_t>(r * new_cols + c)] =
          g[static_cast<std::size_t>((rows - 1 - c) * cols + r)];
    }
  }
  return out;
}

std::vector<double> grid_rotated_anticlockwise(const std::vector<double>& g, int cols, int rows) {
  const int new_cols = rows;
  const int new_rows = cols;
  std::vector<double> out(g.size());
  for (int r = 0; r < new_rows; ++r) {
    for (int c = 0; c < new_cols; ++c) {
      out[static_cast<std::size_t>(r * new_cols + c)] =
          g[static_cast<std::size_t>(c * cols + (cols - 1 - r))];
    }
  }
  return out;
}

double mean_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.empty()) return 1e9;
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(a[i] - b[i]);
  return sum / static_cast<double>(a.size());
}

}  // namespace leancut::testing
