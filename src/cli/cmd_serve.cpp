// `leancut serve`: the job server (docs/api.md). Wires src/server's store, runner and HTTP API
// to this binary: the blueprint check uses the same code as `leancut plan`, and each job runs as
// `leancut render` in a child process.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "blueprint/parse.h"
#include "cli/commands.h"
#include "cli/planning.h"
#include "cli/reframe.h"
#include "media/probe_cache.h"
#include "memory/cgroup.h"
#include "memory/ledger.h"
#include "memory/monitor.h"
#include "memory/rss.h"
#include "server/child_process.h"
#include "server/http_api.h"
#include "server/job_runner.h"
#include "server/job_store.h"
#include "server/metrics.h"

namespace leancut::cli {
namespace fs = std::filesystem;
namespace {

// The data directory's lock: one server per directory, since the runner re-queues every job it
// finds running (two servers would re-run each other's jobs). Released when the process ends,
// however it ends, because it is an flock.
class DirLock {
 public:
  static Result<DirLock> acquire(const fs::path& dir) {
    const fs::path file = dir / "serve.lock";
    DirLock lock;
    lock.fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock.fd_ < 0) return make_error(ErrorCode::Io, file.string() + ": cannot open");
    if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
      return make_error(ErrorCode::Io, "another leancut serve is using " + dir.string() + " (" +
                                           file.string() + " is locked)");
    }
    return lock;
  }
  DirLock(DirLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  DirLock& operator=(DirLock&&) = delete;
  DirLock(const DirLock&) = delete;
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  DirLock() = default;
  int fd_ = -1;
};

fs::path default_data_dir() {
  const char* state = std::getenv("XDG_STATE_HOME");
  if (state != nullptr && *state == '/') return fs::path(state) / "leancut";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : "/tmp") / ".local/state/leancut";
}

// What a server killed by SIGKILL left behind: check files, renders' temp files, folders of
// jobs the store no longer knows, and empty child cgroups of its jobs.
void remove_orphans(const fs::path& data_dir, server::JobStore& store) {
  std::error_code ec;
  fs::remove_all(data_dir / "tmp", ec);
  std::set<std::string> known;
  if (auto jobs = store.list(std::nullopt, std::numeric_limits<int64_t>::max()); jobs) {
    for (const server::JobRecord& j : *jobs) known.insert(j.id);
  } else {
    return;  // without the list, nothing can be called an orphan
  }
  std::vector<fs::path> doomed;
  for (fs::directory_iterator it(data_dir / "jobs", ec), end; !ec && it != end; it.increment(ec)) {
    if (known.count(it->path().filename().string()) == 0) {
      doomed.push_back(it->path());
      continue;
    }
    std::error_code ec2;
    for (fs::directory_iterator f(it->path(), ec2), fend; !ec2 && f != fend; f.increment(ec2)) {
      if (f->path().filename().string().find(".partial") != std::string::npos) {
        doomed.push_back(f->path());
      }
    }
  }
  for (const fs::path& p : doomed) fs::remove_all(p, ec);
  // Child cgroups are removed when their job ends; after a SIGKILL nobody did. rmdir removes
  // only empty ones, so a live group (another server's) is never touched.
  const memory::CgroupInfo cg = memory::resolve_cgroup(memory::SysRoot{});
  if (!cg.memory.group.empty()) {
    for (fs::directory_iterator it(cg.memory.group, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().rfind("leancut-job-", 0) == 0) {
        ::rmdir(it->path().c_str());
      }
    }
  }
}

// What a `leancut frames` child peaks at: it streams one picture at a time (decode → scale →
// encode → file), so its peak does not grow with the video's length (every=1 and every=25 over
// the same 8 s 1080p clip: both 100.1 MiB) but with the picture's size: the decoder's reference
// and threading frames, the scaled copy, the encoder's buffers. Measured 2026-11-26 on 2 CPUs
// (docs/benchmarks.md, "leancut frames peak RSS"), jpg, every=1: a fresh process 41.9 MiB;
// 640x360 58.6 MiB, 1280x720 74.3 MiB, 1920x1080 100.1 MiB: a line of 11.5 MiB + 23.6 bytes per
// pixel above the baseline (png is lower: 89.3 MiB at 1080p). The estimate takes 16 MiB + 32
// bytes per pixel, a third above the line, since the decoder's frame threads grow with the CPUs.
int64_t frames_estimate_bytes(int64_t baseline_bytes, int width, int height) {
  constexpr int64_t kFixedBytes = 16LL << 20;
  constexpr int64_t kBytesPerPixel = 32;
  return baseline_bytes + kFixedBytes + kBytesPerPixel * int64_t{width} * int64_t{height};
}

