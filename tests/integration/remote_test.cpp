// Remote sources through the real binary, served by a loopback HTTP server in this process:
// a remote shot renders the right frames, the second render is a cache hit (no second GET),
// without --remote a URL is refused with its JSON path, and failures (404, refused connection,
// wrong checksum) name the shot and the URL, all at once, leaving nothing in the cache.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fetch/sha256.h"
#include "media/decode_helper.h"
#include "media/testmedia.h"
#include "support/asset_server.h"
#include "support/subprocess.h"
#include "support/test_media_env.h"

namespace leancut::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const void* const kMediaEnv = register_test_media_environment();

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Remote : public ::testing::Test {
 protected:
  void SetUp() override {
    if (leancut_binary().empty()) GTEST_SKIP() << "LEANCUT_BINARY is not set";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-remote-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    clip_ = read_all(test_media_dir() / "a_720p30.mp4");
    ASSERT_FALSE(clip_.empty());
    server_.add("/clips/a.mp4", clip_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }
  fs::path write_blueprint(const std::string& shots) {
    const fs::path bp = dir_ / "bp.json";
    std::ofstream(bp) << R"({"version": 1, "output": {"width": 320, "height": 180, "fps": 30,
        "video": {"preset": "ultrafast"}}, "shots": [)"
                      << shots << "]}";
    return bp;
  }
  std::vector<std::string> remote_args() const {
    return {"--remote", "--asset-cache", (dir_ / "cache").string(), "--downloads", "2"};
  }
  ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), leancut_binary());
    return run_process(args, 120000);
  }
  std::vector<fs::path> cache_files(const std::string& ext) const {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "cache", ec)) {
      if (e.path().extension() == ext) out.push_back(e.path());
    }
    return out;
  }
  static std::string sha_of(const std::string& bytes) {
    Result<fetch::Sha256> h = fetch::Sha256::make();
    EXPECT_TRUE(h.ok());
    h->update({bytes.data(), bytes.size()});
    return h->hex_digest();
  }

  AssetServer server_;
  std::string clip_;
  fs::path dir_;
};

TEST_F(Remote, RendersARemoteShotThenHitsTheCache) {
  const std::string url = server_.url("/clips/a.mp4");
  const fs::path bp = write_blueprint(
      R"({"source": ")" + url + R"(", "in": 1, "out": 2, "sha256": ")" + sha_of(clip_) + R"("})");
  const fs::path out = dir_ / "out.mp4";
  std::vector<std::string> args = {"render", bp.string(), "-o", out.string(), "-q"};
  for (const auto& a : remote_args()) args.push_back(a);
  ProcessResult r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_.gets("/clips/a.mp4"), 1);
  // The cached file is the served one, byte for byte.
  const std::vector<fs::path> data = cache_files(".data");
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(read_all(data[0]) == clip_, true);

  // a_720p30 is source 0 at 30 fps: output frame k shows source frame 30 + k.
  std::vector<std::optional<media::FrameCode>> codes;
  auto decoded = media::testing::decode_file(
      out, [&](const AVFrame* f, int64_t) { codes.push_back(media::read_frame_code(f)); });
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(codes.size(), 30u);
  for (size_t k = 0; k < codes.size(); ++k) {
    ASSERT_TRUE(codes[k]) << "frame " << k;
    EXPECT_EQ(codes[k]->source_id, 0);
    EXPECT_EQ(codes[k]->frame_mod32, media::frame_code_for_index(30 + static_cast<int64_t>(k)))
        << "frame " << k;
  }

  // Again: rendered from the cache, the server is not asked.
  fs::remove(out);
  ProcessResult again = run(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(fs::exists(out));
  EXPECT_EQ(server_.gets("/clips/a.mp4"), 1);
  EXPECT_THAT(again.err, HasSubstr("1 cached, 0 downloaded"));
}

TEST_F(Remote, WithoutRemoteAUrlIsRefusedWithItsPath) {
  const std::string url = server_.url("/clips/a.mp4");
  const fs::path bp =
      write_blueprint(R"({"source": ")" + (test_media_dir() / "a_720p30.mp4").string() +
                      R"(", "in": 0, "out": 1}, {"source": ")" + url + R"(", "in": 0, "out": 1})");
  ProcessResult r = run({"validate", bp.string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err,
              HasSubstr("shots[1].source: " + url + ": remote sources are off; pass --remote"));
  EXPECT_THAT(r.err, Not(HasSubstr("shots[0]")));
  EXPECT_EQ(server_.gets("/clips/a.mp4"), 0);
  // The URL was not taken for a path next to the blueprint.
  EXPECT_THAT(r.err, Not(HasSubstr("no such file")));
}

