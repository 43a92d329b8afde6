#include "memory/planner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "memory/ledger.h"
#include "memory/rss.h"

namespace leancut::memory {

namespace {

// x264's memory in output frames (one unit = width * height * 3 / 2 bytes), per preset, with 1
// and 2 frame threads, and the preset's rc-lookahead. Measured on the benchmark machine
// (x264 164, Debian 12) as peak RSS of `ffmpeg -f rawvideo ... -c:v libx264 -preset P
// -threads T -f null -` minus the same command without encoding, at 1280x720 (and checked at
// 640x360: 59 and 75 units for veryfast, within 15%). Presets we did not measure are
// extrapolated from their neighbours and marked so.
struct X264Profile {
  const char* preset;
  int lookahead;
  double units_1_thread;
  double units_2_threads;
};
constexpr X264Profile kX264Profiles[] = {
    {"ultrafast", 0, 12, 15},  {"superfast", 0, 38, 50}, {"veryfast", 10, 53, 66},
    {"faster", 20, 73, 88},    {"fast", 30, 95, 112},    {"medium", 40, 120, 137},
    {"slow", 50, 140, 160},    {"slower", 60, 175, 200}, {"veryslow", 60, 195, 220},
    {"placebo", 60, 195, 220},
};
// Each frame thread beyond two: its reconstructed frame plus the deeper sync lookahead (6.6 units
// measured from 2 to 3 threads).
constexpr double kUnitsPerExtraThread = 6.6;
// Each rc-lookahead frame dropped below the preset's (2.3 units measured: 10 -> 5 saved 11.5).
constexpr double kUnitsPerLookaheadFrame = 2.3;
// Slice threads hold what one frame thread holds, less its sync lookahead (51 vs 53 measured).
constexpr double kSliceThreadSavingUnits = 2;

// x264's memory in output frames for a preset at these settings (see kX264Profiles).
double x264_units(const X264Profile& p, int threads, bool slice_threads, int lookahead) {
  double units = 0;
  if (threads == 1 || slice_threads) {
    units = p.units_1_thread - (threads > 1 ? kSliceThreadSavingUnits : 0);
  } else {
    units = p.units_2_threads + kUnitsPerExtraThread * (threads - 2);
  }
  return units - kUnitsPerLookaheadFrame * (p.lookahead - lookahead);
}

const X264Profile& profile_for(const std::string& preset) {
  for (const X264Profile& p : kX264Profiles) {
    if (preset == p.preset) return p;
  }
  return kX264Profiles[2];  // veryfast, the blueprint default
}

// Code pages and tables libav touches once encoding starts, thread stacks, the muxer: measured
// RSS growth from the planning point to the end of a short render (10 MiB), less the parts
// estimated below (the packets and I/O buffers in flight, ~1 MiB, are parts of their own).
constexpr int64_t kRuntimeFixedBytes = 9 * kMiB;
// Per open reader: demuxer index, decoder context (per-macroblock tables grow with the picture:
// ~a quarter frame). Its I/O buffer is kReaderIoBytes.
constexpr int64_t kReaderFixedBytes = 1 * kMiB - 96 * kKiB;
constexpr double kReaderFrameFraction = 0.25;
// I/O buffers (the io_buffers account): a demuxer's AVIOContext (32 KiB, grown to ~96 KiB by
// probing and seeks in MP4; 426 KB measured for 3 readers, the muxer and the spool), and the
// muxer's (32 KiB) and the packet spool's (64 KiB).
constexpr int64_t kReaderIoBytes = 96 * kKiB;
constexpr int64_t kOutputIoBytes = 96 * kKiB;
// Packets in flight (the packets account): about one per reader in the decoder and one from the
// encoder, each a compressed picture; a sixteenth of a raw picture bounds an intra frame at the
// crf and bitrates we see (196 KB measured at 100 shots with 1080p sources).
constexpr int64_t kPacketFrameDivisor = 16;
// Audio: decoder, resampler, FIFO, encoder (the frames queued for the encoder are
// PlanInputs.audio_queue_bytes).
constexpr int64_t kAudioBytes = 4 * kMiB;
// The MP4 muxer keeps an index entry per packet until it finishes (~64 bytes with its growth).
constexpr int64_t kIndexBytesPerPacket = 64;
// Pictures a decoder holds beyond its references and reorder delay: the one being decoded (the
// cursor's held + lookahead pair are mostly still references). Calibrated: at 100 shots of the
// benchmark the pool's measured peak was 30 MB against 68 MB estimated with 3 extra frames.
constexpr int kDecoderExtraFrames = 1;
// Idle pictures the pool keeps at least: with none, every picture is a fresh mmap (reuse 0%).
constexpr int kMinIdlePictures = 2;
// Normalized pictures alive beyond the video_out queue (encoder_input): the one the encoder
// holds, the one the normalizer is pushing (its repeat reference is one of these).
constexpr int kEncoderInputExtraFrames = 2;
// The normalizer's own: the graph's idle output picture and an intermediate (transposed/scaled).
constexpr int kNormalizerIdleFrames = 1;
// Fragmentation and allocator slack on top of the sum.
constexpr double kSlack = 1.05;

int default_encoder_threads(const PlanInputs& in) {
  if (in.requested_encoder_threads > 0) return in.requested_encoder_threads;
  return std::max(1, in.cpu_count);
}

std::string mib(int64_t bytes) {
  return format_bytes(bytes);
}

std::string frames_of(double count, int64_t frame_bytes) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.1f x %s", count, format_bytes(frame_bytes).c_str());
  return buf;
}

}  // namespace