// How the server checks a submission: the same parsing, probing and planning as `leancut plan`,
// through the server's probe cache (a source is probed once across submissions), for the child
// that will run it (its baseline RSS and thread count, not the server's).
struct BlueprintChecker {
  media::ProbeCache* probes = nullptr;
  int64_t startup_rss_bytes = 0;  // the server's, before it served anything
  int child_threads = 0;

  // What a child's RSS will be before its job starts. A fresh process of this binary starts near
  // the server's startup RSS, but what it holds after parsing and probing is not known here, and
  // under a sanitizer (ASan's quarantine keeps freed memory) it is far above it: a child planned
  // from the startup figure refused its own reservation. The server's RSS now is above a release
  // child's and grows like a sanitizer child's, so it is the baseline (an estimate that errs high
  // by the server's caches and threads, ~50 MiB). Learning it from the children's reports is
  // the better fix, not done yet.
  int64_t child_baseline_bytes() const {
    const memory::Monitor monitor(memory::SysRoot{}, SteadyClock::instance());
    return std::max(startup_rss_bytes, monitor.sample().rss_bytes);
  }

  server::BlueprintCheck operator()(const fs::path& file, int64_t budget_bytes) const {
    return check(file, nullptr, budget_bytes);
  }

  // A job's input video through the probe cache; nullopt (with the problem in `out`, named
  // "input") when it cannot be read or has no video. Called on request threads, concurrently.
  std::optional<media::ProbeInfo> probe_input(const fs::path& input,
                                              server::BlueprintCheck& out) const {
    Result<media::ProbeInfo> probe = probes->probe(input);
    if (!probe || !probe->video) {
      out.errors.emplace_back(
          "input", probe ? input.string() + " has no video stream" : probe.error().message);
      return std::nullopt;
    }
    return std::move(probe).value();
  }

  // A reframe is a one-shot render: its blueprint is built as `leancut reframe` builds it
  // (cli/reframe.h) and planned as any render's. Problems name the request's fields.
  server::BlueprintCheck reframe(const server::ReframeJob& job, int64_t budget_bytes) const {
    server::BlueprintCheck out;
    const std::optional<media::ProbeInfo> probe = probe_input(job.input, out);
    if (!probe) return out;
    ReframeProblem problem;
    const ReframeOptions options{.aspect = job.aspect, .size = job.size, .focus = job.focus};
    Result<blueprint::Blueprint> bp =
        reframe_blueprint(options, job.input, *probe->video, &problem);
    if (!bp) {
      out.errors.emplace_back(problem.field, problem.message);
      return out;
    }
    const std::string text = blueprint::to_json(*bp);
    out = check("reframe " + job.input.string(), &text, budget_bytes);
    // The blueprint is ours, not the client's: its paths mean nothing to them.
    for (auto& [path, message] : out.errors) path = "input";
    return out;
  }

  // frames plans nothing: it streams (frames_estimate_bytes says what that costs).
  server::BlueprintCheck frames(const server::FramesJob& job, int64_t budget_bytes) const {
    server::BlueprintCheck out;
    const std::optional<media::ProbeInfo> probe = probe_input(job.input, out);
    if (!probe) return out;
    const media::VideoInfo& v = *probe->video;
    out.duration_seconds = v.duration.to_double();
    out.estimate_bytes = frames_estimate_bytes(child_baseline_bytes(), v.width, v.height);
    out.fits = out.estimate_bytes <= budget_bytes || budget_bytes <= 0;
    if (!out.fits) {
      out.refusal = "needs about " + memory::format_bytes(out.estimate_bytes) + ", the budget is " +
                    memory::format_bytes(budget_bytes) + " for all running jobs together";
    }
    return out;
  }

