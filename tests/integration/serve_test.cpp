// `leancut serve` as a real process on loopback: submit, poll, download (decoded and checked),
// Range, cancel, kill -9 mid-render and restart (the job re-runs to success), admission by
// memory (the second job waits, never over-committing), /metrics through promtool, and nothing
// left behind (no child process, no temp file) after shutdown; the reframe and frames kinds, each
// downloaded and checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "media/decode_helper.h"
#include "memory/cgroup.h"
#include "support/subprocess.h"
#include "support/test_media_env.h"

namespace leancut::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

const void* const kMediaEnv = register_test_media_environment();

// Shots of the standard media, relative to the media root (the server resolves them).
std::string blueprint(int shots, double seconds, const std::string& size = "320, \"height\": 180") {
  std::string list;
  for (int i = 0; i < shots; ++i) {
    if (i > 0) list += ",";
    list += std::string(R"({"source": ")") + (i % 2 == 0 ? "a_720p30.mp4" : "b_1080p25.mp4") +
            R"(", "in": 0, "out": )" + std::to_string(seconds) + "}";
  }
  return R"({"version": 1, "output": {"width": )" + size +
         R"(, "fps": 30, "video": {"preset": "ultrafast"}}, "shots": [)" + list + "]}";
}

std::string job_request(const std::string& bp) {
  return R"({"kind": "render", "blueprint": )" + bp + "}";
}

