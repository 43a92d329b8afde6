#include "interchange/otio.h"

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

ReadResult read_sample(const std::string& name, const std::string& base_dir = "/base") {
  return read_otio(read_text(sample(name)), base_dir);
}

TEST(Otio, ReadsTwoVideoTracksAndAnAudioTrackExactly) {
  ReadResult r = read_sample("two_tracks.otio");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.problems));
  const Timeline& t = *r.timeline;
  EXPECT_EQ(t.name, "two tracks");
  EXPECT_EQ(t.rate, Rational{24});
  EXPECT_EQ(t.global_start, Rational{3600});  // 86400.0 frames at 24.0
  ASSERT_EQ(t.video.size(), 2u);
  ASSERT_EQ(t.audio.size(), 1u);
  EXPECT_EQ(t.item_count(), 9u);

  const auto& v1 = t.video[0].items;
  ASSERT_EQ(v1.size(), 6u);
  const Clip& a = std::get<Clip>(v1[0]);
  EXPECT_EQ(a.name, "A");
  EXPECT_EQ(a.origin, "tracks.children[0].children[0]");
  EXPECT_EQ(a.source_range, (TimeRange{Rational{10, 24}, Rational{58, 24}}));
  EXPECT_EQ(a.available_range, (TimeRange{Rational{0}, Rational{100, 24}}));
  EXPECT_EQ(a.written_path, "media/a.mov");
  EXPECT_EQ(a.media_path, "/base/media/a.mov");
  EXPECT_EQ(a.effect.kind, TimeEffect::Kind::None);

  const Transition& dissolve = std::get<Transition>(v1[1]);
  EXPECT_EQ(dissolve.written_as, "SMPTE_Dissolve");
  EXPECT_EQ(dissolve.in_offset, Rational(1, 4));
  EXPECT_EQ(dissolve.out_offset, Rational(1, 4));
  EXPECT_EQ(dissolve.origin, "tracks.children[0].children[1]");

  const Clip& b = std::get<Clip>(v1[2]);  // Clip.2: the DEFAULT_MEDIA reference, not the proxy
  EXPECT_EQ(b.written_path, "/Volumes/Show/b take.mov");
  EXPECT_EQ(b.media_text, "file:///Volumes/Show/b%20take.mov");
  EXPECT_EQ(b.source_range, (TimeRange{Rational{5, 6}, Rational{11, 6}}));
  EXPECT_EQ(b.available_range, (TimeRange{Rational{0}, Rational{200, 24}}));

  EXPECT_EQ(std::get<Gap>(v1[3]).duration, Rational(1, 2));

  const Clip& c = std::get<Clip>(v1[4]);  // LinearTimeWarp 2.0: 1 s in the track, 2 s of media
  EXPECT_EQ(c.effect, (TimeEffect{TimeEffect::Kind::LinearSpeed, Rational{2}}));
  EXPECT_EQ(c.duration(), Rational{1});
  EXPECT_EQ(c.media_range(), (TimeRange{Rational{0}, Rational{2}}));

  const Clip& d = std::get<Clip>(v1[5]);  // FreezeFrame: one picture for half a second
  EXPECT_EQ(d.effect.kind, TimeEffect::Kind::Freeze);
  EXPECT_EQ(d.duration(), Rational(1, 2));
  EXPECT_EQ(d.media_range(), (TimeRange{Rational{5, 24}, Rational{6, 24}}));

  // Transitions add nothing: 48 + 24 + 12 + 24 + 12 frames.
  EXPECT_EQ(t.video[0].duration(), Rational{5});
  EXPECT_EQ(t.video[1].duration(), Rational{6});  // 24 gap + 120 clip
  EXPECT_EQ(std::get<Clip>(t.video[1].items[1]).written_path, "/Volumes/Show/gfx/e.mov");

  const Clip& sound = std::get<Clip>(t.audio[0].items[0]);
  EXPECT_EQ(sound.rate, Rational{48000});
  EXPECT_EQ(sound.source_range, (TimeRange{Rational{5, 12}, Rational{29, 12}}));
  EXPECT_EQ(t.audio[0].duration(), Rational{2});

  EXPECT_EQ(t.duration(), Rational{6});  // the longest track: V2
}