 private:
  server::BlueprintCheck check(const fs::path& file, const std::string* text,
                               int64_t budget_bytes) const {
    server::BlueprintCheck out;
    nlohmann::json report;
    std::optional<engine::Timeline> timeline =
        load_timeline(file, true, &report, nullptr, probes, text);
    if (!timeline) {
      for (const auto& e : report.value("errors", nlohmann::json::array())) {
        out.errors.emplace_back(e.value("path", ""), e.value("message", ""));
      }
      if (out.errors.empty()) out.errors.emplace_back("", "the blueprint is invalid");
      return out;
    }
    const JobPlan plan =
        plan_job(*timeline, budget_bytes, child_threads, 0, "mp4", child_baseline_bytes());
    out.estimate_bytes = plan.plan.estimate.peak_bytes;
    out.duration_seconds = timeline->duration().to_double();
    out.fits = plan.plan.fits;
    if (!out.fits) out.refusal = refusal_message(plan) + " for all running jobs together";
    return out;
  }
};

Result<std::pair<std::string, int>> parse_listen(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return make_error(ErrorCode::InvalidInput, "--listen " + text + ": expected HOST:PORT");
  }
  char* end = nullptr;
  const long port = std::strtol(text.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535 || colon + 1 == text.size()) {
    return make_error(ErrorCode::InvalidInput, "--listen " + text + ": bad port");
  }
  return std::make_pair(text.substr(0, colon), static_cast<int>(port));
}

}  // namespace

