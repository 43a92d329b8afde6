// Child on real processes: exit codes, terminate with a grace period (and past a child that
// ignores SIGTERM), the memory limit by rlimit (everywhere) and by a real memory cgroup (where
// this process's group is writable: root on our machines), and nothing left behind — no process
// of the group in /proc, no child cgroup directory.
#include "server/child_process.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace leancut::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr int64_t kMiB = 1 << 20;
// A process that touches 400 MiB: python3 fills a bytes object (a bytearray would be calloc'd
// and never touched); without python, tail holds one 400 MiB line.
const char* const kHog400 =
    "if [ -x /usr/bin/python3 ]; then exec /usr/bin/python3 -c 'x = b\"x\" * (400 << 20)'; "
    "else head -c 400M /dev/zero | tail; fi";

ChildSpec shell(const std::string& script) {
  ChildSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  return spec;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Pids of live-or-zombie processes whose process group is `pgid`, from /proc/PID/stat.
std::vector<pid_t> group_members(pid_t pgid) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = slurp(entry.path() / "stat");
    std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    long ppid = 0, group = 0;
    rest >> state >> ppid >> group;
    if (group == pgid) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Waits (polling, bounded) until `cond` holds; the processes under test give no other signal.
template <typename F>
bool eventually(F cond, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool group_gone(pid_t pgid) {
  return ::kill(-pgid, 0) != 0 && errno == ESRCH;
}

class ChildProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // As the server does: killed grandchildren are reaped by us, not left as zombies.
    ASSERT_TRUE(become_child_subreaper().ok());
  }
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-child-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  // A child under a cgroup limit, or a skip saying why there is none.
  std::optional<Child> spawn_in_cgroup(ChildSpec spec, int64_t limit) {
    spec.memory_limit_bytes = limit;
    spec.limit = LimitMethod::Cgroup;
    Result<Child> child = Child::spawn(spec);
    if (!child.ok()) {
      EXPECT_EQ(child.error().code, ErrorCode::Unsupported) << child.error().message;
      skip_reason_ = "no writable memory cgroup: " + child.error().message;
      return std::nullopt;
    }
    return std::move(child).value();
  }

  fs::path dir_;
  std::string skip_reason_;
};

TEST_F(ChildProcessTest, ReportsTheExitCode) {
  auto child = Child::spawn(shell("exit 3"));
  ASSERT_TRUE(child.ok()) << child.error().message;
  EXPECT_EQ(child->limit_method(), LimitMethod::None);
  auto st = child->wait_for(10s);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(st->has_value());
  EXPECT_TRUE((*st)->exited);
  EXPECT_EQ((*st)->exit_code, 3);
  EXPECT_FALSE((*st)->oom_killed);
  EXPECT_EQ((*st)->describe(), "exited with status 3");
  auto again = child->poll();  // the same answer once reaped
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->exit_code, 3);
}

TEST_F(ChildProcessTest, WritesOutputFilesWithEnvAndWorkingDir) {
  ChildSpec spec = shell("echo \"$LEANCUT_JOB\"; pwd; echo oops >&2; exit 0");
  spec.env = {{"LEANCUT_JOB", "abc123"}};
  spec.working_dir = dir_;
  spec.stdout_path = dir_ / "out.log";
  spec.stderr_path = dir_ / "err.log";
  auto child = Child::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  auto st = child->wait_for(10s);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_TRUE((*st)->success());
  EXPECT_EQ(slurp(dir_ / "out.log"), "abc123\n" + dir_.string() + "\n");
  EXPECT_EQ(slurp(dir_ / "err.log"), "oops\n");
}

TEST_F(ChildProcessTest, LooksUpProgramsOnPath) {
  ChildSpec spec;
  spec.argv = {"true"};
  auto child = Child::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  auto st = child->wait_for(10s);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_TRUE((*st)->success());
}

