#include "engine/audio_beds.h"

#include <algorithm>
#include <cmath>

extern "C" {
#include <libavutil/frame.h>
}

#include "base/check.h"
#include "media/av_error.h"

namespace leancut::engine {
namespace {

// Each pass seeks this far before `in` so the decoder's overlap (AAC pre-roll) is primed before
// the first sample kept (as for the shots' audio).
const Rational kPreroll{1, 10};
// The ducking detector stays on this long after the shots' peak was last above the threshold:
// longer than the period of a 50 Hz tone, so a low voice's zero crossings are not silence.
constexpr double kDetectorHoldSeconds = 0.02;
// The bed's normalizer hands out frames of this many samples (any size works; the mixer copies
// across frame boundaries).
constexpr int kBedFrame = 1024;

}  // namespace

struct BedMixer::Active {
  std::shared_ptr<media::StreamReader> reader;
  std::unique_ptr<media::AudioNormalizer> normalizer;
  media::FramePtr current;  // a bed frame being copied out
  int offset = 0;           // samples of `current` already copied
  int64_t queued = 0;       // bed samples of the passes begun so far
  int64_t produced = 0;     // bed samples mixed so far
  bool in_segment = false;
  bool source_ended = false;
  std::vector<std::vector<float>> scratch;  // per channel: the samples pulled for this frame
};

BedMixer::BedMixer(const Timeline& timeline, OpenAudioReader open)
    : timeline_(timeline),
      open_(std::move(open)),
      active_(timeline.beds.size()),
      duck_db_(timeline.beds.size(), 0.0f),
      hold_(timeline.beds.size(), 0) {}

BedMixer::~BedMixer() = default;

int BedMixer::open_beds() const {
  return static_cast<int>(
      std::count_if(active_.begin(), active_.end(), [](const auto& a) { return a != nullptr; }));
}

// Fills bed.scratch with the bed's next `samples` samples: from the frame being copied, else the
// normalizer's next frame, else by feeding it the source (one decoded frame at a time, so the
// FIFO never holds more than a frame beyond what is asked), starting a pass when one ends.
Status BedMixer::pull(const ResolvedBed& rb, Active& bed, int samples) {
  for (auto& plane : bed.scratch) {
    if (plane.size() < static_cast<size_t>(samples)) plane.resize(static_cast<size_t>(samples));
  }
  int got = 0;
  while (got < samples) {
    if (bed.current != nullptr && bed.offset < bed.current->nb_samples) {
      const int k = std::min(samples - got, bed.current->nb_samples - bed.offset);
      for (size_t c = 0; c < bed.scratch.size(); ++c) {
        const float* src = reinterpret_cast<const float*>(bed.current->extended_data[c]);
        std::copy_n(src + bed.offset, k, bed.scratch[c].begin() + got);
      }
      bed.offset += k;
      got += k;
      continue;
    }
    bed.offset = 0;
    if ((bed.current = bed.normalizer->pop_frame()) != nullptr) continue;
    if (bed.in_segment) {
      if (!bed.normalizer->segment_full() && !bed.source_ended) {
        LEANCUT_ASSIGN_OR_RETURN(std::optional<media::DecodedFrame> f, bed.reader->next());
        if (!f) {
          bed.source_ended = true;  // end_segment pads the rest of the pass with silence
        } else {
          LEANCUT_TRY(bed.normalizer->feed(f->frame.get(), f->time));
        }
        continue;
      }
      LEANCUT_TRY(bed.normalizer->end_segment());
      bed.in_segment = false;
      continue;
    }
    if (bed.queued < rb.sample_count) {
      // The next pass over [in, out): sample-exact, since the normalizer cuts each pass at
      // exactly `period` samples from `in`, whatever the source's rate.
      const int64_t pass = std::min(rb.period, rb.sample_count - bed.queued);
      bed.normalizer->begin_segment(pass, rb.in);
      bed.queued += pass;
      LEANCUT_TRY(bed.reader->seek(rb.in - kPreroll));
      bed.source_ended = false;
      bed.in_segment = true;
      continue;
    }
    if ((bed.current = bed.normalizer->pop_last_frame()) == nullptr) {
      return make_error(ErrorCode::Internal, "audio bed ran out of samples");
    }
  }
  return ok_status();
}

Status BedMixer::mix(AVFrame* frame) {
  const int n = frame->nb_samples;
  const int channels = frame->ch_layout.nb_channels;
  const int64_t p0 = frame->pts;
  const int rate = timeline_.output.audio.sample_rate;
  if (n <= 0 || timeline_.beds.empty()) return ok_status();
  if (int err = av_frame_make_writable(frame); err < 0) {
    return media::av_error(err, "av_frame_make_writable (audio beds)");
  }
  // The sidechain: the shots' own peak per sample, before any bed is added.
  std::vector<float> side(static_cast<size_t>(n), 0.0f);
  for (int c = 0; c < channels; ++c) {
    const float* x = reinterpret_cast<const float*>(frame->extended_data[c]);
    for (int i = 0; i < n; ++i) side[i] = std::max(side[i], std::abs(x[i]));
  }
  std::vector<float> gain(static_cast<size_t>(n));
  bool mixed = false;
  for (size_t b = 0; b < timeline_.beds.size(); ++b) {
    const ResolvedBed& rb = timeline_.beds[b];
    // The duck level moves with the shots' audio whether or not the bed plays yet, so a bed that
    // comes in under speech comes in ducked.
    for (int i = 0; i < n; ++i) gain[i] = 1.0f;
    if (rb.duck) {
      const float threshold =
          static_cast<float>(std::pow(10.0, rb.duck->threshold_db.to_double() / 20.0));
      const float amount = static_cast<float>(rb.duck->amount_db.to_double());
      const float down = -amount / static_cast<float>(rb.duck->attack.to_double() * rate);
      const float up = -amount / static_cast<float>(rb.duck->release.to_double() * rate);
      const auto hold = static_cast<int64_t>(kDetectorHoldSeconds * rate);
      float db = duck_db_[b];
      for (int i = 0; i < n; ++i) {
        if (side[i] > threshold) hold_[b] = hold;
        if (hold_[b] > 0) {
          --hold_[b];
          db = std::max(amount, db - down);
        } else {
          db = std::min(0.0f, db + up);
        }
        gain[i] = db == 0.0f ? 1.0f : std::pow(10.0f, db / 20.0f);
      }
      duck_db_[b] = db;
    }
    const int64_t end = rb.first_sample + rb.sample_count;
    const int64_t s0 = std::max(p0, rb.first_sample);
    const int64_t s1 = std::min(p0 + n, end);
    if (s0 >= s1) continue;
    if (active_[b] == nullptr) {
      auto bed = std::make_unique<Active>();
      LEANCUT_ASSIGN_OR_RETURN(bed->reader, open_(rb.source));
      LEANCUT_ASSIGN_OR_RETURN(
          bed->normalizer,
          media::AudioNormalizer::create(
              {.sample_rate = rate, .channels = channels, .frame_size = kBedFrame}));
      bed->scratch.assign(static_cast<size_t>(channels),
                          std::vector<float>(static_cast<size_t>(n)));
      // Frames come in order from sample 0, so a bed opens at its first sample.
      bed->produced = s0 - rb.first_sample;
      LEANCUT_CHECK(bed->produced == 0);
      active_[b] = std::move(bed);
    }
    Active& bed = *active_[b];
    const int len = static_cast<int>(s1 - s0);
    if (Status s = pull(rb, bed, len); !s) {
      return s.error().with_context("audio[" + std::to_string(rb.index) + "]");
    }
    const int at = static_cast<int>(s0 - p0);
    for (int j = 0; j < len; ++j) {
      const int64_t pos = bed.produced + j;
      double g = rb.gain;
      if (pos < rb.fade_in) g *= static_cast<double>(pos) / static_cast<double>(rb.fade_in);
      if (rb.sample_count - pos <= rb.fade_out) {
        g *= static_cast<double>(rb.sample_count - pos) / static_cast<double>(rb.fade_out);
      }
      const float total = static_cast<float>(g) * gain[at + j];
      for (int c = 0; c < channels; ++c) {
        reinterpret_cast<float*>(frame->extended_data[c])[at + j] += total * bed.scratch[c][j];
      }
    }
    bed.produced += len;
    mixed = true;
    if (bed.produced == rb.sample_count) active_[b].reset();  // closes its reader
  }
  if (mixed) {
    for (int c = 0; c < channels; ++c) {
      float* x = reinterpret_cast<float*>(frame->extended_data[c]);
      for (int i = 0; i < n; ++i) x[i] = std::clamp(x[i], -1.0f, 1.0f);
    }
  }
  return ok_status();
}

}  // namespace leancut::engine
