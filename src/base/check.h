// Invariant checks for bugs (not for bad input, which travels as Result/Error).
// LEANCUT_CHECK is always on; LEANCUT_ASSERT only in debug builds.
#pragma once

namespace leancut::detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line);
}  // namespace leancut::detail

#define LEANCUT_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::leancut::detail::check_failed(#cond, __FILE__, __LINE__))

#ifdef NDEBUG
#define LEANCUT_ASSERT(cond) static_cast<void>(0)
#else
#define LEANCUT_ASSERT(cond) LEANCUT_CHECK(cond)
#endif
