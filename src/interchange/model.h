// The editorial model that interchange files (OpenTimelineIO, CMX3600 EDL) are read into: tracks
// of clips, gaps and transitions with exact times, before any media is probed or rendered.
//
//   ReadResult r = read_otio_file("cut.otio");
//   if (!r.ok()) for (const Problem& p : r.problems) std::cerr << p.to_string() << "\n";
//   Rational seconds = r.timeline->duration();   // max over tracks, exact
//
// Semantics follow OpenTimelineIO (docs/interchange.md): items in a track play end to end; a
// Transition overlaps the item before it by in_offset and the item after it by out_offset and
// adds no duration; a clip's source_range is in the clip's own time, a time effect maps it to
// media. Every time is a Rational number of seconds (never double), every range half-open.
// Value types; thread-compatible.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "time/rational.h"
#include "time/time_range.h"

namespace leancut::interchange {

// Where an object came from, for messages: an OTIO JSON path such as
// "tracks.children[0].children[3]", or "event 12 (line 34)" in an EDL.
using Origin = std::string;

// Maps a clip's own time to its media's time. OTIO LinearTimeWarp / EDL M2 is LinearSpeed
// (speed 2 plays media twice as fast: a 1 s clip uses 2 s of media); OTIO FreezeFrame / an M2
// of speed 0 is Freeze (the clip shows the frame at its source start throughout).
struct TimeEffect {
  enum class Kind { None, LinearSpeed, Freeze };
  Kind kind = Kind::None;
  Rational speed{1};  // LinearSpeed only; positive (reverse play is refused by the readers)
  friend bool operator==(const TimeEffect&, const TimeEffect&) = default;
};

struct Clip {
  std::string name;
  // What the file said about the media, for messages and conform: the OTIO target_url, or the
  // EDL's reel name. Empty for an OTIO MissingReference.
  std::string media_text;
  std::string reel;       // EDL only: the reel (source tape) name
  std::string clip_name;  // EDL only: "* FROM CLIP NAME:" / "* TO CLIP NAME:", else empty
  // The path as the file wrote it (OTIO: target_url decoded; may be relative or another
  // machine's), which --remap rewrites. Empty when unknown (MissingReference, EDL reels).
  std::string written_path;
  std::string media_path;  // the file; absolute once resolved, empty when unknown
  // Set by conform under `missing: slate`: no file was found, so a labelled slate of the clip's
  // duration stands in for it.
  bool media_missing = false;
  std::optional<TimeRange> available_range;  // seconds of media, when the file says
  TimeRange source_range;                    // seconds, in the clip's own time; [start, end)
  Rational rate{24};  // the rate source_range was written at (frames for messages)
  TimeEffect effect;
  Origin origin;

  Rational duration() const { return source_range.duration(); }
  // The media this clip reads, in media time: [start, start + duration x speed); one frame's
  // worth of time for a freeze (at `rate`). Handles for transitions are not included.
  TimeRange media_range() const;
};

struct Gap {
  Rational duration;
  Origin origin;
};

// A transition between the items before and after it. It starts in_offset before the cut and
// ends out_offset after it; neither neighbour changes length (OTIO semantics), so the
// outgoing clip needs out_offset of media past its out point, the incoming one in_offset before
// its in point.
struct Transition {
  enum class Kind { Dissolve };
  Kind kind = Kind::Dissolve;
  std::string written_as;  // "SMPTE_Dissolve", or the EDL's "D" / "W001" (wipes fall back)
  Rational in_offset;
  Rational out_offset;
  Origin origin;
};

using Item = std::variant<Clip, Gap, Transition>;

// The time an item occupies in its track: a clip's or gap's duration, 0 for a transition.
Rational item_duration(const Item& item);
const Origin& item_origin(const Item& item);

struct Track {
  enum class Kind { Video, Audio };
  Kind kind = Kind::Video;
  std::string name;
  std::vector<Item> items;
  Origin origin;
  Rational duration() const;  // the sum of item durations
};

struct Timeline {
  std::string name;
  // Frames per second of the timeline: OTIO global_start_time's rate, else the first clip's; the
  // EDL's --fps.
  Rational rate{24};
  bool drop_frame = false;   // timecodes shown drop-frame (an EDL with FCM: DROP FRAME)
  Rational global_start;     // seconds; the record timecode of the first frame
  std::string base_dir;      // where relative media paths resolve: the file's folder
  std::vector<Track> video;  // bottom to top: later tracks composite over earlier ones
  std::vector<Track> audio;  // summed

  // The longest track, exactly; transitions add nothing.
  Rational duration() const;
  size_t item_count() const;
  std::vector<const Clip*> clips() const;
  std::vector<Clip*> clips();
};

// One thing wrong with the input, named by its origin.
struct Problem {
  Origin origin;  // "" for the whole file
  std::string message;
  std::string to_string() const { return origin.empty() ? message : origin + ": " + message; }
  friend bool operator==(const Problem&, const Problem&) = default;
};

// What a reader returns: the timeline when nothing is wrong, else every problem found (in file
// order). Notes say what was accepted with a fallback (an EDL wipe read as a dissolve).
struct ReadResult {
  std::optional<Timeline> timeline;
  // With problems: what could be read (the objects without problems), so conform can still
  // list missing media beside them: "every problem at once".
  std::optional<Timeline> partial;
  std::vector<Problem> problems;
  std::vector<Problem> notes;
  bool ok() const { return timeline.has_value() && problems.empty(); }
};

// Reads the whole file `file` and passes its text and its folder (where relative media paths
// resolve) to `read`; a file that cannot be read is one problem of the whole file.
ReadResult read_cut_file(
    const std::filesystem::path& file,
    const std::function<ReadResult(std::string_view text, const std::filesystem::path& dir)>& read);

// Rates as editors write them: 23.976, 23.98, 29.97, 47.952, 59.94, 119.88 (and any decimal
// within 0.005 of n x 1000/1001 for an integer n) are the NTSC rates n x 1000/1001; integers stay
// integers; other decimals are taken literally. nullopt for a rate that is not positive.
std::optional<Rational> standard_rate(Rational written);

// Whether the times of every track can be summed and compared exactly in 64 bits, with a margin
// (each sum, media range and handle below 2^60 in numerator and denominator). Files mixing many
// unusual rates (999.983 and 999.979 fps ...) could overflow Rational, which stops the program;
// readers call this first and report such a track as a problem instead. Appends to `problems`;
// false when it did.
bool check_exact_sums(const Timeline& timeline, std::vector<Problem>& problems);

// Track::duration(), or nullopt when the sum would not fit (see check_exact_sums).
std::optional<Rational> checked_duration(const Track& track);

// Checks that the items of every track make sense together: transitions sit between two items
// (not at a track's ends, not next to another transition), their offsets are not negative and
// fit inside the neighbouring items' durations, and where a clip's available range is known it
// covers the media the clip reads plus its transition handles. Appends to `problems`.
void check_structure(const Timeline& timeline, std::vector<Problem>& problems);

}  // namespace leancut::interchange
