// Still shots through the real binary, checked by decoding the output: exact frame counts, the
// image's transparent parts showing the output's background, its opaque parts its own colour, a
// half-transparent part the blend of the two, `fit` letterboxing a JPEG with the background, and
// silence under every still. The images are written by the test itself with libav's PNG encoder
// (RGBA) and leancut's JPEG encoder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "media/decode_helper.h"
#include "media/image_encode.h"
#include "media/testmedia.h"
#include "support/audio_analysis.h"
#include "support/subprocess.h"
#include "support/test_media_env.h"

namespace leancut::testing {
namespace {

namespace fs = std::filesystem;

const void* const kMediaEnv = register_test_media_environment();

constexpr int kRate = 48000;

struct Rgba {
  int r, g, b, a;
};

// The limited-range BT.709 YUV of an 8-bit sRGB colour (what the normalizer makes of RGB).
std::array<double, 3> bt709(double r, double g, double b) {
  const double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return {16 + 219 * y / 255, 128 + 224 * (b - y) / (1.8556 * 255),
          128 + 224 * (r - y) / (1.5748 * 255)};
}

// An RGBA PNG of w x h whose pixel (x, y) is colour(x, y), through libav's png encoder.
void write_png(const fs::path& path, int w, int h, const std::function<Rgba(int, int)>& colour) {
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  ASSERT_NE(codec, nullptr);
  media::CodecContextPtr ctx{avcodec_alloc_context3(codec)};
  ctx->width = w;
  ctx->height = h;
  ctx->pix_fmt = AV_PIX_FMT_RGBA;
  ctx->time_base = {1, 25};
  ASSERT_GE(avcodec_open2(ctx.get(), codec, nullptr), 0);
  media::FramePtr f = media::make_frame();
  f->format = AV_PIX_FMT_RGBA;
  f->width = w;
  f->height = h;
  ASSERT_GE(av_frame_get_buffer(f.get(), 0), 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const Rgba c = colour(x, y);
      uint8_t* p = f->data[0] + y * f->linesize[0] + 4 * x;
      p[0] = static_cast<uint8_t>(c.r);
      p[1] = static_cast<uint8_t>(c.g);
      p[2] = static_cast<uint8_t>(c.b);
      p[3] = static_cast<uint8_t>(c.a);
    }
  }
  f->pts = 0;
  ASSERT_GE(avcodec_send_frame(ctx.get(), f.get()), 0);
  ASSERT_GE(avcodec_send_frame(ctx.get(), nullptr), 0);
  media::PacketPtr pkt = media::make_packet();
  ASSERT_GE(avcodec_receive_packet(ctx.get(), pkt.get()), 0);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(pkt->data), pkt->size);
}

// A flat JPEG of w x h in the limited-range BT.709 colour yuv, through leancut's image encoder.
void write_jpeg(const fs::path& path, int w, int h, std::array<int, 3> yuv) {
  auto enc = media::ImageEncoder::open(
      {.format = media::ImageFormat::Jpeg, .width = w, .height = h, .quality = 95});
  ASSERT_TRUE(enc.ok()) << enc.error().message;
  media::FramePtr f = media::make_frame();
  f->format = AV_PIX_FMT_YUV420P;
  f->width = w;
  f->height = h;
  f->colorspace = AVCOL_SPC_BT709;
  f->color_range = AVCOL_RANGE_MPEG;
  ASSERT_GE(av_frame_get_buffer(f.get(), 0), 0);
  for (int plane = 0; plane < 3; ++plane) {
    const int ph = plane == 0 ? h : h / 2;
    const int pw = plane == 0 ? w : w / 2;
    for (int y = 0; y < ph; ++y) {
      std::fill_n(f->data[plane] + y * f->linesize[plane], pw, static_cast<uint8_t>(yuv[plane]));
    }
  }
  auto jpeg = (*enc)->encode(f.get());
  ASSERT_TRUE(jpeg.ok()) << jpeg.error().message;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>((*jpeg)->data), (*jpeg)->size);
}

class Stills : public ::testing::Test {
 protected:
  void SetUp() override {
    if (leancut_binary().empty()) GTEST_SKIP() << "LEANCUT_BINARY is not set";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-stills-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    media::testing::quiet_libav_logs();
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }
  static std::string media(const std::string& file) { return (test_media_dir() / file).string(); }

  fs::path dir_;
};

// The YUV of pixel (x, y) of a decoded YUV420P frame.
std::array<int, 3> pixel(const AVFrame* f, int x, int y) {
  return {f->data[0][y * f->linesize[0] + x], f->data[1][(y / 2) * f->linesize[1] + x / 2],
          f->data[2][(y / 2) * f->linesize[2] + x / 2]};
}

MATCHER_P2(NearYuv, expected, tolerance, "") {
  for (int i = 0; i < 3; ++i) {
    if (std::abs(arg[i] - expected[i]) > tolerance) {
      *result_listener << "is (" << arg[0] << ", " << arg[1] << ", " << arg[2] << "), expected ("
                       << expected[0] << ", " << expected[1] << ", " << expected[2] << ")";
      return false;
    }
  }
  return true;
}

