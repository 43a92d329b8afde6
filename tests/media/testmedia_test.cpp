// The generated test media: each standard clip decodes to what its manifest entry says, and
// every frame carries a readable code block.
#include "media/testmedia.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

extern "C" {
#include <libavutil/imgutils.h>
}

#include "media/decode_helper.h"

namespace leancut::media {
namespace {

namespace fs = std::filesystem;

class StandardMedia : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::quiet_libav_logs();
    dir_ = std::make_unique<fs::path>(testing::shared_test_media_dir());
    auto clips = generate_test_media(*dir_, {});
    ASSERT_TRUE(clips.ok()) << clips.error().message;
    clips_ = std::make_unique<std::vector<ClipInfo>>(std::move(clips).value());
  }
  static void TearDownTestSuite() {
    clips_.reset();
    dir_.reset();
  }

  static const ClipInfo& clip(const std::string& file) {
    for (const ClipInfo& c : *clips_) {
      if (c.file == file) return c;
    }
    ADD_FAILURE() << "no clip " << file;
    return clips_->front();
  }

  // Decodes `c`, checking every frame's code block.
  static void expect_codes_on_every_frame(const ClipInfo& c) {
    int64_t checked = 0;
    int64_t bad = 0;
    auto file = testing::decode_file(*dir_ / c.file, [&](const AVFrame* f, int64_t i) {
      ++checked;
      std::optional<FrameCode> code = read_frame_code(f);
      if (!code || code->frame_mod32 != frame_code_for_index(i) ||
          code->source_id != c.source_id % 12) {
        if (++bad <= 5) {
          ADD_FAILURE() << c.file << " frame " << i << ": "
                        << (code ? std::to_string(code->frame_mod32) + "/" +
                                       std::to_string(code->source_id)
                                 : std::string("no code"));
        }
      }
    });
    ASSERT_TRUE(file.ok()) << file.error().message;
    EXPECT_EQ(checked, c.frames);
    EXPECT_EQ(bad, 0);
  }

  // Shared by the suite's tests (one process may run several).
  static inline std::unique_ptr<fs::path> dir_;
  static inline std::unique_ptr<std::vector<ClipInfo>> clips_;
};

TEST_F(StandardMedia, ListsTheTenClipsWithDistinctIdsColoursAndTones) {
  ASSERT_EQ(clips_->size(), 10u);
  std::set<int> ids;
  std::set<double> tones;
  for (const ClipInfo& c : *clips_) {
    ids.insert(c.source_id);
    if (c.has_audio) tones.insert(c.audio_frequency_hz);
    EXPECT_TRUE(fs::is_regular_file(*dir_ / c.file)) << c.file;
  }
  EXPECT_EQ(ids.size(), 10u);
  EXPECT_EQ(tones.size(), 9u);  // f_noaudio has none
}

TEST_F(StandardMedia, ManifestHoldsEveryClip) {
  std::ifstream in(*dir_ / "manifest.json");
  ASSERT_TRUE(in.good());
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(doc.is_object());
  std::map<std::string, nlohmann::json> by_file;
  for (const auto& e : doc["clips"]) by_file[e["file"].get<std::string>()] = e;
  for (const ClipInfo& c : *clips_) {
    ASSERT_TRUE(by_file.count(c.file)) << c.file;
    const nlohmann::json& e = by_file[c.file];
    EXPECT_EQ(e["source_id"], c.source_id);
    EXPECT_EQ(e["width"], c.width);
    EXPECT_EQ(e["height"], c.height);
    EXPECT_EQ(e["frames"], c.frames);
    EXPECT_EQ(e["has_audio"], c.has_audio);
    EXPECT_EQ(e["container"], c.container);
  }
}

TEST_F(StandardMedia, RegeneratingIsAQuickNoOp) {
  std::map<std::string, fs::file_time_type> before;
  for (const ClipInfo& c : *clips_) before[c.file] = fs::last_write_time(*dir_ / c.file);
  const auto t0 = std::chrono::steady_clock::now();
  auto again = generate_test_media(*dir_, {});
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *clips_);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  for (const ClipInfo& c : *clips_) {
    EXPECT_EQ(fs::last_write_time(*dir_ / c.file), before[c.file]) << c.file;
  }
}