TEST_F(Remote, FailuresNameTheShotAndTheUrlAllAtOnce) {
  RefusingPort refusing;
  const std::string missing = server_.url("/clips/missing.mp4");
  const std::string refused = refusing.url("/a.mp4");
  const std::string wrong_sum = server_.url("/clips/a.mp4");
  const std::string bad_sha = sha_of("not the clip");
  const fs::path bp = write_blueprint(R"({"source": ")" + missing + R"(", "in": 0, "out": 1},
         {"source": ")" + refused + R"(", "in": 0, "out": 1},
         {"source": ")" + wrong_sum + R"(", "in": 0, "out": 1, "sha256": ")" +
                                      bad_sha + R"("},
         {"source": "local-missing.mp4", "in": 0, "out": 1})");
  std::vector<std::string> args = {"validate", bp.string()};
  for (const auto& a : remote_args()) args.push_back(a);
  ProcessResult r = run(args);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("shots[0].source: " + missing + ": HTTP 404"));
  EXPECT_THAT(r.err, HasSubstr("shots[1].source: " + refused + ": "));
  EXPECT_THAT(r.err, HasSubstr("Connection refused"));
  EXPECT_THAT(r.err,
              HasSubstr("shots[2].source: " + wrong_sum + ": sha256 mismatch: the blueprint says " +
                        bad_sha + ", the download is " + sha_of(clip_)));
  EXPECT_THAT(r.err, HasSubstr("shots[3].source"));  // the media checks still ran for the rest
  EXPECT_TRUE(cache_files(".data").empty());
  EXPECT_TRUE(cache_files(".part").empty());
}

TEST_F(Remote, AServedFileThatIsNotMediaIsNamedByItsUrl) {
  server_.add("/clips/not-media.mp4", std::string(100000, 'x'));
  const std::string url = server_.url("/clips/not-media.mp4");
  const fs::path bp = write_blueprint(R"({"source": ")" + url + R"(", "in": 0, "out": 1})");
  std::vector<std::string> args = {"validate", bp.string()};
  for (const auto& a : remote_args()) args.push_back(a);
  ProcessResult r = run(args);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("shots[0].source: " + url + ": avformat_open_input("));
}

TEST_F(Remote, TwoProcessesSharingTheCacheDownloadAUrlOnce) {
  const std::string url = server_.url("/clips/a.mp4");
  const fs::path bp = write_blueprint(R"({"source": ")" + url + R"(", "in": 0, "out": 1})");
  // The first GET waits (up to 1.5 s) for a second one: were the entry not locked, the other
  // process's GET would arrive meanwhile. Locked, the other waits, then finds the entry cached.
  server_.hold_until_in_flight(2, std::chrono::milliseconds(1500));
  std::vector<std::string> args = {leancut_binary(), "validate", bp.string()};
  for (const auto& a : remote_args()) args.push_back(a);
  Child first = Child::spawn(args);
  Child second = Child::spawn(args);
  ASSERT_TRUE(first.running() && second.running());
  const ProcessResult a = first.wait(120000);
  const ProcessResult b = second.wait(120000);
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(server_.gets("/clips/a.mp4"), 1);
  EXPECT_EQ(server_.max_in_flight(), 1);
  // One of them downloaded, the other found it cached.
  EXPECT_THAT(a.err + b.err, HasSubstr("1 cached, 0 downloaded"));
  EXPECT_EQ(cache_files(".data").size(), 1u);
}

TEST_F(Remote, TheCacheOptionsNeedRemote) {
  const fs::path bp = write_blueprint(R"({"color": "black", "duration": 1})");
  ProcessResult r = run({"validate", bp.string(), "--downloads", "2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--downloads applies with --remote only"));
  ProcessResult bad = run({"validate", bp.string(), "--remote", "--asset-cache-max-age", "soon"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--asset-cache-max-age"));
}

}  // namespace
}  // namespace leancut::testing
