#include "memory/cgroup.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "fakes/cgroupfs/fake_tree.h"

namespace leancut::memory {
namespace {

namespace fs = std::filesystem;
using detail::kUnlimited;
using fakes::cgroupfs_tree;
using fakes::FakeTree;

constexpr int64_t kMiB = 1024 * 1024;

CgroupInfo resolve(const fs::path& root) {
  return resolve_cgroup(SysRoot{root});
}

std::string joined(const std::vector<std::string>& notes) {
  std::string out;
  for (const auto& n : notes) out += n + "\n";
  return out;
}

// --- parsers ---

TEST(ParseProcCgroup, ReadsV1AndV2LinesAndSkipsMalformedOnes) {
  auto lines = detail::parse_proc_cgroup(
      "9:name=systemd:/\n"
      "4:memory:/docker/abc\n"
      "2:cpu,cpuacct:/docker/abc\n"
      "garbage\n"
      "x:memory:/a\n"
      "5:devices:\n"
      "6:pids:relative\n"
      "0::/user.slice/user-1000.slice/session-2.scope\n");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].hierarchy_id, 9);
  EXPECT_EQ(lines[0].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_EQ(lines[1].controllers, std::vector<std::string>{"memory"});
  EXPECT_EQ(lines[1].path, "/docker/abc");
  EXPECT_EQ(lines[2].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(lines[3].hierarchy_id, 0);
  EXPECT_TRUE(lines[3].controllers.empty());
  EXPECT_EQ(lines[3].path, "/user.slice/user-1000.slice/session-2.scope");
}

TEST(ParseMountinfo, ReadsRootMountPointTypeAndSuperOptions) {
  auto mounts = detail::parse_mountinfo(
      "30 21 0:26 / /sys/fs/cgroup rw,nosuid shared:9 master:2 - cgroup2 cgroup2 "
      "rw,nsdelegate\n"
      "675 666 0:37 /docker/abc /sys/fs/cgroup/memory ro,relatime master:21 - cgroup cgroup "
      "rw,memory\n"
      "70 66 0:32 / /mnt/with\\040space rw - cgroup cgroup rw,cpu,cpuacct\n"
      "1 2 0:1 / /no/separator rw cgroup cgroup rw,memory\n"
      "1 2 0:1 / /truncated rw - cgroup\n");
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].root, "/");
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup");
  EXPECT_EQ(mounts[0].fstype, "cgroup2");
  EXPECT_EQ(mounts[0].super_options, (std::vector<std::string>{"rw", "nsdelegate"}));
  EXPECT_EQ(mounts[1].root, "/docker/abc");
  EXPECT_EQ(mounts[1].fstype, "cgroup");
  EXPECT_EQ(mounts[1].super_options, (std::vector<std::string>{"rw", "memory"}));
  EXPECT_EQ(mounts[2].mount_point, "/mnt/with space");
}

TEST(ParseLimit, MaxAndV1HugeValuesAreUnlimited) {
  EXPECT_EQ(detail::parse_limit("max\n"), kUnlimited);
  EXPECT_EQ(detail::parse_limit("9223372036854771712\n"), kUnlimited);  // 4 KiB pages
  EXPECT_EQ(detail::parse_limit("9223372036854710272"), kUnlimited);    // 64 KiB pages
  EXPECT_EQ(detail::parse_limit("268435456\n"), 268435456);
  EXPECT_EQ(detail::parse_limit("0"), 0);
  EXPECT_EQ(detail::parse_limit("12x"), std::nullopt);
  EXPECT_EQ(detail::parse_limit(""), std::nullopt);
  EXPECT_EQ(detail::parse_limit("-1"), std::nullopt);
  EXPECT_EQ(detail::parse_limit("99999999999999999999999"), std::nullopt);
}

