#include "cli/progress.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "memory/rss.h"

namespace leancut::cli {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

ProgressPrinter::ProgressPrinter(ProgressMode mode)
    : mode_(mode), tty_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {
  if (mode_ == ProgressMode::Auto) mode_ = tty_ ? ProgressMode::Bar : ProgressMode::None;
}

void ProgressPrinter::update(const engine::RenderProgress& p, int64_t rss_bytes) {
  if (mode_ == ProgressMode::None) return;
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double fps = elapsed > 0 ? static_cast<double>(p.frames_done) / elapsed : 0;
  double eta = fps > 0 ? static_cast<double>(p.frames_total - p.frames_done) / fps : -1;

  if (mode_ == ProgressMode::Json) {
    nlohmann::json j = {{"event", "progress"},
                        {"shot", p.shot + 1},
                        {"shots", p.shots_total},
                        {"frames", p.frames_done},
                        {"frames_total", p.frames_total},
                        {"fps", fps},
                        {"eta_seconds", eta},
                        {"elapsed_seconds", elapsed},
                        {"rss_bytes", rss_bytes},
                        {"bytes_written", p.bytes_written}};
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
    return;
  }
  // Not a terminal but asked for: a plain line per second instead of redrawing.
  if (!tty_ && now - last_line_ < std::chrono::seconds(1)) return;
  last_line_ = now;
  double fraction = p.frames_total > 0
                        ? static_cast<double>(p.frames_done) / static_cast<double>(p.frames_total)
                        : 0;
  constexpr int kBarWidth = 24;
  int filled = static_cast<int>(fraction * kBarWidth);
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < kBarWidth) bar += '>';
  bar.resize(kBarWidth, ' ');
  char line[256];
  int width = std::snprintf(
      line, sizeof line, "[%s] %3.0f%%  shot %lld/%lld  frame %lld/%lld  %.0f fps  ETA %s  RSS %s",
      bar.c_str(), fraction * 100, static_cast<long long>(p.shot + 1),
      static_cast<long long>(p.shots_total), static_cast<long long>(p.frames_done),
      static_cast<long long>(p.frames_total), fps, format_duration(eta).c_str(),
      memory::format_bytes(rss_bytes).c_str());
  if (tty_) {
    int pad = last_width_ > width ? last_width_ - width : 0;
    std::fprintf(stderr, "\r%s%*s", line, pad, "");
    last_width_ = width;
  } else {
    std::fprintf(stderr, "%s\n", line);
  }
  std::fflush(stderr);
}

void ProgressPrinter::finish() {
  if (mode_ == ProgressMode::Bar && tty_) std::fprintf(stderr, "\n");
}

}  // namespace leancut::cli
