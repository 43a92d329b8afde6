#include "server/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

extern char** environ;

namespace leancut::server {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// After the leader ends, how long cleanup waits for the rest of the group and the cgroup to
// drain. SIGKILLed tasks normally go in microseconds; one stuck in uninterruptible I/O can
// take longer, and then the cgroup is left for the next startup's sweep.
constexpr milliseconds kDrainTimeout{2000};
// The kernel offers no wakeup for "this v1 cgroup is empty", so draining polls at this step.
constexpr milliseconds kDrainStep{5};
// terminate(): after SIGKILL the leader ends as soon as it leaves the kernel.
constexpr milliseconds kAfterKillTimeout{30000};

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string errno_text(int err) {
  return std::strerror(err);
}

Status write_file(const fs::path& path, const std::string& text) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return make_error(ErrorCode::Io, "open " + path.string() + ": " + errno_text(errno));
  }
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return make_error(ErrorCode::Io,
                      "write '" + text + "' to " + path.string() + ": " + errno_text(errno));
  }
  return ok_status();
}

// Opens `path` (or /dev/null) for the child's stdio, on an fd >= 3 so that installing the three
// with dup2 never overwrites one not yet installed.
Result<Fd> open_stdio(const fs::path& path, bool for_write) {
  const char* p = path.empty() ? "/dev/null" : path.c_str();
  int flags = for_write ? (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
  Fd fd(::open(p, flags, 0644));
  if (fd.get() < 0) {
    return make_error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
                      std::string("open ") + p + ": " + errno_text(errno));
  }
  if (fd.get() < 3) {
    Fd high(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
    if (high.get() < 0) {
      return make_error(ErrorCode::Io, std::string("dup ") + p + ": " + errno_text(errno));
    }
    return high;
  }
  return fd;
}

// argv[0] as execve wants it: unchanged with a slash, else the first executable on PATH.
Result<std::string> find_program(const std::string& name) {
  if (name.empty()) return make_error(ErrorCode::InvalidInput, "spawn: empty argv[0]");
  if (name.find('/') != std::string::npos) return name;
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) {
      return candidate.string();
    }
  }
  return make_error(ErrorCode::NotFound, "spawn " + name + ": not found on PATH");
}

// This process's cgroups, resolved once (the group of a running process does not change under
// us in practice, and resolving reads two proc files).
const memory::CgroupInfo& process_cgroups() {
  static const memory::CgroupInfo info = memory::resolve_cgroup(memory::SysRoot{});
  return info;
}

std::atomic<int64_t> g_child_counter{0};

// A child cgroup made ready for the child to join: limit written, cgroup.procs open.
struct PreparedCgroup {
  fs::path dir;
  memory::CgroupVersion version = memory::CgroupVersion::None;
  Fd procs;
};

