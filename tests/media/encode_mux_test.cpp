// Encoder + Muxer round trips: what is encoded and muxed decodes back with the same frame and
// sample counts, durations and content.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "media/decode_helper.h"
#include "media/encode.h"
#include "media/mux.h"
#include "media/testmedia.h"

namespace leancut::media {
namespace {

namespace fs = std::filesystem;

class EncodeMux : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::quiet_libav_logs();
    dir_ = fs::temp_directory_path() / ("leancut-test-media-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path dir_;
};

FramePtr video_frame(int w, int h, int64_t index, int source_id) {
  FramePtr f = make_frame();
  f->format = AV_PIX_FMT_YUV420P;
  f->width = w;
  f->height = h;
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  // A horizontal gradient moving one pixel a frame, with the code block on top.
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      f->data[0][r * f->linesize[0] + c] = static_cast<uint8_t>(16 + (c + index) % 200);
    }
  }
  for (int p = 1; p < 3; ++p) {
    for (int r = 0; r < h / 2; ++r) std::memset(f->data[p] + r * f->linesize[p], 128, w / 2);
  }
  paint_frame_code(f.get(), index, source_id);
  f->pts = index;
  return f;
}

FramePtr audio_frame(int samples, int channels, int sample_rate, int64_t first_sample) {
  FramePtr f = make_frame();
  f->format = AV_SAMPLE_FMT_FLTP;
  f->sample_rate = sample_rate;
  f->nb_samples = samples;
  av_channel_layout_default(&f->ch_layout, channels);
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  for (int ch = 0; ch < channels; ++ch) {
    auto* data = reinterpret_cast<float*>(f->data[ch]);
    for (int i = 0; i < samples; ++i) {
      const double t = static_cast<double>(first_sample + i) / sample_rate;
      data[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 440.0 * t));
    }
  }
  f->pts = first_sample;
  return f;
}

struct RoundTrip {
  std::string container;
  std::string extension;
};
void PrintTo(const RoundTrip& rt, std::ostream* os) {
  *os << rt.container;
}

class EncodeMuxRoundTrip : public EncodeMux, public ::testing::WithParamInterface<RoundTrip> {};

