// Progress output for `render`: a one-line bar on a terminal (shot k/N, frames, fps, ETA, RSS),
// or one JSON object per line for machines. Engine thread-agnostic: the CLI's main thread polls
// RenderJob::progress() and calls update(). Thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "engine/render_job.h"

namespace leancut::cli {

class ProgressPrinter {
 public:
  // Auto resolves to Bar when stderr is a terminal, else None.
  explicit ProgressPrinter(ProgressMode mode);
  ProgressMode mode() const { return mode_; }

  void update(const engine::RenderProgress& p, int64_t rss_bytes);
  // Ends the bar's line.
  void finish();

 private:
  ProgressMode mode_;
  bool tty_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_line_;
  int last_width_ = 0;
};

std::string format_duration(double seconds);  // "1:05", "1:02:03"

}  // namespace leancut::cli