// Creates `parent/name` with the memory limit. Errors say why no cgroup can be used; the caller
// decides whether that is fatal (LimitMethod::Cgroup) or a note (Auto).
Result<PreparedCgroup> prepare_cgroup(const memory::CgroupInfo& info, const std::string& name,
                                      int64_t limit_bytes) {
  const memory::CgroupDir& parent = info.memory;
  if (parent.version == memory::CgroupVersion::None) {
    std::string why = "no memory cgroup found";
    for (const auto& n : info.notes) why += "; " + n;
    return make_error(ErrorCode::Unsupported, why);
  }
  PreparedCgroup cg;
  cg.version = parent.version;
  cg.dir = parent.group / name;
  if (::mkdir(cg.dir.c_str(), 0755) != 0) {
    int err = errno;
    // A leftover of an earlier process with the same pid: empty ones can go.
    if (err != EEXIST || ::rmdir(cg.dir.c_str()) != 0 || ::mkdir(cg.dir.c_str(), 0755) != 0) {
      return make_error(ErrorCode::Unsupported, "cannot create the child cgroup " +
                                                    cg.dir.string() + ": " +
                                                    errno_text(err == EEXIST ? errno : err));
    }
  }
  auto fail = [&](const Error& e) -> Error {
    ::rmdir(cg.dir.c_str());
    return make_error(ErrorCode::Unsupported, e.message);
  };
  const std::string limit = std::to_string(limit_bytes);
  if (cg.version == memory::CgroupVersion::V1) {
    if (Status s = write_file(cg.dir / "memory.limit_in_bytes", limit); !s) return fail(s.error());
    // With swap accounting, memory+swap gets the same limit: the job cannot swap its way past
    // it. (memsw must be >= the memory limit, hence the order.)
    if (fs::exists(cg.dir / "memory.memsw.limit_in_bytes")) {
      if (Status s = write_file(cg.dir / "memory.memsw.limit_in_bytes", limit); !s) {
        return fail(s.error());
      }
    }
  } else {
    // The memory controller must be enabled for our children. Where our own group holds
    // processes (the server itself), v2's no-internal-processes rule refuses that: fall back.
    if (!fs::exists(cg.dir / "memory.max")) {
      if (Status s = write_file(parent.group / "cgroup.subtree_control", "+memory"); !s) {
        return fail(s.error());
      }
    }
    if (Status s = write_file(cg.dir / "memory.max", limit); !s) return fail(s.error());
    if (fs::exists(cg.dir / "memory.swap.max")) {
      if (Status s = write_file(cg.dir / "memory.swap.max", "0"); !s) return fail(s.error());
    }
    // An OOM kills the whole job, not one of its processes, leaving the rest half-done.
    if (fs::exists(cg.dir / "memory.oom.group")) {
      static_cast<void>(write_file(cg.dir / "memory.oom.group", "1"));
    }
  }
  cg.procs = Fd(::open((cg.dir / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (cg.procs.get() < 0) {
    return fail(make_error(
        ErrorCode::Io, "open " + (cg.dir / "cgroup.procs").string() + ": " + errno_text(errno)));
  }
  return cg;
}

// What the child reports through the pipe when a step before exec fails.
enum class Step : int {
  Setpgid = 1,
  Pdeathsig,
  ParentGone,
  Signals,
  Cgroup,
  Rlimit,
  Chdir,
  Stdio,
  Cloexec,
  Exec
};
struct ChildFailure {
  Step step;
  int err;
};

const char* to_string(Step step) {
  switch (step) {
    case Step::Setpgid:
      return "setpgid";
    case Step::Pdeathsig:
      return "prctl(PR_SET_PDEATHSIG)";
    case Step::ParentGone:
      return "the parent exited during spawn";
    case Step::Signals:
      return "resetting signals";
    case Step::Cgroup:
      return "joining the child cgroup";
    case Step::Rlimit:
      return "setrlimit(RLIMIT_AS or RLIMIT_FSIZE)";
    case Step::Chdir:
      return "chdir";
    case Step::Stdio:
      return "dup2 of stdin/stdout/stderr";
    case Step::Cloexec:
      return "marking inherited fds close-on-exec";
    case Step::Exec:
      return "execve";
  }
  return "?";
}

// --- Between fork and exec: async-signal-safe calls only (no malloc, no locks). ---

[[noreturn]] void child_fail(int report_fd, Step step) {
  ChildFailure f{step, errno};
  ssize_t n = ::write(report_fd, &f, sizeof f);
  static_cast<void>(n);  // nothing more to do if even this fails
  ::_exit(127);
}

// Marks every fd >= 3 close-on-exec: descriptors another thread opened without O_CLOEXEC must
// not leak into the job (a listening socket would keep the port bound after the server dies).
bool mark_fds_cloexec() {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) == 0) return true;
#endif
  rlimit lim{};
  rlim_t max_fd = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    max_fd = std::min<rlim_t>(lim.rlim_cur, max_fd);
  }
  for (int fd = 3; fd < static_cast<int>(max_fd); ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  return true;
}

struct ExecPlan {
  const char* program;
  char* const* argv;
  char* const* envp;
  const char* working_dir;  // null: stay
  int stdio[3];
  int cgroup_procs;      // -1: none
  int64_t rlimit_as;     // 0: none
  int64_t rlimit_fsize;  // 0: none
  pid_t parent;
  int report_fd;
};

[[noreturn]] void run_child(const ExecPlan& plan) {
  if (::setpgid(0, 0) != 0) child_fail(plan.report_fd, Step::Setpgid);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(plan.report_fd, Step::Pdeathsig);
  // The parent may have died between fork and prctl; then no signal will ever come.
  if (::getppid() != plan.parent) {
    errno = 0;
    child_fail(plan.report_fd, Step::ParentGone);
  }
  // The server blocks or ignores signals for its own handling; the job starts from defaults, so
  // SIGTERM from terminate() is not blocked and SIGPIPE kills as usual.
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) child_fail(plan.report_fd, Step::Signals);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);  // EINVAL for some
  }
  if (plan.cgroup_procs >= 0) {
    // Joining before exec: everything the program maps is charged to the job's group.
    char buf[24];
    char* end = buf + sizeof buf;
    char* p = end;
    for (pid_t v = ::getpid(); v > 0; v /= 10) *--p = static_cast<char>('0' + v % 10);
    if (::write(plan.cgroup_procs, p, static_cast<std::size_t>(end - p)) != end - p) {
      child_fail(plan.report_fd, Step::Cgroup);
    }
  }
  if (plan.rlimit_as > 0) {
    rlimit lim{static_cast<rlim_t>(plan.rlimit_as), static_cast<rlim_t>(plan.rlimit_as)};
    if (::setrlimit(RLIMIT_AS, &lim) != 0) child_fail(plan.report_fd, Step::Rlimit);
  }
  if (plan.rlimit_fsize > 0) {
    rlimit lim{static_cast<rlim_t>(plan.rlimit_fsize), static_cast<rlim_t>(plan.rlimit_fsize)};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) child_fail(plan.report_fd, Step::Rlimit);
  }
  if (plan.working_dir != nullptr && ::chdir(plan.working_dir) != 0) {
    child_fail(plan.report_fd, Step::Chdir);
  }
  for (int i = 0; i < 3; ++i) {
    if (::dup2(plan.stdio[i], i) < 0) child_fail(plan.report_fd, Step::Stdio);  // clears CLOEXEC
  }
  if (!mark_fds_cloexec()) child_fail(plan.report_fd, Step::Cloexec);
  ::execve(plan.program, plan.argv, plan.envp);
  child_fail(plan.report_fd, Step::Exec);
}

