// JobRunner: takes queued jobs from the JobStore, admits them by memory, runs each as a child
// process of the same binary, follows its progress, and records how it ended.
//
//   RunnerOptions o{.data_dir = dir, .program = self_exe, .budget_bytes = 1 << 30,
//                   .max_running = 2};
//   JobRunner runner(*store, o);
//   runner.start();                 // the runner thread
//   ... runner.wake();              // after a submission or a cancel, so it acts at once
//   runner.request_cancel(id);      // a running job: SIGTERM, SIGKILL after the grace
//   runner.shutdown();              // stop admitting, stop every child, re-queue its job
//                                   // (or ShutdownMode::Drain: let the running jobs finish)
//
// Admission: the oldest queued job starts when fewer than max_running run and the running jobs'
// reservations plus its own fit budget_bytes: the ledger's "jobs" account grants the reservation (a
// job alone always starts: the API refused those whose estimate exceeds the whole budget). First
// in, first out: a job that does not fit yet waits at the head, so small jobs never starve a large
// one. A job's reservation is its estimate plus a margin (reservation_for); its child runs the
// command of its kind (server/job_kinds.h), e.g. for a render
//   PROGRAM render JOBDIR/blueprint.json -o JOBDIR/output.mp4 --memory RESERVATION
//           --json-progress --report JOBDIR/report.json -q
// (reframe: `PROGRAM reframe INPUT -o JOBDIR/output.mp4 --aspect ...`, the same options after;
// frames: `PROGRAM frames INPUT -o JOBDIR/images --every N ... --json`, whose image lines are
// its progress and whose last line carries its peak RSS)
// with stdout to JOBDIR/progress.jsonl, stderr to JOBDIR/stderr.log, and a hard memory limit a
// little above the reservation (hard_limit_for). A job whose frames do not advance for
// stuck_after is killed and failed as stuck.
//
// Shutdown re-queues what was running (recover_after_restart), so nothing accepted is lost: the
// next start re-runs it from the beginning. One server per data directory (the CLI holds a lock).
//
// Thread-safe: start/wake/request_cancel/snapshot/shutdown from any thread. Children are spawned
// from the runner thread, which outlives them (PR_SET_PDEATHSIG follows the spawning thread).
// Memory held: one small record per running job.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "memory/ledger.h"
#include "server/child_process.h"
#include "server/job_store.h"
#include "server/metrics.h"

namespace leancut::server {

struct RunnerOptions {
  std::filesystem::path data_dir{};  // jobs go to data_dir/jobs/ID
  std::string program{};             // the leancut binary the children run
  int64_t budget_bytes = 0;          // what running jobs may reserve in all; 0: no memory admission
  int max_running = 1;
  // How often the runner looks at its children when nothing wakes it.
  std::chrono::milliseconds tick{200};
  // How often progress goes to the store (each write is an fsync'd transaction).
  std::chrono::milliseconds progress_every{1000};
  // Frames not advancing this long: the job is killed and failed as stuck.
  std::chrono::milliseconds stuck_after{120000};
  // A job running longer than this is killed and failed as timed out; 0: no limit.
  std::chrono::milliseconds job_timeout{0};
  // SIGTERM, then SIGKILL after this (cancel, stuck, timeout, shutdown).
  std::chrono::milliseconds kill_grace{5000};
  // Finished jobs' outputs and records are removed this long after they finished; 0: never.
  std::chrono::milliseconds output_ttl{24LL * 3600 * 1000};
  // Extra arguments for render and reframe children (tests: --simulate-pressure, --threads);
  // frames takes neither.
  std::vector<std::string> extra_args{};
  const Clock* clock = &SteadyClock::instance();
  // Wall-clock milliseconds for TTL cleanup (the store's timestamps are wall time).
  std::function<int64_t()> wall_ms;
  Metrics* metrics = nullptr;  // not owned; may be null
  // The server's ledger: the runner adds "jobs" under it (limit budget_bytes) and one account per
  // running job holding its reservation, so admission is a reservation the ledger grants and
  // /health/memory shows who holds what. Null: the runner's "jobs" account is a root of its own.
  // Not owned; must outlive the runner.
  memory::Account* ledger = nullptr;
  // RLIMIT_FSIZE for every child: no output (nor its spool) may grow past it; 0: no limit.
  int64_t max_output_bytes = 0;
  // Cgroup, else rlimit. Tests force Rlimit or None.
  LimitMethod limit = LimitMethod::Auto;
};

// What a job reserves while it runs: the estimate plus 10% (at least 16 MiB), because the child
// plans again in its own process, whose baseline RSS differs a little from the server's when it
// estimated; never more than the budget (a job alone must be able to start).
int64_t reservation_for(int64_t estimate_bytes, int64_t budget_bytes);
// The child's hard limit: the reservation plus a quarter (at least 64 MiB). The child's own
// governor holds the reservation (it degrades, then stops cleanly with exit 6); the hard limit
// is the backstop for what it cannot catch in time (a hostile file's burst). Equal limits would
// turn every excursion the governor handles into a kernel OOM kill.
int64_t hard_limit_for(int64_t reservation_bytes);

class JobRunner {
 public:
  JobRunner(JobStore& store, RunnerOptions options);
  ~JobRunner();  // shutdown()
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void start();
  // Look at the queue and the children now instead of at the next tick.
  void wake();
  // A running job is terminated and finished as canceled (the caller has already marked it in
  // the store with request_cancel). Unknown or not running: ignored.
  void request_cancel(const std::string& id);
  // Requeue: stops admitting, terminates every child (kill_grace), re-queues their jobs, joins
  // the thread. Drain: stops admitting and waits until the running jobs end on their own (queued
  // ones stay queued for the next start). Idempotent; the first call's mode wins.
  enum class ShutdownMode { Requeue, Drain };
  void shutdown(ShutdownMode mode = ShutdownMode::Requeue);

  struct RunningJob {
    std::string id{};
    int64_t estimate_bytes = 0;
    int64_t reservation_bytes = 0;
    int pid = 0;
    std::string limit{};  // "cgroup", "rlimit", "none"
  };
  struct Snapshot {
    int64_t running = 0;
    int64_t reserved_bytes = 0;
    bool admitting = true;
    std::vector<RunningJob> jobs{};
  };
  Snapshot snapshot() const;
  const RunnerOptions& options() const { return options_; }

 private:
  struct Running;

  void loop();
  void admit();
  void start_job(const JobRecord& job, std::unique_ptr<memory::Account> account,
                 memory::Lease lease);
  // Polls one child; true when it has ended and was finished in the store.
  bool service(Running& r);
  void end_job(Running& r, const ExitStatus& st);
  void clean_expired();
  void publish();
  // Shutdown: SIGTERM to every child at once, SIGKILL after the grace, all reaped.
  void stop_all_children();

  JobStore& store_;
  const RunnerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;                              // guarded by mu_
  bool stopping_ = false;                           // guarded by mu_
  bool drain_ = false;                              // guarded by mu_
  std::set<std::string> cancels_;                   // guarded by mu_
  std::unique_ptr<memory::Account> jobs_account_;   // reservations; children per running job
  std::vector<std::unique_ptr<Running>> running_;   // the runner thread only
  std::optional<Clock::TimePoint> last_ttl_check_;  // the runner thread only
  std::vector<RunningJob> published_;               // guarded by mu_: running_ as others may see it
  std::atomic<int64_t> running_count_{0};
  std::atomic<int64_t> reserved_bytes_{0};
  std::atomic<bool> admitting_{true};
  std::thread thread_;
};

}  // namespace leancut::server
