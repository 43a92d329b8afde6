// `leancut probe FILE`: what the engine sees in a source, in editor time.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "media/probe.h"

namespace leancut::cli {

int run_probe(const std::filesystem::path& file, bool json) {
  Result<media::ProbeInfo> r = media::probe_file(file);
  if (!r) {
    std::fprintf(stderr, "leancut probe: %s\n", r.error().message.c_str());
    return r.error().code == ErrorCode::NotFound ? kExitMedia : kExitMedia;
  }
  const media::ProbeInfo& p = *r;
  const media::VideoInfo& v = *p.video;
  if (json) {
    nlohmann::json j = {{"path", p.path.string()},
                        {"format", p.format_name},
                        {"bytes", p.file_bytes},
                        {"video",
                         {{"codec", v.codec},
                          {"width", v.width},
                          {"height", v.height},
                          {"display_width", v.display_width},
                          {"display_height", v.display_height},
                          {"rotation", v.rotation},
                          {"sample_aspect", v.sample_aspect.to_string()},
                          {"frame_rate", v.frame_rate.to_string()},
                          {"pixel_format", v.pixel_format},
                          {"first_frame_time", v.first_frame_time.to_double()},
                          {"duration", v.duration.to_double()},
                          {"duration_exact", v.duration.to_string()}}}};
    if (p.audio) {
      j["audio"] = {{"codec", p.audio->codec},
                    {"sample_rate", p.audio->sample_rate},
                    {"channels", p.audio->channels},
                    {"start", p.audio->start.to_double()},
                    {"duration", p.audio->duration.to_double()}};
    } else {
      j["audio"] = nullptr;
    }
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%s (%s)\n", p.path.string().c_str(), p.format_name.c_str());
  std::printf("  video: %s %dx%d", v.codec.c_str(), v.width, v.height);
  if (v.rotation != 0 || v.display_width != v.width || v.display_height != v.height) {
    std::printf(" shown as %dx%d (rotation %d)", v.display_width, v.display_height, v.rotation);
  }
  std::printf(", %s fps, %s, %s (first frame at container time %s)\n",
              v.frame_rate.to_string().c_str(), v.pixel_format.c_str(),
              v.duration.to_seconds_string().c_str(),
              v.first_frame_time.to_seconds_string().c_str());
  if (p.audio) {
    std::printf("  audio: %s %d Hz, %d channel%s, from %s to %s\n", p.audio->codec.c_str(),
                p.audio->sample_rate, p.audio->channels, p.audio->channels == 1 ? "" : "s",
                p.audio->start.to_seconds_string().c_str(),
                p.audio->duration.to_seconds_string().c_str());
  } else {
    std::printf("  audio: none (renders as silence)\n");
  }
  return kExitOk;
}

}  // namespace leancut::cli
