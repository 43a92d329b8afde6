#include "memory/monitor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <limits>

#include "fakes/cgroupfs/fake_tree.h"
#include "fakes/fake_clock.h"

namespace leancut::memory {
namespace {

using fakes::cgroupfs_tree;
using fakes::FakeClock;
using fakes::FakeTree;

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kNoBound = std::numeric_limits<int64_t>::max();

int64_t page_bytes() {
  return static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

TEST(Monitor, SampleOnV1HybridTree) {
  FakeClock clock;
  Monitor monitor(SysRoot{cgroupfs_tree("v1")}, clock);
  Sample s = monitor.sample();
  EXPECT_EQ(s.time, clock.now());
  EXPECT_EQ(s.rss_bytes, 2560 * page_bytes());  // statm's second field, in pages
  EXPECT_EQ(s.mem_total_bytes, int64_t{24683656} * 1024);
  EXPECT_EQ(s.cgroup_version, CgroupVersion::V1);
  EXPECT_EQ(s.cgroup.limit_bytes, 256 * kMiB);
  EXPECT_EQ(s.cgroup.working_set_bytes, 150994944 - 16777216);
  EXPECT_EQ(s.cgroup.failcnt, 7);
  // The unified group's memory.pressure wins over the system file.
  EXPECT_TRUE(s.psi_from_cgroup);
  EXPECT_EQ(s.psi_some_avg10, 3.5);
  EXPECT_EQ(s.psi_full_avg10, 2.25);

  clock.advance(std::chrono::milliseconds(250));
  EXPECT_EQ(monitor.sample().time - s.time, std::chrono::milliseconds(250));
}

TEST(Monitor, FallsBackToSystemPsi) {
  FakeTree tree("v1");
  tree.remove("sys/fs/cgroup/unified/jobs/render/job42/memory.pressure");
  FakeClock clock;
  Sample s = Monitor(SysRoot{tree.root()}, clock).sample();
  EXPECT_FALSE(s.psi_from_cgroup);
  EXPECT_EQ(s.psi_some_avg10, 1.25);
  EXPECT_EQ(s.psi_full_avg10, 0.75);
}

TEST(Monitor, SampleOnV2Tree) {
  FakeClock clock;
  Monitor monitor(SysRoot{cgroupfs_tree("v2")}, clock);
  Sample s = monitor.sample();
  EXPECT_EQ(s.rss_bytes, 1024 * page_bytes());
  EXPECT_EQ(s.mem_total_bytes, int64_t{2048000} * 1024);
  EXPECT_EQ(s.cgroup_version, CgroupVersion::V2);
  EXPECT_EQ(s.cgroup.limit_bytes, 512 * kMiB);
  EXPECT_EQ(s.cgroup.high_bytes, 384 * kMiB);
  EXPECT_EQ(s.cgroup.working_set_bytes, 220 * kMiB);
  EXPECT_EQ(s.cgroup.events_oom_kill, 1);
  EXPECT_TRUE(s.psi_from_cgroup);
  EXPECT_EQ(s.psi_some_avg10, 12.5);
  EXPECT_EQ(s.psi_full_avg10, 6.25);
  EXPECT_EQ(monitor.effective_cpu_count(), std::min(2, available_cpu_count()));
}

TEST(Monitor, NoCgroupNoPsi) {
  FakeClock clock;
  Monitor monitor(SysRoot{cgroupfs_tree("none")}, clock);
  Sample s = monitor.sample();
  EXPECT_EQ(s.rss_bytes, 256 * page_bytes());
  EXPECT_EQ(s.mem_total_bytes, int64_t{1000000} * 1024);
  EXPECT_EQ(s.cgroup_version, CgroupVersion::None);
  EXPECT_FALSE(s.cgroup.limit_bytes);
  EXPECT_FALSE(s.cgroup.usage_bytes);
  EXPECT_FALSE(s.psi_some_avg10);
  EXPECT_FALSE(s.psi_full_avg10);
  EXPECT_FALSE(s.psi_from_cgroup);
  EXPECT_FALSE(monitor.smaps_rollup());
  EXPECT_EQ(monitor.effective_limit_bytes(std::nullopt), int64_t{1000000} * 1024);
}

TEST(Monitor, EmptyTreeDegradesToZeros) {
  FakeTree tree("");
  FakeClock clock;
  Monitor monitor(SysRoot{tree.root()}, clock);
  Sample s = monitor.sample();
  EXPECT_EQ(s.rss_bytes, 0);
  EXPECT_EQ(s.mem_total_bytes, 0);
  EXPECT_EQ(monitor.effective_limit_bytes(std::nullopt), kNoBound);
  EXPECT_EQ(monitor.effective_limit_bytes(64 * kMiB), 64 * kMiB);
}

TEST(EffectiveLimit, IsTheMinimumOfWhatIsKnown) {
  FakeClock clock;
  Monitor v2(SysRoot{cgroupfs_tree("v2")}, clock);  // max 512 MiB, high 384 MiB, RAM ~1.95 GiB
  EXPECT_EQ(v2.effective_limit_bytes(1024 * kMiB), 384 * kMiB);
  EXPECT_EQ(v2.effective_limit_bytes(256 * kMiB), 256 * kMiB);
  EXPECT_EQ(v2.effective_limit_bytes(std::nullopt), 384 * kMiB);

  Monitor v1(SysRoot{cgroupfs_tree("v1")}, clock);  // 256 MiB from the parent group
  EXPECT_EQ(v1.effective_limit_bytes(std::nullopt), 256 * kMiB);
  EXPECT_EQ(v1.effective_limit_bytes(300 * kMiB), 256 * kMiB);

  Sample s;
  EXPECT_EQ(effective_limit_bytes(std::nullopt, s), kNoBound);
  EXPECT_EQ(effective_limit_bytes(0, s), kNoBound);  // zero or negative: not configured
  s.mem_total_bytes = 1000;
  EXPECT_EQ(effective_limit_bytes(5000, s), 1000);
  s.cgroup.limit_bytes = 800;
  EXPECT_EQ(effective_limit_bytes(5000, s), 800);
  s.cgroup.high_bytes = 700;
  EXPECT_EQ(effective_limit_bytes(5000, s), 700);
  EXPECT_EQ(effective_limit_bytes(600, s), 600);
}

TEST(EffectiveLimit, FollowsALimitChangedWhileRunning) {
  FakeTree tree("v2");
  FakeClock clock;
  Monitor monitor(SysRoot{tree.root()}, clock);
  EXPECT_EQ(monitor.effective_limit_bytes(std::nullopt), 384 * kMiB);
  tree.write("sys/fs/cgroup/render.slice/memory.max", "209715200\n");
  EXPECT_EQ(monitor.effective_limit_bytes(std::nullopt), 200 * kMiB);
}

TEST(Monitor, SmapsRollup) {
  FakeClock clock;
  auto r = Monitor(SysRoot{cgroupfs_tree("v1")}, clock).smaps_rollup();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rss_bytes, 10240 * 1024);
  EXPECT_EQ(r->pss_bytes, 9000 * 1024);
  EXPECT_EQ(r->anonymous_bytes, 7168 * 1024);
  EXPECT_EQ(r->swap_bytes, 128 * 1024);  // "Swap:", not "SwapPss:"
}

// The machine we run on: only what must hold anywhere Linux runs.
TEST(Monitor, RealMachine) {
  Monitor monitor(SysRoot{}, SteadyClock::instance());
  Sample s = monitor.sample();
  EXPECT_GT(s.rss_bytes, 0);
  EXPECT_GT(s.mem_total_bytes, 0);
  int64_t limit = monitor.effective_limit_bytes(std::nullopt);
  EXPECT_GT(limit, 0);
  EXPECT_LE(limit, s.mem_total_bytes);
  if (s.cgroup.limit_bytes) {
    EXPECT_GT(*s.cgroup.limit_bytes, 0);
  }
  if (s.cgroup.working_set_bytes) {
    EXPECT_LE(*s.cgroup.working_set_bytes, *s.cgroup.usage_bytes);
  }
  if (s.psi_some_avg10) {
    EXPECT_GE(*s.psi_some_avg10, 0.0);
  }
  int cpus = monitor.effective_cpu_count();
  EXPECT_GE(cpus, 1);
  EXPECT_LE(cpus, available_cpu_count());
  if (auto r = monitor.smaps_rollup()) {
    EXPECT_GT(r->rss_bytes, 0);
  }
  std::string notes;
  for (const auto& n : monitor.cgroup().notes) notes += "\n  " + n;
  std::printf("real machine: memory cgroup %s at %s, cpu cgroup %s, limit %lld, rss %lld%s\n",
              to_string(s.cgroup_version), monitor.cgroup().memory.group.c_str(),
              to_string(monitor.cgroup().cpu.version), static_cast<long long>(limit),
              static_cast<long long>(s.rss_bytes), notes.c_str());
}

}  // namespace
}  // namespace leancut::memory
