#include "server/http_api.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stop_token>
#include <thread>

#include "memory/monitor.h"
#include "memory/rss.h"

namespace leancut::server {
namespace fs = std::filesystem;
using nlohmann::json;

bool is_within(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

memory::PressureInputs pressure_inputs(const memory::Sample& sample) {
  memory::PressureInputs in;
  if (sample.cgroup.working_set_bytes && sample.cgroup.limit_bytes &&
      *sample.cgroup.limit_bytes > 0) {
    in.working_set_ratio = static_cast<double>(*sample.cgroup.working_set_bytes) /
                           static_cast<double>(*sample.cgroup.limit_bytes);
  }
  in.psi_some_avg10 = sample.psi_some_avg10;
  return in;
}

namespace {

// An HTTP failure on its way to the client.
struct ApiError {
  int status = 400;
  std::string code;  // machine-readable: "invalid_json", "queue_full", ...
  std::string message;
  json details;  // optional: a list of problems
};

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(2) + "\n", "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  json body = {{"error", {{"code", e.code}, {"message", e.message}}}};
  if (!e.details.is_null()) body["error"]["details"] = e.details;
  send_json(res, e.status, body);
}

std::string random_hex(int bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < bytes; ++i) {
    const auto b = static_cast<unsigned>(rng() & 0xff);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// A file removed when this goes out of scope (the blueprint written for the check).
class TempFile {
 public:
  explicit TempFile(fs::path path) : path_(std::move(path)) {}
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// An open file descriptor, closed with its owner.
struct OpenFile {
  explicit OpenFile(const std::string& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  const int fd;
};

// Constant time, so a wrong token's timing says nothing about how much of it was right.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// httplib's task queue with a bound: `threads` workers and at most `max_pending` accepted
// connections waiting for one. httplib's own ThreadPool queues without limit, so a burst of
// connections would grow memory with the burst; here the accept thread waits instead, and further
// clients wait in the kernel's listen backlog (then get refused), which costs the server nothing.
class BoundedThreadPool final : public httplib::TaskQueue {
 public:
  BoundedThreadPool(int threads, std::size_t max_pending) : max_pending_(max_pending) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~BoundedThreadPool() override = default;  // shutdown() joined the workers
  BoundedThreadPool(const BoundedThreadPool&) = delete;
  BoundedThreadPool& operator=(const BoundedThreadPool&) = delete;

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    space_.wait(lock, [this] { return pending_.size() < max_pending_ || shutdown_; });
    pending_.push_back(std::move(fn));
    ready_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
    }
    ready_.notify_all();
    space_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [this] { return !pending_.empty() || shutdown_; });
        if (pending_.empty()) return;  // shut down and drained
        fn = std::move(pending_.front());
        pending_.pop_front();
        space_.notify_one();
      }
      fn();
    }
  }

  const std::size_t max_pending_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<std::function<void()>> pending_;  // guarded by mu_
  bool shutdown_ = false;                      // guarded by mu_
  std::vector<std::thread> workers_;
};

json job_json(const JobRecord& j) {
  json out = {{"id", j.id},
              {"kind", j.kind},
              {"state", to_string(j.state)},
              {"estimate_bytes", j.estimate_bytes},
              {"progress", {{"frames", j.frames_done}, {"frames_total", j.frames_total}}},
              {"attempts", j.attempts},
              {"created_ms", j.created_ms},
              {"updated_ms", j.updated_ms}};
  if (j.peak_bytes) out["peak_bytes"] = *j.peak_bytes;
  if (!j.error.empty()) out["error"] = j.error;
  if (j.cancel_requested) out["cancel_requested"] = true;
  if (j.started_ms) out["started_ms"] = *j.started_ms;
  if (j.finished_ms) out["finished_ms"] = *j.finished_ms;
  // frames: the URL answers the index of its images.
  if (j.state == JobState::Succeeded) out["output_url"] = "/v1/jobs/" + j.id + "/output";
  return out;
}

ApiError store_error(const Error& e) {
  if (e.code == ErrorCode::NotFound) return {404, "not_found", e.message, {}};
  return {500, "internal", e.message, {}};
}

}  // namespace

struct HttpApi::Impl {
  JobStore& store;
  JobRunner& runner;
  Metrics& metrics;
  ApiOptions options;
  httplib::Server server;
  std::mutex enqueue_mu;  // the queue-full check and the enqueue, as one step
  const memory::Monitor monitor{memory::SysRoot{}, SteadyClock::instance()};
  memory::PressureTracker pressure{*options.clock};
  std::mutex sample_mu;  // one sample_pressure() at a time (the tracker's update contract)
  std::unique_ptr<memory::Account> requests;  // request bodies being handled; under ledger
  std::jthread sampler;

