// Lowering the editorial model into a blueprint: frame-exact boundaries, gaps and slates as colour
// shots, speed and freeze, transitions refused or cut at their centre, one video track.
#include "interchange/lower.h"

// GCC 12 warns that a moved std::variant<Clip, Gap, Transition> temporary "may be used
// uninitialized" (a known false positive with -O2 variant moves); the items here are complete.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "blueprint/parse.h"
#include "interchange/helpers.h"
#include "time/time_range.h"

namespace leancut::interchange {
namespace {

using ::testing::HasSubstr;
using testing::messages;

Clip clip(const std::string& name, Rational start, Rational duration, std::string origin) {
  Clip c;
  c.name = name;
  c.media_path = "/media/" + name + ".mov";
  c.source_range = {start, start + duration};
  c.origin = std::move(origin);
  return c;
}

Gap gap(Rational duration, std::string origin) {
  return Gap{duration, std::move(origin)};
}

Transition dissolve(Rational in_offset, Rational out_offset, std::string origin) {
  return Transition{Transition::Kind::Dissolve, "SMPTE_Dissolve", in_offset, out_offset,
                    std::move(origin)};
}

Timeline one_track(std::vector<Item> items, Rational rate = Rational{24}) {
  Timeline t;
  t.rate = rate;
  Track v;
  v.name = "V1";
  v.origin = "tracks.children[0]";
  v.items = std::move(items);
  t.video.push_back(std::move(v));
  return t;
}

LowerOptions at(Rational fps) {
  LowerOptions o;
  o.output.fps = fps;
  o.output.width = 1920;
  o.output.height = 1080;
  return o;
}

// What the engine will make of a shot: round(out × fps/s) − round(in × fps/s) frames.
int64_t engine_frames(const blueprint::Shot& s, Rational fps) {
  if (s.color) return frame_index_at(s.duration, fps);
  const Rational grid = s.freeze ? fps : fps / s.speed;
  return frame_count(TimeRange{std::get<Rational>(s.in), std::get<Rational>(s.out)}, grid);
}

int64_t engine_total(const blueprint::Blueprint& bp) {
  int64_t n = 0;
  for (const auto& s : bp.shots) n += engine_frames(s, bp.output.fps);
  return n;
}

TEST(Lower, ClipsAndGapsBecomeShotsAndBlack) {
  Timeline t = one_track({clip("a", Rational{10, 24}, Rational{2}, "c0"), gap(Rational{1}, "c1"),
                          clip("b", Rational{0}, Rational{1, 2}, "c2")});
  Lowered l = lower(t, at(Rational{24}));
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l.problems));
  const auto& shots = l.blueprint->shots;
  ASSERT_EQ(shots.size(), 3u);
  EXPECT_EQ(shots[0].source, "/media/a.mov");
  EXPECT_EQ(std::get<Rational>(shots[0].in), (Rational{10, 24}));
  EXPECT_EQ(std::get<Rational>(shots[0].out), (Rational{10, 24} + Rational{2}));
  ASSERT_TRUE(shots[1].color.has_value());
  EXPECT_EQ(*shots[1].color, (blueprint::Rgb{0, 0, 0}));
  EXPECT_EQ(shots[1].duration, Rational{1});
  EXPECT_EQ(l.shot_origins, (std::vector<std::string>{"c0", "c1", "c2"}));
  EXPECT_EQ(l.frames, 84);
  EXPECT_EQ(engine_total(*l.blueprint), 84);
  // What lowering makes is a blueprint by the parser's rules too (written and read back).
  blueprint::ParseResult again = blueprint::parse_blueprint(blueprint::to_json(*l.blueprint), "/");
  EXPECT_TRUE(again.ok()) << (again.diagnostics.empty() ? "" : again.diagnostics[0].to_string());
}

// 5 frames at 24 fps are 6.25 frames at 30: boundaries on the output grid keep the total at
// round(duration × 30) however the items fall between frames.
TEST(Lower, FrameCountIsExactAtAnotherRate) {
  std::vector<Item> items;
  for (int i = 0; i < 7; ++i) {
    items.push_back(
        clip("c" + std::to_string(i), Rational{i, 24}, Rational{5, 24}, "c" + std::to_string(i)));
  }
  Timeline t = one_track(std::move(items));
  for (Rational fps : {Rational{30}, Rational{25}, Rational{30000, 1001}, Rational{60}}) {
    Lowered l = lower(t, at(fps));
    ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l.problems));
    const int64_t expected = frame_index_at(t.duration(), fps);
    EXPECT_EQ(l.frames, expected) << fps.to_string();
    EXPECT_EQ(engine_total(*l.blueprint), expected) << fps.to_string();
  }
}

