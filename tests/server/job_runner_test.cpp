// JobRunner over a real JobStore and real child processes (a fake render script): admission by
// memory, progress, success with the measured peak, crash, cancel, stuck, shutdown re-queueing.
#include "server/job_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "fakes/fake_clock.h"
#include "server/fake_render.h"

namespace leancut::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::fake_request;
using ::testing::HasSubstr;

constexpr int64_t kMiB = 1024 * 1024;

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-runner-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = JobStore::open(dir_ / "jobs.sqlite3");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
    options_.data_dir = dir_;
    options_.program = testing::write_fake_render(dir_).string();
    options_.budget_bytes = 1000 * kMiB;
    options_.max_running = 4;
    options_.tick = 20ms;
    options_.progress_every = 50ms;
    options_.kill_grace = 1000ms;
    options_.limit = LimitMethod::None;
    options_.metrics = &metrics_;
  }
  void TearDown() override {
    runner_.reset();
    store_.reset();
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  JobRunner& runner() {
    if (!runner_) {
      runner_ = std::make_unique<JobRunner>(*store_, options_);
      runner_->start();
    }
    return *runner_;
  }

  std::string submit(const std::string& mode, int64_t estimate) {
    auto job = store_->enqueue("render", fake_request(mode), estimate);
    EXPECT_TRUE(job.ok());
    if (runner_) runner_->wake();
    return job.ok() ? job->id : "";
  }

  // Polls the store until `pred` holds for the job (10 s at most).
  JobRecord wait_for(const std::string& id, const std::function<bool(const JobRecord&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      auto job = store_->get(id);
      EXPECT_TRUE(job.ok());
      if (!job.ok() || pred(*job) || std::chrono::steady_clock::now() > deadline) return *job;
      std::this_thread::sleep_for(10ms);
    }
  }
  JobRecord wait_final(const std::string& id) {
    return wait_for(id, [](const JobRecord& j) { return is_final(j.state); });
  }

  fs::path dir_;
  std::unique_ptr<JobStore> store_;
  RunnerOptions options_;
  Metrics metrics_;
  std::unique_ptr<JobRunner> runner_;
};

TEST(Reservation, IsTheEstimatePlusAMarginWithinTheBudget) {
  EXPECT_EQ(reservation_for(100 * kMiB, 0), 116 * kMiB);  // at least 16 MiB
  EXPECT_EQ(reservation_for(500 * kMiB, 0), 550 * kMiB);  // 10%
  EXPECT_EQ(reservation_for(500 * kMiB, 520 * kMiB), 520 * kMiB);
  EXPECT_EQ(hard_limit_for(100 * kMiB), 164 * kMiB);  // at least 64 MiB
  EXPECT_EQ(hard_limit_for(400 * kMiB), 500 * kMiB);  // a quarter
}

TEST_F(JobRunnerTest, RunsAJobToSuccessWithItsPeakAndOutput) {
  runner();
  const std::string id = submit("ok", 100 * kMiB);
  const JobRecord job = wait_final(id);
  EXPECT_EQ(job.state, JobState::Succeeded) << job.error;
  EXPECT_EQ(job.peak_bytes, 123456789);
  EXPECT_EQ(job.output_path, (dir_ / "jobs" / id / "output.mp4").string());
  EXPECT_EQ(job.frames_done, 3);
  EXPECT_EQ(job.frames_total, 3);
  std::ifstream runs(dir_ / "runs.log");
  std::string memory;
  runs >> memory;
  EXPECT_EQ(memory, std::to_string(reservation_for(100 * kMiB, options_.budget_bytes)));
}

