// Planning a render from the command line: the effective budget (the --memory value, the cgroup's
// limit and MemTotal, whichever is least), the CPUs the cgroup allows, and the planner's choice.
// Shared by `leancut plan` and `leancut render`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/timeline.h"
#include "memory/planner.h"

namespace leancut::cli {

struct JobPlan {
  memory::Plan plan;
  int64_t configured_bytes = 0;  // --memory (0 = none)
  int64_t budget_bytes = 0;      // effective: min(configured, cgroup, MemTotal)
  std::string budget_from;       // "--memory", "cgroup", "MemTotal"
  int cpu_count = 1;             // from the cgroup's CPU quota and affinity
};

// `output_format`: the muxer the output will use ("mp4": its index is planned for).
// `baseline_bytes`: the RSS the job will start from; default: this process's RSS now (then call
// it on the thread that will run the job, before it starts). The job server plans for a child
// process, whose baseline is a fresh process's, not the server's.
JobPlan plan_job(const engine::Timeline& timeline, int64_t configured_bytes, int threads,
                 int encoder_threads, const std::string& output_format = "mp4",
                 std::optional<int64_t> baseline_bytes = std::nullopt);

nlohmann::json plan_to_json(const JobPlan& p);
void print_plan(const JobPlan& p, std::FILE* out);
// "needs at least 97.3 MiB, the budget is 64.0 MiB (--memory)"
std::string refusal_message(const JobPlan& p);

}  // namespace leancut::cli
