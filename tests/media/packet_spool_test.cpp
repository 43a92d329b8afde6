// PacketSpool: packets come back exactly as they went in (data, timestamps and their time base,
// duration, flags, side data, stream), in order; a damaged spool is an error, not a crash.
#include "media/packet_spool.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <unistd.h>
}

#include "media/av_ptr.h"

namespace leancut::media {
namespace {

namespace fs = std::filesystem;

struct Seen {
  int stream;
  AVRational from;
  int64_t pts, dts, duration;
  int flags;
  std::string data;
  std::vector<std::pair<int, std::string>> side;
};

class Collect final : public PacketSink {
 public:
  Status write(AVPacket* pkt, int stream_index, AVRational from) override {
    Seen s{stream_index,
           from,
           pkt->pts,
           pkt->dts,
           pkt->duration,
           pkt->flags,
           std::string(reinterpret_cast<const char*>(pkt->data), static_cast<size_t>(pkt->size)),
           {}};
    for (int i = 0; i < pkt->side_data_elems; ++i) {
      s.side.emplace_back(static_cast<int>(pkt->side_data[i].type),
                          std::string(reinterpret_cast<const char*>(pkt->side_data[i].data),
                                      pkt->side_data[i].size));
    }
    seen.push_back(std::move(s));
    av_packet_unref(pkt);
    return ok_status();
  }
  std::vector<Seen> seen;
};

class PacketSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() /
            ("leancut-spool-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".spool");
  }
  void TearDown() override { fs::remove(path_); }

  static PacketPtr packet(const std::string& bytes, int64_t pts, int64_t dts, int64_t duration,
                          int flags) {
    PacketPtr p = make_packet();
    EXPECT_EQ(av_new_packet(p.get(), static_cast<int>(bytes.size())), 0);
    if (!bytes.empty()) std::copy(bytes.begin(), bytes.end(), p->data);
    p->pts = pts;
    p->dts = dts;
    p->duration = duration;
    p->flags = flags;
    return p;
  }

  fs::path path_;
};

TEST_F(PacketSpoolTest, PacketsComeBackExactlyAndInOrder) {
  {
    auto spool = PacketSpool::create(path_);
    ASSERT_TRUE(spool.ok()) << spool.error().message;
    // The AAC priming packet: negative pts and skip-samples side data.
    PacketPtr a = packet("aac0", -1024, -1024, 1024, 0);
    uint8_t* skip = av_packet_new_side_data(a.get(), AV_PKT_DATA_SKIP_SAMPLES, 10);
    ASSERT_NE(skip, nullptr);
    for (int i = 0; i < 10; ++i) skip[i] = static_cast<uint8_t>(i + 1);
    ASSERT_TRUE((*spool)->write(a.get(), 1, AVRational{1, 48000}).ok());
    EXPECT_EQ(a->size, 0) << "the spool takes the packet's data";
    PacketPtr v = packet(std::string("\0\0\1video", 8), 0, -2, 1, AV_PKT_FLAG_KEY);
    ASSERT_TRUE((*spool)->write(v.get(), 0, AVRational{1, 30}).ok());
    PacketPtr empty = packet("", AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0, 0);
    ASSERT_TRUE((*spool)->write(empty.get(), 0, AVRational{1001, 30000}).ok());
    EXPECT_EQ((*spool)->packets(), 3);
    ASSERT_TRUE((*spool)->finish().ok());
  }
  Collect sink;
  ASSERT_TRUE(PacketSpool::replay(path_, sink).ok());
  ASSERT_EQ(sink.seen.size(), 3u);
  const Seen& a = sink.seen[0];
  EXPECT_EQ(a.stream, 1);
  EXPECT_EQ(av_cmp_q(a.from, AVRational{1, 48000}), 0);
  EXPECT_EQ(a.pts, -1024);
  EXPECT_EQ(a.dts, -1024);
  EXPECT_EQ(a.duration, 1024);
  EXPECT_EQ(a.data, "aac0");
  ASSERT_EQ(a.side.size(), 1u);
  EXPECT_EQ(a.side[0].first, static_cast<int>(AV_PKT_DATA_SKIP_SAMPLES));
  EXPECT_EQ(a.side[0].second, std::string("\1\2\3\4\5\6\7\10\11\12", 10));
  const Seen& v = sink.seen[1];
  EXPECT_EQ(v.stream, 0);
  EXPECT_EQ(av_cmp_q(v.from, AVRational{1, 30}), 0);
  EXPECT_EQ(v.pts, 0);
  EXPECT_EQ(v.dts, -2);
  EXPECT_EQ(v.flags, AV_PKT_FLAG_KEY);
  EXPECT_EQ(v.data, std::string("\0\0\1video", 8));
  const Seen& e = sink.seen[2];
  EXPECT_EQ(e.pts, AV_NOPTS_VALUE);
  EXPECT_EQ(e.dts, AV_NOPTS_VALUE);
  EXPECT_TRUE(e.data.empty());
  EXPECT_EQ(av_cmp_q(e.from, AVRational{1001, 30000}), 0);
}

TEST_F(PacketSpoolTest, ATruncatedOrForeignSpoolIsAnErrorNamingTheFile) {
  {
    auto spool = PacketSpool::create(path_);
    ASSERT_TRUE(spool.ok());
    for (int i = 0; i < 3; ++i) {
      PacketPtr p = packet("0123456789", i, i, 1, 0);
      ASSERT_TRUE((*spool)->write(p.get(), 0, AVRational{1, 30}).ok());
    }
    ASSERT_TRUE((*spool)->finish().ok());
  }
  fs::resize_file(path_, fs::file_size(path_) - 4);  // the last packet loses its tail
  Collect sink;
  Status s = PacketSpool::replay(path_, sink);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(path_.string() + ": packet 2"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(sink.seen.size(), 2u);

  std::FILE* f = std::fopen(path_.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs("not a spool at all", f);
  std::fclose(f);
  s = PacketSpool::replay(path_, sink);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not a packet spool"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace leancut::media
