#include "media/testmedia.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavutil/channel_layout.h>
}

#include "media/av_error.h"
#include "media/encode.h"
#include "media/mux.h"

namespace leancut::media {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Bump when the bytes a clip is made of change (encoder settings, painting, filters): existing
// files are regenerated even if their manifest entry matches.
constexpr int kGeneratorVersion = 1;
// Clips generated at once (each encoder also runs its own threads).
constexpr unsigned kMaxWorkers = 3;

struct Uv {
  uint8_t u, v;
};
constexpr std::array<Uv, 12> kCodePalette = {{
    {48, 48},
    {48, 208},
    {208, 48},
    {208, 208},
    {48, 128},
    {208, 128},
    {128, 48},
    {128, 208},
    {88, 88},
    {88, 168},
    {168, 88},
    {168, 168},
}};
constexpr int kCodeCount = 32;
constexpr int kCodeLumaBase = 16;
constexpr int kCodeLumaStep = 7;
// read_frame_code: a window whose samples spread more than this is not a flat block.
constexpr int kMaxWindowSpread = 24;
// read_frame_code: half the distance between the closest palette entries (56).
constexpr int kMaxChromaDistance = 28;

// ---- the clip list ------------------------------------------------------------------------

struct AudioSpec {
  int sample_rate = 48000;
  int channels = 2;
  double seconds = -1;  // < 0: as long as the video; 0: no audio stream
};

ClipInfo make_clip(std::string file, int source_id, int w, int h, AVRational fps, double seconds,
                   AudioSpec audio, int rotation = 0, std::string container = "mp4",
                   double start_time_s = 0) {
  ClipInfo c;
  c.file = std::move(file);
  c.source_id = source_id;
  c.width = w;
  c.height = h;
  const bool quarter_turn = rotation % 180 != 0;
  c.display_width = quarter_turn ? h : w;
  c.display_height = quarter_turn ? w : h;
  c.fps = fps;
  c.frames = std::llround(seconds * av_q2d(fps));
  c.duration_s = static_cast<double>(c.frames) * fps.den / fps.num;
  c.has_audio = audio.seconds != 0;
  if (c.has_audio) {
    c.audio_sample_rate = audio.sample_rate;
    c.audio_channels = audio.channels;
    c.audio_duration_s = audio.seconds < 0 ? seconds : audio.seconds;
    c.audio_frequency_hz = 300.0 + 100.0 * source_id;
  }
  c.rotation_degrees = rotation;
  c.container = std::move(container);
  c.start_time_s = start_time_s;
  return c;
}

constexpr AudioSpec kStereo{};
constexpr AudioSpec kNoAudio{48000, 2, 0};

// The VFR clip's frame durations alternate between these (ms, time base 1/1000).
constexpr int64_t kVfrShortMs = 33;
constexpr int64_t kVfrLongMs = 67;

std::vector<ClipInfo> standard_clips() {
  std::vector<ClipInfo> clips;
  clips.push_back(make_clip("a_720p30.mp4", 0, 1280, 720, {30, 1}, 10, kStereo));
  clips.push_back(make_clip("b_1080p25.mp4", 1, 1920, 1080, {25, 1}, 8, kStereo));
  clips.push_back(make_clip("c_360p24.mp4", 2, 640, 360, {24, 1}, 10, {44100, 1, -1}));
  clips.push_back(make_clip("d_portrait.mp4", 3, 720, 1280, {30, 1}, 6, kStereo));
  clips.push_back(make_clip("e_rotated.mp4", 4, 1280, 720, {30, 1}, 6, kStereo, -90));
  clips.push_back(make_clip("f_noaudio.mp4", 5, 1280, 720, {30, 1}, 6, kNoAudio));
  clips.push_back(make_clip("g_shortaudio.mp4", 6, 1280, 720, {30, 1}, 8, {48000, 2, 3}));
  clips.push_back(make_clip("h_ntsc.mp4", 7, 640, 360, {30000, 1001}, 10, kStereo));
  ClipInfo vfr = make_clip("i_vfr.mkv", 8, 640, 360, {20, 1}, 8, kStereo, 0, "matroska");
  vfr.vfr = true;  // 80 pairs of (33 ms, 67 ms) frames: 160 frames in 8 s, 20 fps on average
  clips.push_back(vfr);
  clips.push_back(make_clip("j_offset.ts", 9, 640, 360, {25, 1}, 8, kStereo, 0, "mpegts", 10));
  return clips;
}

std::vector<ClipInfo> bench_clips() {
  struct Kind {
    const char* name;
    int w, h;
    AVRational fps;
    AudioSpec audio;
    int rotation;
  };
  static constexpr std::array<Kind, 7> kKinds = {{
      {"720p30", 1280, 720, {30, 1}, kStereo, 0},
      {"1080p25", 1920, 1080, {25, 1}, kStereo, 0},
      {"360p24mono", 640, 360, {24, 1}, {44100, 1, -1}, 0},
      {"portrait", 720, 1280, {30, 1}, kStereo, 0},
      {"rotated", 1280, 720, {30, 1}, kStereo, -90},
      {"noaudio", 1280, 720, {30, 1}, kNoAudio, 0},
      {"ntsc", 640, 360, {30000, 1001}, kStereo, 0},
  }};
  constexpr int kClips = 20;
  // mt19937's output sequence is fixed by the standard (unlike the distributions), so the mix
  // is the same everywhere: every kind at least twice, shuffled, 30..60 s each.
  std::mt19937 rng(20240611u);
  std::array<int, kClips> kinds{};
  for (int i = 0; i < kClips; ++i) kinds[i] = i % static_cast<int>(kKinds.size());
  for (int i = kClips - 1; i > 0; --i) std::swap(kinds[i], kinds[rng() % (i + 1)]);
  std::vector<ClipInfo> clips;
  for (int i = 0; i < kClips; ++i) {
    const Kind& k = kKinds[kinds[i]];
    const int seconds = 30 + static_cast<int>(rng() % 31);
    char name[64];
    std::snprintf(name, sizeof name, "bench_%02d_%s.mp4", i, k.name);
    clips.push_back(make_clip(name, i, k.w, k.h, k.fps, seconds, k.audio, k.rotation));
  }
  return clips;
}

// ---- manifest -----------------------------------------------------------------------------

std::string rational_string(AVRational r) {
  return std::to_string(r.num) + "/" + std::to_string(r.den);
}

json to_json(const ClipInfo& c) {
  return json{{"file", c.file},
              {"source_id", c.source_id},
              {"width", c.width},
              {"height", c.height},
              {"display_width", c.display_width},
              {"display_height", c.display_height},
              {"fps", rational_string(c.fps)},
              {"vfr", c.vfr},
              {"frames", c.frames},
              {"duration_s", c.duration_s},
              {"has_audio", c.has_audio},
              {"audio_sample_rate", c.audio_sample_rate},
              {"audio_channels", c.audio_channels},
              {"audio_duration_s", c.audio_duration_s},
              {"audio_frequency_hz", c.audio_frequency_hz},
              {"rotation_degrees", c.rotation_degrees},
              {"container", c.container},
              {"start_time_s", c.start_time_s}};
}

// file name -> entry, for the clips the manifest lists (of any set). Empty when the manifest is
// missing, unreadable or from another generator version: everything is then made again.
std::map<std::string, json> read_manifest(const fs::path& file) {
  std::map<std::string, json> entries;
  std::ifstream in(file);
  if (!in) return entries;
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("generator_version", 0) != kGeneratorVersion) return entries;
  auto clips = doc.find("clips");
  if (clips == doc.end() || !clips->is_array()) return entries;
  for (const json& c : *clips) {
    if (c.is_object() && c.contains("file") && c["file"].is_string()) {
      entries[c["file"].get<std::string>()] = c;
    }
  }
  return entries;
}

