// JobStore on real SQLite files in a temp dir: round trip, FIFO and exclusive claims, recovery
// after a crash (a real one: a forked process SIGKILLs itself mid-job), refusal of files that are
// not our database, the state machine, TTL listing, and two handles or processes on one file.
#include "server/job_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace leancut::server {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-job-store-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "jobs.sqlite3";
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  JobStoreOptions options() {
    JobStoreOptions o;
    o.now_ms = [this] { return now_ms_.load(); };
    return o;
  }
  std::unique_ptr<JobStore> open_store() {
    auto store = JobStore::open(path_, options());
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(store).value() : nullptr;
  }

  fs::path dir_;
  fs::path path_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
};

TEST_F(JobStoreTest, EnqueueGetListRoundTrip) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto job = store->enqueue("render", R"({"blueprint":{"version":1}})", 123'456'789);
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job->id.size(), 32u);
  EXPECT_EQ(job->id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(job->kind, "render");
  EXPECT_EQ(job->request_json, R"({"blueprint":{"version":1}})");
  EXPECT_EQ(job->state, JobState::Queued);
  EXPECT_EQ(job->estimate_bytes, 123'456'789);
  EXPECT_FALSE(job->peak_bytes.has_value());
  EXPECT_EQ(job->attempts, 0);
  EXPECT_FALSE(job->cancel_requested);
  EXPECT_EQ(job->created_ms, now_ms_.load());
  EXPECT_EQ(job->updated_ms, now_ms_.load());
  EXPECT_FALSE(job->started_ms.has_value());
  EXPECT_FALSE(job->finished_ms.has_value());

  auto got = store->get(job->id);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->id, job->id);
  EXPECT_EQ(got->request_json, job->request_json);

  auto second = store->enqueue("render", "{}", 1);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->id, job->id);
  auto all = store->list(std::nullopt, 10);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, second->id);  // newest first
  EXPECT_EQ((*all)[1].id, job->id);
  auto one = store->list(std::nullopt, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  EXPECT_FALSE(store->list(std::nullopt, 0).ok());

  auto counts = store->count_by_state();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at(JobState::Queued), 2);
  EXPECT_EQ(counts->at(JobState::Running), 0);
  EXPECT_EQ(counts->at(JobState::Succeeded), 0);
  EXPECT_EQ(counts->size(), 5u);

  auto missing = store->get("0123");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("job 0123"));
}

// Admission asks about the oldest queued job; a no claims nothing and skips nothing.
TEST_F(JobStoreTest, ClaimNextIfLeavesTheHeadQueuedWhenRefused) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto big = store->enqueue("render", "{}", 900);
  auto small = store->enqueue("render", "{}", 10);
  ASSERT_TRUE(big.ok() && small.ok());
  std::vector<int64_t> asked;
  auto refused = store->claim_next_if([&](const JobRecord& j) {
    asked.push_back(j.estimate_bytes);
    return j.estimate_bytes < 100;
  });
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_FALSE(refused->has_value());
  EXPECT_EQ(asked, std::vector<int64_t>{900});
  EXPECT_EQ(store->get(big->id)->state, JobState::Queued);
  EXPECT_EQ(store->get(small->id)->state, JobState::Queued);
  auto admitted = store->claim_next_if([](const JobRecord&) { return true; });
  ASSERT_TRUE(admitted.ok() && admitted->has_value());
  EXPECT_EQ((*admitted)->id, big->id);
  EXPECT_EQ((*admitted)->state, JobState::Running);
}