  memory::Sample sample() const { return options.sample ? options.sample() : monitor.sample(); }

  Impl(JobStore& s, JobRunner& r, Metrics& m, ApiOptions o)
      : store(s), runner(r), metrics(m), options(std::move(o)) {
    if (options.ledger != nullptr)
      requests = options.ledger->make_child("requests", memory::kNoLimit);
  }
  ~Impl() {
    if (sampler.joinable()) {
      sampler.request_stop();
      sampler.join();
    }
  }

  void sample_pressure() {
    const memory::PressureInputs in =
        options.fixed_pressure ? *options.fixed_pressure : pressure_inputs(sample());
    std::lock_guard lock(sample_mu);
    pressure.update(in);
  }
  // The signal that holds the level where it is ("working_set", "psi_some"); empty at None.
  std::string pressure_cause() const {
    const memory::PressureLevel level = pressure.level();
    if (level == memory::PressureLevel::None) return {};
    for (memory::PressureSignal sig :
         {memory::PressureSignal::WorkingSet, memory::PressureSignal::PsiSome,
          memory::PressureSignal::Ledger}) {
      if (pressure.signal_level(sig) >= level) return memory::to_string(sig);
    }
    return "easing (dwell before the level falls)";
  }

  void routes();
  void post_job(const httplib::Request& req, httplib::Response& res);
  // A checked job ready for the store.
  struct Submission {
    json stored;  // what the store keeps (kind, sources or input made absolute)
    int64_t estimate_bytes = 0;
    double duration_seconds = 0;
  };
  // Each returns the submission, or fills `err` (and `reason`, the metrics' rejection reason).
  std::optional<Submission> render_submission(const json& request, ApiError& err,
                                              const char*& reason);
  std::optional<Submission> input_submission(const std::string& kind, const json& request,
                                             ApiError& err, const char*& reason);
  std::optional<Submission> checked(const BlueprintCheck& check, json stored, const char* what,
                                    ApiError& err, const char*& reason) const;
  // GET output: the job when it has succeeded; else the error is sent and the result is one.
  Result<JobRecord> finished_job(const std::string& id, httplib::Response& res);
  json image_index(const JobRecord& job) const;
  // `path` from disk in 64 KiB chunks, with Range; 410 when it is gone.
  void serve_file(const std::string& id, const std::string& path, const char* content_type,
                  httplib::Response& res);
  // `input` resolved inside a media root (422 naming "input" otherwise).
  std::optional<fs::path> resolve_input(const std::string& given, ApiError& err) const;
  Result<json> blueprint_of(const json& request, fs::path& base_dir, ApiError& err);
  bool rewrite_sources(json& blueprint, const fs::path& base_dir, ApiError& err) const;
  bool queue_full(ApiError& err);
  json memory_health();
  std::string metrics_text();
};

HttpApi::HttpApi(JobStore& store, JobRunner& runner, Metrics& metrics, ApiOptions options)
    : impl_(std::make_unique<Impl>(store, runner, metrics, std::move(options))) {
  for (fs::path& root : impl_->options.media_roots) {
    std::error_code ec;
    fs::path canonical = fs::canonical(root, ec);
    if (!ec) root = canonical;
  }
  impl_->routes();
  // One sample before the first request, so a server started under pressure refuses at once.
  impl_->sample_pressure();
  if (impl_->options.pressure_every.count() > 0) {
    impl_->sampler = std::jthread([impl = impl_.get()](std::stop_token stop) {
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      while (!stop.stop_requested()) {
        cv.wait_for(lock, stop, impl->options.pressure_every, [] { return false; });
        if (stop.stop_requested()) break;
        impl->sample_pressure();
      }
    });
  }
}

HttpApi::~HttpApi() = default;

void HttpApi::sample_pressure() {
  impl_->sample_pressure();
}

namespace {

// cpp-httplib 0.11 listens with a backlog of 5 and offers no setting for it. A burst of clients
// beyond that overflows the kernel's accept queue, and the overflowing handshakes are dropped:
// clients wait for SYN retransmits (a second each) or see resets (the load benchmark lost 1 of
// 100 concurrent submissions that way). listen() again on the listening socket only changes its
// backlog, so find the socket (ours, listening, on `port`) among this process's descriptors.
void raise_listen_backlog(int port, int backlog) {
  std::error_code ec;
  for (fs::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    char* rest = nullptr;
    const long fd = std::strtol(name.c_str(), &rest, 10);
    if (rest == nullptr || *rest != '\0') continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
        listening == 0) {
      continue;
    }
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) {
      continue;
    }
    const int bound = addr.ss_family == AF_INET
                          ? ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port)
                      : addr.ss_family == AF_INET6
                          ? ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port)
                          : -1;
    if (bound == port) ::listen(static_cast<int>(fd), backlog);
  }
}

}  // namespace