TEST_F(StandardMedia, EveryClipDecodesToItsManifestEntry) {
  for (const ClipInfo& c : *clips_) {
    SCOPED_TRACE(c.file);
    auto file = testing::decode_file(*dir_ / c.file);
    ASSERT_TRUE(file.ok()) << file.error().message;
    const std::map<std::string, std::string> demuxers = {
        {"mp4", "mov,mp4,m4a,3gp,3g2,mj2"}, {"matroska", "matroska,webm"}, {"mpegts", "mpegts"}};
    EXPECT_EQ(file->format_name, demuxers.at(c.container));
    const testing::DecodedStream* v = file->video();
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->codec, "h264");
    EXPECT_EQ(v->width, c.width);
    EXPECT_EQ(v->height, c.height);
    EXPECT_EQ(v->frames, c.frames);
    // Video spans its frames; the first frame is at the container start (the mkv and TS
    // shift everything by the AAC priming, 1024 samples, so allow ~21 ms).
    // (A VFR stream's last frame lasts as long as the one before: the container has no
    // duration for it.)
    EXPECT_NEAR(v->end_s - v->first_s, c.duration_s, c.vfr ? 0.05 : 1e-3);
    EXPECT_NEAR(v->first_s, c.start_time_s, 0.025);
    EXPECT_NEAR(file->start_time_s, c.start_time_s, 0.025);

    if (c.rotation_degrees != 0) {
      ASSERT_TRUE(v->rotation.has_value());
      EXPECT_NEAR(*v->rotation, c.rotation_degrees, 0.01);
    } else {
      EXPECT_TRUE(!v->rotation.has_value() || std::abs(*v->rotation) < 0.01);
    }

    const testing::DecodedStream* a = file->audio();
    ASSERT_EQ(a != nullptr, c.has_audio);
    if (a != nullptr) {
      EXPECT_EQ(a->codec, "aac");
      EXPECT_EQ(a->sample_rate, c.audio_sample_rate);
      EXPECT_EQ(a->channels, c.audio_channels);
      // Decoders may emit the encoder's padding of the last frame (up to 1024 samples), and
      // without mp4 edit lists the 1024 priming samples too.
      const double seconds = static_cast<double>(a->samples) / a->sample_rate;
      const double slack = (c.container == "mp4" ? 1024.0 : 2048.0) / a->sample_rate;
      EXPECT_GE(seconds, c.audio_duration_s - 1e-6);
      EXPECT_LE(seconds, c.audio_duration_s + slack + 1e-6);
      EXPECT_NEAR(a->first_s, c.start_time_s, 0.025);
    }
  }
}

TEST_F(StandardMedia, RotatedClipIsAPortraitPhoneClip) {
  const ClipInfo& c = clip("e_rotated.mp4");
  EXPECT_EQ(c.width, 1280);
  EXPECT_EQ(c.height, 720);
  EXPECT_EQ(c.display_width, 720);
  EXPECT_EQ(c.display_height, 1280);
  EXPECT_EQ(c.rotation_degrees, -90);
}

TEST_F(StandardMedia, OffsetTsStartsAtTenSeconds) {
  const ClipInfo& c = clip("j_offset.ts");
  auto file = testing::decode_file(*dir_ / c.file);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_NEAR(file->video()->first_s, 10.0, 1e-3);
  EXPECT_NEAR(file->start_time_s, 10.0, 0.025);
}

TEST_F(StandardMedia, VfrClipHasAlternatingFrameDurations) {
  const ClipInfo& c = clip("i_vfr.mkv");
  ASSERT_TRUE(c.vfr);
  auto file = testing::decode_file(*dir_ / c.file);
  ASSERT_TRUE(file.ok()) << file.error().message;
  const testing::DecodedStream* v = file->video();
  ASSERT_EQ(v->pts.size(), 160u);
  ASSERT_EQ(v->time_base.num, 1);
  ASSERT_EQ(v->time_base.den, 1000);
  std::map<int64_t, int> durations;
  for (size_t i = 1; i < v->pts.size(); ++i) ++durations[v->pts[i] - v->pts[i - 1]];
  ASSERT_EQ(durations.size(), 2u);
  EXPECT_EQ(durations[33], 80);
  EXPECT_EQ(durations[67], 79);
}

