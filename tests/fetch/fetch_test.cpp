// The asset cache and its downloads against a loopback HTTP server that records what it was
// asked: a second fetch is a hit (no GET), a dropped transfer resumes with a Range request, a
// wrong checksum leaves nothing behind, eviction by size (least recently used) and by age never
// touches a leased entry, and no more than `workers` requests are ever in flight.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fetch/asset_cache.h"
#include "fetch/fetcher.h"
#include "fetch/sha256.h"
#include "support/asset_server.h"

namespace leancut::fetch {
namespace {

namespace fs = std::filesystem;
using leancut::testing::AssetServer;
using leancut::testing::RefusingPort;
using ::testing::HasSubstr;

// Deterministic bytes, different per seed.
std::string blob(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

std::string sha_of(const std::string& bytes) {
  Result<Sha256> h = Sha256::make();
  EXPECT_TRUE(h.ok());
  h->update({bytes.data(), bytes.size()});
  return h->hex_digest();
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Fetch : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-fetch-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }
  AssetCache cache(int64_t max_bytes = kDefaultCacheMaxBytes,
                   int64_t max_age_seconds = kDefaultCacheMaxAgeSeconds) {
    Result<AssetCache> c =
        AssetCache::open({.dir = dir_, .max_bytes = max_bytes, .max_age_seconds = max_age_seconds});
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(c).value();
  }
  static FetchBatch fetch(const AssetCache& c, std::vector<FetchRequest> reqs, int workers = 4) {
    return fetch_all(c, reqs, {.connect_timeout_ms = 5000, .stall_timeout_seconds = 10}, workers);
  }
  // Files in the cache folder with this extension.
  std::vector<std::string> files_with(const std::string& ext) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ext) out.push_back(e.path().filename().string());
    }
    return out;
  }
  // Moves an entry's recorded times into the past, as if it were fetched/used `seconds` ago.
  void age_entry(const AssetCache& c, const std::string& url, int64_t fetched_ago,
                 int64_t used_ago) {
    const fs::path side = c.sidecar_path(AssetCache::key_for(url));
    nlohmann::json j = nlohmann::json::parse(read_all(side));
    j["fetched_at"] = AssetCache::now_unix() - fetched_ago;
    j["last_used"] = AssetCache::now_unix() - used_ago;
    std::ofstream(side, std::ios::trunc) << j.dump();
  }

  fs::path dir_;
};

TEST_F(Fetch, DownloadsOnceThenHitsTheCache) {
  AssetServer server;
  const std::string bytes = blob(300 * 1024, 1);
  server.add("/a.bin", bytes);
  AssetCache c = cache();
  {
    FetchBatch b = fetch(c, {{.url = server.url("/a.bin")}});
    ASSERT_FALSE(b.assets[0].error) << b.assets[0].error->message;
    EXPECT_FALSE(b.assets[0].hit);
    EXPECT_EQ(read_all(b.assets[0].file), bytes);
    EXPECT_EQ(b.summary.bytes_downloaded, static_cast<int64_t>(bytes.size()));
    EXPECT_EQ(b.summary.misses, 1);
  }
  FetchBatch again = fetch(c, {{.url = server.url("/a.bin"), .sha256 = sha_of(bytes)}});
  ASSERT_FALSE(again.assets[0].error) << again.assets[0].error->message;
  EXPECT_TRUE(again.assets[0].hit);
  EXPECT_EQ(again.summary.hits, 1);
  EXPECT_EQ(again.summary.bytes_downloaded, 0);
  EXPECT_EQ(read_all(again.assets[0].file), bytes);
  EXPECT_EQ(server.gets("/a.bin"), 1);  // the second fetch asked nothing
  EXPECT_TRUE(files_with(".part").empty());
}