TEST_P(EncodeMuxRoundTrip, FramesAndSamplesComeBack) {
  const RoundTrip& rt = GetParam();
  constexpr int kW = 320, kH = 240, kFrames = 45;
  constexpr int kRate = 48000, kChannels = 2, kSamples = kRate + 777;  // not whole AAC frames
  const fs::path path = dir_ / ("out" + rt.extension);
  ASSERT_EQ(Muxer::guess_format(path), rt.container);
  const bool global_header = Muxer::wants_global_header(rt.container);

  VideoEncoderSettings vs;
  vs.width = kW;
  vs.height = kH;
  vs.frame_rate = {25, 1};
  vs.preset = "ultrafast";
  vs.crf = 20;
  vs.gop_frames = 12;
  vs.global_header = global_header;
  auto venc = Encoder::open_video(vs);
  ASSERT_TRUE(venc.ok()) << venc.error().message;
  EXPECT_EQ((*venc)->frame_size(), 0);
  EXPECT_EQ(av_cmp_q((*venc)->time_base(), AVRational{1, 25}), 0);

  AudioEncoderSettings as;
  as.sample_rate = kRate;
  as.channels = kChannels;
  as.global_header = global_header;
  auto aenc = Encoder::open_audio(as);
  ASSERT_TRUE(aenc.ok()) << aenc.error().message;
  EXPECT_EQ((*aenc)->frame_size(), 1024);
  EXPECT_EQ(av_cmp_q((*aenc)->time_base(), AVRational{1, kRate}), 0);
  EXPECT_EQ((*aenc)->context()->ch_layout.nb_channels, kChannels);

  auto mux = Muxer::open(path, rt.container);
  ASSERT_TRUE(mux.ok()) << mux.error().message;
  auto vi = (*mux)->add_stream((*venc)->context());
  auto ai = (*mux)->add_stream((*aenc)->context());
  ASSERT_TRUE(vi.ok() && ai.ok());
  EXPECT_EQ(*vi, 0);
  EXPECT_EQ(*ai, 1);
  ASSERT_TRUE((*mux)->start().ok());

  Encoder& v = **venc;
  Encoder& a = **aenc;
  Muxer& m = **mux;
  auto vsink = [&](AVPacket* p) {
    EXPECT_GT(p->duration, 0);
    return m.write(p, *vi, v.time_base());
  };
  auto asink = [&](AVPacket* p) { return m.write(p, *ai, a.time_base()); };
  int64_t sent_samples = 0;
  for (int i = 0; i < kFrames; ++i) {
    FramePtr f = video_frame(kW, kH, i, 5);
    ASSERT_TRUE(v.encode(f.get(), vsink).ok());
    // Audio up to the end of this video frame, in encoder-sized frames.
    const int64_t until = std::min<int64_t>(kSamples, (i + 1) * kRate / 25);
    while (sent_samples + a.frame_size() <= until ||
           (i == kFrames - 1 && sent_samples < kSamples)) {
      const int n = static_cast<int>(std::min<int64_t>(a.frame_size(), kSamples - sent_samples));
      FramePtr af = audio_frame(n, kChannels, kRate, sent_samples);
      ASSERT_TRUE(a.encode(af.get(), asink).ok());
      sent_samples += n;
    }
  }
  ASSERT_TRUE(v.encode(nullptr, vsink).ok());
  ASSERT_TRUE(a.encode(nullptr, asink).ok());
  EXPECT_TRUE(v.encode(nullptr, vsink).ok());  // a second drain is a no-op
  EXPECT_GT(m.bytes_written(), 0);
  ASSERT_TRUE(m.finish().ok());
  EXPECT_EQ(m.bytes_written(), static_cast<int64_t>(fs::file_size(path)));

  int64_t bad_codes = 0;
  auto file = testing::decode_file(path, [&](const AVFrame* f, int64_t i) {
    auto code = read_frame_code(f);
    if (!code || code->frame_mod32 != frame_code_for_index(i) || code->source_id != 5) {
      ++bad_codes;
    }
  });
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_NE(file->video(), nullptr);
  ASSERT_NE(file->audio(), nullptr);
  EXPECT_EQ(file->video()->frames, kFrames);
  EXPECT_EQ(file->video()->width, kW);
  EXPECT_EQ(bad_codes, 0);
  EXPECT_NEAR(file->video()->end_s - file->video()->first_s, kFrames / 25.0, 1e-3);
  EXPECT_EQ(file->audio()->channels, kChannels);
  EXPECT_EQ(file->audio()->sample_rate, kRate);
  // Up to one AAC frame of padding at the end; matroska and MPEG-TS (no edit lists) also
  // keep the 1024 priming samples at the start.
  const bool edit_lists = rt.container == "mp4" || rt.container == "mov";
  EXPECT_GE(file->audio()->samples, kSamples);
  EXPECT_LE(file->audio()->samples, kSamples + (edit_lists ? 1024 : 2048));
}

INSTANTIATE_TEST_SUITE_P(Containers, EncodeMuxRoundTrip,
                         ::testing::Values(RoundTrip{"mp4", ".mp4"}, RoundTrip{"mov", ".mov"},
                                           RoundTrip{"matroska", ".mkv"},
                                           RoundTrip{"mpegts", ".ts"}),
                         [](const auto& p) { return p.param.container; });