TEST(FindKeyedValue, MatchesWholeKeysAtLineStart) {
  std::string events = "low 0\nhigh_foo 5\nhigh 17\nmax 4\noom 1\noom_kill 2\n";
  EXPECT_EQ(detail::find_keyed_value(events, "high"), 17);
  EXPECT_EQ(detail::find_keyed_value(events, "oom"), 1);
  EXPECT_EQ(detail::find_keyed_value(events, "oom_kill"), 2);
  EXPECT_EQ(detail::find_keyed_value(events, "absent"), std::nullopt);
  std::string stat = "total_inactive_file 99\ninactive_file 42\n";
  EXPECT_EQ(detail::find_keyed_value(stat, "inactive_file"), 42);
  EXPECT_EQ(detail::find_keyed_value("MemTotal:       24683656 kB\n", "MemTotal:"), 24683656);
  EXPECT_EQ(detail::find_keyed_value("MemTotal:\t100 kB", "MemTotal:"), 100);
  // Malformed: the first line with the key decides.
  EXPECT_EQ(detail::find_keyed_value("inactive_file abc\ninactive_file 5\n", "inactive_file"),
            std::nullopt);
  EXPECT_EQ(detail::find_keyed_value("inactive_file\n", "inactive_file"), std::nullopt);
}

TEST(ParsePsi, ReadsSomeAndFull) {
  auto psi = detail::parse_psi(
      "some avg10=1.25 avg60=0.50 avg300=0.10 total=123456\n"
      "full avg10=0.75 avg60=0.25 avg300=0.05 total=65432\n");
  ASSERT_TRUE(psi);
  ASSERT_TRUE(psi->some);
  ASSERT_TRUE(psi->full);
  EXPECT_DOUBLE_EQ(psi->some->avg10, 1.25);
  EXPECT_DOUBLE_EQ(psi->some->avg60, 0.50);
  EXPECT_DOUBLE_EQ(psi->some->avg300, 0.10);
  EXPECT_EQ(psi->some->total_us, 123456);
  EXPECT_DOUBLE_EQ(psi->full->avg10, 0.75);
  EXPECT_EQ(psi->full->total_us, 65432);
}

TEST(ParsePsi, SkipsMalformedLines) {
  // Older kernels have no "full" line for cpu; a broken line is dropped, not misread.
  auto psi = detail::parse_psi(
      "some avg10=2.00 avg60=1.00 avg300=0.50 total=10\n"
      "full avg10=x avg60=0.25 avg300=0.05 total=65432\n");
  ASSERT_TRUE(psi);
  ASSERT_TRUE(psi->some);
  EXPECT_DOUBLE_EQ(psi->some->avg10, 2.0);
  EXPECT_FALSE(psi->full);
  EXPECT_FALSE(detail::parse_psi("some avg10=1.00 avg60=1.00 avg300=1.00\n"));  // no total
  EXPECT_FALSE(detail::parse_psi("garbage\n"));
  EXPECT_FALSE(detail::parse_psi(""));
}

TEST(ParseCpuQuota, V2CpuMax) {
  EXPECT_EQ(detail::parse_cpu_max("max 100000\n"), kUnlimited);
  EXPECT_EQ(detail::parse_cpu_max("max"), kUnlimited);
  EXPECT_EQ(detail::parse_cpu_max("200000 100000\n"), 2);
  EXPECT_EQ(detail::parse_cpu_max("150000 100000"), 2);  // 1.5 CPUs -> 2 threads
  EXPECT_EQ(detail::parse_cpu_max("100000 100000"), 1);
  EXPECT_EQ(detail::parse_cpu_max("50000 100000"), 1);  // never 0
  EXPECT_EQ(detail::parse_cpu_max("abc 100000"), std::nullopt);
  EXPECT_EQ(detail::parse_cpu_max("0 100000"), std::nullopt);
  EXPECT_EQ(detail::parse_cpu_max("100000"), std::nullopt);
  EXPECT_EQ(detail::parse_cpu_max("1 2 3"), std::nullopt);
  EXPECT_EQ(detail::parse_cpu_max(""), std::nullopt);
}

