// Charges that ride in opaque_ref (media/charge.h), and the normalizer charging only the pictures
// its graph allocated.
#include "media/charge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>

#include "media/av_ptr.h"
#include "media/video_normalizer.h"
#include "memory/ledger.h"

namespace leancut::media {
namespace {

FramePtr picture(int width, int height) {
  FramePtr f = make_frame();
  f->format = AV_PIX_FMT_YUV420P;
  f->width = width;
  f->height = height;
  f->sample_aspect_ratio = AVRational{1, 1};
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  EXPECT_EQ(av_frame_make_writable(f.get()), 0);
  for (int p = 0; p < 3; ++p) {
    const int rows = p == 0 ? height : (height + 1) / 2;
    for (int y = 0; y < rows; ++y) {
      std::fill_n(f->data[p] + static_cast<ptrdiff_t>(y) * f->linesize[p], f->linesize[p],
                  static_cast<uint8_t>(p == 0 ? 100 : 128));
    }
  }
  return f;
}

TEST(Charge, AFrameIsChargedOnceForAllItsReferencesUntilTheLastGoes) {
  auto account = memory::Account::make_root("encoder_input", memory::kNoLimit);
  FramePtr f = picture(64, 32);
  const auto bytes = static_cast<int64_t>(frame_bytes(f.get()));
  ASSERT_GT(bytes, 64 * 32 * 3 / 2);
  EXPECT_EQ(charge_frame(f.get(), account.get(), bytes), bytes);
  EXPECT_EQ(account->current_bytes(), bytes);
  FramePtr repeat = ref_frame(f.get());  // a repeated picture: the same data, no new charge
  EXPECT_EQ(account->current_bytes(), bytes);
  f.reset();
  EXPECT_EQ(account->current_bytes(), bytes) << "credited while a reference lives";
  repeat.reset();
  EXPECT_EQ(account->current_bytes(), 0);
  EXPECT_EQ(account->stats().reservations, 1);
}

TEST(Charge, AnOpaqueRefAlreadyThereIsKept) {
  auto account = memory::Account::make_root("encoder_input", memory::kNoLimit);
  FramePtr f = picture(16, 16);
  f->opaque_ref = av_buffer_allocz(8);
  ASSERT_NE(f->opaque_ref, nullptr);
  f->opaque_ref->data[0] = 42;
  AVBuffer* const user_buffer = f->opaque_ref->buffer;
  charge_frame(f.get(), account.get(), 100);
  EXPECT_EQ(account->current_bytes(), 100);
  EXPECT_NE(f->opaque_ref->buffer, user_buffer);  // the charge holds it now, chained
  f.reset();
  EXPECT_EQ(account->current_bytes(), 0);  // and both went (LSan would see the user's leak)
}

TEST(Charge, APacketIsChargedForItsBufferAndTheChargeFollowsItsReferences) {
  auto account = memory::Account::make_root("packets", memory::kNoLimit);
  PacketPtr p = make_packet();
  ASSERT_EQ(av_new_packet(p.get(), 1000), 0);
  const auto bytes = static_cast<int64_t>(p->buf->size);  // 1000 + libav's input padding
  EXPECT_GE(bytes, 1000 + AV_INPUT_BUFFER_PADDING_SIZE);
  EXPECT_EQ(charge_packet(p.get(), account.get()), bytes);
  PacketPtr queued = make_packet();  // as a muxer's interleaving queue takes it
  ASSERT_EQ(av_packet_ref(queued.get(), p.get()), 0);
  av_packet_unref(p.get());
  EXPECT_EQ(account->current_bytes(), bytes);
  queued.reset();
  EXPECT_EQ(account->current_bytes(), 0);
}

TEST(Charge, NoAccountChargesNothing) {
  FramePtr f = picture(16, 16);
  EXPECT_EQ(charge_frame(f.get(), nullptr, 100), 0);
  EXPECT_EQ(f->opaque_ref, nullptr);
}

TEST(Charge, UnsharedBytesCountOnlyNewBuffers) {
  FramePtr in = picture(32, 32);
  FramePtr same = ref_frame(in.get());
  EXPECT_EQ(unshared_bytes(same.get(), in.get()), 0);
  FramePtr other = picture(32, 32);
  EXPECT_EQ(unshared_bytes(other.get(), in.get()), static_cast<int64_t>(frame_bytes(other.get())));
}

// The normalizer charges the pictures its graph made, for as long as they live, and never a
// buffer it shares with the decoded picture (already charged where it was decoded). (FFmpeg
// 5.1's scale filter converts even a same-size picture, since we ask for limited range, so a
// pass-through is not seen here; unshared_bytes is tested above.)
TEST(Charge, TheNormalizerChargesThePicturesItsGraphMade) {
  auto account = memory::Account::make_root("encoder_input", memory::kNoLimit);
  VideoNormalizer normalizer(
      {.width = 320, .height = 180, .frame_rate = Rational{30}, .output_account = account.get()});
  {
    Result<FramePtr> scaled = normalizer.normalize(picture(640, 360), {}, 0);
    ASSERT_TRUE(scaled.ok()) << scaled.error().message;
    EXPECT_EQ(scaled.value()->width, 320);
    EXPECT_EQ(account->current_bytes(), static_cast<int64_t>(frame_bytes(scaled.value().get())));
    FramePtr repeat = ref_frame(scaled.value().get());
    scaled.value().reset();
    EXPECT_GT(account->current_bytes(), 0) << "credited while the repeat lives";
  }
  EXPECT_EQ(account->current_bytes(), 0);
  {
    FramePtr decoded = picture(320, 180);
    FramePtr keep = ref_frame(decoded.get());
    Result<FramePtr> same_size = normalizer.normalize(std::move(decoded), {}, 1);
    ASSERT_TRUE(same_size.ok()) << same_size.error().message;
    EXPECT_EQ(account->current_bytes(), unshared_bytes(same_size.value().get(), keep.get()));
  }
  EXPECT_EQ(account->current_bytes(), 0);
  EXPECT_EQ(account->stats().reservations, 2);
}

}  // namespace
}  // namespace leancut::media