TEST(Lower, SpeedReadsMoreMediaAndFreezeHolds) {
  Clip fast = clip("fast", Rational{1}, Rational{1}, "c0");
  fast.effect = {TimeEffect::Kind::LinearSpeed, Rational{2}};
  Clip still = clip("still", Rational{3}, Rational{1, 2}, "c1");
  still.effect = {TimeEffect::Kind::Freeze, Rational{1}};
  Lowered l = lower(one_track({fast, still}), at(Rational{24}));
  ASSERT_TRUE(l.ok());
  const auto& s = l.blueprint->shots;
  EXPECT_EQ(s[0].speed, Rational{2});
  EXPECT_EQ(std::get<Rational>(s[0].in), Rational{1});
  EXPECT_EQ(std::get<Rational>(s[0].out), Rational{3});
  EXPECT_TRUE(s[1].freeze);
  EXPECT_EQ(std::get<Rational>(s[1].in), Rational{3});
  EXPECT_EQ(std::get<Rational>(s[1].out), (Rational{7, 2}));
  EXPECT_EQ(engine_total(*l.blueprint), 36);
}

TEST(Lower, MediaTimeCountsFromTheAvailableRangeStart) {
  Clip c = clip("a", Rational{86400 + 48, 24}, Rational{1}, "c0");
  c.available_range = TimeRange{Rational{86400, 24}, Rational{86400 + 240, 24}};
  Lowered l = lower(one_track({c}), at(Rational{24}));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(std::get<Rational>(l.blueprint->shots[0].in), Rational{2});
}

TEST(Lower, MissingMediaBecomesAGreySlate) {
  Clip c = clip("lost", Rational{0}, Rational{1}, "c0");
  c.media_path.clear();
  c.media_missing = true;
  Lowered l = lower(one_track({c}), at(Rational{24}));
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(l.blueprint->shots[0].color.has_value());
  EXPECT_EQ(*l.blueprint->shots[0].color, kSlateColour);
  EXPECT_EQ(l.blueprint->shots[0].color_text, "#404040");
  EXPECT_EQ(l.blueprint->shots[0].duration, Rational{1});
}

TEST(Lower, TransitionsAreRefusedNamingBothClips) {
  Timeline t = one_track({clip("A", Rational{0}, Rational{2}, "c0"),
                          dissolve(Rational{6, 24}, Rational{6, 24}, "c1"),
                          clip("B", Rational{1}, Rational{1}, "c2")});
  LowerOptions o = at(Rational{24});
  o.transitions = TransitionPolicy::Refuse;
  Lowered l = lower(t, o);
  ASSERT_FALSE(l.ok());
  ASSERT_EQ(l.problems.size(), 1u);
  EXPECT_EQ(l.problems[0].origin, "c1");
  EXPECT_THAT(l.problems[0].message, HasSubstr("clip \"A\" (c0) and clip \"B\" (c2)"));
  EXPECT_THAT(l.problems[0].message, HasSubstr("--transitions cut"));
}

// By default a dissolve stays a dissolve: the cut does not move, and the shot after it carries
// the transition with OTIO's offsets (the engine reads the handles on both sides).
TEST(Lower, DissolvesBecomeBlueprintTransitions) {
  Timeline t = one_track({clip("A", Rational{0}, Rational{2}, "c0"),
                          dissolve(Rational{6, 24}, Rational{6, 24}, "c1"),
                          clip("B", Rational{1}, Rational{1}, "c2")});
  Lowered l = lower(t, at(Rational{24}));
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l.problems));
  const auto& s = l.blueprint->shots;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(std::get<Rational>(s[0].out), Rational{2});
  EXPECT_EQ(std::get<Rational>(s[1].in), Rational{1});
  EXPECT_FALSE(s[0].transition);
  ASSERT_TRUE(s[1].transition);
  EXPECT_EQ(s[1].transition->kind, blueprint::TransitionKind::Dissolve);
  EXPECT_EQ(s[1].transition->before, (Rational{6, 24}));
  EXPECT_EQ(s[1].transition->after, (Rational{6, 24}));
  EXPECT_EQ(engine_total(*l.blueprint), 72);
}