// --- End of the fork-to-exec section. ---

std::vector<std::string> merged_env(const std::vector<std::pair<std::string, std::string>>& add) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : add) replaced = replaced || name == k;
    if (!replaced) out.emplace_back(entry);
  }
  for (const auto& [k, v] : add) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  static_cast<void>(pid);
  errno = ENOSYS;
  return -1;
#endif
}

std::vector<pid_t> cgroup_pids(const fs::path& dir) {
  std::vector<pid_t> out;
  auto text = memory::detail::read_file(dir / "cgroup.procs");
  if (!text) return out;
  std::istringstream in(*text);
  for (long v = 0; in >> v;) out.push_back(static_cast<pid_t>(v));
  return out;
}

ExitStatus status_from(const siginfo_t& info) {
  ExitStatus st;
  if (info.si_code == CLD_EXITED) {
    st.exited = true;
    st.exit_code = info.si_status;
  } else {
    st.term_signal = info.si_status;
  }
  return st;
}

ExitStatus status_from_wait(int ws) {
  ExitStatus st;
  if (WIFEXITED(ws)) {
    st.exited = true;
    st.exit_code = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    st.term_signal = WTERMSIG(ws);
  }
  return st;
}

}  // namespace

const char* to_string(LimitMethod method) {
  switch (method) {
    case LimitMethod::Auto:
      return "auto";
    case LimitMethod::None:
      return "none";
    case LimitMethod::Cgroup:
      return "cgroup";
    case LimitMethod::Rlimit:
      return "rlimit";
  }
  return "?";
}

std::string ExitStatus::describe() const {
  std::string out;
  if (exited) {
    out = "exited with status " + std::to_string(exit_code);
  } else {
    const char* abbrev = ::sigabbrev_np(term_signal);
    out = abbrev != nullptr ? std::string("killed by SIG") + abbrev
                            : "killed by signal " + std::to_string(term_signal);
    if (term_signal == SIGXFSZ) out += ": a file it wrote reached the file-size limit";
  }
  if (oom_killed) {
    out += ": out of memory";
    if (memory_limit_bytes > 0) {
      out += " (cgroup limit " + std::to_string(memory_limit_bytes >> 20) + " MiB)";
    }
  }
  return out;
}

Result<Child> Child::spawn(const ChildSpec& spec) {
  return spawn(spec, process_cgroups());
}

