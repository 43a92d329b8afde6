// The kinds of job the server runs, and how each becomes a child process of the same binary.
//
//   render   {"blueprint": {...}}                      leancut render JOBDIR/blueprint.json
//                                                        -o JOBDIR/output.mp4 --memory R ...
//   reframe  {"input", "aspect", "size"?, "focus"?}    leancut reframe INPUT -o JOBDIR/output.mp4
//                                                        --aspect A [--size S] --focus F ...
//   frames   {"input", "every", "format"?, "quality"?, leancut frames INPUT -o JOBDIR/images
//             "start"?, "end"?}                          --every N ... --json
//
// parse_reframe / parse_frames check a request's fields without media (types: 400; values that
// need no media, such as every >= 1: 422) and give the job as the store keeps it, input still as
// given (the API resolves it inside the media roots). child_command reads a stored job back into
// the child's command line, so a job re-queued after a restart runs exactly as first planned.
//
// Free functions on values; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace leancut::server {

// For messages: "render, reframe, frames".
inline constexpr const char* kKnownKinds = "render, reframe, frames";

struct FieldProblem {
  std::string path;  // the request's JSON path: "input", "focus[1]"
  std::string message;
};

// What parse_* found: problems of type or shape (400) and of value (422), each with its path.
struct FieldProblems {
  std::vector<FieldProblem> malformed{};  // 400
  std::vector<FieldProblem> invalid{};    // 422
  bool empty() const { return malformed.empty() && invalid.empty(); }
};

struct ReframeJob {
  std::filesystem::path input{};
  std::string aspect{};          // "W:H"
  std::string size{};            // "WxH"; empty: the largest of that aspect inside the source
  std::string focus = "center";  // "center" or "x,y"
};

struct FramesJob {
  std::filesystem::path input{};
  int64_t every = 1;
  std::string format = "jpg";  // "jpg" or "png"
  int quality = 85;            // 1..100 (JPEG)
  std::string start{};         // decimal seconds; empty: 0
  std::string end{};           // decimal seconds; empty: the source's end
};

std::optional<ReframeJob> parse_reframe(const nlohmann::json& request, FieldProblems& problems);
std::optional<FramesJob> parse_frames(const nlohmann::json& request, FieldProblems& problems);

// The job as the store keeps it ({"kind": ..., fields}); read back by child_command.
nlohmann::json stored_json(const ReframeJob& job);
nlohmann::json stored_json(const FramesJob& job);

// Where a job's child writes, relative to its folder: a file ("output.mp4") or a folder
// ("images") for frames.
std::string output_name(const std::string& kind);

// The child's command line for a stored job in `dir`, before the runner's extra arguments.
struct ChildCommand {
  std::vector<std::string> argv{};
  std::string blueprint{};  // render: the text for dir/blueprint.json, written before it starts
  bool takes_extra_args = true;  // frames has no --threads or --simulate-pressure
};
// InvalidInput when the stored request is not one of the kinds.
Result<ChildCommand> child_command(const std::string& kind, const std::string& stored_request,
                                   const std::filesystem::path& dir, const std::string& program,
                                   int64_t reservation_bytes);

}  // namespace leancut::server