Result<int> HttpApi::bind(const std::string& host, int port) {
  const bool ok = port == 0 ? (port = impl_->server.bind_to_any_port(host)) > 0
                            : impl_->server.bind_to_port(host, port);
  if (!ok) {
    return make_error(ErrorCode::Io, "cannot listen on " + host + ":" + std::to_string(port) +
                                         " (in use, or not an address of this machine)");
  }
  raise_listen_backlog(port, impl_->options.listen_backlog);
  return port;
}

void HttpApi::run() {
  impl_->server.listen_after_bind();
}

void HttpApi::stop() {
  impl_->server.stop();
}

bool HttpApi::Impl::queue_full(ApiError& err) {
  Result<std::map<JobState, int64_t>> counts = store.count_by_state();
  if (!counts) {
    err = store_error(counts.error());
    return true;
  }
  if ((*counts)[JobState::Queued] >= options.max_queued) {
    err = {429,
           "queue_full",
           "the queue is full (" + std::to_string(options.max_queued) +
               " jobs waiting, --max-queued); retry later",
           {}};
    return true;
  }
  return false;
}

// The blueprint a request names: inline, or read from under a media root. `base_dir` is where
// its relative sources resolve.
Result<json> HttpApi::Impl::blueprint_of(const json& request, fs::path& base_dir, ApiError& err) {
  const bool has_inline = request.contains("blueprint");
  const bool has_path = request.contains("blueprint_path");
  const Error failed{ErrorCode::InvalidInput, ""};
  if (has_inline == has_path) {
    err = {400,
           "invalid_request",
           has_inline ? "give either blueprint or blueprint_path, not both"
                      : "a render job needs \"blueprint\" (an object) or \"blueprint_path\" (a "
                        "file under a media root)",
           {}};
    return failed;
  }
  if (has_inline) {
    if (!request["blueprint"].is_object()) {
      err = {400, "invalid_request", "blueprint must be a JSON object", {}};
      return failed;
    }
    base_dir = options.media_roots.front();
    return request["blueprint"];
  }
  if (!request["blueprint_path"].is_string()) {
    err = {400, "invalid_request", "blueprint_path must be a string", {}};
    return failed;
  }
  const std::string given = request["blueprint_path"].get<std::string>();
  const fs::path rel(given);
  std::optional<fs::path> found;
  bool escaped = false;
  for (const fs::path& root : options.media_roots) {
    std::error_code ec;
    const fs::path candidate = fs::weakly_canonical(rel.is_absolute() ? rel : root / rel, ec);
    if (ec) continue;
    if (!is_within(candidate, root)) {
      escaped = true;
      continue;
    }
    if (fs::is_regular_file(candidate, ec)) {
      found = candidate;
      break;
    }
  }
  if (!found) {
    if (escaped) {
      err = {403,
             "outside_media_roots",
             "blueprint_path " + given + " resolves outside every media root",
             {}};
    } else {
      err = {
          422, "not_found", "blueprint_path " + given + ": no such file under the media roots", {}};
    }
    return failed;
  }
  std::error_code ec;
  if (fs::file_size(*found, ec) > options.max_body_bytes) {
    err = {413,
           "too_large",
           "blueprint_path " + given + " is larger than " + std::to_string(options.max_body_bytes) +
               " bytes",
           {}};
    return failed;
  }
  std::ifstream in(*found, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  try {
    json blueprint = json::parse(text.str());
    if (!blueprint.is_object()) {
      err = {422, "invalid_blueprint", "blueprint_path " + given + " is not a JSON object", {}};
      return failed;
    }
    base_dir = found->parent_path();
    return blueprint;
  } catch (const json::parse_error& e) {
    err = {422,
           "invalid_blueprint",
           "blueprint_path " + given + ": malformed JSON at byte " + std::to_string(e.byte) + ": " +
               e.what(),
           {}};
    return failed;
  }
}

namespace {

bool is_url(const std::string& s) {
  const auto lower_prefix = [&](std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    }
    return true;
  };
  return lower_prefix("http://") || lower_prefix("https://");
}

}  // namespace