Status write_file_atomically(const fs::path& file, const std::string& content) {
  const fs::path tmp = file.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    if (!out.flush()) {
      return make_error(ErrorCode::Io, "cannot write " + tmp.string());
    }
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return make_error(ErrorCode::Io, "rename to " + file.string() + ": " + ec.message());
  return ok_status();
}

Status write_manifest(const fs::path& file, const std::map<std::string, json>& entries) {
  json clips = json::array();
  for (const auto& [name, entry] : entries) clips.push_back(entry);
  json doc{{"generator_version", kGeneratorVersion}, {"clips", clips}};
  return write_file_atomically(file, doc.dump(2) + "\n");
}

// An exclusive flock on DIR/.lock for the life of the object.
class DirLock {
 public:
  static Result<DirLock> acquire(const fs::path& dir) {
    const fs::path file = dir / ".lock";
    DirLock lock(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (lock.fd_ < 0) {
      return make_error(ErrorCode::Io, "open " + file.string() + ": " + std::strerror(errno));
    }
    while (::flock(lock.fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        return make_error(ErrorCode::Io, "flock " + file.string() + ": " + std::strerror(errno));
      }
    }
    return lock;
  }
  DirLock(DirLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  DirLock& operator=(DirLock&&) = delete;
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

// ---- generation ---------------------------------------------------------------------------

// A source-only filter graph ("testsrc2=...", "sine=...") ending in a buffersink.
class FilterSource {
 public:
  static Result<FilterSource> open(const std::string& desc, bool audio, int frame_size) {
    FilterSource src;
    src.graph_.reset(avfilter_graph_alloc());
    if (!src.graph_) return av_error(AVERROR(ENOMEM), "avfilter_graph_alloc", desc);
    const char* sink_name = audio ? "abuffersink" : "buffersink";
    if (int err = avfilter_graph_create_filter(&src.sink_, avfilter_get_by_name(sink_name), "out",
                                               nullptr, nullptr, src.graph_.get());
        err < 0) {
      return av_error(err, "avfilter_graph_create_filter", sink_name);
    }
    FilterInOutPtr inputs{avfilter_inout_alloc()};
    if (!inputs) return av_error(AVERROR(ENOMEM), "avfilter_inout_alloc", desc);
    inputs->name = av_strdup("out");
    inputs->filter_ctx = src.sink_;
    inputs->pad_idx = 0;
    inputs->next = nullptr;
    AVFilterInOut* raw_inputs = inputs.release();
    AVFilterInOut* raw_outputs = nullptr;
    int err = avfilter_graph_parse_ptr(src.graph_.get(), desc.c_str(), &raw_inputs, &raw_outputs,
                                       nullptr);
    inputs.reset(raw_inputs);
    FilterInOutPtr outputs{raw_outputs};
    if (err < 0) return av_error(err, "avfilter_graph_parse_ptr", desc);
    if (err = avfilter_graph_config(src.graph_.get(), nullptr); err < 0) {
      return av_error(err, "avfilter_graph_config", desc);
    }
    if (audio && frame_size > 0) av_buffersink_set_frame_size(src.sink_, frame_size);
    src.desc_ = desc;
    return src;
  }

  // The next frame, or nullptr at the end of the stream.
  Result<FramePtr> next() {
    FramePtr frame = make_frame();
    int err = av_buffersink_get_frame(sink_, frame.get());
    if (err == AVERROR_EOF) return FramePtr{};
    if (err < 0) return av_error(err, "av_buffersink_get_frame", desc_);
    return frame;
  }

 private:
  FilterGraphPtr graph_;
  AVFilterContext* sink_ = nullptr;  // owned by graph_
  std::string desc_;
};

// ultrafast would turn B-frames off; we want them (reordered frames and mp4 edit lists are what
// real sources have), and they cost little. ultrafast+B is ~2x faster than veryfast here.
struct GenerateSettings {
  std::string preset = "ultrafast";
  int crf = 23;
  std::string x264_params = "bframes=3";
};

Status generate_clip(const ClipInfo& c, const fs::path& out_path, const GenerateSettings& gs) {
  const std::string where = out_path.filename().string();
  const bool global_header = Muxer::wants_global_header(c.container);

  VideoEncoderSettings vs;
  vs.width = c.width;
  vs.height = c.height;
  vs.frame_rate = c.fps;
  if (c.vfr) vs.time_base = AVRational{1, 1000};
  vs.crf = gs.crf;
  vs.preset = gs.preset;
  vs.x264_params = gs.x264_params;
  vs.gop_frames = std::max(1, static_cast<int>(std::lround(2 * av_q2d(c.fps))));
  vs.global_header = global_header;
  LEANCUT_ASSIGN_OR_RETURN(auto venc, Encoder::open_video(vs));

  std::unique_ptr<Encoder> aenc;
  if (c.has_audio) {
    AudioEncoderSettings as;
    as.sample_rate = c.audio_sample_rate;
    as.channels = c.audio_channels;
    as.bitrate = c.audio_channels == 1 ? 64000 : 128000;
    as.global_header = global_header;
    LEANCUT_ASSIGN_OR_RETURN(aenc, Encoder::open_audio(as));
  }

  LEANCUT_ASSIGN_OR_RETURN(auto mux, Muxer::open(out_path, c.container));
  LEANCUT_ASSIGN_OR_RETURN(const int vindex, mux->add_stream(venc->context()));
  int aindex = -1;
  if (aenc) {
    LEANCUT_ASSIGN_OR_RETURN(aindex, mux->add_stream(aenc->context()));
  }
  if (c.rotation_degrees != 0) LEANCUT_TRY(mux->set_rotation(vindex, c.rotation_degrees));
  if (c.start_time_s != 0) {
    LEANCUT_TRY(mux->set_option("output_ts_offset", std::to_string(c.start_time_s)));
  }
  LEANCUT_TRY(mux->start());

  auto video_sink = [&](AVPacket* pkt) { return mux->write(pkt, vindex, venc->time_base()); };
  auto audio_sink = [&](AVPacket* pkt) { return mux->write(pkt, aindex, aenc->time_base()); };

  // testsrc2's own frame rate does not matter: every frame gets our pts.
  const std::string vdesc = "testsrc2=size=" + std::to_string(c.width) + "x" +
                            std::to_string(c.height) + ":rate=" + rational_string(c.fps) +
                            ",format=yuv420p";
  LEANCUT_ASSIGN_OR_RETURN(FilterSource vsrc, FilterSource::open(vdesc, false, 0));
  std::optional<FilterSource> asrc;
  if (aenc) {
    std::ostringstream adesc;
    adesc << "sine=frequency=" << c.audio_frequency_hz << ":sample_rate=" << c.audio_sample_rate
          << ":duration=" << c.audio_duration_s << ",aformat=sample_fmts=fltp:channel_layouts="
          << (c.audio_channels == 1 ? "mono" : "stereo");
    LEANCUT_ASSIGN_OR_RETURN(FilterSource s,
                             FilterSource::open(adesc.str(), true, aenc->frame_size()));
    asrc.emplace(std::move(s));
  }

  // Frame k's pts (and duration) in the video encoder's time base.
  auto video_pts = [&](int64_t k) -> int64_t {
    if (!c.vfr) return k;
    return (k / 2) * (kVfrShortMs + kVfrLongMs) + (k % 2 == 0 ? 0 : kVfrShortMs);
  };
  auto video_duration = [&](int64_t k) -> int64_t {
    if (!c.vfr) return 1;
    return k % 2 == 0 ? kVfrShortMs : kVfrLongMs;
  };

  // Produce video and audio in time order, so the file is interleaved like a camera's and the
  // muxer's interleaving queue stays short.
  int64_t next_frame = 0;
  int64_t samples = 0;
  bool audio_done = !aenc;
  constexpr double kNever = std::numeric_limits<double>::infinity();
  while (next_frame < c.frames || !audio_done) {
    const double vt = next_frame < c.frames
                          ? static_cast<double>(video_pts(next_frame)) * av_q2d(venc->time_base())
                          : kNever;
    const double at = audio_done ? kNever : static_cast<double>(samples) / c.audio_sample_rate;
    if (vt <= at) {
      LEANCUT_ASSIGN_OR_RETURN(FramePtr frame, vsrc.next());
      if (!frame) return make_error(ErrorCode::Internal, where + ": testsrc2 ended early");
      if (int err = av_frame_make_writable(frame.get()); err < 0) {
        return av_error(err, "av_frame_make_writable", where);
      }
      paint_frame_code(frame.get(), next_frame, c.source_id);
      frame->pts = video_pts(next_frame);
      frame->pkt_duration = video_duration(next_frame);
      LEANCUT_TRY(venc->encode(frame.get(), video_sink));
      ++next_frame;
    } else {
      LEANCUT_ASSIGN_OR_RETURN(FramePtr frame, asrc->next());
      if (!frame) {
        audio_done = true;
        continue;
      }
      frame->pts = samples;
      samples += frame->nb_samples;
      LEANCUT_TRY(aenc->encode(frame.get(), audio_sink));
    }
  }
  LEANCUT_TRY(venc->encode(nullptr, video_sink));
  if (aenc) LEANCUT_TRY(aenc->encode(nullptr, audio_sink));
  return mux->finish();
}

}  // namespace

bool ClipInfo::operator==(const ClipInfo& o) const {
  return to_json(*this) == to_json(o);
}

Result<std::vector<ClipInfo>> test_media_clips(const std::string& set) {
  if (set == "standard") return standard_clips();
  if (set == "bench") return bench_clips();
  return make_error(ErrorCode::InvalidInput,
                    "unknown test media set '" + set + "' (expected standard or bench)");
}

Result<std::vector<ClipInfo>> generate_test_media(const std::filesystem::path& dir,
                                                  const TestMediaOptions& opt) {
  LEANCUT_ASSIGN_OR_RETURN(std::vector<ClipInfo> clips, test_media_clips(opt.set));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::Io, "create " + dir.string() + ": " + ec.message());
  LEANCUT_ASSIGN_OR_RETURN(DirLock lock, DirLock::acquire(dir));

  // Under the lock no other generator is writing: leftovers are from an interrupted run.
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.find(".part-") != std::string::npos || name.find(".tmp-") != std::string::npos) {
      std::error_code rm_ec;
      fs::remove(e.path(), rm_ec);
    }
  }
  const fs::path manifest_file = dir / "manifest.json";
  std::map<std::string, json> entries = read_manifest(manifest_file);
  GenerateSettings gs;
  if (opt.set == "bench") gs.crf = 28;  // 20 clips of up to a minute: keep the folder small

  std::vector<const ClipInfo*> todo;
  for (const ClipInfo& clip : clips) {
    const fs::path file = dir / clip.file;
    auto it = entries.find(clip.file);
    if (it != entries.end() && it->second == to_json(clip) && fs::is_regular_file(file, ec) &&
        fs::file_size(file, ec) > 0) {
      continue;
    }
    entries.erase(clip.file);
    todo.push_back(&clip);
  }

  // Clips are independent: a few at once keep both cores busy (one encoder alone leaves much of
  // a core idle between the filter graph, the painting and the muxer).
  std::vector<Status> results(todo.size());
  std::vector<char> done(todo.size(), 0);  // each element written by one worker only
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (size_t i = next++; i < todo.size() && !failed; i = next++) {
      const ClipInfo& clip = *todo[i];
      const fs::path file = dir / clip.file;
      const fs::path tmp = dir / (clip.file + ".part-" + std::to_string(::getpid()));
      std::error_code wec;
      Status st = generate_clip(clip, tmp, gs);
      if (st) {
        fs::rename(tmp, file, wec);
        if (wec) {
          st = make_error(ErrorCode::Io, "rename to " + file.string() + ": " + wec.message());
        }
      }
      if (!st) {
        fs::remove(tmp, wec);
        results[i] = st.error().with_context("generating " + file.string());
        failed = true;
      } else {
        done[i] = 1;
      }
    }
  };
  const size_t workers = std::min<size_t>(
      todo.size(), std::clamp(std::thread::hardware_concurrency(), 1u, kMaxWorkers));
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers; ++i) threads.emplace_back(work);
  if (workers > 0) work();
  for (std::thread& t : threads) t.join();

  Status first_error;
  for (size_t i = 0; i < todo.size(); ++i) {
    if (done[i] != 0) entries[todo[i]->file] = to_json(*todo[i]);
    if (!results[i] && first_error) first_error = results[i];
  }
  if (!todo.empty()) LEANCUT_TRY(write_manifest(manifest_file, entries));
  if (!first_error) return first_error.error();
  return clips;
}

