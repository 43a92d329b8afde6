// Golden files under tests/golden/blueprint/: every valid_*.json must parse to the summary in
// valid_*.expected.txt, every invalid_*.json must give exactly the diagnostics in
// invalid_*.errors.txt (one Diagnostic::to_string() per line). Adding a file adds a case.
// LEANCUT_UPDATE_GOLDEN=1 rewrites the expectations from the current output (review the diff).
//
// Also: every ```json block in docs/blueprint.md is a valid blueprint.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "blueprint/parse.h"

#ifndef LEANCUT_SOURCE_DIR_DEFAULT
#define LEANCUT_SOURCE_DIR_DEFAULT "."
#endif

namespace leancut::blueprint {
namespace {

namespace fs = std::filesystem;

// Golden blueprints resolve relative sources against this fixed folder, so summaries do not
// depend on where the checkout is.
const fs::path kBase = "/cuts";

fs::path source_dir() {
  const char* env = std::getenv("LEANCUT_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path(LEANCUT_SOURCE_DIR_DEFAULT);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string time_text(const TimeRef& t) {
  if (const Rational* s = std::get_if<Rational>(&t)) {
    // The exact fraction too, when the decimal form hides it.
    bool decimal = to_exact_decimal(*s).has_value();
    return to_string(t) + (decimal && s->den() != 1 ? " (" + s->to_string() + ")" : "");
  }
  const Timecode& tc = std::get<Timecode>(t);
  return "timecode " + to_string(tc) + (tc.drop_frame ? " (drop-frame)" : "");
}

// A deterministic, complete summary of a parsed blueprint: one fact per line.
std::string dump(const Blueprint& bp) {
  const Output& o = bp.output;
  std::ostringstream s;
  s << "version: " << bp.version << "\n";
  s << "base_dir: " << bp.base_dir.generic_string() << "\n";
  s << "output.size: " << o.width << "x" << o.height << "\n";
  s << "output.fps: " << o.fps.to_string() << "\n";
  s << "output.background: " << o.background << "\n";
  s << "output.mp4_layout: " << o.mp4_layout << "\n";
  s << "output.video: codec=" << o.video.codec << " crf=" << o.video.crf
    << " preset=" << o.video.preset << " pix_fmt=" << o.video.pix_fmt
    << " bitrate=" << (o.video.bitrate ? std::to_string(*o.video.bitrate) : "none")
    << " gop_seconds=" << o.video.gop_seconds << "\n";
  s << "output.audio: codec=" << o.audio.codec << " sample_rate=" << o.audio.sample_rate
    << " channels=" << o.audio.channels << " bitrate=" << o.audio.bitrate << "\n";
  s << "shots: " << bp.shots.size() << "\n";
  for (size_t i = 0; i < bp.shots.size(); ++i) {
    const Shot& shot = bp.shots[i];
    if (shot.is_colour()) {
      s << "shots[" << i << "]: color=" << shot.color_text << " rgb=" << int{shot.color->r} << ","
        << int{shot.color->g} << "," << int{shot.color->b}
        << " duration=" << shot.duration.to_string() << "s";
      if (!shot.name.empty()) s << " name=" << shot.name;
      s << "\n";
      continue;
    }
    if (shot.is_still()) {
      s << "shots[" << i << "]: image=" << shot.image_text << " -> " << shot.image.generic_string()
        << " duration=" << shot.duration.to_string() << "s fit=" << to_string(shot.fit);
      if (!shot.name.empty()) s << " name=" << shot.name;
      s << "\n";
      continue;
    }
    s << "shots[" << i << "]: source=" << shot.source_text << " -> " << shot.source.generic_string()
      << " in=" << time_text(shot.in) << " out=" << time_text(shot.out)
      << " fit=" << to_string(shot.fit) << " audio=" << (shot.audio ? "true" : "false");
    if (!shot.focus.is_center()) {
      s << " focus=" << shot.focus.x.to_string() << "," << shot.focus.y.to_string();
    }
    if (shot.speed != Rational{1}) s << " speed=" << shot.speed.to_string();
    if (shot.freeze) s << " freeze=true";
    if (shot.gain_db != Rational{0}) s << " gain_db=" << shot.gain_db.to_string();
    if (!shot.name.empty()) s << " name=" << shot.name;
    s << "\n";
  }
  return s.str();
}

std::string diagnostics_text(const ParseResult& r) {
  std::string s;
  for (const Diagnostic& d : r.diagnostics) s += d.to_string() + "\n";
  return s;
}

std::vector<fs::path> golden_files(const std::string& prefix) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& e :
       fs::directory_iterator(source_dir() / "tests/golden/blueprint")) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool update_golden() {
  const char* env = std::getenv("LEANCUT_UPDATE_GOLDEN");
  return env != nullptr && std::string(env) == "1";
}

void check_against(const fs::path& expected_file, const std::string& actual) {
  if (update_golden()) {
    write_file(expected_file, actual);
    return;
  }
  ASSERT_TRUE(fs::exists(expected_file)) << expected_file << " is missing; actual:\n" << actual;
  EXPECT_EQ(read_file(expected_file), actual) << expected_file;
}

fs::path with_suffix(const fs::path& json, const std::string& suffix) {
  fs::path p = json;
  p.replace_extension(suffix);
  return p;
}

TEST(Golden, ValidBlueprints) {
  std::vector<fs::path> files = golden_files("valid_");
  ASSERT_GE(files.size(), 5u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    ParseResult r = parse_blueprint(read_file(file), kBase);
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    check_against(with_suffix(file, ".expected.txt"), dump(*r.blueprint));
    // Read mirrors write, for every golden too.
    ParseResult again = parse_blueprint(to_json(*r.blueprint), kBase);
    ASSERT_TRUE(again.ok()) << diagnostics_text(again);
    EXPECT_EQ(*again.blueprint, *r.blueprint);
  }
}

TEST(Golden, InvalidBlueprints) {
  std::vector<fs::path> files = golden_files("invalid_");
  ASSERT_GE(files.size(), 10u);
  size_t most_errors = 0;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    ParseResult r = parse_blueprint(read_file(file), kBase);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.diagnostics.empty());
    most_errors = std::max(most_errors, r.diagnostics.size());
    check_against(with_suffix(file, ".errors.txt"), diagnostics_text(r));
  }
  EXPECT_GE(most_errors, 8u) << "one golden should show many errors reported at once";
}