bool HttpApi::Impl::rewrite_sources(json& blueprint, const fs::path& base_dir,
                                    ApiError& err) const {
  if (!blueprint.contains("shots") || !blueprint["shots"].is_array())
    return true;  // validation says
  json details = json::array();
  json& shots = blueprint["shots"];
  for (std::size_t i = 0; i < shots.size(); ++i) {
    json& shot = shots[i];
    // A still's image is a file the render reads too, so it is held to the same roots.
    for (const char* field : {"source", "image"}) {
      if (!shot.is_object() || !shot.contains(field) || !shot[field].is_string()) continue;
      const std::string given = shot[field].get<std::string>();
      if (is_url(given)) {
        // The server renders only what its media roots hold; downloading is `leancut render
        // --remote`'s, where the caller chose to fetch (docs/api.md).
        details.push_back({{"path", "shots[" + std::to_string(i) + "]." + field},
                           {"message", given + " is an http(s) URL: the server renders only files "
                                               "inside its media roots (download it into one)"}});
        continue;
      }
      const fs::path p(given);
      std::error_code ec;
      // Resolves `..` and every symlink that exists, so a link pointing out of a root is caught.
      const fs::path resolved = fs::weakly_canonical(p.is_absolute() ? p : base_dir / p, ec);
      const bool inside =
          !ec && std::any_of(options.media_roots.begin(), options.media_roots.end(),
                             [&](const fs::path& root) { return is_within(resolved, root); });
      if (!inside) {
        details.push_back({{"path", "shots[" + std::to_string(i) + "]." + field},
                           {"message", given + " resolves outside the media roots"}});
        continue;
      }
      shot[field] = resolved.string();
    }
  }
  if (details.empty()) return true;
  err = {422, "source_outside_media_roots",
         details[0]["path"].get<std::string>() + ": " + details[0]["message"].get<std::string>() +
             (details.size() > 1 ? " (and " + std::to_string(details.size() - 1) + " more)" : ""),
         details};
  return false;
}

namespace {

// A list of problems as the error's details, and its message: "N problems, the first: PATH: ...".
ApiError problems_error(int status, std::string code, const std::vector<FieldProblem>& problems) {
  json details = json::array();
  for (const FieldProblem& p : problems)
    details.push_back({{"path", p.path}, {"message", p.message}});
  std::string message = std::to_string(problems.size()) + " problem" +
                        (problems.size() == 1 ? "" : "s") + ", the first: " + problems[0].path +
                        ": " + problems[0].message;
  return {status, std::move(code), std::move(message), std::move(details)};
}

}  // namespace

void HttpApi::Impl::post_job(const httplib::Request& req, httplib::Response& res) {
  // The body is already in memory (httplib read it, up to max_body_bytes); charged while handled.
  const memory::Lease body_lease =
      requests ? requests->charge_existing(static_cast<int64_t>(req.body.size())) : memory::Lease{};
  ApiError err;
  const auto refuse = [&](const char* reason) {
    metrics.count_rejection(reason);
    if (err.status == 429 || err.status == 503) {
      res.set_header("Retry-After", std::to_string(options.retry_after_seconds));
    }
    send_error(res, err);
  };
  if (!runner.snapshot().admitting) {
    err = {503, "shutting_down", "the server is shutting down; retry later", {}};
    return refuse("shutting_down");
  }
  json request;
  try {
    request = json::parse(req.body);
  } catch (const json::parse_error& e) {
    err = {400,
           "invalid_json",
           "malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what(),
           {}};
    return refuse("invalid");
  }
  if (!request.is_object()) {
    err = {400, "invalid_request", "the request must be a JSON object", {}};
    return refuse("invalid");
  }
  if (!request.contains("kind")) {
    err = {400, "missing_kind", std::string("missing \"kind\" (one of: ") + kKnownKinds + ")", {}};
    return refuse("invalid");
  }
  const std::string kind = request["kind"].is_string() ? request["kind"].get<std::string>() : "";
  if (kind != "render" && kind != "reframe" && kind != "frames") {
    err = {400,
           "unknown_kind",
           "unknown kind " + request["kind"].dump() + " (one of: " + kKnownKinds + ")",
           {}};
    return refuse("invalid");
  }
  // Cheap refusals before the expensive check (which probes every source).
  if (queue_full(err)) return refuse("queue_full");
  if (pressure.level() == memory::PressureLevel::Critical) {
    err = {503,
           "memory_pressure",
           "memory pressure is critical (" + pressure_cause() + "); no new jobs until it eases",
           {}};
    return refuse("memory_pressure");
  }
  const char* reason = "invalid";
  std::optional<Submission> submission = kind == "render"
                                             ? render_submission(request, err, reason)
                                             : input_submission(kind, request, err, reason);
  if (!submission) {
    if (err.status == 500) return send_error(res, err);
    return refuse(reason);
  }
  if (submission->duration_seconds > options.max_duration_seconds) {
    err = {422,
           "too_long",
           "the output would last " +
               std::to_string(static_cast<int64_t>(submission->duration_seconds)) +
               " s; this server renders " +
               std::to_string(static_cast<int64_t>(options.max_duration_seconds)) + " s at most",
           {}};
    return refuse("limit");
  }
  Result<JobRecord> job = [&]() -> Result<JobRecord> {
    std::lock_guard lock(enqueue_mu);
    if (queue_full(err)) return Error{ErrorCode::InvalidInput, ""};
    return store.enqueue(kind, submission->stored.dump(), submission->estimate_bytes);
  }();
  if (!job) {
    if (err.status == 429) return refuse("queue_full");
    send_error(res, store_error(job.error()));
    return;
  }
  runner.wake();
  res.set_header("Location", "/v1/jobs/" + job->id);
  send_json(
      res, 202,
      {{"id", job->id}, {"state", to_string(job->state)}, {"estimate_bytes", job->estimate_bytes}});
}

