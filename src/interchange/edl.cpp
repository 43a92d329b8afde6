#include "interchange/edl.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "time/time_parse.h"

namespace leancut::interchange {
namespace {

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// One event line: "002  REEL_B  V  D  030  00:00:10:00 00:00:15:00 01:00:05:00 01:00:10:00".
struct EventLine {
  int event = 0;
  int line = 0;
  std::string reel;
  std::string tracks;
  std::string type;  // "C", "D", "W001"
  int64_t transition_frames = 0;
  int64_t src_in = 0, src_out = 0, rec_in = 0, rec_out = 0;  // frames at fps
  std::string clip_name;
  std::string source_file;            // "* SOURCE FILE:" (Resolve and others write it)
  std::optional<Rational> speed_fps;  // from an M2 line for this reel
  int m2_line = 0;
  bool black() const { return reel == "BL" || reel == "BLACK"; }
};

// The lines of one event number, in order: one cut, or the "from" line and the transition line.
struct Event {
  int number = 0;
  std::vector<EventLine> lines;
};

class EdlReader {
 public:
  EdlReader(const EdlOptions& options, std::string base_dir)
      : fps_(options.fps), base_dir_(std::move(base_dir)) {}

  ReadResult read(std::string_view text) {
    if (fps_ <= Rational{0}) {
      fail("", "--fps must be positive, got " + fps_.to_string());
      return finish(Timeline{});
    }
    std::istringstream in{std::string(text)};
    std::string raw;
    int number = 0;
    while (std::getline(in, raw)) {
      ++number;
      read_line(trim(raw), number);
    }
    Timeline timeline = place();
    return finish(std::move(timeline));
  }

 private:
  static std::string where(int event, int line) {
    return "event " + std::to_string(event) + " (line " + std::to_string(line) + ")";
  }
  static std::string at_line(int line) { return "line " + std::to_string(line); }
  void fail(std::string origin, std::string message) {
    problems_.push_back({std::move(origin), std::move(message)});
  }

  ReadResult finish(Timeline timeline) {
    ReadResult r;
    if (check_exact_sums(timeline, problems_)) check_structure(timeline, problems_);
    r.problems = std::move(problems_);
    r.notes = std::move(notes_);
    (r.problems.empty() ? r.timeline : r.partial) = std::move(timeline);
    return r;
  }

  void read_line(const std::string& line, int number) {
    if (line.empty()) return;
    if (starts_with(line, "TITLE:")) {
      title_ = trim(line.substr(6));
      return;
    }
    if (starts_with(line, "FCM:")) {
      std::string mode = trim(line.substr(4));
      if (mode == "DROP FRAME") {
        if (fps_ != Rational{30000, 1001} && fps_ != Rational{60000, 1001}) {
          fail(at_line(number),
               "FCM: DROP FRAME exists only at 29.97 and 59.94 fps "
               "(30000/1001, 60000/1001), but --fps is " +
                   fps_.to_string());
        }
        drop_frame_ = true;
      } else if (mode == "NON-DROP FRAME") {
        drop_frame_ = false;
      } else {
        fail(at_line(number), "FCM must be DROP FRAME or NON-DROP FRAME, got \"" + mode + "\"");
      }
      return;
    }
    if (line[0] == '*') {
      read_comment(line, number);
      return;
    }
    std::vector<std::string> words = split_words(line);
    if (words[0] == "M2") {
      read_m2(words, number);
      return;
    }
    if (all_digits(words[0])) {
      read_event(words, number);
      return;
    }
    // SPLIT:, >>> SOURCE, AUD and the like say nothing the model holds.
    notes_.push_back({at_line(number), "ignored: \"" + line + "\""});
  }

  EventLine* last_line() {
    return events_.empty() || events_.back().lines.empty() ? nullptr : &events_.back().lines.back();
  }