TEST_F(ChildProcessTest, FailuresToStartAreErrorsNamingTheProgramAndStep) {
  ChildSpec missing;
  missing.argv = {"/nonexistent/leancut-job"};
  auto a = Child::spawn(missing);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::NotFound);
  EXPECT_THAT(a.error().message, HasSubstr("/nonexistent/leancut-job"));
  EXPECT_THAT(a.error().message, HasSubstr("execve"));

  missing.argv = {"leancut-no-such-program-on-path"};
  auto b = Child::spawn(missing);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::NotFound);
  EXPECT_THAT(b.error().message, HasSubstr("leancut-no-such-program-on-path"));

  const fs::path not_exec = dir_ / "script.sh";
  std::ofstream(not_exec) << "#!/bin/sh\nexit 0\n";
  fs::permissions(not_exec, fs::perms::owner_read | fs::perms::owner_write);
  ChildSpec plain;
  plain.argv = {not_exec.string()};
  auto c = Child::spawn(plain);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr(not_exec.string()));
  EXPECT_THAT(c.error().message, HasSubstr("execve"));

  ChildSpec bad_dir = shell("exit 0");
  bad_dir.working_dir = dir_ / "missing";
  auto d = Child::spawn(bad_dir);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::NotFound);
  EXPECT_THAT(d.error().message, HasSubstr((dir_ / "missing").string()));
}

TEST_F(ChildProcessTest, WaitForTimesOutWhileTheChildRuns) {
  auto child = Child::spawn(shell("exec sleep 30"));
  ASSERT_TRUE(child.ok()) << child.error().message;
  const auto t0 = std::chrono::steady_clock::now();
  auto st = child->wait_for(100ms);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_FALSE(st->has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  auto now = child->poll();
  ASSERT_TRUE(now.ok());
  EXPECT_FALSE(now->has_value());
}

TEST_F(ChildProcessTest, WhatTheLeaderLeftBehindIsKilledWhenItExits) {
  ChildSpec spec = shell("sleep 30 & echo started; exit 4");
  spec.stdout_path = dir_ / "out.log";
  auto child = Child::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  const pid_t pgid = child->pid();
  auto st = child->wait_for(10s);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->exit_code, 4);
  EXPECT_EQ(slurp(dir_ / "out.log"), "started\n");
  EXPECT_TRUE(group_gone(pgid)) << "members left: " << group_members(pgid).size();
}

TEST_F(ChildProcessTest, TerminateEndsASleepingGroupWithSigterm) {
  // sh forks sleep (two processes in the group); SIGTERM to the group ends both.
  auto child = Child::spawn(shell("sleep 30; exit 0"));
  ASSERT_TRUE(child.ok()) << child.error().message;
  const pid_t pgid = child->pid();
  ASSERT_TRUE(eventually([&] { return group_members(pgid).size() == 2; }));
  const auto t0 = std::chrono::steady_clock::now();
  auto st = child->terminate(5s);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_FALSE(st->exited);
  EXPECT_EQ(st->term_signal, SIGTERM) << st->describe();
  EXPECT_EQ(st->describe(), "killed by SIGTERM");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // no need to wait out the grace
  EXPECT_TRUE(group_gone(pgid)) << "members left: " << group_members(pgid).size();
}

TEST_F(ChildProcessTest, TerminateKillsAChildThatIgnoresSigtermAfterTheGrace) {
  ChildSpec spec = shell("trap '' TERM; echo ready; sleep 30");
  spec.stdout_path = dir_ / "out.log";
  auto child = Child::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  const pid_t pgid = child->pid();
  // The trap must be set before SIGTERM arrives, or the shell would simply die of it.
  ASSERT_TRUE(eventually([&] { return slurp(dir_ / "out.log") == "ready\n"; }));
  const auto t0 = std::chrono::steady_clock::now();
  auto st = child->terminate(300ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_FALSE(st->exited);
  EXPECT_EQ(st->term_signal, SIGKILL) << st->describe();
  EXPECT_FALSE(st->oom_killed);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 10s);
  EXPECT_TRUE(group_gone(pgid));
}

TEST_F(ChildProcessTest, SignalsBlockedInTheParentAreUnblockedInTheChild) {
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &term, &old), 0);  // as a server's signal thread does
  auto child = Child::spawn(shell("sleep 30"));
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
  ASSERT_TRUE(child.ok()) << child.error().message;
  auto st = child->terminate(5s);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->term_signal, SIGTERM) << st->describe();
}

