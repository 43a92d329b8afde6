// HttpApi: the job server's HTTP/JSON interface (docs/api.md), on cpp-httplib.
//
//   ApiOptions o{.media_roots = {"/srv/media"}, .data_dir = dir, .budget_bytes = 1 << 30,
//                .check = check_with_the_planner};   // the CLI supplies it (engine-free here)
//   HttpApi api(*store, runner, metrics, o);
//   LEANCUT_ASSIGN_OR_RETURN(int port, api.bind("127.0.0.1", 8787));  // 0: any free port
//   api.run();    // serves until stop() (another thread, e.g. the signal handler's)
//
// Under critical memory pressure, POST answers 503 with Retry-After. The level comes from a
// memory::PressureTracker sampled every pressure_every (the cgroup's working set against its
// limit, PSI some avg10), so it has the render governor's hysteresis: it rises at once and falls
// only after the signals stay below the exit threshold for the dwell (5 s), and admission does
// not flap open and shut on a noisy signal.
// Routes: POST /v1/jobs, GET /v1/jobs, GET|DELETE /v1/jobs/{id}, GET /v1/jobs/{id}/output (from
// disk in 64 KiB chunks, with Range), GET /health, GET /health/memory, GET /metrics. Errors are
// {"error": {"code", "message"[, "details"]}} with a 4xx/5xx status that names the problem.
//
// A submitted blueprint has every source rewritten to an absolute path inside a media root
// (inline: relative sources resolve against the first root; blueprint_path: against the file's
// folder) and is refused (422, naming the shot) when one escapes every root, symlinks included.
// The rewritten blueprint is what the store keeps, so the job does not depend on the request's
// files or the server's working directory.
//
// Thread-safe: requests run on a fixed pool of `threads` with at most `max_pending` accepted
// connections waiting (a bounded httplib::TaskQueue), so the server's threads, stacks and queued
// sockets are bounded whatever the load. Memory held: a request body up to max_body_bytes per
// thread while it is handled (charged to the ledger's "requests"); outputs stream from disk.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "memory/cache.h"
#include "memory/ledger.h"
#include "memory/monitor.h"
#include "memory/pressure.h"
#include "server/job_kinds.h"
#include "server/job_runner.h"
#include "server/job_store.h"
#include "server/metrics.h"

namespace httplib {
class Server;
}

namespace leancut::server {

// What the CLI's check of a blueprint file found: validation problems, or the planner's estimate.
struct BlueprintCheck {
  std::vector<std::pair<std::string, std::string>> errors{};  // {JSON path, message}; any: invalid
  int64_t estimate_bytes = 0;                                 // the planned peak under budget_bytes
  bool fits = true;             // false: not even the least settings fit budget_bytes
  std::string refusal{};        // when !fits: "needs at least N MiB, the budget is M MiB (...)"
  double duration_seconds = 0;  // the output's length
};
// Validates and plans the blueprint in `file` (sources absolute) against `budget_bytes`.
// Called on request threads, concurrently.
using CheckBlueprintFn =
    std::function<BlueprintCheck(const std::filesystem::path& file, int64_t budget_bytes)>;

struct ApiOptions {
  std::vector<std::filesystem::path> media_roots{};  // at least one; made canonical by HttpApi
  std::filesystem::path data_dir{};                  // temp files go to data_dir/tmp
  int64_t budget_bytes = 0;                          // the server's memory budget for jobs
  std::string budget_from{};                         // "--memory", "cgroup", "MemTotal"
  int64_t max_queued = 100;
  int max_running = 1;
  std::string token{};  // non-empty: every endpoint but /health needs "Authorization: Bearer T"
  std::size_t max_body_bytes = 8u << 20;
  int threads = 8;
  // Accepted connections waiting for a request thread; beyond this the accept loop waits (and
  // connections wait in the kernel's accept queue of listen_backlog). A waiting connection costs
  // the server a socket and ~100 bytes (its body is read only when a thread takes it).
  int max_pending = 1024;
  // The listening socket's accept queue (cpp-httplib's own is 5; the kernel caps it at somaxconn).
  int listen_backlog = 1024;
  int retry_after_seconds = 5;               // Retry-After on 429 and 503
  int64_t max_shots = 10000;                 // per job; more: 422
  double max_duration_seconds = 4 * 3600.0;  // the output's length; longer: 422
  CheckBlueprintFn check{};
  // The checks of reframe and frames jobs (input absolute, inside a root): errors by the request's
  // JSON path ("aspect", "input"), the estimate for the child. Called concurrently.
  std::function<BlueprintCheck(const ReframeJob& job, int64_t budget_bytes)> check_reframe{};
  std::function<BlueprintCheck(const FramesJob& job, int64_t budget_bytes)> check_frames{};
  // Memory figures now (RSS, cgroup, PSI); empty: a memory::Monitor of this process. Tests
  // inject critical pressure here.
  std::function<memory::Sample()> sample;
  // Non-empty: pressure inputs held at this instead of sampled (`serve --simulate-pressure`).
  std::optional<memory::PressureInputs> fixed_pressure{};
  // How often the pressure tracker samples; 0: only when sample_pressure() is called (tests).
  std::chrono::milliseconds pressure_every{500};
  const Clock* clock = &SteadyClock::instance();
  // The server's ledger root (not owned, outlives the API): /health/memory and /metrics show its
  // accounts, and request bodies being handled are charged to its child "requests".
  memory::Account* ledger = nullptr;
  // The server's probe cache figures (the submission checks'); empty: none.
  std::function<memory::CacheStats()> cache_stats{};
};

// What the pressure tracker takes from one sample: the cgroup's working set against its limit and
// PSI some avg10 (the server's own reservations are admission, not pressure: a full budget means
// the queue waits). The ledger ratio is left at 0.
memory::PressureInputs pressure_inputs(const memory::Sample& sample);

// True when `path` is `root` or below it, component by component (both already canonical).
bool is_within(const std::filesystem::path& path, const std::filesystem::path& root);

class HttpApi {
 public:
  HttpApi(JobStore& store, JobRunner& runner, Metrics& metrics, ApiOptions options);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds `host:port` (port 0: a free one); returns the port. Io error naming the address.
  Result<int> bind(const std::string& host, int port);
  // Serves until stop(). REQUIRES: bind() succeeded.
  void run();
  // From any thread: run() returns once in-flight requests are done.
  void stop();
  // Takes one pressure sample now (the sampler thread does this every pressure_every).
  void sample_pressure();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leancut::server
