#include "server/job_runner.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "server/job_kinds.h"

namespace leancut::server {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kMiB = 1024 * 1024;

// The last `max_bytes` of a file (less when it is shorter); empty when unreadable.
std::string read_tail(const fs::path& file, std::size_t max_bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string out(size - start, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  return out;
}

// Complete lines (each ended by '\n') of `text`, without a first one that may be cut off when
// `text` is a tail.
std::vector<std::string> complete_lines(const std::string& text, bool is_tail) {
  std::vector<std::string> lines;
  std::size_t at = 0;
  if (is_tail) {
    const std::size_t nl = text.find('\n');
    at = nl == std::string::npos ? text.size() : nl + 1;
  }
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    if (nl == std::string::npos) break;  // still being written
    if (nl > at) lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return lines;
}

// The child's --json-progress stdout: its last progress figures, or its error message.
struct ProgressTail {
  std::optional<int64_t> frames;
  std::optional<int64_t> frames_total;
  std::optional<int64_t> peak_bytes;  // frames' done line (it writes no report)
  std::string error;                  // from an {"event":"error"} line
};

ProgressTail read_progress(const fs::path& file) {
  // The done line carries the whole summary (a few KiB); 64 KiB holds several lines.
  constexpr std::size_t kTail = 64 * 1024;
  const std::string text = read_tail(file, kTail);
  ProgressTail out;
  const std::vector<std::string> lines = complete_lines(text, text.size() == kTail);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    nlohmann::json j = nlohmann::json::parse(*it, nullptr, false);
    if (!j.is_object()) continue;
    const std::string event = j.value("event", "");
    if (event == "error" && out.error.empty()) {
      out.error = j.value("message", "");
      continue;
    }
    if (event == "image" && j.contains("index") && j["index"].is_number_integer()) {
      // `leancut frames --json`: one line per image written; the count is its progress.
      out.frames = j["index"].get<int64_t>() + 1;
      break;
    }
    if (event == "done" && j.contains("images") && j["images"].is_number_integer()) {
      out.frames = j["images"].get<int64_t>();
      out.frames_total = out.frames;
      if (j.contains("peak_rss_bytes") && j["peak_rss_bytes"].is_number_integer())
        out.peak_bytes = j["peak_rss_bytes"].get<int64_t>();
      break;
    }
    if (event == "progress" || event == "done") {
      if (j.contains("frames") && j["frames"].is_number_integer())
        out.frames = j["frames"].get<int64_t>();
      if (j.contains("frames_total") && j["frames_total"].is_number_integer())
        out.frames_total = j["frames_total"].get<int64_t>();
      if (event == "done" && !out.frames_total) out.frames_total = out.frames;
      break;
    }
  }
  return out;
}

// The last few lines of the child's stderr, for a failed job's error.
std::string stderr_tail(const fs::path& file) {
  const std::string text = read_tail(file, 4096);
  std::vector<std::string> lines = complete_lines(text + "\n", text.size() == 4096);
  constexpr std::size_t kKeep = 5;
  const std::size_t from = lines.size() > kKeep ? lines.size() - kKeep : 0;
  std::string out;
  for (std::size_t i = from; i < lines.size(); ++i) {
    if (!out.empty()) out += " | ";
    out += lines[i];
  }
  return out;
}

// What a finished job's --report says that the server's metrics add up.
JobReportFigures read_report(const fs::path& report) {
  JobReportFigures out;
  std::ifstream in(report, std::ios::binary);
  if (!in) return out;
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!j.is_object()) return out;
  const auto integer = [](const nlohmann::json& o, const char* key) -> std::optional<int64_t> {
    if (!o.is_object() || !o.contains(key) || !o[key].is_number_integer()) return std::nullopt;
    return o[key].get<int64_t>();
  };
  out.peak_bytes = integer(j, "peak_rss_bytes");
  if (j.contains("frame_pool")) {
    out.pool_acquires = integer(j["frame_pool"], "acquires").value_or(0);
    out.pool_allocations = integer(j["frame_pool"], "allocations").value_or(0);
  }
  if (j.contains("caches") && j["caches"].is_array()) {
    for (const nlohmann::json& c : j["caches"]) {
      out.cache_hits += integer(c, "hits").value_or(0);
      out.cache_misses += integer(c, "misses").value_or(0);
    }
  }
  return out;
}

// A render's temp files (`.output.mp4.leancut-PID.partial`, its spool, `report.json.partial`):
// a child killed by SIGKILL leaves them behind.
void remove_partials(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().find(".partial") != std::string::npos) {
      doomed.push_back(it->path());
    }
  }
  for (const fs::path& p : doomed) fs::remove(p, ec);
}