TEST_F(StandardMedia, ShortAudioEndsAtThreeSeconds) {
  const ClipInfo& c = clip("g_shortaudio.mp4");
  auto file = testing::decode_file(*dir_ / c.file);
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_NE(file->audio(), nullptr);
  EXPECT_NEAR(file->audio()->end_s, 3.0, 1024.0 / 48000 + 1e-3);
  EXPECT_NEAR(file->video()->end_s, 8.0, 1e-3);
}

TEST_F(StandardMedia, CodesOnEveryFrameOfTheLandscapeClip) {
  expect_codes_on_every_frame(clip("a_720p30.mp4"));
}

TEST_F(StandardMedia, CodesOnEveryFrameOfTheRotatedClip) {
  expect_codes_on_every_frame(clip("e_rotated.mp4"));
}

TEST_F(StandardMedia, CodesOnEveryFrameOfTheVfrClip) {
  expect_codes_on_every_frame(clip("i_vfr.mkv"));
}

TEST_F(StandardMedia, CodesOnEveryFrameOfTheOffsetTs) {
  expect_codes_on_every_frame(clip("j_offset.ts"));
}

// ---- the code block alone -----------------------------------------------------------------

FramePtr yuv_frame(int w, int h, uint8_t y, uint8_t u, uint8_t v) {
  FramePtr f = make_frame();
  f->format = AV_PIX_FMT_YUV420P;
  f->width = w;
  f->height = h;
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  for (int r = 0; r < h; ++r) std::memset(f->data[0] + r * f->linesize[0], y, w);
  for (int r = 0; r < (h + 1) / 2; ++r) {
    std::memset(f->data[1] + r * f->linesize[1], u, (w + 1) / 2);
    std::memset(f->data[2] + r * f->linesize[2], v, (w + 1) / 2);
  }
  return f;
}

FramePtr scaled(const AVFrame* in, int w, int h) {
  FramePtr out = yuv_frame(w, h, 16, 128, 128);
  SwsPtr sws{sws_getContext(in->width, in->height, AV_PIX_FMT_YUV420P, w, h, AV_PIX_FMT_YUV420P,
                            SWS_BICUBIC, nullptr, nullptr, nullptr)};
  EXPECT_TRUE(sws);
  sws_scale(sws.get(), in->data, in->linesize, 0, in->height, out->data, out->linesize);
  return out;
}

// Pads `in` into a black w x h frame, centred (what letterboxing does).
FramePtr letterboxed(const AVFrame* in, int w, int h) {
  FramePtr out = yuv_frame(w, h, 16, 128, 128);
  const int x0 = ((w - in->width) / 2) & ~1, y0 = ((h - in->height) / 2) & ~1;
  for (int p = 0; p < 3; ++p) {
    const int shift = p == 0 ? 0 : 1;
    for (int r = 0; r < in->height >> shift; ++r) {
      std::memcpy(out->data[p] + (r + (y0 >> shift)) * out->linesize[p] + (x0 >> shift),
                  in->data[p] + r * in->linesize[p], in->width >> shift);
    }
  }
  return out;
}

// Turns `in` a quarter clockwise (what transpose=clock does).
FramePtr rotated(const AVFrame* in) {
  FramePtr out = yuv_frame(in->height, in->width, 16, 128, 128);
  for (int p = 0; p < 3; ++p) {
    const int shift = p == 0 ? 0 : 1;
    const int iw = in->width >> shift, ih = in->height >> shift;
    for (int r = 0; r < ih; ++r) {
      for (int c = 0; c < iw; ++c) {
        out->data[p][c * out->linesize[p] + (ih - 1 - r)] = in->data[p][r * in->linesize[p] + c];
      }
    }
  }
  return out;
}

TEST(FrameCode, ReadsWhatWasPaintedForEveryCodeAndColour) {
  for (int id = 0; id < 12; ++id) {
    for (int64_t i = 0; i < 32; ++i) {
      FramePtr f = yuv_frame(640, 360, 120, 128, 128);
      paint_frame_code(f.get(), i + 64, id);
      auto code = read_frame_code(f.get());
      ASSERT_TRUE(code.has_value()) << id << " " << i;
      EXPECT_EQ(code->frame_mod32, frame_code_for_index(i));
      EXPECT_EQ(code->source_id, id);
    }
  }
}

