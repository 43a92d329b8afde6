// `leancut render` and `leancut validate`: blueprint -> (diagnostics | timeline) -> video.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "blueprint/parse.h"
#include "cli/commands.h"
#include "cli/planning.h"
#include "cli/progress.h"
#include "engine/plan.h"
#include "engine/render_job.h"
#include "engine/timeline.h"
#include "media/mux.h"
#include "media/probe_cache.h"
#include "memory/pressure.h"
#include "memory/rss.h"
#include "memory/stages.h"

namespace leancut::cli {
namespace {

nlohmann::json accounts_json(const std::vector<memory::AccountStats>& accounts) {
  nlohmann::json out = nlohmann::json::array();
  for (const memory::AccountStats& a : accounts) {
    out.push_back({{"account", a.path},
                   {"current_bytes", a.current_bytes},
                   {"peak_bytes", a.peak_bytes},
                   {"live_leases", a.live_leases},
                   {"reservations", a.reservations},
                   {"refusals", a.refusals},
                   {"waits", a.waits},
                   {"overdrafts", a.overdrafts}});
    if (a.limit_bytes != memory::kNoLimit) out.back()["limit_bytes"] = a.limit_bytes;
  }
  return out;
}

std::atomic<int> g_signal{0};

void on_signal(int sig) {
  g_signal = sig;
}

int exit_code_for(const Error& e) {
  switch (e.code) {
    case ErrorCode::InvalidInput:
      return kExitInvalid;
    case ErrorCode::NotFound:
    case ErrorCode::MediaError:
    case ErrorCode::Unsupported:
      return kExitMedia;
    case ErrorCode::Io:
      return kExitOutput;
    case ErrorCode::OverBudget:
      return kExitOverBudget;
    case ErrorCode::Cancelled:
      return kExitCancelled;
    case ErrorCode::Internal:
      break;
  }
  return kExitInternal;
}

// The shot index a diagnostic's path names ("shots[12].out" -> 12), -1 for document-level ones.
long shot_number(const std::string& path) {
  if (path.rfind("shots[", 0) != 0) return -1;
  return std::strtol(path.c_str() + 6, nullptr, 10);
}

// With `shot_origins` (a lowered .otio/.edl cut), a shot's path is named by the item it came
// from: "tracks.children[0].children[2] (shots[1].out): ...", since the user never saw the shots.
void print_diagnostics(const std::filesystem::path& file,
                       const std::vector<blueprint::Diagnostic>& diagnostics,
                       const std::vector<std::string>* shot_origins) {
  for (const auto& d : diagnostics) {
    const long shot = shot_number(d.path);
    std::string text = d.to_string();
    if (shot_origins != nullptr && shot >= 0 && static_cast<size_t>(shot) < shot_origins->size()) {
      text = (*shot_origins)[static_cast<size_t>(shot)] + " (" + d.path + "): " + d.message;
    }
    std::fprintf(stderr, "%s: %s\n", file.string().c_str(), text.c_str());
  }
  std::fprintf(stderr, "%s: %zu problem%s; nothing was rendered\n", file.string().c_str(),
               diagnostics.size(), diagnostics.size() == 1 ? "" : "s");
}

// The decoded-picture pool's figures, for the summary and the report alike.
nlohmann::json frame_pool_json(const engine::RenderStats& st) {
  return {{"reuse_rate", st.frame_pool.reuse_rate()},
          {"acquires", st.frame_pool.acquires},
          {"allocations", st.frame_pool.allocations},
          {"peak_outstanding_bytes", st.frame_pool.peak_outstanding_bytes},
          {"frames_outside_pool", st.frames_outside_pool}};
}

nlohmann::json pressure_json(const engine::GovernorReport& g) {
  nlohmann::json levels = nlohmann::json::array();
  const auto origin = g.levels.empty() ? Clock::TimePoint{} : g.levels.front().entered_at;
  auto seconds = [&](Clock::TimePoint t) {
    return std::chrono::duration<double>(t - origin).count();
  };
  for (const memory::PressureEpisode& e : g.levels) {
    nlohmann::json j = {{"level", memory::to_string(e.level)},
                        {"entered_s", seconds(e.entered_at)},
                        {"max_ledger_ratio", e.max_ledger_ratio}};
    if (e.cause) j["cause"] = memory::to_string(*e.cause);
    if (e.left_at) j["left_s"] = seconds(*e.left_at);
    if (e.max_working_set_ratio) j["max_working_set_ratio"] = *e.max_working_set_ratio;
    if (e.max_psi_some_avg10) j["max_psi_some_avg10"] = *e.max_psi_some_avg10;
    levels.push_back(std::move(j));
  }
  nlohmann::json steps = nlohmann::json::object();
  for (const memory::LadderStepStats& s : g.steps) {
    steps[memory::to_string(s.step)] = {{"runs", s.runs}, {"undos", s.undos}};
  }
  return {{"levels", levels}, {"steps", steps}, {"samples", g.samples}};
}

// Every cache of the process, by name, with its hit rate (hits / lookups; 0 without lookups).
nlohmann::json caches_json(const media::ProbeCache& probes) {
  const memory::CacheStats c = probes.stats();
  const int64_t lookups = c.hits + c.misses;
  return nlohmann::json::array(
      {{{"name", "probes"},
        {"entries", c.entries},
        {"bytes", c.bytes},
        {"capacity_bytes", c.capacity_bytes},
        {"hits", c.hits},
        {"misses", c.misses},
        {"hit_rate",
         lookups > 0 ? static_cast<double>(c.hits) / static_cast<double>(lookups) : 0.0},
        {"insertions", c.insertions},
        {"evictions", c.evictions},
        {"expirations", c.expirations},
        {"refusals", c.refusals}}});
}

// The --report file (schema: docs/report.md), written to a temp file and renamed.
Status write_report(const std::filesystem::path& file, const std::filesystem::path& output,
                    const Status& status, const JobPlan& plan, const engine::RenderStats& st,
                    const std::vector<memory::StageStats>& stages, int64_t peak_rss,
                    const nlohmann::json& caches) {
  nlohmann::json j;
  j["version"] = 1;
  j["output"] = output.string();
  j["ok"] = status.ok();
  if (!status)
    j["error"] = {{"code", to_string(status.error().code)}, {"message", status.error().message}};
  j["peak_rss_bytes"] = peak_rss;
  j["budget_bytes"] = plan.budget_bytes;
  j["within_budget"] = plan.budget_bytes == 0 || peak_rss <= plan.budget_bytes;
  j["plan"] = plan_to_json(plan);
  nlohmann::json js = nlohmann::json::array();
  for (const memory::StageStats& s : stages) {
    js.push_back({{"name", s.name},
                  {"peak_bytes", s.peak_bytes},
                  {"rss_peak_bytes", s.rss_peak_bytes},
                  {"seconds", s.seconds}});
  }
  j["stages"] = js;
  j["accounts"] = accounts_json(st.accounts);
  // Beside each measured peak, what the planner expected of that account (the job: all of them).
  for (nlohmann::json& a : j["accounts"]) {
    const std::string path = a["account"].get<std::string>();
    const std::string name = path.substr(path.rfind('/') + 1);
    int64_t estimate = name == "job" ? plan.plan.estimate.tracked_bytes : 0;
    for (const memory::PlanPart& part : plan.plan.estimate.parts) {
      if (part.account == name) estimate += part.bytes;
    }
    a["estimate_bytes"] = estimate;
  }
  j["frame_pool"] = frame_pool_json(st);
  // What the ledger cannot see: codec internals (x264's lookahead), libraries, fragmentation.
  const int64_t ledger_peak = st.accounts.empty() ? 0 : st.accounts.front().peak_bytes;
  const int64_t baseline = plan.plan.estimate.parts.empty() ? 0 : plan.plan.estimate.parts[0].bytes;
  j["untracked"] = {{"bytes", peak_rss - ledger_peak - baseline},
                    {"how", "peak RSS - ledger peak - baseline (RSS before the job)"},
                    {"baseline_bytes", baseline},
                    {"ledger_peak_bytes", ledger_peak}};
  j["estimate_error"] = plan.plan.estimate.peak_bytes > 0
                            ? static_cast<double>(peak_rss - plan.plan.estimate.peak_bytes) /
                                  static_cast<double>(plan.plan.estimate.peak_bytes)
                            : 0.0;
  j["pressure"] = pressure_json(st.governor);
  j["caches"] = caches;
  j["leaks"] = accounts_json(st.leaks);

  std::filesystem::path tmp = file;
  tmp += ".partial";
  {
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return make_error(ErrorCode::Io, file.string() + ": cannot write");
    const std::string text = j.dump(2) + "\n";
    const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const bool closed = std::fclose(f) == 0;
    if (!wrote || !closed) return make_error(ErrorCode::Io, file.string() + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) return make_error(ErrorCode::Io, file.string() + ": " + ec.message());
  return ok_status();
}

}  // namespace

// Parses and resolves; prints every problem. nullopt means "exit with kExitInvalid".
std::optional<engine::Timeline> load_timeline(
    const std::filesystem::path& file, bool quiet_json, nlohmann::json* json_out,
    memory::StageRecorder* stages, media::ProbeCache* probes, const std::string* blueprint_text,
    const blueprint::Blueprint* prebuilt, const std::vector<std::string>* shot_origins,
    const fetch::RemoteOptions* remote, fetch::RemoteSources* fetched) {
  if (stages != nullptr) stages->begin("parse");
  blueprint::ParseResult parsed;
  if (prebuilt != nullptr) {
    parsed.blueprint = *prebuilt;
  } else {
    parsed = blueprint_text != nullptr ? blueprint::parse_blueprint(*blueprint_text, ".")
                                       : blueprint::load_blueprint(file);
  }
  // Remote sources become cached files before anything probes them (or are refused, with their
  // JSON paths, when --remote is off); a shot whose URL failed is left out of the media checks.
  fetch::RemoteSources own_fetched;
  fetch::RemoteSources& remote_sources = fetched != nullptr ? *fetched : own_fetched;
  if (blueprint::Blueprint* bp = parsed.ok()      ? &*parsed.blueprint
                                 : parsed.partial ? &*parsed.partial
                                                  : nullptr;
      bp != nullptr) {
    remote_sources =
        fetch::fetch_remote_sources(*bp, remote != nullptr ? *remote : fetch::RemoteOptions{},
                                    parsed.ok() ? nullptr : &parsed.shot_checkable);
    if (remote_sources.any_failed()) {
      if (parsed.ok()) {
        parsed.partial = std::move(parsed.blueprint);
        parsed.blueprint.reset();
        parsed.shot_checkable.assign(parsed.partial->shots.size(), true);
      }
      for (size_t i = 0; i < remote_sources.failed_shots.size(); ++i) {
        if (remote_sources.failed_shots[i]) parsed.shot_checkable[i] = false;
      }
      parsed.diagnostics.insert(parsed.diagnostics.end(), remote_sources.diagnostics.begin(),
                                remote_sources.diagnostics.end());
    }
    if (remote_sources.urls > 0) {
      const fetch::FetchSummary& f = remote_sources.summary;
      if (json_out != nullptr) {
        (*json_out)["remote"] = {{"urls", remote_sources.urls},
                                 {"hits", f.hits},
                                 {"misses", f.misses},
                                 {"failed", f.failed},
                                 {"bytes_downloaded", f.bytes_downloaded},
                                 {"evicted", f.evicted.removed}};
      }
      if (!quiet_json) {
        std::fprintf(stderr,
                     "remote: %d URLs, %d cached, %d downloaded (%s), %d failed; cache evicted %d "
                     "(%s), holds %s\n",
                     remote_sources.urls, f.hits, f.misses - f.failed,
                     memory::format_bytes(f.bytes_downloaded).c_str(), f.failed, f.evicted.removed,
                     memory::format_bytes(f.evicted.removed_bytes).c_str(),
                     memory::format_bytes(f.evicted.total_bytes).c_str());
      }
    }
  }
  if (stages != nullptr) stages->begin("probe");
  std::vector<blueprint::Diagnostic> diagnostics = parsed.diagnostics;
  std::optional<engine::Timeline> timeline;
  if (parsed.ok()) {
    engine::ResolveResult resolved = engine::resolve_timeline(*parsed.blueprint, nullptr, probes);
    diagnostics = std::move(resolved.diagnostics);
    timeline = std::move(resolved.timeline);
  } else if (parsed.partial) {
    // Every problem at once: the media checks of the shots that did parse, merged in document
    // order with the parse errors.
    engine::ResolveResult resolved =
        engine::resolve_timeline(*parsed.partial, &parsed.shot_checkable, probes);
    diagnostics.insert(diagnostics.end(), resolved.diagnostics.begin(), resolved.diagnostics.end());
    std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const auto& a, const auto& b) {
      return shot_number(a.path) < shot_number(b.path);
    });
  }
  if (json_out != nullptr) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& d : diagnostics) errors.push_back({{"path", d.path}, {"message", d.message}});
    (*json_out)["errors"] = errors;
  }
  if (!diagnostics.empty() && !quiet_json) print_diagnostics(file, diagnostics, shot_origins);
  return timeline;
}