double seconds_between(Clock::TimePoint a, Clock::TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int64_t reservation_for(int64_t estimate_bytes, int64_t budget_bytes) {
  const int64_t r = estimate_bytes + std::max<int64_t>(estimate_bytes / 10, 16 * kMiB);
  return budget_bytes > 0 ? std::min(r, budget_bytes) : r;
}

int64_t hard_limit_for(int64_t reservation_bytes) {
  return reservation_bytes + std::max<int64_t>(reservation_bytes / 4, 64 * kMiB);
}

struct JobRunner::Running {
  JobRecord job;
  std::unique_ptr<memory::Account> account;  // "jobs/ID": holds the reservation
  memory::Lease reservation_lease;
  Child child;
  fs::path dir;
  Clock::TimePoint started;
  Clock::TimePoint last_advance;  // when frames_done last grew (or the start)
  Clock::TimePoint last_store_update;
  int64_t frames_done = 0;
  int64_t frames_total = 0;
  bool canceled = false;
  bool stuck = false;
  bool timed_out = false;
};

JobRunner::JobRunner(JobStore& store, RunnerOptions options)
    : store_(store), options_(std::move(options)) {
  const int64_t limit = options_.budget_bytes > 0 ? options_.budget_bytes : memory::kNoLimit;
  jobs_account_ = options_.ledger != nullptr ? options_.ledger->make_child("jobs", limit)
                                             : memory::Account::make_root("jobs", limit);
}

JobRunner::~JobRunner() {
  shutdown();
}

void JobRunner::start() {
  LEANCUT_CHECK(!thread_.joinable());
  thread_ = std::thread([this] { loop(); });
}

void JobRunner::wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

void JobRunner::request_cancel(const std::string& id) {
  std::lock_guard lock(mu_);
  cancels_.insert(id);
  woken_ = true;
  cv_.notify_all();
}

void JobRunner::shutdown(ShutdownMode mode) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) drain_ = mode == ShutdownMode::Drain;
    stopping_ = true;
    admitting_ = false;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

JobRunner::Snapshot JobRunner::snapshot() const {
  Snapshot s{running_count_.load(), reserved_bytes_.load(), admitting_.load(), {}};
  std::lock_guard lock(mu_);
  s.jobs = published_;
  return s;
}

void JobRunner::publish() {
  int64_t reserved = 0;
  std::vector<RunningJob> jobs;
  for (const auto& r : running_) {
    reserved += r->reservation_lease.bytes();
    jobs.push_back({r->job.id, r->job.estimate_bytes, r->reservation_lease.bytes(), r->child.pid(),
                    to_string(r->child.limit_method())});
  }
  {
    std::lock_guard lock(mu_);
    published_ = std::move(jobs);
  }
  running_count_ = static_cast<int64_t>(running_.size());
  reserved_bytes_ = reserved;
}

