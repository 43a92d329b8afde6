#include "interchange/model.h"

#include <gtest/gtest.h>

namespace leancut::interchange {
namespace {

TEST(StandardRate, EditorsDecimalsBecomeNtscRates) {
  EXPECT_EQ(standard_rate(Rational(23976, 1000)), Rational(24000, 1001));
  EXPECT_EQ(standard_rate(Rational(2398, 100)), Rational(24000, 1001));
  EXPECT_EQ(standard_rate(Rational(2997, 100)), Rational(30000, 1001));
  EXPECT_EQ(standard_rate(Rational(5994, 100)), Rational(60000, 1001));
  EXPECT_EQ(standard_rate(Rational(47952, 1000)), Rational(48000, 1001));
  EXPECT_EQ(standard_rate(Rational(11988, 100)), Rational(120000, 1001));
  // 24000/1001 printed as a double by OTIO's Python: 23.976023976023978.
  EXPECT_EQ(standard_rate(Rational(23976023976023978, 1000000000000000)), Rational(24000, 1001));
  EXPECT_EQ(standard_rate(Rational{25}), Rational{25});
  EXPECT_EQ(standard_rate(Rational(125, 10)), Rational(25, 2));  // 12.5 is not near an NTSC rate
  EXPECT_EQ(standard_rate(Rational{0}), std::nullopt);
  EXPECT_EQ(standard_rate(Rational{-24}), std::nullopt);
}

TEST(Timeline, DurationIsTheLongestTrackAndTransitionsAddNothing) {
  Timeline t;
  Track v;
  Clip a;
  a.source_range = {Rational{0}, Rational{2}};
  Clip b;
  b.source_range = {Rational{10}, Rational{11}};
  v.items = {
      a,
      Transition{Transition::Kind::Dissolve, "SMPTE_Dissolve", Rational{1, 2}, Rational{1, 2}, "t"},
      b, Gap{Rational{1, 3}, "g"}};
  t.video.push_back(v);
  Track audio;
  audio.kind = Track::Kind::Audio;
  audio.items = {Gap{Rational{3}, "g"}};
  t.audio.push_back(audio);
  EXPECT_EQ(t.video[0].duration(), Rational(10, 3));
  EXPECT_EQ(t.duration(), Rational(10, 3));
  EXPECT_EQ(t.item_count(), 5u);
  EXPECT_EQ(t.clips().size(), 2u);
}

}  // namespace
}  // namespace leancut::interchange
