#include "blueprint/json_tree.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>

namespace leancut::blueprint {
namespace {

using Json = nlohmann::json;

constexpr int kMaxDepth = 64;

// nlohmann SAX handler that builds the JsonNode tree and turns a syntax error into "line L, column
// C: <what>".
class TreeBuilder {
 public:
  explicit TreeBuilder(std::string_view text) : text_(text) {}

  bool null() { return add(JsonNode{}); }
  bool boolean(bool value) {
    JsonNode n;
    n.kind = JsonNode::Kind::Bool;
    n.boolean = value;
    return add(std::move(n));
  }
  bool number_integer(Json::number_integer_t value) { return number(std::to_string(value)); }
  bool number_unsigned(Json::number_unsigned_t value) { return number(std::to_string(value)); }
  bool number_float(Json::number_float_t /*value*/, const std::string& raw) { return number(raw); }
  bool string(std::string& value) {
    JsonNode n;
    n.kind = JsonNode::Kind::String;
    n.text = std::move(value);
    return add(std::move(n));
  }
  bool binary(Json::binary_t& /*value*/) { return false; }  // not produced by JSON text
  bool start_object(std::size_t /*elements*/) { return open(JsonNode::Kind::Object); }
  bool key(std::string& key) {
    stack_.back().keys.push_back(std::move(key));
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t /*elements*/) { return open(JsonNode::Kind::Array); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    error_ = location(position) + ": " + what(ex.what());
    return false;
  }

  const std::string& error() const { return error_; }
  JsonNode take_root() { return std::move(root_); }

 private:
  bool number(std::string text) {
    JsonNode n;
    n.kind = JsonNode::Kind::Number;
    n.text = std::move(text);
    return add(std::move(n));
  }
  bool add(JsonNode n) {
    if (stack_.empty()) {
      root_ = std::move(n);
    } else {
      stack_.back().items.push_back(std::move(n));
    }
    return true;
  }
  bool open(JsonNode::Kind kind) {
    if (static_cast<int>(stack_.size()) >= kMaxDepth) {
      error_ = "the document nests deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    JsonNode n;
    n.kind = kind;
    stack_.push_back(std::move(n));
    return true;
  }
  bool close() {
    JsonNode n = std::move(stack_.back());
    stack_.pop_back();
    return add(std::move(n));
  }

  // nlohmann reports how many bytes it read; the last one is where it stopped. Lines and columns
  // count from 1, columns in bytes.
  std::string location(std::size_t position) const {
    size_t at = std::min(position > 0 ? position - 1 : 0, text_.size());
    size_t line = 1 + static_cast<size_t>(std::count(text_.begin(), text_.begin() + at, '\n'));
    size_t line_start = text_.substr(0, at).rfind('\n');
    size_t column = line_start == std::string_view::npos ? at + 1 : at - line_start;
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
  }
  // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." -> the
  // part after the position;
  // "[json.exception.out_of_range.406] number overflow parsing '1e400'" -> the part after the tag.
  static std::string what(std::string_view message) {
    size_t at = message.find("parse error");
    if (at != std::string_view::npos) {
      at = message.find(": ", at);
      if (at != std::string_view::npos) message.remove_prefix(at + 2);
    } else if (message.rfind("[json.exception.", 0) == 0 &&
               message.find("] ") != std::string_view::npos) {
      message.remove_prefix(message.find("] ") + 2);
    }
    return valid_utf8(message);
  }
  // nlohmann echoes the bytes it last read, which may be the ill-formed UTF-8 it complains about;
  // diagnostics end up in JSON reports, so such bytes become '?'.
  static std::string valid_utf8(std::string_view s) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
      unsigned char c = byte(i);
      size_t length = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xe  ? 3
                      : (c >> 3) == 0x1e ? 4
                                         : 0;
      bool ok = length > 0 && i + length <= s.size();
      for (size_t k = 1; ok && k < length; ++k) ok = (byte(i + k) & 0xc0) == 0x80;
      if (ok) {
        out.append(s.substr(i, length));
        i += length;
      } else {
        out += '?';
        ++i;
      }
    }
    return out;
  }

  std::string_view text_;
  std::vector<JsonNode> stack_;
  JsonNode root_;
  std::string error_;
};

}  // namespace

const JsonNode* JsonNode::get(std::string_view key) const {
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return &items[i];
  }
  return nullptr;
}

Result<JsonNode> parse_json_tree(std::string_view text) {
  TreeBuilder builder(text);
  bool parsed = false;
  try {
    parsed = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                             /*strict=*/true);
  } catch (const std::exception& e) {  // nlohmann reports through parse_error; this is a backstop
    return make_error(ErrorCode::InvalidInput, std::string("cannot parse JSON: ") + e.what());
  }
  if (!parsed) {
    return make_error(ErrorCode::InvalidInput,
                      builder.error().empty() ? "cannot parse JSON" : builder.error());
  }
  return builder.take_root();
}

}  // namespace leancut::blueprint