namespace {

std::string with_commas(int64_t v) {
  const std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

int run_render(const RenderArgs& args) {
  const bool json = args.progress == ProgressMode::Json;
  if (media::Muxer::guess_format(args.output).empty()) {
    std::fprintf(stderr,
                 "leancut render: %s: cannot tell the container from the extension "
                 "(use .mp4, .mov, .mkv or .ts)\n",
                 args.output.string().c_str());
    return kExitUsage;
  }
  std::error_code ec;
  std::filesystem::path out_dir = args.output.has_parent_path() ? args.output.parent_path() : ".";
  if (!std::filesystem::is_directory(out_dir, ec)) {
    std::fprintf(stderr, "leancut render: %s: the folder %s does not exist\n",
                 args.output.string().c_str(), out_dir.string().c_str());
    return kExitOutput;
  }

  std::unique_ptr<memory::FixedPressureSource> held_pressure;
  if (!args.simulate_pressure.empty()) {
    Result<memory::PressureInputs> in = memory::parse_pressure_inputs(args.simulate_pressure);
    if (!in.ok()) {
      std::fprintf(stderr, "leancut render: --simulate-pressure: %s\n", in.error().message.c_str());
      return kExitUsage;
    }
    held_pressure = std::make_unique<memory::FixedPressureSource>(in.value());
  }
  // The ledger's root: the process. Its limit is set once the plan knows the budget.
  auto process_account = memory::Account::make_root("process", memory::kNoLimit);
  // Probe results by source file, charged to the process (they outlive a job in a server).
  auto probe_account = process_account->make_child("probe_cache", memory::kNoLimit);
  media::ProbeCache probes(media::ProbeCache::default_options(), SteadyClock::instance(),
                           probe_account.get());
  std::unique_ptr<memory::StageRecorder> stages;
  if (!args.report.empty()) {
    stages =
        std::make_unique<memory::StageRecorder>(process_account.get(), SteadyClock::instance());
  }

  // Leases on the cached remote sources: no process evicts them until the render is done.
  fetch::RemoteSources fetched;
  std::optional<engine::Timeline> timeline = load_timeline(
      args.blueprint, false, nullptr, stages.get(), &probes,
      args.blueprint_text.empty() ? nullptr : &args.blueprint_text,
      args.prebuilt ? &*args.prebuilt : nullptr, &args.shot_origins, &args.remote, &fetched);
  if (!timeline) return kExitInvalid;

  // Plan before anything opens: refuse at once what cannot fit, degrade what fits only so.
  if (stages) stages->begin("plan");
  const JobPlan plan = plan_job(*timeline, args.memory_bytes, args.threads, args.encoder_threads,
                                media::Muxer::guess_format(args.output));
  // With --report: ends the stages and writes the report; a report that cannot be written is
  // said on stderr but does not change the render's exit code.
  const auto report_if_asked = [&](const Status& status, const engine::RenderStats& st,
                                   int64_t peak) {
    if (!stages) return;
    stages->end();
    if (Status s = write_report(args.report, args.output, status, plan, st, stages->stages(), peak,
                                caches_json(probes));
        !s) {
      std::fprintf(stderr, "leancut render: --report: %s\n", s.error().message.c_str());
    }
  };
  if (!plan.plan.fits) {
    if (json) {
      nlohmann::json j = {{"event", "error"},
                          {"code", to_string(ErrorCode::OverBudget)},
                          {"message", refusal_message(plan)},
                          {"plan", plan_to_json(plan)}};
      std::printf("%s\n", j.dump().c_str());
    }
    std::fprintf(stderr, "leancut render: %s; nothing was rendered (see `leancut plan`)\n",
                 refusal_message(plan).c_str());
    // The report says why: the plan with its parts, and the stages that ran.
    report_if_asked(make_error(ErrorCode::OverBudget, refusal_message(plan)), engine::RenderStats{},
                    memory::read_peak_rss_bytes().value_or(0));
    return kExitOverBudget;
  }
  // The ledger: the process account holds the budget; the job may charge what the planner's
  // estimate of the untracked parts (codecs' internals, libraries) leaves of it.
  const memory::PlanEstimate& estimate = plan.plan.estimate;
  const int64_t untracked = estimate.peak_bytes - estimate.tracked_bytes;
  if (plan.budget_bytes > 0) process_account->set_limit(plan.budget_bytes);
  auto job_account = process_account->make_child(
      "job", plan.budget_bytes > 0 ? std::max(estimate.tracked_bytes, plan.budget_bytes - untracked)
                                   : memory::kNoLimit);
  // Decoded pictures get the job's limit less the other components' planned share.
  const int64_t downstream = estimate.tracked_bytes - estimate.decoded_frame_bytes;
  engine::RenderOptions options{.output = args.output,
                                .threads = plan.cpu_count,
                                .decoder_threads = args.decoder_threads,
                                .account = job_account.get(),
                                .ledger = args.ledger};
  options.rss_budget_bytes = plan.budget_bytes;
  if (plan.budget_bytes > 0) {
    options.decoded_frames_limit =
        std::max(estimate.decoded_frame_bytes, job_account->limit_bytes() - downstream);
  }
  options.planned_peak_bytes = plan.plan.estimate.peak_bytes;
  options.planned_ledger_bytes = estimate.tracked_bytes;
  options.min_frame_bytes = plan.plan.min_decoded_frame_bytes;
  options.pressure_source = held_pressure.get();
  options.evict_caches = [&probes] { probes.evict_to_low_water(); };
  options.stages = stages.get();
  engine::apply_plan(plan.plan.settings, options);
  engine::RenderJob job(std::move(*timeline), options);
  ProgressPrinter printer(args.progress);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  std::thread worker([&] {
    Status s = job.run();
    std::lock_guard lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_all();
  });
  int64_t rss_peak_sampled = 0;
  {
    std::unique_lock lock(mu);
    while (!done) {
      cv.wait_for(lock, std::chrono::milliseconds(json ? 1000 : 250));
      if (g_signal != 0) job.cancel();
      int64_t rss = memory::read_rss_bytes().value_or(0);
      if (rss > rss_peak_sampled) rss_peak_sampled = rss;
      if (stages) stages->note_rss(rss);
      if (!done) {
        lock.unlock();
        printer.update(job.progress(), rss);
        lock.lock();
      }
    }
  }
  worker.join();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  printer.finish();

  const engine::RenderStats& st = job.stats();
  const engine::Timeline& tl = job.timeline();
  const int64_t peak = memory::read_peak_rss_bytes().value_or(rss_peak_sampled);
  const bool within_budget = plan.budget_bytes == 0 || peak <= plan.budget_bytes;
  report_if_asked(status, st, peak);
  const double ratio = st.frames_out > 0 ? static_cast<double>(st.video_frames_decoded) /
                                               static_cast<double>(st.frames_out)
                                         : 0;
  if (!status) {
    if (json) {
      nlohmann::json j = {{"event", "error"},
                          {"code", to_string(status.error().code)},
                          {"message", status.error().message}};
      std::printf("%s\n", j.dump().c_str());
    }
    std::fprintf(stderr, "leancut render: %s\n", status.error().message.c_str());
    std::fprintf(stderr, "leancut render: nothing was written to %s\n",
                 args.output.string().c_str());
    return exit_code_for(status.error());
  }

  if (json) {
    nlohmann::json j = {{"event", "done"},
                        {"output", args.output.string()},
                        {"shots", tl.shots.size()},
                        {"frames", st.frames_out},
                        {"audio_samples", st.audio_samples_out},
                        {"duration_seconds", tl.duration().to_double()},
                        {"seconds", st.seconds},
                        {"peak_rss_bytes", peak},
                        {"memory_budget_bytes", args.memory_bytes},
                        {"within_budget", within_budget},
                        {"video_frames_decoded", st.video_frames_decoded},
                        {"decoded_per_output_frame", ratio},
                        {"video_seeks", st.video_seeks},
                        {"reader_reuses", st.reader_reuses},
                        {"sources_opened", st.sources_opened},
                        {"prefetch_hits", st.prefetch_hits},
                        {"max_open_readers", st.max_open_readers},
                        {"normalize_graph_builds", st.normalize_graph_builds},
                        {"skip_retries", st.skip_retries},
                        {"frame_pool", frame_pool_json(st)},
                        {"caches", caches_json(probes)},
                        {"accounts", accounts_json(st.accounts)},
                        {"leaks", accounts_json(st.leaks)},
                        {"pressure", pressure_json(st.governor)},
                        {"plan", plan_to_json(plan)},
                        {"queue_peak_bytes",
                         {{"decoded", st.decoded_queue.peak_bytes},
                          {"video_out", st.video_out_queue.peak_bytes},
                          {"audio_out", st.audio_out_queue.peak_bytes}}}};
    if (tl.output.audio.loudness) {
      j["loudness"] = {{"measured_lufs", st.loudness_in_lufs ? nlohmann::json(*st.loudness_in_lufs)
                                                             : nlohmann::json(nullptr)},
                       {"gain_db", st.loudness_gain_db}};
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    double fps = st.seconds > 0 ? static_cast<double>(st.frames_out) / st.seconds : 0;
    std::printf("wrote %s: %zu shots, %s frames (%s at %s fps), in %s (%.0f fps, %.1fx realtime)\n",
                args.output.string().c_str(), tl.shots.size(), with_commas(st.frames_out).c_str(),
                format_duration(tl.duration().to_double()).c_str(),
                tl.output.fps.to_string().c_str(), format_duration(st.seconds).c_str(), fps,
                st.seconds > 0 ? tl.duration().to_double() / st.seconds : 0);
    std::printf("memory: peak RSS %s", memory::format_bytes(peak).c_str());
    if (args.memory_bytes > 0) {
      std::printf(" of a %s budget%s", memory::format_bytes(args.memory_bytes).c_str(),
                  within_budget ? "" : "  ** OVER BUDGET **");
    }
    std::printf(
        "\ndecode: %s frames decoded for %s output frames (%.2fx), %s seeks, "
        "%s shots continued without a seek, at most %lld readers open\n",
        with_commas(st.video_frames_decoded).c_str(), with_commas(st.frames_out).c_str(), ratio,
        with_commas(st.video_seeks).c_str(), with_commas(st.reader_reuses).c_str(),
        static_cast<long long>(st.max_open_readers));
    if (tl.output.audio.loudness) {
      if (st.loudness_in_lufs) {
        std::printf("loudness: the mix measured %.1f LUFS; %+.1f dB brings it to %.1f LUFS\n",
                    *st.loudness_in_lufs, st.loudness_gain_db,
                    *st.loudness_in_lufs + st.loudness_gain_db);
      } else {
        std::printf("loudness: the mix is silent (below the -70 LUFS gate): left as it is\n");
      }
    }
    std::printf("frames: decoded pictures peaked at %s in the pool (%.1f%% of %s reused)\n",
                memory::format_bytes(st.frame_pool.peak_outstanding_bytes).c_str(),
                100.0 * st.frame_pool.reuse_rate(), with_commas(st.frame_pool.acquires).c_str());
    std::string levels;
    for (const memory::PressureEpisode& e : st.governor.levels) {
      levels += std::string(levels.empty() ? "" : " -> ") + memory::to_string(e.level);
    }
    std::string steps;
    for (const memory::LadderStepStats& s : st.governor.steps) {
      if (s.runs > 0) {
        steps += std::string(steps.empty() ? "" : ", ") + memory::to_string(s.step) + " x" +
                 std::to_string(s.runs);
      }
    }
    std::printf("pressure: %s%s%s\n", levels.empty() ? "none" : levels.c_str(),
                steps.empty() ? "" : "; ladder steps: ", steps.c_str());
    for (const std::string& change : plan.plan.changes) {
      std::printf("plan: degraded to fit the budget: %s\n", change.c_str());
    }
    for (const memory::AccountStats& leak : st.leaks) {
      std::printf("LEAK: %s still holds %s in %lld leases\n", leak.path.c_str(),
                  memory::format_bytes(leak.current_bytes).c_str(),
                  static_cast<long long>(leak.live_leases));
    }
  }
  return kExitOk;
}

int run_validate(const std::filesystem::path& file, bool json, const fetch::RemoteOptions& remote) {
  nlohmann::json j;
  std::optional<engine::Timeline> timeline = load_timeline(
      file, json, json ? &j : nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, &remote);
  if (json) {
    j["valid"] = timeline.has_value();
    if (timeline) {
      j["shots"] = timeline->shots.size();
      j["frames"] = timeline->total_frames;
      j["duration_seconds"] = timeline->duration().to_double();
      j["sources"] = timeline->sources.size();
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else if (timeline) {
    std::printf("%s: valid: %zu shots from %zu sources, %s frames, %s at %s fps\n",
                file.string().c_str(), timeline->shots.size(), timeline->sources.size(),
                with_commas(timeline->total_frames).c_str(),
                format_duration(timeline->duration().to_double()).c_str(),
                timeline->output.fps.to_string().c_str());
  }
  return timeline ? kExitOk : kExitInvalid;
}

}  // namespace leancut::cli