TEST_F(JobRunnerTest, SecondJobWaitsWhileTheFirstHoldsTheBudget) {
  options_.budget_bytes = 300 * kMiB;  // one 200 MiB job's reservation fits, two do not
  runner();
  const std::string a = submit("slow", 200 * kMiB);
  wait_for(a, [](const JobRecord& j) { return j.state == JobState::Running; });
  const std::string b = submit("ok", 200 * kMiB);
  // Several ticks: b stays queued, never over-committing.
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(store_->get(b)->state, JobState::Queued);
    EXPECT_LE(runner().snapshot().reserved_bytes, options_.budget_bytes);
  }
  EXPECT_EQ(runner().snapshot().running, 1);
  ASSERT_TRUE(store_->request_cancel(a).ok());
  runner().request_cancel(a);
  EXPECT_EQ(wait_final(a).state, JobState::Canceled);
  EXPECT_EQ(wait_final(b).state, JobState::Succeeded);
}

TEST_F(JobRunnerTest, MaxRunningHoldsTooWhenMemoryWouldFit) {
  options_.max_running = 1;
  runner();
  const std::string a = submit("slow", 10 * kMiB);
  wait_for(a, [](const JobRecord& j) { return j.state == JobState::Running; });
  const std::string b = submit("ok", 10 * kMiB);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(store_->get(b)->state, JobState::Queued);
  ASSERT_TRUE(store_->request_cancel(a).ok());
  runner().request_cancel(a);
  EXPECT_EQ(wait_final(b).state, JobState::Succeeded);
}

TEST_F(JobRunnerTest, ProgressReachesTheStoreWhileRunning) {
  runner();
  const std::string id = submit("slow", 10 * kMiB);
  const JobRecord j = wait_for(id, [](const JobRecord& r) { return r.frames_done >= 3; });
  EXPECT_EQ(j.state, JobState::Running);
  EXPECT_EQ(j.frames_total, 100000);
  ASSERT_TRUE(store_->request_cancel(id).ok());
  runner().request_cancel(id);
  const JobRecord done = wait_final(id);
  EXPECT_EQ(done.state, JobState::Canceled);
  EXPECT_EQ(done.error, "canceled by request");
}

TEST_F(JobRunnerTest, CrashFailsTheJobWithTheSignalAndStderr) {
  runner();
  const std::string id = submit("crash", 10 * kMiB);
  const JobRecord job = wait_final(id);
  EXPECT_EQ(job.state, JobState::Failed);
  EXPECT_THAT(job.error, HasSubstr("SIGSEGV"));
  EXPECT_THAT(job.error, HasSubstr("the decoder met a hostile file"));
  // The server carries on: the next job runs.
  EXPECT_EQ(wait_final(submit("ok", 10 * kMiB)).state, JobState::Succeeded);
}

TEST_F(JobRunnerTest, StuckJobIsKilledAndFailedWithItsLastProgress) {
  options_.stuck_after = 300ms;
  runner();
  const std::string id = submit("stuck", 10 * kMiB);
  const JobRecord job = wait_final(id);
  EXPECT_EQ(job.state, JobState::Failed);
  EXPECT_THAT(job.error, HasSubstr("stuck at frame 7 of 30"));
}

// The child's hard limit is a real memory cgroup here (this project's machines have a writable
// v1 hierarchy); elsewhere the test says why it cannot run.
TEST_F(JobRunnerTest, OomKillInTheJobsCgroupFailsThatJobAlone) {
  options_.limit = LimitMethod::Cgroup;
  runner();
  const std::string id = submit("hog", 10 * kMiB);  // hard limit 26 + 64 MiB
  const JobRecord job = wait_final(id);
  if (job.error.find("cannot start the render") != std::string::npos) {
    GTEST_SKIP() << "no writable memory cgroup: " << job.error;
  }
  EXPECT_EQ(job.state, JobState::Failed);
  EXPECT_THAT(job.error, HasSubstr("out of memory"));
  EXPECT_THAT(job.error, HasSubstr("cgroup limit 90 MiB"));
  EXPECT_EQ(wait_final(submit("ok", 10 * kMiB)).state, JobState::Succeeded);
}

