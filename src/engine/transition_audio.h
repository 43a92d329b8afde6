// TransitionAudio: what a timeline's transitions do to the sound, applied to each finished frame
// of the shots' audio (before the beds are mixed in) as it leaves the shots' normalizer.
//
//   TransitionAudio transitions(timeline, {.sample_rate = 48000, .channels = 2}, open_reader);
//   while (FramePtr f = normalizer.pop_frame()) {
//     LEANCUT_TRY(transitions.apply(f.get()));   // f: FLTP, pts = output sample
//     push(std::move(f));
//   }
//
// A fade ramps the outgoing shot's audio linearly down to silence at the cut over the samples of
// the transition's `before` frames, and the incoming one's up from it over `after`. A dissolve
// crossfades: over all its samples the shots' own audio ramps (the outgoing shot's down before
// the cut, the incoming one's up after it, each to its share w or 1 − w, w = the incoming
// picture's weight) and the other shot's sound is added from beyond the cut: the incoming shot's
// from ahead of its in point before the cut, the outgoing one's from past its out point after.
// That sound is pulled sample-exact, one dissolve at a time, through a reader and a normalizer of
// its own, so during a dissolve one extra audio reader is open (one per source, as for the
// pictures). A shot without audio, or at another speed, adds silence beyond its own range.
//
// Memory: during a dissolve, a reader (demuxer, decoder, one pending frame), a resampler and a
// few encoder frames. Thread-compatible (the engine's audio thread).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "base/result.h"
#include "engine/audio_beds.h"
#include "engine/timeline.h"
#include "media/audio_normalizer.h"
#include "media/av_ptr.h"

namespace leancut::engine {

class TransitionAudio {
 public:
  // REQUIRES: `timeline` outlives this. `target`: the output's audio (frame_size unused).
  TransitionAudio(const Timeline& timeline, media::AudioTarget target, OpenAudioReader open);

  bool empty() const { return ramps_.empty() && dissolves_.empty(); }

  // Applies every transition overlapping the frame's samples [pts, pts + nb_samples). REQUIRES:
  // frames come in order, in the output's format (FLTP).
  Status apply(AVFrame* frame);

 private:
  struct Ramp {
    int64_t from = 0;  // output samples
    int64_t to = 0;
    bool up = false;
  };
  struct Dissolve {
    int64_t from = 0;  // output samples: [from, cut) before the cut, [cut, to) after it
    int64_t cut = 0;
    int64_t to = 0;
    std::size_t incoming = 0;  // index in the timeline's shots of the shot it goes into
  };
  void apply_ramps(AVFrame* frame);
  Status mix_dissolves(AVFrame* frame);
  Status begin_next_segment(const Dissolve& d);
  Status produce(const Dissolve& d);

  const Timeline& timeline_;
  media::AudioTarget target_;
  OpenAudioReader open_;
  std::vector<Ramp> ramps_;
  std::size_t next_ramp_ = 0;
  std::vector<Dissolve> dissolves_;
  std::size_t current_ = 0;  // the dissolve being mixed (or the next one)

  // The current dissolve's other sound: its two segments (0: the incoming shot's early audio,
  // 1: the outgoing shot's late audio), fed on demand.
  std::unique_ptr<media::AudioNormalizer> normalizer_;
  std::shared_ptr<media::StreamReader> reader_;
  int segment_ = -1;
  bool segment_open_ = false;
  bool drained_ = false;
  std::deque<media::FramePtr> ready_;  // produced frames, in order
  int64_t ready_used_ = 0;             // samples of ready_.front() already mixed
};

}  // namespace leancut::engine
