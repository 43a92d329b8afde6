#include "interchange/conform.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "interchange/edl.h"
#include "interchange/helpers.h"
#include "interchange/otio.h"

namespace leancut::interchange {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::messages;
using testing::read_text;
using testing::sample;
using testing::TempDir;

// two_tracks.otio read as if it lived in `dir`: media/a.mov and media/c.mov are relative to it.
Timeline two_tracks_in(const TempDir& dir) {
  ReadResult r = read_otio(read_text(sample("two_tracks.otio")), dir.path());
  EXPECT_TRUE(r.ok());
  return *r.timeline;
}

std::vector<std::string> media_paths(const Timeline& t) {
  std::vector<std::string> out;
  for (const Clip* c : t.clips()) out.push_back(c->media_path);
  return out;
}

TEST(Conform, RemapRewritesOtherMachinesPaths) {
  TempDir dir;
  dir.touch("media/a.mov");
  dir.touch("media/c.mov");
  auto b = dir.touch("show/b take.mov");
  auto e = dir.touch("show/gfx/e.mov");
  Timeline t = two_tracks_in(dir);
  ConformOptions opt;
  opt.remaps.push_back(parse_remap("/Volumes/Other=/nowhere").value());
  opt.remaps.push_back(parse_remap("/Volumes/Show=" + (dir.path() / "show").string()).value());
  ConformReport report = conform(t, opt);
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(messages(report.problems));
  const std::string a = (dir.path() / "media/a.mov").string();
  const std::string c = (dir.path() / "media/c.mov").string();
  EXPECT_THAT(media_paths(t), ElementsAre(a, b.string(), c, a, e.string(), a));
}

TEST(Conform, RemapMatchesWholeFolderNames) {
  TempDir dir;
  dir.touch("media/a.mov");
  dir.touch("media/c.mov");
  dir.touch("show/b take.mov");
  dir.touch("show/gfx/e.mov");
  Timeline t = two_tracks_in(dir);
  ConformOptions opt;
  opt.remaps.push_back(parse_remap("/Volumes/Sho=" + (dir.path() / "show").string()).value());
  ConformReport report = conform(t, opt);
  EXPECT_EQ(report.problems.size(), 2u);  // /Volumes/Show is not under /Volumes/Sho
}

TEST(Conform, MediaRootFindsFilesByNameShallowestFirst) {
  TempDir dir;
  dir.touch("media/a.mov");
  dir.touch("media/c.mov");
  dir.touch("library/deep/er/b take.mov");     // deeper: loses
  auto b = dir.touch("library/x/b take.mov");  // one level down, first by name
  dir.touch("library/y/b take.mov");
  auto e = dir.touch("library/e.mov");
  Timeline t = two_tracks_in(dir);
  ConformOptions opt;
  opt.media_roots.push_back(dir.path() / "library");
  ConformReport report = conform(t, opt);
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(messages(report.problems));
  EXPECT_EQ(t.clips()[1]->media_path, b.string());
  EXPECT_EQ(t.clips()[4]->media_path, e.string());
}

TEST(Conform, MissingFilesAreListedAllAtOnceWithTheirOrigins) {
  TempDir dir;
  dir.touch("media/a.mov");
  Timeline t = two_tracks_in(dir);
  ConformOptions opt;
  opt.media_roots.push_back(dir.path() / "library");
  ConformReport report = conform(t, opt);
  EXPECT_THAT(
      messages(report.problems),
      ElementsAre(
          "tracks.children[0].children[2]: media not found: \"file:///Volumes/Show/b%20take.mov\"; "
          "looked at /Volumes/Show/b take.mov and under " +
              (dir.path() / "library").string(),
          HasSubstr("tracks.children[0].children[4]: media not found: \"media/c.mov\"; looked at " +
                    (dir.path() / "media/c.mov").string()),
          HasSubstr("tracks.children[1].children[1]: media not found: "
                    "\"file://localhost/Volumes/Show/gfx/e.mov\"")));
}

TEST(Conform, SlatePolicyMarksClipsAndContinues) {
  TempDir dir;
  dir.touch("media/a.mov");
  dir.touch("media/c.mov");
  Timeline t = two_tracks_in(dir);
  ConformOptions opt;
  opt.missing = MissingPolicy::Slate;
  ConformReport report = conform(t, opt);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.notes.size(), 2u);
  EXPECT_THAT(report.notes[0].message, HasSubstr("(a slate stands in)"));
  EXPECT_TRUE(t.clips()[1]->media_missing);
  EXPECT_TRUE(t.clips()[1]->media_path.empty());
  EXPECT_FALSE(t.clips()[0]->media_missing);
  EXPECT_EQ(t.duration(), Rational{6});  // slates keep their clips' durations
}