// The value of the sample `name_and_labels` in a Prometheus text exposition; -1 when absent.
int64_t metric_value(const std::string& text, const std::string& name_and_labels) {
  const std::string needle = "\n" + name_and_labels + " ";
  const std::size_t at = text.find(needle);
  if (at == std::string::npos) return -1;
  return std::atoll(text.c_str() + at + needle.size());
}

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    if (leancut_binary().empty()) GTEST_SKIP() << "LEANCUT_BINARY is not set";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-serve-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (server_) stop_server(SIGKILL);
    std::error_code ec;
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_, ec);
  }

  // Starts `leancut serve` on a free port; waits for its "listening on" line.
  void start_server(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {leancut_binary(),
                                     "serve",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--data-dir",
                                     (dir_ / "data").string(),
                                     "--media-root",
                                     test_media_dir().string(),
                                     "--kill-grace-seconds",
                                     "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Child>(Child::spawn(argv));
    ASSERT_TRUE(server_->running());
    std::optional<std::string> line = server_->read_stdout_line(30000);
    ASSERT_TRUE(line) << "no listening line; stderr: " << server_->wait(5000).err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*line, m, std::regex("listening on http://127.0.0.1:([0-9]+)")))
        << *line;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", std::stoi(m[1]));
    client_->set_read_timeout(30, 0);
  }
  // Signals the server and reaps it.
  ProcessResult stop_server(int sig) {
    server_->signal(sig);
    ProcessResult r = server_->wait(30000);
    server_.reset();
    client_.reset();
    return r;
  }

  json get(const std::string& path) {
    auto r = client_->Get(path);
    if (!r) {
      ADD_FAILURE() << "GET " << path << ": " << httplib::to_string(r.error());
      return json();
    }
    return json::parse(r->body, nullptr, false);
  }
  std::pair<int, json> post(const std::string& body) {
    auto r = client_->Post("/v1/jobs", body, "application/json");
    if (!r) {
      ADD_FAILURE() << "POST: " << httplib::to_string(r.error());
      return {0, json()};
    }
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  // Polls GET /v1/jobs/ID until `pred` (or the timeout); returns the last record.
  json wait_job(const std::string& id, const std::function<bool(const json&)>& pred,
                std::chrono::seconds timeout = 120s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json job;
    for (;;) {
      job = get("/v1/jobs/" + id);
      if (pred(job) || std::chrono::steady_clock::now() > deadline) return job;
      std::this_thread::sleep_for(100ms);
    }
  }
  static bool is_final(const json& j) {
    const std::string s = j.value("state", "");
    return s == "succeeded" || s == "failed" || s == "canceled";
  }

  // Processes whose command line mentions the data dir: the server's children.
  std::vector<std::string> processes_under_data_dir() {
    std::vector<std::string> out;
    const std::string needle = (dir_ / "data").string();
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string pid = e.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in(e.path() / "cmdline", std::ios::binary);
      std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      for (char& c : cmd) c = c == '\0' ? ' ' : c;
      // Not the server itself (its --data-dir) nor a zombie (empty cmdline).
      if (cmd.find(needle + "/jobs/") != std::string::npos) out.push_back(pid + ": " + cmd);
    }
    return out;
  }
  std::vector<std::string> temp_files() {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "data")) {
      const std::string name = e.path().filename().string();
      // Renders' temp files, and anything in tmp/ (the blueprint checks' files).
      if (name.find(".partial") != std::string::npos ||
          e.path().parent_path().filename() == "tmp") {
        out.push_back(e.path().string());
      }
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Child> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(Serve, SubmitPollDownloadWithRangeAndMetrics) {
  start_server();
  EXPECT_EQ(get("/health")["status"], "ok");
  auto [status, body] = post(job_request(blueprint(2, 1.0)));
  ASSERT_EQ(status, 202) << body.dump();
  const std::string id = body["id"];
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(body["state"], "queued");
  EXPECT_GT(body["estimate_bytes"].get<int64_t>(), 0);

  const json job = wait_job(id, is_final);
  ASSERT_EQ(job["state"], "succeeded") << job.dump(2);
  EXPECT_GT(job.value("peak_bytes", int64_t{0}), 0);
  EXPECT_EQ(job["progress"]["frames"], 60);

  auto out = client_->Get("/v1/jobs/" + id + "/output");
  ASSERT_TRUE(out);
  ASSERT_EQ(out->status, 200);
  const fs::path file = dir_ / "download.mp4";
  std::ofstream(file, std::ios::binary) << out->body;
  auto decoded = media::testing::decode_file(file);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_NE(decoded->video(), nullptr);
  EXPECT_EQ(decoded->video()->frames, 60);
  EXPECT_EQ(decoded->video()->width, 320);

  ASSERT_GT(out->body.size(), 2000u);
  auto part =
      client_->Get("/v1/jobs/" + id + "/output", {httplib::make_range_header({{1000, 1999}})});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, out->body.substr(1000, 1000));

  // Bad input over the wire too.
  auto [bad, err] = post(R"({"kind": "render", "blueprint": {"version": 1, "shots": [
      {"source": "../../etc/passwd", "in": 0, "out": 1}]}})");
  EXPECT_EQ(bad, 422);
  EXPECT_THAT(err["error"].value("message", ""), HasSubstr("shots[0].source"));
  auto [invalid, errs] = post(job_request(
      R"({"version": 1, "output": {"width": 320, "height": 180}, "shots": [
          {"source": "a_720p30.mp4", "in": 0, "out": 999}]})"));
  EXPECT_EQ(invalid, 422);
  EXPECT_THAT(errs["error"].value("message", ""), HasSubstr("shots[0].out"));
  EXPECT_THAT(errs["error"].value("message", ""), HasSubstr("past the end"));

  // /metrics passes promtool (a missing promtool fails the test: install-deps installs it).
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(::access("/usr/bin/promtool", X_OK), 0) << "promtool is missing";
  const fs::path m = dir_ / "metrics.txt";
  std::ofstream(m, std::ios::binary) << metrics->body;
  ProcessResult check =
      run_process({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + m.string()}, 30000);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << metrics->body;
  EXPECT_THAT(metrics->body, HasSubstr("leancut_server_jobs{state=\"succeeded\"} 1"));
  EXPECT_THAT(metrics->body, HasSubstr("leancut_server_job_peak_memory_bytes_count 1"));
  // The job's frame pool and caches, from its report; the server's own probe cache: the first
  // submission probed both sources (misses), the invalid one found a_720p30.mp4 cached (a hit).
  EXPECT_GE(metric_value(metrics->body, "leancut_frame_pool_acquired_frames_total"), 60);
  EXPECT_GT(metric_value(metrics->body, "leancut_frame_pool_reused_frames_total"), 0);
  EXPECT_EQ(metric_value(metrics->body,
                         "leancut_cache_lookups_total{cache=\"probes\",process="
                         "\"server\",result=\"miss\"}"),
            2);
  EXPECT_GE(metric_value(metrics->body,
                         "leancut_cache_lookups_total{cache=\"probes\",process="
                         "\"server\",result=\"hit\"}"),
            1);
  EXPECT_EQ(metric_value(metrics->body, "leancut_server_ledger_bytes{account=\"server/jobs\"}"), 0);
  // /health/memory: the server's ledger by account (nothing reserved now; the cache holds two
  // probes).
  const json health = get("/health/memory");
  std::map<std::string, json> accounts;
  for (const json& a : health["ledger"]) accounts[a["account"]] = a;
  ASSERT_EQ(accounts.count("server/jobs"), 1u) << health.dump(2);
  EXPECT_EQ(accounts["server/jobs"]["current_bytes"], 0);
  EXPECT_GT(accounts["server/jobs"]["peak_bytes"].get<int64_t>(), 0);  // the job's reservation
  ASSERT_EQ(accounts.count("server/probe_cache"), 1u) << health.dump(2);
  EXPECT_GT(accounts["server/probe_cache"]["current_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(health["probe_cache"]["entries"], 2);

  ProcessResult r = stop_server(SIGTERM);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(processes_under_data_dir(), ::testing::IsEmpty());
  EXPECT_THAT(temp_files(), ::testing::IsEmpty());
}

TEST_F(Serve, CancelARunningJob) {
  start_server();
  auto [status, body] = post(job_request(blueprint(12, 5.0, "1280, \"height\": 720")));
  ASSERT_EQ(status, 202) << body.dump();
  const std::string id = body["id"];
  json job = wait_job(
      id, [](const json& j) { return j["progress"].value("frames", 0) > 0 || Serve::is_final(j); });
  ASSERT_EQ(job["state"], "running") << job.dump(2);
  auto del = client_->Delete("/v1/jobs/" + id);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 202) << del->body;
  job = wait_job(id, is_final, 30s);
  EXPECT_EQ(job["state"], "canceled") << job.dump(2);
  EXPECT_THAT(processes_under_data_dir(), ::testing::IsEmpty());
  EXPECT_THAT(temp_files(), ::testing::IsEmpty());
  ProcessResult r = stop_server(SIGTERM);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(Serve, KillNineMidRenderThenRestartReRunsTheJobToSuccess) {
  start_server();
  auto [status, body] = post(job_request(blueprint(8, 5.0)));
  ASSERT_EQ(status, 202) << body.dump();
  const std::string id = body["id"];
  json job = wait_job(
      id, [](const json& j) { return j["progress"].value("frames", 0) > 0 || Serve::is_final(j); });
  ASSERT_EQ(job["state"], "running") << "the render finished too soon to be interrupted";
  stop_server(SIGKILL);
  // The child dies with the server (PR_SET_PDEATHSIG); give the kernel a moment.
  for (int i = 0; i < 50 && !processes_under_data_dir().empty(); ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_THAT(processes_under_data_dir(), ::testing::IsEmpty());

  start_server();
  job = wait_job(id, is_final, 180s);
  ASSERT_EQ(job["state"], "succeeded") << job.dump(2);
  EXPECT_EQ(job["attempts"], 1);
  // The killed attempt's child cgroup (named after the job and attempt) was removed at startup.
  const memory::CgroupInfo cg = memory::resolve_cgroup(memory::SysRoot{});
  if (!cg.memory.group.empty()) {
    EXPECT_FALSE(fs::exists(cg.memory.group / ("leancut-job-" + id + "-0")));
    EXPECT_FALSE(fs::exists(cg.memory.group / ("leancut-job-" + id + "-1")));
  }
  EXPECT_EQ(job["progress"]["frames"], 8 * 150);
  auto decoded = media::testing::decode_file(dir_ / "data" / "jobs" / id / "output.mp4");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->video()->frames, 8 * 150);
  ProcessResult r = stop_server(SIGTERM);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(processes_under_data_dir(), ::testing::IsEmpty());
  EXPECT_THAT(temp_files(), ::testing::IsEmpty());
}

TEST_F(Serve, SecondJobWaitsQueuedUntilMemoryIsFree) {
  // The planner's estimate of this job, as the server will make it (same code, same machine).
  const fs::path bp = dir_ / "long.json";
  const std::string long_bp = blueprint(12, 5.0, "1280, \"height\": 720");
  std::ofstream(bp) << long_bp;
  // The plan process resolves relative sources against the blueprint's folder: use absolute.
  std::string abs_bp = std::regex_replace(long_bp, std::regex("\"([a-z0-9_]+\\.mp4)\""),
                                          "\"" + test_media_dir().string() + "/$1\"");
  std::ofstream(bp) << abs_bp;
  ProcessResult plan =
      run_process({leancut_binary(), "plan", bp.string(), "--json", "--memory", "8G"}, 60000);
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  const int64_t peak = json::parse(plan.out)["peak_bytes"].get<int64_t>();
  // One job's reservation (estimate + 10%, >= 16 MiB) fits; two do not.
  const int64_t budget = peak * 16 / 10;
  start_server({"--memory", std::to_string(budget), "--max-running", "4"});

  const std::string a = post(job_request(long_bp)).second["id"];
  const std::string b = post(job_request(long_bp)).second["id"];
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  json ja = wait_job(a, [](const json& j) { return j["state"] != "queued"; });
  ASSERT_EQ(ja["state"], "running") << ja.dump(2);
  // The store says running once the job is claimed; the runner counts it once its child started.
  for (int i = 0; i < 100 && get("/health/memory")["jobs"]["running"] != 1; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  for (int i = 0; i < 10; ++i) {
    const json jb = get("/v1/jobs/" + b);
    EXPECT_EQ(jb["state"], "queued") << "over-committed: " << jb.dump(2);
    const json health = get("/health/memory");
    EXPECT_LE(health["reserved_bytes"].get<int64_t>(), budget) << health.dump(2);
    EXPECT_EQ(health["jobs"]["running"], 1) << health.dump(2);
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(client_->Delete("/v1/jobs/" + a)->status, 202);
  json jb = wait_job(
      b, [](const json& j) { return j["state"] != "queued"; }, 30s);
  EXPECT_EQ(jb["state"], "running") << jb.dump(2);
  ProcessResult r = stop_server(SIGTERM);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(processes_under_data_dir(), ::testing::IsEmpty());
  EXPECT_THAT(temp_files(), ::testing::IsEmpty());
}

TEST_F(Serve, DrainLetsTheRunningJobFinishBeforeExiting) {
  start_server({"--drain", "--max-running", "1"});
  auto [status, body] = post(job_request(blueprint(4, 2.0)));
  ASSERT_EQ(status, 202) << body.dump();
  const std::string id = body["id"];
  auto [status2, body2] = post(job_request(blueprint(1, 1.0)));
  ASSERT_EQ(status2, 202) << body2.dump();
  const std::string queued = body2["id"];
  json job = wait_job(id, [](const json& j) { return j["state"] != "queued"; });
  ASSERT_EQ(job["state"], "running") << job.dump(2);
  server_->signal(SIGTERM);
  // Still answering while it drains; new work is refused.
  std::this_thread::sleep_for(300ms);
  auto refused = client_->Post("/v1/jobs", job_request(blueprint(1, 1.0)), "application/json");
  if (refused) {  // no answer: the drain was already over and the server gone
    EXPECT_EQ(refused->status, 503) << refused->body;
  }
  ProcessResult r = server_->wait(120000);
  server_.reset();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(processes_under_data_dir(), ::testing::IsEmpty());
  EXPECT_THAT(temp_files(), ::testing::IsEmpty());
  start_server({"--max-running", "0"});  // 0 = the default; the queued job may start again
  EXPECT_EQ(get("/v1/jobs/" + id)["state"], "succeeded");
  EXPECT_EQ(get("/v1/jobs/" + queued)["attempts"], 0);
}

TEST_F(Serve, TokenBodyLimitMalformedJsonAndSymlinkEscapeOverTheWire) {
  const fs::path media = dir_ / "media";
  fs::create_directories(media);
  // Inside the second root: allowed. Out of every root: refused, naming the shot.
  fs::create_symlink(test_media_dir() / "a_720p30.mp4", media / "clip.mp4");
  fs::create_symlink("/etc/hostname", media / "escape.mp4");
  std::ofstream(dir_ / "token") << "t0ken\n";
  start_server({"--token-file", (dir_ / "token").string(), "--media-root", media.string(),
                "--max-body", "64K"});
  // start_server's own --media-root (the test media) comes first; ours second. Relative
  // sources resolve against the first.
  EXPECT_EQ(client_->Get("/health")->status, 200);
  auto r = client_->Get("/v1/jobs");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_THAT(r->body, HasSubstr("Bearer"));
  client_->set_bearer_token_auth("t0ken");
  EXPECT_EQ(client_->Get("/v1/jobs")->status, 200);

  r = client_->Post("/v1/jobs", std::string(100 << 10, ' '), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  r = client_->Post("/v1/jobs", R"({"kind": "render", "blueprint": [1, 2,]})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr("at byte 39"));

  const std::string bp = R"({"version": 1, "output": {"width": 320, "height": 180,
      "video": {"preset": "ultrafast"}}, "shots": [
      {"source": ")" + (media / "clip.mp4").string() +
                         R"(", "in": 0, "out": 1},
      {"source": ")" + (media / "escape.mp4").string() +
                         R"(", "in": 0, "out": 1}]})";
  auto [status, body] = post(job_request(bp));
  EXPECT_EQ(status, 422) << body.dump();
  EXPECT_THAT(body["error"].value("message", ""), HasSubstr("shots[1].source"));
  EXPECT_EQ(body["error"]["details"].size(), 1u) << body.dump();
  ProcessResult stopped = stop_server(SIGTERM);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
}

TEST_F(Serve, FullQueueIs429AndCriticalPressureIs503WithRetryAfter) {
  // Pressure held critical (PSI some avg10 50%): every submission is refused, none accepted.
  start_server({"--simulate-pressure", "psi=50"});
  auto r = client_->Post("/v1/jobs", job_request(blueprint(1, 1.0)), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "5");
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "memory_pressure");
  json health = get("/health/memory");
  EXPECT_EQ(health["pressure_level"], "critical");
  EXPECT_EQ(health["pressure_cause"], "psi_some");
  EXPECT_EQ(health["admission"], "closed (critical pressure)");
  EXPECT_EQ(get("/v1/jobs")["jobs"].size(), 0u);
  EXPECT_EQ(stop_server(SIGTERM).exit_code, 0);

  // One running, one queued (--max-queued 1): the third is refused with 429, not dropped later.
  start_server({"--max-running", "1", "--max-queued", "1"});
  const std::string running =
      post(job_request(blueprint(12, 5.0, "1280, \"height\": 720"))).second.value("id", "");
  ASSERT_FALSE(running.empty());
  ASSERT_EQ(wait_job(running, [](const json& j) { return j["state"] != "queued"; })["state"],
            "running");
  auto [queued_status, queued] = post(job_request(blueprint(1, 1.0)));
  ASSERT_EQ(queued_status, 202) << queued.dump();
  r = client_->Post("/v1/jobs", job_request(blueprint(1, 1.0)), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "5");
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "queue_full");
  EXPECT_EQ(get("/v1/jobs")["jobs"].size(), 2u);  // the refused one left nothing behind
  const std::string metrics = client_->Get("/metrics")->body;
  EXPECT_EQ(
      metric_value(metrics, "leancut_server_admission_rejections_total{reason=\"queue_full\"}"), 1);
  ASSERT_EQ(client_->Delete("/v1/jobs/" + queued["id"].get<std::string>())->status, 200);
  ASSERT_EQ(client_->Delete("/v1/jobs/" + running)->status, 202);
  EXPECT_EQ(wait_job(running, is_final, 30s)["state"], "canceled");
  EXPECT_EQ(stop_server(SIGTERM).exit_code, 0);
  EXPECT_THAT(processes_under_data_dir(), ::testing::IsEmpty());
  EXPECT_THAT(temp_files(), ::testing::IsEmpty());
}

