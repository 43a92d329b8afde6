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

// Reframe: aspect "bad" is a problem of the check's (as a real probe would find); 30 MiB.
BlueprintCheck fake_reframe_check(const ReframeJob& job, int64_t budget) {
  BlueprintCheck c;
  if (job.aspect == "bad") c.errors = {{"aspect", "'bad': expected W:H, e.g. 9:16"}};
  c.estimate_bytes = 30 * kMiB;
  c.fits = c.estimate_bytes <= budget;
  return c;
}

BlueprintCheck fake_frames_check(const FramesJob&, int64_t) {
  BlueprintCheck c;
  c.estimate_bytes = 5 * kMiB;
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
    api_options_.check_reframe = fake_reframe_check;
    api_options_.check_frames = fake_frames_check;
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
  EXPECT_THAT(error_message(r),
              HasSubstr("unknown kind \"transcode\" (one of: render, reframe, frames)"));

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

  // A URL is not a path under a root: refused as such (downloading is `render --remote`'s).
  r = post(R"({"kind": "render", "blueprint": {"shots": [{"source": "clip.mp4"},
                                                        {"source": "HTTPS://media.example/a.mp4"}]}})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["code"], "source_outside_media_roots");
  EXPECT_THAT(error_message(r),
              HasSubstr("shots[1].source: HTTPS://media.example/a.mp4 is an http(s) URL: the "
                        "server renders only files inside its media roots"));

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

namespace leancut::server {
namespace {

// The error's details as "path: message" lines, for one EXPECT per request.
std::vector<std::string> detail_paths(const json& body) {
  std::vector<std::string> out;
  for (const json& d : body["error"].value("details", json::array())) out.push_back(d["path"]);
  return out;
}

TEST_F(HttpApiTest, ReframeAndFramesFieldsAreCheckedWithTheirPaths) {
  std::ofstream(dir_ / "media" / "clip.mp4") << "x";
  start(/*run_jobs=*/false);
  using ::testing::ElementsAre;
  // Types and shapes: 400, every problem with its path.
  Reply r = post(R"({"kind": "reframe"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["code"], "invalid_request");
  EXPECT_THAT(detail_paths(r.body), ElementsAre("input", "aspect"));
  r = post(R"({"kind": "reframe", "input": 3, "aspect": "9:16", "size": [1080, 1920],
               "focus": {"x": 1}, "zoom": 2})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(detail_paths(r.body), ElementsAre("zoom", "input", "size", "focus"));
  r = post(R"({"kind": "reframe", "input": "clip.mp4", "aspect": "9:16", "focus": [0.5, "top"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(detail_paths(r.body), ElementsAre("focus[1]"));
  r = post(R"({"kind": "frames", "input": "clip.mp4"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(error_message(r), HasSubstr("1 problem, the first: every: missing"));
  r = post(R"({"kind": "frames", "input": "clip.mp4", "every": 2.5, "quality": "high",
               "start": "1s"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(detail_paths(r.body), ElementsAre("every", "quality", "start"));

  // Values: 422.
  r = post(R"({"kind": "reframe", "input": "clip.mp4", "aspect": "9:16", "focus": [0.5, 1.5]})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["code"], "invalid_job");
  EXPECT_THAT(detail_paths(r.body), ElementsAre("focus[1]"));
  r = post(R"({"kind": "reframe", "input": "clip.mp4", "aspect": "bad"})");
  EXPECT_EQ(r.status, 422) << "the check's own problems";
  EXPECT_THAT(error_message(r), HasSubstr("aspect: 'bad': expected W:H"));
  r = post(R"({"kind": "frames", "input": "clip.mp4", "every": 0, "format": "gif",
               "quality": 101, "start": 4, "end": 2})");
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(detail_paths(r.body), ElementsAre("every", "format", "quality", "end"));
  r = post(R"({"kind": "frames", "input": "clip.mp4", "every": 1, "start": "2", "end": 1})");
  EXPECT_EQ(r.status, 400) << "a malformed start beside an end";
  EXPECT_THAT(detail_paths(r.body), ElementsAre("start"));
  r = post(R"({"kind": "frames", "input": "clip.mp4", "every": 1, "start": -1})");
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(detail_paths(r.body), ElementsAre("start"));

  // The input: inside a media root, symlinks and `..` resolved, or 422 naming it.
  for (const std::string& input :
       {std::string("../outside/secret.mp4"), (dir_ / "outside/secret.mp4").string(),
        std::string("link.mp4"), std::string("sub/../../outside/secret.mp4")}) {
    for (const char* kind : {"reframe", "frames"}) {
      if (std::string(kind) == "reframe") {
        r = post(json{{"kind", kind}, {"input", input}, {"aspect", "9:16"}}.dump());
      } else {
        r = post(json{{"kind", kind}, {"input", input}, {"every", 1}}.dump());
      }
      EXPECT_EQ(r.status, 422) << kind << " " << input;
      EXPECT_EQ(r.body["error"]["code"], "input_outside_media_roots") << kind << " " << input;
      EXPECT_THAT(detail_paths(r.body), ElementsAre("input"));
    }
  }
  r = post(R"({"kind": "frames", "input": "missing.mp4", "every": 1})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["code"], "not_found");

  r = post(R"({"kind": "reframe", "input": "clip.mp4", "aspect": "9:16", "size": "1080x1920",
               "focus": [0.25, 0.5]})");
  EXPECT_EQ(r.status, 202) << r.body.dump();
  EXPECT_EQ(r.body["estimate_bytes"], 30 * kMiB);
  EXPECT_EQ(get("/v1/jobs/" + r.body["id"].get<std::string>()).body["kind"], "reframe");
}

TEST_F(HttpApiTest, ReframeJobRunsLeancutReframeAndServesItsVideo) {
  std::ofstream(dir_ / "media" / "clip.mp4") << "x";
  start();
  Reply r = post(R"({"kind": "reframe", "input": "clip.mp4", "aspect": "9:16", "size": "1080x1920",
                     "focus": [0.25, 0.5]})");
  ASSERT_EQ(r.status, 202) << r.body.dump();
  const std::string id = r.body["id"];
  const json job = wait_final(id);
  EXPECT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["kind"], "reframe");
  EXPECT_EQ(client_->Get("/v1/jobs/" + id + "/output")->body, "reframed");
  EXPECT_EQ(get("/v1/jobs/" + id + "/output/frame_000000.jpg").status, 404) << "one file";
  std::ifstream argv_log(dir_ / "argv.log");
  std::string argv;
  std::getline(argv_log, argv);
  const std::string root = fs::canonical(dir_ / "media").string();
  EXPECT_THAT(argv, HasSubstr("reframe " + root + "/clip.mp4 -o " +
                              (dir_ / "jobs" / id / "output.mp4").string() +
                              " --aspect 9:16 --focus 0.25,0.5 --memory "));
  EXPECT_THAT(argv, HasSubstr(" --size 1080x1920"));
}

TEST_F(HttpApiTest, FramesJobServesAnIndexOfItsImagesAndEachWithRange) {
  std::ofstream(dir_ / "media" / "clip.mp4") << "x";
  start();
  Reply r = post(R"({"kind": "frames", "input": "clip.mp4", "every": 25, "format": "png",
                     "start": 1.5})");
  ASSERT_EQ(r.status, 202) << r.body.dump();
  const std::string id = r.body["id"];
  EXPECT_EQ(r.body["estimate_bytes"], 5 * kMiB);
  const json job = wait_final(id);
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["kind"], "frames");
  EXPECT_EQ(job["peak_bytes"], 4242) << "from the done line: frames writes no report";
  EXPECT_EQ(job["progress"]["frames"], 3);
  std::ifstream argv_log(dir_ / "argv.log");
  std::string argv;
  std::getline(argv_log, argv);
  EXPECT_THAT(argv, HasSubstr(" -o " + (dir_ / "jobs" / id / "images").string() +
                              " --every 25 --format png --quality 85 --json --start 1.5"));

