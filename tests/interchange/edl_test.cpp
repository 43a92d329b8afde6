#include "interchange/edl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "interchange/helpers.h"

namespace leancut::interchange {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::messages;
using testing::read_text;
using testing::sample;

ReadResult read_sample(const std::string& name, Rational fps) {
  return read_edl(read_text(sample(name)), EdlOptions{fps}, "/base");
}

TEST(Edl, CutsDissolveBlackSpeedAndAudioOnlyAt24) {
  ReadResult r = read_sample("cuts_24.edl", Rational{24});
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.problems));
  const Timeline& t = *r.timeline;
  EXPECT_EQ(t.name, "LEANCUT SAMPLE 24");
  EXPECT_EQ(t.rate, Rational{24});
  EXPECT_FALSE(t.drop_frame);
  EXPECT_EQ(t.global_start, Rational{3600});  // the first record in, 01:00:00:00
  ASSERT_EQ(t.video.size(), 1u);
  ASSERT_EQ(t.audio.size(), 1u);

  const auto& v = t.video[0].items;
  ASSERT_EQ(v.size(), 10u);
  const Clip& a = std::get<Clip>(v[0]);
  EXPECT_EQ(a.reel, "TAPE_A");
  EXPECT_EQ(a.clip_name, "a.mov");
  EXPECT_EQ(a.origin, "event 1 (line 4)");
  EXPECT_EQ(a.source_range, (TimeRange{Rational{3610}, Rational{3612}}));  // 01:00:10:00 + 2 s
  const Clip& b = std::get<Clip>(v[1]);
  EXPECT_EQ(b.source_range, (TimeRange{Rational{7200}, Rational{7200} + Rational{3, 2}}));

  // Event 3: the zero-length B line marks the cut; the dissolve covers C's first 12 frames while
  // B runs on under it.
  const Transition& d = std::get<Transition>(v[2]);
  EXPECT_EQ(d.written_as, "D");
  EXPECT_EQ(d.in_offset, Rational{0});
  EXPECT_EQ(d.out_offset, Rational(1, 2));
  EXPECT_EQ(d.origin, "event 3 (line 9)");
  const Clip& c = std::get<Clip>(v[3]);
  EXPECT_EQ(c.reel, "TAPE_C");
  EXPECT_EQ(c.clip_name, "c.mov");  // TO CLIP NAME names the incoming side
  EXPECT_EQ(c.source_range, (TimeRange{Rational{5}, Rational{7}}));

  EXPECT_EQ(std::get<Gap>(v[4]).duration, Rational{1});  // BL
  const Clip& fast = std::get<Clip>(v[5]);               // M2 TAPE_A 048.0 at 24 fps: 2x
  EXPECT_EQ(fast.effect, (TimeEffect{TimeEffect::Kind::LinearSpeed, Rational{2}}));
  EXPECT_EQ(fast.duration(), Rational{1});
  EXPECT_EQ(fast.media_range(), (TimeRange{Rational{3620}, Rational{3622}}));
  EXPECT_EQ(std::get<Clip>(v[6]).name, "TAPE_D");  // no clip name: the reel names it

  const Transition& wipe = std::get<Transition>(v[8]);
  EXPECT_EQ(wipe.written_as, "W001");
  EXPECT_EQ(wipe.kind, Transition::Kind::Dissolve);
  EXPECT_EQ(wipe.out_offset, Rational(1, 4));
  EXPECT_THAT(messages(r.notes), ElementsAre("event 9 (line 21): wipe W001 is read as a dissolve"));

  // 48 + 36 + 48 + 24 (black) + 24 + 12 + 24 + 24 frames = 10 s.
  EXPECT_EQ(t.video[0].duration(), Rational{10});
  // Audio-only event 6 at 01:00:08:00: 8 s of gap, then 4 s of music.
  const auto& a1 = t.audio[0].items;
  ASSERT_EQ(a1.size(), 2u);
  EXPECT_EQ(std::get<Gap>(a1[0]).duration, Rational{8});
  EXPECT_EQ(std::get<Clip>(a1[1]).clip_name, "music.wav");
  EXPECT_EQ(t.duration(), Rational{12});
  EXPECT_EQ(t.item_count(), 12u);
}

