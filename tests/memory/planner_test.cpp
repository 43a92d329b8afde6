#include "memory/planner.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "memory/ledger.h"
#include "memory/rss.h"

namespace leancut::memory {
namespace {

constexpr int64_t k720pFrame = int64_t{1280} * 720 * 3 / 2;  // 1,382,400
constexpr int64_t k1080pSourceFrame = 3'200'000;  // 1920x1088 yuv420p, with libav's padding

// A realistic job: a minute of 720p30 out of 1080p sources, on two CPUs at the default preset.
PlanInputs hd_job() {
  PlanInputs in;
  in.baseline_bytes = 48 * kMiB;
  in.output_frame_bytes = k720pFrame;
  in.max_source_frame_bytes = k1080pSourceFrame;
  in.max_source_delay_frames = 5;
  in.output_video_frames = 1800;             // 60 s at 30 fps
  in.output_audio_frames = 2813;             // 60 s of 48 kHz in 1,024-sample AAC frames
  in.audio_queue_bytes = 96 * 1024 * 2 * 4;  // 96 stereo float AAC frames: 786,432
  in.finalize_index_packets = 1800 + 2813;   // a standard MP4: indexed after the render
  in.cpu_count = 2;
  in.encoder_preset = "veryfast";
  return in;
}

// The part named `name`; fails the test (and returns -1) when there is none.
int64_t part(const PlanEstimate& e, std::string_view name) {
  for (const PlanPart& p : e.parts) {
    if (p.name == name) return p.bytes;
  }
  ADD_FAILURE() << "no part named " << name;
  return -1;
}

// For the parts that appear only when they matter ("finalize_index").
int64_t part_or_zero(const PlanEstimate& e, std::string_view name) {
  for (const PlanPart& p : e.parts) {
    if (p.name == name) return p.bytes;
  }
  return 0;
}

std::vector<std::string> part_names(const PlanEstimate& e) {
  std::vector<std::string> out;
  for (const PlanPart& p : e.parts) out.push_back(p.name);
  return out;
}

int64_t sum_of_parts(const PlanEstimate& e) {
  int64_t sum = 0;
  for (const PlanPart& p : e.parts) sum += p.bytes;
  return sum;
}

// Settings as one comparable, readable string.
std::string describe(const PlanSettings& s) {
  return "threads=" + std::to_string(s.encoder_threads) +
         " slices=" + std::to_string(s.encoder_slice_threads) +
         " lookahead=" + std::to_string(s.encoder_lookahead) +
         " queues=" + std::to_string(s.decoded_queue_frames) + "/" +
         std::to_string(s.video_out_queue_frames) + " prefetch=" + std::to_string(s.prefetch) +
         " idle=" + std::to_string(s.frame_pool_idle_bytes) +
         " min_idle=" + std::to_string(s.min_frame_pool_idle_bytes);
}

// Checks the parts add up to the peak and the slack is 5% of the rest.
void expect_consistent(const PlanEstimate& e) {
  EXPECT_EQ(sum_of_parts(e), e.peak_bytes);
  const int64_t slack = part(e, "slack");
  const int64_t rest = e.peak_bytes - slack - part_or_zero(e, "finalize_index");
  EXPECT_NEAR(static_cast<double>(slack), static_cast<double>(rest) * 0.05, 1.0);
  EXPECT_EQ(e.decoded_frame_bytes, part(e, "decoded_frames") + part(e, "frame_pool_idle"));
  // The ledger's share: exactly the parts the job's accounts charge.
  int64_t tracked = 0;
  for (const PlanPart& p : e.parts) {
    EXPECT_GE(p.bytes, 0) << p.name;
    const bool charged = p.name == "decoded_frames" || p.name == "frame_pool_idle" ||
                         p.name == "io_buffers" || p.name == "packets" || p.name == "encoder_input";
    EXPECT_EQ(!p.account.empty(), charged) << p.name << " account '" << p.account << "'";
    if (!p.account.empty()) tracked += p.bytes;
  }
  EXPECT_EQ(e.tracked_bytes, tracked);
}

// One rung of the documented ladder: the settings after a degradation and the change's text
// (without its saving).
struct Rung {
  std::string change;
  PlanSettings settings;
};

// The ladder make_plan should walk for hd_job(): idle pool -> queues -> prefetch -> slice
// threads -> rc-lookahead 5. There is no "x264 on one thread" rung (one frame thread holds more
// than two slice threads) and no rc-lookahead 0 (it turns x264's macroblock-tree off).
std::vector<Rung> hd_ladder() {
  const PlanInputs in = hd_job();
  std::vector<Rung> rungs{{"", default_settings(in)}};
  auto next = [&](std::string change, auto edit) {
    PlanSettings s = rungs.back().settings;
    edit(s);
    rungs.push_back({std::move(change), s});
  };
  next("idle pool down to 2 pictures",
       [](PlanSettings& s) { s.frame_pool_idle_bytes = s.min_frame_pool_idle_bytes; });
  next("queues 1 frame deep", [](PlanSettings& s) {
    s.decoded_queue_frames = 1;
    s.video_out_queue_frames = 1;
  });
  next("no prefetch of the next shot (slower at cuts)",
       [](PlanSettings& s) { s.prefetch = false; });
  next("x264 slice threads instead of frame threads (slightly larger output)",
       [](PlanSettings& s) { s.encoder_slice_threads = true; });
  next("x264 rc-lookahead 5 (lower quality per bit)",
       [](PlanSettings& s) { s.encoder_lookahead = 5; });
  return rungs;
}

// hd_job()'s estimated peak at each rung of hd_ladder(), worked out by hand from planner.cpp's
// constants (sum of the parts, then + 5% slack truncated to whole bytes).
constexpr int64_t kHdLadderPeaks[] = {
    249'822'720,  // defaults: 237,926,400 + 11,896,320
    243'102'720,  // idle pool 4 -> 2 pictures: -6,400,000 before slack
    233'479'680,  // queues 3 -> 1: -2 source and -2 output pictures
    211'168'675,  // no prefetch: -6 source pictures, -1 reader (its I/O buffer and a packet)
    189'395'875,  // slice threads: x264 66 -> 51 units
    172'703'395,  // rc-lookahead 10 -> 5: x264 51 -> 39.5 units; 164,479,424 + 8,223,971
};

TEST(PlannerDefaults, SettingsForTwoCpus) {
  const PlanSettings s = default_settings(hd_job());
  EXPECT_EQ(s.encoder_threads, 2);
  EXPECT_FALSE(s.encoder_slice_threads);
  EXPECT_EQ(s.encoder_lookahead, -1);
  EXPECT_EQ(s.decoded_queue_frames, 3);
  EXPECT_EQ(s.video_out_queue_frames, 3);
  EXPECT_TRUE(s.prefetch);
  EXPECT_EQ(s.frame_pool_idle_bytes, 4 * k1080pSourceFrame);  // under the 16 MiB cap
  EXPECT_EQ(s.min_frame_pool_idle_bytes, 2 * k1080pSourceFrame);
}

TEST(PlannerDefaults, IdlePoolIsCappedAt16MiB) {
  PlanInputs in = hd_job();
  in.max_source_frame_bytes = int64_t{7680} * 4320 * 3 / 2;  // 8K
  EXPECT_EQ(default_settings(in).frame_pool_idle_bytes, 16 * kMiB);
  // Two 8K pictures are more than the cap: the floor is the cap, so there is nothing to take.
  EXPECT_EQ(default_settings(in).min_frame_pool_idle_bytes, 16 * kMiB);
  for (const std::string& change : make_plan(in, 1 * kMiB).changes) {
    EXPECT_EQ(change.find("idle pool"), std::string::npos) << change;
  }
}

TEST(PlannerEstimate, DefaultPartsAreExactAndSumToThePeak) {
  const PlanInputs in = hd_job();
  const PlanEstimate e = estimate(in, default_settings(in));
  EXPECT_EQ(part_names(e),
            (std::vector<std::string>{"baseline", "runtime", "decoded_frames", "frame_pool_idle",
                                      "readers", "io_buffers", "packets", "encoder_input",
                                      "normalizer", "x264", "audio", "mux_index", "slack"}));
  EXPECT_EQ(part(e, "baseline"), 48 * kMiB);
  EXPECT_EQ(part(e, "runtime"), 9 * kMiB);
  // 2 decoders x (5 held + 1) + 3 queued + 1 = 16 source pictures.
  EXPECT_EQ(part(e, "decoded_frames"), 16 * k1080pSourceFrame);
  EXPECT_EQ(part(e, "frame_pool_idle"), 4 * k1080pSourceFrame);
  // 3 readers x (1 MiB less the I/O buffer + a quarter picture); their I/O buffers and the
  // output's, 96 KiB each; a packet per reader and one from the encoder, 1/16 picture each.
  EXPECT_EQ(part(e, "readers"), 3 * (kMiB - 96 * kKiB + k1080pSourceFrame / 4));
  EXPECT_EQ(part(e, "io_buffers"), 4 * 96 * kKiB);
  EXPECT_EQ(part(e, "packets"), 4 * k1080pSourceFrame / 16);
  // (3 queued + 2) output pictures and the full audio queue; the graph's idle output picture
  // and one source-sized intermediate.
  EXPECT_EQ(part(e, "encoder_input"), 5 * k720pFrame + 786'432);
  EXPECT_EQ(part(e, "normalizer"), k720pFrame + k1080pSourceFrame);
  EXPECT_EQ(part(e, "x264"), 66 * k720pFrame);  // veryfast, 2 frame threads
  EXPECT_EQ(part(e, "audio"), 4 * kMiB);
  // A standard MP4 indexes nothing while rendering: its packets are spooled and muxed after.
  EXPECT_EQ(part(e, "mux_index"), 0);
  expect_consistent(e);
  EXPECT_EQ(e.decoded_frame_bytes, 20 * k1080pSourceFrame);
  EXPECT_EQ(e.tracked_bytes, 20 * k1080pSourceFrame + 4 * 96 * kKiB + 4 * k1080pSourceFrame / 16 +
                                 5 * k720pFrame + 786'432);
  // 237,926,400 before slack; about 249.8 MB in all.
  EXPECT_EQ(sum_of_parts(e) - part(e, "slack"), 237'926'400);
  EXPECT_NEAR(static_cast<double>(e.peak_bytes), 237'926'400 * 1.05, 1.0);
}

TEST(PlannerEstimate, FullyDegradedPartsAreExact) {
  const PlanInputs in = hd_job();
  const PlanSettings last = hd_ladder().back().settings;
  EXPECT_EQ(last.encoder_threads, 2);  // never reduced
  EXPECT_TRUE(last.encoder_slice_threads);
  EXPECT_EQ(last.encoder_lookahead, 5);  // never 0
  const PlanEstimate e = estimate(in, last);
  // 1 decoder x (5 + 1) + 1 queued + 1 = 8 pictures.
  EXPECT_EQ(part(e, "decoded_frames"), 8 * k1080pSourceFrame);
  EXPECT_EQ(part(e, "frame_pool_idle"), 2 * k1080pSourceFrame);  // the floor
  EXPECT_EQ(part(e, "readers"), 2 * (kMiB - 96 * kKiB + k1080pSourceFrame / 4));
  EXPECT_EQ(part(e, "io_buffers"), 3 * 96 * kKiB);
  EXPECT_EQ(part(e, "packets"), 3 * k1080pSourceFrame / 16);
  EXPECT_EQ(part(e, "encoder_input"), 3 * k720pFrame + 786'432);
  EXPECT_EQ(part(e, "normalizer"), k720pFrame + k1080pSourceFrame);
  // Slices: 53 - 2 = 51 units; rc-lookahead 10 -> 5: -11.5 units; 39.5 is above the floor (38).
  EXPECT_EQ(part(e, "x264"), 54'604'800);  // 39.5 x 1,382,400
  expect_consistent(e);
  EXPECT_EQ(sum_of_parts(e) - part(e, "slack"), 164'479'424);
  EXPECT_EQ(part(e, "slack"), 8'223'971);
  EXPECT_EQ(e.peak_bytes, 172'703'395);
  EXPECT_EQ(e.decoded_frame_bytes, 10 * k1080pSourceFrame);
}

TEST(PlannerEstimate, LadderPeaksAreExact) {
  const PlanInputs in = hd_job();
  const std::vector<Rung> rungs = hd_ladder();
  ASSERT_EQ(rungs.size(), std::size(kHdLadderPeaks));
  for (size_t i = 0; i < rungs.size(); ++i) {
    EXPECT_EQ(estimate(in, rungs[i].settings).peak_bytes, kHdLadderPeaks[i]) << rungs[i].change;
  }
}

// A shortened rc-lookahead never makes a preset look cheaper than any faster preset at the same
// threads and lookahead (the per-frame saving was measured on veryfast only).
TEST(PlannerEstimate, ShortLookaheadIsFlooredAtFasterPresets) {
  const auto x264_units = [](const char* preset, int threads, bool slices, int lookahead) {
    PlanInputs in = hd_job();
    in.encoder_preset = preset;
    PlanSettings s = default_settings(in);
    s.encoder_threads = threads;
    s.encoder_slice_threads = slices;
    s.encoder_lookahead = lookahead;
    return static_cast<double>(part(estimate(in, s), "x264")) / static_cast<double>(k720pFrame);
  };
  // Above the floor: the per-frame saving applies in full.
  EXPECT_NEAR(x264_units("veryfast", 1, false, 5), 53 - 5 * 2.3, 1e-6);  // 41.5
  EXPECT_NEAR(x264_units("veryfast", 2, true, 5), 51 - 5 * 2.3, 1e-6);   // 39.5
  EXPECT_NEAR(x264_units("veryfast", 2, false, 5), 66 - 5 * 2.3, 1e-6);  // 54.5
  EXPECT_NEAR(x264_units("placebo", 2, true, 5), 193 - 55 * 2.3, 1e-6);  // 66.5
  // At a faster preset's figure: faster 38.5 and medium 39.5 (1 thread) -> veryfast's 41.5;
  // faster 36.5, medium 37.5 and slow 34.5 (slices) -> veryfast's 39.5; slow 36.5 -> 41.5.
  EXPECT_NEAR(x264_units("faster", 1, false, 5), 41.5, 1e-6);
  EXPECT_NEAR(x264_units("medium", 1, false, 5), 41.5, 1e-6);
  EXPECT_NEAR(x264_units("faster", 2, true, 5), 39.5, 1e-6);
  EXPECT_NEAR(x264_units("medium", 2, true, 5), 39.5, 1e-6);
  EXPECT_NEAR(x264_units("slow", 1, false, 5), 41.5, 1e-6);
  EXPECT_NEAR(x264_units("slow", 4, true, 5), 39.5, 1e-6);
  // Even at rc-lookahead 0 (which the planner never chooses): 53 - 23 = 30 -> 38.
  EXPECT_NEAR(x264_units("veryfast", 1, false, 0), 38, 1e-6);
  // No lookahead, no floor: slices take superfast and ultrafast below 38.
  EXPECT_NEAR(x264_units("superfast", 2, true, 5), 36, 1e-6);
  EXPECT_NEAR(x264_units("superfast", 2, true, -1), 36, 1e-6);
  EXPECT_NEAR(x264_units("ultrafast", 2, true, 5), 10, 1e-6);
  EXPECT_NEAR(x264_units("ultrafast", 1, false, -1), 12, 1e-6);
}

TEST(PlannerEstimate, EveryCombinationOfSettingsIsConsistent) {
  const PlanInputs in = hd_job();
  for (int threads : {1, 2, 3, 8}) {
    for (bool slices : {false, true}) {
      for (int lookahead : {-1, 0, 5, 10}) {
        for (int queue : {1, 3}) {
          for (bool prefetch : {false, true}) {
            PlanSettings s{.encoder_threads = threads,
                           .encoder_slice_threads = slices,
                           .encoder_lookahead = lookahead,
                           .decoded_queue_frames = queue,
                           .video_out_queue_frames = queue,
                           .prefetch = prefetch,
                           .frame_pool_idle_bytes = 0};
            SCOPED_TRACE(describe(s));
            expect_consistent(estimate(in, s));
          }
        }
      }
    }
  }
}

TEST(PlannerEstimate, RcLookaheadAtThePresetsValueIsTheDefault) {
  const PlanInputs in = hd_job();
  PlanSettings s = default_settings(in);
  const int64_t preset = estimate(in, s).peak_bytes;
  s.encoder_lookahead = 10;  // veryfast's own
  EXPECT_EQ(estimate(in, s).peak_bytes, preset);
  s.encoder_lookahead = 40;  // more than the preset's is not modelled as more memory
  EXPECT_EQ(estimate(in, s).peak_bytes, preset);
}

TEST(PlannerEstimate, LargerInputsCostMore) {
  const PlanInputs in = hd_job();
  const PlanSettings s = default_settings(in);
  const int64_t base = estimate(in, s).peak_bytes;
  const int64_t base_min = make_plan(in, 0).min_bytes;

  PlanInputs bigger_sources = in;
  bigger_sources.max_source_frame_bytes = int64_t{3840} * 2160 * 3 / 2;  // 4K sources
  EXPECT_GT(estimate(bigger_sources, s).peak_bytes, base);
  EXPECT_GT(part(estimate(bigger_sources, s), "decoded_frames"),
            part(estimate(in, s), "decoded_frames"));
  EXPECT_GT(make_plan(bigger_sources, 0).min_bytes, base_min);

  PlanInputs deeper_decoder = in;
  deeper_decoder.max_source_delay_frames = 16;
  EXPECT_EQ(part(estimate(deeper_decoder, s), "decoded_frames"),
            (2 * (16 + 1) + 4) * k1080pSourceFrame);
  EXPECT_GT(make_plan(deeper_decoder, 0).min_bytes, base_min);

  PlanInputs bigger_output = in;
  bigger_output.output_frame_bytes = int64_t{1920} * 1080 * 3 / 2;
  EXPECT_GT(estimate(bigger_output, s).peak_bytes, base);
  EXPECT_GT(part(estimate(bigger_output, s), "x264"), part(estimate(in, s), "x264"));
  EXPECT_GT(make_plan(bigger_output, 0).min_bytes, base_min);

  PlanInputs medium = in;
  medium.encoder_preset = "medium";
  EXPECT_GT(estimate(medium, s).peak_bytes, base);
  EXPECT_EQ(part(estimate(medium, s), "x264"), 137 * k720pFrame);
  PlanInputs ultrafast = in;
  ultrafast.encoder_preset = "ultrafast";
  EXPECT_LT(estimate(ultrafast, s).peak_bytes, base);

  PlanInputs heavier_baseline = in;
  heavier_baseline.baseline_bytes += 10 * kMiB;
  EXPECT_GT(estimate(heavier_baseline, s).peak_bytes, base + 10 * kMiB);  // plus its slack
}

TEST(PlannerEstimate, PresetsCostMoreFromUltrafastToVeryslow) {
  const PlanInputs in = hd_job();
  const PlanSettings s = default_settings(in);
  int64_t previous = 0;
  for (const char* preset :
       {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower"}) {
    PlanInputs p = in;
    p.encoder_preset = preset;
    const int64_t peak = estimate(p, s).peak_bytes;
    EXPECT_GT(peak, previous) << preset;
    previous = peak;
  }
}

// The render holds one fragment's index (render_index_packets); the whole file's index is built
// by the finishing remux, alone, and is a part of the peak only when it is larger than the render.
TEST(PlannerEstimate, MuxIndexIsOneFragmentWhileRenderingAndTheWholeFileOnlyAtTheEnd) {
  PlanInputs in = hd_job();
  in.render_index_packets = 60 + 95;  // a 2 s GOP at 30 fps, 2 s of AAC
  in.finalize_index_packets = 1800 + 2813;
  const PlanSettings s = default_settings(in);
  const PlanEstimate minute = estimate(in, s);
  EXPECT_EQ(part(minute, "mux_index"), 155 * 64);
  EXPECT_EQ(part_or_zero(minute, "finalize_index"), 0)
      << "a minute's index is far below the render";

  // Ten times longer: the render's estimate does not change at all.
  in.output_video_frames = 10 * 1800;
  in.output_audio_frames = 10 * 2813;
  in.finalize_index_packets = 10 * (1800 + 2813);
  const PlanEstimate ten_minutes = estimate(in, s);
  EXPECT_EQ(ten_minutes.peak_bytes, minute.peak_bytes);
  expect_consistent(ten_minutes);

  // A 40-hour output: the remux's index (baseline + runtime + 64 B a packet, with slack) is the
  // peak, and the parts say so.
  in.finalize_index_packets = 2400 * (1800 + 2813);
  const PlanEstimate long_one = estimate(in, s);
  const double finalize =
      static_cast<double>(in.baseline_bytes + 9 * kMiB + in.finalize_index_packets * 64) * 1.05;
  EXPECT_NEAR(static_cast<double>(long_one.peak_bytes), finalize, 1.0);
  EXPECT_GT(part(long_one, "finalize_index"), 0);
  expect_consistent(long_one);
}

TEST(PlannerEstimate, RequestedEncoderThreadsAreHonoured) {
  PlanInputs in = hd_job();
  in.requested_encoder_threads = 4;
  const PlanSettings four = default_settings(in);
  EXPECT_EQ(four.encoder_threads, 4);
  // Two frame threads' 66 units plus 6.6 for each beyond two.
  EXPECT_NEAR(static_cast<double>(part(estimate(in, four), "x264")),
              (66 + 2 * 6.6) * static_cast<double>(k720pFrame), 1.0);
  EXPECT_EQ(make_plan(in, 0).settings.encoder_threads, 4);

  in.requested_encoder_threads = 1;
  in.cpu_count = 8;
  EXPECT_EQ(default_settings(in).encoder_threads, 1);
  EXPECT_EQ(part(estimate(in, default_settings(in)), "x264"), 53 * k720pFrame);

  in.requested_encoder_threads = 0;
  EXPECT_EQ(default_settings(in).encoder_threads, 8);
  in.cpu_count = 0;  // nonsense from the environment: still one thread
  EXPECT_EQ(default_settings(in).encoder_threads, 1);
}

TEST(PlannerPlan, NoBudgetKeepsTheDefaults) {
  const PlanInputs in = hd_job();
  const Plan plan = make_plan(in, 0);
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.budget_bytes, 0);
  EXPECT_TRUE(plan.changes.empty());
  EXPECT_EQ(describe(plan.settings), describe(default_settings(in)));
  EXPECT_EQ(plan.estimate.peak_bytes, estimate(in, default_settings(in)).peak_bytes);
  expect_consistent(plan.estimate);
  EXPECT_EQ(plan.min_bytes, estimate(in, hd_ladder().back().settings).peak_bytes);
  EXPECT_GT(plan.min_bytes, 0);
  EXPECT_LT(plan.min_bytes, plan.estimate.peak_bytes);
}

TEST(PlannerPlan, APlentifulBudgetKeepsTheDefaults) {
  const PlanInputs in = hd_job();
  const int64_t peak = estimate(in, default_settings(in)).peak_bytes;
  for (int64_t budget : {peak, peak + 1, 1024 * kMiB}) {
    const Plan plan = make_plan(in, budget);
    EXPECT_TRUE(plan.fits) << budget;
    EXPECT_EQ(plan.budget_bytes, budget);
    EXPECT_TRUE(plan.changes.empty()) << budget;
    EXPECT_EQ(describe(plan.settings), describe(default_settings(in)));
  }
}

TEST(PlannerPlan, TheLadderSavesAtEveryRung) {
  const PlanInputs in = hd_job();
  const std::vector<Rung> rungs = hd_ladder();
  for (size_t i = 1; i < rungs.size(); ++i) {
    EXPECT_LT(estimate(in, rungs[i].settings).peak_bytes,
              estimate(in, rungs[i - 1].settings).peak_bytes)
        << rungs[i].change;
  }
  // Why the planner has no "x264 on one thread" step: one frame thread holds more than two slice
  // threads, before and after the lookahead is shortened.
  for (size_t i : {size_t{4}, size_t{5}}) {
    PlanSettings one_thread = rungs[i].settings;
    one_thread.encoder_threads = 1;
    one_thread.encoder_slice_threads = false;
    EXPECT_GT(estimate(in, one_thread).peak_bytes, estimate(in, rungs[i].settings).peak_bytes)
        << rungs[i].change;
  }
}

TEST(PlannerPlan, FullyDegradedChangesAreExact) {
  const Plan plan = make_plan(hd_job(), 1 * kMiB);
  EXPECT_FALSE(plan.fits);
  EXPECT_EQ(plan.min_bytes, kHdLadderPeaks[5]);
  EXPECT_EQ(plan.estimate.peak_bytes, kHdLadderPeaks[5]);
  EXPECT_EQ(plan.min_decoded_frame_bytes, 10 * k1080pSourceFrame);
  EXPECT_EQ(plan.changes,
            (std::vector<std::string>{
                "idle pool down to 2 pictures: -6.4 MiB",                    // 6,720,000
                "queues 1 frame deep: -9.2 MiB",                             // 9,623,040
                "no prefetch of the next shot (slower at cuts): -21.3 MiB",  // 22,311,005
                "x264 slice threads instead of frame threads (slightly larger output): -20.8 MiB",
                "x264 rc-lookahead 5 (lower quality per bit): -15.9 MiB",  // 16,692,480
            }));
  EXPECT_EQ(plan.settings.encoder_threads, 2);
  EXPECT_TRUE(plan.settings.encoder_slice_threads);
  EXPECT_EQ(plan.settings.encoder_lookahead, 5);
  EXPECT_EQ(plan.settings.decoded_queue_frames, 1);
  EXPECT_EQ(plan.settings.video_out_queue_frames, 1);
  EXPECT_FALSE(plan.settings.prefetch);
  EXPECT_EQ(plan.settings.frame_pool_idle_bytes, 2 * k1080pSourceFrame);
}

// For budgets at and between the ladder's rungs: the plan takes the first rung that fits, says
// what each step saved, in order, and removing its last change would not fit.
TEST(PlannerPlan, ABudgetBetweenMinAndDefaultTakesTheLeastDegradationThatFits) {
  const PlanInputs in = hd_job();
  const std::vector<Rung> rungs = hd_ladder();
  std::vector<int64_t> peaks;
  for (const Rung& r : rungs) peaks.push_back(estimate(in, r.settings).peak_bytes);
  for (size_t k = 1; k < rungs.size(); ++k) {
    for (int64_t budget : {peaks[k], (peaks[k] + peaks[k - 1]) / 2, peaks[k - 1] - 1}) {
      SCOPED_TRACE("rung " + std::to_string(k) + ", budget " + std::to_string(budget));
      const Plan plan = make_plan(in, budget);
      EXPECT_TRUE(plan.fits);
      EXPECT_EQ(plan.budget_bytes, budget);
      EXPECT_EQ(plan.min_bytes, peaks.back());
      EXPECT_EQ(describe(plan.settings), describe(rungs[k].settings));
      EXPECT_EQ(plan.estimate.peak_bytes, peaks[k]);
      EXPECT_LE(plan.estimate.peak_bytes, budget);
      EXPECT_GT(peaks[k - 1], budget);  // one change fewer would not fit
      expect_consistent(plan.estimate);
      ASSERT_EQ(plan.changes.size(), k);
      for (size_t i = 0; i < k; ++i) {
        EXPECT_EQ(plan.changes[i],
                  rungs[i + 1].change + ": -" + format_bytes(peaks[i] - peaks[i + 1]));
      }
    }
  }
}

TEST(PlannerPlan, ABudgetBelowTheMinimumDoesNotFitAndDegradesEverything) {
  const PlanInputs in = hd_job();
  const std::vector<Rung> rungs = hd_ladder();
  const Plan at_min = make_plan(in, make_plan(in, 0).min_bytes);
  EXPECT_TRUE(at_min.fits);
  EXPECT_EQ(describe(at_min.settings), describe(rungs.back().settings));
  for (int64_t budget : {at_min.min_bytes - 1, int64_t{64} * kMiB, int64_t{1} * kMiB}) {
    SCOPED_TRACE(budget);
    const Plan plan = make_plan(in, budget);
    EXPECT_FALSE(plan.fits);
    EXPECT_EQ(plan.budget_bytes, budget);
    EXPECT_EQ(describe(plan.settings), describe(rungs.back().settings));
    EXPECT_EQ(plan.estimate.peak_bytes, plan.min_bytes);
    EXPECT_GT(plan.min_bytes, budget);
    EXPECT_EQ(plan.changes.size(), rungs.size() - 1);
  }
}

// The order holds whatever the inputs: each change's kind comes no earlier than the previous.
TEST(PlannerPlan, ChangesFollowTheDocumentedOrder) {
  const std::vector<std::string> order = {"idle pool down to 2 pictures", "queues 1 frame deep",
                                          "no prefetch", "x264 slice threads",
                                          "x264 rc-lookahead 5"};
  auto rank = [&](const std::string& change) {
    for (size_t i = 0; i < order.size(); ++i) {
      if (change.rfind(order[i], 0) == 0) return static_cast<int>(i);
    }
    ADD_FAILURE() << "unknown change: " << change;
    return -1;
  };
  for (const char* preset : {"ultrafast", "veryfast", "medium", "veryslow"}) {
    for (int cpus : {1, 2, 6}) {
      PlanInputs in = hd_job();
      in.encoder_preset = preset;
      in.cpu_count = cpus;
      for (int64_t budget = 1 * kMiB; budget <= 512 * kMiB; budget += 3 * kMiB) {
        SCOPED_TRACE(std::string(preset) + ", " + std::to_string(cpus) + " CPUs, budget " +
                     std::to_string(budget));
        const Plan plan = make_plan(in, budget);
        EXPECT_EQ(plan.fits, plan.estimate.peak_bytes <= budget);
        EXPECT_EQ(plan.fits, plan.min_bytes <= budget);
        int last = -1;
        for (const std::string& change : plan.changes) {
          const int r = rank(change);
          EXPECT_GT(r, last) << change;  // in order, and each step at most once
          last = r;
        }
        if (cpus == 1) {  // nothing to take from one x264 thread
          for (const std::string& change : plan.changes) {
            EXPECT_EQ(change.rfind("x264 s", 0), std::string::npos) << change;
          }
        }
      }
    }
  }
}

// min_bytes is the least the planner could ever need for these inputs: no plan, and no setting
// it could choose (rc-lookahead the preset's or 5, the idle pool down to its floor), estimates
// less; nor does one x264 thread (the step the planner no longer has). rc-lookahead 0 is not
// tried: the planner never chooses it, and it may estimate less.
TEST(PlannerPlan, MinBytesIsAtMostAnyEstimate) {
  for (const char* preset : {"ultrafast", "veryfast", "medium", "placebo"}) {
    for (int cpus : {1, 2, 4}) {
      PlanInputs in = hd_job();
      in.encoder_preset = preset;
      in.cpu_count = cpus;
      SCOPED_TRACE(std::string(preset) + ", " + std::to_string(cpus) + " CPUs");
      const PlanSettings defaults = default_settings(in);
      const int64_t min_bytes = make_plan(in, 0).min_bytes;
      EXPECT_GT(min_bytes, in.baseline_bytes);
      for (int64_t budget = 0; budget <= 512 * kMiB; budget += 7 * kMiB) {
        const Plan plan = make_plan(in, budget);
        EXPECT_EQ(plan.min_bytes, min_bytes);
        EXPECT_LE(plan.min_bytes, plan.estimate.peak_bytes);
      }
      for (int threads : {1, defaults.encoder_threads}) {
        for (bool slices : {false, true}) {
          for (int lookahead : {-1, 5}) {
            for (int queue : {1, 2, 3}) {
              for (bool prefetch : {false, true}) {
                for (int64_t idle :
                     {defaults.min_frame_pool_idle_bytes, defaults.frame_pool_idle_bytes}) {
                  PlanSettings s{.encoder_threads = threads,
                                 .encoder_slice_threads = slices,
                                 .encoder_lookahead = lookahead,
                                 .decoded_queue_frames = queue,
                                 .video_out_queue_frames = queue,
                                 .prefetch = prefetch,
                                 .frame_pool_idle_bytes = idle,
                                 .min_frame_pool_idle_bytes = defaults.min_frame_pool_idle_bytes};
                  EXPECT_LE(min_bytes, estimate(in, s).peak_bytes) << describe(s);
                }
              }
            }
          }
        }
      }
    }
  }
}

// The text of a change, without its ": -N MiB" saving.
std::string without_saving(const std::string& change) {
  return change.substr(0, change.rfind(": -"));
}

TEST(PlannerPlan, OneCpuSkipsTheThreadSteps) {
  PlanInputs in = hd_job();
  in.cpu_count = 1;
  const Plan plan = make_plan(in, 1 * kMiB);
  EXPECT_FALSE(plan.fits);
  EXPECT_EQ(plan.settings.encoder_threads, 1);
  EXPECT_FALSE(plan.settings.encoder_slice_threads);
  EXPECT_EQ(plan.settings.encoder_lookahead, 5);
  std::vector<std::string> kinds;
  for (const std::string& change : plan.changes) kinds.push_back(without_saving(change));
  EXPECT_EQ(kinds, (std::vector<std::string>{"idle pool down to 2 pictures", "queues 1 frame deep",
                                             "no prefetch of the next shot (slower at cuts)",
                                             "x264 rc-lookahead 5 (lower quality per bit)"}));
  // One frame thread, rc-lookahead 10 -> 5: 53 - 11.5 units.
  EXPECT_EQ(part(plan.estimate, "x264"), static_cast<int64_t>(41.5 * k720pFrame));
}

TEST(PlannerPlan, PresetsWithoutLookaheadHaveNoLookaheadToTake) {
  for (const char* preset : {"ultrafast", "superfast"}) {
    SCOPED_TRACE(preset);
    PlanInputs in = hd_job();
    in.encoder_preset = preset;
    const Plan plan = make_plan(in, 1 * kMiB);
    EXPECT_FALSE(plan.fits);
    std::vector<std::string> kinds;
    for (const std::string& change : plan.changes) kinds.push_back(without_saving(change));
    EXPECT_EQ(kinds, (std::vector<std::string>{
                         "idle pool down to 2 pictures", "queues 1 frame deep",
                         "no prefetch of the next shot (slower at cuts)",
                         "x264 slice threads instead of frame threads (slightly larger output)"}));
    EXPECT_EQ(plan.settings.encoder_lookahead, -1);
  }
}

// A slower preset never needs less than a faster one: the same inputs' min_bytes do not decrease
// from ultrafast to slow (the lookahead floor is meant to keep it so).
TEST(PlannerPlan, MinBytesDoesNotDecreaseTowardSlowerPresets) {
  const char* const presets[] = {"ultrafast", "superfast", "veryfast", "faster", "medium", "slow"};
  for (int64_t output_frame_bytes :
       {int64_t{640} * 360 * 3 / 2, k720pFrame, int64_t{1920} * 1080 * 3 / 2}) {
    for (int cpus : {1, 2, 4, 8}) {
      PlanInputs in = hd_job();
      in.output_frame_bytes = output_frame_bytes;
      in.cpu_count = cpus;
      std::string previous_preset;
      int64_t previous_min = 0;
      double previous_units = 0;
      for (const char* preset : presets) {
        in.encoder_preset = preset;
        const Plan plan = make_plan(in, 1);  // below any minimum: every step taken
        ASSERT_EQ(plan.estimate.peak_bytes, plan.min_bytes) << preset;
        const double units = static_cast<double>(part(plan.estimate, "x264")) /
                             static_cast<double>(output_frame_bytes);
        EXPECT_LE(previous_min, plan.min_bytes)
            << cpus << " CPUs, output frame " << output_frame_bytes << " B: " << previous_preset
            << " min_bytes " << previous_min << " (x264 " << previous_units << " units) > "
            << preset << " min_bytes " << plan.min_bytes << " (x264 " << units << " units)";
        previous_preset = preset;
        previous_min = plan.min_bytes;
        previous_units = units;
      }
    }
  }
}

// The removed steps stay removed: whatever the preset, CPUs, requested threads or budget, no
// change drops x264 to one thread or its lookahead to 0, and the settings show neither.
TEST(PlannerPlan, NoChangeDropsToOneThreadOrLookaheadZero) {
  for (const char* preset : {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                             "slow", "slower", "veryslow", "placebo"}) {
    for (int cpus : {1, 2, 3, 8}) {
      for (int requested : {0, 1, 4}) {
        PlanInputs in = hd_job();
        in.encoder_preset = preset;
        in.cpu_count = cpus;
        in.requested_encoder_threads = requested;
        const PlanSettings defaults = default_settings(in);
        for (int64_t budget = 1; budget <= 400 * kMiB; budget += 5 * kMiB) {
          SCOPED_TRACE(std::string(preset) + ", " + std::to_string(cpus) + " CPUs, " +
                       std::to_string(requested) + " requested, budget " + std::to_string(budget));
          const Plan plan = make_plan(in, budget);
          for (const std::string& change : plan.changes) {
            EXPECT_EQ(change.find("one thread"), std::string::npos) << change;
            EXPECT_EQ(change.find("rc-lookahead 0"), std::string::npos) << change;
          }
          EXPECT_EQ(plan.settings.encoder_threads, defaults.encoder_threads);
          EXPECT_NE(plan.settings.encoder_lookahead, 0);
          EXPECT_TRUE(plan.settings.encoder_lookahead == -1 || plan.settings.encoder_lookahead == 5)
              << plan.settings.encoder_lookahead;
        }
      }
    }
  }
}

}  // namespace
}  // namespace leancut::memory
