// BedMixer: adds a timeline's audio beds (blueprint "audio": music under the shots) into the
// output's audio, one encoder frame at a time, as the frames leave the shots' normalizer.
//
//   BedMixer beds(timeline, open_audio_reader);
//   while (FramePtr f = normalizer.pop_frame()) {
//     LEANCUT_TRY(beds.mix(f.get()));   // f: FLTP at the output's rate, pts = output sample
//     push(std::move(f));
//   }
//
// Each bed clip has a reader open only while the frame being mixed overlaps it; its audio goes
// through its own AudioNormalizer (resampled, cut to the exact sample), one pass over [in, out)
// per loop, seeking back to `in` at each seam, so a pass starts exactly `period` samples after
// the one before. Gain, linear fades and ducking are applied per sample.
//
// Ducking is a sidechain on the shots' audio in the frame being mixed (what the viewer hears,
// not what the blueprint says: a shot with a silent stretch lets the bed back up): while the
// shots' peak is above the threshold (held 20 ms, so the troughs of a low tone do not count as
// silence) the bed's duck level moves linearly in dB towards `amount_db` at amount/attack dB a
// second, and back to 0 dB at amount/release dB a second. Linear in dB and per sample: no steps,
// so no clicks. Causal, without lookahead: the first `attack` of a shot's sound has the bed
// partly up.
//
// After mixing, samples are clamped to [−1, 1]: a float encoder takes more, but most players
// then clip anyway, and a bed added at full level to full-scale shots would otherwise wrap.
//
// Memory: per open bed, a reader (demuxer, decoder, one pending frame), a resampler and a FIFO
// of at most one decoded source frame plus one encoder frame; decoded frames come from the
// reader's pool (charged like the shots' audio). Thread-compatible (the engine's audio thread).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/result.h"
#include "engine/timeline.h"
#include "media/audio_normalizer.h"
#include "media/av_ptr.h"
#include "media/source_reader.h"

namespace leancut::engine {

// Opens an audio reader of Timeline::sources[source]; dropping the pointer closes it.
using OpenAudioReader = std::function<Result<std::shared_ptr<media::StreamReader>>(int source)>;

class BedMixer {
 public:
  // REQUIRES: `timeline` outlives the mixer.
  BedMixer(const Timeline& timeline, OpenAudioReader open);
  ~BedMixer();
  BedMixer(const BedMixer&) = delete;
  BedMixer& operator=(const BedMixer&) = delete;

  // Adds every bed overlapping the frame's samples [pts, pts + nb_samples) into it. REQUIRES:
  // frames come in order, without gaps, in the output's format (FLTP, rate, channels).
  Status mix(AVFrame* frame);

  int open_beds() const;  // readers open now

 private:
  struct Active;
  Status pull(const ResolvedBed& rb, Active& bed, int samples);

  const Timeline& timeline_;
  OpenAudioReader open_;
  std::vector<std::unique_ptr<Active>> active_;  // by index into timeline_.beds; null: closed
  std::vector<float> duck_db_;                   // per bed: its duck level now (dB, <= 0)
  std::vector<int64_t> hold_;                    // per bed: samples the detector stays on
};

}  // namespace leancut::engine