TEST_F(ChildProcessTest, DoesNotInheritDescriptorsOpenedWithoutCloexec) {
  const int raw = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC, as careless code would
  ASSERT_GE(raw, 0);
  const int leaked = ::fcntl(raw, F_DUPFD, 100);
  ::close(raw);
  ASSERT_GE(leaked, 100);
  ChildSpec spec = shell("for fd in /proc/$$/fd/*; do echo ${fd##*/}; done");
  spec.stdout_path = dir_ / "fds.txt";
  auto child = Child::spawn(spec);
  ::close(leaked);
  ASSERT_TRUE(child.ok()) << child.error().message;
  auto st = child->wait_for(10s);
  ASSERT_TRUE(st.ok() && st->has_value());
  const std::string fds = slurp(dir_ / "fds.txt");
  EXPECT_THAT(fds, HasSubstr("0\n1\n2\n"));
  EXPECT_THAT(fds, ::testing::Not(HasSubstr(std::to_string(leaked))));
}

TEST_F(ChildProcessTest, DiesWithTheThreadThatSpawnedIt) {
  std::optional<Child> child;
  std::thread spawner([&] {
    auto c = Child::spawn(shell("exec sleep 30"));
    if (c.ok()) child = std::move(c).value();
  });
  spawner.join();  // PR_SET_PDEATHSIG fires: the spawning thread is gone
  ASSERT_TRUE(child.has_value());
  auto st = child->wait_for(10s);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->term_signal, SIGKILL) << (*st)->describe();
}

TEST_F(ChildProcessTest, DestroyingARunningChildLeavesNoProcess) {
  pid_t pgid = -1;
  {
    auto child = Child::spawn(shell("sleep 30 & sleep 30 & wait"));
    ASSERT_TRUE(child.ok()) << child.error().message;
    pgid = child->pid();
    ASSERT_TRUE(eventually([&] { return group_members(pgid).size() == 3; }));
  }
  EXPECT_TRUE(group_members(pgid).empty());  // no live process, no zombie
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pgid)));
  EXPECT_TRUE(group_gone(pgid));
}

TEST_F(ChildProcessTest, MovedChildIsOwnedOnce) {
  auto spawned = Child::spawn(shell("exit 7"));
  ASSERT_TRUE(spawned.ok());
  Child a = std::move(spawned).value();
  Child b = std::move(a);
  auto st = b.wait_for(10s);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->exit_code, 7);
  EXPECT_FALSE(a.poll().ok());  // NOLINT(bugprone-use-after-move): moved-from says so
}

// The rlimit path: runs everywhere (no cgroup needed). Allocation fails inside the child, which
// exits with an error; the kernel kills nothing, so no OOM is reported.
TEST_F(ChildProcessTest, RlimitMakesAllocationPastTheLimitFail) {
  ChildSpec spec = shell(kHog400);
  spec.memory_limit_bytes = 64 * kMiB;
  spec.limit = LimitMethod::Rlimit;
  spec.stderr_path = dir_ / "err.log";
  auto child = Child::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  EXPECT_EQ(child->limit_method(), LimitMethod::Rlimit);
  EXPECT_TRUE(child->cgroup_dir().empty());
  auto st = child->wait_for(60s);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(st->has_value()) << "the hog did not end within 60 s";
  EXPECT_FALSE((*st)->success()) << slurp(dir_ / "err.log");
  EXPECT_FALSE((*st)->oom_killed);
  EXPECT_THAT(slurp(dir_ / "err.log"),
              ::testing::AnyOf(HasSubstr("MemoryError"), HasSubstr("memory exhausted")));
}

TEST_F(ChildProcessTest, RlimitLeavesSmallProgramsAlone) {
  ChildSpec spec = shell("exit 0");
  spec.memory_limit_bytes = 64 * kMiB;
  spec.limit = LimitMethod::Rlimit;
  auto child = Child::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  auto st = child->wait_for(10s);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_TRUE((*st)->success()) << (*st)->describe();
}

