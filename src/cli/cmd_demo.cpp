// `leancut demo`: the quick start's first command. Makes the standard test media, writes a
// seeded 1,000-shot blueprint that cuts all of it (every kind of source: 1080p, 360p, portrait,
// rotated, no audio, short audio, NTSC, VFR, MPEG-TS), and renders it under a 256 MiB budget.
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <random>

#include "blueprint/blueprint.h"
#include "blueprint/parse.h"
#include "cli/commands.h"
#include "media/testmedia.h"
#include "memory/rss.h"

extern char** environ;

namespace leancut::cli {
namespace {

// The demo's output: small enough that 1,000 shots render in about two minutes on 2 cores.
constexpr int kDemoWidth = 640;
constexpr int kDemoHeight = 360;
constexpr int kDemoFps = 30;
constexpr uint32_t kDemoSeed = 20261125;

blueprint::Blueprint make_demo_blueprint(const std::vector<media::ClipInfo>& clips,
                                         const std::filesystem::path& media_dir, int shots) {
  blueprint::Blueprint bp;
  bp.output.width = kDemoWidth;
  bp.output.height = kDemoHeight;
  bp.output.fps = Rational{kDemoFps};
  bp.base_dir = media_dir.parent_path();
  std::mt19937 rng(kDemoSeed);
  for (int i = 0; i < shots; ++i) {
    const media::ClipInfo& clip = clips[rng() % clips.size()];
    // Shots of 0.2..0.7 s, in hundredths, starting anywhere that leaves room: about 13,500
    // output frames, two minutes on 2 cores.
    int64_t length = 20 + static_cast<int64_t>(rng() % 51);
    int64_t room = static_cast<int64_t>(clip.duration_s * 100) - length - 1;
    int64_t in = room > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(room)) : 0;
    blueprint::Shot shot;
    shot.source_text = "media/" + clip.file;
    shot.source = media_dir / clip.file;
    shot.in = Rational{in, 100};
    shot.out = Rational{in + length, 100};
    auto style = rng() % 10;
    shot.fit = style < 7 ? blueprint::Fit::Fit
                         : (style < 9 ? blueprint::Fit::Fill : blueprint::Fit::Stretch);
    shot.audio = rng() % 8 != 0;
    bp.shots.push_back(shot);
  }
  return bp;
}

}  // namespace

int run_demo(const DemoArgs& args) {
  std::error_code ec;
  std::filesystem::create_directories(args.dir, ec);
  const std::filesystem::path dir = std::filesystem::absolute(args.dir, ec);
  const std::filesystem::path media_dir = dir / "media";
  std::printf("leancut demo: making test media in %s ...\n", media_dir.string().c_str());
  std::fflush(stdout);
  Result<std::vector<media::ClipInfo>> clips = media::generate_test_media(media_dir, {});
  if (!clips) {
    std::fprintf(stderr, "leancut demo: %s\n", clips.error().message.c_str());
    return kExitMedia;
  }
  blueprint::Blueprint bp = make_demo_blueprint(*clips, media_dir, args.shots);
  const std::filesystem::path blueprint_file = dir / "demo.json";
  {
    std::ofstream out(blueprint_file);
    out << blueprint::to_json(bp);
    if (!out) {
      std::fprintf(stderr, "leancut demo: cannot write %s\n", blueprint_file.string().c_str());
      return kExitOutput;
    }
  }
  std::printf("leancut demo: wrote a %d-shot blueprint to %s\n", args.shots,
              blueprint_file.string().c_str());
  std::printf("leancut demo: rendering %dx%d@%d under a %s budget ...\n", kDemoWidth, kDemoHeight,
              kDemoFps, memory::format_bytes(args.memory_bytes).c_str());
  std::fflush(stdout);
  // The render runs in a process of its own, so its peak RSS is the render's alone and not the
  // media generator's (x264 at 1080p) that ran in this one.
  const std::filesystem::path output = dir / "demo.mp4";
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  const std::string memory = std::to_string(args.memory_bytes);
  std::vector<std::string> argv_strings = {
      "leancut", "render", blueprint_file.string(), "-o", output.string(), "--memory", memory};
  if (args.progress == ProgressMode::Json) {
    argv_strings.emplace_back("--json-progress");
  } else if (args.progress != ProgressMode::None) {
    argv_strings.emplace_back("--progress");
  }
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (exe.empty() || posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "leancut demo: cannot start %s render\n", exe.c_str());
    return kExitInternal;
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : kExitInternal;
  if (code == kExitOk) {
    std::printf("leancut demo: output is %s\n", output.string().c_str());
  }
  return code;
}

}  // namespace leancut::cli
