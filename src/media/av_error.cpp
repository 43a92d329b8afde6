#include "media/av_error.h"

#include <cerrno>

extern "C" {
#include <libavutil/error.h>
}

namespace leancut::media {

std::string av_error_string(int errnum) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(errnum, buf, sizeof buf);
  return buf;
}

Error av_error(int errnum, const std::string& call, const std::string& subject) {
  ErrorCode code = ErrorCode::MediaError;
  if (errnum == AVERROR(ENOENT)) code = ErrorCode::NotFound;
  if (errnum == AVERROR(ENOMEM)) code = ErrorCode::OverBudget;
  if (errnum == AVERROR(EACCES) || errnum == AVERROR(EISDIR)) code = ErrorCode::Io;
  std::string where = subject.empty() ? call : call + "(" + subject + ")";
  return {code, where + ": " + av_error_string(errnum)};
}

}  // namespace leancut::media
