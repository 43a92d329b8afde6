// JsonNode: a JSON document as written. Key order, duplicate keys and each number's own text
// survive, which nlohmann::json's DOM would lose (it keeps one value per key and numbers as
// double): the blueprint parser reports duplicate keys and reads seconds exactly from their
// digits, and the OTIO reader reads RationalTime values the same way.
//
//   Result<JsonNode> doc = parse_json_tree(text);   // "line 3, column 7: syntax error ..."
//   if (const JsonNode* v = doc->get("version")) ...
//
// Value type. Parsing is strict JSON (no comments, no NaN), refuses documents nested deeper than
// 64 levels (the tree is built and destroyed recursively), and never throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace leancut::blueprint {

struct JsonNode {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;               // a string's value, or a number's text
  std::vector<std::string> keys;  // an object's keys, parallel to items, in document order
  std::vector<JsonNode> items;

  // An object's first member named `key`, or nullptr.
  const JsonNode* get(std::string_view key) const;
};

// InvalidInput "line L, column C: <what>" (bytes, from 1) for a syntax error; "cannot parse JSON:
// ..." for what nlohmann throws regardless (a few encoding errors).
Result<JsonNode> parse_json_tree(std::string_view text);

}  // namespace leancut::blueprint