// ---- the code block -----------------------------------------------------------------------

int frame_code_for_index(int64_t index) {
  return static_cast<int>(((index % kCodeCount) + kCodeCount) % kCodeCount);
}

CodeColour code_colour(int64_t frame_index, int source_id) {
  const int code = frame_code_for_index(frame_index);
  const int palette_size = static_cast<int>(kCodePalette.size());
  const Uv uv = kCodePalette[((source_id % palette_size) + palette_size) % palette_size];
  return {static_cast<uint8_t>(kCodeLumaBase + kCodeLumaStep * code), uv.u, uv.v};
}

namespace {

struct BlockGeometry {
  int x0, y0, side;  // luma samples; all even
};

BlockGeometry code_block(int width, int height) {
  const int side = (std::min(width, height) / 4) & ~1;
  return {((width - side) / 2) & ~1, ((height - side) / 2) & ~1, side};
}

void fill(uint8_t* plane, int linesize, int x0, int y0, int w, int h, uint8_t value) {
  for (int y = y0; y < y0 + h; ++y) std::memset(plane + y * linesize + x0, value, w);
}

// Median and spread (max - min) of a w x h window of one plane.
std::pair<int, int> window_stats(const uint8_t* plane, int linesize, int x0, int y0, int w, int h) {
  std::vector<uint8_t> v;
  v.reserve(static_cast<size_t>(w * h));
  for (int y = y0; y < y0 + h; ++y) {
    for (int x = x0; x < x0 + w; ++x) v.push_back(plane[y * linesize + x]);
  }
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  const int spread = *hi - *lo;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return {v[v.size() / 2], spread};
}

}  // namespace