TEST_F(Serve, AnOutputPastMaxOutputBytesFailsTheJobAndLeavesNothing) {
  start_server({"--max-output-bytes", "16K"});
  auto [status, body] = post(job_request(blueprint(2, 2.0)));
  ASSERT_EQ(status, 202) << body.dump();
  const json job = wait_job(body["id"], is_final);
  EXPECT_EQ(job["state"], "failed") << job.dump(2);
  EXPECT_THAT(job.value("error", ""), HasSubstr("SIGXFSZ"));
  EXPECT_THAT(job.value("error", ""), HasSubstr("--max-output-bytes"));
  EXPECT_FALSE(fs::exists(dir_ / "data" / "jobs" / body["id"].get<std::string>() / "output.mp4"));
  EXPECT_EQ(stop_server(SIGTERM).exit_code, 0);
  EXPECT_THAT(temp_files(), ::testing::IsEmpty());
}

TEST_F(Serve, ReframeJobToNineBySixteenDecodesToItsSizeAndEveryFrame) {
  start_server();
  auto [status, body] = post(R"({"kind": "reframe", "input": "c_360p24.mp4", "aspect": "9:16",
                                 "size": "180x320", "focus": [0.25, 0.5]})");
  ASSERT_EQ(status, 202) << body.dump();
  const std::string id = body["id"];
  EXPECT_GT(body["estimate_bytes"].get<int64_t>(), 0) << "planned as a render";
  const json job = wait_job(id, is_final);
  ASSERT_EQ(job["state"], "succeeded") << job.dump(2);
  EXPECT_EQ(job["kind"], "reframe");
  EXPECT_GT(job.value("peak_bytes", int64_t{0}), 0) << "from its report";
  EXPECT_EQ(job["progress"]["frames"], 240);

  auto out = client_->Get("/v1/jobs/" + id + "/output");
  ASSERT_TRUE(out);
  ASSERT_EQ(out->status, 200);
  const fs::path file = dir_ / "reframed.mp4";
  std::ofstream(file, std::ios::binary) << out->body;
  auto decoded = media::testing::decode_file(file);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_NE(decoded->video(), nullptr);
  EXPECT_EQ(decoded->video()->width, 180);
  EXPECT_EQ(decoded->video()->height, 320);
  EXPECT_EQ(decoded->video()->frames, 240) << "10 s at 24 fps, every frame of the source";
  ASSERT_NE(decoded->audio(), nullptr) << "reframe keeps the sound";

  // Values the check finds (the size is not 9:16) and an input out of the roots, over the wire.
  auto [bad_size, size_err] =
      post(R"({"kind": "reframe", "input": "c_360p24.mp4", "aspect": "9:16", "size": "320x320"})");
  EXPECT_EQ(bad_size, 422);
  EXPECT_EQ(size_err["error"]["details"][0]["path"], "size") << size_err.dump();
  for (const std::string input : {"../../etc/passwd", "/etc/passwd", "./../c_360p24.mp4"}) {
    auto [outside, err] =
        post(json{{"kind", "reframe"}, {"input", input}, {"aspect", "9:16"}}.dump());
    EXPECT_EQ(outside, 422) << input;
    EXPECT_EQ(err["error"]["code"], "input_outside_media_roots") << input;
    EXPECT_EQ(err["error"]["details"][0]["path"], "input") << input;
  }

  ProcessResult r = stop_server(SIGTERM);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(processes_under_data_dir(), ::testing::IsEmpty());
}