TEST_F(Fetch, ResumesADroppedTransferWithARangeRequest) {
  AssetServer server;
  const std::string bytes = blob(512 * 1024, 2);
  const size_t cut = 100 * 1000;
  server.add("/r.bin", bytes);
  server.drop_after_once("/r.bin", cut);
  AssetCache c = cache();
  FetchBatch b = fetch(c, {{.url = server.url("/r.bin"), .sha256 = sha_of(bytes)}});
  ASSERT_FALSE(b.assets[0].error) << b.assets[0].error->message;
  EXPECT_EQ(read_all(b.assets[0].file), bytes);
  const std::vector<std::string> ranges = server.ranges("/r.bin");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "");
  EXPECT_EQ(ranges[1], "bytes=" + std::to_string(cut) + "-");
  // ... and only if the server's file is still the one they came from.
  EXPECT_EQ(server.if_ranges("/r.bin")[1], "\"v1\"");
  // The first transfer's bytes were kept, not fetched again.
  EXPECT_EQ(b.summary.bytes_downloaded, static_cast<int64_t>(bytes.size()));
  EXPECT_FALSE(fs::exists(validator_path(c.part_path(AssetCache::key_for(server.url("/r.bin"))))));
}

TEST_F(Fetch, APartOfAnOlderVersionIsNotSplicedOntoTheNewOne) {
  AssetServer server;
  const std::string bytes = blob(120 * 1024, 6);
  server.add("/v.bin", bytes);
  AssetCache c = cache();
  const fs::path part = c.part_path(AssetCache::key_for(server.url("/v.bin")));
  std::ofstream(part, std::ios::binary) << blob(40000, 7);  // bytes of "v0"
  std::ofstream(validator_path(part), std::ios::binary) << "\"v0\"";
  FetchBatch b = fetch(c, {{.url = server.url("/v.bin")}});
  ASSERT_FALSE(b.assets[0].error) << b.assets[0].error->message;
  EXPECT_EQ(server.if_ranges("/v.bin"), std::vector<std::string>{"\"v0\""});
  EXPECT_EQ(read_all(b.assets[0].file), bytes);
}

TEST_F(Fetch, ResumesAPartLeftByAnEarlierRun) {
  AssetServer server;
  const std::string bytes = blob(200 * 1024, 3);
  server.add("/p.bin", bytes);
  AssetCache c = cache();
  const size_t have = 70000;
  std::ofstream(c.part_path(AssetCache::key_for(server.url("/p.bin"))), std::ios::binary)
      << bytes.substr(0, have);
  FetchBatch b = fetch(c, {{.url = server.url("/p.bin"), .sha256 = sha_of(bytes)}});
  ASSERT_FALSE(b.assets[0].error) << b.assets[0].error->message;
  EXPECT_EQ(read_all(b.assets[0].file), bytes);
  EXPECT_EQ(server.ranges("/p.bin"),
            std::vector<std::string>{"bytes=" + std::to_string(have) + "-"});
  EXPECT_EQ(b.summary.bytes_downloaded, static_cast<int64_t>(bytes.size() - have));
}

TEST_F(Fetch, AServerIgnoringRangeStartsTheFileOver) {
  AssetServer server;
  server.ignore_ranges();
  const std::string bytes = blob(150 * 1024, 4);
  server.add("/i.bin", bytes);
  AssetCache c = cache();
  // A stale part with other bytes: a 200 answer must replace it, not be appended to it.
  std::ofstream(c.part_path(AssetCache::key_for(server.url("/i.bin"))), std::ios::binary)
      << blob(50000, 99);
  FetchBatch b = fetch(c, {{.url = server.url("/i.bin"), .sha256 = sha_of(bytes)}});
  ASSERT_FALSE(b.assets[0].error) << b.assets[0].error->message;
  EXPECT_EQ(read_all(b.assets[0].file), bytes);
}

TEST_F(Fetch, AChecksumMismatchIsAnErrorAndLeavesNothing) {
  AssetServer server;
  const std::string bytes = blob(64 * 1024, 5);
  server.add("/x.bin", bytes);
  AssetCache c = cache();
  const std::string wrong = sha_of("something else");
  FetchBatch b = fetch(c, {{.url = server.url("/x.bin"), .sha256 = wrong}});
  ASSERT_TRUE(b.assets[0].error);
  EXPECT_THAT(b.assets[0].error->message, HasSubstr(wrong));
  EXPECT_THAT(b.assets[0].error->message, HasSubstr(sha_of(bytes)));
  EXPECT_TRUE(files_with(".data").empty());
  EXPECT_TRUE(files_with(".part").empty());
  EXPECT_TRUE(files_with(".json").empty());
}