TEST(ParseCpuQuota, V1CfsQuota) {
  EXPECT_EQ(detail::parse_cfs_quota("-1\n", "100000\n"), kUnlimited);
  EXPECT_EQ(detail::parse_cfs_quota("250000\n", "100000\n"), 3);
  EXPECT_EQ(detail::parse_cfs_quota("50000", "100000"), 1);
  EXPECT_EQ(detail::parse_cfs_quota("0", "100000"), std::nullopt);
  EXPECT_EQ(detail::parse_cfs_quota("x", "100000"), std::nullopt);
  EXPECT_EQ(detail::parse_cfs_quota("100000", "0"), std::nullopt);
}

// --- resolution ---

TEST(ResolveCgroup, V1HybridLikeOurBuildMachine) {
  fs::path root = cgroupfs_tree("v1");
  CgroupInfo info = resolve(root);
  EXPECT_EQ(info.memory.version, CgroupVersion::V1);
  EXPECT_EQ(info.memory.group, root / "sys/fs/cgroup/memory/jobs/render/job42");
  EXPECT_EQ(info.memory.mount, root / "sys/fs/cgroup/memory");
  EXPECT_EQ(info.cpu.version, CgroupVersion::V1);
  EXPECT_EQ(info.cpu.group, root / "sys/fs/cgroup/cpu/jobs/render/job42");
  // PSI is accounted on the unified hierarchy even on a hybrid host.
  EXPECT_EQ(info.memory_pressure, root / "sys/fs/cgroup/unified/jobs/render/job42/memory.pressure");
  EXPECT_TRUE(info.notes.empty()) << joined(info.notes);
}

TEST(ResolveCgroup, V2) {
  fs::path root = cgroupfs_tree("v2");
  CgroupInfo info = resolve(root);
  EXPECT_EQ(info.memory.version, CgroupVersion::V2);
  EXPECT_EQ(info.memory.group, root / "sys/fs/cgroup/render.slice/job7.scope");
  EXPECT_EQ(info.memory.mount, root / "sys/fs/cgroup");
  EXPECT_EQ(info.cpu.version, CgroupVersion::V2);
  EXPECT_EQ(info.cpu.group, info.memory.group);
  EXPECT_EQ(info.memory_pressure, root / "sys/fs/cgroup/render.slice/job7.scope/memory.pressure");
  EXPECT_TRUE(info.notes.empty()) << joined(info.notes);
}

TEST(ResolveCgroup, MountRootEqualToTheGroupMeansTheGroupIsTheMountPoint) {
  fs::path root = cgroupfs_tree("v1_container");
  CgroupInfo info = resolve(root);
  EXPECT_EQ(info.memory.version, CgroupVersion::V1);
  EXPECT_EQ(info.memory.group, root / "sys/fs/cgroup/memory");
  EXPECT_EQ(info.memory.mount, root / "sys/fs/cgroup/memory");
  EXPECT_EQ(info.cpu.version, CgroupVersion::V1);  // "cpu,cpuacct" co-mounted
  EXPECT_EQ(info.cpu.group, root / "sys/fs/cgroup/cpu,cpuacct");
  EXPECT_TRUE(info.memory_pressure.empty());  // a "0::" line but no cgroup2 mount
  EXPECT_TRUE(info.notes.empty()) << joined(info.notes);
}

