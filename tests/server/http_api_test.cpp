// HttpApi in process, over loopback with cpp-httplib's client: every route, every refusal with
// its status and message, Range on the output. Jobs run the fake render script (fake_render.h);
// the blueprint check is a fake that reads "estimate_mib" and "invalid" from the blueprint.
#include "server/http_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "fakes/fake_clock.h"
#include "server/fake_render.h"

namespace leancut::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr int64_t kMiB = 1024 * 1024;

BlueprintCheck fake_check(const fs::path& file, int64_t budget) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const json bp = json::parse(text.str());
  BlueprintCheck c;
  if (bp.contains("invalid")) {
    c.errors = {{"shots[0].out", "must be after in"}, {"output.fps", "must be positive"}};
    return c;
  }
  c.estimate_bytes = bp.value("estimate_mib", int64_t{10}) * kMiB;
  c.duration_seconds = bp.value("duration", 1.0);
  c.fits = c.estimate_bytes <= budget;
  if (!c.fits) c.refusal = "needs at least " + std::to_string(c.estimate_bytes / kMiB) + " MiB";
  return c;
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-api-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "media" / "cuts");
    fs::create_directories(dir_ / "outside");
    std::ofstream(dir_ / "media" / "cuts" / "a.json") << R"({"mode": "ok", "shots": [
        {"source": "../clip.mp4"}]})";
    std::ofstream(dir_ / "outside" / "secret.json") << R"({"mode": "ok"})";
    std::ofstream(dir_ / "outside" / "secret.mp4") << "x";
    fs::create_symlink(dir_ / "outside" / "secret.mp4", dir_ / "media" / "link.mp4");
    auto store = JobStore::open(dir_ / "jobs.sqlite3");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
    runner_options_.data_dir = dir_;
    runner_options_.program = testing::write_fake_render(dir_).string();
    runner_options_.budget_bytes = 100 * kMiB;
    runner_options_.max_running = 2;
    runner_options_.tick = 20ms;
    runner_options_.progress_every = 50ms;
    runner_options_.kill_grace = 1000ms;
    runner_options_.limit = LimitMethod::None;
    api_options_.media_roots = {dir_ / "media"};
    api_options_.data_dir = dir_;
    api_options_.budget_bytes = 100 * kMiB;
    api_options_.budget_from = "--memory";
    api_options_.max_queued = 3;
    api_options_.max_body_bytes = 64 * 1024;
    api_options_.threads = 2;
    api_options_.check = fake_check;
  }
  void start(bool run_jobs = true) {
    runner_ = std::make_unique<JobRunner>(*store_, runner_options_);
    if (run_jobs) runner_->start();
    api_ = std::make_unique<HttpApi>(*store_, *runner_, metrics_, api_options_);
    auto port = api_->bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { api_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(10, 0);
    // Wait until it answers (listen_after_bind runs on the thread).
    for (int i = 0; i < 200 && !client_->Get("/health"); ++i) std::this_thread::sleep_for(5ms);
  }
  void TearDown() override {
    if (api_) api_->stop();
    if (thread_.joinable()) thread_.join();
    client_.reset();
    api_.reset();
    runner_.reset();
    store_.reset();
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  struct Reply {
    int status = 0;
    json body;
    httplib::Headers headers;
  };
  Reply reply(const httplib::Result& r) {
    Reply out;
    if (!r) {
      ADD_FAILURE() << "no response: " << httplib::to_string(r.error());
      return out;
    }
    out.status = r->status;
    out.body = json::parse(r->body, nullptr, false);
    out.headers = r->headers;
    return out;
  }
  Reply post(const std::string& body) {
    return reply(client_->Post("/v1/jobs", body, "application/json"));
  }
  Reply get(const std::string& path) { return reply(client_->Get(path)); }
  std::string error_message(const Reply& r) { return r.body["error"].value("message", ""); }

  json wait_final(const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    json job;
    do {
      job = get("/v1/jobs/" + id).body;
      const std::string s = job.value("state", "");
      if (s == "succeeded" || s == "failed" || s == "canceled") break;
      std::this_thread::sleep_for(10ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return job;
  }

  fs::path dir_;
  std::unique_ptr<JobStore> store_;
  RunnerOptions runner_options_;
  ApiOptions api_options_;
  Metrics metrics_;
  std::unique_ptr<JobRunner> runner_;
  std::unique_ptr<HttpApi> api_;
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

TEST(IsWithin, ComparesWholeComponents) {
  EXPECT_TRUE(is_within("/srv/media/a.mp4", "/srv/media"));
  EXPECT_TRUE(is_within("/srv/media", "/srv/media"));
  EXPECT_FALSE(is_within("/srv/media2/a.mp4", "/srv/media"));
  EXPECT_FALSE(is_within("/srv", "/srv/media"));
}

TEST_F(HttpApiTest, InlineJobRunsAndItsOutputComesWithRange) {
  start();
  Reply r = post(R"({"kind": "render", "blueprint": {"mode": "ok", "estimate_mib": 20,
                     "shots": [{"source": "clip.mp4"}, {"source": "sub/../b.mp4"}]}})");
  ASSERT_EQ(r.status, 202) << r.body.dump();
  const std::string id = r.body["id"];
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(r.body["state"], "queued");
  EXPECT_EQ(r.body["estimate_bytes"], 20 * kMiB);
  const json job = wait_final(id);
  EXPECT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["peak_bytes"], 123456789);
  EXPECT_EQ(job["output_url"], "/v1/jobs/" + id + "/output");
  // Sources were made absolute inside the media root.
  std::ifstream bp(dir_ / "jobs" / id / "blueprint.json");
  const json stored = json::parse(bp);
  const std::string root = fs::canonical(dir_ / "media").string();
  EXPECT_EQ(stored["shots"][0]["source"], root + "/clip.mp4");
  EXPECT_EQ(stored["shots"][1]["source"], root + "/b.mp4");

  auto whole = client_->Get("/v1/jobs/" + id + "/output");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->body, "not really a video");
  auto part = client_->Get("/v1/jobs/" + id + "/output", {httplib::make_range_header({{4, 9}})});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, "really");
  EXPECT_EQ(part->get_header_value("Content-Range"), "bytes 4-9/18");

  Reply list = get("/v1/jobs?state=succeeded");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["jobs"].size(), 1u);
  EXPECT_EQ(list.body["jobs"][0]["id"], id);
}