void paint_frame_code(AVFrame* frame, int64_t frame_index, int source_id) {
  LEANCUT_CHECK(frame->format == AV_PIX_FMT_YUV420P || frame->format == AV_PIX_FMT_YUVJ420P);
  LEANCUT_CHECK(av_frame_is_writable(frame));
  const BlockGeometry b = code_block(frame->width, frame->height);
  const CodeColour c = code_colour(frame_index, source_id);
  fill(frame->data[0], frame->linesize[0], b.x0, b.y0, b.side, b.side, c.y);
  fill(frame->data[1], frame->linesize[1], b.x0 / 2, b.y0 / 2, b.side / 2, b.side / 2, c.u);
  fill(frame->data[2], frame->linesize[2], b.x0 / 2, b.y0 / 2, b.side / 2, b.side / 2, c.v);
}

std::optional<FrameCode> read_frame_code(const AVFrame* f) {
  if (f == nullptr || (f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_YUVJ420P)) {
    return std::nullopt;
  }
  const BlockGeometry b = code_block(f->width, f->height);
  if (b.side < 4) return std::nullopt;
  // Up to 8x8 luma, but well inside the block even when it is only a few pixels wide.
  const int half = std::clamp(b.side / 4, 1, 4);
  const int cx = f->width / 2, cy = f->height / 2;
  auto [y, y_spread] =
      window_stats(f->data[0], f->linesize[0], cx - half, cy - half, 2 * half, 2 * half);
  const int chalf = std::max(1, half / 2);
  const int ccx = cx / 2, ccy = cy / 2;
  auto [u, u_spread] =
      window_stats(f->data[1], f->linesize[1], ccx - chalf, ccy - chalf, 2 * chalf, 2 * chalf);
  auto [v, v_spread] =
      window_stats(f->data[2], f->linesize[2], ccx - chalf, ccy - chalf, 2 * chalf, 2 * chalf);
  if (y_spread > kMaxWindowSpread || u_spread > kMaxWindowSpread || v_spread > kMaxWindowSpread) {
    return std::nullopt;
  }
  const int max_luma = kCodeLumaBase + kCodeLumaStep * (kCodeCount - 1);
  if (y < kCodeLumaBase - kCodeLumaStep / 2 || y > max_luma + kCodeLumaStep / 2) {
    return std::nullopt;
  }
  const int code = std::clamp(
      static_cast<int>(std::lround(static_cast<double>(y - kCodeLumaBase) / kCodeLumaStep)), 0,
      kCodeCount - 1);
  int best = -1;
  int best_d2 = std::numeric_limits<int>::max();
  for (int i = 0; i < static_cast<int>(kCodePalette.size()); ++i) {
    const int du = u - kCodePalette[i].u, dv = v - kCodePalette[i].v;
    if (du * du + dv * dv < best_d2) {
      best_d2 = du * du + dv * dv;
      best = i;
    }
  }
  if (best_d2 > kMaxChromaDistance * kMaxChromaDistance) return std::nullopt;
  return FrameCode{code, best};
}

}  // namespace leancut::media
