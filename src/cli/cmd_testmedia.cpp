#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "media/testmedia.h"

namespace leancut::cli {

int run_testmedia(const std::filesystem::path& dir, const std::string& set) {
  if (set != "standard" && set != "bench") {
    std::fprintf(stderr, "leancut testmedia: unknown set '%s' (expected standard or bench)\n",
                 set.c_str());
    return kExitUsage;
  }
  if (dir.empty()) {
    std::fprintf(stderr, "leancut testmedia: no output directory given\n");
    return kExitUsage;
  }
  media::TestMediaOptions opt;
  opt.set = set;
  Result<std::vector<media::ClipInfo>> clips = media::generate_test_media(dir, opt);
  if (!clips) {
    std::fprintf(stderr, "leancut testmedia: %s\n", clips.error().message.c_str());
    return clips.error().code == ErrorCode::InvalidInput ? kExitUsage : kExitMedia;
  }
  for (const media::ClipInfo& c : *clips) {
    std::string audio = "no audio";
    if (c.has_audio) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "audio %d Hz x%d %.2f s %.0f Hz tone", c.audio_sample_rate,
                    c.audio_channels, c.audio_duration_s, c.audio_frequency_hz);
      audio = buf;
    }
    std::string extra;
    if (c.rotation_degrees != 0) extra += "  rotation " + std::to_string(c.rotation_degrees);
    if (c.start_time_s != 0) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "  starts at %.2f s", c.start_time_s);
      extra += buf;
    }
    std::printf("%-28s %4dx%-4d %s%.3f fps  %lld frames %.2f s  %s%s\n",
                (dir / c.file).string().c_str(), c.width, c.height, c.vfr ? "vfr ~" : "",
                static_cast<double>(c.fps.num) / c.fps.den, static_cast<long long>(c.frames),
                c.duration_s, audio.c_str(), extra.c_str());
  }
  return kExitOk;
}

}  // namespace leancut::cli
