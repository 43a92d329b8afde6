// The planner's view of a timeline: what memory::make_plan needs, read from the probes, and how
// a plan's settings become render options.
//
//   memory::Plan plan = memory::make_plan(plan_inputs(timeline, {...}), budget_bytes);
//   RenderOptions options{...};
//   apply_plan(plan.settings, options);
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "engine/render_job.h"
#include "engine/timeline.h"
#include "memory/planner.h"

namespace leancut::engine {

struct PlanContext {
  int64_t baseline_bytes = 0;         // RSS now
  int cpu_count = 1;                  // effective CPUs (cgroup quota)
  int requested_threads = 0;          // --threads / --encoder-threads; 0 = from cpu_count
  std::string output_format = "mp4";  // the muxer ("mp4", "mov", "matroska", "mpegts")
};

memory::PlanInputs plan_inputs(const Timeline& timeline, const PlanContext& context);

// Copies the plan's choices into `options` (threads, x264 settings, queues, prefetch, pool).
void apply_plan(const memory::PlanSettings& settings, RenderOptions& options);

}  // namespace leancut::engine
