// Test helpers for audio content: decode a file's first audio stream to float mono (channels
// averaged, sample rate unchanged) with libav directly, and measure what is in a window of it:
// RMS level and which of a set of tones dominates (Goertzel filters).
//
//   auto a = decode_audio_mono(path);
//   ASSERT_TRUE(a.ok()) << a.error().message;
//   std::span<const float> w = a->window(48000, 4096);
//   EXPECT_EQ(dominant_tone(w, a->sample_rate, {300, 400, 500}), 400);
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "base/result.h"

namespace leancut::testing {

struct DecodedAudio {
  int sample_rate = 0;  // of the stream (no resampling)
  int channels = 0;     // of the stream, before the mono downmix
  double first_s = 0;   // timestamp of the first decoded sample
  std::vector<float> mono;

  // Samples [start, start + count), clipped to what was decoded.
  std::span<const float> window(int64_t start, int64_t count) const;
};

// Fails when the file cannot be read or has no audio stream.
Result<DecodedAudio> decode_audio_mono(const std::filesystem::path& path);

double rms(std::span<const float> samples);

// Power of the `hz` component in the window (Goertzel), normalised so a full-scale sine of that
// frequency gives about 0.25 whatever the window length.
double tone_power(std::span<const float> samples, int sample_rate, double hz);

// Least-squares fit of a sinusoid of `hz` to the window: its phase (radians) at the window's
// first sample, i.e. x[n] ~ R * sin(2 pi hz n / rate + phase). Exact for a pure tone whatever
// the window length (no leakage bias, unlike a DFT bin).
double tone_phase(std::span<const float> samples, int sample_rate, double hz);

// The candidate with the most power; -1 for an empty window or no candidates.
double dominant_tone(std::span<const float> samples, int sample_rate,
                     const std::vector<double>& candidates);

}  // namespace leancut::testing
