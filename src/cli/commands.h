// The CLI's subcommands. main parses arguments (CLI11) and calls one; each runs, prints, and
// returns the process exit code (docs/cli.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/timeline.h"
#include "fetch/remote_sources.h"
#include "memory/stages.h"

namespace leancut::cli {

// Exit codes, documented in docs/cli.md; scripts depend on them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;     // a bug or an unexpected failure
inline constexpr int kExitUsage = 2;        // bad command-line arguments
inline constexpr int kExitInvalid = 3;      // the blueprint is invalid (all problems listed)
inline constexpr int kExitMedia = 4;        // a source could not be read or decoded mid-render
inline constexpr int kExitOutput = 5;       // the output could not be written
inline constexpr int kExitOverBudget = 6;   // the job does not fit its memory budget
inline constexpr int kExitCancelled = 130;  // interrupted (SIGINT/SIGTERM)

enum class ProgressMode { Auto, Bar, Json, None };

struct RenderArgs {
  std::filesystem::path blueprint;  // the file; with blueprint_text, only its name in messages
  // When set, the blueprint itself (JSON; relative sources resolve against the current folder)
  // instead of reading `blueprint`: commands that build one (reframe) render through here.
  std::string blueprint_text;
  std::filesystem::path output;
  int64_t memory_bytes = 0;  // 0 = no budget given
  int threads = 0;
  int decoder_threads = 0;
  int encoder_threads = 0;
  bool ledger = true;  // --no-ledger: libav's allocators, nothing charged (accounting's cost)
  std::filesystem::path report;   // --report FILE.json: stage-by-stage memory (docs/report.md)
  std::string simulate_pressure;  // --simulate-pressure SPEC: hold pressure there (stress tests)
  ProgressMode progress = ProgressMode::Auto;
  // When set, this blueprint instead of parsing one (a lowered .otio/.edl cut), with the item
  // each shot came from, so media problems are named by their place in the cut.
  std::optional<blueprint::Blueprint> prebuilt;
  std::vector<std::string> shot_origins;
  fetch::RemoteOptions remote{};  // --remote, --asset-cache*, --downloads
};

int run_render(const RenderArgs& args);

// `leancut plan BLUEPRINT [--memory M] [--json]`: the estimated peak, the least budget that could
// run it, and the settings chosen. Exit 0 when it fits, kExitOverBudget when it cannot.
struct PlanArgs {
  std::filesystem::path blueprint;
  int64_t memory_bytes = 0;
  int threads = 0;
  bool json = false;
  std::optional<blueprint::Blueprint> prebuilt;  // as RenderArgs: a lowered .otio/.edl cut
  std::vector<std::string> shot_origins;
  fetch::RemoteOptions remote{};
};
int run_plan(const PlanArgs& args);

// Parses and resolves a blueprint (probing its media); prints every problem to stderr (and into
// `json_out` when given). nullopt: the blueprint is invalid (exit with kExitInvalid).
// With `stages`, marks the "parse" and "probe" stages; with `probes`, probes through that cache.
// With `blueprint_text`, parses that instead of reading `file` (which then names it in messages).
// http(s) sources are downloaded into the asset cache first when `remote` enables them, else
// refused; `fetched` (when given) keeps the cached files leased: keep it until the render ends.
std::optional<engine::Timeline> load_timeline(
    const std::filesystem::path& file, bool quiet_json, nlohmann::json* json_out,
    memory::StageRecorder* stages = nullptr, media::ProbeCache* probes = nullptr,
    const std::string* blueprint_text = nullptr, const blueprint::Blueprint* prebuilt = nullptr,
    const std::vector<std::string>* shot_origins = nullptr,
    const fetch::RemoteOptions* remote = nullptr, fetch::RemoteSources* fetched = nullptr);
int run_validate(const std::filesystem::path& blueprint, bool json,
                 const fetch::RemoteOptions& remote = {});

// `leancut validate CUT.otio|CUT.edl [--remap OLD=NEW]... [--media-root DIR]... [--missing
// error|slate] [--fps RATE] [--reel-map FILE] [--json]`: reads the file, conforms its media and
// lists every problem at once (docs/interchange.md). Exit 0 valid, kExitInvalid with problems,
// kExitUsage for a bad option value.
struct InterchangeArgs {
  std::filesystem::path file;
  std::vector<std::string> remaps;
  std::vector<std::filesystem::path> media_roots;
  std::string missing = "error";
  std::string fps;  // empty: the EDL default (24) or the OTIO timeline's own rate
  std::filesystem::path reel_map;
  bool json = false;
};
bool is_interchange_file(const std::filesystem::path& file);

// `leancut render|plan CUT.otio|CUT.edl`: the validate options, and how the cut is lowered into
// a blueprint (docs/interchange.md, "Rendering").
struct InterchangeRenderArgs {
  InterchangeArgs source;  // file, --remap, --media-root, --missing, --fps, --reel-map
  std::string size;        // --size WxH; empty: 1920x1080 (or the settings file's)
  std::filesystem::path output_settings;  // --output-settings FILE.json: the `output` object
  int video_track = 0;                    // --video-track N (1 = bottom); 0: the one with clips
  std::string transitions = "render";     // --transitions render|cut|refuse
};
struct PreparedCut {
  blueprint::Blueprint blueprint;
  std::vector<std::string> shot_origins;  // per shot: the OTIO path or EDL event it came from
  int64_t frames = 0;                     // the timeline's duration at the output rate
};
// Reads, conforms and lowers the cut; prints every problem (and notes) to stderr. kExitOk with
// `out` filled, else the exit code (kExitUsage for a bad option, kExitInvalid for problems).
int prepare_interchange_render(const InterchangeRenderArgs& args, PreparedCut* out);
int run_validate_interchange(const InterchangeArgs& args);
int run_probe(const std::filesystem::path& file, bool json);

// `leancut testmedia DIR [--set standard|bench]`: generates the deterministic test clips into
// DIR (idempotent) and prints one line per clip.
int run_testmedia(const std::filesystem::path& dir, const std::string& set);

// `leancut demo [DIR]`: test media + a seeded 1,000-shot blueprint, rendered under 256 MiB.
struct DemoArgs {
  std::filesystem::path dir = "demo-out";
  int shots = 1000;
  int64_t memory_bytes = 256ll << 20;
  ProgressMode progress = ProgressMode::Auto;
};
int run_demo(const DemoArgs& args);

// `leancut frames IN -o DIR --every N`: every Nth picture of IN as images (docs/cli.md).
// Bad arguments exit kExitUsage, an unreadable source kExitMedia, an unwritable DIR kExitOutput.
struct FramesArgs {
  std::filesystem::path input;
  std::filesystem::path output_dir;
  int64_t every = 0;  // required; < 1 is refused with a message
  std::string format = "jpg";
  int quality = 85;
  std::string start;  // decimal seconds, empty = 0
  std::string end;    // decimal seconds, empty = the source's end
  bool json = false;  // one JSON line per image, then a summary
};
int run_frames(const FramesArgs& args);

// `leancut reframe IN -o OUT --aspect 9:16 [--size WxH] [--focus center|x,y]`: the whole of IN
// cropped to another aspect, rendered through a one-shot blueprint (fit "fill" with a focus) so
// it has render's memory budget, temp-then-rename output, audio, progress and exit codes.
struct ReframeArgs {
  std::filesystem::path input;
  std::string aspect;  // "W:H"
  std::string size;    // "WxH"; empty: the largest WxH of that aspect inside the source
  std::string focus = "center";
  RenderArgs render;  // output, memory, threads, progress, report
};
int run_reframe(const ReframeArgs& args);

// `leancut serve`: the job server (docs/api.md, docs/cli.md).
struct ServeArgs {
  std::string listen = "127.0.0.1:8787";
  std::filesystem::path data_dir{};  // empty: $XDG_STATE_HOME/leancut or ~/.local/state/leancut
  std::vector<std::filesystem::path> media_roots{};  // empty: the current directory
  int64_t memory_bytes = 0;  // what running jobs may reserve together; 0: from cgroup/MemTotal
  int max_running = 0;       // 0: half the CPUs the cgroup allows, at least 1
  int64_t max_queued = 100;
  std::filesystem::path token_file{};
  int64_t stuck_seconds = 120;
  int64_t kill_grace_seconds = 5;
  int64_t job_timeout_seconds = 0;  // 0: no limit
  bool drain = false;  // SIGINT/SIGTERM wait for running jobs instead of re-queueing them
  int64_t output_ttl_seconds = 24 * 3600;
  int64_t max_body_bytes = 8 << 20;          // request bodies; larger: 413
  int64_t max_shots = 10000;                 // per job
  double max_duration_seconds = 4 * 3600.0;  // the output's length
  int64_t max_output_bytes = 20LL << 30;     // per job's output file (RLIMIT_FSIZE); 0: none
  int max_pending = 1024;                    // accepted connections waiting for a thread
  std::string simulate_pressure{};           // tests: pressure inputs held at this
};
int run_serve(const ServeArgs& args);

}  // namespace leancut::cli
