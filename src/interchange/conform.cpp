#include "interchange/conform.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace leancut::interchange {
namespace {

namespace fs = std::filesystem;

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Backslashes become '/' so Windows paths remap and yield their file names like POSIX ones.
std::string forward_slashes(std::string s) {
  std::replace(s.begin(), s.end(), '\\', '/');
  return s;
}

std::string file_name_of(const std::string& written) {
  std::string s = forward_slashes(written);
  size_t slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

std::optional<std::string> apply_remaps(const std::string& written,
                                        const std::vector<Remap>& remaps) {
  const std::string path = forward_slashes(written);
  for (const Remap& r : remaps) {
    const std::string from = forward_slashes(r.from);
    if (path.compare(0, from.size(), from) != 0) continue;
    // A prefix matches whole folder names: /media does not rewrite /media2/a.mov.
    if (path.size() > from.size() && from.back() != '/' && path[from.size()] != '/') continue;
    return r.to + path.substr(from.size());
  }
  return std::nullopt;
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// One media root's files by name and by name without extension, first in walk order.
struct RootIndex {
  std::map<std::string, std::string> by_name;
  std::map<std::string, std::string> by_stem;
  bool truncated = false;
};

RootIndex walk(const fs::path& root, size_t max_entries, int max_depth) {
  RootIndex index;
  std::deque<std::pair<fs::path, int>> folders{{root, 0}};
  size_t seen = 0;
  while (!folders.empty()) {
    auto [folder, depth] = folders.front();
    folders.pop_front();
    std::vector<fs::directory_entry> entries;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      entries.push_back(*it);
    }
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return a.path().filename() < b.path().filename();
    });
    for (const fs::directory_entry& e : entries) {
      if (++seen > max_entries) {
        index.truncated = true;
        return index;
      }
      std::error_code sec;
      fs::file_status st = e.symlink_status(sec);
      if (sec) continue;
      if (fs::is_directory(st)) {
        if (depth + 1 < max_depth) folders.emplace_back(e.path(), depth + 1);
        continue;
      }
      if (!is_file(e.path())) continue;  // (a symlink to a file counts; to a folder does not)
      index.by_name.emplace(e.path().filename().string(), e.path().string());
      index.by_stem.emplace(e.path().stem().string(), e.path().string());
    }
  }
  return index;
}

}  // namespace

Result<Remap> parse_remap(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return make_error(ErrorCode::InvalidInput,
                      "--remap \"" + std::string(text) + "\": expected OLD_PREFIX=NEW_PREFIX");
  }
  return Remap{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

Result<MissingPolicy> parse_missing_policy(std::string_view text) {
  if (text == "error") return MissingPolicy::Error;
  if (text == "slate") return MissingPolicy::Slate;
  return make_error(ErrorCode::InvalidInput,
                    "--missing \"" + std::string(text) + "\": expected error or slate");
}

Result<std::map<std::string, std::string>> parse_reel_map(std::string_view text,
                                                          const fs::path& base_dir) {
  std::map<std::string, std::string> map;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const size_t eq = t.find('=');
    std::string reel = eq == std::string::npos ? "" : trim(t.substr(0, eq));
    std::string path = eq == std::string::npos ? "" : trim(t.substr(eq + 1));
    if (reel.empty() || path.empty()) {
      return make_error(ErrorCode::InvalidInput, "line " + std::to_string(number) +
                                                     ": expected REEL = PATH, got \"" + t + "\"");
    }
    if (map.count(reel)) {
      return make_error(ErrorCode::InvalidInput, "line " + std::to_string(number) + ": reel \"" +
                                                     reel + "\" is mapped twice");
    }
    fs::path p(path);
    map[reel] = (p.is_absolute() ? p : base_dir / p).lexically_normal().string();
  }
  return map;
}

