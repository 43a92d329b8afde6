// HttpApi: the job server's HTTP/JSON interface (docs/api.md), on cpp-httplib.
//
//   ApiOptions o{.media_roots = {"/srv/media"}, .data_dir = dir, .budget_bytes = 1 << 30,
//                .check = check_with_the_planner};   // the CLI supplies it (engine-free here)
//   HttpApi api(*store, runner, metrics, o);
//   LEANCUT_ASSIGN_OR_RETURN(int port, api.bind("127.0.0.1", 8787));  // 0: any free port
//   api.run();    // serves until stop() (another thread, e.g. the signal handler's)
//
// Under critical memory pressure (pressure_level), POST answers 503 with Retry-After.
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
// Thread-safe: requests run on a fixed pool of `threads` (cpp-httplib's ThreadPool), so the
// server's threads and stacks are bounded whatever the load. Memory held: a request body up to
// max_body_bytes per thread while it is handled; outputs stream from disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "memory/monitor.h"
#include "memory/pressure.h"
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
  int retry_after_seconds = 5;               // Retry-After on 429 and 503
  int64_t max_shots = 10000;                 // per job; more: 422
  double max_duration_seconds = 4 * 3600.0;  // the output's length; longer: 422
  CheckBlueprintFn check{};
  // Memory figures now (RSS, cgroup, PSI); empty: a memory::Monitor of this process. Tests
  // inject critical pressure here.
  std::function<memory::Sample()> sample;
};

// The server's memory pressure now, from one sample, without hysteresis (the jobs' governors
// have their own): the highest level that the cgroup's working set against its limit or PSI some
// avg10 reaches, on the thresholds the render governor uses. `cause` names the signal.
memory::PressureLevel pressure_level(const memory::Sample& sample, std::string* cause);

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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leancut::server
