// `leancut reframe IN -o OUT --aspect 9:16`: a source cropped to another aspect (vertical for
// short-form platforms), as a one-shot blueprint (cli/reframe.h) rendered by run_render;
// docs/cli.md.
#include <cstdio>
#include <string>

#include "blueprint/parse.h"
#include "cli/commands.h"
#include "cli/reframe.h"
#include "media/probe.h"

namespace leancut::cli {

int run_reframe(const ReframeArgs& args) {
  const ReframeOptions options{.aspect = args.aspect, .size = args.size, .focus = args.focus};
  // The options are checked before the probe, so a typo fails without opening the media (the
  // sides, which depend on the source's size, wait for it).
  media::VideoInfo any;
  any.display_width = 8192;
  any.display_height = 8192;
  ReframeProblem problem;
  if (Result<blueprint::Blueprint> early = reframe_blueprint(options, args.input, any, &problem);
      !early && !problem.side_limits) {
    std::fprintf(stderr, "leancut reframe: %s\n", problem.cli_message.c_str());
    return kExitUsage;
  }

  Result<media::ProbeInfo> probe = media::probe_file(args.input);
  if (!probe) {
    std::fprintf(stderr, "leancut reframe: %s\n", probe.error().message.c_str());
    return kExitMedia;
  }
  Result<blueprint::Blueprint> bp = reframe_blueprint(options, args.input, *probe->video, &problem);
  if (!bp) {
    std::fprintf(stderr, "leancut reframe: %s\n", problem.cli_message.c_str());
    return kExitUsage;
  }

  RenderArgs render = args.render;
  render.blueprint = "reframe " + args.input.string();  // names the job in messages
  render.blueprint_text = blueprint::to_json(*bp);
  return run_render(render);
}

}  // namespace leancut::cli