TEST(Golden, EveryExpectationHasItsBlueprint) {
  for (const fs::directory_entry& e :
       fs::directory_iterator(source_dir() / "tests/golden/blueprint")) {
    std::string name = e.path().filename().string();
    for (const std::string suffix : {".expected.txt", ".errors.txt"}) {
      if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
        fs::path json =
            e.path().parent_path() / (name.substr(0, name.size() - suffix.size()) + ".json");
        EXPECT_TRUE(fs::exists(json)) << name << " has no blueprint";
      }
    }
  }
}

TEST(Docs, EveryJsonExampleInTheGuideIsAValidBlueprint) {
  std::istringstream doc(read_file(source_dir() / "docs/blueprint.md"));
  std::string line;
  std::string block;
  bool in_block = false;
  int examples = 0;
  int line_number = 0;
  int block_start = 0;
  while (std::getline(doc, line)) {
    ++line_number;
    if (!in_block && line == "```json") {
      in_block = true;
      block.clear();
      block_start = line_number;
    } else if (in_block && line == "```") {
      in_block = false;
      ++examples;
      ParseResult r = parse_blueprint(block, kBase);
      EXPECT_TRUE(r.ok()) << "docs/blueprint.md:" << block_start << "\n" << diagnostics_text(r);
    } else if (in_block) {
      block += line + "\n";
    }
  }
  EXPECT_GE(examples, 2);
}

}  // namespace
}  // namespace leancut::blueprint
