#include "support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

extern char** environ;

namespace leancut::testing {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Child Child::spawn(const std::vector<std::string>& argv) {
  Child c;
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return c;
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return c;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (err != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return c;
  }
  c.pid_ = pid;
  c.out_fd_ = out_pipe[0];
  c.err_fd_ = err_pipe[0];
  return c;
}

Child::Child(Child&& other) noexcept
    : pid_(other.pid_),
      out_fd_(other.out_fd_),
      err_fd_(other.err_fd_),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)),
      out_consumed_(other.out_consumed_) {
  other.pid_ = -1;
  other.out_fd_ = -1;
  other.err_fd_ = -1;
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool Child::pump(int timeout_ms) {
  pollfd fds[2];
  int n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) return false;
  int ready = poll(fds, static_cast<nfds_t>(n), timeout_ms);
  if (ready <= 0) return true;
  for (int i = 0; i < n; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char buf[4096];
    ssize_t got = read(fds[i].fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    std::string& sink = fds[i].fd == out_fd_ ? out_ : err_;
    if (got > 0) {
      sink.append(buf, static_cast<std::size_t>(got));
    } else {
      int& fd = fds[i].fd == out_fd_ ? out_fd_ : err_fd_;
      close(fd);
      fd = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

std::optional<std::string> Child::read_stdout_line(int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    std::size_t nl = out_.find('\n', out_consumed_);
    if (nl != std::string::npos) {
      std::string line = out_.substr(out_consumed_, nl - out_consumed_);
      out_consumed_ = nl + 1;
      return line;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0 || out_fd_ < 0) return std::nullopt;
    pump(static_cast<int>(left));
  }
}

void Child::signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

ProcessResult Child::wait(int timeout_ms) {
  ProcessResult r;
  const int64_t deadline = now_ms() + timeout_ms;
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      r.timed_out = true;
      kill(pid_, SIGKILL);
      break;
    }
    pump(static_cast<int>(left));
  }
  int status = 0;
  if (pid_ > 0 && waitpid(pid_, &status, 0) == pid_) {
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  }
  pid_ = -1;
  r.out = std::move(out_);
  r.err = std::move(err_);
  return r;
}

ProcessResult run_process(const std::vector<std::string>& argv, int timeout_ms) {
  Child c = Child::spawn(argv);
  if (!c.running()) {
    ProcessResult r;
    r.err = "could not start " + (argv.empty() ? std::string("?") : argv[0]);
    return r;
  }
  return c.wait(timeout_ms);
}

}  // namespace leancut::testing