TEST_F(EncodeMux, VariableFrameDurationsSurviveInMatroska) {
  VideoEncoderSettings vs;
  vs.width = 160;
  vs.height = 120;
  vs.frame_rate = {25, 1};
  vs.time_base = {1, 1000};
  vs.preset = "ultrafast";
  auto enc = Encoder::open_video(vs);
  ASSERT_TRUE(enc.ok()) << enc.error().message;
  EXPECT_EQ(av_cmp_q((*enc)->time_base(), AVRational{1, 1000}), 0);
  const fs::path path = dir_ / "vfr.mkv";
  auto mux = Muxer::open(path, "");
  ASSERT_TRUE(mux.ok()) << mux.error().message;
  auto vi = (*mux)->add_stream((*enc)->context());
  ASSERT_TRUE(vi.ok());
  ASSERT_TRUE((*mux)->start().ok());
  const std::vector<int64_t> durations = {40, 40, 100, 20, 40, 60, 40, 40, 200, 40};
  std::map<int64_t, int64_t> packet_durations;
  auto sink = [&](AVPacket* p) {
    packet_durations[p->pts] = p->duration;
    return (*mux)->write(p, *vi, (*enc)->time_base());
  };
  int64_t pts = 0;
  for (size_t i = 0; i < durations.size(); ++i) {
    FramePtr f = video_frame(160, 120, static_cast<int64_t>(i), 1);
    f->pts = pts;
    f->pkt_duration = durations[i];
    ASSERT_TRUE((*enc)->encode(f.get(), sink).ok());
    pts += durations[i];
  }
  ASSERT_TRUE((*enc)->encode(nullptr, sink).ok());
  ASSERT_TRUE((*mux)->finish().ok());

  // The encoder gave each packet its frame's duration.
  pts = 0;
  for (int64_t d : durations) {
    EXPECT_EQ(packet_durations[pts], d) << "pts " << pts;
    pts += d;
  }
  auto file = testing::decode_file(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  const auto& v = *file->video();
  ASSERT_EQ(v.pts.size(), durations.size());
  for (size_t i = 1; i < v.pts.size(); ++i) {
    EXPECT_EQ(v.pts[i] - v.pts[i - 1], durations[i - 1]) << i;
  }
}

TEST_F(EncodeMux, RotationIsWrittenAsADisplayMatrix) {
  for (double degrees : {-90.0, 90.0, 180.0}) {
    VideoEncoderSettings vs;
    vs.width = 160;
    vs.height = 96;
    vs.preset = "ultrafast";
    auto enc = Encoder::open_video(vs);
    ASSERT_TRUE(enc.ok());
    const fs::path path = dir_ / ("rot" + std::to_string(static_cast<int>(degrees)) + ".mp4");
    auto mux = Muxer::open(path, "mp4");
    ASSERT_TRUE(mux.ok());
    auto vi = (*mux)->add_stream((*enc)->context());
    ASSERT_TRUE(vi.ok());
    ASSERT_TRUE((*mux)->set_rotation(*vi, degrees).ok());
    EXPECT_FALSE((*mux)->set_rotation(7, degrees).ok());
    ASSERT_TRUE((*mux)->start().ok());
    auto sink = [&](AVPacket* p) { return (*mux)->write(p, *vi, (*enc)->time_base()); };
    for (int i = 0; i < 3; ++i) {
      FramePtr f = video_frame(160, 96, i, 0);
      ASSERT_TRUE((*enc)->encode(f.get(), sink).ok());
    }
    ASSERT_TRUE((*enc)->encode(nullptr, sink).ok());
    ASSERT_TRUE((*mux)->finish().ok());
    auto file = testing::decode_file(path);
    ASSERT_TRUE(file.ok()) << file.error().message;
    ASSERT_NE(file->video(), nullptr);
    EXPECT_EQ(file->video()->frames, 3);
    ASSERT_TRUE(file->video()->rotation.has_value());
    EXPECT_NEAR(std::abs(std::remainder(*file->video()->rotation - degrees, 360.0)), 0, 0.01);
  }
}

TEST_F(EncodeMux, AbrModeAndOptionsAreApplied) {
  VideoEncoderSettings vs;
  vs.width = 320;
  vs.height = 240;
  vs.bitrate = 300000;
  vs.preset = "ultrafast";
  vs.threads = 1;
  vs.x264_params = "bframes=2:ref=2";
  auto enc = Encoder::open_video(vs);
  ASSERT_TRUE(enc.ok()) << enc.error().message;
  EXPECT_EQ((*enc)->context()->bit_rate, 300000);
  EXPECT_GT((*enc)->context()->has_b_frames, 0);              // x264-params reached x264
  EXPECT_EQ((*enc)->context()->colorspace, AVCOL_SPC_BT709);  // BT.709 at every size

  VideoEncoderSettings hd;
  hd.width = 720;
  hd.height = 1280;
  hd.preset = "ultrafast";
  auto hd_enc = Encoder::open_video(hd);
  ASSERT_TRUE(hd_enc.ok());
  EXPECT_EQ((*hd_enc)->context()->colorspace, AVCOL_SPC_BT709);
  EXPECT_EQ((*hd_enc)->context()->color_primaries, AVCOL_PRI_BT709);
  EXPECT_EQ((*hd_enc)->context()->gop_size, 60);
  EXPECT_TRUE((*hd_enc)->context()->flags & AV_CODEC_FLAG_GLOBAL_HEADER);
  EXPECT_GT((*hd_enc)->context()->extradata_size, 0);
}

TEST_F(EncodeMux, BadSettingsAreErrorsNotCrashes) {
  VideoEncoderSettings vs;
  vs.width = 320;
  vs.height = 240;
  vs.codec = "no-such-codec";
  auto e = Encoder::open_video(vs);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::Unsupported);

  vs.codec = "libx264";
  vs.preset = "warp-speed";
  e = Encoder::open_video(vs);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("libx264"), std::string::npos) << e.error().message;

  vs.preset = "ultrafast";
  vs.width = 0;
  e = Encoder::open_video(vs);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::InvalidInput);

  AudioEncoderSettings as;
  as.channels = 6;
  auto a = Encoder::open_audio(as);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::InvalidInput);
}