TEST_F(ChildProcessTest, CgroupHoldsTheChildWithItsLimitAndIsRemovedAfterwards) {
  ChildSpec spec = shell("echo ready; exec sleep 30");
  spec.stdout_path = dir_ / "out.log";
  spec.cgroup_name = "leancut-test-" + std::to_string(::getpid()) + "-limit";
  std::optional<Child> child = spawn_in_cgroup(spec, 64 * kMiB);
  if (!child) GTEST_SKIP() << skip_reason_;
  EXPECT_EQ(child->limit_method(), LimitMethod::Cgroup);
  const fs::path cg = child->cgroup_dir();
  ASSERT_FALSE(cg.empty());
  EXPECT_EQ(cg.filename(), spec.cgroup_name);
  ASSERT_TRUE(fs::is_directory(cg));
  const bool v1 = fs::exists(cg / "memory.limit_in_bytes");
  EXPECT_EQ(std::stoll(slurp(cg / (v1 ? "memory.limit_in_bytes" : "memory.max"))), 64 * kMiB);
  if (v1 && fs::exists(cg / "memory.memsw.limit_in_bytes")) {
    EXPECT_EQ(std::stoll(slurp(cg / "memory.memsw.limit_in_bytes")), 64 * kMiB);
  }
  // Joined before exec: the pid in the group is the program itself.
  ASSERT_TRUE(eventually([&] { return slurp(dir_ / "out.log") == "ready\n"; }));
  EXPECT_EQ(slurp(cg / "cgroup.procs"), std::to_string(child->pid()) + "\n");
  child.reset();
  EXPECT_FALSE(fs::exists(cg));
}

TEST_F(ChildProcessTest, CgroupOomKillIsReportedAndNeverHangs) {
  ChildSpec spec = shell(kHog400);
  spec.stderr_path = dir_ / "err.log";
  std::optional<Child> child = spawn_in_cgroup(spec, 64 * kMiB);
  if (!child) GTEST_SKIP() << skip_reason_;
  const fs::path cg = child->cgroup_dir();
  auto st = child->wait_for(60s);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(st->has_value()) << "the hog did not end within 60 s";
  EXPECT_FALSE((*st)->success());
  EXPECT_TRUE((*st)->oom_killed) << (*st)->describe() << "\n" << slurp(dir_ / "err.log");
  EXPECT_THAT((*st)->describe(), HasSubstr("out of memory (cgroup limit 64 MiB)"));
  EXPECT_FALSE(fs::exists(cg));  // removed as soon as the job ended
  child.reset();
  EXPECT_FALSE(fs::exists(cg));
}

TEST_F(ChildProcessTest, CgroupKillWithoutMemoryPressureIsNotAnOom) {
  std::optional<Child> child = spawn_in_cgroup(shell("kill -KILL $$"), 64 * kMiB);
  if (!child) GTEST_SKIP() << skip_reason_;
  auto st = child->wait_for(10s);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->term_signal, SIGKILL);
  EXPECT_FALSE((*st)->oom_killed);
}

TEST_F(ChildProcessTest, CgroupCatchesProcessesThatLeaveTheGroup) {
  // setsid moves the grandchild out of the process group; the cgroup still holds it.
  ChildSpec spec = shell("setsid sleep 30 & echo $! ; wait");
  spec.stdout_path = dir_ / "out.log";
  std::optional<Child> child = spawn_in_cgroup(spec, 64 * kMiB);
  if (!child) GTEST_SKIP() << skip_reason_;
  const fs::path cg = child->cgroup_dir();
  ASSERT_TRUE(eventually([&] { return slurp(dir_ / "out.log").size() > 1; }));
  const std::string escaped = slurp(dir_ / "out.log");
  const pid_t escaped_pid = static_cast<pid_t>(std::stol(escaped));
  ASSERT_TRUE(eventually([&] { return ::getsid(escaped_pid) == escaped_pid; }));
  child.reset();
  EXPECT_FALSE(fs::exists(cg));
  EXPECT_TRUE(eventually([&] { return !fs::exists("/proc/" + std::to_string(escaped_pid)); }))
      << "pid " << escaped_pid << " survived";
}

TEST_F(ChildProcessTest, AutoFallsBackToRlimitWithANoteWhereNoCgroupIsFound) {
  memory::CgroupInfo none;  // as resolve_cgroup reports on a host without a memory cgroup
  none.notes.push_back("no memory cgroup found (test)");
  ChildSpec spec = shell("exit 0");
  spec.memory_limit_bytes = 64 * kMiB;
  auto child = Child::spawn(spec, none);
  ASSERT_TRUE(child.ok()) << child.error().message;
  EXPECT_EQ(child->limit_method(), LimitMethod::Rlimit);
  EXPECT_THAT(child->limit_note(), HasSubstr("no memory cgroup found"));
  spec.limit = LimitMethod::Cgroup;
  auto required = Child::spawn(spec, none);
  ASSERT_FALSE(required.ok());
  EXPECT_EQ(required.error().code, ErrorCode::Unsupported);
}

}  // namespace
}  // namespace leancut::server