// Stuck detection and TTL cleanup read the injected clock: a fake one moves only when told.
TEST_F(JobRunnerTest, StuckTimeIsTheInjectedClocks) {
  fakes::FakeClock clock;
  options_.clock = &clock;
  options_.stuck_after = 120s;
  runner();
  const std::string id = submit("stuck", 10 * kMiB);
  wait_for(id, [](const JobRecord& j) { return j.state == JobState::Running; });
  std::this_thread::sleep_for(300ms);  // real time passes; the fake clock does not
  EXPECT_EQ(store_->get(id)->state, JobState::Running);
  clock.advance(121s);
  runner().wake();
  const JobRecord job = wait_final(id);
  EXPECT_EQ(job.state, JobState::Failed);
  EXPECT_THAT(job.error, HasSubstr("no progress for 120 s"));
}

TEST_F(JobRunnerTest, FinishedJobsAndTheirFoldersGoAfterTheTtl) {
  fakes::FakeClock clock;
  std::atomic<int64_t> wall_ms{0};
  options_.clock = &clock;
  options_.output_ttl = 1000ms;
  options_.wall_ms = [&wall_ms] { return wall_ms.load(); };
  runner();
  const std::string id = submit("ok", 10 * kMiB);
  const JobRecord job = wait_final(id);
  ASSERT_EQ(job.state, JobState::Succeeded);
  ASSERT_TRUE(fs::exists(dir_ / "jobs" / id / "output.mp4"));
  wall_ms = *job.finished_ms + 2000;
  clock.advance(61s);  // the TTL check runs once a minute
  runner().wake();
  for (int i = 0; i < 500 && store_->get(id).ok(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(store_->get(id).ok());
  EXPECT_FALSE(fs::exists(dir_ / "jobs" / id));
}

TEST_F(JobRunnerTest, TimeoutKillsAJobThatRunsTooLong) {
  fakes::FakeClock clock;
  options_.clock = &clock;
  options_.job_timeout = 3600s;
  options_.stuck_after = 36000s;  // the script may not have printed a frame yet
  runner();
  const std::string id = submit("slow", 10 * kMiB);  // frames advance: never stuck
  // The child's start time is read after the store says running: wait until the runner has it
  // (progress reaches the store on the injected clock, which stands still).
  for (int i = 0; i < 500 && runner().snapshot().running == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(runner().snapshot().running, 1);
  clock.advance(3601s);
  runner().wake();
  const JobRecord job = wait_final(id);
  EXPECT_EQ(job.state, JobState::Failed);
  EXPECT_THAT(job.error, HasSubstr("timed out after 3600 s at frame"));
}

TEST_F(JobRunnerTest, DrainLetsRunningJobsFinishAndLeavesQueuedOnesQueued) {
  options_.max_running = 1;
  runner();
  const std::string a = submit("brief", 10 * kMiB);
  wait_for(a, [](const JobRecord& j) { return j.state == JobState::Running; });
  const std::string b = submit("ok", 10 * kMiB);
  runner().shutdown(JobRunner::ShutdownMode::Drain);
  EXPECT_EQ(store_->get(a)->state, JobState::Succeeded);
  EXPECT_EQ(store_->get(b)->state, JobState::Queued);
  EXPECT_EQ(store_->get(b)->attempts, 0);
}

TEST_F(JobRunnerTest, ShutdownStopsChildrenAndRequeuesTheirJobs) {
  runner();
  const std::string id = submit("slow", 10 * kMiB);
  wait_for(id, [](const JobRecord& j) { return j.frames_done > 0; });
  runner().shutdown();
  const JobRecord job = *store_->get(id);
  EXPECT_EQ(job.state, JobState::Queued);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(runner().snapshot().running, 0);
  EXPECT_FALSE(runner().snapshot().admitting);
}

TEST_F(JobRunnerTest, AJobThatIgnoresSigtermDoesNotHoldUpTheOthersDuringItsGrace) {
  options_.kill_grace = 3000ms;
  runner();
  const std::string deaf = submit("deaf", 10 * kMiB);
  const std::string slow = submit("slow", 10 * kMiB);
  wait_for(deaf, [](const JobRecord& j) { return j.frames_done > 0; });
  wait_for(slow, [](const JobRecord& j) { return j.frames_done > 0; });
  for (const std::string& id : {deaf, slow}) {
    ASSERT_TRUE(store_->request_cancel(id).ok());
    runner().request_cancel(id);
  }
  // The runner signals both at once and goes on: the job that honours SIGTERM ends at once,
  // long before the other's grace is over (a blocking terminate would have waited 3 s first).
  const JobRecord s = wait_final(slow);
  EXPECT_EQ(s.state, JobState::Canceled);
  EXPECT_EQ(store_->get(deaf)->state, JobState::Running);
  const JobRecord d = wait_final(deaf);
  EXPECT_EQ(d.state, JobState::Canceled);
  ASSERT_TRUE(s.finished_ms && d.finished_ms);
  EXPECT_GE(*d.finished_ms - *s.finished_ms, 2000) << "the SIGKILL came before the grace";
}

TEST_F(JobRunnerTest, ReservationsAreLedgerAccountsOnePerRunningJob) {
  const auto root = memory::Account::make_root("server", memory::kNoLimit);
  options_.ledger = root.get();
  options_.budget_bytes = 300 * kMiB;
  runner();
  const std::string id = submit("slow", 100 * kMiB);
  wait_for(id, [](const JobRecord& j) { return j.frames_done > 0; });
  std::map<std::string, memory::AccountStats> by_path;
  for (const memory::AccountStats& a : root->subtree_stats()) by_path[a.path] = a;
  const int64_t reservation = reservation_for(100 * kMiB, options_.budget_bytes);
  ASSERT_EQ(by_path.count("server/jobs"), 1u);
  EXPECT_EQ(by_path["server/jobs"].limit_bytes, 300 * kMiB);
  EXPECT_EQ(by_path["server/jobs"].current_bytes, reservation);
  ASSERT_EQ(by_path.count("server/jobs/" + id), 1u);
  EXPECT_EQ(by_path["server/jobs/" + id].current_bytes, reservation);
  ASSERT_TRUE(store_->request_cancel(id).ok());
  runner().request_cancel(id);
  wait_final(id);
  runner().shutdown();
  EXPECT_EQ(root->current_bytes(), 0);
  runner_.reset();  // the runner's accounts go before the root
}

TEST_F(JobRunnerTest, OutputPastTheSizeLimitFailsTheJobNamingTheLimit) {
  options_.max_output_bytes = 1000000;
  runner();
  const JobRecord job = wait_final(submit("big", 10 * kMiB));
  EXPECT_EQ(job.state, JobState::Failed);
  EXPECT_THAT(job.error, HasSubstr("SIGXFSZ"));
  EXPECT_THAT(job.error, HasSubstr("may not exceed 1000000 bytes"));
  // A job within the limit is untouched.
  EXPECT_EQ(wait_final(submit("ok", 10 * kMiB)).state, JobState::Succeeded);
}

TEST_F(JobRunnerTest, FinishedJobsPoolAndCacheFiguresReachTheMetrics) {
  runner();
  EXPECT_EQ(wait_final(submit("pooled", 10 * kMiB)).state, JobState::Succeeded);
  EXPECT_EQ(wait_final(submit("pooled", 10 * kMiB)).state, JobState::Succeeded);
  const std::string text = metrics_.render({});
  EXPECT_THAT(text, HasSubstr("leancut_frame_pool_acquired_frames_total 200\n"));
  EXPECT_THAT(text, HasSubstr("leancut_frame_pool_reused_frames_total 180\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "leancut_cache_lookups_total{cache=\"probes\",process=\"jobs\",result=\"hit\"} 14\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "leancut_cache_lookups_total{cache=\"probes\",process=\"jobs\",result=\"miss\"} 6\n"));
}

}  // namespace
}  // namespace leancut::server
