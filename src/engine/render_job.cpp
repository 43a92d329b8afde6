#include "engine/render_job.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "engine/audio_beds.h"
#include "engine/transition_audio.h"
#include "media/audio_normalizer.h"
#include "media/audio_tempo.h"
#include "media/av_error.h"
#include "media/av_ptr.h"
#include "media/av_time.h"
#include "media/blend.h"
#include "media/charge.h"
#include "media/encode.h"
#include "media/loudness.h"
#include "media/mux.h"
#include "media/packet_spool.h"
#include "media/source_reader.h"
#include "media/still_image.h"
#include "media/video_normalizer.h"
#include "memory/allocator.h"
#include "time/time_range.h"

namespace leancut::engine {
namespace {

// Continue decoding instead of seeking when the next shot starts at most this far ahead in the
// same source: decoding forward a second is cheaper than a seek plus a decode from the keyframe.
const Rational kReuseWindow{1};
// Non-reference pictures are skipped while catching up to an in point, until this long before it.
const Rational kSkipMargin{1, 10};
// Audio is sought this far before a segment's start so the decoder's overlap (AAC pre-roll) is
// primed before the first sample we keep.
const Rational kAudioPreroll{1, 10};

// A decoded picture on its way to the normalizer. `repeat`: the same picture, with the same
// placement, as the previous slot (frame-rate up-conversion, a held last frame); it carries no
// frame and the normalizer reuses its previous output.
// During a transition it also carries `other`, the picture that shows through (the other shot's,
// or a fade's colour), with its own placement, and how much of it shows (`mix`, 0..1);
// `other_repeat` likewise: the same other picture as the previous transition frame (a fade's
// colour, a held frame), carried no more, the normalizer reusing its placed copy.
struct VideoWork {
  media::FramePtr frame;
  int64_t index = 0;  // output frame number
  media::Placement placement;
  bool repeat = false;
  media::FramePtr other;
  media::Placement other_placement;
  bool other_repeat = false;
  Rational mix{0};
  bool in_transition() const { return other != nullptr || other_repeat; }
};

// A picture of one colour at the output's size, in RGB: the normalizer converts it to the
// output's pixel format the same way as a decoded RGB source.
Result<media::FramePtr> colour_picture(const blueprint::Rgb& rgb, int width, int height) {
  media::FramePtr f{av_frame_alloc()};
  if (f == nullptr) return make_error(ErrorCode::OverBudget, "av_frame_alloc failed");
  f->format = AV_PIX_FMT_RGB24;
  f->width = width;
  f->height = height;
  f->sample_aspect_ratio = AVRational{1, 1};
  if (int err = av_frame_get_buffer(f.get(), 0); err < 0) {
    return media::av_error(err, "av_frame_get_buffer (colour shot)");
  }
  for (int y = 0; y < height; ++y) {
    uint8_t* row = f->data[0] + static_cast<std::ptrdiff_t>(y) * f->linesize[0];
    for (int x = 0; x < width; ++x) {
      row[3 * x] = rgb.r;
      row[3 * x + 1] = rgb.g;
      row[3 * x + 2] = rgb.b;
    }
  }
  return f;
}

// A shot's text overlays for the normalizer, in output seconds; null without any.
std::shared_ptr<const std::vector<media::TextDraw>> text_draws(const ResolvedShot& shot,
                                                               const blueprint::Output& out) {
  if (shot.texts.empty()) return nullptr;
  const Rational shot_start = frame_time(shot.timeline_first_frame, out.fps);
  const Rational shot_length = frame_time(shot.frame_count, out.fps);
  const auto hex = [](const std::string& colour) {
    const blueprint::Rgb rgb = blueprint::parse_colour(colour).value_or(blueprint::Rgb{});
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%02X%02X%02X", rgb.r, rgb.g, rgb.b);
    return std::string(buf);
  };
  auto draws = std::make_shared<std::vector<media::TextDraw>>();
  for (const blueprint::TextOverlay& t : shot.texts) {
    media::TextDraw d;
    d.text = t.text;
    d.font = t.font;
    d.size = t.size > 0 ? t.size : std::max(8, out.height / 15);
    d.colour = hex(t.color);
    d.x = t.position == "point" ? t.x : Rational{1, 2};
    d.y = t.position == "point"    ? t.y
          : t.position == "top"    ? Rational{1, 10}
          : t.position == "bottom" ? Rational{9, 10}
                                   : Rational{1, 2};
    if (!t.box.empty()) d.box = hex(t.box);
    d.box_opacity = t.box_opacity.to_double();
    // Past the shot's end a text would show on the next shot's frames: clamp it.
    d.start = shot_start + std::min(t.start, shot_length);
    d.end = shot_start + std::min(t.end.value_or(shot_length), shot_length);
    d.fade_in = t.fade_in;
    d.fade_out = t.fade_out;
    draws->push_back(std::move(d));
  }
  return draws;
}

// A still's picture without transparency: decoded from its file and flattened onto the output's
// background (media/still_image.h), ready for the normalizer like any decoded picture.
Result<media::FramePtr> still_picture(const media::ImageInfo& image,
                                      const std::string& background) {
  LEANCUT_ASSIGN_OR_RETURN(media::FramePtr decoded, media::decode_image(image.path));
  // Output::background is always a colour parse_colour knows once the blueprint is parsed.
  const blueprint::Rgb bg = blueprint::parse_colour(background).value_or(blueprint::Rgb{});
  return media::flatten_onto(decoded.get(), {bg.r, bg.g, bg.b});
}

// Names show in top, perf and gdb; libav's own worker threads inherit them.
void name_thread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

int default_threads(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 2 : static_cast<int>(hw);
}

}  // namespace

struct RenderJob::Impl {
  explicit Impl(RenderJob& job)
      : job_(job),
        own_account(job.options_.account == nullptr
                        ? memory::Account::make_root("job", memory::kNoLimit)
                        : nullptr),
        account(own_account ? own_account.get() : job.options_.account),
        decoded_frames_account(
            account->make_child("decoded_frames", job.options_.decoded_frames_limit)),
        encoder_input_account(account->make_child("encoder_input", memory::kNoLimit)),
        packets_account(account->make_child("packets", memory::kNoLimit)),
        io_buffers_account(account->make_child("io_buffers", memory::kNoLimit)),
        frame_blocks(decoded_frames_account.get(),
                     {.max_idle_bytes = job.options_.frame_pool_idle_bytes}),
        frame_pool(&frame_blocks, {.wait = job.options_.budget_wait, .stop = stop.get_token()}),
        decoded(job.options_.decoded_queue),
        video_out(job.options_.video_out_queue) {}