TEST_F(Serve, FramesJobImagesAreAllListedAndDownloadable) {
  start_server();
  auto [status, body] = post(R"({"kind": "frames", "input": "c_360p24.mp4", "every": 7})");
  ASSERT_EQ(status, 202) << body.dump();
  const std::string id = body["id"];
  EXPECT_GT(body["estimate_bytes"].get<int64_t>(), 0);
  const json job = wait_job(id, is_final);
  ASSERT_EQ(job["state"], "succeeded") << job.dump(2);
  EXPECT_EQ(job["kind"], "frames");
  constexpr int kImages = (240 + 6) / 7;  // ceil(frames / every)
  EXPECT_EQ(job["progress"]["frames"], kImages);
  EXPECT_GT(job.value("peak_bytes", int64_t{0}), 0) << "from its done line";

  const json index = get("/v1/jobs/" + id + "/output");
  ASSERT_EQ(index.value("count", -1), kImages) << index.dump(2);
  ASSERT_EQ(index["images"].size(), static_cast<std::size_t>(kImages));
  for (int i = 0; i < kImages; ++i) {
    const json& image = index["images"][i];
    char name[32];
    std::snprintf(name, sizeof name, "frame_%06d.jpg", i);
    EXPECT_EQ(image["name"], name);
    auto got = client_->Get(image["url"].get<std::string>());
    ASSERT_TRUE(got) << name;
    ASSERT_EQ(got->status, 200) << name;
    EXPECT_EQ(got->get_header_value("Content-Type"), "image/jpeg");
    EXPECT_EQ(static_cast<int64_t>(got->body.size()), image["size_bytes"].get<int64_t>());
    ASSERT_GE(got->body.size(), 4u);
    EXPECT_EQ(got->body.substr(0, 2), "\xFF\xD8") << name << ": a JPEG's start of image";
  }
  auto part = client_->Get("/v1/jobs/" + id + "/output/frame_000000.jpg",
                           {httplib::make_range_header({{0, 99}})});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body.size(), 100u);

  auto [outside, err] = post(R"({"kind": "frames", "input": "../../etc/passwd", "every": 1})");
  EXPECT_EQ(outside, 422);
  EXPECT_EQ(err["error"]["code"], "input_outside_media_roots");

  ProcessResult r = stop_server(SIGTERM);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(processes_under_data_dir(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace leancut::testing