  void read_comment(const std::string& line, int number) {
    std::string body = trim(line.substr(1));
    for (std::string_view key : {"FROM CLIP NAME:", "TO CLIP NAME:", "SOURCE FILE:"}) {
      if (!starts_with(body, key)) continue;
      std::string name = trim(body.substr(key.size()));
      if (events_.empty()) {
        notes_.push_back({at_line(number), "a clip name before the first event is ignored"});
        return;
      }
      auto& lines = events_.back().lines;
      // FROM names the first (outgoing) side of an event, TO the incoming side of a transition.
      if (key == "SOURCE FILE:") {
        lines.back().source_file = name;
      } else if (key == "FROM CLIP NAME:") {
        lines.front().clip_name = name;
      } else {
        lines.back().clip_name = name;
      }
      return;
    }
  }

  // "M2   REEL   048.0   01:00:00:00": the reel plays at 48 frames per second of its media
  // for each second of record time (48 at 24 fps: 2x speed).
  void read_m2(const std::vector<std::string>& words, int number) {
    if (events_.empty()) {
      fail(at_line(number), "an M2 line before the first event");
      return;
    }
    const int event = events_.back().number;
    if (words.size() < 3) {
      fail(where(event, number), "M2 needs a reel and a speed: M2 REEL SPEED TIMECODE");
      return;
    }
    // EDLs zero-pad speeds ("048.0", "-024.0"), which the JSON number grammar refuses.
    std::string text = words[2];
    const size_t sign = text[0] == '-' ? 1 : 0;
    while (text.size() > sign + 1 && text[sign] == '0' && text[sign + 1] != '.') {
      text.erase(sign, 1);
    }
    Result<Rational> speed = parse_decimal(text);
    if (!speed) {
      fail(where(event, number), "M2 speed \"" + words[2] + "\": " + speed.error().message);
      return;
    }
    for (EventLine& l : events_.back().lines) {
      if (l.reel == words[1]) {
        l.speed_fps = speed.value();
        l.m2_line = number;
        return;
      }
    }
    fail(where(event, number), "M2 names reel \"" + words[1] + "\", which event " +
                                   std::to_string(event) + " does not use");
  }

  std::optional<int64_t> frame_of(const std::string& text, const std::string& what,
                                  const std::string& origin) {
    Result<Timecode> tc = parse_timecode(text);
    if (!tc) {
      fail(origin, what + " \"" + text + "\": " + tc.error().message);
      return std::nullopt;
    }
    Timecode t = tc.value();
    t.drop_frame = t.drop_frame || drop_frame_;
    Result<int64_t> frame = timecode_to_frame(t, fps_);
    if (!frame) {
      fail(origin, what + " " + frame.error().message);
      return std::nullopt;
    }
    return frame.value();
  }

  void read_event(const std::vector<std::string>& words, int number) {
    EventLine l;
    l.event = std::stoi(words[0].substr(0, 9));
    l.line = number;
    saw_event_ = true;
    const std::string origin = where(l.event, number);
    if (words.size() < 4) {
      fail(origin,
           "an event line needs NUMBER REEL TRACK TYPE [FRAMES] SRC_IN SRC_OUT REC_IN "
           "REC_OUT");
      return;
    }
    l.reel = words[1];
    l.tracks = words[2];
    l.type = words[3];
    size_t next = 4;
    if (l.type == "D" || (l.type[0] == 'W' && all_digits(l.type.substr(1)))) {
      if (words.size() <= next || !all_digits(words[next])) {
        fail(origin, "transition " + l.type + " needs its length in frames");
        return;
      }
      l.transition_frames = std::stoll(words[next].substr(0, 9));
      ++next;
    } else if (l.type != "C") {
      fail(origin, "unsupported transition type \"" + l.type +
                       "\" (C cuts, D dissolves and W wipes are supported)");
      return;
    }
    if (words.size() != next + 4) {
      fail(origin, "expected 4 timecodes (source in, source out, record in, record out), got " +
                       std::to_string(words.size() >= next ? words.size() - next : 0));
      return;
    }
    auto src_in = frame_of(words[next], "source in", origin);
    auto src_out = frame_of(words[next + 1], "source out", origin);
    auto rec_in = frame_of(words[next + 2], "record in", origin);
    auto rec_out = frame_of(words[next + 3], "record out", origin);
    if (!src_in || !src_out || !rec_in || !rec_out) return;
    l.src_in = *src_in;
    l.src_out = *src_out;
    l.rec_in = *rec_in;
    l.rec_out = *rec_out;
    if (l.src_out < l.src_in || l.rec_out < l.rec_in) {
      fail(origin, "an out timecode is before its in");
      return;
    }
    if (!events_.empty() && events_.back().number == l.event) {
      if (events_.back().lines.size() >= 2) {
        fail(origin, "more than two lines with one event number");
        return;
      }
      if (l.type == "C") {
        fail(origin, "the second line of an event must be a transition (D or W), got C");
        return;
      }
    } else {
      if (l.type != "C") {
        // A transition needs the "from" line before it, with the same event number.
        fail(origin, "a " + l.type + " line needs a C line of the same event before it");
        return;
      }
      events_.push_back(Event{l.event, {}});
    }
    events_.back().lines.push_back(std::move(l));
  }

