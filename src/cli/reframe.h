// The one-shot blueprint of `leancut reframe` (fill + focus over the whole source), shared by the
// command and by the job server's check of a reframe job, so the server plans exactly the render
// its child will run.
//
//   ReframeOptions o{.aspect = "9:16", .size = "1080x1920", .focus = "center"};
//   Result<blueprint::Blueprint> bp = reframe_blueprint(o, input, *probe->video, &problem);
#pragma once

#include <filesystem>
#include <string>

#include "base/result.h"
#include "blueprint/blueprint.h"
#include "media/probe.h"

namespace leancut::cli {

struct ReframeOptions {
  std::string aspect;            // "W:H"
  std::string size;              // "WxH"; empty: the largest WxH of that aspect inside the source
  std::string focus = "center";  // "center" or "x,y" (0..1 each)
};

// What is wrong with one option: `field` is its name ("aspect", "size", "focus"), `message` says
// why without naming it (the API puts the field in a JSON path), `cli_message` is the command's
// whole message (it names the option as --aspect, ...).
struct ReframeProblem {
  std::string field;
  std::string message;
  std::string cli_message;
  bool side_limits = false;  // the output's sides are out of range (depends on the source's size)
};

// The blueprint that renders all of `input` (whose video is `video`) cropped to the aspect.
// InvalidInput with `*problem` filled when an option is malformed or the size is impossible.
Result<blueprint::Blueprint> reframe_blueprint(const ReframeOptions& options,
                                               const std::filesystem::path& input,
                                               const media::VideoInfo& video,
                                               ReframeProblem* problem);

}  // namespace leancut::cli
