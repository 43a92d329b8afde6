// Child: one job's process, with its own hard memory limit, its own process group, and nothing
// left behind when it ends. The server runs every job this way (the same binary, a job
// subcommand), so a decoder crash or an OOM kill ends that job, never the server.
//
//   ChildSpec spec{.argv = {self_exe, "job", "--id", id},
//                  .memory_limit_bytes = estimate * 5 / 4,
//                  .stdout_path = job_dir / "stdout.log", .stderr_path = job_dir / "stderr.log"};
//   LEANCUT_ASSIGN_OR_RETURN(Child child, Child::spawn(spec));
//   for (;;) {
//     LEANCUT_ASSIGN_OR_RETURN(std::optional<ExitStatus> st, child.wait_for(1s));
//     if (st) { report(st->describe()); break; }
//     if (stuck or canceled) { report(child.terminate(10s).describe()); break; }
//   }
//   // ~Child: SIGKILLs the group, reaps it, removes the child cgroup.
//
// The memory limit is a child memory cgroup under this process's own group when that group is
// writable (v2 memory.max; v1 memory.limit_in_bytes, plus memory.memsw.limit_in_bytes when the
// kernel accounts swap, so the limit cannot be dodged by swapping). The child joins the group
// before exec, so every byte it maps is charged, and an OOM kill there is reported as such.
// On v2 the server's own group must let children have the memory controller (v2 refuses it to
// a group that holds processes itself); else, as without a writable group, setrlimit(RLIMIT_AS)
// in the child: allocations past the limit fail (the program exits with an error) instead of the
// kernel killing it, and no OOM can be reported. RLIMIT_AS counts address space, not memory
// used, so it is the weaker limit (an ASan build or a large mapping hits it early).
//
// The child: a new process group (terminate() and the destructor signal the whole group),
// PR_SET_PDEATHSIG(SIGKILL) (dies with the thread that spawned it, so spawn from a thread that
// outlives its children), default signal dispositions and an empty signal mask, no inherited
// file descriptors but stdin (/dev/null), stdout and stderr (files, or /dev/null).
//
// Thread-compatible: one owner calls poll/wait_for/terminate. Move-only. Holds one fd (a pidfd)
// and a cgroup directory while the child runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "memory/cgroup.h"

namespace leancut::server {

// How the child's memory limit is enforced.
enum class LimitMethod {
  Auto,    // spawn(): a child cgroup when possible, else rlimit
  None,    // no limit (memory_limit_bytes == 0)
  Cgroup,  // spawn(): a child cgroup or an error; Child::limit_method(): the cgroup was used
  Rlimit,  // setrlimit(RLIMIT_AS) in the child
};
const char* to_string(LimitMethod method);

struct ChildSpec {
  // argv[0] is the program: a path, or a name looked up on PATH (by the parent, before fork).
  std::vector<std::string> argv;
  // Added to this process's environment, replacing variables of the same name.
  std::vector<std::pair<std::string, std::string>> env;
  int64_t memory_limit_bytes = 0;  // 0: no limit
  LimitMethod limit = LimitMethod::Auto;
  // RLIMIT_FSIZE: no file the child writes may grow past this (the kernel stops it with
  // SIGXFSZ, which describe() names); 0: no limit. The server's per-job output-size cap.
  int64_t file_size_limit_bytes = 0;
  std::filesystem::path working_dir;  // empty: the parent's
  // Created (or truncated) by the parent; empty: /dev/null.
  std::filesystem::path stdout_path;
  std::filesystem::path stderr_path;
  // The child cgroup's directory name; empty: "leancut-child-PID-N". Job ids make good names.
  std::string cgroup_name;
};

// How a child ended.
struct ExitStatus {
  bool exited = false;  // exited on its own; else killed by a signal
  int exit_code = 0;    // when exited
  int term_signal = 0;  // when killed
  // The kernel's OOM killer killed a process of the job in its cgroup: the leader, or one it
  // started (then the leader may have exited with an error instead). From the cgroup's oom_kill
  // counter; on v1 kernels without one, SIGKILL after usage hit the limit. Never with rlimit.
  bool oom_killed = false;
  int64_t memory_limit_bytes = 0;  // what the child ran under, for describe()