Result<Child> Child::spawn(const ChildSpec& spec, const memory::CgroupInfo& cgroups) {
  if (spec.argv.empty()) return make_error(ErrorCode::InvalidInput, "spawn: empty argv");
  const std::string what = "spawn " + spec.argv[0];
  LEANCUT_ASSIGN_OR_RETURN(std::string program, find_program(spec.argv[0]));
  if (!spec.working_dir.empty() && !fs::is_directory(spec.working_dir)) {
    return make_error(ErrorCode::NotFound,
                      what + ": working directory " + spec.working_dir.string() + " not found");
  }

  Child child;
  child.memory_limit_bytes_ = spec.memory_limit_bytes;
  std::optional<PreparedCgroup> cgroup;
  int64_t rlimit_as = 0;
  if (spec.memory_limit_bytes <= 0 || spec.limit == LimitMethod::None) {
    child.limit_method_ = LimitMethod::None;
  } else if (spec.limit == LimitMethod::Rlimit) {
    child.limit_method_ = LimitMethod::Rlimit;
    rlimit_as = spec.memory_limit_bytes;
  } else {
    if (spec.cgroup_name.find('/') != std::string::npos || spec.cgroup_name == "." ||
        spec.cgroup_name == "..") {
      return make_error(ErrorCode::InvalidInput,
                        what + ": cgroup name '" + spec.cgroup_name + "' is not a plain name");
    }
    const std::string name = !spec.cgroup_name.empty()
                                 ? spec.cgroup_name
                                 : "leancut-child-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(g_child_counter.fetch_add(1) + 1);
    Result<PreparedCgroup> prepared = prepare_cgroup(cgroups, name, spec.memory_limit_bytes);
    if (prepared) {
      cgroup = std::move(prepared).value();
      child.limit_method_ = LimitMethod::Cgroup;
      child.cgroup_version_ = cgroup->version;
      child.cgroup_dir_ = cgroup->dir;  // from here on, ~Child removes it on any failure
    } else if (spec.limit == LimitMethod::Cgroup) {
      return prepared.error().with_context(what);
    } else {
      child.limit_method_ = LimitMethod::Rlimit;
      child.limit_note_ = prepared.error().message;
      rlimit_as = spec.memory_limit_bytes;
    }
  }

  // Everything the child needs is built here: between fork and exec it may not allocate.
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<std::string> env_strings = merged_env(spec.env);
  std::vector<char*> envp = c_strings(env_strings);
  Result<Fd> in = open_stdio({}, false);
  if (!in) return in.error().with_context(what);
  Result<Fd> out = open_stdio(spec.stdout_path, true);
  if (!out) return out.error().with_context(what);
  Result<Fd> err = open_stdio(spec.stderr_path, true);
  if (!err) return err.error().with_context(what);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return make_error(ErrorCode::Internal, what + ": pipe2: " + errno_text(errno));
  }
  Fd report_read(report[0]);
  Fd report_write(report[1]);

  ExecPlan plan{};
  plan.program = program.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.working_dir = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
  plan.stdio[0] = in->get();
  plan.stdio[1] = out->get();
  plan.stdio[2] = err->get();
  plan.cgroup_procs = cgroup ? cgroup->procs.get() : -1;
  plan.rlimit_as = rlimit_as;
  plan.rlimit_fsize = spec.file_size_limit_bytes;
  plan.parent = ::getpid();
  plan.report_fd = report_write.get();

  pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorCode::Internal, what + ": fork: " + errno_text(errno));
  if (pid == 0) run_child(plan);

  child.pid_ = pid;
  // Also from this side, so the group exists before we return, whichever process runs first.
  // EACCES: the child already exec'd (and set it itself); ESRCH: it already failed.
  ::setpgid(pid, pid);
  report_write.reset();
  ChildFailure failure{};
  ssize_t n = 0;
  do {
    n = ::read(report_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    // The child did not exec; ~Child reaps it and removes the cgroup.
    std::string msg = what + ": " + to_string(failure.step);
    if (failure.err != 0) msg += ": " + errno_text(failure.err);
    ErrorCode code = (failure.step == Step::Exec && failure.err == ENOENT) ||
                             (failure.step == Step::Chdir && failure.err == ENOENT)
                         ? ErrorCode::NotFound
                         : ErrorCode::Internal;
    return make_error(code, msg);
  }
  child.pidfd_ = pidfd_open(pid);  // -1: wait_for polls instead
  return child;
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      limit_method_(other.limit_method_),
      cgroup_version_(other.cgroup_version_),
      cgroup_dir_(std::exchange(other.cgroup_dir_, {})),
      limit_note_(std::move(other.limit_note_)),
      memory_limit_bytes_(other.memory_limit_bytes_),
      status_(std::exchange(other.status_, std::nullopt)),
      term_deadline_(std::exchange(other.term_deadline_, std::nullopt)),
      term_killed_(other.term_killed_),
      strays_(std::exchange(other.strays_, {})) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    destroy();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    limit_method_ = other.limit_method_;
    cgroup_version_ = other.cgroup_version_;
    cgroup_dir_ = std::exchange(other.cgroup_dir_, {});
    limit_note_ = std::move(other.limit_note_);
    memory_limit_bytes_ = other.memory_limit_bytes_;
    status_ = std::exchange(other.status_, std::nullopt);
    term_deadline_ = std::exchange(other.term_deadline_, std::nullopt);
    term_killed_ = other.term_killed_;
    strays_ = std::exchange(other.strays_, {});
  }
  return *this;
}