PlanSettings default_settings(const PlanInputs& in) {
  PlanSettings s;
  s.encoder_threads = default_encoder_threads(in);
  s.encoder_slice_threads = false;
  s.encoder_lookahead = -1;
  s.decoded_queue_frames = 3;
  s.video_out_queue_frames = 3;
  s.prefetch = true;
  // Idle memory for about four of the largest pictures: a source switch then reuses blocks.
  s.frame_pool_idle_bytes = std::min<int64_t>(4 * in.max_source_frame_bytes, 16 * kMiB);
  s.min_frame_pool_idle_bytes =
      std::min<int64_t>(kMinIdlePictures * in.max_source_frame_bytes, s.frame_pool_idle_bytes);
  return s;
}

PlanEstimate estimate(const PlanInputs& in, const PlanSettings& s) {
  PlanEstimate e;
  auto add = [&](std::string name, int64_t bytes, std::string how, std::string account = {}) {
    e.parts.push_back({std::move(name), bytes, std::move(how), std::move(account)});
  };
  add("baseline", in.baseline_bytes, "RSS before the job");
  add("runtime", kRuntimeFixedBytes, "codec code and tables, thread stacks (measured)");

  // A dissolve decodes both its shots whether or not the job prefetches, and each queued frame
  // of it carries the other shot's picture too; but the decoded queue is bounded in bytes as
  // well (engine/render_job.h: about four source pictures at 1080p), so what it adds is the
  // picture beside the one being normalized, not a second queue (measured: a 40-shot 720p
  // timeline peaks at the same RSS with a dissolve at every cut as with cuts).
  const int decoders = s.prefetch || in.dissolves ? 2 : 1;
  const int queued = s.decoded_queue_frames + 1 + (in.dissolves ? 1 : 0);
  const double decoded_frames =
      decoders * (in.max_source_delay_frames + kDecoderExtraFrames) + queued;
  const auto decoded_bytes =
      static_cast<int64_t>(decoded_frames * static_cast<double>(in.max_source_frame_bytes));
  e.decoded_frame_bytes = decoded_bytes + s.frame_pool_idle_bytes;
  add("decoded_frames", decoded_bytes,
      std::to_string(decoders) + " decoder(s) x (" + std::to_string(in.max_source_delay_frames) +
          " held + " + std::to_string(kDecoderExtraFrames) + ") + " + std::to_string(queued) +
          " queued = " + frames_of(decoded_frames, in.max_source_frame_bytes),
      "decoded_frames");
  add("frame_pool_idle", s.frame_pool_idle_bytes, "idle pictures kept for reuse", "decoded_frames");

  const int readers = decoders + 1 + (in.dissolves ? 1 : 0);  // + a dissolve's audio reader
  const auto reader_bytes = static_cast<int64_t>(
      readers * (static_cast<double>(kReaderFixedBytes) +
                 kReaderFrameFraction * static_cast<double>(in.max_source_frame_bytes)));
  add("readers", reader_bytes, std::to_string(readers) + " open (demuxer + decoder state)");
  add("io_buffers", readers * kReaderIoBytes + kOutputIoBytes,
      std::to_string(readers) + " readers x " + mib(kReaderIoBytes) + " + output " +
          mib(kOutputIoBytes),
      "io_buffers");
  add("packets", (readers + 1) * (in.max_source_frame_bytes / kPacketFrameDivisor),
      std::to_string(readers + 1) + " in flight x 1/" + std::to_string(kPacketFrameDivisor) +
          " of a source picture",
      "packets");

  const int input_frames = s.video_out_queue_frames + kEncoderInputExtraFrames;
  add("encoder_input", int64_t{input_frames} * in.output_frame_bytes + in.audio_queue_bytes,
      std::to_string(s.video_out_queue_frames) + " queued + " +
          std::to_string(kEncoderInputExtraFrames) + " = " +
          frames_of(input_frames, in.output_frame_bytes) + ", audio queue " +
          mib(in.audio_queue_bytes),
      "encoder_input");
  add("normalizer",
      kNormalizerIdleFrames * in.output_frame_bytes * (in.dissolves ? 2 : 1) +
          in.max_source_frame_bytes,
      in.dissolves ? "two graphs' idle output pictures (dissolves) + one source-sized intermediate"
                   : "the graph's idle output picture + one source-sized intermediate");

  const X264Profile& p = profile_for(in.encoder_preset);
  const int threads = std::max(1, s.encoder_threads);
  const int lookahead =
      s.encoder_lookahead < 0 ? p.lookahead : std::min(s.encoder_lookahead, p.lookahead);
  double units = x264_units(p, threads, s.encoder_slice_threads, lookahead);
  // The per-frame lookahead saving was measured on veryfast only: never let a shortened
  // lookahead make a preset look cheaper than any faster preset at the same settings.
  for (const X264Profile& faster : kX264Profiles) {
    if (&faster == &p) break;
    units = std::max(units, x264_units(faster, threads, s.encoder_slice_threads,
                                       std::min(lookahead, faster.lookahead)));
  }
  const auto x264_bytes = static_cast<int64_t>(units * static_cast<double>(in.output_frame_bytes));
  char how[160];
  std::snprintf(how, sizeof how, "preset %s, %d %s thread(s), rc-lookahead %d: %.0f frames",
                p.preset, threads, s.encoder_slice_threads ? "slice" : "frame", lookahead, units);
  add("x264", x264_bytes, how);

  add("audio", kAudioBytes, "decoder, resampler, FIFO, encoder");
  // Each bed playing has what the shots' audio has, but the encoder: its demuxer, decoder,
  // resampler and FIFO.
  if (in.max_open_beds > 0) {
    add("audio_beds", int64_t{in.max_open_beds} * kAudioBytes,
        std::to_string(in.max_open_beds) + " bed reader(s) at once x " + mib(kAudioBytes));
  }
  add("mux_index", in.render_index_packets * kIndexBytesPerPacket,
      std::to_string(in.render_index_packets) + " packets x " +
          std::to_string(kIndexBytesPerPacket) + " B while rendering");

  int64_t sum = 0;
  for (const PlanPart& part : e.parts) {
    sum += part.bytes;
    if (!part.account.empty()) e.tracked_bytes += part.bytes;
  }
  const auto slack = static_cast<int64_t>(static_cast<double>(sum) * (kSlack - 1));
  add("slack", slack, "fragmentation, allocator");
  e.peak_bytes = sum + slack;

  // Muxing the spooled packets runs alone: the baseline, the runtime and the whole file's index.
  // Only a very long output (some 15 MB of index an hour) makes it the peak; then it is a part.
  const auto finalize =
      static_cast<int64_t>(static_cast<double>(in.baseline_bytes + kRuntimeFixedBytes +
                                               in.finalize_index_packets * kIndexBytesPerPacket) *
                           kSlack);
  if (finalize > e.peak_bytes) {
    add("finalize_index", finalize - e.peak_bytes,
        "the index built after the render, " + std::to_string(in.finalize_index_packets) +
            " packets x " + std::to_string(kIndexBytesPerPacket) +
            " B, is the peak: baseline + runtime + index, with slack");
    e.peak_bytes = finalize;
  }
  return e;
}