// An EDL dissolve (in_offset 0, out_offset 12 frames): the cut moves to its centre, 6 frames
// after the written cut; the outgoing clip runs on into its handle, the incoming one starts later.
TEST(Lower, TransitionsAsCutsSitAtTheirCentre) {
  Timeline t = one_track({clip("A", Rational{0}, Rational{2}, "c0"),
                          dissolve(Rational{0}, Rational{12, 24}, "c1"),
                          clip("B", Rational{1}, Rational{1}, "c2")});
  LowerOptions o = at(Rational{24});
  o.transitions = TransitionPolicy::Cut;
  Lowered l = lower(t, o);
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l.problems));
  const auto& s = l.blueprint->shots;
  EXPECT_EQ(std::get<Rational>(s[0].out), (Rational{2} + Rational{6, 24}));
  EXPECT_EQ(std::get<Rational>(s[1].in), (Rational{1} + Rational{6, 24}));
  EXPECT_EQ(engine_total(*l.blueprint), 72);
  EXPECT_THAT(messages(l.notes), ::testing::Contains(HasSubstr("rendered as a cut")));
}

// V1: A for 2 s; V2 "titles": half a second of gap, then T for 1 s. Top over bottom: A until
// 0.5 s, T until 1.5 s, then A again from where it shows again (1.5 s into its media).
TEST(Lower, SeveralVideoTracksCompositeTopOverBottomUnlessOneIsPicked) {
  Timeline t = one_track({clip("A", Rational{0}, Rational{2}, "c0")});
  Track v2;
  v2.name = "titles";
  v2.origin = "tracks.children[1]";
  v2.items = {gap(Rational{1, 2}, "g"), clip("T", Rational{3}, Rational{1}, "t")};
  t.video.push_back(v2);
  Lowered l = lower(t, at(Rational{24}));
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l.problems));
  const auto& s = l.blueprint->shots;
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].source, "/media/A.mov");
  EXPECT_EQ(std::get<Rational>(s[0].in), Rational{0});
  EXPECT_EQ(std::get<Rational>(s[0].out), (Rational{1, 2}));
  EXPECT_EQ(s[1].source, "/media/T.mov");
  EXPECT_EQ(std::get<Rational>(s[1].in), Rational{3});
  EXPECT_EQ(std::get<Rational>(s[1].out), Rational{4});
  EXPECT_EQ(s[2].source, "/media/A.mov");
  EXPECT_EQ(std::get<Rational>(s[2].in), (Rational{3, 2}));
  EXPECT_EQ(std::get<Rational>(s[2].out), Rational{2});
  EXPECT_EQ(l.shot_origins[1], "t");
  EXPECT_EQ(engine_total(*l.blueprint), 48);
  EXPECT_THAT(messages(l.notes), ::testing::Contains(HasSubstr("composite top over bottom")));

  LowerOptions o = at(Rational{24});
  o.video_track = 2;
  l = lower(t, o);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l.blueprint->shots.size(), 3u);  // black, T, then black to the timeline's end
  EXPECT_TRUE(l.blueprint->shots[0].color.has_value());
  EXPECT_TRUE(l.blueprint->shots[2].color.has_value());
  EXPECT_EQ(engine_total(*l.blueprint), 48);

  o.video_track = 3;
  l = lower(t, o);
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.problems[0].message, HasSubstr("the timeline has 2 video tracks"));
}

// A dissolve on V1 survives where V2 leaves it alone and becomes a cut (with a note) where V2's
// clip covers one of its sides.
TEST(Lower, DissolvesUnderAnUpperTrackSurviveOnlyWhereBothSidesShow) {
  Timeline t = one_track(
      {clip("A", Rational{0}, Rational{2}, "c0"), dissolve(Rational{6, 24}, Rational{6, 24}, "d1"),
       clip("B", Rational{1}, Rational{2}, "c1"), dissolve(Rational{6, 24}, Rational{6, 24}, "d2"),
       clip("C", Rational{1}, Rational{2}, "c2")});
  Track v2;
  v2.origin = "tracks.children[1]";
  v2.items = {gap(Rational{3}, "g"), clip("T", Rational{0}, Rational{2}, "t")};  // 3 s .. 5 s
  t.video.push_back(v2);
  Lowered l = lower(t, at(Rational{24}));
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l.problems));
  const auto& s = l.blueprint->shots;
  // A, B (dissolve d1 kept), B's first second, T (covers B's end, d2 and C's start), C's end.
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[1].source, "/media/B.mov");
  ASSERT_TRUE(s[1].transition);
  EXPECT_EQ(s[1].transition->before, (Rational{6, 24}));
  EXPECT_EQ(s[2].source, "/media/T.mov");
  EXPECT_FALSE(s[2].transition);
  EXPECT_EQ(s[3].source, "/media/C.mov");
  EXPECT_EQ(std::get<Rational>(s[3].in), Rational{2});  // C's media 1 s + the 1 s T covered
  EXPECT_FALSE(s[3].transition);
  EXPECT_THAT(messages(l.notes), ::testing::Contains(HasSubstr("rendered as a cut")));
  EXPECT_EQ(engine_total(*l.blueprint), 144);
}

