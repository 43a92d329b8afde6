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
#include <string>
#include <vector>

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

// A 32x16 JPEG, white in its top-left 16x8 quarter and black elsewhere, with an EXIF APP1
// segment saying `orientation` (none when 0) spliced in after the SOI marker, as cameras write it.
std::vector<uint8_t> jpeg_with_orientation(int orientation) {
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  EXPECT_NE(codec, nullptr);
  CodecContextPtr ctx{avcodec_alloc_context3(codec)};
  ctx->width = 32;
  ctx->height = 16;
  ctx->pix_fmt = AV_PIX_FMT_YUVJ420P;
  ctx->time_base = {1, 25};
  EXPECT_GE(avcodec_open2(ctx.get(), codec, nullptr), 0);
  FramePtr f = make_frame();
  f->format = AV_PIX_FMT_YUVJ420P;
  f->width = 32;
  f->height = 16;
  EXPECT_GE(av_frame_get_buffer(f.get(), 0), 0);
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 32; ++x) f->data[0][y * f->linesize[0] + x] = x < 16 && y < 8 ? 255 : 0;
  }
  for (int p = 1; p < 3; ++p) {
    for (int y = 0; y < 8; ++y) std::fill_n(f->data[p] + y * f->linesize[p], 16, uint8_t{128});
  }
  f->pts = 0;
  EXPECT_GE(avcodec_send_frame(ctx.get(), f.get()), 0);
  PacketPtr pkt = make_packet();
  EXPECT_GE(avcodec_receive_packet(ctx.get(), pkt.get()), 0);
  std::vector<uint8_t> jpeg(pkt->data, pkt->data + pkt->size);
  if (orientation == 0) return jpeg;
  // APP1: "Exif\0\0", a little-endian TIFF header and one IFD entry: tag 0x0112 SHORT 1 =
  // orientation. 34 bytes of segment after the marker, its length included.
  const uint8_t o = static_cast<uint8_t>(orientation);
  const uint8_t segment[] = {0xFF, 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0,    0,    'I', 'I',
                             42,   0,    8, 0,  0,   0,   1,   0,   0x12, 0x01, 3,   0,
                             1,    0,    0, 0,  o,   0,   0,   0,   0,    0,    0,   0};
  std::vector<uint8_t> out;
  out.reserve(jpeg.size() + sizeof segment);
  out.push_back(jpeg[0]);
  out.push_back(jpeg[1]);
  for (uint8_t byte : segment) out.push_back(byte);
  for (size_t i = 2; i < jpeg.size(); ++i) out.push_back(jpeg[i]);
  return out;
}

TEST_F(StillFiles, JpegsAreTurnedUprightAsTheirExifOrientationSays) {
  // Where the white quarter lands in the upright picture: (right half?, bottom half?).
  struct Case {
    int orientation;
    bool right;
    bool bottom;
  };
  const Case cases[] = {{0, false, false}, {1, false, false}, {2, true, false},
                        {3, true, true},   {4, false, true},  {5, false, false},
                        {6, true, false},  {7, true, true},   {8, false, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE("orientation " + std::to_string(c.orientation));
    const std::vector<uint8_t> bytes = jpeg_with_orientation(c.orientation);
    const fs::path path = dir_ / ("o" + std::to_string(c.orientation) + ".jpg");
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    auto info = probe_image(path);
    ASSERT_TRUE(info.ok()) << info.error().message;
    const bool turned = c.orientation >= 5;
    EXPECT_EQ(info->width, turned ? 16 : 32);
    EXPECT_EQ(info->height, turned ? 32 : 16);
    auto picture = decode_image(path);
    ASSERT_TRUE(picture.ok()) << picture.error().message;
    const AVFrame* p = picture->get();
    ASSERT_EQ(p->width, info->width);
    ASSERT_EQ(p->height, info->height);
    auto flat = flatten_onto(p, {0, 0, 0});
    ASSERT_TRUE(flat.ok());
    // The centre of each quarter: bright only in the expected one. Read through RGB24 or the
    // JPEG's own luma.
    const AVFrame* q = flat->get();
    const auto bright = [&](int x, int y) {
      const uint8_t v = q->format == AV_PIX_FMT_RGB24 ? q->data[0][y * q->linesize[0] + 3 * x]
                                                      : q->data[0][y * q->linesize[0] + x];
      return v > 128;
    };
    for (int right = 0; right < 2; ++right) {
      for (int bottom = 0; bottom < 2; ++bottom) {
        const int x = p->width / 4 + right * p->width / 2;
        const int y = p->height / 4 + bottom * p->height / 2;
        EXPECT_EQ(bright(x, y), (right == 1) == c.right && (bottom == 1) == c.bottom)
            << "quarter right=" << right << " bottom=" << bottom;
      }
    }
  }
}

}  // namespace
}  // namespace leancut::media
