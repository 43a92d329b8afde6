// `leancut validate` on .otio and .edl files, through the binary: exit codes, the summary line,
// every problem listed at once, and option errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "interchange/helpers.h"
#include "support/subprocess.h"

namespace leancut::interchange {
namespace {

using leancut::testing::leancut_binary;
using leancut::testing::ProcessResult;
using leancut::testing::run_process;
using ::testing::HasSubstr;
namespace fs = std::filesystem;
using testing::sample;
using testing::TempDir;

constexpr int kTimeoutMs = 60000;

class ValidateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (leancut_binary().empty()) GTEST_SKIP() << "LEANCUT_BINARY is not set";
    // two_tracks.otio beside its relative media; the /Volumes/Show files under show/.
    fs::copy_file(sample("two_tracks.otio"), dir_.path() / "two_tracks.otio");
    dir_.touch("media/a.mov");
    dir_.touch("media/c.mov");
    dir_.touch("show/b take.mov");
    dir_.touch("show/gfx/e.mov");
  }
  ProcessResult validate(std::vector<std::string> args) {
    args.insert(args.begin(), {leancut_binary(), "validate"});
    return run_process(args, kTimeoutMs);
  }
  std::string otio() const { return (dir_.path() / "two_tracks.otio").string(); }
  TempDir dir_;
};

TEST_F(ValidateCli, OtioWithRemapIsValidAndSummarized) {
  ProcessResult r =
      validate({otio(), "--remap", "/Volumes/Show=" + (dir_.path() / "show").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("valid: 2 video and 1 audio tracks, 9 items (6 clips), 144 frames "
                               "at 24 fps, 00:00:06:00"));
}

TEST_F(ValidateCli, OtioListsEveryMissingFileAndExits3) {
  ProcessResult r = validate({otio()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("tracks.children[0].children[2]: media not found"));
  EXPECT_THAT(r.err, HasSubstr("tracks.children[1].children[1]: media not found"));
}

TEST_F(ValidateCli, SlatePolicyIsValidAndJsonCountsTheSlates) {
  ProcessResult r = validate({otio(), "--missing", "slate", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["slated_clips"], 2);
  EXPECT_EQ(j["frames"], 144);
  EXPECT_EQ(j["duration_seconds"], "6");
}

TEST_F(ValidateCli, EdlProblemsNameTheirEvents) {
  ProcessResult r = validate({sample("bad_24.edl").string(), "--fps", "24"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("event 2 (line 4): source in \"00:00:00:25\": frame 25 is out of "
                               "range at 24 fps"));
  EXPECT_THAT(r.err, HasSubstr("event 4 (line 6): record in overlaps event 1"));
}

TEST_F(ValidateCli, DropFrameEdlAt2997) {
  ProcessResult r =
      validate({sample("df_2997.edl").string(), "--fps", "29.97", "--missing", "slate"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("6 frames at 30000/1001 fps, 00:00:00;06"));
}

TEST_F(ValidateCli, BadOptionsAreUsageErrors) {
  EXPECT_EQ(validate({otio(), "--missing", "skip"}).exit_code, 2);
  EXPECT_EQ(validate({otio(), "--remap", "nothing"}).exit_code, 2);
  EXPECT_EQ(validate({otio(), "--media-root", "/no/such/folder"}).exit_code, 2);
  EXPECT_EQ(validate({sample("cuts_24.edl").string(), "--fps", "fast"}).exit_code, 2);
  ProcessResult json_with_remap = validate({"cut.json", "--remap", "a=b"});
  EXPECT_EQ(json_with_remap.exit_code, 2);
  EXPECT_THAT(json_with_remap.err, HasSubstr("--remap applies to .otio and .edl files only"));
}

}  // namespace
}  // namespace leancut::interchange