TEST(FrameCode, SurvivesScalingLetterboxingAndRotation) {
  FramePtr f = yuv_frame(1280, 720, 90, 100, 150);
  paint_frame_code(f.get(), 29, 8);
  for (auto [w, h] : {std::pair{1920, 1080}, {640, 360}, {320, 180}, {96, 54}, {1080, 1920}}) {
    FramePtr s = scaled(f.get(), w, h);
    auto code = read_frame_code(s.get());
    ASSERT_TRUE(code.has_value()) << w << "x" << h;
    EXPECT_EQ(code->frame_mod32, 29);
    EXPECT_EQ(code->source_id, 8);
  }
  // A landscape frame fitted into a portrait canvas, and a quarter turn.
  FramePtr boxed = letterboxed(scaled(f.get(), 720, 406).get(), 720, 1280);
  auto code = read_frame_code(boxed.get());
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(code->frame_mod32, 29);
  FramePtr turned = rotated(f.get());
  code = read_frame_code(turned.get());
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(code->frame_mod32, 29);
  EXPECT_EQ(code->source_id, 8);
}

TEST(FrameCode, BlackGreyAndBusyCentresHaveNoCode) {
  FramePtr black = yuv_frame(640, 360, 16, 128, 128);
  EXPECT_FALSE(read_frame_code(black.get()).has_value());
  FramePtr grey = yuv_frame(640, 360, 128, 128, 128);
  EXPECT_FALSE(read_frame_code(grey.get()).has_value());
  FramePtr busy = yuv_frame(640, 360, 16, 48, 48);
  for (int r = 0; r < 360; ++r) {
    for (int c = 0; c < 640; ++c)
      busy->data[0][r * busy->linesize[0] + c] = ((r + c) % 2) ? 200 : 20;
  }
  EXPECT_FALSE(read_frame_code(busy.get()).has_value());
  EXPECT_FALSE(read_frame_code(nullptr).has_value());
}

TEST(FrameCode, CodeForIndexWrapsAt32) {
  EXPECT_EQ(frame_code_for_index(0), 0);
  EXPECT_EQ(frame_code_for_index(31), 31);
  EXPECT_EQ(frame_code_for_index(32), 0);
  EXPECT_EQ(frame_code_for_index(299), 299 % 32);
  EXPECT_EQ(code_colour(1, 0).y, 23);
  EXPECT_EQ(code_colour(31, 0).y, 233);
  EXPECT_EQ(code_colour(0, 12).u, code_colour(0, 0).u);  // the palette repeats after 12
}

TEST(TestMediaSets, BenchIsTwentyMixedClipsOfHalfAMinuteToAMinute) {
  auto clips = test_media_clips("bench");
  ASSERT_TRUE(clips.ok());
  ASSERT_EQ(clips->size(), 20u);
  std::set<std::string> names;
  std::set<std::string> kinds;
  for (size_t i = 0; i < clips->size(); ++i) {
    const ClipInfo& c = (*clips)[i];
    EXPECT_EQ(c.source_id, static_cast<int>(i));
    EXPECT_EQ(c.file.rfind("bench_", 0), 0u) << c.file;
    EXPECT_GE(c.duration_s, 29.9);
    EXPECT_LE(c.duration_s, 60.1);
    names.insert(c.file);
    kinds.insert(c.file.substr(9));
  }
  EXPECT_EQ(names.size(), 20u);
  EXPECT_EQ(kinds.size(), 7u);
  // Deterministic: the same list every time.
  auto again = test_media_clips("bench");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *clips);
}

TEST(TestMediaSets, UnknownSetIsInvalidInput) {
  auto clips = test_media_clips("huge");
  ASSERT_FALSE(clips.ok());
  EXPECT_EQ(clips.error().code, ErrorCode::InvalidInput);
  auto gen = generate_test_media(fs::temp_directory_path() / "leancut-unused", {"huge"});
  ASSERT_FALSE(gen.ok());
  EXPECT_EQ(gen.error().code, ErrorCode::InvalidInput);
}

}  // namespace
}  // namespace leancut::media
