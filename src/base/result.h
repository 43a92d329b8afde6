// Result<T>: a value or an Error, the shape of C++23's std::expected (not in g++ 12).
//
//   Result<Probe> r = probe_file(path);
//   if (!r) return r.error();          // propagate, message intact
//   use(r.value());
//
// Failures of input or environment travel as values; bugs hit LEANCUT_CHECK. Thread-compatible.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

#include "base/check.h"

namespace leancut {

// What kind of failure; the CLI maps each to an exit code (docs/cli.md).
enum class ErrorCode {
  InvalidInput,  // the blueprint or a command-line value is wrong
  NotFound,      // a file that should exist does not
  MediaError,    // a source could not be demuxed/decoded, or libav failed
  Unsupported,   // valid, but not something leancut does (yet)
  Io,            // the output could not be written
  OverBudget,    // the job cannot run inside its memory budget
  Cancelled,     // the job was asked to stop
  Internal,      // a bug; the message says where
};

const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;  // names the place: "shots[3].out: ...", "avcodec_open2(libx264): ..."

  // Prefixes the message with a place, e.g. Error::with_context("clips/a.mp4").
  Error with_context(const std::string& where) const { return {code, where + ": " + message}; }
};

inline Error make_error(ErrorCode code, std::string message) {
  return {code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & {
    LEANCUT_CHECK(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    LEANCUT_CHECK(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    LEANCUT_CHECK(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // REQUIRES: !ok().
  const Error& error() const {
    LEANCUT_CHECK(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    LEANCUT_CHECK(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() {
  return {};
}

}  // namespace leancut

// Propagates an error from an expression yielding a Result: LEANCUT_TRY(open(path));
#define LEANCUT_TRY(expr)                                         \
  do {                                                            \
    auto leancut_try_result_ = (expr);                            \
    if (!leancut_try_result_) return leancut_try_result_.error(); \
  } while (0)

// Declares `lhs` from a Result's value, or returns its error:
//   LEANCUT_ASSIGN_OR_RETURN(auto probe, probe_file(path));
#define LEANCUT_CONCAT_INNER_(a, b) a##b
#define LEANCUT_CONCAT_(a, b) LEANCUT_CONCAT_INNER_(a, b)
#define LEANCUT_ASSIGN_OR_RETURN(lhs, expr) \
  LEANCUT_ASSIGN_OR_RETURN_IMPL_(LEANCUT_CONCAT_(leancut_result_, __LINE__), lhs, expr)
#define LEANCUT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp) return tmp.error();                        \
  lhs = std::move(tmp).value()