TEST_F(Stills, AStillBetweenTwoShotsShowsItsAlphaOverTheBackground) {
  // 320x180 output on a blue-grey background; the PNG is 160x90 (scaled 2x by fit "fit"):
  // transparent (green, never seen) on the left, opaque red on the right, and a 50% blue square
  // (alpha 128) on the left around (40, 45).
  constexpr int kBgR = 32, kBgG = 64, kBgB = 192;
  write_png(dir_ / "logo.png", 160, 90, [](int x, int y) -> Rgba {
    if (x >= 20 && x < 60 && y >= 25 && y < 65) return {0, 0, 255, 128};
    return x < 80 ? Rgba{0, 255, 0, 0} : Rgba{255, 0, 0, 255};
  });
  // A 4:3 JPEG (yellow-ish) that "fit" pillarboxes with the background: scaled to 240x180 at
  // x = 40.
  const std::array<int, 3> jpeg_yuv = {170, 60, 150};
  write_jpeg(dir_ / "card.jpg", 160, 120, jpeg_yuv);

  const fs::path bp = dir_ / "bp.json";
  std::ofstream(bp) << R"({"version": 1, "output": {"width": 320, "height": 180, "fps": 30,
      "background": "#2040c0", "video": {"preset": "ultrafast", "crf": 10}}, "shots": [
      {"source": ")" + media("a_720p30.mp4") +
                           R"(", "in": 0, "out": 1},
      {"image": "logo.png", "duration": 1.5, "name": "logo"},
      {"source": ")" + media("a_720p30.mp4") +
                           R"(", "in": 1, "out": 2},
      {"image": "card.jpg", "duration": 0.5, "fit": "fit"}]})";
  const fs::path out = dir_ / "out.mp4";
  ProcessResult r =
      run_process({leancut_binary(), "render", bp.string(), "-o", out.string(), "-q"}, 120000);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::vector<std::optional<media::FrameCode>> codes;
  // Per frame: transparent area, opaque area, half-transparent square, JPEG's pillar and centre.
  std::vector<std::array<std::array<int, 3>, 5>> probes;
  auto decoded = media::testing::decode_file(out, [&](const AVFrame* f, int64_t) {
    codes.push_back(media::read_frame_code(f));
    probes.push_back({pixel(f, 120, 20), pixel(f, 240, 90), pixel(f, 80, 90), pixel(f, 16, 90),
                      pixel(f, 160, 90)});
  });
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  // round(duration × fps) frames each: 30 + 45 + 30 + 15.
  ASSERT_EQ(codes.size(), 120u);
  for (int64_t k = 0; k < 30; ++k) {
    ASSERT_TRUE(codes[k]) << "frame " << k;
    EXPECT_EQ(codes[k]->frame_mod32, media::frame_code_for_index(k)) << "frame " << k;
    ASSERT_TRUE(codes[75 + k]) << "frame " << 75 + k;
    EXPECT_EQ(codes[75 + k]->frame_mod32, media::frame_code_for_index(30 + k))
        << "frame " << 75 + k;
  }
  auto rounded = [](std::array<double, 3> v) {
    return std::array<int, 3>{static_cast<int>(std::lround(v[0])),
                              static_cast<int>(std::lround(v[1])),
                              static_cast<int>(std::lround(v[2]))};
  };
  const auto background = rounded(bt709(kBgR, kBgG, kBgB));
  const auto red = rounded(bt709(255, 0, 0));
  // Alpha 128 of blue over the background, per channel: (128·c + 127·bg) / 255.
  const auto blend =
      rounded(bt709(127.0 * kBgR / 255, 127.0 * kBgG / 255, (128.0 * 255 + 127.0 * kBgB) / 255));
  for (int64_t k = 30; k < 75; ++k) {
    EXPECT_FALSE(codes[k]) << "frame " << k << " should be the still";
    EXPECT_THAT(probes[k][0], NearYuv(background, 3)) << "transparent, frame " << k;
    EXPECT_THAT(probes[k][1], NearYuv(red, 3)) << "opaque, frame " << k;
    EXPECT_THAT(probes[k][2], NearYuv(blend, 3)) << "half-transparent, frame " << k;
  }
  for (int64_t k = 105; k < 120; ++k) {
    EXPECT_THAT(probes[k][3], NearYuv(background, 3)) << "pillar, frame " << k;
    EXPECT_THAT(probes[k][4], NearYuv(jpeg_yuv, 4)) << "JPEG, frame " << k;
  }

  // Silence under the stills, the source's tone under the shots.
  auto audio = decode_audio_mono(out);
  ASSERT_TRUE(audio.ok()) << audio.error().message;
  const auto frames_audio = [&](int64_t first, int64_t count) {
    const int64_t margin = 3 * kRate / 30;
    return audio->window(first * kRate / 30 + margin, count * kRate / 30 - 2 * margin);
  };
  EXPECT_GT(rms(frames_audio(0, 30)), 0.03);
  EXPECT_LT(rms(frames_audio(30, 45)), 0.001);
  EXPECT_GT(rms(frames_audio(75, 30)), 0.03);
  EXPECT_LT(rms(frames_audio(105, 15)), 0.001);
}