  bool success() const { return exited && exit_code == 0; }
  // "exited with status 3", "killed by SIGTERM", "killed by SIGKILL: out of memory (cgroup
  // limit 64 MiB)".
  std::string describe() const;
};

class Child {
 public:
  // Starts the child. Errors (NotFound for the program or a directory, Io for the output files,
  // Unsupported for LimitMethod::Cgroup where no cgroup can be made, Internal for fork) name
  // the program and the step that failed, including failures inside the child before exec.
  static Result<Child> spawn(const ChildSpec& spec);
  // The same, with this process's cgroups already resolved (memory::resolve_cgroup); spawn()
  // resolves them once per process. Tests pass their own.
  static Result<Child> spawn(const ChildSpec& spec, const memory::CgroupInfo& cgroups);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Kills (SIGKILL) and reaps the whole group if still running, removes the child cgroup.
  ~Child();

  pid_t pid() const { return pid_; }  // also the process group id
  LimitMethod limit_method() const { return limit_method_; }
  // Why LimitMethod::Auto fell back to rlimit (no cgroup found, not writable, ...); else empty.
  const std::string& limit_note() const { return limit_note_; }
  // The child cgroup; empty when the limit is not a cgroup (or after cleanup removed it).
  const std::filesystem::path& cgroup_dir() const { return cgroup_dir_; }

  // The exit status once the child has ended (then every later call returns the same), else
  // nullopt. When the leader ends, anything left in its group or cgroup is killed, and the
  // child cgroup is removed. Errors: waitpid failed (someone else reaped our child).
  Result<std::optional<ExitStatus>> poll();
  // Waits up to `timeout` for the end (without busy-waiting: a pidfd where the kernel has them).
  Result<std::optional<ExitStatus>> wait_for(std::chrono::milliseconds timeout);
  // SIGTERM to the group; SIGKILL to the group if the leader has not ended after `grace`.
  // Returns the final status (reaped). Blocks up to `grace`.
  Result<ExitStatus> terminate(std::chrono::milliseconds grace);
  // The same without blocking, for an owner that polls several children: the first call sends
  // SIGTERM and notes the deadline; later calls (e.g. each poll tick) send SIGKILL once it has
  // passed. poll() reports the end as usual.
  void terminate_async(std::chrono::milliseconds grace, Clock::TimePoint now);
  bool terminating() const { return term_deadline_.has_value(); }

 private:
  Child() = default;
  // Signals the group and every task left in the cgroup.
  void kill_all(int sig);
  // After the leader ended: kills what is left, reaps it and removes the cgroup.
  void clean_up_after_exit();
  // Reads the cgroup's OOM figures into `st`; before the cgroup is removed.
  void read_oom(ExitStatus& st) const;
  void destroy();

  pid_t pid_ = -1;
  int pidfd_ = -1;  // -1 where pidfd_open is not available
  LimitMethod limit_method_ = LimitMethod::None;
  memory::CgroupVersion cgroup_version_ = memory::CgroupVersion::None;
  std::filesystem::path cgroup_dir_;
  std::string limit_note_;
  int64_t memory_limit_bytes_ = 0;
  std::optional<ExitStatus> status_;               // set once reaped
  std::optional<Clock::TimePoint> term_deadline_;  // terminate_async
  bool term_killed_ = false;                       // terminate_async sent SIGKILL
  std::vector<pid_t> strays_;  // seen in the cgroup, maybe outside the group; to reap
};

// Makes this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER), so a
// job's grandchildren, once killed, are reaped by Child rather than lingering as zombies that
// still count as members of the job's process group. The server calls it once at startup.
Status become_child_subreaper();

}  // namespace leancut::server