TEST(Edl, DropFrameAt2997) {
  ReadResult r = read_sample("df_2997.edl", Rational(30000, 1001));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.problems));
  const Timeline& t = *r.timeline;
  EXPECT_TRUE(t.drop_frame);
  const Rational fps{30000, 1001};
  // 01:00:00;00 is frame 107892 in drop-frame (60 minutes less 54 x 2 dropped labels).
  EXPECT_EQ(t.global_start, Rational{107892} / fps);
  // 00:00:59;28 .. 00:01:00;04 is 4 frames: ;00 and ;01 of minute 1 do not exist.
  const Clip& one = std::get<Clip>(t.video[0].items[0]);
  EXPECT_EQ(one.source_range.start, Rational{1798} / fps);
  EXPECT_EQ(one.duration(), Rational{4} / fps);
  // Minute 10 keeps its ;00: 00:09:59;29 .. 00:10:00;01 is 2 frames. AA/V: video and two audio.
  const Clip& two = std::get<Clip>(t.video[0].items[1]);
  EXPECT_EQ(two.source_range.start, Rational{17981} / fps);
  EXPECT_EQ(two.duration(), Rational{2} / fps);
  ASSERT_EQ(t.audio.size(), 2u);
  EXPECT_EQ(std::get<Gap>(t.audio[1].items[0]).duration, Rational{4} / fps);
  EXPECT_EQ(t.duration(), Rational{6} / fps);
}

TEST(Edl, NonDropAt25WithBothTracks) {
  ReadResult r = read_sample("ndf_25.edl", Rational{25});
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.problems));
  const Timeline& t = *r.timeline;
  EXPECT_EQ(t.global_start, Rational{36000});
  ASSERT_EQ(t.video[0].items.size(), 3u);  // B event, 1-frame gap, event 2
  EXPECT_EQ(std::get<Clip>(t.video[0].items[0]).duration(), Rational(124, 25));
  EXPECT_EQ(std::get<Gap>(t.video[0].items[1]).duration, Rational(1, 25));
  ASSERT_EQ(t.audio.size(), 1u);
  EXPECT_EQ(t.audio[0].duration(), Rational(124, 25));
  EXPECT_EQ(t.duration(), Rational{6});
}

TEST(Edl, EveryProblemNamesItsEvent) {
  ReadResult r = read_sample("bad_24.edl", Rational{24});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(
      messages(r.problems),
      ElementsAre(
          "event 2 (line 4): source in \"00:00:00:25\": frame 25 is out of range at 24 fps (00 "
          "to 23)",
          "event 2 (line 4): source out \"00:00:01:25\": frame 25 is out of range at 24 fps (00 "
          "to 23)",
          HasSubstr("event 3 (line 5): unsupported transition type \"K\""),
          "event 4 (line 6): record in overlaps event 1 on track V by 12 frames",
          HasSubstr("event 5 (line 7): unknown track \"Q\"")));
}

TEST(Edl, DroppedLabelAndDropFrameAtTheWrongRate) {
  const std::string edl =
      "FCM: DROP FRAME\n"
      "001  R  V  C  00:01:00;00 00:01:00;10 01:00:00;00 01:00:00;08\n";
  ReadResult r = read_edl(edl, EdlOptions{Rational{30000, 1001}}, "/");
  EXPECT_THAT(messages(r.problems),
              ElementsAre(HasSubstr("event 1 (line 2): source in \"00:01:00;00\" does not exist")));
  ReadResult at24 = read_edl(edl, EdlOptions{Rational{24}}, "/");
  EXPECT_THAT(messages(at24.problems),
              ::testing::Contains(HasSubstr("line 1: FCM: DROP FRAME exists only at 29.97")));
}

TEST(Edl, SpeedZeroFreezesAndReverseIsRefused) {
  const std::string edl =
      "001  R  V  C  00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00\n"
      "M2   R       000.0                00:00:00:00\n"
      "002  S  V  C  00:00:00:00 00:00:01:00 01:00:01:00 01:00:02:00\n"
      "M2   S       -024.0               00:00:00:00\n";
  ReadResult r = read_edl(edl, EdlOptions{Rational{24}}, "/");
  EXPECT_THAT(messages(r.problems),
              ElementsAre("event 2 (line 4): reverse playback (a negative M2 speed) is not "
                          "supported"));
  ReadResult ok = read_edl(edl.substr(0, edl.find("002")), EdlOptions{Rational{24}}, "/");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(std::get<Clip>(ok.timeline->video[0].items[0]).effect.kind, TimeEffect::Kind::Freeze);
}

TEST(Edl, DissolveFromBlackAtTheStart) {
  const std::string edl =
      "001  BL  V  C       00:00:00:00 00:00:00:00 01:00:00:00 01:00:00:00\n"
      "001  R   V  D  024  00:00:10:00 00:00:12:00 01:00:00:00 01:00:02:00\n";
  ReadResult r = read_edl(edl, EdlOptions{Rational{24}}, "/");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.problems));
  const auto& v = r.timeline->video[0].items;
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(std::get<Gap>(v[0]).duration, Rational{0});
  EXPECT_EQ(std::get<Transition>(v[1]).out_offset, Rational{1});
  EXPECT_EQ(r.timeline->duration(), Rational{2});
}

}  // namespace
}  // namespace leancut::interchange
