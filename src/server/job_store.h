// JobStore: the server's persistent job queue, one SQLite database (WAL) in the data directory.
// A job written by enqueue() survives kill -9 and power loss; after a restart,
// recover_after_restart() puts every job that was running back in the queue.
//
//   LEANCUT_ASSIGN_OR_RETURN(auto store, JobStore::open(data_dir / "jobs.sqlite3"));
//   LEANCUT_ASSIGN_OR_RETURN(JobRecord job, store->enqueue("render", request, estimate_bytes));
//   ...
//   LEANCUT_ASSIGN_OR_RETURN(int64_t requeued, store->recover_after_restart());  // at startup
//   // queued -> running:
//   LEANCUT_ASSIGN_OR_RETURN(std::optional<JobRecord> next, store->claim_next());
//   LEANCUT_TRY(store->update_progress(next->id, frames_done, frames_total));
//   LEANCUT_TRY(store->finish(next->id, JobState::Succeeded, "", peak_bytes, output_path));
//
// States and the only transitions allowed (anything else is an InvalidInput error naming the job
// and both states):
//   queued  -> running (claim_next), canceled (request_cancel, finish), failed (finish: a job that
//              cannot start, e.g. its source vanished)
//   running -> succeeded | failed | canceled (finish), queued (recover_after_restart only)
//   succeeded, failed, canceled: final.
// A running job is not stopped by request_cancel(); it only sets cancel_requested, and whoever
// runs the job stops it and calls finish(Canceled).
//
// Several handles (threads, processes) may open the same file: each call is one SQLite
// transaction, so claim_next() hands a job to exactly one caller. Timestamps are integer
// milliseconds of wall time (they outlive the process, so a steady clock would not do), read
// from JobStoreOptions::now_ms so tests control them.
//
// Thread-safe: one mutex serializes every call on a handle (the database does one write at a
// time anyway). Memory held: SQLite's page cache (its default, up to ~2 MiB); statements are
// prepared per call, and records are copied out, never kept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace leancut::server {

enum class JobState { Queued, Running, Succeeded, Failed, Canceled };
const char* to_string(JobState state);  // "queued", "running", ... (the database's spelling too)
std::optional<JobState> parse_job_state(std::string_view text);
bool is_final(JobState state);  // succeeded, failed, canceled

struct JobRecord {
  std::string id;            // 32 hex digits: 128 random bits
  std::string kind;          // "render"; later kinds plug in here
  std::string request_json;  // the request as submitted, stored verbatim
  JobState state = JobState::Queued;
  int64_t estimate_bytes = 0;          // the planner's peak estimate at submission
  std::optional<int64_t> peak_bytes;   // measured, once finished
  int64_t frames_done = 0;             // progress: frames written
  int64_t frames_total = 0;            // 0 while unknown
  int64_t attempts = 0;                // runs cut short by a restart (each one re-queued it)
  bool cancel_requested = false;       // set by request_cancel() on a running job
  std::string error;                   // why it failed; empty otherwise
  std::string output_path;             // set by finish()
  int64_t created_ms = 0;              // enqueue
  int64_t updated_ms = 0;              // last change of any field
  std::optional<int64_t> started_ms;   // last claim
  std::optional<int64_t> finished_ms;  // reached a final state
};

struct JobStoreOptions {
  // Wall-clock milliseconds since the epoch; tests pass their own.
  std::function<int64_t()> now_ms;
  // How long a call waits for another handle's write to finish before it fails.
  int busy_timeout_ms = 5000;
};

class JobStore {
 public:
  // The schema version this build writes (PRAGMA user_version). A file with a higher version
  // was written by a newer leancut and is refused rather than misread.
  static constexpr int kSchemaVersion = 1;

  // Opens or creates the database at `path` (its directory must exist), switches it to WAL and
  // migrates the schema. Fails (Io) naming the path when the file is not a database, is
  // corrupt, is newer than this build, or cannot be opened for writing.
  static Result<std::unique_ptr<JobStore>> open(const std::filesystem::path& path,
                                                JobStoreOptions options = {});
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // A new queued job with a fresh random id.
  Result<JobRecord> enqueue(std::string_view kind, std::string_view request_json,
                            int64_t estimate_bytes);
  // NotFound names the id.
  Result<JobRecord> get(std::string_view id);
  // Newest first (so a limit keeps the most recent); all states when `state` is empty.
  Result<std::vector<JobRecord>> list(std::optional<JobState> state, int64_t limit);
  // The oldest queued job, now running (attempt order is submission order: a re-queued job
  // keeps its place). nullopt when nothing is queued. Atomic across threads and processes.
  Result<std::optional<JobRecord>> claim_next();
  // The same, but only when `admit` says yes to that oldest job (in the same transaction, so
  // the answer is about the job claimed). A no leaves it queued and claims nothing: the queue
  // is first in, first out, so a large job is never overtaken forever by smaller ones.
  Result<std::optional<JobRecord>> claim_next_if(
      const std::function<bool(const JobRecord&)>& admit);
  // REQUIRES: the job is running (else InvalidInput naming its state).
  Status update_progress(std::string_view id, int64_t frames_done, int64_t frames_total);
  // Moves the job to a final state. `state` must be succeeded, failed or canceled.
  Result<JobRecord> finish(std::string_view id, JobState state, std::string_view error,
                           std::optional<int64_t> peak_bytes, std::string_view output_path);
  // queued -> canceled at once; running -> cancel_requested set (the runner stops it);
  // canceled -> no change. Succeeded or failed: InvalidInput.
  Result<JobRecord> request_cancel(std::string_view id);
  // At startup: every running job (its runner died with the old process) goes back to queued,
  // attempts + 1, progress reset. Returns how many.
  Result<int64_t> recover_after_restart();
  // Final jobs that finished at or before now_ms - ttl_ms, oldest first: TTL cleanup removes
  // their outputs, then the records (remove()).
  Result<std::vector<JobRecord>> expired(int64_t now_ms, int64_t ttl_ms);
  // Deletes a final job's record. REQUIRES: the job is final (else InvalidInput).
  Status remove(std::string_view id);
  // Every state is present, with 0 where no job is in it.
  Result<std::map<JobState, int64_t>> count_by_state();

  const std::filesystem::path& path() const { return path_; }

 private:
  struct Db;  // the connection and its prepared statements (job_store.cpp)
  JobStore(std::filesystem::path path, JobStoreOptions options, std::unique_ptr<Db> db);

  // Reads the record inside the caller's transaction.
  Result<JobRecord> get_locked(std::string_view id);
  // Prefixes `e` with "job store PATH: ".
  Error error_here(const Error& e) const;

  const std::filesystem::path path_;
  const JobStoreOptions options_;
  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
};

}  // namespace leancut::server