// The check's verdict as the submission, or the refusal in `err` (and `reason` for metrics).
std::optional<HttpApi::Impl::Submission> HttpApi::Impl::checked(const BlueprintCheck& check,
                                                                json stored, const char* what,
                                                                ApiError& err,
                                                                const char*& reason) const {
  if (!check.errors.empty()) {
    std::vector<FieldProblem> problems;
    for (const auto& [path, message] : check.errors) problems.push_back({path, message});
    err = problems_error(422, what, problems);
    return std::nullopt;
  }
  if (!check.fits) {
    err = {422, "over_budget", check.refusal, {}};
    reason = "over_budget";
    return std::nullopt;
  }
  return Submission{std::move(stored), check.estimate_bytes, check.duration_seconds};
}

std::optional<HttpApi::Impl::Submission> HttpApi::Impl::render_submission(const json& request,
                                                                          ApiError& err,
                                                                          const char*& reason) {
  fs::path base_dir;
  Result<json> blueprint = blueprint_of(request, base_dir, err);
  if (!blueprint) return std::nullopt;
  if (!rewrite_sources(*blueprint, base_dir, err)) return std::nullopt;
  if (blueprint->contains("shots") && (*blueprint)["shots"].is_array() &&
      static_cast<int64_t>((*blueprint)["shots"].size()) > options.max_shots) {
    err = {422,
           "too_many_shots",
           "shots: " + std::to_string((*blueprint)["shots"].size()) + " shots; this server takes " +
               std::to_string(options.max_shots) + " at most",
           {}};
    reason = "limit";
    return std::nullopt;
  }

  std::error_code ec;
  fs::create_directories(options.data_dir / "tmp", ec);
  const TempFile file(options.data_dir / "tmp" / ("check-" + random_hex(8) + ".json.partial"));
  {
    std::ofstream out(file.path(), std::ios::binary);
    out << blueprint->dump(2) << "\n";
    if (!out) {
      err = {500, "internal", "cannot write " + file.path().string(), {}};
      return std::nullopt;
    }
  }
  const BlueprintCheck check = options.check(file.path(), options.budget_bytes);
  json stored = {{"kind", "render"}, {"blueprint", *blueprint}};
  if (request.contains("blueprint_path")) stored["blueprint_path"] = request["blueprint_path"];
  return checked(check, std::move(stored), "invalid_blueprint", err, reason);
}

std::optional<fs::path> HttpApi::Impl::resolve_input(const std::string& given,
                                                     ApiError& err) const {
  // As an inline blueprint's sources: relative to the first root, symlinks and `..` resolved.
  const fs::path p(given);
  std::error_code ec;
  const fs::path resolved =
      fs::weakly_canonical(p.is_absolute() ? p : options.media_roots.front() / p, ec);
  const bool inside =
      !ec && std::any_of(options.media_roots.begin(), options.media_roots.end(),
                         [&](const fs::path& root) { return is_within(resolved, root); });
  if (!inside) {
    err = problems_error(422, "input_outside_media_roots",
                         {{"input", given + " resolves outside the media roots"}});
    return std::nullopt;
  }
  if (!fs::is_regular_file(resolved, ec)) {
    err = problems_error(422, "not_found",
                         {{"input", given + ": no such file under the media roots"}});
    return std::nullopt;
  }
  return resolved;
}

