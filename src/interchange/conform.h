// Conform: finds each clip's media on this machine. Interchange files point at other machines'
// paths and tape reels; conform rewrites, searches and, by policy, either lists every missing
// file at once or marks the clips for a slate.
//
//   ConformOptions opt;
//   opt.remaps.push_back(parse_remap("/Volumes/Show=/mnt/show").value());
//   opt.media_roots.push_back("/mnt/show/media");
//   ConformReport r = conform(timeline, opt);   // fills Clip::media_path or media_missing
//
// For each clip, in order (docs/interchange.md):
//   1. the written path (OTIO) or the reel map's path for the reel (EDL), rewritten by the first
//      --remap whose OLD prefix matches it at a '/' boundary; relative paths resolve against the
//      timeline's base_dir. If that is a regular file, it is the media.
//   2. else under each --media-root in order: a file with the same file name (OTIO), or named
//      like the EDL's clip name, else the reel name (exactly or as its name without extension).
//      Each root is walked once, breadth first (shallower wins), names in byte order, at most
//      max_search_entries entries and max_search_depth levels; symlinked folders are not
//      followed. The first match in that order wins, so the result is deterministic.
//   3. else the clip is missing: a problem (MissingPolicy::Error) or media_missing (Slate).
// Reads the filesystem; thread-compatible.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "interchange/model.h"

namespace leancut::interchange {

struct Remap {
  std::string from;  // a path prefix as written in the file ("/Volumes/Show", "C:/media")
  std::string to;
};

// "OLD=NEW"; OLD must not be empty. The first '=' splits.
Result<Remap> parse_remap(std::string_view text);

enum class MissingPolicy { Error, Slate };

// "error" or "slate".
Result<MissingPolicy> parse_missing_policy(std::string_view text);

// EDL reel name -> file. The reel map file: one "REEL = PATH" a line; '#' starts a comment line;
// blank lines are skipped; spaces around REEL and PATH are trimmed; a relative PATH is relative
// to the map file's folder. Errors name the line.
Result<std::map<std::string, std::string>> load_reel_map(const std::filesystem::path& file);
Result<std::map<std::string, std::string>> parse_reel_map(std::string_view text,
                                                          const std::filesystem::path& base_dir);

struct ConformOptions {
  std::vector<Remap> remaps;
  std::vector<std::filesystem::path> media_roots;
  MissingPolicy missing = MissingPolicy::Error;
  std::map<std::string, std::string> reel_map;
  // Bounds on each media root's walk (why: a root pointed at / must not take minutes).
  size_t max_search_entries = 200'000;
  int max_search_depth = 16;
};

struct ConformReport {
  std::vector<Problem> problems;  // every missing file (policy Error), each with its clip's origin
  std::vector<Problem> notes;     // clips slated (policy Slate), searches cut short by the bounds
  bool ok() const { return problems.empty(); }
};

ConformReport conform(Timeline& timeline, const ConformOptions& options);

}  // namespace leancut::interchange