TEST_F(JobStoreTest, FileIsWalWithSchemaVersion) {
  ASSERT_TRUE(open_store());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  auto single = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db.get(), sql, -1, &s, nullptr), SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(s, &sqlite3_finalize);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
    return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  };
  EXPECT_EQ(single("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(single("PRAGMA user_version"), std::to_string(JobStore::kSchemaVersion));
}

TEST_F(JobStoreTest, ClaimsOldestFirstAndProgressAndFinish) {
  auto store = open_store();
  ASSERT_TRUE(store);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto job = store->enqueue("render", "{}", i);
    ASSERT_TRUE(job.ok());
    ids.push_back(job->id);
    now_ms_ += 1;
  }
  for (const std::string& id : ids) {
    auto claimed = store->claim_next();
    ASSERT_TRUE(claimed.ok()) << claimed.error().message;
    ASSERT_TRUE(claimed->has_value());
    EXPECT_EQ((*claimed)->id, id);
    EXPECT_EQ((*claimed)->state, JobState::Running);
    EXPECT_EQ((*claimed)->started_ms, now_ms_.load());
  }
  auto none = store->claim_next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(store->update_progress(ids[0], 40, 300).ok());
  auto job = store->get(ids[0]);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->frames_done, 40);
  EXPECT_EQ(job->frames_total, 300);

  now_ms_ += 1000;
  auto done = store->finish(ids[0], JobState::Succeeded, "", 99'000'000, "/data/out/a.mp4");
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->state, JobState::Succeeded);
  EXPECT_EQ(done->peak_bytes, 99'000'000);
  EXPECT_EQ(done->output_path, "/data/out/a.mp4");
  EXPECT_EQ(done->finished_ms, now_ms_.load());
  auto failed =
      store->finish(ids[1], JobState::Failed, "decode error in shots[3]", std::nullopt, "");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->error, "decode error in shots[3]");

  auto counts = store->count_by_state();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at(JobState::Running), 1);
  EXPECT_EQ(counts->at(JobState::Succeeded), 1);
  EXPECT_EQ(counts->at(JobState::Failed), 1);
  auto running = store->list(JobState::Running, 10);
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].id, ids[2]);
}

// Every job claimed exactly once, whether the 4 threads share a handle or each has its own
// connection (then SQLite's write lock, not our mutex, decides).
void claim_concurrently(const std::vector<JobStore*>& stores, int jobs) {
  std::vector<std::vector<std::string>> claimed(stores.size());
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < stores.size(); ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        auto next = stores[t]->claim_next();
        if (!next.ok()) {
          ADD_FAILURE() << next.error().message;
          failed = true;
          return;
        }
        if (!next->has_value()) return;
        claimed[t].push_back((*next)->id);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_FALSE(failed);
  std::set<std::string> unique;
  std::size_t total = 0;
  for (const auto& ids : claimed) {
    total += ids.size();
    unique.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, static_cast<std::size_t>(jobs));
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(jobs));
}

TEST_F(JobStoreTest, ClaimIsExclusiveAcrossFourThreadsSharingAHandle) {
  auto store = open_store();
  ASSERT_TRUE(store);
  constexpr int kJobs = 200;
  for (int i = 0; i < kJobs; ++i) ASSERT_TRUE(store->enqueue("render", "{}", i).ok());
  claim_concurrently({store.get(), store.get(), store.get(), store.get()}, kJobs);
  auto counts = store->count_by_state();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at(JobState::Running), kJobs);
}

TEST_F(JobStoreTest, ClaimIsExclusiveAcrossFourThreadsWithTheirOwnHandles) {
  std::vector<std::unique_ptr<JobStore>> stores;
  for (int i = 0; i < 4; ++i) {
    stores.push_back(open_store());
    ASSERT_TRUE(stores.back());
  }
  constexpr int kJobs = 100;
  for (int i = 0; i < kJobs; ++i) ASSERT_TRUE(stores[0]->enqueue("render", "{}", i).ok());
  claim_concurrently({stores[0].get(), stores[1].get(), stores[2].get(), stores[3].get()}, kJobs);
}

