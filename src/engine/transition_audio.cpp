#include "engine/transition_audio.h"

#include <algorithm>

#include "time/time_range.h"

namespace leancut::engine {
namespace {

// The other sound is sought this far before where it starts so the decoder's overlap (AAC
// pre-roll) is primed before the first sample kept.
const Rational kPreroll{1, 10};

}  // namespace

TransitionAudio::TransitionAudio(const Timeline& timeline, media::AudioTarget target,
                                 OpenAudioReader open)
    : timeline_(timeline), target_(target), open_(std::move(open)) {
  const Rational fps = timeline.output.fps;
  const auto sample = [&](int64_t frame) {
    return sample_at(frame_time(frame, fps), timeline.output.audio.sample_rate);
  };
  for (std::size_t i = 0; i < timeline.shots.size(); ++i) {
    const ResolvedShot& shot = timeline.shots[i];
    if (!shot.transition_in) continue;
    const int64_t cut = shot.timeline_first_frame;
    const int64_t from = sample(cut - shot.transition_in->before);
    const int64_t to = sample(cut + shot.transition_in->after);
    if (shot.transition_in->is_dissolve()) {
      if (to > from) dissolves_.push_back({from, sample(cut), to, i});
    } else {
      ramps_.push_back({from, sample(cut), false});
      ramps_.push_back({sample(cut), to, true});
    }
  }
}

Status TransitionAudio::apply(AVFrame* frame) {
  if (!ramps_.empty()) apply_ramps(frame);
  if (!dissolves_.empty()) LEANCUT_TRY(mix_dissolves(frame));
  return ok_status();
}

void TransitionAudio::apply_ramps(AVFrame* f) {
  const int64_t first = f->pts;
  const int64_t end = f->pts + f->nb_samples;
  while (next_ramp_ < ramps_.size() && ramps_[next_ramp_].to <= first) ++next_ramp_;
  for (std::size_t r = next_ramp_; r < ramps_.size() && ramps_[r].from < end; ++r) {
    const Ramp& ramp = ramps_[r];
    const double length = static_cast<double>(ramp.to - ramp.from);
    for (int64_t s = std::max(first, ramp.from); s < std::min(end, ramp.to); ++s) {
      const double x = (static_cast<double>(s - ramp.from) + 0.5) / length;
      const auto gain = static_cast<float>(ramp.up ? x : 1 - x);
      for (int c = 0; c < f->ch_layout.nb_channels; ++c) {
        reinterpret_cast<float*>(f->extended_data[c])[s - first] *= gain;
      }
    }
  }
}

Status TransitionAudio::begin_next_segment(const Dissolve& d) {
  ++segment_;
  const Rational fps = timeline_.output.fps;
  const ResolvedShot& b = timeline_.shots[d.incoming];
  const ResolvedShot& a = timeline_.shots[d.incoming - 1];
  const ResolvedShot& shot = segment_ == 0 ? b : a;
  const int64_t count = segment_ == 0 ? d.cut - d.from : d.to - d.cut;
  const Rational start =
      segment_ == 0 ? b.slot_time(-b.transition_in->before, fps) : a.slot_time(a.frame_count, fps);
  normalizer_->begin_segment(count, start, static_cast<float>(shot.gain));
  segment_open_ = true;
  reader_.reset();
  if (!shot.take_audio || shot.speed != Rational{1} || count == 0) return ok_status();
  LEANCUT_ASSIGN_OR_RETURN(reader_, open_(shot.source));
  return reader_->seek(start - kPreroll);
}

Status TransitionAudio::produce(const Dissolve& d) {
  if (segment_open_ && reader_ && !normalizer_->segment_full()) {
    LEANCUT_ASSIGN_OR_RETURN(std::optional<media::DecodedFrame> f, reader_->next());
    if (f) {
      LEANCUT_TRY(normalizer_->feed(f->frame.get(), f->time));
    } else {
      reader_.reset();  // the source's audio ends early: silence pads the rest
    }
  } else if (segment_open_) {
    LEANCUT_TRY(normalizer_->end_segment());
    segment_open_ = false;
    reader_.reset();
  } else if (segment_ < 1) {
    LEANCUT_TRY(begin_next_segment(d));
  } else {
    drained_ = true;
    if (media::FramePtr last = normalizer_->pop_last_frame()) ready_.push_back(std::move(last));
  }
  while (media::FramePtr f = normalizer_->pop_frame()) ready_.push_back(std::move(f));
  return ok_status();
}

Status TransitionAudio::mix_dissolves(AVFrame* f) {
  const int64_t first = f->pts;
  const int64_t end = f->pts + f->nb_samples;
  const int channels = f->ch_layout.nb_channels;
  while (current_ < dissolves_.size()) {
    const Dissolve& d = dissolves_[current_];
    if (d.from >= end) return ok_status();
    if (!normalizer_) {
      LEANCUT_ASSIGN_OR_RETURN(normalizer_, media::AudioNormalizer::create(target_));
      segment_ = -1;
      segment_open_ = false;
      drained_ = false;
      ready_.clear();
      ready_used_ = 0;
    }
    for (int64_t s = std::max(first, d.from); s < std::min(end, d.to); ++s) {
      while (ready_.empty() && !drained_) LEANCUT_TRY(produce(d));
      float other[8] = {};
      if (!ready_.empty()) {
        const AVFrame* o = ready_.front().get();
        for (int c = 0; c < channels && c < 8; ++c) {
          other[c] = reinterpret_cast<const float*>(o->extended_data[c])[ready_used_];
        }
        if (++ready_used_ == o->nb_samples) {
          ready_.pop_front();
          ready_used_ = 0;
        }
      }
      const double w = (static_cast<double>(s - d.from) + 0.5) / static_cast<double>(d.to - d.from);
      // Before the cut the shots' own audio is the outgoing shot's and the other sound the
      // incoming one's; after it the other way round.
      const auto own_gain = static_cast<float>(s < d.cut ? 1 - w : w);
      const auto other_gain = static_cast<float>(s < d.cut ? w : 1 - w);
      for (int c = 0; c < channels; ++c) {
        float& v = reinterpret_cast<float*>(f->extended_data[c])[s - first];
        v = v * own_gain + other[c] * other_gain;
      }
    }
    if (d.to > end) return ok_status();
    // This dissolve is done: free its stream before the next.
    normalizer_.reset();
    reader_.reset();
    ready_.clear();
    ++current_;
  }
  return ok_status();
}

}  // namespace leancut::engine