std::optional<HttpApi::Impl::Submission> HttpApi::Impl::input_submission(const std::string& kind,
                                                                         const json& request,
                                                                         ApiError& err,
                                                                         const char*& reason) {
  FieldProblems problems;
  std::optional<ReframeJob> reframe;
  std::optional<FramesJob> frames;
  if (kind == "reframe") {
    reframe = parse_reframe(request, problems);
  } else {
    frames = parse_frames(request, problems);
  }
  if (!problems.malformed.empty()) {
    err = problems_error(400, "invalid_request", problems.malformed);
    return std::nullopt;
  }
  if (!problems.invalid.empty()) {
    err = problems_error(422, "invalid_job", problems.invalid);
    return std::nullopt;
  }
  std::optional<fs::path> input = resolve_input(request["input"].get<std::string>(), err);
  if (!input) return std::nullopt;
  if (reframe) {
    reframe->input = *input;
    if (!options.check_reframe) {
      err = {500, "internal", "this server cannot check reframe jobs", {}};
      return std::nullopt;
    }
    return checked(options.check_reframe(*reframe, options.budget_bytes), stored_json(*reframe),
                   "invalid_job", err, reason);
  }
  frames->input = *input;
  if (!options.check_frames) {
    err = {500, "internal", "this server cannot check frames jobs", {}};
    return std::nullopt;
  }
  return checked(options.check_frames(*frames, options.budget_bytes), stored_json(*frames),
                 "invalid_job", err, reason);
}

json HttpApi::Impl::memory_health() {
  const memory::Sample s = sample();
  const JobRunner::Snapshot r = runner.snapshot();
  const memory::PressureLevel level = pressure.level();
  json out = {
      {"rss_bytes", s.rss_bytes},
      {"budget_bytes", options.budget_bytes},
      {"budget_from", options.budget_from},
      {"reserved_bytes", r.reserved_bytes},
      {"available_bytes", std::max<int64_t>(0, options.budget_bytes - r.reserved_bytes)},
      {"cgroup_version", memory::to_string(s.cgroup_version)},
      {"mem_total_bytes", s.mem_total_bytes},
      {"jobs", {{"running", r.running}, {"max_running", options.max_running}}},
      {"pressure_level", memory::to_string(level)},
      {"admission", !r.admitting                               ? "closed (shutting down)"
                    : level == memory::PressureLevel::Critical ? "closed (critical pressure)"
                                                               : "open"}};
  if (level != memory::PressureLevel::None) out["pressure_cause"] = pressure_cause();
  const memory::PressureInputs in =
      options.fixed_pressure ? *options.fixed_pressure : pressure_inputs(s);
  if (in.working_set_ratio) out["working_set_ratio"] = *in.working_set_ratio;
  // The server's ledger: what it has reserved for jobs (one account per running job) and what it
  // holds itself (probe cache, request bodies). Each job's own ledger is in its report.
  if (options.ledger != nullptr) {
    json ledger = json::array();
    for (const memory::AccountStats& a : options.ledger->subtree_stats()) {
      json entry = {
          {"account", a.path}, {"current_bytes", a.current_bytes}, {"peak_bytes", a.peak_bytes}};
      if (a.limit_bytes != memory::kNoLimit) entry["limit_bytes"] = a.limit_bytes;
      if (a.refusals > 0) entry["refusals"] = a.refusals;
      ledger.push_back(std::move(entry));
    }
    out["ledger"] = ledger;
  }
  if (options.cache_stats) {
    const memory::CacheStats c = options.cache_stats();
    const int64_t lookups = c.hits + c.misses;
    out["probe_cache"] = {
        {"entries", c.entries},
        {"bytes", c.bytes},
        {"hits", c.hits},
        {"misses", c.misses},
        {"hit_rate",
         lookups > 0 ? static_cast<double>(c.hits) / static_cast<double>(lookups) : 0.0}};
  }
  // The reservations by job: the server's ledger (each job's own is in its report).
  json reservations = json::array();
  for (const JobRunner::RunningJob& j : r.jobs) {
    reservations.push_back({{"id", j.id},
                            {"reservation_bytes", j.reservation_bytes},
                            {"estimate_bytes", j.estimate_bytes},
                            {"pid", j.pid},
                            {"limit", j.limit}});
  }
  out["reservations"] = reservations;
  if (s.cgroup.limit_bytes) out["cgroup_limit_bytes"] = *s.cgroup.limit_bytes;
  if (s.psi_some_avg10) out["psi_some_avg10"] = *s.psi_some_avg10;
  if (Result<std::map<JobState, int64_t>> c = store.count_by_state(); c) {
    out["jobs"]["queued"] = (*c)[JobState::Queued];
    out["jobs"]["max_queued"] = options.max_queued;
  }
  return out;
}