  RenderJob& job_;
  // Declared before everything that holds frames, so they are destroyed after it: accounts
  // outlive the pool, the pool outlives every frame.
  std::unique_ptr<memory::Account> own_account;
  memory::Account* account;
  // The job's components (docs/report.md). Admission is at decoded_frames: the pool waits there
  // for budget before it allocates. The others hold memory libav allocated (pictures a filter
  // made, audio frames, packets, I/O buffers), charged as it appears and for as long as it
  // lives; it comes from decoded pictures and is bounded by the queues, so it closes the gate
  // for new pictures rather than being refused.
  std::unique_ptr<memory::Account> decoded_frames_account;
  std::unique_ptr<memory::Account> encoder_input_account;  // normalized pictures and audio
  std::unique_ptr<memory::Account> packets_account;        // demuxed and encoded, until consumed
  std::unique_ptr<memory::Account> io_buffers_account;     // demuxers', muxer's, spool's buffers
  memory::BlockPool frame_blocks;
  std::stop_source stop;  // wakes decoders waiting for budget when the job fails
  media::FramePool frame_pool;

  BoundedQueue<VideoWork> decoded;
  BoundedQueue<media::FramePtr> video_out;
  BoundedQueue<media::FramePtr> audio_out{kAudioOutQueue};

  std::mutex error_mu;
  std::optional<Error> error;  // guarded by error_mu; the first failure wins

  std::atomic<int64_t> open_readers{0};
  std::atomic<int64_t> max_open_readers{0};
  std::atomic<int64_t> video_frames_decoded{0};
  std::atomic<int64_t> video_seeks{0};
  std::atomic<int64_t> reader_reuses{0};
  std::atomic<int64_t> sources_opened{0};
  std::atomic<int64_t> prefetch_hits{0};
  std::atomic<int64_t> graph_builds{0};
  std::atomic<int64_t> skip_retries{0};
  std::atomic<uint64_t> next_picture_id{0};
  std::atomic<bool> prefetch_allowed{true};  // cleared by the shrink_queues ladder step

  // Where a component charges: its account, or nowhere when the job runs without its ledger.
  memory::Account* charged(const std::unique_ptr<memory::Account>& component) const {
    return job_.options_.ledger ? component.get() : nullptr;
  }

  void fail(Error e) {
    {
      std::lock_guard lock(error_mu);
      if (!error) error = std::move(e);
    }
    stop.request_stop();
    decoded.cancel();
    video_out.cancel();
    audio_out.cancel();
  }
  bool failed() {
    std::lock_guard lock(error_mu);
    return error.has_value();
  }

  // Out of line: g++ 12 misreads the inlined atomic decrement inside std::future's storage as an
  // overflow (-Wstringop-overflow false positive).
  [[gnu::noinline]] void reader_closed() { open_readers.fetch_sub(1, std::memory_order_relaxed); }

  // A reader counted while open, so the stats can show how many sources were open at once.
  struct CountedReader {
    std::unique_ptr<media::StreamReader> reader;
    Impl* owner = nullptr;
    CountedReader() = default;
    CountedReader(std::unique_ptr<media::StreamReader> r, Impl* o)
        : reader(std::move(r)), owner(o) {
      int64_t now = ++owner->open_readers;
      int64_t peak = owner->max_open_readers.load();
      while (now > peak && !owner->max_open_readers.compare_exchange_weak(peak, now)) {
      }
    }
    CountedReader(CountedReader&& o) noexcept : reader(std::move(o.reader)), owner(o.owner) {
      o.owner = nullptr;
    }
    CountedReader& operator=(CountedReader&& o) noexcept {
      reset();
      reader = std::move(o.reader);
      owner = o.owner;
      o.owner = nullptr;
      return *this;
    }
    ~CountedReader() { reset(); }
    void reset() {
      if (reader && owner != nullptr) owner->reader_closed();
      reader.reset();
      owner = nullptr;
    }
    explicit operator bool() const { return reader != nullptr; }
    media::StreamReader* operator->() const { return reader.get(); }
  };

  Result<CountedReader> open_reader(int source, media::StreamKind kind, int threads,
                                    std::optional<Rational> seek_to) {
    const media::ProbeInfo& probe = job_.timeline_.sources[source];
    LEANCUT_ASSIGN_OR_RETURN(
        auto reader,
        media::StreamReader::open(probe, kind,
                                  {.threads = threads,
                                   .frame_pool = job_.options_.ledger ? &frame_pool : nullptr,
                                   .packet_account = charged(packets_account),
                                   .io_account = charged(io_buffers_account)}));
    CountedReader counted{std::move(reader), this};
    if (seek_to) LEANCUT_TRY(counted->seek(*seek_to));
    return counted;
  }

  struct VideoCursor;
  struct ShotFeed;
  Result<VideoCursor> open_cursor(int source, Rational t0, int decoder_threads);
  media::Placement placement_for(const ResolvedShot& shot) const;
  Result<ShotFeed> open_feed(const ResolvedShot& shot, int64_t first_k, int decoder_threads);
  void video_decode_loop(int decoder_threads);
  void normalize_loop();
  void audio_loop(int frame_size);
  // One pass over the timeline's audio: into `meter` (frames dropped) when given, else times
  // `gain` into audio_out.
  void audio_pass(int frame_size, media::LoudnessMeter* meter, float gain);
  Status encode_loop(media::Encoder& video_enc, media::Encoder* audio_enc, media::PacketSink& muxer,
                     int video_stream, int audio_stream);
};

RenderJob::RenderJob(Timeline timeline, RenderOptions options)
    : timeline_(std::move(timeline)), options_(std::move(options)) {}

RenderJob::~RenderJob() = default;

void RenderJob::cancel() {
  cancelled_ = true;
  std::lock_guard lock(running_mu_);
  if (running_ != nullptr) running_->fail(make_error(ErrorCode::Cancelled, "render cancelled"));
}

RenderProgress RenderJob::progress() const {
  RenderProgress p;
  p.frames_done = frames_done_.load();
  p.frames_total = timeline_.total_frames;
  p.shot = shot_.load();
  p.shots_total = static_cast<int64_t>(timeline_.shots.size());
  p.bytes_written = bytes_written_.load();
  return p;
}

// Where one video reader stands: the picture on screen at the last time asked for (`held`) and
// the next picture already decoded after it (`lookahead`).
struct RenderJob::Impl::VideoCursor {
  CountedReader reader;
  int source = -1;
  std::optional<media::DecodedFrame> held;
  std::optional<media::DecodedFrame> lookahead;
  uint64_t held_id = 0;  // unique per decoded picture, across cursors

