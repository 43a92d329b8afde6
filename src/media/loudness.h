// LoudnessMeter: integrated loudness (ITU-R BS.1770-4, EBU R128) and sample peak of a stream of
// planar float audio, in constant memory whatever its length.
//
//   LoudnessMeter m(48000, 2);
//   for (each frame) m.add(planes, samples);
//   std::optional<double> lufs = m.integrated_lufs();   // nullopt: all below the −70 LUFS gate
//
// K-weighting (the standard's two biquads, designed for the actual rate), 400 ms blocks every
// 100 ms, the −70 LUFS absolute gate and the −10 LU relative gate. Blocks are kept in a
// histogram of 0.01 LU bins (count and energy per bin) rather than a list, as libebur128's
// histogram mode does: 64 KiB whatever the length, the relative gate exact to a bin. Channels
// weigh 1 (mono and stereo have no surround channels). Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace leancut::media {

class LoudnessMeter {
 public:
  LoudnessMeter(int sample_rate, int channels);

  // Adds `samples` samples of every channel (planes[c][0..samples)).
  void add(const float* const* planes, int samples);

  std::optional<double> integrated_lufs() const;
  double sample_peak() const { return peak_; }  // linear, max |x| over every channel

 private:
  struct Biquad {
    double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
  };
  struct State {
    double z1 = 0, z2 = 0;
  };
  static double run(const Biquad& f, State& s, double x) {
    const double y = f.b0 * x + s.z1;
    s.z1 = f.b1 * x - f.a1 * y + s.z2;
    s.z2 = f.b2 * x - f.a2 * y;
    return y;
  }
  void close_block();

  int channels_ = 0;
  int64_t sub_block_ = 0;  // samples per 100 ms
  Biquad shelf_;
  Biquad highpass_;
  std::vector<State> shelf_state_;
  std::vector<State> highpass_state_;
  double sub_sum_ = 0;            // weighted squares of the current 100 ms
  int64_t sub_fill_ = 0;          // samples in it
  double last_[3] = {};           // the three 100 ms sums before it
  int64_t sub_blocks_ = 0;        // completed 100 ms sub-blocks
  std::vector<int64_t> counts_;   // per histogram bin
  std::vector<double> energies_;  // per bin: the sum of its blocks' mean squares
  double peak_ = 0;
};

}  // namespace leancut::media