TEST_F(HttpApiTest, BlueprintPathResolvesItsSourcesAgainstItsFolder) {
  start();
  Reply r = post(R"({"kind": "render", "blueprint_path": "cuts/a.json"})");
  ASSERT_EQ(r.status, 202) << r.body.dump();
  EXPECT_EQ(wait_final(r.body["id"])["state"], "succeeded");
  const json stored = json::parse(
      std::ifstream(dir_ / "jobs" / r.body["id"].get<std::string>() / "blueprint.json"));
  EXPECT_EQ(stored["shots"][0]["source"], fs::canonical(dir_ / "media").string() + "/clip.mp4");
}

TEST_F(HttpApiTest, RefusalsNameTheProblem) {
  start();
  Reply r = post(R"({"kind": "render", "blueprint": {)");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["code"], "invalid_json");
  EXPECT_THAT(error_message(r), HasSubstr("at byte 34"));

  r = post(R"({"blueprint": {}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(error_message(r), HasSubstr("missing \"kind\""));

  r = post(R"({"kind": "transcode", "blueprint": {}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(error_message(r), HasSubstr("unknown kind \"transcode\""));

  r = post(R"({"kind": "render"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(error_message(r), HasSubstr("blueprint_path"));

  r = post(R"({"kind": "render", "blueprint_path": "../outside/secret.json"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(error_message(r), HasSubstr("outside every media root"));

  r = post(R"({"kind": "render", "blueprint_path": ")" + (dir_ / "outside/secret.json").string() +
           R"("})");
  EXPECT_EQ(r.status, 403);

  r = post(R"({"kind": "render", "blueprint_path": "cuts/missing.json"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(error_message(r), HasSubstr("no such file"));

  r = post(R"({"kind": "render", "blueprint": {"shots": [{"source": "clip.mp4"},
                                                        {"source": "../outside/secret.mp4"}]}})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["code"], "source_outside_media_roots");
  EXPECT_THAT(error_message(r), HasSubstr("shots[1].source"));

  r = post(R"({"kind": "render", "blueprint": {"shots": [{"image": "../outside/secret.png"}]}})");
  EXPECT_EQ(r.status, 422) << "a still's image is held to the media roots too";
  EXPECT_EQ(r.body["error"]["code"], "source_outside_media_roots");
  EXPECT_THAT(error_message(r), HasSubstr("shots[0].image"));

  r = post(R"({"kind": "render", "blueprint": {"shots": [{"source": "link.mp4"}]}})");
  EXPECT_EQ(r.status, 422) << "a symlink out of the root";
  EXPECT_THAT(error_message(r), HasSubstr("shots[0].source: link.mp4"));

  r = post(R"({"kind": "render", "blueprint": {"invalid": true}})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["details"].size(), 2u);
  EXPECT_THAT(error_message(r), HasSubstr("2 problems, the first: shots[0].out"));

  r = post(R"({"kind": "render", "blueprint": {"estimate_mib": 500}})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["code"], "over_budget");
  EXPECT_THAT(error_message(r), HasSubstr("needs at least 500 MiB"));

  r = post(R"({"kind": "render", "blueprint": {"pad": ")" + std::string(70000, 'x') + R"("}})");
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(error_message(r), HasSubstr("larger than 65536 bytes"));

  r = get("/v1/jobs/0123456789abcdef0123456789abcdef");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(error_message(r), HasSubstr("0123456789abcdef0123456789abcdef"));
  r = get("/v1/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["error"]["code"], "no_route");

  const std::string metrics = client_->Get("/metrics")->body;
  EXPECT_THAT(metrics,
              HasSubstr("leancut_server_admission_rejections_total{reason=\"over_budget\"} 1\n"));
}

TEST_F(HttpApiTest, FullQueueIsA429WithRetryAfter) {
  start(/*run_jobs=*/false);  // nothing leaves the queue
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(post(R"({"kind": "render", "blueprint": {"mode": "ok"}})").status, 202);
  }
  Reply r = post(R"({"kind": "render", "blueprint": {"mode": "ok"}})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["error"]["code"], "queue_full");
  EXPECT_EQ(httplib::detail::get_header_value(r.headers, "Retry-After", 0, ""), std::string("5"));
  EXPECT_EQ(get("/v1/jobs?state=queued").body["jobs"].size(), 3u);
  EXPECT_EQ(get("/health/memory").body["jobs"]["queued"], 3);
}

TEST_F(HttpApiTest, CancelQueuedAndRunningJobs) {
  runner_options_.max_running = 1;
  start();
  const std::string a = post(R"({"kind": "render", "blueprint": {"mode": "slow"}})").body["id"];
  const std::string b = post(R"({"kind": "render", "blueprint": {"mode": "ok"}})").body["id"];
  Reply r = reply(client_->Delete("/v1/jobs/" + b));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["state"], "canceled");
  for (int i = 0; i < 500 && get("/v1/jobs/" + a).body["state"] != "running"; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  r = reply(client_->Delete("/v1/jobs/" + a));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(wait_final(a)["state"], "canceled");
  r = reply(client_->Get("/v1/jobs/" + a + "/output"));
  EXPECT_EQ(r.status, 409);
}

TEST_F(HttpApiTest, LimitsOnShotsAndDuration) {
  api_options_.max_shots = 2;
  api_options_.max_duration_seconds = 60;
  start();
  Reply r = post(R"({"kind": "render", "blueprint": {"shots": [{}, {}, {}]}})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["code"], "too_many_shots");
  EXPECT_THAT(error_message(r), HasSubstr("3 shots; this server takes 2 at most"));
  r = post(R"({"kind": "render", "blueprint": {"duration": 61.5}})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["code"], "too_long");
  EXPECT_THAT(error_message(r), HasSubstr("61 s; this server renders 60 s at most"));
}

TEST_F(HttpApiTest, CriticalPressureRefusesNewJobsWith503UntilItHasEasedForTheDwell) {
  double psi = 50;  // percent of time stalled: critical (>= 40)
  api_options_.sample = [&psi] {
    memory::Sample s;
    s.psi_some_avg10 = psi;
    return s;
  };
  fakes::FakeClock clock;
  api_options_.clock = &clock;
  api_options_.pressure_every = 0ms;  // the test samples
  start();
  Reply r = post(R"({"kind": "render", "blueprint": {"mode": "ok"}})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["error"]["code"], "memory_pressure");
  EXPECT_THAT(error_message(r), HasSubstr("psi_some"));
  EXPECT_EQ(httplib::detail::get_header_value(r.headers, "Retry-After", 0, ""), std::string("5"));
  Reply health = get("/health/memory");
  EXPECT_EQ(health.body["pressure_level"], "critical");
  EXPECT_EQ(health.body["admission"], "closed (critical pressure)");
  EXPECT_THAT(client_->Get("/metrics")->body,
              HasSubstr("leancut_server_memory_pressure_level 4\n"));
  EXPECT_THAT(
      client_->Get("/metrics")->body,
      HasSubstr("leancut_server_admission_rejections_total{reason=\"memory_pressure\"} 1\n"));
  // The stall ends, but one calm sample does not reopen admission: that is the flapping the
  // hysteresis exists to prevent.
  psi = 0;
  api_->sample_pressure();
  EXPECT_EQ(post(R"({"kind": "render", "blueprint": {"mode": "ok"}})").status, 503);
  clock.advance(2s);
  api_->sample_pressure();
  EXPECT_EQ(post(R"({"kind": "render", "blueprint": {"mode": "ok"}})").status, 503);
  // Calm for longer than the dwell (5 s): admission reopens.
  clock.advance(4s);
  api_->sample_pressure();
  EXPECT_NE(get("/health/memory").body["pressure_level"], "critical");
  EXPECT_EQ(post(R"({"kind": "render", "blueprint": {"mode": "ok"}})").status, 202);
}

TEST(PressureInputs, WorkingSetAgainstTheLimitAndPsi) {
  memory::Sample s;
  memory::PressureInputs in = pressure_inputs(s);
  EXPECT_FALSE(in.working_set_ratio.has_value());
  EXPECT_FALSE(in.psi_some_avg10.has_value());
  EXPECT_EQ(in.ledger_ratio, 0.0);
  s.cgroup.limit_bytes = 1000;
  s.cgroup.working_set_bytes = 960;
  s.psi_some_avg10 = 12;
  in = pressure_inputs(s);
  ASSERT_TRUE(in.working_set_ratio.has_value());
  EXPECT_DOUBLE_EQ(*in.working_set_ratio, 0.96);
  EXPECT_EQ(in.psi_some_avg10, 12);
}

TEST_F(HttpApiTest, HealthMemoryListsEachRunningJobsReservation) {
  start();
  const std::string id = post(R"({"kind": "render", "blueprint": {"mode": "slow"}})").body["id"];
  Reply h;
  for (int i = 0; i < 500; ++i) {
    h = get("/health/memory");
    if (!h.body["reservations"].empty()) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(h.body["reservations"].size(), 1u) << h.body.dump();
  EXPECT_EQ(h.body["reservations"][0]["id"], id);
  EXPECT_EQ(h.body["reservations"][0]["reservation_bytes"], reservation_for(10 * kMiB, 100 * kMiB));
  EXPECT_EQ(h.body["reserved_bytes"], reservation_for(10 * kMiB, 100 * kMiB));
  EXPECT_EQ(h.body["jobs"]["running"], 1);
  EXPECT_EQ(reply(client_->Delete("/v1/jobs/" + id)).status, 202);
  EXPECT_EQ(wait_final(id)["state"], "canceled");
}

TEST_F(HttpApiTest, TokenGuardsEverythingButHealth) {
  api_options_.token = "s3cret";
  start();
  EXPECT_EQ(client_->Get("/health")->status, 200);
  Reply r = get("/v1/jobs");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(error_message(r), HasSubstr("Bearer"));
  EXPECT_EQ(client_->Get("/metrics")->status, 401);
  client_->set_bearer_token_auth("wrong");
  EXPECT_EQ(get("/v1/jobs").status, 401);
  client_->set_bearer_token_auth("s3cret");
  EXPECT_EQ(get("/v1/jobs").status, 200);
  EXPECT_EQ(get("/health/memory").body["budget_bytes"], 100 * kMiB);
}

}  // namespace
}  // namespace leancut::server
