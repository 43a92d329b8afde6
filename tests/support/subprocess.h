// Test helper: runs a program (the leancut CLI) as a child process with its stdout and stderr
// captured through pipes, without a shell.
//
//   ProcessResult r = run_process({binary, "validate", "bad.json"}, /*timeout_ms=*/60000);
//   EXPECT_EQ(r.exit_code, 3) << r.err;
//
//   Child c = Child::spawn({binary, "render", "long.json", "-o", "x.mp4", "--json-progress"});
//   std::optional<std::string> line = c.read_stdout_line(10000);   // wait for progress
//   c.signal(SIGINT);
//   ProcessResult r = c.wait(30000);
//
// Thread-compatible. A Child not waited for is killed (SIGKILL) and reaped by its destructor.
#pragma once

#include <sys/types.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace leancut::testing {

struct ProcessResult {
  int exit_code = -1;   // when it exited normally
  int term_signal = 0;  // when a signal ended it
  bool timed_out = false;
  std::string out;
  std::string err;
};

class Child {
 public:
  // argv[0] is the program's path. On failure to start, running() is false.
  static Child spawn(const std::vector<std::string>& argv);
  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  ~Child();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // The next complete stdout line (without '\n'), or nullopt at EOF or after timeout_ms.
  std::optional<std::string> read_stdout_line(int timeout_ms);
  void signal(int sig);
  // Reads both pipes to EOF and reaps the child; on timeout kills it (timed_out set).
  ProcessResult wait(int timeout_ms);

 private:
  Child() = default;
  // Reads what is available within timeout_ms into the buffers; false when both are at EOF.
  bool pump(int timeout_ms);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::size_t out_consumed_ = 0;  // bytes of out_ already returned by read_stdout_line
};

ProcessResult run_process(const std::vector<std::string>& argv, int timeout_ms);

// The leancut binary under test: LEANCUT_BINARY (ctest sets it), else the build's (a test binary
// run by hand; leancut_test defines LEANCUT_BINARY_DEFAULT for every test target).
inline std::string leancut_binary() {
  const char* b = std::getenv("LEANCUT_BINARY");
  if (b != nullptr && *b != '\0') return b;
#ifdef LEANCUT_BINARY_DEFAULT
  return LEANCUT_BINARY_DEFAULT;
#else
  return "";
#endif
}

}  // namespace leancut::testing