Result<std::map<std::string, std::string>> load_reel_map(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorCode::NotFound, "cannot read the reel map " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  std::error_code ec;  // (absolute() fails only without a current directory: keep it relative)
  fs::path absolute = fs::absolute(file, ec);
  auto map = parse_reel_map(ss.str(), (ec ? file : absolute).parent_path());
  if (!map) return map.error().with_context(file.string());
  return map;
}

ConformReport conform(Timeline& timeline, const ConformOptions& options) {
  ConformReport report;
  std::vector<std::optional<RootIndex>> indexes(options.media_roots.size());
  auto index_of = [&](size_t i) -> const RootIndex& {
    if (!indexes[i]) {
      indexes[i] =
          walk(options.media_roots[i], options.max_search_entries, options.max_search_depth);
      if (indexes[i]->truncated) {
        report.notes.push_back({"", "the search under --media-root " +
                                        options.media_roots[i].string() + " stopped after " +
                                        std::to_string(options.max_search_entries) + " entries"});
      }
    }
    return *indexes[i];
  };

  std::set<std::pair<std::string, std::string>> reported;
  for (Clip* clip : timeline.clips()) {
    std::vector<std::string> looked;  // for the message
    std::string written = clip->written_path;
    if (!clip->reel.empty()) {
      auto it = options.reel_map.find(clip->reel);
      if (it != options.reel_map.end()) written = it->second;
    }
    std::string found;
    if (!written.empty()) {
      std::string candidate = apply_remaps(written, options.remaps).value_or(written);
      fs::path p(candidate);
      if (!p.is_absolute()) p = fs::path(timeline.base_dir) / p;
      p = p.lexically_normal();
      looked.push_back(p.string());
      if (is_file(p)) found = p.string();
    }
    // Names to look for under the media roots, best first.
    std::vector<std::pair<std::string, bool>> names;  // (name, match the stem too)
    if (!written.empty()) names.emplace_back(file_name_of(written), false);
    if (!clip->clip_name.empty()) names.emplace_back(clip->clip_name, true);
    if (!clip->reel.empty()) names.emplace_back(clip->reel, true);
    for (size_t r = 0; found.empty() && r < options.media_roots.size(); ++r) {
      const RootIndex& index = index_of(r);
      for (const auto& [name, stem_too] : names) {
        if (name.empty()) continue;
        auto by_name = index.by_name.find(name);
        if (by_name != index.by_name.end()) {
          found = by_name->second;
          break;
        }
        auto by_stem = stem_too ? index.by_stem.find(name) : index.by_stem.end();
        if (by_stem != index.by_stem.end()) {
          found = by_stem->second;
          break;
        }
      }
    }
    if (!found.empty()) {
      clip->media_path = found;
      clip->media_missing = false;
      continue;
    }
    std::string what = !clip->reel.empty()         ? "reel \"" + clip->reel + "\""
                       : !clip->media_text.empty() ? "\"" + clip->media_text + "\""
                                                   : "a MissingReference";
    if (!clip->clip_name.empty()) what += " (clip name \"" + clip->clip_name + "\")";
    std::string msg = "media not found: " + what;
    if (!looked.empty()) msg += "; looked at " + looked.front();
    if (!options.media_roots.empty()) {
      msg += looked.empty() ? "; searched " : " and under ";
      for (size_t r = 0; r < options.media_roots.size(); ++r) {
        msg += (r ? ", " : "") + options.media_roots[r].string();
      }
    }
    // An EDL event on several tracks (B, AA/V) is one clip per track but one line to fix.
    if (!reported.insert({clip->origin, msg}).second) {
      clip->media_missing = options.missing == MissingPolicy::Slate;
      continue;
    }
    if (options.missing == MissingPolicy::Error) {
      report.problems.push_back({clip->origin, msg});
    } else {
      clip->media_path.clear();
      clip->media_missing = true;
      report.notes.push_back({clip->origin, msg + " (a slate stands in)"});
    }
  }
  return report;
}

}  // namespace leancut::interchange
