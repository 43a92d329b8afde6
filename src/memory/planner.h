// Planner: a job's peak memory, estimated before it starts, and the settings that fit a budget.
//
//   memory::PlanInputs in = engine::plan_inputs(timeline, rss_now);   // sizes from the probes
//   memory::Plan plan = memory::make_plan(in, budget_bytes);
//   if (!plan.fits) refuse("needs at least " + format_bytes(plan.min_bytes));
//   run with plan.settings; plan.changes says what was degraded and why.
//
// The estimate is a sum of named parts (plan.estimate.parts), each a count of frames times a
// frame size, or a measured constant; every constant is calibrated on this project's benchmark
// machine and its provenance is in planner.cpp. When the defaults do not fit, settings are
// degraded one step at a time, cheapest in quality and speed first, until the estimate fits:
//   idle pool memory -> queue depths -> prefetch -> x264 slice threads -> rc-lookahead 5.
// (No "x264 on one thread" step: one frame thread holds more than two slice threads.)
// min_bytes is the estimate with every step taken: the least budget that could run the job.
// Pure functions over values; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace leancut::memory {

// What the planner needs to know about a job; no libav types.
struct PlanInputs {
  int64_t baseline_bytes = 0;          // the process's RSS before the job (code, libraries, heap)
  int64_t output_frame_bytes = 0;      // one output picture (yuv420p: width * height * 3 / 2)
  int64_t max_source_frame_bytes = 0;  // the largest decoded source picture, padding included
  int max_source_delay_frames = 0;     // the most pictures a source's decoder holds (refs+reorder)
  int64_t output_video_frames = 0;
  int64_t output_audio_frames = 0;  // encoder frames (e.g. AAC: 1,024 samples each)
  int64_t audio_queue_bytes = 0;    // audio frames queued for the encoder, when the queue is full
  int max_open_beds = 0;            // audio beds playing at once, at most (each has its own reader)
  // Packets whose index entries the muxer holds in memory while the job renders (a fragmented
  // MP4: one fragment's), and those it indexes at the end, when the spooled packets are muxed
  // after the render's memory is released (a standard MP4: every packet). See
  // engine/render_job.cpp.
  int64_t render_index_packets = 0;
  int64_t finalize_index_packets = 0;
  bool dissolves = false;  // the timeline has a dissolve (two pictures blended, both decoding)
  int cpu_count = 1;       // effective CPUs (the cgroup quota, not the host's)
  std::string encoder_preset = "veryfast";  // x264 preset: sets its lookahead and B-frames
  int requested_encoder_threads = 0;        // 0: from cpu_count
};

// Settings the planner chooses; the engine applies them.
struct PlanSettings {
  int encoder_threads = 1;
  bool encoder_slice_threads = false;
  int encoder_lookahead = -1;  // x264 rc-lookahead; -1 = the preset's
  int decoded_queue_frames = 3;
  int video_out_queue_frames = 3;
  bool prefetch = true;  // open and seek the next shot's source while this one decodes
  int64_t frame_pool_idle_bytes = 0;
  int64_t min_frame_pool_idle_bytes = 0;  // the idle pool is never degraded below this
};

struct PlanPart {
  std::string name;  // "baseline", "decoded_frames", "x264", ...
  int64_t bytes = 0;
  std::string how;  // "2 decoders x (4 held + 2) + 3 queued = 15 x 3.1 MiB"
  // The job's ledger account that charges these bytes ("decoded_frames", "encoder_input",
  // "packets", "io_buffers"); empty: untracked (codec internals, libraries, the baseline).
  std::string account;
};

struct PlanEstimate {
  int64_t peak_bytes = 0;
  // The decoded-frame share of the peak (the account where the job waits for budget).
  int64_t decoded_frame_bytes = 0;
  // The share the job's ledger accounts charge (every part with an account); the rest of the
  // peak is untracked, and the job's account may use what the budget leaves beyond it.
  int64_t tracked_bytes = 0;
  std::vector<PlanPart> parts;
};

struct Plan {
  PlanSettings settings;
  PlanEstimate estimate;
  int64_t budget_bytes = 0;             // what the plan had to fit (0 = no budget)
  int64_t min_bytes = 0;                // estimate with every degradation taken
  int64_t min_decoded_frame_bytes = 0;  // ... and its decoded-frame share
  bool fits = true;                     // estimate.peak_bytes <= budget_bytes
  std::vector<std::string> changes;     // each degradation taken, in order, with its saving
};

// The default settings for these inputs (what a job runs with when memory is plentiful).
PlanSettings default_settings(const PlanInputs& in);
// The estimated peak of running `in` with `s`.
PlanEstimate estimate(const PlanInputs& in, const PlanSettings& s);
// Defaults, degraded step by step until the estimate fits `budget_bytes` (0 = no budget).
Plan make_plan(const PlanInputs& in, int64_t budget_bytes);

}  // namespace leancut::memory