TEST_F(JobStoreTest, RunningJobIsQueuedAgainAfterTheStoreIsDestroyedUnfinished) {
  std::string first, second;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    auto a = store->enqueue("render", "{}", 1);
    auto b = store->enqueue("render", "{}", 2);
    ASSERT_TRUE(a.ok() && b.ok());
    first = a->id;
    second = b->id;
    auto claimed = store->claim_next();
    ASSERT_TRUE(claimed.ok() && claimed->has_value());
    ASSERT_TRUE(store->update_progress(first, 10, 100).ok());
  }  // "crash": destroyed without finish()
  auto store = open_store();
  ASSERT_TRUE(store);
  auto n = store->recover_after_restart();
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  auto job = store->get(first);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::Queued);
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(job->frames_done, 0);
  EXPECT_FALSE(job->started_ms.has_value());
  // It keeps its place ahead of the job submitted after it.
  auto next = store->claim_next();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->id, first);
  auto again = store->recover_after_restart();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 1);
  EXPECT_EQ(store->get(first)->attempts, 2);
  EXPECT_EQ(store->get(second)->attempts, 0);
}

// A process that really dies (SIGKILL: no destructors, no close, WAL not checkpointed) mid-job.
TEST_F(JobStoreTest, RecoversAfterAProcessIsKilledMidJob) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = JobStore::open(path_);
    if (!store) ::_exit(2);
    auto a = (*store)->enqueue("render", "{}", 1);
    auto b = (*store)->enqueue("render", "{}", 2);
    if (!a || !b) ::_exit(3);
    auto claimed = (*store)->claim_next();
    if (!claimed || !claimed->has_value()) ::_exit(4);
    ::raise(SIGKILL);
    ::_exit(5);
  }
  int ws = 0;
  ASSERT_EQ(::waitpid(pid, &ws, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(ws)) << "child exited with " << WEXITSTATUS(ws);
  auto store = open_store();
  ASSERT_TRUE(store);
  auto n = store->recover_after_restart();
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  auto counts = store->count_by_state();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at(JobState::Queued), 2);
  EXPECT_EQ(counts->at(JobState::Running), 0);
  auto queued = store->list(JobState::Queued, 10);
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[1].attempts, 1);  // the older one was running
  EXPECT_EQ((*queued)[0].attempts, 0);
}

TEST_F(JobStoreTest, CancelRequestedBeforeACrashIsNotRunAgain) {
  std::string id;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    auto job = store->enqueue("render", "{}", 1);
    ASSERT_TRUE(job.ok());
    id = job->id;
    ASSERT_TRUE(store->claim_next().ok());
    auto c = store->request_cancel(id);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->state, JobState::Running);
    EXPECT_TRUE(c->cancel_requested);
  }
  auto store = open_store();
  ASSERT_TRUE(store);
  auto n = store->recover_after_restart();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(store->get(id)->state, JobState::Canceled);
}