std::string HttpApi::Impl::metrics_text() {
  const memory::Sample s = sample();
  const JobRunner::Snapshot r = runner.snapshot();
  MetricsSnapshot now{.rss_bytes = s.rss_bytes,
                      .budget_bytes = options.budget_bytes,
                      .reserved_bytes = r.reserved_bytes,
                      .running = r.running,
                      .max_running = options.max_running,
                      .admitting = r.admitting,
                      .jobs = {},
                      .psi_some_avg10 = s.psi_some_avg10,
                      .pressure_level = static_cast<int>(pressure.level())};
  if (options.cache_stats) {
    const memory::CacheStats c = options.cache_stats();
    now.server_cache_hits = c.hits;
    now.server_cache_misses = c.misses;
  }
  if (options.ledger != nullptr) {
    for (const memory::AccountStats& a : options.ledger->subtree_stats()) {
      // Per-job accounts come and go; their sum is "server/jobs", which has a stable name.
      if (std::count(a.path.begin(), a.path.end(), '/') > 1) continue;
      now.ledger.push_back({a.path, a.current_bytes,
                            a.limit_bytes == memory::kNoLimit ? int64_t{-1} : a.limit_bytes});
    }
  }
  if (Result<std::map<JobState, int64_t>> c = store.count_by_state(); c) now.jobs = *c;
  return metrics.render(now);
}

void HttpApi::Impl::routes() {
  const int threads = std::max(1, options.threads);
  const std::size_t max_pending = static_cast<std::size_t>(std::max(1, options.max_pending));
  // httplib's interface hands it a raw pointer, which it owns and deletes.
  server.new_task_queue = [threads, max_pending] {
    return new BoundedThreadPool(threads, max_pending);
  };
  server.set_payload_max_length(options.max_body_bytes);
  server.set_read_timeout(std::chrono::seconds(10));
  server.set_write_timeout(std::chrono::seconds(30));

  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options.token.empty() || req.path == "/health")
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.rfind(prefix, 0) == 0 && same_secret(auth.substr(prefix.size()), options.token)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, {401,
                     "unauthorized",
                     auth.empty() ? "this server needs \"Authorization: Bearer TOKEN\""
                                  : "the bearer token is not this server's",
                     {}});
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses httplib sets itself (no route, body too large, bad request line) get our JSON too.
  server.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      send_error(res, {413,
                       "too_large",
                       "the request body is larger than " + std::to_string(options.max_body_bytes) +
                           " bytes",
                       {}});
    } else if (res.status == 404) {
      send_error(res, {404, "no_route", "no route " + req.method + " " + req.path, {}});
    } else {
      send_error(res, {res.status, "http_" + std::to_string(res.status), "request failed", {}});
    }
  });

  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}});
  });
  server.Get("/health/memory", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, memory_health());
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  });
  server.Post("/v1/jobs",
              [this](const httplib::Request& req, httplib::Response& res) { post_job(req, res); });
  server.Get("/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<JobState> state;
    if (req.has_param("state")) {
      state = parse_job_state(req.get_param_value("state"));
      if (!state) {
        return send_error(res, {400,
                                "invalid_request",
                                "unknown state '" + req.get_param_value("state") +
                                    "' (queued, running, succeeded, failed, canceled)",
                                {}});
      }
    }
    int64_t limit = 100;
    if (req.has_param("limit")) {
      limit = std::clamp<int64_t>(std::atoll(req.get_param_value("limit").c_str()), 1, 1000);
    }
    Result<std::vector<JobRecord>> jobs = store.list(state, limit);
    if (!jobs) return send_error(res, store_error(jobs.error()));
    json list = json::array();
    for (const JobRecord& j : *jobs) list.push_back(job_json(j));
    send_json(res, 200, {{"jobs", list}});
  });
  server.Get(R"(/v1/jobs/([0-9a-f]{32}))",
             [this](const httplib::Request& req, httplib::Response& res) {
               Result<JobRecord> job = store.get(req.matches[1].str());
               if (!job) return send_error(res, store_error(job.error()));
               send_json(res, 200, job_json(*job));
             });
  server.Delete(R"(/v1/jobs/([0-9a-f]{32}))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  const std::string id = req.matches[1].str();
                  Result<JobRecord> job = store.get(id);
                  if (!job) return send_error(res, store_error(job.error()));
                  if (job->state == JobState::Succeeded || job->state == JobState::Failed) {
                    return send_error(res, {409,
                                            "already_finished",
                                            "job " + id + " is " + to_string(job->state) +
                                                "; only queued or running jobs can be canceled",
                                            {}});
                  }
                  Result<JobRecord> after = store.request_cancel(id);
                  if (!after) return send_error(res, store_error(after.error()));
                  if (after->state == JobState::Running) {
                    runner.request_cancel(id);
                    return send_json(res, 202, job_json(*after));  // stops within the kill grace
                  }
                  send_json(res, 200, job_json(*after));
                });
  server.Get(R"(/v1/jobs/([0-9a-f]{32})/output)",
             [this](const httplib::Request& req, httplib::Response& res) {
               Result<JobRecord> job = finished_job(req.matches[1].str(), res);
               if (!job) return;
               if (job->kind == "frames") return send_json(res, 200, image_index(*job));
               serve_file(job->id, job->output_path, "video/mp4", res);
             });
  // One image of a frames job. The name is one path component of letters, digits, '_' and '.'
  // (never starting with a dot), so it cannot leave the job's folder.
  server.Get(R"(/v1/jobs/([0-9a-f]{32})/output/([A-Za-z0-9_][A-Za-z0-9_.]*))", [this](
                                                                                   const httplib::
                                                                                       Request& req,
                                                                                   httplib::
                                                                                       Response&
                                                                                           res) {
    Result<JobRecord> job = finished_job(req.matches[1].str(), res);
    if (!job) return;
    const std::string name = req.matches[2].str();
    if (job->kind != "frames") {
      return send_error(res, {404,
                              "not_found",
                              "job " + job->id + " is a " + job->kind +
                                  " job: its output is one file, at /output",
                              {}});
    }
    const fs::path file = fs::path(job->output_path) / name;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      if (!fs::is_directory(job->output_path, ec)) {
        return send_error(
            res,
            {410, "output_gone", "job " + job->id + ": the output was removed (TTL cleanup)", {}});
      }
      return send_error(res, {404, "not_found", "job " + job->id + " has no image " + name, {}});
    }
    serve_file(job->id, file.string(), file.extension() == ".png" ? "image/png" : "image/jpeg",
               res);
  });
}