Child::~Child() {
  destroy();
}

void Child::destroy() {
  if (pid_ > 0 && !status_) {
    kill_all(SIGKILL);
    int ws = 0;
    pid_t r = 0;
    do {
      r = ::waitpid(pid_, &ws, 0);
    } while (r < 0 && errno == EINTR);
    ExitStatus st = r == pid_ ? status_from_wait(ws) : ExitStatus{};
    status_ = st;
    clean_up_after_exit();
  } else if (!cgroup_dir_.empty()) {
    clean_up_after_exit();  // spawn failed after the cgroup was made
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
  pid_ = -1;
}

void Child::kill_all(int sig) {
  if (pid_ > 0) ::kill(-pid_, sig);
  if (cgroup_dir_.empty()) return;
  // Tasks that left the process group (setsid) are still in the cgroup. Remember them: once
  // their parent is gone they are ours (as subreaper) to reap, and waitpid(-pgid) misses them.
  for (pid_t p : cgroup_pids(cgroup_dir_)) {
    if (p != pid_ && std::find(strays_.begin(), strays_.end(), p) == strays_.end()) {
      strays_.push_back(p);
    }
  }
  if (sig == SIGKILL && cgroup_version_ == memory::CgroupVersion::V2 &&
      fs::exists(cgroup_dir_ / "cgroup.kill")) {
    if (write_file(cgroup_dir_ / "cgroup.kill", "1")) return;
  }
  for (pid_t p : strays_) ::kill(p, sig);
}

void Child::read_oom(ExitStatus& st) const {
  st.memory_limit_bytes = memory_limit_bytes_;
  if (cgroup_dir_.empty()) return;
  if (cgroup_version_ == memory::CgroupVersion::V2) {
    if (auto text = memory::detail::read_file(cgroup_dir_ / "memory.events")) {
      auto kills = memory::detail::find_keyed_value(*text, "oom_kill");
      st.oom_killed = kills && *kills > 0;
    }
    return;
  }
  auto text = memory::detail::read_file(cgroup_dir_ / "memory.oom_control");
  std::optional<int64_t> kills;
  if (text) kills = memory::detail::find_keyed_value(*text, "oom_kill");
  if (kills) {  // kernels since 4.13 count OOM kills per v1 group
    st.oom_killed = *kills > 0;
    return;
  }
  // Older v1: the limit was hit and the leader died of SIGKILL (directly, or as the shell's 137).
  auto failcnt_text = memory::detail::read_file(cgroup_dir_ / "memory.failcnt");
  const bool hit_limit = failcnt_text && std::atoll(failcnt_text->c_str()) > 0;
  const bool sigkill =
      (!st.exited && st.term_signal == SIGKILL) || (st.exited && st.exit_code == 128 + SIGKILL);
  st.oom_killed = hit_limit && sigkill;
}

void Child::clean_up_after_exit() {
  const auto deadline = steady_clock::now() + kDrainTimeout;
  // The group: kill what is left and reap what we can (everything, when we are the subreaper;
  // otherwise init reaps the orphans).
  for (;;) {
    if (pid_ > 0) {
      while (::waitpid(-pid_, nullptr, WNOHANG) > 0) {
      }
    }
    // A stray is done once reaped, or once it is not our child (init reaps it). Its parent, the
    // leader, is reaped by now, so a stray that will be ours already is.
    std::erase_if(strays_, [](pid_t p) { return ::waitpid(p, nullptr, WNOHANG) != 0; });
    const bool group_gone = pid_ <= 0 || (::kill(-pid_, 0) != 0 && errno == ESRCH);
    const bool cgroup_empty = cgroup_dir_.empty() || cgroup_pids(cgroup_dir_).empty();
    if ((group_gone && cgroup_empty && strays_.empty()) || steady_clock::now() >= deadline) break;
    kill_all(SIGKILL);
    std::this_thread::sleep_for(kDrainStep);
  }
  if (status_) read_oom(*status_);
  if (cgroup_dir_.empty()) return;
  // rmdir can fail with EBUSY for a moment after the last task left, until the kernel has
  // released it.
  for (;;) {
    if (::rmdir(cgroup_dir_.c_str()) == 0 || errno == ENOENT) break;
    if (errno != EBUSY || steady_clock::now() >= deadline) {
      std::fprintf(stderr, "leancut: could not remove the child cgroup %s: %s\n",
                   cgroup_dir_.c_str(), std::strerror(errno));
      break;
    }
    kill_all(SIGKILL);
    std::this_thread::sleep_for(kDrainStep);
  }
  cgroup_dir_.clear();
}

Result<std::optional<ExitStatus>> Child::poll() {
  if (status_) return status_;
  if (pid_ <= 0) return make_error(ErrorCode::Internal, "poll: no child (moved from)");
  siginfo_t info{};
  int rc = 0;
  do {
    // WNOWAIT: the leader stays a zombie, so its pid still names our group while we kill the
    // rest of it; no other process can have been given that number yet.
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    return make_error(ErrorCode::Internal,
                      "waitid(" + std::to_string(pid_) + "): " + errno_text(errno));
  }
  if (info.si_pid == 0) return std::optional<ExitStatus>();  // still running
  ExitStatus st = status_from(info);
  kill_all(SIGKILL);  // the job is over: nothing it started may outlive it
  int ws = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &ws, 0);
  } while (r < 0 && errno == EINTR);
  status_ = st;
  clean_up_after_exit();
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
  return status_;
}