  // Moves `held` to the picture on screen at t: the latest that starts at or before t. At the end
  // of the stream the last picture stays on screen. (If the first picture after a seek starts
  // after t, it is still the best there is; seek() makes that rare.)
  Status advance_to(Rational t, Impl& impl) {
    while (true) {
      if (!lookahead) {
        LEANCUT_ASSIGN_OR_RETURN(std::optional<media::DecodedFrame> f, reader->next());
        if (!f) return check_end(t, impl);
        lookahead = std::move(f);
        ++impl.video_frames_decoded;
      }
      if (lookahead->time > t && held) return ok_status();
      held = std::move(lookahead);
      lookahead.reset();
      held_id = ++impl.next_picture_id;
      if (held->time >= t) return ok_status();
    }
  }

  // The stream has ended. Holding its last picture is right only if that picture is the one the
  // probe found last: a stream that stops well before (a file truncated or replaced after it
  // was probed, or whose index promises more than its data holds) would otherwise freeze on
  // screen, silently. Four frames of slack: up to three trailing non-reference pictures may
  // have been skipped while catching up to an in point.
  Status check_end(Rational t, const Impl& impl) const {
    const media::VideoInfo& v = *impl.job_.timeline_.sources[static_cast<size_t>(source)].video;
    const Rational frame = v.frame_rate > Rational{0} ? Rational{1} / v.frame_rate : Rational{0};
    const Rational last_start = held ? held->time : Rational{0};
    if (t <= last_start || last_start + Rational{4} * frame >= v.duration) return ok_status();
    return make_error(ErrorCode::MediaError,
                      display_path(reader->path()) + ": the video stops at " +
                          last_start.to_seconds_string() +
                          ", but the source was probed to run to " +
                          v.duration.to_seconds_string() + " and the shot needs a picture at " +
                          t.to_seconds_string() + " (truncated or damaged?)");
  }

  // True when a shot starting at t in the same source can go on decoding from here: t is not
  // behind us and not so far ahead that a seek would be cheaper.
  bool can_continue_to(int shot_source, Rational t) const {
    if (!reader || source != shot_source || !held || held->time > t) return false;
    Rational latest = lookahead ? lookahead->time : held->time;
    return t - latest <= kReuseWindow;
  }
};

Result<RenderJob::Impl::VideoCursor> RenderJob::Impl::open_cursor(int source, Rational t0,
                                                                  int decoder_threads) {
  VideoCursor cursor;
  LEANCUT_ASSIGN_OR_RETURN(cursor.reader,
                           open_reader(source, media::StreamKind::Video, decoder_threads, t0));
  cursor.source = source;
  ++sources_opened;
  ++video_seeks;
  // Decoding from the keyframe up to the in point is most of the waste in a cut; doing it here
  // lets a prefetch do it on its own thread while the previous shot is still decoding, and
  // pictures nothing references are skipped until shortly before t0.
  const Rational skip_before = t0 - kSkipMargin;
  cursor.reader->set_skip_nonref_before(skip_before);
  LEANCUT_TRY(cursor.advance_to(t0, *this));
  cursor.reader->set_skip_nonref_before(std::nullopt);
  if (cursor.held && cursor.held->time < skip_before) {
    // The picture on screen at t0 started inside the skipped stretch (a long-held frame of a
    // variable-rate source): a skipped picture may have been the right one. Decode it again.
    ++skip_retries;
    cursor.held.reset();
    cursor.lookahead.reset();
    LEANCUT_TRY(cursor.reader->seek(t0));
    ++video_seeks;
    LEANCUT_TRY(cursor.advance_to(t0, *this));
  }
  return cursor;
}

// One shot's pictures for the decode loop: a reader's (through a VideoCursor), or the one picture
// of a colour or still shot. Frame k may lie outside the shot's [0, frame_count): a dissolve's
// handles, before its in point or past its out point.
struct RenderJob::Impl::ShotFeed {
  const ResolvedShot* shot = nullptr;
  VideoCursor cursor;       // a shot with a source
  media::FramePtr picture;  // a colour or still shot's one picture
  uint64_t picture_id = 0;
  media::Placement placement;

