// RenderJob: the one orchestrator. It alone knows a render's graph:
//
//   video decode ──► [decoded] ──► normalize ──► [video out] ──┐
//   audio decode + normalize ───────────────────► [audio out] ─┴─► encode + mux (by time)
//
// Each arrow is a BoundedQueue limited in frames and bytes; each box runs on its own thread and
// only talks to its queues. Shot by shot, a source is open only while a shot needs it (plus the
// next shot's, prefetched); a reader is kept and decoding continues, without a seek, when the
// next shot goes on forward in the same source.
//
//   RenderJob job(std::move(timeline), {.output = "out.mp4"});
//   std::thread ui([&] { while (!done) show(job.progress()); });
//   Status s = job.run();     // blocks; job.cancel() from another thread stops it
//
// The output is written to a temp file beside the destination and renamed into place only when
// complete; on any failure nothing is left at the destination.
// Thread-safe: run() once, from one thread; progress() and cancel() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/bounded_queue.h"
#include "engine/governor.h"
#include "engine/timeline.h"
#include "memory/block_pool.h"
#include "memory/ledger.h"
#include "memory/stages.h"

namespace leancut::engine {

// Where the muxer's per-packet index lives for an output in container `format` (a muxer name)
// with blueprint `mp4_layout`. Standard and fast-start MP4/MOV spool the packets and mux them
// once the render's memory is freed (media/packet_spool.h), so the whole index comes after the
// render; a fragmented MP4 indexes one fragment (a GOP) at a time; other containers keep next to
// no index (matroska: a cue per keyframe). The render and the planner both follow this.
enum class MuxIndex { Negligible, PerFragment, AfterRender };
MuxIndex mux_index_for(const std::string& format, const std::string& mp4_layout);

// Queue bounds: each exists so memory stays flat in the number of shots; see docs/architecture.md.
// Decoded frames wait for the normalizer: a few frames smooth out seeks and slow shots.
inline constexpr QueueLimits kDecodedQueue{.max_items = 3, .max_bytes = 12u << 20};
// Normalized frames wait for the encoder.
inline constexpr QueueLimits kVideoOutQueue{.max_items = 3, .max_bytes = 8u << 20};
// Audio frames (1024 samples, ~8 KB at 48 kHz stereo float) wait for the encoder; ~2 s of audio
// lets the audio thread run ahead of video across a slow shot without stalling.
inline constexpr QueueLimits kAudioOutQueue{.max_items = 96, .max_bytes = 2u << 20};

struct RenderOptions {
  std::filesystem::path output;
  int threads = 0;          // CPU threads to plan for; 0 = the CPU count
  int decoder_threads = 0;  // per video decoder; 0 = 1 (shots decode in parallel via prefetch)
  int encoder_threads = 0;  // x264 threads; 0 = `threads`
  bool encoder_slice_threads = false;  // x264 slice threads: less memory, a little less quality
  int encoder_lookahead = -1;          // x264 rc-lookahead; -1 = the preset's
  QueueLimits decoded_queue = kDecodedQueue;
  QueueLimits video_out_queue = kVideoOutQueue;
  bool prefetch = true;  // open, seek and decode up to the next shot's in point in parallel
  // Pressure handling (engine/governor.h): the process's RSS budget (0 = only the cgroup's
  // limit), and a source that replaces the monitor's readings (tests, stress runs).
  int64_t rss_budget_bytes = 0;
  int64_t planned_peak_bytes = 0;    // the planner's estimate; RSS up to it is not pressure
  int64_t planned_ledger_bytes = 0;  // its tracked share; the ledger up to it is not pressure
  memory::PressureSource* pressure_source = nullptr;
  // The ladder's "evict caches" step: shrinks the process's caches (e.g. the probe cache) to
  // their low-water marks. Empty: the job has no caches to give back.
  std::function<void()> evict_caches = {};
  // Under backpressure the decoded_frames account is pinned at what it holds, but never below
  // this: the least decoded-frame memory the job can run with (the planner's minimal plan).
  int64_t min_frame_bytes = 64 * memory::kMiB;
  // Marks "render", "finalize" and "cleanup" for a report; may be null.
  memory::StageRecorder* stages = nullptr;
  // The account this job charges (its limit is the job's tracked budget); the job makes its
  // component accounts under it: decoded_frames, encoder_input, packets, io_buffers. nullptr: an
  // unlimited account of the job's own.
  memory::Account* account = nullptr;
  // The decoded_frames account's limit: the job's limit less what the planner expects the other
  // components to hold, so that pictures waiting downstream (audio queued ahead of video, say)
  // are never what keeps a decoder waiting for budget. kNoLimit: bounded by the job's account.
  int64_t decoded_frames_limit = memory::kNoLimit;
  // Decoded pictures in the ledger-charged pool and every component charged (false: libav's
  // allocators and no charges, the job without its accounting: to measure what it costs).
  bool ledger = true;
  // Idle decoded-frame memory kept for reuse (memory/block_pool.h).
  int64_t frame_pool_idle_bytes = 12 * memory::kMiB;
  // Longest a decoder waits for budget before the job fails as over budget.
  std::chrono::milliseconds budget_wait{10'000};
};

// A consistent-enough snapshot for a progress bar; every field is read atomically.
struct RenderProgress {
  int64_t frames_done = 0;  // video frames encoded
  int64_t frames_total = 0;
  int64_t shot = 0;  // shot the video decoder is on (0-based)
  int64_t shots_total = 0;
  int64_t bytes_written = 0;  // approximate, from packets muxed
};

struct RenderStats {
  int64_t frames_out = 0;
  int64_t audio_samples_out = 0;
  int64_t video_frames_decoded = 0;  // including those thrown away between keyframe and in point
  int64_t video_seeks = 0;
  int64_t reader_reuses = 0;   // shots that continued in an already-open reader
  int64_t sources_opened = 0;  // video readers opened (prefetched ones included)
  int64_t prefetch_hits = 0;
  int64_t normalize_graph_builds = 0;
  int64_t skip_retries = 0;      // catch-ups decoded again because a skip may have hit
  int64_t max_open_readers = 0;  // video + audio readers open at once, peak
  // Loudness normalization (output.audio.loudness): the mix's integrated loudness as measured
  // (nullopt: not normalized, or silent) and the gain applied.
  std::optional<double> loudness_in_lufs;
  double loudness_gain_db = 0;
  QueueStats decoded_queue;
  QueueStats video_out_queue;
  QueueStats audio_out_queue;
  memory::BlockPoolStats frame_pool;  // decoded pictures' memory (reuse rate, peak outstanding)
  int64_t frames_outside_pool = 0;    // pictures from decoders that cannot use the pool
  std::vector<memory::AccountStats> accounts;  // the job's accounts at the end (peaks)
  std::vector<memory::AccountStats> leaks;     // accounts not back at zero: a bug
  GovernorReport governor;                     // pressure levels visited, ladder steps run
  double seconds = 0;
};

class RenderJob {
 public:
  RenderJob(Timeline timeline, RenderOptions options);
  ~RenderJob();
  RenderJob(const RenderJob&) = delete;
  RenderJob& operator=(const RenderJob&) = delete;

  Status run();
  void cancel();
  RenderProgress progress() const;
  // REQUIRES: run() returned.
  const RenderStats& stats() const { return stats_; }
  const Timeline& timeline() const { return timeline_; }

 private:
  struct Impl;
  Timeline timeline_;
  RenderOptions options_;
  RenderStats stats_;
  std::atomic<bool> cancelled_{false};
  std::atomic<int64_t> frames_done_{0};
  std::atomic<int64_t> shot_{0};
  std::atomic<int64_t> bytes_written_{0};
  // The running job's stages, for cancel(); cleared (under the lock) before they are destroyed,
  // so a cancel racing with the end of run() never touches a dead Impl.
  std::mutex running_mu_;
  Impl* running_ = nullptr;  // guarded by running_mu_
};

}  // namespace leancut::engine
