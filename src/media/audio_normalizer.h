// AudioNormalizer: builds the output's audio track one segment (shot) at a time, to the exact
// sample. A segment is `sample_count` output samples taken from the source starting at an
// editor time; the normalizer resamples and re-channels what it is fed, drops what falls before
// the start, pads gaps and a short source with silence, and cuts at exactly sample_count. Output
// comes out in encoder-sized frames (1024 samples for AAC) with pts = samples since the start of
// the timeline, so however many segments there are, audio never drifts from video.
//
//   AudioNormalizer n({.sample_rate = 48000, .channels = 2, .frame_size = 1024});
//   n.begin_segment(/*sample_count=*/48048, /*start=*/Rational{3, 2});
//   while (!n.segment_full()) LEANCUT_TRY(n.feed(decoded.frame.get(), decoded.time));
//   n.end_segment();                        // pads with silence if the source ran out
//   while (FramePtr f = n.pop_frame()) encode(f);
//
// Memory: the resampler and a FIFO of at most one segment's tail plus one encoder frame.
// Thread-compatible (the engine's audio thread).
#pragma once

#include <cstdint>

#include "base/result.h"
#include "media/av_ptr.h"
#include "time/rational.h"

namespace leancut::media {

struct AudioTarget {
  int sample_rate = 48000;
  int channels = 2;
  int frame_size = 1024;  // samples per encoder frame
};

class AudioNormalizer {
 public:
  static Result<std::unique_ptr<AudioNormalizer>> create(const AudioTarget& target);
  explicit AudioNormalizer(const AudioTarget& target);
  ~AudioNormalizer();
  AudioNormalizer(const AudioNormalizer&) = delete;
  AudioNormalizer& operator=(const AudioNormalizer&) = delete;

  // Starts a segment; its samples are multiplied by `gain` (linear). REQUIRES: the previous
  // segment was ended.
  void begin_segment(int64_t sample_count, Rational start, float gain = 1.0f);
  // Feeds one decoded source frame starting at editor time `time`. Samples before the segment's
  // start are dropped, samples past its end ignored.
  Status feed(const AVFrame* frame, Rational time);
  // True once the segment has all its samples.
  bool segment_full() const { return written_ >= segment_samples_; }
  // Drains the resampler, pads with silence to sample_count and closes the segment.
  Status end_segment();

  // An encoder frame of exactly frame_size samples, or nullptr when fewer are buffered.
  FramePtr pop_frame();
  // Whatever is left (< frame_size samples) as a last, short frame; nullptr if nothing is.
  FramePtr pop_last_frame();

  int64_t samples_out() const { return samples_out_; }  // pts of the next frame popped

 private:
  Status write_converted(uint8_t** data, int samples);
  Status write_silence(int64_t samples);
  FramePtr make_output_frame(int samples);

  AudioTarget target_;
  AVChannelLayout layout_{};
  AudioFifoPtr fifo_;
  SwrPtr swr_;
  // The resampler's input shape, to rebuild it when a source differs.
  int swr_in_rate_ = 0;
  int swr_in_format_ = -1;
  AVChannelLayout swr_in_layout_{};

  int64_t segment_samples_ = 0;
  int64_t written_ = 0;         // samples of this segment in the FIFO so far
  int64_t segment_origin_ = 0;  // start of segment on the source's output-rate sample grid
  int64_t next_position_ = 0;   // grid position of the resampler's next output sample
  bool have_position_ = false;
  bool in_segment_ = false;
  float gain_ = 1.0f;
  int64_t samples_out_ = 0;
};

}  // namespace leancut::media