Result<std::optional<ExitStatus>> Child::wait_for(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    LEANCUT_ASSIGN_OR_RETURN(std::optional<ExitStatus> st, poll());
    if (st) return st;
    // Rounded up: waking a fraction early would end the wait short of `timeout`.
    const auto left = std::chrono::ceil<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) return std::optional<ExitStatus>();
    if (pidfd_ >= 0) {
      // Readable once the child has exited.
      pollfd p{pidfd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, INT32_MAX)));
    } else {
      std::this_thread::sleep_for(milliseconds(std::min<int64_t>(left, 10)));
    }
  }
}

Result<ExitStatus> Child::terminate(milliseconds grace) {
  LEANCUT_ASSIGN_OR_RETURN(std::optional<ExitStatus> st, poll());
  if (st) return *st;
  kill_all(SIGTERM);
  LEANCUT_ASSIGN_OR_RETURN(st, wait_for(grace));
  if (st) return *st;
  kill_all(SIGKILL);
  LEANCUT_ASSIGN_OR_RETURN(st, wait_for(kAfterKillTimeout));
  if (st) return *st;
  return make_error(ErrorCode::Internal, "child " + std::to_string(pid_) + " still running " +
                                             std::to_string(kAfterKillTimeout.count()) +
                                             " ms after SIGKILL");
}

void Child::terminate_async(milliseconds grace, Clock::TimePoint now) {
  if (status_ || pid_ <= 0) return;
  if (!term_deadline_) {
    kill_all(SIGTERM);
    term_deadline_ = now + grace;
  } else if (!term_killed_ && now >= *term_deadline_) {
    kill_all(SIGKILL);
    term_killed_ = true;
  }
}

Status become_child_subreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return make_error(ErrorCode::Internal,
                      std::string("prctl(PR_SET_CHILD_SUBREAPER): ") + std::strerror(errno));
  }
  return ok_status();
}

}  // namespace leancut::server
