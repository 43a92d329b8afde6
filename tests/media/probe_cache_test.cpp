// ProbeCache: a source is probed once while it is unchanged on disk; its entry is charged to the
// account and given back; failures are not cached; a replaced file is probed again.
#include "media/probe_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "fakes/fake_clock.h"
#include "support/test_media_env.h"

extern "C" {
#include <unistd.h>
}

namespace leancut::media {
namespace {

namespace fs = std::filesystem;

const void* const kMediaEnv = ::leancut::testing::register_test_media_environment();

class ProbeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch_ = fs::temp_directory_path() /
               ("leancut-probe-cache-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(scratch_);
    fs::create_directories(scratch_);
  }
  void TearDown() override { fs::remove_all(scratch_); }

  static fs::path clip(const char* name) { return ::leancut::testing::test_media_dir() / name; }

  fs::path scratch_;
  fakes::FakeClock clock_;
  std::shared_ptr<memory::Account> account_ =
      memory::Account::make_root("probe_cache", memory::kNoLimit);
};

TEST_F(ProbeCacheTest, ProbesOnceThenAnswersFromMemoryWithTheSameResult) {
  ProbeCache probes(ProbeCache::default_options(), clock_, account_.get());
  const fs::path a = clip("a_720p30.mp4");
  Result<ProbeInfo> direct = probe_file(a);
  ASSERT_TRUE(direct.ok()) << direct.error().message;

  for (int i = 0; i < 3; ++i) {
    Result<ProbeInfo> p = probes.probe(a);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->path, a);
    ASSERT_TRUE(p->video.has_value());
    EXPECT_EQ(p->video->width, direct->video->width);
    EXPECT_EQ(p->video->height, direct->video->height);
    EXPECT_EQ(p->video->duration, direct->video->duration);
    EXPECT_EQ(p->video->frame_rate, direct->video->frame_rate);
    EXPECT_EQ(p->audio.has_value(), direct->audio.has_value());
  }
  memory::CacheStats s = probes.stats();
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.hits, 2);
  EXPECT_EQ(s.entries, 1);
  EXPECT_EQ(s.bytes, ProbeCache::estimated_bytes(direct.value()));
  EXPECT_EQ(account_->current_bytes(), s.bytes);
  EXPECT_GT(s.bytes, static_cast<int64_t>(sizeof(ProbeInfo)));
}

TEST_F(ProbeCacheTest, EntriesAreChargedAndGivenBack) {
  {
    ProbeCache probes(ProbeCache::default_options(), clock_, account_.get());
    ASSERT_TRUE(probes.probe(clip("a_720p30.mp4")).ok());
    ASSERT_TRUE(probes.probe(clip("b_1080p25.mp4")).ok());
    EXPECT_EQ(probes.stats().entries, 2);
    EXPECT_GT(account_->current_bytes(), 0);
  }
  EXPECT_EQ(account_->current_bytes(), 0);
}

TEST_F(ProbeCacheTest, AReplacedFileIsProbedAgain) {
  ProbeCache probes(ProbeCache::default_options(), clock_, account_.get());
  const fs::path copy = scratch_ / "clip.mp4";
  fs::copy_file(clip("a_720p30.mp4"), copy);
  Result<ProbeInfo> first = probes.probe(copy);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->video->width, 1280);

  // Another clip under the same name (different size and time): the old probe must not answer.
  fs::copy_file(clip("c_360p24.mp4"), copy, fs::copy_options::overwrite_existing);
  fs::last_write_time(copy, fs::last_write_time(copy) + std::chrono::seconds(5));
  Result<ProbeInfo> second = probes.probe(copy);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->video->width, 640);
  EXPECT_EQ(probes.stats().misses, 2);
  EXPECT_EQ(probes.stats().hits, 0);
}

TEST_F(ProbeCacheTest, FailuresAreNotCached) {
  ProbeCache probes(ProbeCache::default_options(), clock_, account_.get());
  const fs::path missing = scratch_ / "missing.mp4";
  EXPECT_FALSE(probes.probe(missing).ok());
  const fs::path junk = scratch_ / "junk.mp4";
  {
    std::FILE* f = std::fopen(junk.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not a video", f);
    std::fclose(f);
  }
  EXPECT_FALSE(probes.probe(junk).ok());
  EXPECT_FALSE(probes.probe(junk).ok());
  EXPECT_EQ(probes.stats().entries, 0);
  EXPECT_EQ(probes.stats().insertions, 0);
  EXPECT_EQ(account_->current_bytes(), 0);
}

TEST_F(ProbeCacheTest, StaleEntriesExpireAndEvictionKeepsWithinCapacity) {
  memory::CacheOptions options = ProbeCache::default_options();
  options.ttl = std::chrono::minutes(1);
  ProbeCache probes(options, clock_, account_.get());
  ASSERT_TRUE(probes.probe(clip("a_720p30.mp4")).ok());
  clock_.advance(std::chrono::minutes(2));
  ASSERT_TRUE(probes.probe(clip("a_720p30.mp4")).ok());
  EXPECT_EQ(probes.stats().misses, 2) << "an expired probe must be redone";

  ASSERT_TRUE(probes.probe(clip("b_1080p25.mp4")).ok());
  ASSERT_TRUE(probes.probe(clip("c_360p24.mp4")).ok());
  EXPECT_EQ(probes.stats().entries, 3);
  // The ladder's step: down to 80% of the capacity, which three small entries are already under.
  EXPECT_EQ(probes.evict_to_low_water(), 0);
  EXPECT_EQ(probes.stats().entries, 3);

  // A capacity of about two entries keeps at most two.
  memory::CacheOptions tiny = ProbeCache::default_options();
  tiny.capacity_bytes = 2 * ProbeCache::estimated_bytes(probe_file(clip("a_720p30.mp4")).value());
  ProbeCache small(tiny, clock_, account_.get());
  for (const char* name : {"a_720p30.mp4", "b_1080p25.mp4", "c_360p24.mp4"}) {
    ASSERT_TRUE(small.probe(clip(name)).ok());
  }
  EXPECT_LE(small.stats().bytes, tiny.capacity_bytes);
  EXPECT_GE(small.stats().evictions, 1);
}

}  // namespace
}  // namespace leancut::media