  struct Picture {
    const AVFrame* frame = nullptr;
    uint64_t id = 0;  // the same for every frame that shows the same decoded picture
  };
  Result<Picture> at(int64_t k, Impl& impl) {
    if (picture) return Picture{picture.get(), picture_id};
    const Rational t = shot->slot_time(k, impl.job_.timeline_.output.fps);
    LEANCUT_TRY(cursor.advance_to(t, impl));
    if (!cursor.held) {
      return make_error(ErrorCode::MediaError, display_path(cursor.reader->path()) +
                                                   " has no picture at " + t.to_seconds_string());
    }
    return Picture{cursor.held->frame.get(), cursor.held_id};
  }
};

// Where a shot's pictures go in the output frame.
media::Placement RenderJob::Impl::placement_for(const ResolvedShot& shot) const {
  const Timeline& tl = job_.timeline_;
  if (!shot.has_source()) {
    return {.fit = shot.is_colour() ? media::FitMode::Stretch : shot.fit,
            .texts = text_draws(shot, tl.output)};
  }
  return {.fit = shot.fit,
          .rotation = tl.sources[static_cast<std::size_t>(shot.source)].video->rotation,
          .focus_x = shot.focus_x,
          .focus_y = shot.focus_y,
          .texts = text_draws(shot, tl.output)};
}

// Shot `shot`'s feed, ready at its frame `first_k` (negative for a dissolve's handle): a reader
// opened, sought and decoded up to there; or its one picture made. A colour shot's picture is
// made at the output's size; a still's is its image, decoded (it was probed when the timeline was
// resolved), its transparency flattened onto the background because the output has none.
Result<RenderJob::Impl::ShotFeed> RenderJob::Impl::open_feed(const ResolvedShot& shot,
                                                             int64_t first_k, int decoder_threads) {
  const Timeline& tl = job_.timeline_;
  ShotFeed feed;
  feed.shot = &shot;
  feed.placement = placement_for(shot);
  if (shot.has_source()) {
    LEANCUT_ASSIGN_OR_RETURN(
        feed.cursor,
        open_cursor(shot.source, shot.slot_time(first_k, tl.output.fps), decoder_threads));
    return feed;
  }
  LEANCUT_ASSIGN_OR_RETURN(feed.picture,
                           shot.is_colour()
                               ? colour_picture(*shot.color, tl.output.width, tl.output.height)
                               : still_picture(*shot.image, tl.output.background));
  if (shot.is_still()) {
    // What the image holds while it is shown; a colour shot's picture is the size of one output
    // frame, which the planner counts anyway.
    media::charge_frame(feed.picture.get(), charged(decoded_frames_account),
                        static_cast<int64_t>(media::frame_bytes(feed.picture.get())));
  }
  feed.picture_id = ++next_picture_id;
  return feed;
}

void RenderJob::Impl::video_decode_loop(int decoder_threads) {
  const Timeline& tl = job_.timeline_;
  const Rational fps = tl.output.fps;
  const auto shot_error = [](const ResolvedShot& shot, const Error& e) {
    return e.with_context("shots[" + std::to_string(shot.index) + "]");
  };
  const auto dissolve_into = [&](std::size_t j) -> const ResolvedTransition* {
    const std::optional<ResolvedTransition>& t = tl.shots[j].transition_in;
    return t && t->is_dissolve() ? &*t : nullptr;
  };
  // A shot's first frame to decode: a dissolve into it starts `before` frames ahead of its in
  // point.
  const auto first_k = [&](std::size_t j) -> int64_t {
    const ResolvedTransition* d = dissolve_into(j);
    return d != nullptr ? -d->before : 0;
  };

  // At most two readers are open: this shot's and either the next one's (prefetched, or read
  // ahead of its in point for a dissolve) or the previous one's (read past its out point for a
  // dissolve into this shot).
  ShotFeed current;
  ShotFeed outgoing;  // the shot before, while a dissolve into this one runs
  ShotFeed incoming;  // the shot after, while a dissolve into it runs
  uint64_t last_sent_id = 0;
  media::Placement last_sent_placement;
  uint64_t last_other_id = 0;  // the same for the other picture of a transition
  media::Placement last_other_placement;
  // The next shot's feed, opened, sought and decoded up to its first frame on another thread
  // while this shot decodes.
  std::future<Result<ShotFeed>> prefetch;
  std::size_t prefetch_shot = 0;
  // Starts the prefetch of shot i + 1 unless it continues shot i's reader or has no source.
  const auto start_prefetch = [&](std::size_t i) {
    if (!job_.options_.prefetch || !prefetch_allowed.load(std::memory_order_relaxed) ||
        i + 1 >= tl.shots.size() || prefetch.valid()) {
      return;
    }
    const ResolvedShot& shot = tl.shots[i];
    const ResolvedShot& next = tl.shots[i + 1];
    if (!next.has_source()) return;
    const Rational next_t0 = next.slot_time(0, fps);
    const Rational last_slot = shot.slot_time(shot.frame_count - 1, fps);
    const bool continues = shot.has_source() && next.source == shot.source &&
                           next_t0 >= last_slot && next_t0 - last_slot <= kReuseWindow &&
                           dissolve_into(i + 1) == nullptr;
    if (continues) return;
    prefetch_shot = i + 1;
    const int64_t k0 = first_k(i + 1);
    prefetch = std::async(std::launch::async, [this, &next, k0, decoder_threads] {
      name_thread("lc-prefetch");
      return open_feed(next, k0, decoder_threads);
    });
  };
  // Shot j's feed: the prefetched one, or opened now.
  const auto take_feed = [&](std::size_t j) -> Result<ShotFeed> {
    if (prefetch.valid() && prefetch_shot == j) {
      ++prefetch_hits;
      return prefetch.get();
    }
    return open_feed(tl.shots[j], first_k(j), decoder_threads);
  };
  // A fade's colour as a picture, made once per fade.
  const auto fade_picture = [&](const ResolvedTransition& t) {
    return colour_picture(t.color, tl.output.width, tl.output.height);
  };

  for (std::size_t i = 0; i < tl.shots.size(); ++i) {
    if (failed()) break;
    job_.shot_ = static_cast<int64_t>(i);
    const ResolvedShot& shot = tl.shots[i];
    const ResolvedTransition* into = shot.transition_in ? &*shot.transition_in : nullptr;
    const ResolvedShot* next = i + 1 < tl.shots.size() ? &tl.shots[i + 1] : nullptr;
    const ResolvedTransition* out_of =
        next != nullptr && next->transition_in ? &*next->transition_in : nullptr;

    if (into != nullptr && into->is_dissolve()) {
      // The shot before goes on past its out point for `after` frames, beside this one.
      outgoing = std::move(current);
      if (incoming.shot == &shot) {
        current = std::move(incoming);
      } else {
        current = ShotFeed{};
        Result<ShotFeed> r = take_feed(i);
        if (!r) return fail(shot_error(shot, r.error()));
        current = std::move(r).value();
      }
      incoming = ShotFeed{};
    } else if (prefetch.valid() && prefetch_shot == i) {
      current = ShotFeed{};  // close the old reader first
      Result<ShotFeed> r = take_feed(i);
      if (!r) return fail(shot_error(shot, r.error()));
      current = std::move(r).value();
    } else if (shot.has_source() && current.shot != nullptr && current.shot->has_source() &&
               current.cursor.can_continue_to(shot.source, shot.slot_time(0, fps))) {
      ++reader_reuses;
      current.shot = &shot;
      current.placement = placement_for(shot);
    } else {
      current = ShotFeed{};  // close the old reader before opening the next
      Result<ShotFeed> r = open_feed(shot, 0, decoder_threads);
      if (!r) return fail(shot_error(shot, r.error()));
      current = std::move(r).value();
    }
    const int64_t overlap_until = into != nullptr && into->is_dissolve() ? into->after : 0;
    if (overlap_until == 0) {
      outgoing = ShotFeed{};
      start_prefetch(i);
    }

    media::FramePtr fade_in_colour;
    media::FramePtr fade_out_colour;
    uint64_t fade_in_id = 0;
    uint64_t fade_out_id = 0;
    if (into != nullptr && !into->is_dissolve() && into->after > 0) {
      Result<media::FramePtr> c = fade_picture(*into);
      if (!c) return fail(shot_error(shot, c.error()));
      fade_in_colour = std::move(c).value();
      fade_in_id = ++next_picture_id;
    }
    const int64_t out_from =
        out_of != nullptr ? shot.frame_count - out_of->before : shot.frame_count;
    if (out_of != nullptr && !out_of->is_dissolve() && out_of->before > 0) {
      Result<media::FramePtr> c = fade_picture(*out_of);
      if (!c) return fail(shot_error(shot, c.error()));
      fade_out_colour = std::move(c).value();
      fade_out_id = ++next_picture_id;
    }
    const media::Placement colour_placement{.fit = media::FitMode::Stretch};

    for (int64_t k = 0; k < shot.frame_count; ++k) {
      Result<ShotFeed::Picture> own = current.at(k, *this);
      if (!own) return fail(shot_error(shot, own.error()));
      VideoWork work;
      work.index = shot.timeline_first_frame + k;
      work.placement = current.placement;
      // What shows through during a transition, and how much of it (the `mix`).
      const AVFrame* other = nullptr;
      uint64_t other_id = 0;
      if (into != nullptr && k < into->after) {
        const int64_t n = into->before + into->after;
        if (into->is_dissolve()) {
          const ResolvedShot& before = *outgoing.shot;
          Result<ShotFeed::Picture> p = outgoing.at(before.frame_count + k, *this);
          if (!p) return fail(shot_error(before, p.error()));
          other = p->frame;
          other_id = p->id;
          work.other_placement = outgoing.placement;
          work.mix = Rational{1} - Rational{2 * (into->before + k) + 1, 2 * n};
        } else {
          // Up from the colour: all colour just before this frame, none after the last.
          other = fade_in_colour.get();
          other_id = fade_in_id;
          work.other_placement = colour_placement;
          work.mix = Rational{into->after - k - 1, into->after};
        }
      } else if (out_of != nullptr && k >= out_from) {
        const int64_t j = k - out_from;
        const int64_t n = out_of->before + out_of->after;
        if (out_of->is_dissolve()) {
          if (incoming.shot == nullptr) {
            Result<ShotFeed> r = take_feed(i + 1);
            if (!r) return fail(shot_error(*next, r.error()));
            incoming = std::move(r).value();
          }
          Result<ShotFeed::Picture> p = incoming.at(k - shot.frame_count, *this);
          if (!p) return fail(shot_error(*next, p.error()));
          other = p->frame;
          other_id = p->id;
          work.other_placement = incoming.placement;
          work.mix = Rational{2 * j + 1, 2 * n};
        } else {
          // Down to the colour: all colour on the last frame before the cut.
          other = fade_out_colour.get();
          other_id = fade_out_id;
          work.other_placement = colour_placement;
          work.mix = Rational{j + 1, out_of->before};
        }
      }
      std::size_t bytes = 0;
      if (other != nullptr) {
        work.frame = media::ref_frame(own->frame);
        bytes = media::frame_bytes(work.frame.get());
        work.other_repeat = other_id == last_other_id &&
                            work.other_placement == last_other_placement &&
                            work.other_placement.texts == nullptr;
        if (!work.other_repeat) {
          work.other = media::ref_frame(other);
          bytes += media::frame_bytes(work.other.get());
        }
        last_other_id = other_id;
        last_other_placement = work.other_placement;
        last_sent_id = 0;  // the normalizer's last output is a blend: never repeat it
      } else {
        // Text changes over time (start, end, fades): a shot with text runs every frame
        // through the normalizer instead of repeating the last picture.
        work.repeat = own->id == last_sent_id && current.placement == last_sent_placement &&
                      current.placement.texts == nullptr;
        if (!work.repeat) {
          work.frame = media::ref_frame(own->frame);
          bytes = media::frame_bytes(work.frame.get());
        }
        last_sent_id = own->id;
      }
      last_sent_placement = current.placement;
      if (!decoded.push(std::move(work), bytes)) return;  // cancelled
      if (overlap_until > 0 && k + 1 == overlap_until) {
        outgoing = ShotFeed{};  // the dissolve into this shot is over: its reader closes
        start_prefetch(i);
      }
    }
  }
  if (prefetch.valid()) prefetch.wait();  // a prefetch for a shot we never reached (failure)
  decoded.close();
}

void RenderJob::Impl::normalize_loop() {
  const Timeline& tl = job_.timeline_;
  const media::VideoTarget target{.width = tl.output.width,
                                  .height = tl.output.height,
                                  .frame_rate = tl.output.fps,
                                  .background = tl.output.background,
                                  .threads = 1,
                                  .output_account = charged(encoder_input_account)};
  media::VideoNormalizer normalizer(target);
  // A transition's other picture goes through a normalizer of its own, so neither graph is
  // rebuilt frame after frame as the two pictures alternate.
  media::VideoNormalizer other_normalizer(target);
  media::FramePtr last;
  media::FramePtr last_other;  // the other normalizer's last picture, kept for other_repeat
  while (std::optional<VideoWork> work = decoded.pop()) {
    media::FramePtr out;
    if (work->repeat) {
      if (!last) return fail(make_error(ErrorCode::Internal, "repeat without a previous frame"));
      out = media::ref_frame(last.get());
      out->pts = work->index;
    } else {
      Result<media::FramePtr> r =
          normalizer.normalize(std::move(work->frame), work->placement, work->index);
      if (!r) return fail(r.error());
      out = std::move(r).value();
      if (work->in_transition()) {
        if (work->other) {
          Result<media::FramePtr> o = other_normalizer.normalize(
              std::move(work->other), work->other_placement, work->index);
          if (!o) return fail(o.error());
          last_other = std::move(o).value();
        } else if (!last_other) {
          return fail(make_error(ErrorCode::Internal, "other_repeat without a previous picture"));
        }
        if (Status s = media::blend_into(out.get(), last_other.get(), work->mix); !s) {
          return fail(s.error());
        }
      }
      last = media::ref_frame(out.get());
    }
    std::size_t bytes = media::frame_bytes(out.get());
    if (!video_out.push(std::move(out), bytes)) return;
  }
  graph_builds = normalizer.graph_builds() + other_normalizer.graph_builds();
  if (!failed()) video_out.close();
}

void RenderJob::Impl::audio_loop(int frame_size) {
  const std::optional<blueprint::Loudness>& loudness = job_.timeline_.output.audio.loudness;
  if (!loudness) return audio_pass(frame_size, nullptr, 1.0f);
  // Loudness normalization in two passes over the audio (docs/blueprint.md): the first measures
  // the finished mix (shots and beds) in constant memory and throws it away, the second renders
  // it with the one gain that brings it to the target, or as near as the peak ceiling allows.
  // The video thread runs meanwhile, until its queue to the encoder is full.
  media::LoudnessMeter meter(job_.timeline_.output.audio.sample_rate,
                             job_.timeline_.output.audio.channels);
  audio_pass(frame_size, &meter, 1.0f);
  if (failed()) return;
  double gain_db = 0;
  if (std::optional<double> lufs = meter.integrated_lufs()) {
    gain_db = loudness->target_lufs.to_double() - *lufs;
    if (meter.sample_peak() > 0) {
      gain_db =
          std::min(gain_db, loudness->peak_db.to_double() - 20.0 * std::log10(meter.sample_peak()));
    }
    job_.stats_.loudness_in_lufs = *lufs;
  }
  job_.stats_.loudness_gain_db = gain_db;
  audio_pass(frame_size, nullptr, static_cast<float>(std::pow(10.0, gain_db / 20.0)));
}

void RenderJob::Impl::audio_pass(int frame_size, media::LoudnessMeter* meter, float gain) {
  const Timeline& tl = job_.timeline_;
  const Rational fps = tl.output.fps;
  media::AudioNormalizer normalizer({.sample_rate = tl.output.audio.sample_rate,
                                     .channels = tl.output.audio.channels,
                                     .frame_size = frame_size});
  CountedReader reader;
  int reader_source = -1;
  // Audio readers for the transitions' and the beds' own sound, counted like the shots'.
  const OpenAudioReader open_audio =
      [this](int source) -> Result<std::shared_ptr<media::StreamReader>> {
    LEANCUT_ASSIGN_OR_RETURN(CountedReader r,
                             open_reader(source, media::StreamKind::Audio, 1, std::nullopt));
    auto held = std::make_shared<CountedReader>(std::move(r));
    return std::shared_ptr<media::StreamReader>(held, held->reader.get());
  };
  // Transitions (engine/transition_audio.h): fades ramp the shots' sound, dissolves crossfade it.
  TransitionAudio transitions(tl,
                              {.sample_rate = tl.output.audio.sample_rate,
                               .channels = tl.output.audio.channels,
                               .frame_size = frame_size},
                              open_audio);
  // The beds (engine/audio_beds.h) are mixed into each finished frame on its way out.
  std::optional<BedMixer> beds;
  if (!tl.beds.empty()) beds.emplace(tl, open_audio);
  // Each finished frame of the shots' audio: its transitions' ramps and crossfades, then the
  // beds (ducked under it), then the loudness pass's meter or gain.
  auto push = [&](media::FramePtr f) -> bool {
    if (!transitions.empty()) {
      if (Status t = transitions.apply(f.get()); !t) {
        fail(t.error());
        return false;
      }
    }
    if (beds) {
      if (Status s = beds->mix(f.get()); !s) {
        fail(s.error());
        return false;
      }
    }
    if (meter != nullptr) {
      meter->add(reinterpret_cast<const float* const*>(f->extended_data), f->nb_samples);
      return !failed();
    }
    if (gain != 1.0f) {
      if (int err = av_frame_make_writable(f.get()); err < 0) {
        fail(media::av_error(err, "av_frame_make_writable (loudness)"));
        return false;
      }
      for (int c = 0; c < f->ch_layout.nb_channels; ++c) {
        float* x = reinterpret_cast<float*>(f->extended_data[c]);
        for (int i = 0; i < f->nb_samples; ++i) x[i] = std::clamp(x[i] * gain, -1.0f, 1.0f);
      }
    }
    std::size_t bytes = media::frame_bytes(f.get());
    media::charge_frame(f.get(), charged(encoder_input_account), static_cast<int64_t>(bytes));
    return audio_out.push(std::move(f), bytes);
  };
  auto push_ready = [&]() -> bool {
    while (media::FramePtr f = normalizer.pop_frame()) {
      if (!push(std::move(f))) return false;
    }
    return true;
  };
  for (std::size_t i = 0; i < tl.shots.size(); ++i) {
    const ResolvedShot& shot = tl.shots[i];
    if (failed()) return;
    const Rational start = shot.slot_time(0, fps);
    normalizer.begin_segment(shot.sample_count, start, static_cast<float>(shot.gain));
    // A silent shot keeps the last reader for a later shot of the same source, unless a
    // dissolve at either end opens readers of its own: then it closes, so that a dissolve never
    // has more than one audio reader per source open.
    const bool dissolve_here = (shot.transition_in && shot.transition_in->is_dissolve()) ||
                               (i + 1 < tl.shots.size() && tl.shots[i + 1].transition_in &&
                                tl.shots[i + 1].transition_in->is_dissolve());
    if (!shot.take_audio && dissolve_here) reader.reset();
    if (shot.take_audio) {
      if (!reader || reader_source != shot.source) {
        reader.reset();
        Result<CountedReader> r =
            open_reader(shot.source, media::StreamKind::Audio, 1, std::nullopt);
        if (!r) return fail(r.error().with_context("shots[" + std::to_string(shot.index) + "]"));
        reader = std::move(r).value();
        reader_source = shot.source;
      }
      if (Status s = reader->seek(start - kAudioPreroll); !s) return fail(s.error());
      // A shot at another speed goes through a time stretch first (pitch kept), whose output
      // times are the output's: the normalizer then cuts it to the exact sample as usual.
      std::optional<media::AudioTempo> tempo;
      if (shot.speed != Rational{1}) tempo.emplace(shot.speed, start);
      auto feed_stretched = [&]() -> Status {
        while (std::optional<media::AudioTempo::Stretched> st = tempo->pop()) {
          LEANCUT_TRY(normalizer.feed(st->frame.get(), st->time));
        }
        return ok_status();
      };
      while (!normalizer.segment_full()) {
        Result<std::optional<media::DecodedFrame>> f = reader->next();
        if (!f) return fail(f.error());
        if (!f->has_value()) {  // the source's audio ends early: silence pads the rest
          if (tempo) {
            if (Status s = tempo->finish(); !s) return fail(s.error());
            if (Status s = feed_stretched(); !s) return fail(s.error());
          }
          break;
        }
        Status fed = tempo ? tempo->feed((*f)->frame.get(), (*f)->time)
                           : normalizer.feed((*f)->frame.get(), (*f)->time);
        if (fed && tempo) fed = feed_stretched();
        if (!fed)
          return fail(fed.error().with_context("shots[" + std::to_string(shot.index) + "]"));
        if (!push_ready()) return;
      }
    }
    if (Status s = normalizer.end_segment(); !s) return fail(s.error());
    if (!push_ready()) return;
  }
  if (media::FramePtr last = normalizer.pop_last_frame()) {
    if (!push(std::move(last))) return;
  }
  if (meter == nullptr) audio_out.close();
}

Status RenderJob::Impl::encode_loop(media::Encoder& video_enc, media::Encoder* audio_enc,
                                    media::PacketSink& muxer, int video_stream, int audio_stream) {
  const Timeline& tl = job_.timeline_;
  const Rational fps = tl.output.fps;
  const int64_t sample_rate = tl.output.audio.sample_rate;
  // Packets are charged until the sink is done with them (the muxer may queue them to
  // interleave).
  auto write_video = [&](AVPacket* pkt) -> Status {
    media::charge_packet(pkt, charged(packets_account));
    job_.bytes_written_ += pkt->size;
    return muxer.write(pkt, video_stream, video_enc.time_base());
  };
  auto write_audio = [&](AVPacket* pkt) -> Status {
    media::charge_packet(pkt, charged(packets_account));
    job_.bytes_written_ += pkt->size;
    return muxer.write(pkt, audio_stream, audio_enc->time_base());
  };

  std::optional<media::FramePtr> vhead;
  std::optional<media::FramePtr> ahead;
  bool video_done = false;
  bool audio_done = audio_enc == nullptr;
  while (true) {
    if (!vhead && !video_done) {
      vhead = video_out.pop();
      if (!vhead) video_done = true;
    }
    if (!ahead && !audio_done) {
      ahead = audio_out.pop();
      if (!ahead) audio_done = true;
    }
    if (failed()) break;
    if (!vhead && !ahead) break;
    // Interleave by presentation time so the muxer never has to buffer much.
    bool take_video =
        vhead && (!ahead || Rational{(*vhead)->pts} / fps <= Rational{(*ahead)->pts, sample_rate});
    if (take_video) {
      LEANCUT_TRY(video_enc.encode(vhead->get(), write_video));
      vhead.reset();
      ++job_.frames_done_;
    } else {
      LEANCUT_TRY(audio_enc->encode(ahead->get(), write_audio));
      job_.stats_.audio_samples_out += (*ahead)->nb_samples;
      ahead.reset();
    }
  }
  if (failed()) return ok_status();  // the error is reported by run()
  LEANCUT_TRY(video_enc.encode(nullptr, write_video));
  if (audio_enc != nullptr) LEANCUT_TRY(audio_enc->encode(nullptr, write_audio));
  return ok_status();
}

namespace {

std::filesystem::path temp_path_for(const std::filesystem::path& dest) {
  std::filesystem::path tmp = dest;
  tmp.replace_filename("." + dest.filename().string() + ".leancut-" + std::to_string(getpid()) +
                       ".partial");
  return tmp;
}

// Flushes the file's data to disk, so the rename publishes a complete file even after a crash.
Status sync_file(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::Io, p.string() + ": cannot reopen to sync");
  int err = ::fsync(fd);
  ::close(fd);
  if (err != 0) return make_error(ErrorCode::Io, p.string() + ": fsync failed");
  return ok_status();
}

media::VideoEncoderSettings video_settings(const blueprint::Output& out, int threads,
                                           bool slice_threads, int lookahead) {
  media::VideoEncoderSettings s;
  s.width = out.width;
  s.height = out.height;
  s.frame_rate = media::to_av_rational(out.fps);
  s.codec = "libx264";
  s.crf = out.video.crf;
  s.bitrate = out.video.bitrate.value_or(0);
  s.preset = out.video.preset;
  s.pix_fmt = AV_PIX_FMT_YUV420P;
  s.gop_frames = static_cast<int>(round_half_up(out.fps * Rational{out.video.gop_seconds}));
  s.threads = threads;
  // Slice threads instead of frame threads when memory is tight: each frame thread adds a frame
  // of delay and its own reference and scratch frames (at 720p, x264 holds ~95 MB with 2 frame
  // threads, ~71 MB with 2 slice threads). Not the default: slices cost compression, visibly
  // at cuts with the fastest presets (docs/benchmarks.md).
  std::string params;
  if (slice_threads && threads > 1) params = "sliced-threads=1";
  if (lookahead >= 0) {
    params +=
        (params.empty() ? "" : ":") + std::string("rc-lookahead=") + std::to_string(lookahead);
  }
  s.x264_params = params;
  return s;
}

}  // namespace

