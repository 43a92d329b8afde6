// leancut: command-line entry. Parses arguments and dispatches to a subcommand (commands.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

extern "C" {
#include <libavutil/log.h>
}

#include "cli/commands.h"
#include "memory/allocator.h"
#include "memory/rss.h"

namespace {

leancut::cli::ProgressMode progress_mode(bool bar, bool json, bool quiet) {
  using leancut::cli::ProgressMode;
  if (json) return ProgressMode::Json;
  if (bar) return ProgressMode::Bar;
  if (quiet) return ProgressMode::None;
  return ProgressMode::Auto;
}

// The .otio/.edl options of render and plan (docs/interchange.md, "Rendering").
void add_interchange_render_options(CLI::App* cmd, leancut::cli::InterchangeRenderArgs& a) {
  cmd->add_option("--remap", a.source.remaps,
                  "OLD_PREFIX=NEW_PREFIX: rewrite media paths (.otio/.edl; repeatable)");
  cmd->add_option("--media-root", a.source.media_roots,
                  "Find missing media by file name under DIR (.otio/.edl; repeatable)");
  cmd->add_option("--missing", a.source.missing,
                  "error (default): list every missing file; slate: a grey slate stands in");
  cmd->add_option("--fps", a.source.fps,
                  "Output rate (default: the timeline's; an EDL's rate, default 24; 29.97 = "
                  "30000/1001)");
  cmd->add_option("--reel-map", a.source.reel_map,
                  "EDL reel -> file map: one \"REEL = PATH\" a line");
  cmd->add_option("--size", a.size, "Output size WxH (default 1920x1080)");
  cmd->add_option("--output-settings", a.output_settings,
                  "JSON file: the blueprint's \"output\" object (codecs, size, fps, ...)");
  cmd->add_option("--video-track", a.video_track,
                  "Render this video track (1 = bottom) when several have clips")
      ->check(CLI::Range(1, 1000));
  cmd->add_option(
      "--transitions", a.transitions,
      "render (default): dissolves render as dissolves; cut: each becomes a cut at its centre; "
      "refuse: each is an error");
}

// --remote and the asset cache's options (render, validate, plan), as typed.
struct RemoteCli {
  bool enabled = false;
  std::filesystem::path cache_dir{};
  std::string max_size = "20G";
  std::string max_age = "30d";
  int downloads = leancut::fetch::kDefaultDownloadWorkers;
};

void add_remote_options(CLI::App* cmd, RemoteCli& r) {
  cmd->add_flag("--remote", r.enabled,
                "Download http(s) sources into the asset cache, then render the cached files");
  cmd->add_option("--asset-cache", r.cache_dir,
                  "The asset cache's folder (default $XDG_CACHE_HOME/leancut/assets, else "
                  "~/.cache/leancut/assets)");
  cmd->add_option("--asset-cache-size", r.max_size,
                  "The asset cache's size limit, binary units (default 20G); least recently used "
                  "entries go first");
  cmd->add_option("--asset-cache-max-age", r.max_age,
                  "Entries downloaded longer ago are fetched again (default 30d; s, m, h, d, w)");
  cmd->add_option("--downloads", r.downloads, "Parallel downloads at most (default 4)")
      ->check(CLI::Range(1, 64));
}

// The typed options, or exit 2 naming the bad one.
leancut::fetch::RemoteOptions remote_options_or_exit(CLI::App* cmd, const RemoteCli& r) {
  if (!r.enabled) {
    for (const char* option :
         {"--asset-cache", "--asset-cache-size", "--asset-cache-max-age", "--downloads"}) {
      if (cmd->count(option) > 0) {
        std::fprintf(stderr, "leancut: %s applies with --remote only\n", option);
        std::exit(leancut::cli::kExitUsage);
      }
    }
  }
  leancut::fetch::RemoteOptions o;
  o.enabled = r.enabled;
  o.cache.dir = r.cache_dir;
  const auto size = leancut::memory::parse_size(r.max_size);
  if (!size) {
    std::fprintf(stderr, "leancut: --asset-cache-size: '%s' is not a size (e.g. 500M, 20G)\n",
                 r.max_size.c_str());
    std::exit(leancut::cli::kExitUsage);
  }
  o.cache.max_bytes = *size;
  const auto age = leancut::fetch::parse_duration_seconds(r.max_age);
  if (!age) {
    std::fprintf(stderr, "leancut: --asset-cache-max-age: '%s' is not a duration (e.g. 12h, 30d)\n",
                 r.max_age.c_str());
    std::exit(leancut::cli::kExitUsage);
  }
  o.cache.max_age_seconds = *age;
  o.workers = r.downloads;
  return o;
}

constexpr const char* kInterchangeRenderOptions[] = {
    "--remap", "--media-root",      "--missing",     "--fps",        "--reel-map",
    "--size",  "--output-settings", "--video-track", "--transitions"};

// Lowers an .otio/.edl into `prebuilt`; refuses the cut options with a blueprint. -1: go on.
int prepare_or_refuse(CLI::App* cmd, const std::filesystem::path& file,
                      leancut::cli::InterchangeRenderArgs& a,
                      std::optional<leancut::blueprint::Blueprint>& prebuilt,
                      std::vector<std::string>& origins) {
  using namespace leancut::cli;
  if (!is_interchange_file(file)) {
    for (const char* option : kInterchangeRenderOptions) {
      if (cmd->count(option) > 0) {
        std::fprintf(stderr, "leancut: %s applies to .otio and .edl files only\n", option);
        return kExitUsage;
      }
    }
    return -1;
  }
  a.source.file = file;
  PreparedCut cut;
  if (int code = prepare_interchange_render(a, &cut); code != kExitOk) return code;
  prebuilt = std::move(cut.blueprint);
  origins = std::move(cut.shot_origins);
  return -1;
}

int64_t parse_memory_or_exit(const std::string& text, const char* option = "--memory") {
  if (text.empty()) return 0;
  auto bytes = leancut::memory::parse_size(text);
  if (!bytes) {
    std::fprintf(stderr, "leancut: %s: '%s' is not a size (e.g. 256M, 1G)\n", option, text.c_str());
    std::exit(leancut::cli::kExitUsage);
  }
  return *bytes;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace leancut::cli;
  // libav's own messages go to stderr only when they matter; ours name the file and shot.
  av_log_set_level(AV_LOG_ERROR);
  leancut::memory::configure_allocator();

  CLI::App app{"leancut: assemble thousands of shots into one video inside a memory budget"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "leancut 0.1.0");

  RenderArgs render;
  std::string render_memory = "256M";
  bool bar = false;
  bool json_progress = false;
  bool quiet = false;
  CLI::App* cmd_render = app.add_subcommand("render", "Render a blueprint to a video file");
  cmd_render
      ->add_option("blueprint", render.blueprint, "Blueprint JSON file, or an .otio or .edl cut")
      ->required();
  cmd_render->add_option("-o,--output", render.output, "Output file (.mp4, .mov, .mkv, .ts)")
      ->required();
  cmd_render->add_option("--memory", render_memory,
                         "Peak RSS budget for the whole process, binary units (default 256M)");
  cmd_render->add_option("--threads", render.threads, "Codec threads (default: CPU count)")
      ->check(CLI::Range(0, 64));
  cmd_render
      ->add_option("--decoder-threads", render.decoder_threads,
                   "Threads per video decoder (default 1)")
      ->check(CLI::Range(0, 16));
  cmd_render
      ->add_option("--encoder-threads", render.encoder_threads, "x264 threads (default: --threads)")
      ->check(CLI::Range(0, 64));
  cmd_render->add_flag("!--no-ledger,!--no-frame-pool", render.ledger,
                       "Run without the ledger: libav's own buffers, nothing charged (to measure "
                       "what accounting costs; benchmarks)");
  cmd_render->add_option("--report", render.report,
                         "Write stage-by-stage memory figures as JSON (docs/report.md)");
  cmd_render->add_option("--simulate-pressure", render.simulate_pressure,
                         "Hold memory pressure at SPEC (\"0.97\" or \"ledger=0.97,psi=30\") "
                         "instead of measuring it; for stress tests");
  cmd_render->add_flag("--progress", bar, "Show a progress bar even when not on a terminal");
  cmd_render->add_flag("--json-progress", json_progress,
                       "Print one JSON object per line (progress, then a summary)");
  cmd_render->add_flag("-q,--quiet", quiet, "No progress bar");
  InterchangeRenderArgs render_cut;
  add_interchange_render_options(cmd_render, render_cut);
  RemoteCli render_remote;
  add_remote_options(cmd_render, render_remote);

  std::filesystem::path validate_path;
  bool validate_json = false;
  CLI::App* cmd_validate =
      app.add_subcommand("validate", "Check a blueprint and its media; list every problem");
  cmd_validate
      ->add_option("blueprint", validate_path,
                   "Blueprint JSON file, or an OpenTimelineIO (.otio) or CMX3600 (.edl) cut")
      ->required();
  cmd_validate->add_flag("--json", validate_json, "Print the result as JSON");
  InterchangeArgs interchange;
  cmd_validate->add_option("--remap", interchange.remaps,
                           "OLD_PREFIX=NEW_PREFIX: rewrite media paths (.otio/.edl; repeatable)");
  cmd_validate->add_option("--media-root", interchange.media_roots,
                           "Find missing media by file name under DIR (.otio/.edl; repeatable)");
  cmd_validate->add_option("--missing", interchange.missing,
                           "error (default): list every missing file; slate: a slate stands in");
  cmd_validate->add_option("--fps", interchange.fps,
                           "The EDL's rate (default 24; 29.97 = 30000/1001), or the rate to count "
                           "an .otio's frames at");
  cmd_validate->add_option("--reel-map", interchange.reel_map,
                           "EDL reel -> file map: one \"REEL = PATH\" a line");
  RemoteCli validate_remote;
  add_remote_options(cmd_validate, validate_remote);

  PlanArgs plan;
  std::string plan_memory = "256M";
  CLI::App* cmd_plan = app.add_subcommand(
      "plan", "Estimate a render's peak memory and the settings that fit a budget");
  cmd_plan->add_option("blueprint", plan.blueprint, "Blueprint JSON file, or an .otio or .edl cut")
      ->required();
  cmd_plan->add_option("--memory", plan_memory, "Peak RSS budget, binary units (default 256M)");
  cmd_plan
      ->add_option("--threads", plan.threads,
                   "CPU threads to plan for (default: the CPUs "
                   "the cgroup allows)")
      ->check(CLI::Range(0, 64));
  cmd_plan->add_flag("--json", plan.json, "Print one JSON object");
  InterchangeRenderArgs plan_cut;
  add_interchange_render_options(cmd_plan, plan_cut);
  RemoteCli plan_remote;
  add_remote_options(cmd_plan, plan_remote);

  std::filesystem::path probe_path;
  bool probe_json = false;
  CLI::App* cmd_probe = app.add_subcommand("probe", "Show what leancut sees in a media file");
  cmd_probe->add_option("file", probe_path, "Media file")->required();
  cmd_probe->add_flag("--json", probe_json, "Print as JSON");

  std::filesystem::path media_dir;
  std::string media_set = "standard";
  CLI::App* cmd_testmedia =
      app.add_subcommand("testmedia", "Generate the deterministic test media into DIR");
  cmd_testmedia->add_option("dir", media_dir, "Folder to write clips into")->required();
  cmd_testmedia->add_option("--set", media_set, "standard (tests, demo) or bench")
      ->check(CLI::IsMember({"standard", "bench"}));

  DemoArgs demo;
  std::string demo_memory = "256M";
  CLI::App* cmd_demo =
      app.add_subcommand("demo", "Make media and a 1,000-shot blueprint, render it under 256M");
  cmd_demo->add_option("dir", demo.dir, "Folder for media, blueprint and output (demo-out)");
  cmd_demo->add_option("--shots", demo.shots, "Number of shots")->check(CLI::Range(1, 100000));
  cmd_demo->add_option("--memory", demo_memory, "Peak RSS budget (default 256M)");
  cmd_demo->add_flag("--progress", bar, "Show a progress bar even when not on a terminal");
  cmd_demo->add_flag("--json-progress", json_progress, "JSON lines progress");

  FramesArgs frames;
  CLI::App* cmd_frames = app.add_subcommand(
      "frames", "Write every Nth frame of a video as JPEG or PNG images, streaming");
  cmd_frames->add_option("input", frames.input, "Video file")->required();
  cmd_frames
      ->add_option("-o,--output", frames.output_dir, "Folder for the images (made if missing)")
      ->required();
  // No range check here: run_frames refuses --every < 1 with a message that says why.
  cmd_frames->add_option("--every", frames.every, "Keep every Nth frame (1 = all)")->required();
  cmd_frames->add_option("--format", frames.format, "jpg (default) or png");
  cmd_frames->add_option("--quality", frames.quality, "JPEG quality 1..100 (default 85)");
  cmd_frames->add_option("--start", frames.start, "From this time, seconds (default 0)");
  cmd_frames->add_option("--end", frames.end, "Up to (not including) this time, seconds");
  cmd_frames->add_flag("--json", frames.json,
                       "One JSON line per image (index, file, source frame, time), then a summary");

  ReframeArgs reframe;
  std::string reframe_memory = "256M";
  CLI::App* cmd_reframe = app.add_subcommand(
      "reframe", "Crop a video to another aspect (e.g. 9:16 for short-form platforms)");
  cmd_reframe->add_option("input", reframe.input, "Video file")->required();
  cmd_reframe->add_option("-o,--output", reframe.render.output, "Output file (.mp4, .mov, ...)")
      ->required();
  cmd_reframe->add_option("--aspect", reframe.aspect, "Output aspect W:H, e.g. 9:16")->required();
  cmd_reframe->add_option("--size", reframe.size,
                          "Output size WxH (default: the largest of that aspect in the source)");
  cmd_reframe->add_option("--focus", reframe.focus,
                          "What the crop keeps in view: center (default) or x,y fractions 0..1");
  cmd_reframe->add_option("--memory", reframe_memory,
                          "Peak RSS budget for the whole process, binary units (default 256M)");
  cmd_reframe->add_option("--threads", reframe.render.threads, "Codec threads (default: CPUs)")
      ->check(CLI::Range(0, 64));
  cmd_reframe->add_option("--report", reframe.render.report,
                          "Write stage-by-stage memory figures as JSON (docs/report.md)");
  // As render's: the job server passes its children the same options whatever their kind.
  cmd_reframe->add_option("--simulate-pressure", reframe.render.simulate_pressure,
                          "Hold memory pressure at SPEC, as render does; for stress tests");
  cmd_reframe->add_flag("--progress", bar, "Show a progress bar even when not on a terminal");
  cmd_reframe->add_flag("--json-progress", json_progress,
                        "Print one JSON object per line (progress, then a summary)");
  cmd_reframe->add_flag("-q,--quiet", quiet, "No progress bar");

  ServeArgs serve;
  std::string serve_memory;
  CLI::App* cmd_serve = app.add_subcommand(
      "serve", "Run the job server: HTTP API, admission by memory, one process per job");
  cmd_serve->add_option("--listen", serve.listen,
                        "HOST:PORT to listen on (default 127.0.0.1:8787)");
  cmd_serve->add_option("--data-dir", serve.data_dir,
                        "Job database and outputs (default $XDG_STATE_HOME/leancut)");
  cmd_serve->add_option("--media-root", serve.media_roots,
                        "Folder sources must lie in (repeatable; default: the current folder)");
  cmd_serve->add_option("--memory", serve_memory,
                        "What running jobs may reserve together (default: cgroup or MemTotal)");
  cmd_serve
      ->add_option("--max-running", serve.max_running, "Jobs running at once (default: CPUs/2)")
      ->check(CLI::Range(0, 1024));
  cmd_serve->add_option("--max-queued", serve.max_queued, "Jobs waiting at most (default 100)")
      ->check(CLI::Range(1, 1000000));
  cmd_serve->add_option("--token-file", serve.token_file,
                        "File holding a bearer token every endpoint but /health requires");
  cmd_serve
      ->add_option("--stuck-seconds", serve.stuck_seconds,
                   "Kill a job whose frames do not advance for this long (default 120)")
      ->check(CLI::Range(1, 86400));
  cmd_serve
      ->add_option("--kill-grace-seconds", serve.kill_grace_seconds,
                   "SIGTERM to SIGKILL on cancel, stuck and shutdown (default 5)")
      ->check(CLI::Range(0, 600));
  cmd_serve
      ->add_option("--output-ttl-seconds", serve.output_ttl_seconds,
                   "Remove finished jobs and outputs after this long; 0 keeps them "
                   "(default 86400)")
      ->check(CLI::Range(0, 100000000));

  cmd_serve
      ->add_option("--job-timeout-seconds", serve.job_timeout_seconds,
                   "Kill a job running longer than this (default 0: no limit)")
      ->check(CLI::Range(int64_t{0}, int64_t{100000000}));
  cmd_serve->add_flag(
      "--drain", serve.drain,
      "On SIGINT/SIGTERM, let running jobs finish (default: stop and re-queue them)");
  std::string serve_max_body = "8M";
  cmd_serve->add_option("--max-body", serve_max_body,
                        "Largest request body, binary units (default 8M); larger: 413");
  cmd_serve->add_option("--max-shots", serve.max_shots, "Shots per job at most (default 10000)")
      ->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  cmd_serve
      ->add_option("--max-duration-seconds", serve.max_duration_seconds,
                   "Output length per job at most (default 14400)")
      ->check(CLI::Range(1.0, 1e9));
  std::string serve_max_output = "20G";
  cmd_serve->add_option("--max-output-bytes", serve_max_output,
                        "Largest output file per job, binary units (default 20G; 0: none); a "
                        "render that grows past it is stopped and failed");
  cmd_serve
      ->add_option("--max-pending", serve.max_pending,
                   "Accepted connections waiting for a request thread at most (default 1024)")
      ->check(CLI::Range(1, 100000));
  cmd_serve->add_option("--simulate-pressure", serve.simulate_pressure,
                        "Hold the server's memory pressure at SPEC (\"working_set=0.97\" or "
                        "\"psi=50\") instead of measuring it; for tests");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (*cmd_render) {
      render.memory_bytes = parse_memory_or_exit(render_memory);
      render.progress = progress_mode(bar, json_progress, quiet);
      render.remote = remote_options_or_exit(cmd_render, render_remote);
      if (int code = prepare_or_refuse(cmd_render, render.blueprint, render_cut, render.prebuilt,
                                       render.shot_origins);
          code >= 0) {
        return code;
      }
      return run_render(render);
    }
    if (*cmd_plan) {
      plan.memory_bytes = parse_memory_or_exit(plan_memory);
      plan.remote = remote_options_or_exit(cmd_plan, plan_remote);
      if (int code = prepare_or_refuse(cmd_plan, plan.blueprint, plan_cut, plan.prebuilt,
                                       plan.shot_origins);
          code >= 0) {
        return code;
      }
      return run_plan(plan);
    }
    if (*cmd_serve) {
      serve.memory_bytes = parse_memory_or_exit(serve_memory);
      serve.max_body_bytes = parse_memory_or_exit(serve_max_body, "--max-body");
      serve.max_output_bytes = parse_memory_or_exit(serve_max_output, "--max-output-bytes");
      return run_serve(serve);
    }
    if (*cmd_validate) {
      if (is_interchange_file(validate_path)) {
        interchange.file = validate_path;
        interchange.json = validate_json;
        return run_validate_interchange(interchange);
      }
      for (const char* option : {"--remap", "--media-root", "--missing", "--fps", "--reel-map"}) {
        if (cmd_validate->count(option) > 0) {
          std::fprintf(stderr, "leancut: %s applies to .otio and .edl files only\n", option);
          return kExitUsage;
        }
      }
      return run_validate(validate_path, validate_json,
                          remote_options_or_exit(cmd_validate, validate_remote));
    }
    if (*cmd_frames) return run_frames(frames);
    if (*cmd_reframe) {
      reframe.render.memory_bytes = parse_memory_or_exit(reframe_memory);
      reframe.render.progress = progress_mode(bar, json_progress, quiet);
      return run_reframe(reframe);
    }
    if (*cmd_probe) return run_probe(probe_path, probe_json);
    if (*cmd_testmedia) return run_testmedia(media_dir, media_set);
    if (*cmd_demo) {
      demo.memory_bytes = parse_memory_or_exit(demo_memory);
      demo.progress = progress_mode(bar, json_progress, false);
      return run_demo(demo);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "leancut: internal error: %s\n", e.what());
    return kExitInternal;
  }
  return kExitUsage;
}