Plan make_plan(const PlanInputs& in, int64_t budget_bytes) {
  Plan plan;
  plan.budget_bytes = budget_bytes;
  plan.settings = default_settings(in);
  plan.estimate = estimate(in, plan.settings);

  // Degradations, cheapest first. Each returns false when it has nothing left to take.
  using Step = bool (*)(PlanSettings&, std::string&);
  const Step steps[] = {
      [](PlanSettings& s, std::string& what) {
        if (s.frame_pool_idle_bytes <= s.min_frame_pool_idle_bytes) return false;
        s.frame_pool_idle_bytes = s.min_frame_pool_idle_bytes;
        what = "idle pool down to " + std::to_string(kMinIdlePictures) + " pictures";
        return true;
      },
      [](PlanSettings& s, std::string& what) {
        if (s.decoded_queue_frames <= 1 && s.video_out_queue_frames <= 1) return false;
        s.decoded_queue_frames = 1;
        s.video_out_queue_frames = 1;
        what = "queues 1 frame deep";
        return true;
      },
      [](PlanSettings& s, std::string& what) {
        if (!s.prefetch) return false;
        s.prefetch = false;
        what = "no prefetch of the next shot (slower at cuts)";
        return true;
      },
      [](PlanSettings& s, std::string& what) {
        if (s.encoder_slice_threads || s.encoder_threads <= 1) return false;
        s.encoder_slice_threads = true;
        what = "x264 slice threads instead of frame threads (slightly larger output)";
        return true;
      },
      [](PlanSettings& s, std::string& what) {
        // Not below 5: at 0 x264 turns macroblock-tree rate control off, a different encoder.
        if (s.encoder_lookahead >= 0 && s.encoder_lookahead <= 5) return false;
        s.encoder_lookahead = 5;
        what =
            "x264 rc-lookahead " + std::to_string(s.encoder_lookahead) + " (lower quality per bit)";
        return true;
      },
  };

  // Greedy: each step, cheapest first, taken while the estimate is over `target` and the step
  // still saves something.
  auto degrade = [&](PlanSettings& settings, PlanEstimate& est, int64_t target,
                     std::vector<std::string>* changes) {
    for (Step step : steps) {
      while (est.peak_bytes > target) {
        std::string what;
        PlanSettings tried = settings;
        if (!step(tried, what)) break;
        PlanEstimate e = estimate(in, tried);
        if (e.peak_bytes >= est.peak_bytes) break;  // saves nothing from here (after slices)
        if (changes != nullptr) {
          changes->push_back(what + ": -" + mib(est.peak_bytes - e.peak_bytes));
        }
        settings = tried;
        est = std::move(e);
      }
    }
  };
  PlanSettings minimal = plan.settings;
  PlanEstimate minimal_estimate = plan.estimate;
  degrade(minimal, minimal_estimate, 0, nullptr);
  plan.min_bytes = minimal_estimate.peak_bytes;
  plan.min_decoded_frame_bytes = minimal_estimate.decoded_frame_bytes;

  if (budget_bytes <= 0) return plan;
  degrade(plan.settings, plan.estimate, budget_bytes, &plan.changes);
  plan.fits = plan.estimate.peak_bytes <= budget_bytes;
  return plan;
}

}  // namespace leancut::memory