TEST_F(JobStoreTest, CancelQueuedAndRunningJobs) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto a = store->enqueue("render", "{}", 1);
  auto b = store->enqueue("render", "{}", 2);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(store->claim_next().ok());  // a runs
  auto ca = store->request_cancel(a->id);
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(ca->state, JobState::Running);  // the runner stops it
  EXPECT_TRUE(ca->cancel_requested);
  auto cb = store->request_cancel(b->id);
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->state, JobState::Canceled);  // never started: canceled at once
  EXPECT_TRUE(cb->finished_ms.has_value());
  EXPECT_TRUE(store->request_cancel(b->id).ok());  // twice is fine
  auto fa = store->finish(a->id, JobState::Canceled, "canceled by request", 5, "");
  ASSERT_TRUE(fa.ok());
  EXPECT_EQ(fa->state, JobState::Canceled);
  auto none = store->claim_next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(JobStoreTest, InvalidTransitionsAreRejectedNamingJobAndStates) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto job = store->enqueue("render", "{}", 1);
  ASSERT_TRUE(job.ok());
  const std::string id = job->id;

  auto early = store->finish(id, JobState::Succeeded, "", 1, "x.mp4");
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::InvalidInput);
  EXPECT_THAT(early.error().message,
              AllOf(HasSubstr(id), HasSubstr("queued"), HasSubstr("succeeded")));

  auto progress = store->update_progress(id, 1, 2);
  ASSERT_FALSE(progress.ok());
  EXPECT_THAT(progress.error().message, AllOf(HasSubstr(id), HasSubstr("queued")));

  auto not_final = store->finish(id, JobState::Running, "", std::nullopt, "");
  ASSERT_FALSE(not_final.ok());
  EXPECT_THAT(not_final.error().message, AllOf(HasSubstr(id), HasSubstr("running")));

  auto remove_queued = store->remove(id);
  ASSERT_FALSE(remove_queued.ok());
  EXPECT_THAT(remove_queued.error().message, AllOf(HasSubstr(id), HasSubstr("queued")));

  ASSERT_TRUE(store->claim_next().ok());
  ASSERT_TRUE(store->finish(id, JobState::Succeeded, "", 1, "x.mp4").ok());
  auto twice = store->finish(id, JobState::Failed, "late error", 1, "");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.error().message,
              AllOf(HasSubstr(id), HasSubstr("succeeded"), HasSubstr("failed")));
  auto cancel_done = store->request_cancel(id);
  ASSERT_FALSE(cancel_done.ok());
  EXPECT_THAT(cancel_done.error().message,
              AllOf(HasSubstr(id), HasSubstr("succeeded"), HasSubstr("canceled")));
  auto progress_done = store->update_progress(id, 1, 2);
  ASSERT_FALSE(progress_done.ok());
  EXPECT_THAT(progress_done.error().message, HasSubstr("succeeded"));
  // The record is untouched by the refused calls.
  auto after = store->get(id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, JobState::Succeeded);
  EXPECT_EQ(after->error, "");
  EXPECT_EQ(after->output_path, "x.mp4");

  auto unknown = store->finish("feedface", JobState::Failed, "", std::nullopt, "");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::NotFound);
  EXPECT_THAT(unknown.error().message, HasSubstr("feedface"));
}

TEST_F(JobStoreTest, ExpiredListsFinishedJobsPastTheirTtlOnly) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto early = store->enqueue("render", "{}", 1);
  auto late = store->enqueue("render", "{}", 1);
  auto waiting = store->enqueue("render", "{}", 1);
  auto running = store->enqueue("render", "{}", 1);
  ASSERT_TRUE(early.ok() && late.ok() && waiting.ok() && running.ok());
  const int64_t t0 = now_ms_.load();
  ASSERT_TRUE(store->claim_next().ok());  // early
  ASSERT_TRUE(store->finish(early->id, JobState::Succeeded, "", 1, "a.mp4").ok());
  now_ms_ = t0 + 4000;
  ASSERT_TRUE(store->request_cancel(late->id).ok());  // finished at t0 + 4 s
  ASSERT_TRUE(store->claim_next().ok());              // waiting
  ASSERT_TRUE(store->finish(waiting->id, JobState::Failed, "x", 1, "").ok());
  ASSERT_TRUE(store->claim_next().ok());  // running stays running
  constexpr int64_t kTtl = 10'000;

  auto none = store->expired(t0 + kTtl - 1, kTtl);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto first = store->expired(t0 + kTtl, kTtl);  // boundary: finished exactly ttl ago
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].id, early->id);
  EXPECT_EQ((*first)[0].output_path, "a.mp4");
  auto all = store->expired(t0 + 10 * kTtl, kTtl);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);  // never the running job
  EXPECT_EQ((*all)[0].id, early->id);
  for (const JobRecord& r : *all) {
    EXPECT_NE(r.id, running->id);
    ASSERT_TRUE(store->remove(r.id).ok());
  }
  auto gone = store->get(early->id);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
  auto counts = store->count_by_state();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at(JobState::Running), 1);
  EXPECT_EQ(counts->at(JobState::Succeeded) + counts->at(JobState::Failed) +
                counts->at(JobState::Canceled),
            0);
}