  // Track letters -> (video?, audio track indexes).
  bool tracks_of(const EventLine& l, bool& video, std::vector<int>& audio) {
    std::string spec = l.tracks;
    size_t start = 0;
    while (start <= spec.size()) {
      size_t slash = spec.find('/', start);
      std::string part =
          spec.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (part == "V") {
        video = true;
      } else if (part == "A") {
        audio.push_back(0);
      } else if (part == "AA") {
        audio.push_back(0);
        audio.push_back(1);
      } else if (part == "B") {
        video = true;
        audio.push_back(0);
      } else if (part.size() == 2 && part[0] == 'A' && part[1] >= '1' && part[1] <= '9') {
        audio.push_back(part[1] - '1');
      } else {
        fail(where(l.event, l.line),
             "unknown track \"" + l.tracks + "\" (V, A, A2..A9, AA, B, or several joined by '/')");
        return false;
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return true;
  }

  // Builds the clip or gap for one event line; `record_frames` is its length in the track.
  Item item_for(const EventLine& l) {
    const std::string origin = where(l.event, l.line);
    const int64_t record_frames = l.rec_out - l.rec_in;
    if (l.black()) return Gap{Rational{record_frames} / fps_, origin};
    Clip clip;
    clip.reel = l.reel;
    clip.media_text = l.reel;
    clip.clip_name = l.clip_name;
    clip.written_path = l.source_file;
    clip.name = l.clip_name.empty() ? l.reel : l.clip_name;
    clip.rate = fps_;
    clip.origin = origin;
    const Rational start = Rational{l.src_in} / fps_;
    // The clip lasts its record length; the source start is where its media begins. With M2 the
    // source out is the exporter's business (some write in + record length, some in + media
    // used), so only cuts without speed must have equal source and record lengths.
    clip.source_range = {start, start + Rational{record_frames} / fps_};
    if (l.speed_fps) {
      const Rational speed = *l.speed_fps / fps_;
      const std::string m2 = where(l.event, l.m2_line);
      if (speed < Rational{0}) {
        fail(m2, "reverse playback (a negative M2 speed) is not supported");
      } else if (speed == Rational{0}) {
        clip.effect.kind = TimeEffect::Kind::Freeze;
      } else if (speed != Rational{1}) {
        clip.effect = {TimeEffect::Kind::LinearSpeed, speed};
      }
    } else if (l.src_out - l.src_in != record_frames) {
      fail(origin, "the source lasts " + std::to_string(l.src_out - l.src_in) +
                       " frames but the record " + std::to_string(record_frames) +
                       " (without an M2 speed they must be equal)");
    }
    return clip;
  }

  struct Placement {
    Track track;
    int64_t cursor = 0;  // record frame where the track's content ends
    int last_event = 0;
  };

  void place_on(Placement& p, const EventLine& l, std::optional<Transition> before) {
    const std::string origin = where(l.event, l.line);
    if (l.rec_in < p.cursor) {
      fail(origin, "record in overlaps event " + std::to_string(p.last_event) + " on track " +
                       p.track.name + " by " + std::to_string(p.cursor - l.rec_in) + " frames");
      return;
    }
    if (l.rec_in > p.cursor) {
      p.track.items.emplace_back(std::in_place_type<Gap>, Rational{l.rec_in - p.cursor} / fps_,
                                 origin);
    }
    if (before) {
      // A dissolve from the very start of a track dissolves from black: a zero-length gap stands
      // on its outgoing side.
      if (p.track.items.empty())
        p.track.items.emplace_back(std::in_place_type<Gap>, Rational{0}, origin);
      p.track.items.push_back(std::move(*before));
    }
    if (l.rec_out > l.rec_in) p.track.items.push_back(item_for(l));
    p.cursor = l.rec_out;
    p.last_event = l.event;
  }

  Timeline place() {
    Timeline timeline;
    timeline.name = title_;
    timeline.rate = fps_;
    timeline.drop_frame = drop_frame_;
    timeline.base_dir = base_dir_;
    int64_t start = 0;
    bool any = false;
    for (const Event& e : events_) {
      for (const EventLine& l : e.lines) {
        start = any ? std::min(start, l.rec_in) : l.rec_in;
        any = true;
      }
    }
    timeline.global_start = Rational{start} / fps_;
    std::optional<Placement> video;
    std::vector<std::optional<Placement>> audio;
    auto track = [&](std::optional<Placement>& p, Track::Kind kind,
                     std::string name) -> Placement& {
      if (!p) {
        p.emplace();
        p->track.kind = kind;
        p->track.name = std::move(name);
        p->track.origin = "track " + p->track.name;
        p->cursor = start;
      }
      return *p;
    };
    for (const Event& e : events_) {
      const EventLine& first = e.lines.front();
      bool has_video = false;
      std::vector<int> audio_tracks;
      if (!tracks_of(first, has_video, audio_tracks)) continue;
      if (e.lines.size() == 2) {
        bool v2 = false;
        std::vector<int> a2;
        if (!tracks_of(e.lines[1], v2, a2)) continue;
        if (v2 != has_video || a2 != audio_tracks) {
          fail(where(e.number, e.lines[1].line),
               "a transition's two lines must name the same "
               "tracks (" +
                   first.tracks + " and " + e.lines[1].tracks + ")");
          continue;
        }
      }
      auto place_event = [&](Placement& p) {
        place_on(p, first, std::nullopt);
        if (e.lines.size() == 2) {
          const EventLine& in = e.lines[1];
          if (in.rec_in != first.rec_out) {
            fail(where(e.number, in.line),
                 "the transition's record in must be where the line before it ends (" +
                     std::to_string(in.rec_in - first.rec_out) + " frames apart)");
            return;
          }
          // CMX: the incoming side starts at the cut and the dissolve covers its first
          // `transition_frames`, the outgoing side running on under it: in OTIO terms the
          // transition starts at the cut (in_offset 0) and lasts out_offset.
          Transition t;
          t.written_as = in.type;
          t.in_offset = Rational{0};
          t.out_offset = Rational{in.transition_frames} / fps_;
          t.origin = where(e.number, in.line);
          if (in.type != "D") {
            notes_.push_back({t.origin, "wipe " + in.type + " is read as a dissolve"});
          }
          place_on(p, in, std::move(t));
        }
      };
      if (has_video) place_event(track(video, Track::Kind::Video, "V"));
      for (int a : audio_tracks) {
        if (audio.size() <= static_cast<size_t>(a)) audio.resize(static_cast<size_t>(a) + 1);
        place_event(
            track(audio[static_cast<size_t>(a)], Track::Kind::Audio, "A" + std::to_string(a + 1)));
      }
    }
    if (!saw_event_) fail("", "no events");
    if (video) timeline.video.push_back(std::move(video->track));
    for (auto& a : audio) {
      if (a) timeline.audio.push_back(std::move(a->track));
    }
    return timeline;
  }

  Rational fps_;
  std::string base_dir_;
  std::string title_;
  bool drop_frame_ = false;
  bool saw_event_ = false;  // an event line, even one with problems
  std::vector<Event> events_;
  std::vector<Problem> problems_;
  std::vector<Problem> notes_;
};

}  // namespace

ReadResult read_edl(std::string_view text, const EdlOptions& options,
                    const std::filesystem::path& base_dir) {
  return EdlReader(options, base_dir.string()).read(text);
}

ReadResult read_edl_file(const std::filesystem::path& file, const EdlOptions& options) {
  return read_cut_file(file, [&options](std::string_view text, const std::filesystem::path& dir) {
    return read_edl(text, options, dir);
  });
}

}  // namespace leancut::interchange
