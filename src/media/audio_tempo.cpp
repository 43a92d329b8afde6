#include "media/audio_tempo.h"

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
}

#include <cmath>
#include <cstdio>
#include <string>

#include "base/check.h"
#include "media/av_error.h"
#include "media/filter_chain.h"

namespace leancut::media {

std::string atempo_chain(Rational speed) {
  std::string chain;
  double rest = speed.to_double();
  // Factors of exactly 2 or 0.5 first, so the last factor carries the remainder exactly.
  while (rest > 2.0 || rest < 0.5) {
    const double step = rest > 2.0 ? 2.0 : 0.5;
    chain += std::string(chain.empty() ? "" : ",") + "atempo=" + (step == 2.0 ? "2" : "0.5");
    rest /= step;
  }
  char last[48];
  std::snprintf(last, sizeof last, "%.12g", rest);
  chain += std::string(chain.empty() ? "" : ",") + "atempo=" + last;
  return chain;
}

AudioTempo::AudioTempo(Rational speed, Rational start) : speed_(speed), start_(start) {
  LEANCUT_CHECK(speed > Rational{0});
}

Status AudioTempo::build(const AVFrame* first) {
  graph_.reset(avfilter_graph_alloc());
  if (graph_ == nullptr) return make_error(ErrorCode::OverBudget, "avfilter_graph_alloc failed");
  // The graph runs on one thread: it is a small part of the audio thread's work.
  graph_->nb_threads = 1;
  sample_rate_ = first->sample_rate;
  char layout[128];
  if (av_channel_layout_describe(&first->ch_layout, layout, sizeof layout) < 0) {
    return make_error(ErrorCode::MediaError, "cannot describe the audio's channel layout");
  }
  const char* format = av_get_sample_fmt_name(static_cast<AVSampleFormat>(first->format));
  if (format == nullptr) return make_error(ErrorCode::MediaError, "unknown audio sample format");
  // Times in samples of the source's rate: the cut at `start` and the stretched output's times
  // are exact sample counts.
  const std::string src_args = "time_base=1/" + std::to_string(sample_rate_) +
                               ":sample_rate=" + std::to_string(sample_rate_) +
                               ":sample_fmt=" + format + ":channel_layout=" + layout;
  int err = avfilter_graph_create_filter(&source_, avfilter_get_by_name("abuffer"), "in",
                                         src_args.c_str(), nullptr, graph_.get());
  if (err < 0) return av_error(err, "avfilter_graph_create_filter(abuffer)", src_args);
  err = avfilter_graph_create_filter(&sink_, avfilter_get_by_name("abuffersink"), "out", nullptr,
                                     nullptr, graph_.get());
  if (err < 0) return av_error(err, "avfilter_graph_create_filter(abuffersink)");

  const int64_t start_sample = round_half_up(start_ * Rational{sample_rate_});
  const std::string chain = "atrim=start_sample=" + std::to_string(start_sample) +
                            ",asetpts=PTS-STARTPTS," + atempo_chain(speed_);
  return link_chain_and_configure(graph_.get(), source_, sink_, chain);
}

Status AudioTempo::feed(const AVFrame* frame, Rational time) {
  if (graph_ == nullptr) LEANCUT_TRY(build(frame));
  if (frame->sample_rate != sample_rate_) {
    return make_error(ErrorCode::MediaError, "the audio's sample rate changed mid-stream (" +
                                                 std::to_string(sample_rate_) + " to " +
                                                 std::to_string(frame->sample_rate) + " Hz)");
  }
  FramePtr copy{av_frame_clone(frame)};
  if (copy == nullptr) return make_error(ErrorCode::OverBudget, "av_frame_clone failed");
  copy->pts = round_half_up(time * Rational{sample_rate_});
  const int err = av_buffersrc_add_frame(source_, copy.get());
  if (err < 0) return av_error(err, "av_buffersrc_add_frame(abuffer)");
  return ok_status();
}

Status AudioTempo::finish() {
  if (graph_ == nullptr || finished_) return ok_status();
  finished_ = true;
  const int err = av_buffersrc_add_frame(source_, nullptr);
  if (err < 0) return av_error(err, "av_buffersrc_add_frame(flush)");
  return ok_status();
}

std::optional<AudioTempo::Stretched> AudioTempo::pop() {
  if (graph_ == nullptr) return std::nullopt;
  FramePtr out{av_frame_alloc()};
  if (out == nullptr) return std::nullopt;
  if (av_buffersink_get_frame(sink_, out.get()) < 0) return std::nullopt;  // EAGAIN or EOF
  // The sink's pts count samples of the source's rate from the cut, in stretched time.
  const Rational time = start_ + Rational{out->pts, sample_rate_};
  return Stretched{std::move(out), time};
}

}  // namespace leancut::media
