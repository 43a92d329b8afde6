// `leancut plan`: what a render would need and which settings it would run with.
#include <cstdio>

#include "cli/commands.h"
#include "cli/planning.h"
#include "engine/plan.h"
#include "memory/monitor.h"
#include "memory/rss.h"

namespace leancut::cli {

JobPlan plan_job(const engine::Timeline& timeline, int64_t configured_bytes, int threads,
                 int encoder_threads, const std::string& output_format,
                 std::optional<int64_t> baseline_bytes) {
  JobPlan p;
  const memory::Monitor monitor(memory::SysRoot{}, SteadyClock::instance());
  const memory::Sample sample = monitor.sample();
  p.configured_bytes = configured_bytes;
  const int64_t effective = memory::effective_limit_bytes(
      configured_bytes > 0 ? std::optional<int64_t>(configured_bytes) : std::nullopt, sample);
  p.budget_bytes = effective == memory::kNoLimit ? 0 : effective;
  p.budget_from = configured_bytes > 0 && effective == configured_bytes               ? "--memory"
                  : sample.mem_total_bytes > 0 && effective == sample.mem_total_bytes ? "MemTotal"
                                                                                      : "cgroup";
  p.cpu_count = threads > 0 ? threads : monitor.effective_cpu_count();
  engine::PlanContext context{.baseline_bytes = baseline_bytes.value_or(sample.rss_bytes),
                              .cpu_count = p.cpu_count,
                              .requested_threads = encoder_threads > 0 ? encoder_threads : threads,
                              .output_format = output_format};
  p.plan = memory::make_plan(engine::plan_inputs(timeline, context), p.budget_bytes);
  return p;
}

nlohmann::json plan_to_json(const JobPlan& p) {
  const memory::PlanSettings& s = p.plan.settings;
  nlohmann::json parts = nlohmann::json::array();
  for (const memory::PlanPart& part : p.plan.estimate.parts) {
    parts.push_back({{"name", part.name}, {"bytes", part.bytes}, {"how", part.how}});
    if (!part.account.empty()) parts.back()["account"] = part.account;
  }
  return {{"peak_bytes", p.plan.estimate.peak_bytes},
          {"tracked_bytes", p.plan.estimate.tracked_bytes},
          {"min_bytes", p.plan.min_bytes},
          {"budget_bytes", p.budget_bytes},
          {"budget_from", p.budget_from},
          {"fits", p.plan.fits},
          {"cpu_count", p.cpu_count},
          {"settings",
           {{"encoder_threads", s.encoder_threads},
            {"encoder_slice_threads", s.encoder_slice_threads},
            {"encoder_lookahead", s.encoder_lookahead},
            {"decoded_queue_frames", s.decoded_queue_frames},
            {"video_out_queue_frames", s.video_out_queue_frames},
            {"prefetch", s.prefetch},
            {"frame_pool_idle_bytes", s.frame_pool_idle_bytes}}},
          {"changes", p.plan.changes},
          {"parts", parts}};
}

void print_plan(const JobPlan& p, std::FILE* out) {
  const memory::PlanSettings& s = p.plan.settings;
  std::fprintf(out, "estimated peak: %s", memory::format_bytes(p.plan.estimate.peak_bytes).c_str());
  if (p.budget_bytes > 0) {
    std::fprintf(out, " of a %s budget (%s)%s", memory::format_bytes(p.budget_bytes).c_str(),
                 p.budget_from.c_str(), p.plan.fits ? "" : "  ** DOES NOT FIT **");
  }
  std::fprintf(out, "\nleast budget that could run it: %s\n",
               memory::format_bytes(p.plan.min_bytes).c_str());
  for (const memory::PlanPart& part : p.plan.estimate.parts) {
    std::fprintf(out, "  %-18s %12s  %s%s\n", part.name.c_str(),
                 memory::format_bytes(part.bytes).c_str(), part.how.c_str(),
                 part.account.empty() ? "" : "  [ledger]");
  }
  std::fprintf(
      out,
      "settings: x264 %d %s thread(s), rc-lookahead %s, queues %d/%d frames, "
      "prefetch %s, idle pool %s\n",
      s.encoder_threads, s.encoder_slice_threads ? "slice" : "frame",
      s.encoder_lookahead < 0 ? "from preset" : std::to_string(s.encoder_lookahead).c_str(),
      s.decoded_queue_frames, s.video_out_queue_frames, s.prefetch ? "on" : "off",
      memory::format_bytes(s.frame_pool_idle_bytes).c_str());
  for (const std::string& change : p.plan.changes) {
    std::fprintf(out, "degraded to fit: %s\n", change.c_str());
  }
}

std::string refusal_message(const JobPlan& p) {
  return "needs at least " + memory::format_bytes(p.plan.min_bytes) + ", the budget is " +
         memory::format_bytes(p.budget_bytes) + " (" + p.budget_from + ")";
}

int run_plan(const PlanArgs& args) {
  std::optional<engine::Timeline> timeline =
      load_timeline(args.blueprint, args.json, nullptr, nullptr, nullptr, nullptr,
                    args.prebuilt ? &*args.prebuilt : nullptr, &args.shot_origins, &args.remote);
  if (!timeline) return kExitInvalid;
  JobPlan p = plan_job(*timeline, args.memory_bytes, args.threads, 0);
  if (args.json) {
    std::printf("%s\n", plan_to_json(p).dump(2).c_str());
  } else {
    print_plan(p, stdout);
    if (!p.plan.fits) std::printf("leancut plan: %s\n", refusal_message(p).c_str());
  }
  return p.plan.fits ? kExitOk : kExitOverBudget;
}

}  // namespace leancut::cli
