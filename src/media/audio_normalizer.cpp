#include "media/audio_normalizer.h"

#include <algorithm>
#include <vector>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
}

#include "media/av_error.h"
#include "time/time_range.h"

namespace leancut::media {
namespace {

constexpr AVSampleFormat kOutputFormat = AV_SAMPLE_FMT_FLTP;  // what FFmpeg's AAC encoder takes
constexpr int kSilenceChunk = 4096;

// One buffer of planar samples, freed with av_freep semantics.
struct SampleBuffer {
  AvMallocPtr<uint8_t> data;
  std::vector<uint8_t*> planes;
};

Result<SampleBuffer> alloc_samples(int channels, int samples) {
  SampleBuffer buf;
  buf.planes.assign(static_cast<std::size_t>(channels), nullptr);
  int err = av_samples_alloc(buf.planes.data(), nullptr, channels, samples, kOutputFormat, 0);
  if (err < 0) return av_error(err, "av_samples_alloc");
  buf.data.reset(buf.planes[0]);  // av_samples_alloc makes one block; plane 0 points at its start
  return buf;
}

}  // namespace

Result<std::unique_ptr<AudioNormalizer>> AudioNormalizer::create(const AudioTarget& target) {
  auto n = std::make_unique<AudioNormalizer>(target);
  if (n->fifo_ == nullptr) return make_error(ErrorCode::OverBudget, "av_audio_fifo_alloc failed");
  return n;
}

AudioNormalizer::AudioNormalizer(const AudioTarget& target) : target_(target) {
  av_channel_layout_default(&layout_, target_.channels);
  fifo_.reset(av_audio_fifo_alloc(kOutputFormat, target_.channels, target_.frame_size * 4));
}

AudioNormalizer::~AudioNormalizer() {
  av_channel_layout_uninit(&layout_);
  av_channel_layout_uninit(&swr_in_layout_);
}

void AudioNormalizer::begin_segment(int64_t sample_count, Rational start, float gain) {
  LEANCUT_CHECK(!in_segment_);
  in_segment_ = true;
  gain_ = gain;
  segment_samples_ = sample_count;
  written_ = 0;
  segment_origin_ = sample_at(start, target_.sample_rate);
  have_position_ = false;
}

Status AudioNormalizer::write_silence(int64_t samples) {
  if (samples <= 0) return ok_status();
  LEANCUT_ASSIGN_OR_RETURN(SampleBuffer zero, alloc_samples(target_.channels, kSilenceChunk));
  av_samples_set_silence(zero.planes.data(), 0, kSilenceChunk, target_.channels, kOutputFormat);
  while (samples > 0) {
    int n = static_cast<int>(std::min<int64_t>(samples, kSilenceChunk));
    int err = av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(zero.planes.data()), n);
    if (err < 0) return av_error(err, "av_audio_fifo_write");
    samples -= n;
    written_ += n;
  }
  return ok_status();
}

// Places `samples` resampled samples that begin at grid position next_position_.
Status AudioNormalizer::write_converted(uint8_t** data, int samples) {
  int64_t start = next_position_;
  next_position_ += samples;
  int64_t room = segment_samples_ - written_;
  if (room <= 0) return ok_status();
  if (start > written_) {
    // A gap: the source starts late or skips; the segment hears silence there.
    LEANCUT_TRY(write_silence(std::min(start - written_, room)));
    room = segment_samples_ - written_;
    if (room <= 0) return ok_status();
  }
  int64_t drop = std::max<int64_t>(0, written_ - start);  // before the start, or already written
  int64_t take = std::min<int64_t>(samples - drop, room);
  if (take <= 0) return ok_status();
  std::vector<uint8_t*> planes(static_cast<std::size_t>(target_.channels));
  const int bytes_per_sample = av_get_bytes_per_sample(kOutputFormat);
  for (int c = 0; c < target_.channels; ++c) planes[c] = data[c] + drop * bytes_per_sample;
  if (gain_ != 1.0f) {
    // The shot's gain, on the resampler's float output before it is queued (no clipping here:
    // the encoder takes floats, and AAC carries values past full scale).
    for (int c = 0; c < target_.channels; ++c) {
      float* x = reinterpret_cast<float*>(planes[c]);
      for (int64_t i = 0; i < take; ++i) x[i] *= gain_;
    }
  }
  int err = av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(planes.data()),
                                static_cast<int>(take));
  if (err < 0) return av_error(err, "av_audio_fifo_write");
  written_ += take;
  return ok_status();
}