TEST(Conform, EdlReelsByClipNameReelNameAndReelMap) {
  TempDir dir;
  auto a = dir.touch("media/day1/a.mov");
  auto b = dir.touch("media/day1/b.mov");
  auto c = dir.touch("media/day2/c.mov");
  auto music = dir.touch("media/music.wav");
  auto e = dir.touch("media/tapes/TAPE_E.mxf");  // the reel name without extension
  auto d = dir.touch("elsewhere/d-final.mov");
  auto map =
      parse_reel_map("# reel = file\nTAPE_D = ../elsewhere/d-final.mov\n", dir.path() / "maps");
  ASSERT_TRUE(map.ok()) << map.error().message;
  ReadResult r = read_edl(read_text(sample("cuts_24.edl")), EdlOptions{Rational{24}}, dir.path());
  ASSERT_TRUE(r.ok());
  Timeline t = *r.timeline;
  ConformOptions opt;
  opt.media_roots.push_back(dir.path() / "media");
  opt.reel_map = map.value();
  ConformReport report = conform(t, opt);
  // TAPE_F has neither a clip name nor a file: the one problem, named by its event.
  EXPECT_THAT(messages(report.problems),
              ElementsAre("event 9 (line 21): media not found: reel \"TAPE_F\"; searched " +
                          (dir.path() / "media").string()));
  EXPECT_THAT(media_paths(t), ElementsAre(a.string(), b.string(), c.string(), a.string(),
                                          d.string(), e.string(), "", music.string()));
}

TEST(Conform, EdlSourceFileCommentsAreRemappedLikeOtioPaths) {
  TempDir dir;
  auto x = dir.touch("show/x.mov");
  const std::string edl =
      "001  X001  V  C  00:00:00:00 00:00:01:00 01:00:00:00 01:00:01:00\n"
      "* FROM CLIP NAME: x.mov\n"
      "* SOURCE FILE: /Volumes/Show/x.mov\n";
  ReadResult r = read_edl(edl, EdlOptions{Rational{24}}, dir.path());
  ASSERT_TRUE(r.ok());
  ConformOptions opt;
  opt.remaps.push_back({"/Volumes/Show", (dir.path() / "show").string()});
  ConformReport report = conform(*r.timeline, opt);
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(messages(report.problems));
  EXPECT_EQ(r.timeline->clips()[0]->media_path, x.string());
}

TEST(Conform, ParsingOptions) {
  EXPECT_EQ(parse_remap("/a=/b").value().from, "/a");
  EXPECT_EQ(parse_remap("/a=/b=c").value().to, "/b=c");
  EXPECT_FALSE(parse_remap("=/b").ok());
  EXPECT_FALSE(parse_remap("/a").ok());
  EXPECT_EQ(parse_missing_policy("slate").value(), MissingPolicy::Slate);
  EXPECT_FALSE(parse_missing_policy("skip").ok());
  auto map = parse_reel_map("A001 = /m/a.mov\n\n  # note\nB 2=rel/b.mov\n", "/maps");
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map.value().at("A001"), "/m/a.mov");
  EXPECT_EQ(map.value().at("B 2"), "/maps/rel/b.mov");
  EXPECT_EQ(parse_reel_map("A001 /m/a.mov\n", "/").error().message,
            "line 1: expected REEL = PATH, got \"A001 /m/a.mov\"");
  EXPECT_THAT(parse_reel_map("A=1\nA=2\n", "/").error().message, HasSubstr("line 2"));
}

}  // namespace
}  // namespace leancut::interchange