  const Reply index = get("/v1/jobs/" + id + "/output");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.body["count"], 3);
  ASSERT_EQ(index.body["images"].size(), 3u);
  EXPECT_EQ(index.body["images"][1]["name"], "frame_000001.jpg");
  EXPECT_EQ(index.body["images"][1]["size_bytes"], 7);
  EXPECT_EQ(index.body["images"][1]["url"], "/v1/jobs/" + id + "/output/frame_000001.jpg");

  auto image = client_->Get("/v1/jobs/" + id + "/output/frame_000002.jpg");
  ASSERT_TRUE(image);
  EXPECT_EQ(image->status, 200);
  EXPECT_EQ(image->body, "image 2");
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/jpeg");
  auto part = client_->Get("/v1/jobs/" + id + "/output/frame_000002.jpg", {{"Range", "bytes=6-6"}});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, "2");

  EXPECT_EQ(get("/v1/jobs/" + id + "/output/frame_000009.jpg").status, 404);
  EXPECT_EQ(get("/v1/jobs/" + id + "/output/..").status, 404) << "no dot-names";
  EXPECT_EQ(get("/v1/jobs/" + id + "/output/%2E%2E%2Fprogress.jsonl").status, 404);
  fs::remove_all(dir_ / "jobs" / id / "images");
  EXPECT_EQ(get("/v1/jobs/" + id + "/output/frame_000001.jpg").status, 410);
}

}  // namespace
}  // namespace leancut::server