TEST_F(Fetch, EvictsLeastRecentlyUsedToFitTheSizeButNeverALeasedEntry) {
  AssetServer server;
  const size_t size = 100 * 1024;
  for (int i = 0; i < 3; ++i) server.add("/" + std::to_string(i), blob(size, 10 + i));
  // Room for two entries, not three.
  AssetCache c = cache(static_cast<int64_t>(2 * size + size / 2));
  const std::string u0 = server.url("/0"), u1 = server.url("/1"), u2 = server.url("/2");
  ASSERT_FALSE(fetch(c, {{.url = u0}}).assets[0].error);
  ASSERT_FALSE(fetch(c, {{.url = u1}}).assets[0].error);
  // u0 was used more recently than u1, so u1 is the least recently used.
  age_entry(c, u1, 100, 100);
  age_entry(c, u0, 200, 50);
  {
    FetchBatch b = fetch(c, {{.url = u2}});
    ASSERT_FALSE(b.assets[0].error);
    EXPECT_EQ(b.summary.evicted.removed, 1);
    EXPECT_EQ(b.summary.evicted.total_bytes, static_cast<int64_t>(2 * size));
  }
  EXPECT_FALSE(fs::exists(c.data_path(AssetCache::key_for(u1))));
  EXPECT_TRUE(fs::exists(c.data_path(AssetCache::key_for(u0))));
  EXPECT_TRUE(fs::exists(c.data_path(AssetCache::key_for(u2))));

  // While a job holds u0 and u2, fetching u1 with room for one entry evicts neither of them.
  AssetCache tiny = cache(static_cast<int64_t>(size));
  FetchBatch held = fetch(tiny, {{.url = u0}, {.url = u2}});
  ASSERT_EQ(held.leases.size(), 2u);
  FetchBatch b = fetch(tiny, {{.url = u1}});
  ASSERT_FALSE(b.assets[0].error);
  EXPECT_EQ(b.summary.evicted.removed, 0);
  EXPECT_EQ(b.summary.evicted.skipped_in_use, 3);  // u1 too: this batch's own
  for (const std::string& u : {u0, u1, u2}) {
    EXPECT_TRUE(fs::exists(tiny.data_path(AssetCache::key_for(u)))) << u;
  }
}

TEST_F(Fetch, EvictsEntriesOlderThanTheMaxAgeAndFetchesThemAgain) {
  AssetServer server;
  server.add("/old", blob(10000, 20));
  server.add("/new", blob(10000, 21));
  const int64_t day = 86400;
  AssetCache c = cache(kDefaultCacheMaxBytes, 7 * day);
  const std::string old_url = server.url("/old");
  ASSERT_FALSE(fetch(c, {{.url = old_url}}).assets[0].error);
  age_entry(c, old_url, 8 * day, 8 * day);
  FetchBatch b = fetch(c, {{.url = server.url("/new")}});
  EXPECT_EQ(b.summary.evicted.removed, 1);
  EXPECT_FALSE(fs::exists(c.data_path(AssetCache::key_for(old_url))));
  EXPECT_TRUE(fs::exists(c.data_path(AssetCache::key_for(server.url("/new")))));

  // Still in the cache but too old: a lookup misses, and the next fetch downloads it again.
  ASSERT_FALSE(fetch(c, {{.url = old_url}}).assets[0].error);
  age_entry(c, old_url, 8 * day, 0);
  FetchBatch again = fetch(c, {{.url = old_url}});
  EXPECT_FALSE(again.assets[0].hit);
  EXPECT_EQ(server.gets("/old"), 3);
}