void JobRunner::loop() {
  std::unique_lock lock(mu_);
  // Draining, the loop goes on (admitting nothing) until the running jobs have ended.
  while (!stopping_ || (drain_ && !running_.empty())) {
    std::set<std::string> cancels;
    cancels.swap(cancels_);
    lock.unlock();
    for (auto& r : running_) {
      if (cancels.count(r->job.id) != 0) r->canceled = true;
    }
    std::erase_if(running_, [this](const std::unique_ptr<Running>& r) { return service(*r); });
    publish();
    admit();
    clean_expired();
    lock.lock();
    if (stopping_ && !(drain_ && !running_.empty())) break;
    cv_.wait_for(lock, options_.tick, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
  lock.unlock();
  // Shutdown: every child stops; its job goes back to the queue for the next start.
  stop_all_children();
  running_.clear();
  publish();
  if (Result<int64_t> n = store_.recover_after_restart(); !n) {
    std::fprintf(stderr, "leancut serve: re-queueing running jobs: %s\n",
                 n.error().message.c_str());
  }
}

void JobRunner::stop_all_children() {
  // All at once, so N children take one grace, not N.
  for (auto& r : running_) r->child.terminate_async(options_.kill_grace, options_.clock->now());
  const auto deadline =
      std::chrono::steady_clock::now() + options_.kill_grace + std::chrono::seconds(5);
  for (;;) {
    bool all_ended = true;
    for (auto& r : running_) {
      Result<std::optional<ExitStatus>> st = r->child.poll();
      if (st && !*st) {
        all_ended = false;
        r->child.terminate_async(options_.kill_grace, options_.clock->now());  // SIGKILL when due
      }
    }
    // How each ended does not matter: the job runs again from the start. A child still there
    // after the deadline is killed and reaped by ~Child.
    if (all_ended || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& r : running_) remove_partials(r->dir);
}

void JobRunner::admit() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (static_cast<int64_t>(running_.size()) >= options_.max_running) return;
    // The reservation is taken from the ledger inside the claim, so a job is marked running
    // only when its memory is granted. A job alone always fits: reservation_for caps it at the
    // budget.
    std::unique_ptr<memory::Account> account;
    memory::Lease lease;
    Result<std::optional<JobRecord>> next = store_.claim_next_if([&](const JobRecord& job) {
      account = jobs_account_->make_child(job.id, memory::kNoLimit);
      Result<memory::Lease> granted =
          account->try_reserve(reservation_for(job.estimate_bytes, options_.budget_bytes));
      if (!granted) {
        account.reset();
        return false;
      }
      lease = std::move(granted).value();
      return true;
    });
    if (!next) {
      lease.release();
      account.reset();
      std::fprintf(stderr, "leancut serve: %s\n", next.error().message.c_str());
      return;
    }
    if (!*next) {
      lease.release();
      account.reset();
      return;
    }
    start_job(**next, std::move(account), std::move(lease));
    publish();
  }
}

void JobRunner::start_job(const JobRecord& job, std::unique_ptr<memory::Account> account,
                          memory::Lease lease) {
  const fs::path dir = options_.data_dir / "jobs" / job.id;
  const auto fail = [&](const std::string& why) {
    Result<JobRecord> r = store_.finish(job.id, JobState::Failed, why, std::nullopt, "");
    if (!r) std::fprintf(stderr, "leancut serve: %s\n", r.error().message.c_str());
    if (options_.metrics != nullptr) options_.metrics->observe_job_end(JobState::Failed, 0, {});
  };
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("cannot create " + dir.string() + ": " + ec.message());
  // A re-run starts clean: what an earlier attempt left is not this run's.
  for (const char* name : {"output.mp4", "report.json", "progress.jsonl", "stderr.log"}) {
    fs::remove(dir / name, ec);
  }
  fs::remove_all(dir / "images", ec);
  remove_partials(dir);
  const int64_t reservation = lease.bytes();
  Result<ChildCommand> command =
      child_command(job.kind, job.request_json, dir, options_.program, reservation);
  if (!command) return fail(command.error().message);
  if (!command->blueprint.empty()) {
    // The store holds the blueprint (sources made absolute by the API); the file is for the child.
    std::ofstream out(dir / "blueprint.json", std::ios::binary | std::ios::trunc);
    out << command->blueprint;
    if (!out) return fail("cannot write " + (dir / "blueprint.json").string());
  }
  ChildSpec spec;
  spec.argv = std::move(command->argv);
  if (command->takes_extra_args) {
    spec.argv.insert(spec.argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  }
  spec.stdout_path = dir / "progress.jsonl";
  spec.stderr_path = dir / "stderr.log";
  spec.working_dir = dir;
  // Unique per attempt: a cgroup left by a killed server must not collide with this one.
  spec.cgroup_name = "leancut-job-" + job.id + "-" + std::to_string(job.attempts);
  spec.memory_limit_bytes = options_.limit == LimitMethod::None ? 0 : hard_limit_for(reservation);
  spec.limit = options_.limit == LimitMethod::Auto ? LimitMethod::Cgroup : options_.limit;
  spec.file_size_limit_bytes = options_.max_output_bytes;
  Result<Child> child = Child::spawn(spec);
  if (!child && options_.limit == LimitMethod::Auto) {
    // No writable memory cgroup: RLIMIT_AS instead. It counts address space, not memory used
    // (thread stacks, glibc arenas and libraries' mappings reserve far more than they touch),
    // so it gets 1 GiB more, as a guard against runaway allocation rather than a budget.
    spec.limit = LimitMethod::Rlimit;
    spec.memory_limit_bytes += 1024 * kMiB;
    child = Child::spawn(spec);
  }
  if (!child) return fail("cannot start the " + job.kind + ": " + child.error().message);
  // One line per job start and end: the server's log, for whoever runs it.
  std::fprintf(stderr, "leancut serve: job %s started (pid %d, reservation %lld bytes, limit %s)\n",
               job.id.c_str(), static_cast<int>(child->pid()), static_cast<long long>(reservation),
               to_string(child->limit_method()));
  const Clock::TimePoint now = options_.clock->now();
  running_.push_back(std::make_unique<Running>(Running{.job = job,
                                                       .account = std::move(account),
                                                       .reservation_lease = std::move(lease),
                                                       .child = std::move(child).value(),
                                                       .dir = dir,
                                                       .started = now,
                                                       .last_advance = now,
                                                       .last_store_update = now}));
}

bool JobRunner::service(Running& r) {
  Result<std::optional<ExitStatus>> polled = r.child.poll();
  if (!polled) {
    end_job(r, ExitStatus{});  // cannot happen unless someone else reaped it; fail the job
    return true;
  }
  if (*polled) {
    end_job(r, **polled);
    return true;
  }
  const Clock::TimePoint now = options_.clock->now();
  const ProgressTail p = read_progress(r.dir / "progress.jsonl");
  if (p.frames && *p.frames > r.frames_done) {
    r.frames_done = *p.frames;
    r.last_advance = now;
  }
  if (p.frames_total) r.frames_total = *p.frames_total;
  if (now - r.last_store_update >= options_.progress_every) {
    r.last_store_update = now;
    if (Status s = store_.update_progress(r.job.id, r.frames_done, r.frames_total); !s) {
      std::fprintf(stderr, "leancut serve: %s\n", s.error().message.c_str());
    }
  }
  if (!r.canceled && now - r.last_advance >= options_.stuck_after) r.stuck = true;
  if (!r.canceled && options_.job_timeout.count() > 0 && now - r.started >= options_.job_timeout) {
    r.timed_out = true;
  }
  if (r.canceled || r.stuck || r.timed_out) {
    // SIGTERM now, SIGKILL after the grace; the runner goes on serving the other jobs and
    // finishes this one when a later poll sees it end.
    r.child.terminate_async(options_.kill_grace, now);
  }
  return false;
}

void JobRunner::end_job(Running& r, const ExitStatus& st) {
  remove_partials(r.dir);
  const ProgressTail p = read_progress(r.dir / "progress.jsonl");
  if (p.frames) r.frames_done = std::max(r.frames_done, *p.frames);
  if (p.frames_total) r.frames_total = *p.frames_total;
  JobState state = JobState::Failed;
  std::string error;
  std::optional<int64_t> peak;
  JobReportFigures figures;
  std::string output;
  if (r.canceled) {
    state = JobState::Canceled;
    error = "canceled by request";
  } else if (r.stuck) {
    error = "stuck at frame " + std::to_string(r.frames_done) + " of " +
            std::to_string(r.frames_total) + ": no progress for " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(options_.stuck_after).count()) +
            " s; killed (" + st.describe() + ")";
  } else if (r.timed_out) {
    error = "timed out after " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(options_.job_timeout).count()) +
            " s at frame " + std::to_string(r.frames_done) + " of " +
            std::to_string(r.frames_total) + "; killed (" + st.describe() + ")";
  } else if (st.success() && !st.oom_killed && fs::exists(r.dir / output_name(r.job.kind))) {
    state = JobState::Succeeded;
    figures = read_report(r.dir / "report.json");
    if (!figures.peak_bytes) figures.peak_bytes = p.peak_bytes;
    peak = figures.peak_bytes;
    output = (r.dir / output_name(r.job.kind)).string();
  } else {
    // An OOM kill in the job's cgroup fails it even when the leader exited 0: a process of the
    // job lost its memory, so the output cannot be trusted.
    error = r.job.kind + " " +
            (st.success() && !st.oom_killed ? std::string("exited 0 without an output")
                                            : st.describe());
    if (!st.exited && st.term_signal == SIGXFSZ && options_.max_output_bytes > 0) {
      error += " (the output may not exceed " + std::to_string(options_.max_output_bytes) +
               " bytes, --max-output-bytes)";
    }
    if (!p.error.empty()) error += ": " + p.error;
    const std::string tail = stderr_tail(r.dir / "stderr.log");
    if (!tail.empty() && p.error.empty()) error += "; stderr: " + tail;
  }
  if (r.frames_total > 0) {
    // The last figures, so a finished job shows how far it got.
    (void)store_.update_progress(r.job.id, r.frames_done, r.frames_total);
  }
  std::fprintf(stderr, "leancut serve: job %s %s%s%s\n", r.job.id.c_str(), to_string(state),
               error.empty() ? "" : ": ", error.c_str());
  // Metrics first: whoever sees the final state in the store finds it counted too.
  if (options_.metrics != nullptr) {
    options_.metrics->observe_job_end(state, seconds_between(r.started, options_.clock->now()),
                                      peak);
    options_.metrics->add_job_report(figures);
  }
  Result<JobRecord> done = store_.finish(r.job.id, state, error, peak, output);
  if (!done) std::fprintf(stderr, "leancut serve: %s\n", done.error().message.c_str());
}

void JobRunner::clean_expired() {
  if (options_.output_ttl.count() <= 0 || !options_.wall_ms) return;
  const Clock::TimePoint now = options_.clock->now();
  // Once a minute is plenty for a TTL counted in hours.
  if (last_ttl_check_ && now - *last_ttl_check_ < std::chrono::seconds(60)) return;
  last_ttl_check_ = now;
  Result<std::vector<JobRecord>> expired =
      store_.expired(options_.wall_ms(), options_.output_ttl.count());
  if (!expired) return;
  for (const JobRecord& job : *expired) {
    std::error_code ec;
    fs::remove_all(options_.data_dir / "jobs" / job.id, ec);
    if (!ec) (void)store_.remove(job.id);
  }
}

}  // namespace leancut::server
