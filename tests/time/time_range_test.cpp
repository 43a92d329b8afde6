#include "time/time_range.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace leancut {
namespace {

const Rational kNtsc{30000, 1001};

TEST(TimeRange, HalfOpenBasics) {
  TimeRange shot{Rational{3, 2}, Rational{3}};
  EXPECT_EQ(shot.duration(), Rational(3, 2));
  EXPECT_FALSE(shot.empty());
  EXPECT_TRUE((TimeRange{Rational{3}, Rational{3}}).empty());
  EXPECT_TRUE((TimeRange{Rational{3}, Rational{2}}).empty());
}

TEST(TimeRange, FrameCountFollowsTheRoundingRule) {
  EXPECT_EQ(frame_count({Rational{3, 2}, Rational{3}}, Rational{30}), 45);
  EXPECT_EQ(frame_count({Rational{0}, Rational{1}}, kNtsc), 30);  // round(29.97)
  EXPECT_EQ(frame_count({Rational{0}, Rational{2}}, kNtsc), 60);  // round(59.94)
  // [1/60, 3/60) at 30 fps: round(0.5) = 1, round(1.5) = 2.
  EXPECT_EQ(frame_count({Rational{1, 60}, Rational{3, 60}}, Rational{30}), 1);
  // A range shorter than a frame may have no frame, or one.
  EXPECT_EQ(frame_count({Rational{0}, Rational{1, 61}}, Rational{30}), 0);
  EXPECT_EQ(frame_count({Rational{1, 61}, Rational{2, 61}}, Rational{30}), 1);
  EXPECT_EQ(frame_count({Rational{0}, Rational{0}}, Rational{30}), 0);
}

TEST(TimeRange, FrameIndexRoundsHalvesAwayFromZero) {
  EXPECT_EQ(frame_index_at(Rational{1, 60}, Rational{30}), 1);
  EXPECT_EQ(frame_index_at(Rational{-1, 60}, Rational{30}), -1);
  EXPECT_EQ(frame_index_at(Rational{1, 61}, Rational{30}), 0);
  EXPECT_EQ(frame_index_at(Rational{1001, 30000}, kNtsc), 1);
  EXPECT_EQ(frame_index_at(Rational{3, 2}, Rational{24000, 1001}), 36);  // 35.96
}

TEST(TimeRange, FrameTimeIsTheInverseOnTheGrid) {
  EXPECT_EQ(frame_time(45, Rational{30}), Rational(3, 2));
  EXPECT_EQ(frame_time(1, kNtsc), Rational(1001, 30000));
  EXPECT_EQ(frame_time(-3, Rational{30}), Rational(-1, 10));
  for (int64_t i = -100; i < 100000; i += 7)
    ASSERT_EQ(frame_index_at(frame_time(i, kNtsc), kNtsc), i);
}

TEST(TimeRange, SampleAt) {
  EXPECT_EQ(sample_at(Rational{1, 30}, 48000), 1600);
  EXPECT_EQ(sample_at(frame_time(1, kNtsc), 48000), 1602);  // 1601.6
  EXPECT_EQ(sample_at(frame_time(5, kNtsc), 48000), 8008);
  EXPECT_EQ(sample_at(Rational{1, 88200}, 44100), 1);  // half a sample rounds up
}

TEST(TimeRange, ExactWhenTheUnreducedProductExceeds64Bits) {
  // 1/big * 30000/1001 as a reduced Rational would overflow its denominator; rounding it does not.
  const Rational tiny{1, 4611686018427387847};
  EXPECT_EQ(frame_index_at(tiny, kNtsc), 0);
  EXPECT_EQ(frame_count({tiny, Rational{1}}, kNtsc), 30);
  EXPECT_EQ(sample_at(Rational{4611686018427387847, 3}, 3), 4611686018427387847);
}

using TimeRangeDeathTest = ::testing::Test;
TEST_F(TimeRangeDeathTest, ChecksOverflow) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_DEATH((void)frame_index_at(Rational{max}, Rational{2}), "check failed");
  EXPECT_DEATH((void)frame_count({Rational{-max}, Rational{max}}, Rational{1}), "check failed");
  EXPECT_DEATH((void)frame_time(1, Rational{0}), "check failed");
}

// Random cut points t0 < t1 < ... < t5000: summing frame_count over the consecutive ranges
// telescopes to frame_count of their union, whatever the rate. The same holds for samples.
TEST(TimeRange, FrameCountTelescopesOver5000RandomRanges) {
  std::mt19937_64 rng(2024);
  const Rational rates[] = {Rational{30},          kNtsc,
                            Rational{24000, 1001}, Rational{25},
                            Rational{60000, 1001}, Rational{2997, 125},
                            Rational{48000}};
  std::uniform_int_distribution<int64_t> den_dist(1, 1000000);
  for (Rational rate : rates) {
    // Independent random points (a running sum would grow its denominator past 64 bits),
    // sorted; denominators up to 10^6 put cuts anywhere between frame boundaries.
    std::vector<Rational> cuts;
    while (cuts.size() < 5001) {
      int64_t den = den_dist(rng);
      std::uniform_int_distribution<int64_t> num_dist(0, 3600 * den);
      cuts.emplace_back(num_dist(rng), den);
      if (cuts.size() == 5001) {
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
      }
    }
    int64_t sum = 0;
    int64_t samples = 0;
    int64_t previous_frames_end = frame_index_at(cuts.front(), rate);
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      TimeRange range{cuts[i], cuts[i + 1]};
      int64_t n = frame_count(range, rate);
      ASSERT_GE(n, 0);
      // Never more than one frame away from duration * rate.
      Rational exact = range.duration() * rate;
      ASSERT_LE(Rational(n) - exact, Rational(1));
      ASSERT_LE(exact - Rational(n), Rational(1));
      sum += n;
      // Audio follows the output frame boundaries, so it telescopes too.
      int64_t frames_end = previous_frames_end + n;
      samples += sample_at(frame_time(frames_end, rate), 48000) -
                 sample_at(frame_time(previous_frames_end, rate), 48000);
      previous_frames_end = frames_end;
    }
    TimeRange all{cuts.front(), cuts.back()};
    EXPECT_EQ(sum, frame_count(all, rate)) << rate.to_string();
    EXPECT_EQ(samples, sample_at(frame_time(frame_index_at(cuts.back(), rate), rate), 48000) -
                           sample_at(frame_time(frame_index_at(cuts.front(), rate), rate), 48000))
        << rate.to_string();
  }
}

}  // namespace
}  // namespace leancut
