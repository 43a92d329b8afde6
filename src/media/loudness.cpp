#include "media/loudness.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace leancut::media {
namespace {

// The histogram: block loudness from −70 LUFS (the absolute gate) up to +5, in 0.01 LU bins;
// louder blocks count in the top bin (their energy stays exact).
constexpr double kGateLufs = -70.0;
constexpr double kTopLufs = 5.0;
constexpr double kBinLu = 0.01;
constexpr int kBins = static_cast<int>((kTopLufs - kGateLufs) / kBinLu);

double lufs_of(double mean_square) {
  return -0.691 + 10.0 * std::log10(mean_square);
}

}  // namespace

LoudnessMeter::LoudnessMeter(int sample_rate, int channels)
    : channels_(channels),
      sub_block_(std::max(1, sample_rate / 10)),
      shelf_state_(static_cast<size_t>(channels)),
      highpass_state_(static_cast<size_t>(channels)),
      counts_(kBins, 0),
      energies_(kBins, 0.0) {
  // BS.1770's K-weighting, designed for `sample_rate` from its analogue prototypes (the
  // standard's 48 kHz coefficients are these at 48 kHz): a high shelf, then a high-pass.
  const double fs = sample_rate;
  {
    const double f0 = 1681.974450955533, gain_db = 3.999843853973347, q = 0.7071752369554196;
    const double k = std::tan(std::numbers::pi * f0 / fs);
    const double vh = std::pow(10.0, gain_db / 20.0);
    const double vb = std::pow(vh, 0.4996667741545416);
    const double a0 = 1.0 + k / q + k * k;
    shelf_ = {(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0,
              (vh - vb * k / q + k * k) / a0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0};
  }
  {
    const double f0 = 38.13547087602444, q = 0.5003270373238773;
    const double k = std::tan(std::numbers::pi * f0 / fs);
    const double a0 = 1.0 + k / q + k * k;
    highpass_ = {1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0};
  }
}

void LoudnessMeter::add(const float* const* planes, int samples) {
  for (int i = 0; i < samples; ++i) {
    for (int c = 0; c < channels_; ++c) {
      const double x = planes[c][i];
      peak_ = std::max(peak_, std::abs(x));
      const double y = run(highpass_, highpass_state_[static_cast<size_t>(c)],
                           run(shelf_, shelf_state_[static_cast<size_t>(c)], x));
      sub_sum_ += y * y;
    }
    if (++sub_fill_ == sub_block_) close_block();
  }
}

// A 100 ms sub-block is complete: with the three before it, a 400 ms gating block.
void LoudnessMeter::close_block() {
  if (++sub_blocks_ >= 4) {
    const double mean =
        (sub_sum_ + last_[0] + last_[1] + last_[2]) / static_cast<double>(4 * sub_block_);
    const double l = mean > 0 ? lufs_of(mean) : kGateLufs - 1;
    if (l > kGateLufs) {
      const int bin = std::min(kBins - 1, static_cast<int>((l - kGateLufs) / kBinLu));
      ++counts_[static_cast<size_t>(bin)];
      energies_[static_cast<size_t>(bin)] += mean;
    }
  }
  last_[2] = last_[1];
  last_[1] = last_[0];
  last_[0] = sub_sum_;
  sub_sum_ = 0;
  sub_fill_ = 0;
}

std::optional<double> LoudnessMeter::integrated_lufs() const {
  // Above the absolute gate: every block in the histogram.
  int64_t n = 0;
  double energy = 0;
  for (int b = 0; b < kBins; ++b) {
    n += counts_[static_cast<size_t>(b)];
    energy += energies_[static_cast<size_t>(b)];
  }
  if (n == 0) return std::nullopt;
  // The relative gate, 10 LU below their mean loudness; blocks at or under it are dropped.
  const double relative = lufs_of(energy / static_cast<double>(n)) - 10.0;
  n = 0;
  energy = 0;
  for (int b = 0; b < kBins; ++b) {
    if (kGateLufs + (b + 1) * kBinLu <= relative) continue;
    n += counts_[static_cast<size_t>(b)];
    energy += energies_[static_cast<size_t>(b)];
  }
  if (n == 0) return std::nullopt;
  return lufs_of(energy / static_cast<double>(n));
}

}  // namespace leancut::media