TEST_F(JobStoreTest, FileThatIsNotADatabaseIsRefusedNamingThePath) {
  {
    std::ofstream out(path_, std::ios::binary);
    for (int i = 0; i < 200; ++i) out << "this is a render log, not a database\n";
  }
  auto store = JobStore::open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::Io);
  EXPECT_THAT(store.error().message, AllOf(HasSubstr(path_.string()), HasSubstr("not a database")));
}

TEST_F(JobStoreTest, DamagedDatabaseIsRefusedNamingThePath) {
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    const std::string big(2000, 'x');  // spreads the table over many pages
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(store->enqueue("render", big, i).ok());
  }  // closing the last connection checkpoints the WAL into the main file
  ASSERT_FALSE(fs::exists(dir_ / "jobs.sqlite3-wal") &&
               fs::file_size(dir_ / "jobs.sqlite3-wal") > 0);
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    const std::string garbage(4096 * 8, '\xA5');  // pages 3..10: b-tree pages, overwritten
    f.seekp(4096 * 2);
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto store = JobStore::open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::Io);
  EXPECT_THAT(store.error().message, HasSubstr(path_.string()));
}

TEST_F(JobStoreTest, MissingDirectoryIsAnErrorNamingThePath) {
  const fs::path p = dir_ / "no-such-dir" / "jobs.sqlite3";
  auto store = JobStore::open(p);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.error().message, HasSubstr(p.string()));
}

TEST_F(JobStoreTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(open_store());
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
    ASSERT_EQ(sqlite3_exec(db.get(), "PRAGMA user_version = 99", nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  auto store = JobStore::open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.error().message,
              AllOf(HasSubstr(path_.string()), HasSubstr("99"), HasSubstr("newer")));
}

TEST_F(JobStoreTest, TwoHandlesSeeEachOthersWrites) {
  auto a = open_store();
  auto b = open_store();
  ASSERT_TRUE(a && b);
  auto job = a->enqueue("render", "{}", 7);
  ASSERT_TRUE(job.ok());
  auto seen = b->get(job->id);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->state, JobState::Queued);
  auto claimed = b->claim_next();
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_EQ(a->get(job->id)->state, JobState::Running);
  auto none = a->claim_next();  // b has it
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(JobStoreTest, AnotherProcessSeesWritesWhileBothAreOpen) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto mine = store->enqueue("render", "{\"from\":\"parent\"}", 1);
  ASSERT_TRUE(mine.ok());
  const std::string my_id = mine->id;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Its own connection (never the parent's): sees the parent's job, claims it, adds one.
    ::close(pipe_fds[0]);
    auto other = JobStore::open(path_);
    if (!other) ::_exit(2);
    auto seen = (*other)->get(my_id);
    if (!seen || seen->state != JobState::Queued) ::_exit(3);
    auto claimed = (*other)->claim_next();
    if (!claimed || !claimed->has_value() || (*claimed)->id != my_id) ::_exit(4);
    auto added = (*other)->enqueue("render", "{\"from\":\"child\"}", 2);
    if (!added) ::_exit(5);
    if (::write(pipe_fds[1], added->id.data(), 32) != 32) ::_exit(6);
    ::_exit(0);  // no destructors: the connection is dropped, as in a crash
  }
  ::close(pipe_fds[1]);
  char buf[32];
  ASSERT_EQ(::read(pipe_fds[0], buf, sizeof buf), 32);
  ::close(pipe_fds[0]);
  int ws = 0;
  ASSERT_EQ(::waitpid(pid, &ws, 0), pid);
  ASSERT_TRUE(WIFEXITED(ws));
  ASSERT_EQ(WEXITSTATUS(ws), 0);
  const std::string child_id(buf, sizeof buf);
  auto theirs = store->get(child_id);
  ASSERT_TRUE(theirs.ok()) << theirs.error().message;
  EXPECT_EQ(theirs->request_json, "{\"from\":\"child\"}");
  EXPECT_EQ(store->get(my_id)->state, JobState::Running);
}

}  // namespace
}  // namespace leancut::server