TEST(Otio, NtscRatesWrittenAsFloatsBecomeExact) {
  ReadResult r = read_sample("ntsc.otio");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.problems));
  const Timeline& t = *r.timeline;
  EXPECT_EQ(t.rate, Rational(24000, 1001));  // no global_start_time: the first clip's rate
  EXPECT_EQ(t.global_start, Rational{0});
  const Clip& shot = std::get<Clip>(t.video[0].items[0]);
  EXPECT_EQ(shot.rate, Rational(24000, 1001));
  EXPECT_EQ(shot.source_range.start, Rational(1001 * 1001, 24000));
  EXPECT_EQ(shot.duration(), Rational(1001 * 1001, 24000));
  EXPECT_EQ(shot.written_path, "/elsewhere/shot#1.mov");
  // A disabled clip keeps its place as a gap; its MissingReference is not media to find.
  EXPECT_EQ(std::get<Gap>(t.video[0].items[1]).duration, Rational(1001, 24000));
  EXPECT_EQ(t.clips().size(), 1u);
  EXPECT_EQ(t.duration(), Rational(1001 * 1002, 24000));
}

TEST(Otio, EveryUnsupportedObjectIsNamedWithItsPathAtOnce) {
  ReadResult r = read_sample("unsupported.otio");
  EXPECT_FALSE(r.ok());
  const std::string at = "tracks.children[0].children";
  EXPECT_THAT(
      messages(r.problems),
      ElementsAre(at + "[0].media_references.DEFAULT_MEDIA: unsupported media reference "
                       "\"GeneratorReference.1\" (ExternalReference.1 and MissingReference.1 are "
                       "supported)",
                  HasSubstr(at + "[1]: unsupported \"Stack.1\" nested inside a track"),
                  HasSubstr(at + "[2].media_reference: unsupported media reference "
                                 "\"ImageSequenceReference.1\""),
                  at + "[2].effects[0]: unsupported effect \"Effect.1\" (effect_name \"Blur\"); "
                       "LinearTimeWarp.1 and FreezeFrame.1 are supported",
                  at + "[3].transition_type: unsupported transition \"Custom_Transition\" (only "
                       "SMPTE_Dissolve is supported)",
                  at + "[4].source_range.start_time.rate: must be positive, got 0"));
}

TEST(Otio, SyntaxErrorsNameLineAndColumn) {
  ReadResult r = read_otio("{\n  \"OTIO_SCHEMA\": \"Timeline.1\",\n  \"tracks\": [\n}", "/");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_THAT(r.problems[0].message, HasSubstr("line 4, column 1"));
}

TEST(Otio, TheDocumentMustBeATimeline) {
  ReadResult r = read_otio(R"({"OTIO_SCHEMA": "SerializableCollection.1", "children": []})", "/");
  EXPECT_THAT(messages(r.problems),
              ElementsAre("the document must be a Timeline.1, got \"SerializableCollection.1\""));
}

std::string one_track(const std::string& children) {
  return R"({"OTIO_SCHEMA": "Timeline.1", "tracks": {"OTIO_SCHEMA": "Stack.1", "children": [
    {"OTIO_SCHEMA": "Track.1", "kind": "Video", "children": [)" +
         children + "]}]}}";
}
std::string range(int start, int duration, const std::string& rate = "24") {
  return R"({"OTIO_SCHEMA": "TimeRange.1", "start_time": {"OTIO_SCHEMA": "RationalTime.1", "rate": )" +
         rate + ", \"value\": " + std::to_string(start) +
         R"(}, "duration": {"OTIO_SCHEMA": "RationalTime.1", "rate": )" + rate +
         ", \"value\": " + std::to_string(duration) + "}}";
}
std::string clip(int start, int duration, const std::string& avail = "null") {
  return R"({"OTIO_SCHEMA": "Clip.1", "name": "c", "source_range": )" + range(start, duration) +
         R"(, "media_reference": {"OTIO_SCHEMA": "ExternalReference.1", "target_url": "x.mov",
            "available_range": )" +
         avail + "}}";
}
std::string dissolve(int in, int out) {
  return R"({"OTIO_SCHEMA": "Transition.1", "transition_type": "SMPTE_Dissolve",
     "in_offset": {"OTIO_SCHEMA": "RationalTime.1", "rate": 24, "value": )" +
         std::to_string(in) + R"(}, "out_offset": {"OTIO_SCHEMA": "RationalTime.1", "rate": 24,
     "value": )" +
         std::to_string(out) + "}}";
}

