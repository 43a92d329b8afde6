// libav error codes as leancut Errors, naming the call and the file: "avformat_open_input(a.mp4):
// No such file or directory".
#pragma once

#include <string>

#include "base/result.h"

namespace leancut::media {

std::string av_error_string(int errnum);

// code: MediaError unless errnum says otherwise (ENOENT -> NotFound, ENOMEM -> OverBudget).
Error av_error(int errnum, const std::string& call, const std::string& subject = {});

}  // namespace leancut::media