TEST(ResolveCgroup, MountRootAboveTheGroupKeepsTheRest) {
  FakeTree tree("v1");
  tree.write("proc/self/mountinfo",
             "35 31 0:32 /jobs /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  tree.remove("sys/fs/cgroup/memory");
  tree.write("sys/fs/cgroup/memory/render/job42/memory.limit_in_bytes", "1000\n");
  CgroupInfo info = resolve(tree.root());
  EXPECT_EQ(info.memory.group, tree.root() / "sys/fs/cgroup/memory/render/job42");
  EXPECT_EQ(info.memory.mount, tree.root() / "sys/fs/cgroup/memory");
}

TEST(ResolveCgroup, GroupOutsideTheMountRootFallsBackToTheMountPoint) {
  FakeTree tree("v1");
  tree.write("proc/self/mountinfo",
             "35 31 0:32 /other /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  CgroupInfo info = resolve(tree.root());
  EXPECT_EQ(info.memory.version, CgroupVersion::V1);
  EXPECT_EQ(info.memory.group, tree.root() / "sys/fs/cgroup/memory");
  EXPECT_NE(joined(info.notes).find("outside the mount root /other"), std::string::npos)
      << joined(info.notes);
}

TEST(ResolveCgroup, PathLeavingTheNamespaceFallsBackToTheMountPoint) {
  FakeTree tree("v2");
  tree.write("proc/self/cgroup", "0::/../../elsewhere\n");
  CgroupInfo info = resolve(tree.root());
  EXPECT_EQ(info.memory.version, CgroupVersion::V2);
  EXPECT_EQ(info.memory.group, tree.root() / "sys/fs/cgroup");
  EXPECT_NE(joined(info.notes).find("leaves the visible hierarchy"), std::string::npos);
}

TEST(ResolveCgroup, PrefersTheBindMountWhoseRootContainsTheGroup) {
  FakeTree tree("v1");
  tree.write("proc/self/mountinfo",
             "35 31 0:32 /unrelated /mnt/a rw - cgroup cgroup rw,memory\n"
             "36 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  CgroupInfo info = resolve(tree.root());
  EXPECT_EQ(info.memory.group, tree.root() / "sys/fs/cgroup/memory/jobs/render/job42");
}

TEST(ResolveCgroup, V2ControllerNotEnabledForTheGroup) {
  FakeTree tree("v2");
  tree.write("sys/fs/cgroup/render.slice/job7.scope/cgroup.controllers", "cpu pids\n");
  CgroupInfo info = resolve(tree.root());
  EXPECT_EQ(info.memory.version, CgroupVersion::None);
  EXPECT_EQ(info.cpu.version, CgroupVersion::V2);
  EXPECT_NE(joined(info.notes).find("memory controller not enabled"), std::string::npos);
}

TEST(ResolveCgroup, V1ControllerListedButNotMountedFallsToUnified) {
  FakeTree tree("v1");
  // Drop the v1 memory mount; the unified hierarchy there has no controllers.
  tree.write("proc/self/mountinfo",
             "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
             "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
  CgroupInfo info = resolve(tree.root());
  EXPECT_EQ(info.memory.version, CgroupVersion::None);
  EXPECT_EQ(info.cpu.version, CgroupVersion::V1);
  EXPECT_NE(joined(info.notes).find("v1 memory controller listed but not mounted"),
            std::string::npos);
}

TEST(ResolveCgroup, NoCgroupAtAll) {
  CgroupInfo info = resolve(cgroupfs_tree("none"));
  EXPECT_EQ(info.memory.version, CgroupVersion::None);
  EXPECT_EQ(info.cpu.version, CgroupVersion::None);
  EXPECT_TRUE(info.memory_pressure.empty());
  EXPECT_FALSE(info.notes.empty());
  EXPECT_FALSE(read_cgroup_memory(info).limit_bytes);
  EXPECT_FALSE(read_cgroup_cpu_limit(info));
}

TEST(ResolveCgroup, EmptyRootIsNotAnError) {
  FakeTree tree("");
  CgroupInfo info = resolve(tree.root());
  EXPECT_EQ(info.memory.version, CgroupVersion::None);
  EXPECT_FALSE(read_mem_total_bytes(SysRoot{tree.root()}));
}

// --- memory readings ---

TEST(ReadCgroupMemory, V1NestedGroupTakesTheParentsTighterLimit) {
  CgroupMemory mem = read_cgroup_memory(resolve(cgroupfs_tree("v1")));
  EXPECT_EQ(mem.limit_bytes, 256 * kMiB);  // leaf 1 GiB, parent 256 MiB, root unlimited
  EXPECT_FALSE(mem.high_bytes);
  EXPECT_EQ(mem.usage_bytes, 150994944);
  // usage - total_inactive_file (not inactive_file: usage covers the subtree).
  EXPECT_EQ(mem.working_set_bytes, 150994944 - 16777216);
  EXPECT_EQ(mem.failcnt, 7);
  EXPECT_FALSE(mem.events_oom);
}

TEST(ReadCgroupMemory, V1WalkFindsTheParentWithoutHierarchicalLimit) {
  FakeTree tree("v1");
  tree.write("sys/fs/cgroup/memory/jobs/render/job42/memory.stat", "inactive_file 1048576\n");
  CgroupMemory mem = read_cgroup_memory(resolve(tree.root()));
  EXPECT_EQ(mem.limit_bytes, 256 * kMiB);
  EXPECT_EQ(mem.working_set_bytes, 150994944 - 1048576);  // falls back to inactive_file
}

TEST(ReadCgroupMemory, V1HierarchicalLimitCoversAncestorsAboveTheMount) {
  FakeTree tree("v1_container");
  tree.write("sys/fs/cgroup/memory/memory.stat",
             "hierarchical_memory_limit 268435456\ntotal_inactive_file 0\n");
  CgroupMemory mem = read_cgroup_memory(resolve(tree.root()));
  EXPECT_EQ(mem.limit_bytes, 256 * kMiB);
}

TEST(ReadCgroupMemory, V1Unlimited) {
  FakeTree tree("v1");
  tree.write("sys/fs/cgroup/memory/jobs/render/memory.limit_in_bytes", "9223372036854771712\n");
  tree.write("sys/fs/cgroup/memory/jobs/render/job42/memory.limit_in_bytes",
             "9223372036854771712\n");
  tree.write("sys/fs/cgroup/memory/jobs/render/job42/memory.stat",
             "hierarchical_memory_limit 9223372036854771712\n");
  CgroupMemory mem = read_cgroup_memory(resolve(tree.root()));
  EXPECT_FALSE(mem.limit_bytes);
  EXPECT_FALSE(mem.working_set_bytes);  // no inactive_file in this stat
  EXPECT_EQ(mem.usage_bytes, 150994944);
}

TEST(ReadCgroupMemory, V1Container) {
  CgroupMemory mem = read_cgroup_memory(resolve(cgroupfs_tree("v1_container")));
  EXPECT_EQ(mem.limit_bytes, 512 * kMiB);
  EXPECT_EQ(mem.usage_bytes, 100 * kMiB);
  EXPECT_EQ(mem.working_set_bytes, 100 * kMiB - 2 * kMiB);
  EXPECT_EQ(mem.failcnt, 0);
}

TEST(ReadCgroupMemory, V2LeafMaxParentNumberAndHigh) {
  CgroupMemory mem = read_cgroup_memory(resolve(cgroupfs_tree("v2")));
  EXPECT_EQ(mem.limit_bytes, 512 * kMiB);  // leaf "max", parent 512 MiB
  EXPECT_EQ(mem.high_bytes, 384 * kMiB);   // leaf 384 MiB, parent "max"
  EXPECT_EQ(mem.usage_bytes, 300 * kMiB);
  EXPECT_EQ(mem.working_set_bytes, 300 * kMiB - 80 * kMiB);
  EXPECT_EQ(mem.events_high, 17);
  EXPECT_EQ(mem.events_max, 4);
  EXPECT_EQ(mem.events_oom, 1);
  EXPECT_EQ(mem.events_oom_kill, 1);
  EXPECT_FALSE(mem.failcnt);
}

TEST(ReadCgroupMemory, V2AbsentAndMalformedFilesLeaveFieldsEmpty) {
  FakeTree tree("v2");
  const std::string leaf = "sys/fs/cgroup/render.slice/job7.scope/";
  tree.write("sys/fs/cgroup/render.slice/memory.max", "lots\n");
  tree.remove(leaf + "memory.stat");
  tree.remove(leaf + "memory.events");
  tree.remove(leaf + "memory.high");
  CgroupMemory mem = read_cgroup_memory(resolve(tree.root()));
  EXPECT_FALSE(mem.limit_bytes);  // leaf "max", parent unreadable
  EXPECT_FALSE(mem.high_bytes);
  EXPECT_EQ(mem.usage_bytes, 300 * kMiB);
  EXPECT_FALSE(mem.working_set_bytes);
  EXPECT_FALSE(mem.events_high);
  EXPECT_FALSE(mem.events_oom_kill);
}

TEST(ReadCgroupMemory, WorkingSetNeverNegative) {
  FakeTree tree("v2");
  tree.write("sys/fs/cgroup/render.slice/job7.scope/memory.stat", "inactive_file 999999999999\n");
  EXPECT_EQ(read_cgroup_memory(resolve(tree.root())).working_set_bytes, 0);
}

TEST(ReadCgroupMemory, SeesALimitChangedAfterResolution) {
  FakeTree tree("v2");
  CgroupInfo info = resolve(tree.root());
  tree.write("sys/fs/cgroup/render.slice/job7.scope/memory.max", "104857600\n");
  EXPECT_EQ(read_cgroup_memory(info).limit_bytes, 100 * kMiB);
}

// --- PSI, MemTotal ---

TEST(ReadPsi, SystemAndCgroupFiles) {
  fs::path root = cgroupfs_tree("v1");
  auto system = read_psi(SysRoot{root}.at("/proc/pressure/memory"));
  ASSERT_TRUE(system && system->some && system->full);
  EXPECT_DOUBLE_EQ(system->some->avg10, 1.25);
  EXPECT_DOUBLE_EQ(system->full->avg10, 0.75);
  auto group = read_psi(resolve(root).memory_pressure);
  ASSERT_TRUE(group && group->some && group->full);
  EXPECT_DOUBLE_EQ(group->some->avg10, 3.5);
  EXPECT_EQ(group->full->total_us, 555555);
  EXPECT_FALSE(read_psi(SysRoot{cgroupfs_tree("none")}.at("/proc/pressure/memory")));
  EXPECT_FALSE(read_psi(fs::path()));
}

TEST(ReadMemTotal, FromMeminfo) {
  EXPECT_EQ(read_mem_total_bytes(SysRoot{cgroupfs_tree("v1")}), int64_t{24683656} * 1024);
  EXPECT_EQ(read_mem_total_bytes(SysRoot{cgroupfs_tree("none")}), int64_t{1000000} * 1024);
  FakeTree tree("none");
  tree.write("proc/meminfo", "MemFree: 5 kB\nMemTotal: lots kB\n");
  EXPECT_FALSE(read_mem_total_bytes(SysRoot{tree.root()}));
}

TEST(SysRoot, PrefixesAbsolutePaths) {
  EXPECT_EQ(SysRoot{"/tmp/x"}.at("/proc/meminfo"), fs::path("/tmp/x/proc/meminfo"));
  EXPECT_EQ(SysRoot{}.at("/proc/meminfo"), fs::path("/proc/meminfo"));
  EXPECT_EQ(SysRoot{"/tmp/x"}.at("/"), fs::path("/tmp/x"));
}

// --- CPU ---

TEST(CpuLimit, V1QuotaOnTheParent) {
  CgroupInfo info = resolve(cgroupfs_tree("v1"));
  EXPECT_EQ(read_cgroup_cpu_limit(info), 2);  // parent 150000/100000; leaf -1
  EXPECT_EQ(effective_cpu_count(info, 8), 2);
  EXPECT_EQ(effective_cpu_count(info, 1), 1);
}

TEST(CpuLimit, V1ContainerCoMountedCpuCpuacct) {
  CgroupInfo info = resolve(cgroupfs_tree("v1_container"));
  EXPECT_EQ(read_cgroup_cpu_limit(info), 3);  // 250000/100000
  EXPECT_EQ(effective_cpu_count(info, 16), 3);
}

TEST(CpuLimit, V2CpuMaxOnTheParent) {
  CgroupInfo info = resolve(cgroupfs_tree("v2"));
  EXPECT_EQ(read_cgroup_cpu_limit(info), 2);  // parent "200000 100000"; leaf "max 100000"
  EXPECT_EQ(effective_cpu_count(info, 4), 2);
}

TEST(CpuLimit, UnlimitedMalformedAndAbsent) {
  FakeTree tree("v2");
  tree.write("sys/fs/cgroup/render.slice/cpu.max", "max 100000\n");
  tree.write("sys/fs/cgroup/render.slice/job7.scope/cpu.max", "garbage\n");
  CgroupInfo info = resolve(tree.root());
  EXPECT_FALSE(read_cgroup_cpu_limit(info));
  EXPECT_EQ(effective_cpu_count(info, 6), 6);
  CgroupInfo none = resolve(cgroupfs_tree("none"));
  EXPECT_EQ(effective_cpu_count(none, 5), 5);
  EXPECT_EQ(effective_cpu_count(none, 0), 1);
  EXPECT_GE(available_cpu_count(), 1);
}

// --- PSI triggers ---

TEST(PsiTrigger, RefusesAFileThatIsNotAKernelPressureFile) {
  FakeTree tree("v2");
  fs::path file = tree.root() / "proc/pressure/memory";
  auto trigger = PsiTrigger::arm(file, PsiTrigger::Kind::Some, std::chrono::milliseconds(150),
                                 std::chrono::seconds(1));
  ASSERT_FALSE(trigger.ok());
  EXPECT_EQ(trigger.error().code, ErrorCode::Unsupported);
  auto psi = read_psi(file);  // untouched by the refused arm
  ASSERT_TRUE(psi && psi->some);
  EXPECT_DOUBLE_EQ(psi->some->avg10, 0.10);
}

TEST(PsiTrigger, AbsentFileAndBadWindow) {
  auto absent =
      PsiTrigger::arm(cgroupfs_tree("none") / "proc/pressure/memory", PsiTrigger::Kind::Full,
                      std::chrono::milliseconds(150), std::chrono::seconds(1));
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, ErrorCode::NotFound);
  auto bad = PsiTrigger::arm("/proc/pressure/memory", PsiTrigger::Kind::Some,
                             std::chrono::seconds(2), std::chrono::seconds(1));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidInput);
}

// The real kernel may refuse (no PSI, no write permission, unprivileged window rules); either
// way the answer is a value, never a crash.
TEST(PsiTrigger, RealMachineArmsOrRefusesGracefully) {
  for (auto window : {std::chrono::microseconds(1'000'000), std::chrono::microseconds(2'000'000)}) {
    auto trigger = PsiTrigger::arm("/proc/pressure/memory", PsiTrigger::Kind::Some,
                                   std::chrono::milliseconds(150), window);
    if (!trigger.ok()) {
      EXPECT_TRUE(trigger.error().code == ErrorCode::Unsupported ||
                  trigger.error().code == ErrorCode::NotFound)
          << trigger.error().message;
      continue;
    }
    EXPECT_GE(trigger->fd(), 0);
    Result<bool> fired = trigger->wait(std::chrono::milliseconds(1));
    EXPECT_TRUE(fired.ok()) << fired.error().message;
    PsiTrigger moved = std::move(trigger.value());
    EXPECT_EQ(trigger->fd(), -1);
    EXPECT_GE(moved.fd(), 0);
  }
}

}  // namespace
}  // namespace leancut::memory