TEST(Otio, TransitionNeedsNeighboursAndHandles) {
  // The outgoing clip has media to frame 50; it shows to 48 and the dissolve needs 6 more.
  ReadResult r = read_otio(one_track(clip(0, 48, range(0, 50)) + "," + dissolve(4, 6) + "," +
                                     clip(2, 24, range(0, 100))),
                           "/");
  EXPECT_THAT(
      messages(r.problems),
      ElementsAre(
          HasSubstr("tracks.children[0].children[0]: needs media up to 2.25s (54 frames) but its "
                    "media ends at 2.0833s (50 frames) (the transition "
                    "tracks.children[0].children[1] to tracks.children[0].children[2] \"c\""),
          HasSubstr("tracks.children[0].children[2]: needs media from -0.0833s (-2 frames) but "
                    "its media starts at 0s (0 frames)")));

  ReadResult edge = read_otio(one_track(dissolve(1, 1) + "," + clip(0, 24)), "/");
  EXPECT_THAT(messages(edge.problems),
              ElementsAre("tracks.children[0].children[0]: a transition needs an item on both "
                          "sides; this one is at the start of its track"));

  ReadResult too_long =
      read_otio(one_track(clip(0, 4) + "," + dissolve(6, 1) + "," + clip(0, 24)), "/");
  EXPECT_THAT(messages(too_long.problems),
              ElementsAre(HasSubstr("in_offset 0.25s is longer than the item before it")));
}

TEST(Otio, ClipWithoutSourceRangeUsesItsAvailableRange) {
  ReadResult r = read_otio(one_track(R"({"OTIO_SCHEMA": "Clip.1", "media_reference":
      {"OTIO_SCHEMA": "ExternalReference.1", "target_url": "x.mov", "available_range": )" +
                                     range(12, 36) + "}}"),
                           "/");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r.problems));
  EXPECT_EQ(std::get<Clip>(r.timeline->video[0].items[0]).source_range,
            (TimeRange{Rational{1, 2}, Rational{2}}));
}

TEST(Otio, TrackTrimsAreRefusedButAnUntrimmingSourceRangeIsFine) {
  auto with_track_range = [](const std::string& r) {
    return R"({"OTIO_SCHEMA": "Timeline.1", "tracks": {"OTIO_SCHEMA": "Stack.1", "children": [
      {"OTIO_SCHEMA": "Track.1", "kind": "Video", "source_range": )" +
           r + R"(, "children": [)" + clip(0, 48) + "]}]}}";
  };
  EXPECT_TRUE(read_otio(with_track_range(range(0, 48)), "/").ok());
  ReadResult trimmed = read_otio(with_track_range(range(12, 24)), "/");
  EXPECT_THAT(messages(trimmed.problems),
              ElementsAre(HasSubstr("tracks.children[0].source_range: a source_range that trims "
                                    "a track or stack is not supported")));
}

TEST(Otio, AnEmptyTimelineIsAProblem) {
  ReadResult r = read_otio(one_track(""), "/");
  EXPECT_THAT(messages(r.problems),
              ElementsAre("tracks: the timeline has no clips: nothing to play"));
}

TEST(Otio, RatesThatCannotBeSummedExactlyAreAProblemNotACrash) {
  // Four clips at rates whose numerators share no factor: the sum's denominator passes 2^60.
  std::string clips;
  for (const char* rate : {"999.983", "999.979", "999.961", "999.959", "999.953"}) {
    if (!clips.empty()) clips += ",";
    clips += R"({"OTIO_SCHEMA": "Clip.1", "source_range": )" + range(1, 999999999, rate) +
             R"(, "media_reference": null})";
  }
  ReadResult r = read_otio(one_track(clips), "/");
  EXPECT_THAT(messages(r.problems),
              ElementsAre(HasSubstr(": its times cannot be summed exactly with the rest of its "
                                    "track")));
}

TEST(Otio, PathFromUrl) {
  EXPECT_EQ(path_from_url("file:///a/b%20c.mov").value(), "/a/b c.mov");
  EXPECT_EQ(path_from_url("file://localhost/a.mov").value(), "/a.mov");
  EXPECT_EQ(path_from_url("file:/a.mov").value(), "/a.mov");
  EXPECT_EQ(path_from_url("clips/a.mov").value(), "clips/a.mov");
  EXPECT_EQ(path_from_url("/abs/a.mov").value(), "/abs/a.mov");
  EXPECT_EQ(path_from_url("file:///C:/media/a.mov").value(), "C:/media/a.mov");
  EXPECT_EQ(path_from_url("C:/media/a.mov").value(), "C:/media/a.mov");
  EXPECT_EQ(path_from_url("https://cdn/a.mov").error().code, ErrorCode::Unsupported);
  EXPECT_EQ(path_from_url("file://server/a.mov").error().code, ErrorCode::Unsupported);
  EXPECT_EQ(path_from_url("file:///a%2.mov").error().code, ErrorCode::InvalidInput);
}

}  // namespace
}  // namespace leancut::interchange
