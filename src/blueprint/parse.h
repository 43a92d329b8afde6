// Parsing and validating blueprint JSON. Reports every problem at once, each with its JSON path:
//
//   ParseResult r = parse_blueprint(text, "/cuts");
//   for (const Diagnostic& d : r.diagnostics) std::cerr << d.to_string() << "\n";
//   // shots[3].in: must not be negative, got -1.5
//
// Checks everything that can be checked without media: JSON syntax ("line L, column C: ..."),
// types, unknown and duplicate fields, ranges, in < out when both are seconds (or timecodes of
// one kind), zero shots, codec names; diagnostics come in document order. Media checks (source
// exists, out past the end) happen when the engine resolves the timeline against probes.
// docs/blueprint.md is the user's reference; docs/blueprint.schema.json mirrors these rules.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blueprint/blueprint.h"

namespace leancut::blueprint {

struct Diagnostic {
  std::string path;     // JSON path: "shots[3].in", "output.fps", "" for the document
  std::string message;  // "2s must be after in (2.5s)"
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

struct ParseResult {
  std::optional<Blueprint> blueprint;  // set only when diagnostics is empty
  std::vector<Diagnostic> diagnostics;
  // With diagnostics: what could be read, so media checks can still run on the shots whose
  // source, in and out are fine (shot_checkable[i]); "every problem at once" includes those.
  std::optional<Blueprint> partial;
  std::vector<bool> shot_checkable;
  bool ok() const { return blueprint.has_value(); }
};

// base_dir: where relative sources resolve (the blueprint file's folder).
ParseResult parse_blueprint(std::string_view json_text, const std::filesystem::path& base_dir);

// Reads the file and parses it; an unreadable file is one diagnostic with an empty path.
ParseResult load_blueprint(const std::filesystem::path& file);

// Writes a blueprint back as JSON (read mirrors write; parse(to_json(bp)) == bp). Seconds are
// written as decimal numbers when they terminate (1.5), else as exact "num/den" strings
// ("1001/30000"), a form the parser also accepts. A shot's source is written as source_text, or
// as the source path when source_text is empty; a still's image likewise. Used by generators
// (demo, benchmark), tests.
std::string to_json(const Blueprint& bp);

}  // namespace leancut::blueprint