TEST(Lower, UpperTracksOfGapsOnlyAreFine) {
  Timeline t = one_track({clip("A", Rational{0}, Rational{2}, "c0")});
  Track v2;
  v2.origin = "tracks.children[1]";
  v2.items = {gap(Rational{2}, "g")};
  t.video.push_back(v2);
  EXPECT_TRUE(lower(t, at(Rational{24})).ok());
}

TEST(Lower, AudioTracksBecomeBedsSummedAndTheShotsGoSilent) {
  Timeline t = one_track({clip("v", Rational{0}, Rational{4}, "v0")});
  Track a1;
  a1.kind = Track::Kind::Audio;
  a1.origin = "tracks.children[1]";
  Clip music = clip("music", Rational{30}, Rational{3}, "a1c0");
  music.available_range = TimeRange{Rational{20}, Rational{100}};  // media starts at 20 s
  a1.items = {gap(Rational{1, 2}, "a1g0"), music};
  Track a2;
  a2.kind = Track::Kind::Audio;
  a2.origin = "tracks.children[2]";
  a2.items = {clip("vo", Rational{1}, Rational{2}, "a2c0"),
              dissolve(Rational{1, 24}, Rational{1, 24}, "a2t"), gap(Rational{1}, "a2g"),
              clip("vo2", Rational{5}, Rational{1, 2}, "a2c1")};
  t.audio = {a1, a2};
  Lowered l = lower(t, at(Rational{24}));
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l.problems));
  const auto& beds = l.blueprint->audio;
  ASSERT_EQ(beds.size(), 3u);
  EXPECT_EQ(beds[0].source, "/media/music.mov");
  EXPECT_EQ(beds[0].at, (Rational{1, 2}));
  EXPECT_EQ(beds[0].in, Rational{10});  // 30 s of media time, 20 s into the file
  EXPECT_EQ(beds[0].out, Rational{13});
  EXPECT_EQ(beds[1].at, Rational{0});
  EXPECT_EQ(beds[1].in, Rational{1});
  EXPECT_EQ(beds[1].out, Rational{3});
  EXPECT_EQ(beds[2].at, Rational{3});  // after the clip and the gap; the transition adds nothing
  EXPECT_EQ(beds[2].in, Rational{5});
  EXPECT_EQ(beds[2].out, (Rational{11, 2}));
  ASSERT_EQ(l.blueprint->shots.size(), 1u);
  EXPECT_FALSE(l.blueprint->shots[0].audio);
  EXPECT_THAT(messages(l.notes), ::testing::Contains(HasSubstr("played as a cut")));
  EXPECT_THAT(messages(l.notes),
              ::testing::Contains(HasSubstr("3 audio clips from 2 audio tracks")));
  // The beds survive the blueprint's round trip.
  blueprint::ParseResult again = blueprint::parse_blueprint(blueprint::to_json(*l.blueprint), "/");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.blueprint->audio, beds);
}

TEST(Lower, APictureOnlyCutKeepsTheShotsOwnAudio) {
  Timeline t = one_track({clip("v", Rational{0}, Rational{4}, "v0")});
  Track a1;
  a1.kind = Track::Kind::Audio;
  a1.items = {gap(Rational{4}, "a1g0")};
  t.audio = {a1};
  Lowered l = lower(t, at(Rational{24}));
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l.blueprint->audio.empty());
  EXPECT_TRUE(l.blueprint->shots[0].audio);
}

TEST(Lower, SpeedOnAnAudioClipIsAProblem) {
  Timeline t = one_track({clip("v", Rational{0}, Rational{4}, "v0")});
  Track a1;
  a1.kind = Track::Kind::Audio;
  Clip fast = clip("fast", Rational{0}, Rational{1}, "a1c0");
  fast.effect = {TimeEffect::Kind::LinearSpeed, Rational{2}};
  a1.items = {fast};
  t.audio = {a1};
  Lowered l = lower(t, at(Rational{24}));
  EXPECT_FALSE(l.ok());
  EXPECT_THAT(messages(l.problems), ::testing::Contains(HasSubstr("a1c0: audio clip \"fast\"")));
}

}  // namespace
}  // namespace leancut::interchange