TEST_F(Stills, FillAndStretchPlaceTheImage) {
  // A 1:1 image with a red left half and a blue right half. "fill" crops it to 16:9 (centre
  // kept: the middle columns split red | blue at the frame's centre); "stretch" fills the frame.
  write_png(dir_ / "sq.png", 64, 64, [](int x, int) -> Rgba {
    return x < 32 ? Rgba{255, 0, 0, 255} : Rgba{0, 0, 255, 255};
  });
  const fs::path bp = dir_ / "bp.json";
  std::ofstream(bp) << R"({"version": 1, "output": {"width": 320, "height": 180, "fps": 30,
      "background": "white", "video": {"preset": "ultrafast", "crf": 10}}, "shots": [
      {"image": "sq.png", "duration": "1/3", "fit": "fill"},
      {"image": "sq.png", "duration": "1/3", "fit": "stretch"},
      {"image": "sq.png", "duration": "1/3"}]})";
  const fs::path out = dir_ / "out.mp4";
  ProcessResult r =
      run_process({leancut_binary(), "render", bp.string(), "-o", out.string(), "-q"}, 120000);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::array<std::array<int, 3>, 3>> px;
  auto decoded = media::testing::decode_file(out, [&](const AVFrame* f, int64_t) {
    px.push_back({pixel(f, 8, 90), pixel(f, 312, 90), pixel(f, 100, 90)});
  });
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(px.size(), 30u);
  auto rounded = [](std::array<double, 3> v) {
    return std::array<int, 3>{static_cast<int>(std::lround(v[0])),
                              static_cast<int>(std::lround(v[1])),
                              static_cast<int>(std::lround(v[2]))};
  };
  const auto red = rounded(bt709(255, 0, 0));
  const auto blue = rounded(bt709(0, 0, 255));
  const auto white = rounded(bt709(255, 255, 255));
  for (int k = 0; k < 20; ++k) {  // fill and stretch: the image reaches both edges
    EXPECT_THAT(px[k][0], NearYuv(red, 3)) << "frame " << k;
    EXPECT_THAT(px[k][1], NearYuv(blue, 3)) << "frame " << k;
  }
  for (int k = 20; k < 30; ++k) {  // fit: 180x180 at x = 70, white bars
    EXPECT_THAT(px[k][0], NearYuv(white, 3)) << "frame " << k;
    EXPECT_THAT(px[k][1], NearYuv(white, 3)) << "frame " << k;
    EXPECT_THAT(px[k][2], NearYuv(red, 3)) << "frame " << k;
  }
}

TEST_F(Stills, MissingAndUnreadableImagesAndBadFieldsAreNamed) {
  std::ofstream(dir_ / "notes.png") << "this is not a picture\n";
  std::ofstream(dir_ / "notes.txt") << "nor is this\n";
  write_png(dir_ / "ok.png", 16, 16, [](int, int) { return Rgba{1, 2, 3, 255}; });
  const fs::path bp = dir_ / "bad.json";
  std::ofstream(bp) << R"({"version": 1, "shots": [
      {"image": "missing.png", "duration": 1},
      {"image": "notes.png", "duration": 1},
      {"image": "notes.txt", "duration": 1},
      {"image": ")" + media("a_720p30.mp4") +
                           R"(", "duration": 1},
      {"image": "ok.png", "duration": "00:00:01:00"},
      {"image": "ok.png", "duration": 1, "in": 0},
      {"image": "ok.png"},
      {"image": "ok.png", "duration": 0.001}]})";
  ProcessResult r = run_process({leancut_binary(), "validate", bp.string()}, 60000);
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[0].image: "));
  EXPECT_THAT(r.err, ::testing::HasSubstr("missing.png: no such file"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[1].image: "));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[2].image: "));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[3].image: "));
  EXPECT_THAT(r.err, ::testing::HasSubstr("not a PNG or JPEG image (h264)"));
  EXPECT_THAT(r.err,
              ::testing::HasSubstr("shots[4].duration: a still shot's duration is in seconds"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[5].in: unknown field"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[6].duration: required field is missing"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("shots[7].duration: 0.001s is shorter than one output "
                                          "frame"));

  // A render refuses it the same way, before writing anything.
  ProcessResult render = run_process(
      {leancut_binary(), "render", bp.string(), "-o", (dir_ / "out.mp4").string(), "-q"}, 60000);
  EXPECT_NE(render.exit_code, 0);
  EXPECT_THAT(render.err, ::testing::HasSubstr("shots[1].image: "));
  EXPECT_FALSE(fs::exists(dir_ / "out.mp4"));
}

}  // namespace
}  // namespace leancut::testing