MuxIndex mux_index_for(const std::string& format, const std::string& mp4_layout) {
  if (format != "mp4" && format != "mov") return MuxIndex::Negligible;
  return mp4_layout == "fragmented" ? MuxIndex::PerFragment : MuxIndex::AfterRender;
}

Status RenderJob::run() {
  const auto started = std::chrono::steady_clock::now();
  Impl impl(*this);
  {
    std::lock_guard lock(running_mu_);
    running_ = &impl;
  }
  // Unregisters on every return, before `impl` (declared earlier) is destroyed.
  struct Unregister {
    RenderJob& job;
    ~Unregister() {
      std::lock_guard lock(job.running_mu_);
      job.running_ = nullptr;
    }
  } unregister{*this};
  if (cancelled_) impl.fail(make_error(ErrorCode::Cancelled, "render cancelled"));

  // Pressure handling: the ladder's steps, as this job can take them. Declared after `impl`
  // (they act on it) and stopped before it goes.
  Governor governor({.budget_bytes = options_.rss_budget_bytes,
                     .ledger = impl.account,
                     .planned_peak_bytes = options_.planned_peak_bytes,
                     .planned_ledger_bytes = options_.planned_ledger_bytes,
                     .source = options_.pressure_source},
                    [&impl](Error e) { impl.fail(std::move(e)); });
  using memory::LadderStep;
  const QueueLimits decoded_limits = impl.decoded.limits();
  const QueueLimits video_out_limits = impl.video_out.limits();
  const int64_t frames_limit = impl.decoded_frames_account->limit_bytes();
  memory::LadderAction trim_pools =
      governor.ladder().add_action(LadderStep::TrimPools, [&] { impl.frame_blocks.trim(0); });
  memory::LadderAction evict_caches;
  if (options_.evict_caches) {
    evict_caches = governor.ladder().add_action(LadderStep::EvictCaches, options_.evict_caches);
  }
  memory::LadderAction release_allocator = governor.ladder().add_action(
      LadderStep::ReleaseAllocator, [] { memory::release_free_memory(); });
  memory::LadderAction shrink_queues = governor.ladder().add_action(
      LadderStep::ShrinkQueues,
      [&] {
        impl.decoded.set_limits({.max_items = 1, .max_bytes = decoded_limits.max_bytes});
        impl.video_out.set_limits({.max_items = 1, .max_bytes = video_out_limits.max_bytes});
        impl.prefetch_allowed = false;
      },
      [&] {
        impl.decoded.set_limits(decoded_limits);
        impl.video_out.set_limits(video_out_limits);
        impl.prefetch_allowed = true;
      });
  // New decoded frames wait for released ones (or reuse idle ones) instead of allocating.
  memory::LadderAction backpressure = governor.ladder().add_action(
      LadderStep::Backpressure,
      [&] {
        impl.decoded_frames_account->set_limit(
            std::max(impl.decoded_frames_account->current_bytes(), options_.min_frame_bytes));
      },
      [&] { impl.decoded_frames_account->set_limit(frames_limit); });
  governor.start();
  auto stage = [this](const char* name) {
    if (options_.stages != nullptr) options_.stages->begin(name);
  };
  stage("render");
  const std::filesystem::path& dest = options_.output;
  const std::string format = media::Muxer::guess_format(dest);
  if (format.empty()) {
    return make_error(ErrorCode::InvalidInput,
                      dest.string() +
                          ": cannot tell the container from the extension (use "
                          ".mp4, .mov, .mkv or .ts)");
  }
  const std::filesystem::path temp = temp_path_for(dest);
  // MP4/MOV: the muxer's index of a standard file grows with every packet (about 64 bytes; 26 MB
  // for 104 minutes) until the file is finished. So the packets are spooled to a file beside the
  // output and muxed once the decoders and the encoder are gone (media/packet_spool.h): the same
  // file, with the index built when memory is otherwise free, and a render peak that does not
  // grow with the timeline's length. Costs one more pass over the file.
  const std::string& layout = timeline_.output.mp4_layout;
  const MuxIndex mux_index = mux_index_for(format, layout);
  std::optional<std::filesystem::path> spool_path;
  if (mux_index == MuxIndex::AfterRender) {
    spool_path = std::filesystem::path(temp.string() + ".spool");
  }
  const int threads = default_threads(options_.threads);
  // One thread per decoder: frame threading would hold a copy of the reference frames per thread
  // (memory) and restart after every seek (time); the prefetch decodes the next shot beside the
  // current one instead.
  const int decoder_threads = options_.decoder_threads > 0 ? options_.decoder_threads : 1;
  const int encoder_threads = options_.encoder_threads > 0 ? options_.encoder_threads : threads;

  Status status = [&]() -> Status {
    LEANCUT_ASSIGN_OR_RETURN(
        auto video_enc, media::Encoder::open_video(video_settings(timeline_.output, encoder_threads,
                                                                  options_.encoder_slice_threads,
                                                                  options_.encoder_lookahead)));
    media::AudioEncoderSettings as;
    as.sample_rate = timeline_.output.audio.sample_rate;
    as.channels = timeline_.output.audio.channels;
    as.bitrate = timeline_.output.audio.bitrate;
    LEANCUT_ASSIGN_OR_RETURN(auto audio_enc, media::Encoder::open_audio(as));
    LEANCUT_ASSIGN_OR_RETURN(
        auto muxer, media::Muxer::open(temp, format, impl.charged(impl.io_buffers_account)));
    if (mux_index == MuxIndex::PerFragment) {
      // A fragment per keyframe (the GOP): the muxer keeps one fragment's index, not the
      // whole file's, and the file ends with an mfra index for seeking.
      LEANCUT_TRY(muxer->set_option("movflags", "+frag_keyframe+default_base_moof"));
    } else if (mux_index == MuxIndex::AfterRender && layout == "faststart") {
      LEANCUT_TRY(muxer->set_option("movflags", "+faststart"));
    }
    LEANCUT_ASSIGN_OR_RETURN(int video_stream, muxer->add_stream(video_enc->context()));
    LEANCUT_ASSIGN_OR_RETURN(int audio_stream, muxer->add_stream(audio_enc->context()));
    LEANCUT_TRY(muxer->start());
    std::unique_ptr<media::PacketSpool> spool;
    if (spool_path) {
      LEANCUT_ASSIGN_OR_RETURN(
          spool, media::PacketSpool::create(*spool_path, impl.charged(impl.io_buffers_account)));
    }
    media::PacketSink& sink = spool ? static_cast<media::PacketSink&>(*spool) : *muxer;

    Status encoded;
    {
      std::jthread video_thread([&] {
        name_thread("lc-vdecode");
        impl.video_decode_loop(decoder_threads);
      });
      std::jthread normalize_thread([&] {
        name_thread("lc-normalize");
        impl.normalize_loop();
      });
      std::jthread audio_thread([&] {
        name_thread("lc-audio");
        impl.audio_loop(audio_enc->frame_size());
      });
      encoded = impl.encode_loop(*video_enc, audio_enc.get(), sink, video_stream, audio_stream);
      if (!encoded) impl.fail(encoded.error());
    }  // joins all stages
    {
      std::lock_guard lock(impl.error_mu);
      if (impl.error) return *impl.error;
    }
    stage("finalize");
    if (spool) {
      // The render's memory goes first (x264's frames, the pool's idle pictures, freed heap),
      // then the muxer takes the packets and builds its index.
      LEANCUT_TRY(spool->finish());
      video_enc.reset();
      audio_enc.reset();
      impl.frame_blocks.trim(0);
      memory::release_free_memory();
      LEANCUT_TRY(
          media::PacketSpool::replay(*spool_path, *muxer, impl.charged(impl.packets_account)));
    }
    LEANCUT_TRY(muxer->finish());
    return ok_status();
  }();

  std::error_code ec;
  if (spool_path) std::filesystem::remove(*spool_path, ec);
  if (status) status = sync_file(temp);
  if (status) {
    std::filesystem::rename(temp, dest, ec);
    if (ec) status = make_error(ErrorCode::Io, dest.string() + ": rename failed: " + ec.message());
  }
  if (!status) std::filesystem::remove(temp, ec);
  stage("cleanup");

  governor.stop();
  impl.decoded_frames_account->set_limit(frames_limit);
  stats_.governor = governor.report();
  stats_.frames_out = frames_done_.load();
  stats_.video_frames_decoded = impl.video_frames_decoded.load();
  stats_.video_seeks = impl.video_seeks.load();
  stats_.reader_reuses = impl.reader_reuses.load();
  stats_.sources_opened = impl.sources_opened.load();
  stats_.prefetch_hits = impl.prefetch_hits.load();
  stats_.normalize_graph_builds = impl.graph_builds.load();
  stats_.skip_retries = impl.skip_retries.load();
  stats_.max_open_readers = impl.max_open_readers.load();
  stats_.decoded_queue = impl.decoded.stats();
  stats_.video_out_queue = impl.video_out.stats();
  stats_.audio_out_queue = impl.audio_out.stats();
  stats_.frame_pool = impl.frame_blocks.stats();
  stats_.frames_outside_pool = impl.frame_pool.stats().default_frames;
  // Every frame is gone by now (stages joined, queues drained or cancelled), so what is left in
  // an account is a leak. Idle pool memory is not: it is freed first.
  impl.frame_blocks.trim(0);
  stats_.accounts = impl.account->subtree_stats();
  stats_.leaks = impl.account->nonzero_balances();
  // A balance left now is a bug; destroying the accounts will stop the process on a check, so
  // name the accounts first.
  for (const memory::AccountStats& leak : stats_.leaks) {
    std::fprintf(stderr, "leancut: LEAK: %s still holds %lld bytes in %lld leases\n",
                 leak.path.c_str(), static_cast<long long>(leak.current_bytes),
                 static_cast<long long>(leak.live_leases));
  }
  stats_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return status;
}

}  // namespace leancut::engine
