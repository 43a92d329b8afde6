#include "engine/plan.h"

#include <algorithm>
#include <vector>

#include "media/frame_pool.h"

namespace leancut::engine {

memory::PlanInputs plan_inputs(const Timeline& timeline, const PlanContext& context) {
  memory::PlanInputs in;
  in.baseline_bytes = context.baseline_bytes;
  const blueprint::Output& out = timeline.output;
  in.output_frame_bytes = int64_t{out.width} * out.height * 3 / 2;
  std::vector<bool> used(timeline.sources.size(), false);
  for (const ResolvedShot& shot : timeline.shots) {
    if (shot.is_colour()) {
      // Its picture is made at the output's size and travels like a decoded one.
      in.max_source_frame_bytes = std::max(in.max_source_frame_bytes, in.output_frame_bytes);
      continue;
    }
    if (shot.is_still()) {
      // Its picture at the image's own size, as decoded; with transparency, while it is
      // flattened onto the background, an RGBA copy and the RGB24 result beside it.
      const media::ImageInfo& image = *shot.image;
      int64_t bytes = media::estimate_picture_bytes(image.width, image.height, image.pixel_format);
      if (image.has_alpha) {
        bytes += int64_t{image.width} * image.height * (4 + 3);
      }
      in.max_source_frame_bytes = std::max(in.max_source_frame_bytes, bytes);
      continue;
    }
    used[static_cast<size_t>(shot.source)] = true;
  }
  for (size_t i = 0; i < timeline.sources.size(); ++i) {
    if (!used[i] || !timeline.sources[i].video) continue;
    const media::VideoInfo& v = *timeline.sources[i].video;
    in.max_source_frame_bytes =
        std::max(in.max_source_frame_bytes,
                 media::estimate_picture_bytes(v.width, v.height, v.pixel_format));
    in.max_source_delay_frames = std::max(in.max_source_delay_frames, v.decoder_frames);
  }
  in.output_video_frames = timeline.total_frames;
  // AAC frames: 1,024 samples each.
  in.output_audio_frames = (timeline.total_samples + 1023) / 1024;
  // The audio queue full: AAC frames of planar float samples (4 bytes), up to its byte bound.
  in.audio_queue_bytes = std::min<int64_t>(
      static_cast<int64_t>(kAudioOutQueue.max_items) * 1024 * out.audio.channels * 4,
      static_cast<int64_t>(kAudioOutQueue.max_bytes));
  // Beds playing at once, at most: a sweep over their [first, end) sample ranges.
  std::vector<std::pair<int64_t, int>> edges;
  for (const ResolvedBed& b : timeline.beds) {
    edges.emplace_back(b.first_sample, +1);
    edges.emplace_back(b.first_sample + b.sample_count, -1);
  }
  std::sort(edges.begin(), edges.end());  // an end sorts before a start at the same sample
  int playing = 0;
  for (const auto& [sample, delta] : edges) {
    playing += delta;
    in.max_open_beds = std::max(in.max_open_beds, playing);
  }
  // Where the muxer's index lives (render_job.h): one GOP's packets during the render, or every
  // packet after it.
  switch (mux_index_for(context.output_format, out.mp4_layout)) {
    case MuxIndex::PerFragment: {
      const Rational gop = Rational{out.video.gop_seconds};
      in.render_index_packets =
          round_half_up(out.fps * gop) +
          round_half_up(gop * Rational{out.audio.sample_rate} / Rational{1024}) + 1;
      break;
    }
    case MuxIndex::AfterRender:
      in.finalize_index_packets = in.output_video_frames + in.output_audio_frames;
      break;
    case MuxIndex::Negligible:
      break;
  }
  for (const ResolvedShot& shot : timeline.shots) {
    if (shot.transition_in && shot.transition_in->is_dissolve()) in.dissolves = true;
  }
  in.cpu_count = std::max(1, context.cpu_count);
  in.encoder_preset = out.video.preset;
  in.requested_encoder_threads = context.requested_threads;
  return in;
}

void apply_plan(const memory::PlanSettings& s, RenderOptions& options) {
  options.encoder_threads = s.encoder_threads;
  options.encoder_slice_threads = s.encoder_slice_threads;
  options.encoder_lookahead = s.encoder_lookahead;
  options.decoded_queue.max_items = static_cast<size_t>(std::max(1, s.decoded_queue_frames));
  options.video_out_queue.max_items = static_cast<size_t>(std::max(1, s.video_out_queue_frames));
  options.prefetch = s.prefetch;
  options.frame_pool_idle_bytes = s.frame_pool_idle_bytes;
}

}  // namespace leancut::engine
