// Still images: flatten_onto's blend is exact per pixel (transparent shows the background, opaque
// the image, alpha 128 the rounded mix), pictures without alpha pass through untouched, and
// probe_image reads a PNG's size and refuses what is not a PNG or JPEG.
#include "media/still_image.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>

namespace leancut::media {
namespace {

namespace fs = std::filesystem;

FramePtr rgba_picture(int w, int h, std::initializer_list<std::array<uint8_t, 4>> pixels) {
  FramePtr f = make_frame();
  f->format = AV_PIX_FMT_RGBA;
  f->width = w;
  f->height = h;
  EXPECT_GE(av_frame_get_buffer(f.get(), 0), 0);
  for (int y = 0; y < h; ++y) std::fill_n(f->data[0] + y * f->linesize[0], 4 * w, uint8_t{0});
  int i = 0;
  for (const auto& p : pixels) {
    uint8_t* dst = f->data[0] + (i / w) * f->linesize[0] + 4 * (i % w);
    std::copy(p.begin(), p.end(), dst);
    ++i;
  }
  return f;
}

TEST(FlattenOnto, BlendsAlphaOverTheBackground) {
  FramePtr pic =
      rgba_picture(2, 2, {{0, 255, 0, 0}, {255, 0, 0, 255}, {0, 0, 255, 128}, {200, 100, 50, 64}});
  auto flat = flatten_onto(pic.get(), {32, 64, 192});
  ASSERT_TRUE(flat.ok()) << flat.error().message;
  const AVFrame* f = flat->get();
  ASSERT_EQ(f->format, AV_PIX_FMT_RGB24);
  ASSERT_EQ(f->width, 2);
  ASSERT_EQ(f->height, 2);
  auto at = [&](int x, int y) {
    const uint8_t* p = f->data[0] + y * f->linesize[0] + 3 * x;
    return std::array<int, 3>{p[0], p[1], p[2]};
  };
  EXPECT_EQ(at(0, 0), (std::array<int, 3>{32, 64, 192}));  // transparent: the background
  EXPECT_EQ(at(1, 0), (std::array<int, 3>{255, 0, 0}));    // opaque: the image
  // (a·c + (255 − a)·bg + 127) / 255, per channel.
  EXPECT_EQ(at(0, 1), (std::array<int, 3>{(127 * 32 + 127) / 255, (127 * 64 + 127) / 255,
                                          (128 * 255 + 127 * 192 + 127) / 255}));
  EXPECT_EQ(at(1, 1), (std::array<int, 3>{(64 * 200 + 191 * 32 + 127) / 255,
                                          (64 * 100 + 191 * 64 + 127) / 255,
                                          (64 * 50 + 191 * 192 + 127) / 255}));
}

TEST(FlattenOnto, PicturesWithoutAlphaPassThrough) {
  FramePtr f = make_frame();
  f->format = AV_PIX_FMT_YUVJ420P;
  f->width = 4;
  f->height = 4;
  ASSERT_GE(av_frame_get_buffer(f.get(), 0), 0);
  auto flat = flatten_onto(f.get(), {255, 255, 255});
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ((*flat)->format, AV_PIX_FMT_YUVJ420P);
  EXPECT_EQ((*flat)->data[0], f->data[0]) << "the same picture, by reference";
}

class StillFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("leancut-still-image-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(StillFiles, ProbesAPngAndRefusesOtherFiles) {
  // A 3x2 RGBA PNG through libav's encoder.
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  ASSERT_NE(codec, nullptr);
  CodecContextPtr ctx{avcodec_alloc_context3(codec)};
  ctx->width = 3;
  ctx->height = 2;
  ctx->pix_fmt = AV_PIX_FMT_RGBA;
  ctx->time_base = {1, 25};
  ASSERT_GE(avcodec_open2(ctx.get(), codec, nullptr), 0);
  FramePtr pic = rgba_picture(3, 2, {});
  ASSERT_GE(avcodec_send_frame(ctx.get(), pic.get()), 0);
  PacketPtr pkt = make_packet();
  ASSERT_GE(avcodec_receive_packet(ctx.get(), pkt.get()), 0);
  std::ofstream(dir_ / "a.png", std::ios::binary)
      .write(reinterpret_cast<const char*>(pkt->data), pkt->size);

  auto info = probe_image(dir_ / "a.png");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->codec, "png");
  EXPECT_EQ(info->width, 3);
  EXPECT_EQ(info->height, 2);
  EXPECT_EQ(info->pixel_format, "rgba");
  EXPECT_TRUE(info->has_alpha);

  std::ofstream(dir_ / "text.png") << "not a picture at all\n";
  EXPECT_FALSE(probe_image(dir_ / "text.png").ok());
  // Cut short: the header survives, the picture does not.
  std::ofstream(dir_ / "short.png", std::ios::binary)
      .write(reinterpret_cast<const char*>(pkt->data), pkt->size / 2);
  EXPECT_FALSE(probe_image(dir_ / "short.png").ok());
  std::ofstream(dir_ / "notes.txt") << "a text file\n";
  auto txt = probe_image(dir_ / "notes.txt");
  ASSERT_FALSE(txt.ok());
  EXPECT_THAT(txt.error().message, ::testing::HasSubstr("notes.txt"));
}

}  // namespace
}  // namespace leancut::media