Result<JobRecord> HttpApi::Impl::finished_job(const std::string& id, httplib::Response& res) {
  Result<JobRecord> job = store.get(id);
  if (!job) {
    send_error(res, store_error(job.error()));
    return job;
  }
  if (job->state != JobState::Succeeded) {
    send_error(res, {409,
                     "no_output",
                     "job " + id + " is " + to_string(job->state) +
                         "; its output exists once it has succeeded",
                     {}});
    return Error{ErrorCode::InvalidInput, "no output"};
  }
  return job;
}

json HttpApi::Impl::image_index(const JobRecord& job) const {
  // Sorted by name, which is the order they were taken in (frame_000000.jpg, ...).
  std::vector<std::pair<std::string, std::uintmax_t>> files;
  std::error_code ec;
  for (fs::directory_iterator it(job.output_path, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !it->is_regular_file(ec)) continue;  // temp files
    files.emplace_back(name, it->file_size(ec));
  }
  std::sort(files.begin(), files.end());
  json images = json::array();
  for (const auto& [name, size] : files) {
    images.push_back(
        {{"name", name}, {"size_bytes", size}, {"url", "/v1/jobs/" + job.id + "/output/" + name}});
  }
  return {{"id", job.id}, {"kind", job.kind}, {"count", images.size()}, {"images", images}};
}

void HttpApi::Impl::serve_file(const std::string& id, const std::string& path,
                               const char* content_type, httplib::Response& res) {
  // Shared by the copies httplib makes of the provider; the last one closes the file.
  auto file = std::make_shared<OpenFile>(path);
  if (file->fd < 0) {
    return send_error(
        res, {410, "output_gone", "job " + id + ": the output was removed (TTL cleanup)", {}});
  }
  const off_t size = ::lseek(file->fd, 0, SEEK_END);
  // A sized provider: httplib answers Range requests by asking for just those bytes.
  res.set_content_provider(static_cast<std::size_t>(size), content_type,
                           [file](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             constexpr std::size_t kChunk = 64 * 1024;
                             char buf[kChunk];
                             const ssize_t n = ::pread(file->fd, buf, std::min(length, kChunk),
                                                       static_cast<off_t>(offset));
                             if (n <= 0) return false;
                             return sink.write(buf, static_cast<std::size_t>(n));
                           });
  res.set_header("Accept-Ranges", "bytes");
}

}  // namespace leancut::server
