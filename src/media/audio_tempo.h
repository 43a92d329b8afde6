// AudioTempo: changes the speed of a stretch of decoded audio with its pitch kept (libavfilter's
// atempo, a WSOLA time stretch), for shots played faster or slower. It also cuts the stretch to
// start exactly at `start`, so what comes out starts at the shot's first sample and its times
// are editor times of the output: start + (source time − start) / speed.
//
//   AudioTempo tempo(Rational{2}, /*start=*/Rational{10});   // a 2x shot from 10 s
//   LEANCUT_TRY(tempo.feed(decoded.frame.get(), decoded.time));
//   while (auto out = tempo.pop()) normalizer.feed(out->frame.get(), out->time);
//   LEANCUT_TRY(tempo.finish());                               // at the source's end, or done
//
// The graph is built on the first frame (its format, rate and layout); a source does not change
// them mid-stream. Memory: atempo's window (~ 2 × 50 ms of audio) and one frame in flight.
// Thread-compatible (the engine's audio thread).
#pragma once

#include <optional>

#include "base/result.h"
#include "media/av_ptr.h"
#include "time/rational.h"

extern "C" {
struct AVFilterContext;
}

namespace leancut::media {

class AudioTempo {
 public:
  // REQUIRES: speed > 0.
  AudioTempo(Rational speed, Rational start);
  AudioTempo(const AudioTempo&) = delete;
  AudioTempo& operator=(const AudioTempo&) = delete;

  // One decoded frame whose first sample is at editor time `time` in the source.
  Status feed(const AVFrame* frame, Rational time);
  // Flushes the stretch (no more input).
  Status finish();

  struct Stretched {
    FramePtr frame;
    Rational time;  // where its first sample plays, in output editor time
  };
  // The next stretched frame, or nullopt until more input (or after the end).
  std::optional<Stretched> pop();

 private:
  Status build(const AVFrame* first);

  Rational speed_;
  Rational start_;
  FilterGraphPtr graph_;
  AVFilterContext* source_ = nullptr;
  AVFilterContext* sink_ = nullptr;
  int sample_rate_ = 0;
  bool finished_ = false;
};

// The atempo chain for `speed` (each atempo between 0.5 and 2, FFmpeg's range for an exact
// stretch), e.g. "atempo=2" or, for 1/4, "atempo=0.5,atempo=0.5".
std::string atempo_chain(Rational speed);

}  // namespace leancut::media