TEST_F(Fetch, EvictsAbandonedPartsOlderThanTheMaxAge) {
  AssetCache c = cache(kDefaultCacheMaxBytes, 3600);
  const fs::path old_part = c.part_path(AssetCache::key_for("http://127.0.0.1:9/old"));
  const fs::path new_part = c.part_path(AssetCache::key_for("http://127.0.0.1:9/new"));
  std::ofstream(old_part) << "abandoned";
  std::ofstream(new_part) << "maybe resumed soon";
  fs::last_write_time(old_part, fs::file_time_type::clock::now() - std::chrono::hours(2));
  ASSERT_TRUE(c.evict().ok());
  EXPECT_FALSE(fs::exists(old_part));
  EXPECT_TRUE(fs::exists(new_part));
}

TEST_F(Fetch, NeverMoreRequestsInFlightThanWorkers) {
  AssetServer server;
  constexpr int kWorkers = 3;
  std::vector<FetchRequest> reqs;
  for (int i = 0; i < 2 * kWorkers; ++i) {
    server.add("/" + std::to_string(i), blob(4096, 30 + i));
    reqs.push_back({.url = server.url("/" + std::to_string(i))});
  }
  // Requests wait for one more than the bound to arrive: a client past the bound releases them.
  server.hold_until_in_flight(kWorkers + 1, std::chrono::milliseconds(700));
  FetchBatch b = fetch(cache(), reqs, kWorkers);
  for (const AssetResult& a : b.assets) EXPECT_FALSE(a.error);
  EXPECT_EQ(server.max_in_flight(), kWorkers);
}

TEST_F(Fetch, ReportsEachFailedUrlAndKeepsTheOthers) {
  AssetServer server;
  RefusingPort refusing;
  server.add("/ok", blob(1000, 40));
  FetchBatch b = fetch(cache(), {{.url = server.url("/missing")},
                                 {.url = server.url("/ok")},
                                 {.url = refusing.url("/x")},
                                 {.url = "ftp://127.0.0.1/x"}});
  ASSERT_TRUE(b.assets[0].error);
  EXPECT_EQ(b.assets[0].error->message, "HTTP 404");
  EXPECT_FALSE(b.assets[1].error);
  ASSERT_TRUE(b.assets[2].error);
  EXPECT_THAT(b.assets[2].error->message, HasSubstr("refused"));
  ASSERT_TRUE(b.assets[3].error);  // libcurl knows ftp; we allow only http(s)
  EXPECT_EQ(b.summary.failed, 3);
  EXPECT_TRUE(files_with(".part").empty());
}

TEST_F(Fetch, FollowsRedirectsToHttpButNeverToOtherProtocols) {
  AssetServer server;
  const std::string bytes = blob(5000, 50);
  server.add("/real", bytes);
  server.redirect("/moved", "/real");
  server.redirect("/to-file", "file:///etc/hostname");
  server.redirect("/loop", "/loop");
  FetchBatch b = fetch(cache(), {{.url = server.url("/moved")},
                                 {.url = server.url("/to-file")},
                                 {.url = server.url("/loop")}});
  ASSERT_FALSE(b.assets[0].error) << b.assets[0].error->message;
  EXPECT_EQ(read_all(b.assets[0].file), bytes);
  ASSERT_TRUE(b.assets[1].error);
  EXPECT_THAT(b.assets[1].error->message, HasSubstr("Protocol \"file\""));
  ASSERT_TRUE(b.assets[2].error);
  EXPECT_THAT(b.assets[2].error->message, HasSubstr("redirects"));
  EXPECT_EQ(server.gets("/loop"), 6);  // the first request and 5 redirects
}

TEST(ParseDuration, UnitsAndRefusals) {
  EXPECT_EQ(parse_duration_seconds("90"), 90);
  EXPECT_EQ(parse_duration_seconds("15m"), 900);
  EXPECT_EQ(parse_duration_seconds("30d"), 30 * 86400);
  EXPECT_EQ(parse_duration_seconds("2w"), 14 * 86400);
  EXPECT_FALSE(parse_duration_seconds(""));
  EXPECT_FALSE(parse_duration_seconds("d"));
  EXPECT_FALSE(parse_duration_seconds("1.5h"));
  EXPECT_FALSE(parse_duration_seconds("-3d"));
}

}  // namespace
}  // namespace leancut::fetch