Status AudioNormalizer::feed(const AVFrame* frame, Rational time) {
  LEANCUT_CHECK(in_segment_);
  if (segment_full()) return ok_status();
  bool shape_changed = swr_ == nullptr || frame->sample_rate != swr_in_rate_ ||
                       frame->format != swr_in_format_ ||
                       av_channel_layout_compare(&frame->ch_layout, &swr_in_layout_) != 0;
  if (!have_position_ || shape_changed) {
    // The first frame's timestamp pins the segment to the source; after it the resampler's
    // output is contiguous, so later timestamps are not consulted.
    if (shape_changed) {
      SwrContext* raw = nullptr;
      // FFmpeg 5.1 declares the layouts non-const but only reads them.
      int err = swr_alloc_set_opts2(&raw, &layout_, kOutputFormat, target_.sample_rate,
                                    const_cast<AVChannelLayout*>(&frame->ch_layout),
                                    static_cast<AVSampleFormat>(frame->format), frame->sample_rate,
                                    0, nullptr);
      swr_.reset(raw);
      if (err < 0) return av_error(err, "swr_alloc_set_opts2");
      swr_in_rate_ = frame->sample_rate;
      swr_in_format_ = frame->format;
      av_channel_layout_uninit(&swr_in_layout_);
      av_channel_layout_copy(&swr_in_layout_, &frame->ch_layout);
    }
    int err = swr_init(swr_.get());  // also clears what a previous segment left inside
    if (err < 0) return av_error(err, "swr_init");
    next_position_ = sample_at(time, target_.sample_rate) - segment_origin_;
    have_position_ = true;
  }
  int capacity = swr_get_out_samples(swr_.get(), frame->nb_samples);
  if (capacity <= 0) return ok_status();
  LEANCUT_ASSIGN_OR_RETURN(SampleBuffer out, alloc_samples(target_.channels, capacity));
  int got = swr_convert(swr_.get(), out.planes.data(), capacity,
                        const_cast<const uint8_t**>(frame->extended_data), frame->nb_samples);
  if (got < 0) return av_error(got, "swr_convert");
  return write_converted(out.planes.data(), got);
}

Status AudioNormalizer::end_segment() {
  LEANCUT_CHECK(in_segment_);
  if (!segment_full() && have_position_ && swr_ != nullptr) {
    int capacity = swr_get_out_samples(swr_.get(), 0);
    if (capacity > 0) {
      LEANCUT_ASSIGN_OR_RETURN(SampleBuffer out, alloc_samples(target_.channels, capacity));
      int got = swr_convert(swr_.get(), out.planes.data(), capacity, nullptr, 0);
      if (got < 0) return av_error(got, "swr_convert(flush)");
      LEANCUT_TRY(write_converted(out.planes.data(), got));
    }
  }
  LEANCUT_TRY(write_silence(segment_samples_ - written_));
  in_segment_ = false;
  return ok_status();
}

FramePtr AudioNormalizer::make_output_frame(int samples) {
  FramePtr f = make_frame();
  f->nb_samples = samples;
  f->format = kOutputFormat;
  f->sample_rate = target_.sample_rate;
  LEANCUT_CHECK(av_channel_layout_copy(&f->ch_layout, &layout_) == 0);
  LEANCUT_CHECK(av_frame_get_buffer(f.get(), 0) == 0);
  LEANCUT_CHECK(av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(f->extended_data),
                                   samples) == samples);
  f->pts = samples_out_;
  samples_out_ += samples;
  return f;
}

FramePtr AudioNormalizer::pop_frame() {
  if (av_audio_fifo_size(fifo_.get()) < target_.frame_size) return nullptr;
  return make_output_frame(target_.frame_size);
}

FramePtr AudioNormalizer::pop_last_frame() {
  int left = av_audio_fifo_size(fifo_.get());
  if (left <= 0) return nullptr;
  return make_output_frame(left);
}

}  // namespace leancut::media