TEST_F(EncodeMux, EncodingAfterTheDrainIsAnError) {
  AudioEncoderSettings as;
  auto enc = Encoder::open_audio(as);
  ASSERT_TRUE(enc.ok());
  int packets = 0;
  auto sink = [&](AVPacket*) {
    ++packets;
    return ok_status();
  };
  FramePtr f = audio_frame(1024, 2, 48000, 0);
  ASSERT_TRUE((*enc)->encode(f.get(), sink).ok());
  ASSERT_TRUE((*enc)->encode(nullptr, sink).ok());
  EXPECT_GT(packets, 0);
  EXPECT_FALSE((*enc)->encode(f.get(), sink).ok());
}

TEST_F(EncodeMux, SinkErrorsStopTheEncoder) {
  AudioEncoderSettings as;
  auto enc = Encoder::open_audio(as);
  ASSERT_TRUE(enc.ok());
  auto sink = [](AVPacket*) -> Status { return make_error(ErrorCode::Io, "disk full"); };
  Status st;
  for (int i = 0; i < 4 && st.ok(); ++i) {
    FramePtr f = audio_frame(1024, 2, 48000, i * 1024);
    st = (*enc)->encode(f.get(), sink);
  }
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::Io);
  EXPECT_EQ(st.error().message, "disk full");
}

TEST_F(EncodeMux, MuxerGuardsItsOrder) {
  EXPECT_EQ(Muxer::guess_format("a.mp4"), "mp4");
  EXPECT_EQ(Muxer::guess_format("/x/y/a.MOV"), "mov");
  EXPECT_EQ(Muxer::guess_format("a.mkv"), "matroska");
  EXPECT_EQ(Muxer::guess_format("a.ts"), "mpegts");
  EXPECT_EQ(Muxer::guess_format("a.unknownext"), "");
  EXPECT_TRUE(Muxer::wants_global_header("mp4"));
  EXPECT_TRUE(Muxer::wants_global_header("matroska"));
  EXPECT_FALSE(Muxer::wants_global_header("mpegts"));
  EXPECT_FALSE(Muxer::wants_global_header("nonsense"));

  auto bad = Muxer::open(dir_ / "a.unknownext", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidInput);
  auto bad_name = Muxer::open(dir_ / "a.mp4", "no-such-format");
  ASSERT_FALSE(bad_name.ok());
  auto no_dir = Muxer::open(dir_ / "missing" / "a.mp4", "");
  ASSERT_FALSE(no_dir.ok());
  EXPECT_EQ(no_dir.error().code, ErrorCode::Io);

  VideoEncoderSettings vs;
  vs.width = 160;
  vs.height = 96;
  vs.preset = "ultrafast";
  auto enc = Encoder::open_video(vs);
  ASSERT_TRUE(enc.ok());

  auto mux = Muxer::open(dir_ / "order.mp4", "");
  ASSERT_TRUE(mux.ok());
  EXPECT_EQ((*mux)->path(), dir_ / "order.mp4");
  EXPECT_FALSE((*mux)->start().ok());  // no streams yet
  PacketPtr pkt = make_packet();
  EXPECT_FALSE((*mux)->write(pkt.get(), 0, {1, 30}).ok());
  ASSERT_TRUE((*mux)->add_stream((*enc)->context()).ok());
  ASSERT_TRUE((*mux)->set_option("movflags", "+faststart").ok());
  ASSERT_TRUE((*mux)->start().ok());
  EXPECT_FALSE((*mux)->add_stream((*enc)->context()).ok());
  EXPECT_FALSE((*mux)->set_option("movflags", "+faststart").ok());
  EXPECT_FALSE((*mux)->start().ok());
  ASSERT_TRUE((*mux)->finish().ok());
  EXPECT_FALSE((*mux)->finish().ok());
  EXPECT_FALSE((*mux)->write(pkt.get(), 0, {1, 30}).ok());

  auto opts = Muxer::open(dir_ / "opts.mp4", "mp4");
  ASSERT_TRUE(opts.ok());
  ASSERT_TRUE((*opts)->add_stream((*enc)->context()).ok());
  ASSERT_TRUE((*opts)->set_option("no_such_option", "1").ok());
  Status st = (*opts)->start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("no_such_option"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace leancut::media