int run_serve(const ServeArgs& args) {
  auto fail = [](const std::string& message, int code) {
    std::fprintf(stderr, "leancut serve: %s\n", message.c_str());
    return code;
  };
  Result<std::pair<std::string, int>> listen = parse_listen(args.listen);
  if (!listen) return fail(listen.error().message, kExitUsage);

  const fs::path data_dir = args.data_dir.empty() ? default_data_dir() : args.data_dir;
  std::error_code ec;
  fs::create_directories(data_dir / "jobs", ec);
  if (ec) return fail(data_dir.string() + ": " + ec.message(), kExitOutput);

  std::vector<fs::path> roots = args.media_roots;
  if (roots.empty()) roots.push_back(fs::current_path());
  for (fs::path& root : roots) {
    fs::path canonical = fs::canonical(root, ec);
    if (ec || !fs::is_directory(canonical)) {
      return fail("--media-root " + root.string() + ": not a folder", kExitUsage);
    }
    root = canonical;
  }
  std::string token;
  if (!args.token_file.empty()) {
    std::ifstream in(args.token_file);
    std::getline(in, token);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    if (!in && token.empty()) {
      return fail("--token-file " + args.token_file.string() + ": cannot read a token", kExitUsage);
    }
    if (token.empty())
      return fail("--token-file " + args.token_file.string() + " is empty", kExitUsage);
  }

  Result<DirLock> lock = DirLock::acquire(data_dir);
  if (!lock) return fail(lock.error().message, kExitOutput);
  Result<std::unique_ptr<server::JobStore>> store =
      server::JobStore::open(data_dir / "jobs.sqlite3");
  if (!store) return fail(store.error().message, kExitOutput);
  Result<int64_t> requeued = (*store)->recover_after_restart();
  if (!requeued) return fail(requeued.error().message, kExitOutput);
  remove_orphans(data_dir, **store);
  if (Status s = server::become_child_subreaper(); !s)
    return fail(s.error().message, kExitInternal);

  // The budget: --memory, else what the cgroup or MemTotal leave beside the server itself.
  const memory::Monitor monitor(memory::SysRoot{}, SteadyClock::instance());
  const memory::Sample sample = monitor.sample();
  int64_t budget = 0;
  std::string budget_from;
  if (args.memory_bytes > 0) {
    budget = memory::effective_limit_bytes(args.memory_bytes, sample);
    budget_from = budget == args.memory_bytes ? "--memory" : "cgroup or MemTotal (below --memory)";
  } else {
    const int64_t limit = memory::effective_limit_bytes(std::nullopt, sample);
    budget = limit == memory::kNoLimit ? 0 : limit - sample.rss_bytes;
    budget_from = "cgroup or MemTotal, less the server's RSS";
  }
  const int cpus = monitor.effective_cpu_count();
  // Each render keeps about two CPUs busy (decode and x264), so half the quota, at least one.
  const int max_running = args.max_running > 0 ? args.max_running : std::max(1, cpus / 2);

  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return fail("cannot find this binary (/proc/self/exe)", kExitInternal);
  self[n] = '\0';

  // SIGINT/SIGTERM go to one thread that sigwaits (blocked everywhere else, so no handler runs
  // on a request thread); children start with an empty mask (server/child_process.h).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::optional<memory::PressureInputs> fixed_pressure;
  if (!args.simulate_pressure.empty()) {
    Result<memory::PressureInputs> in = memory::parse_pressure_inputs(args.simulate_pressure);
    if (!in) return fail("--simulate-pressure: " + in.error().message, kExitUsage);
    fixed_pressure = *in;
  }
  const int child_threads = std::max(1, cpus / max_running);

  // The server's ledger: reservations of running jobs (admission), its probe cache, the request
  // bodies being handled. Declared before everything charging it, so it is destroyed last.
  const std::unique_ptr<memory::Account> ledger =
      memory::Account::make_root("server", memory::kNoLimit);
  const std::unique_ptr<memory::Account> probe_account =
      ledger->make_child("probe_cache", memory::kNoLimit);
  media::ProbeCache probes(media::ProbeCache::default_options(), SteadyClock::instance(),
                           probe_account.get());

  server::Metrics metrics;
  server::RunnerOptions ro{.data_dir = data_dir,
                           .program = self,
                           .budget_bytes = budget,
                           .max_running = max_running,
                           .stuck_after = std::chrono::seconds(args.stuck_seconds),
                           .job_timeout = std::chrono::seconds(args.job_timeout_seconds),
                           .kill_grace = std::chrono::seconds(args.kill_grace_seconds),
                           .output_ttl = std::chrono::seconds(args.output_ttl_seconds),
                           .extra_args = {"--threads", std::to_string(child_threads)},
                           .wall_ms =
                               [] {
                                 return std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                     .count();
                               },
                           .metrics = &metrics,
                           .ledger = ledger.get(),
                           .max_output_bytes = args.max_output_bytes};
  server::JobRunner runner(**store, ro);
  const BlueprintChecker checker{
      .probes = &probes, .startup_rss_bytes = sample.rss_bytes, .child_threads = child_threads};
  server::ApiOptions ao{.media_roots = roots,
                        .data_dir = data_dir,
                        .budget_bytes = budget,
                        .budget_from = budget_from,
                        .max_queued = args.max_queued,
                        .max_running = max_running,
                        .token = token,
                        .max_body_bytes = static_cast<std::size_t>(args.max_body_bytes),
                        .max_pending = args.max_pending,
                        .max_shots = args.max_shots,
                        .max_duration_seconds = args.max_duration_seconds,
                        .check = checker,
                        .check_reframe =
                            [&checker](const server::ReframeJob& job, int64_t budget_bytes) {
                              return checker.reframe(job, budget_bytes);
                            },
                        .check_frames =
                            [&checker](const server::FramesJob& job, int64_t budget_bytes) {
                              return checker.frames(job, budget_bytes);
                            },
                        .sample = {},
                        .fixed_pressure = fixed_pressure,
                        .ledger = ledger.get(),
                        .cache_stats = [&probes] { return probes.stats(); }};
  server::HttpApi api(**store, runner, metrics, ao);
  Result<int> port = api.bind(listen->first, listen->second);
  if (!port) return fail(port.error().message, kExitUsage);

  runner.start();
  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done) {
      if (sigtimedwait(&signals, nullptr, &tick) > 0) {
        // --drain: the API stays up (GETs answer, POST is 503) while the running jobs finish.
        if (args.drain) {
          std::fprintf(stderr, "leancut serve: draining: waiting for the running jobs\n");
          runner.shutdown(server::JobRunner::ShutdownMode::Drain);
        }
        api.stop();
        return;
      }
    }
  });
  std::string root_list;
  for (const fs::path& r : roots) root_list += (root_list.empty() ? "" : ", ") + r.string();
  std::printf(
      "leancut serve: listening on http://%s:%d (data %s, media %s, budget %s from %s, "
      "%d running at most, %lld queued; %lld jobs re-queued)\n",
      listen->first.c_str(), *port, data_dir.string().c_str(), root_list.c_str(),
      memory::format_bytes(budget).c_str(), budget_from.c_str(), max_running,
      static_cast<long long>(args.max_queued), static_cast<long long>(*requeued));
  std::fflush(stdout);

  api.run();
  done = true;
  signal_thread.join();
  // Stop admitting, stop the children, re-queue their jobs (the next start re-runs them); after
  // a drain there are none left.
  runner.shutdown();
  fs::remove_all(data_dir / "tmp", ec);
  std::printf("leancut serve: stopped\n");
  return kExitOk;
}

}  // namespace leancut::cli
