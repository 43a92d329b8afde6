#include <cstdio>
#include <cstdlib>

#include "base/check.h"
#include "base/result.h"

namespace leancut {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidInput:
      return "invalid input";
    case ErrorCode::NotFound:
      return "not found";
    case ErrorCode::MediaError:
      return "media error";
    case ErrorCode::Unsupported:
      return "unsupported";
    case ErrorCode::Io:
      return "i/o error";
    case ErrorCode::OverBudget:
      return "over budget";
    case ErrorCode::Cancelled:
      return "cancelled";
    case ErrorCode::Internal:
      return "internal error";
  }
  return "unknown";
}

namespace detail {
void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "leancut: check failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace leancut
