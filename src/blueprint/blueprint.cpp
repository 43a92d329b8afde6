#include "blueprint/blueprint.h"

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "blueprint/parse.h"
#include "time/rational.h"

namespace leancut::blueprint {

bool is_remote_source(std::string_view text) {
  const auto has_scheme = [&](std::string_view scheme) {
    if (text.size() <= scheme.size()) return false;
    for (size_t i = 0; i < scheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(text[i])) != scheme[i]) return false;
    }
    return true;
  };
  return has_scheme("http://") || has_scheme("https://");
}

namespace {

// A JSON string literal. Written by hand rather than through nlohmann's dump, which throws on
// invalid UTF-8; such bytes pass through here and the parser reports them when read back.
std::string json_string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Seconds as the parser reads them back exactly: a JSON number with the exact decimal digits
// when the value terminates, else a "num/den" string.
std::string json_seconds(Rational r) {
  std::optional<std::string> decimal = to_exact_decimal(r);
  return decimal ? *decimal : json_string(r.to_string());
}

std::string json_time(const TimeRef& t) {
  if (const Rational* seconds = std::get_if<Rational>(&t)) return json_seconds(*seconds);
  return json_string(to_string(std::get<Timecode>(t)));
}

// ", \"transition\": {...}" as written; empty without one.
std::string json_transition(const std::optional<Transition>& t) {
  if (!t) return {};
  std::string s = ", \"transition\": {\"type\": " + json_string(to_string(t->kind));
  if (t->frames) s += ", \"frames\": " + std::to_string(*t->frames);
  if (t->duration) s += ", \"duration\": " + json_seconds(*t->duration);
  if (t->before) s += ", \"before\": " + json_seconds(*t->before);
  if (t->after) s += ", \"after\": " + json_seconds(*t->after);
  if (t->kind == TransitionKind::Fade) s += ", \"color\": " + json_string(t->color_text);
  return s + "}";
}

// ", \"text\": [...]" with every field that is not its default; empty without overlays.
std::string json_texts(const std::vector<TextOverlay>& texts) {
  if (texts.empty()) return {};
  const TextOverlay defaults;
  std::string s = ", \"text\": [";
  for (size_t i = 0; i < texts.size(); ++i) {
    const TextOverlay& t = texts[i];
    s += i == 0 ? "{" : ", {";
    s += "\"text\": " + json_string(t.text);
    if (t.font != defaults.font) s += ", \"font\": " + json_string(t.font);
    if (t.size != defaults.size) s += ", \"size\": " + std::to_string(t.size);
    if (t.color != defaults.color) s += ", \"color\": " + json_string(t.color);
    if (t.position == "point") {
      s += ", \"position\": [" + json_seconds(t.x) + ", " + json_seconds(t.y) + "]";
    } else if (t.position != defaults.position) {
      s += ", \"position\": " + json_string(t.position);
    }
    if (!t.box.empty()) s += ", \"box\": " + json_string(t.box);
    if (t.box_opacity != defaults.box_opacity) {
      s += ", \"box_opacity\": " + json_seconds(t.box_opacity);
    }
    if (t.start != defaults.start) s += ", \"start\": " + json_seconds(t.start);
    if (t.end) s += ", \"end\": " + json_seconds(*t.end);
    if (t.fade_in != defaults.fade_in) s += ", \"fade_in\": " + json_seconds(t.fade_in);
    if (t.fade_out != defaults.fade_out) s += ", \"fade_out\": " + json_seconds(t.fade_out);
    s += "}";
  }
  return s + "]";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const char* to_string(TransitionKind kind) {
  switch (kind) {
    case TransitionKind::Dissolve:
      return "dissolve";
    case TransitionKind::Fade:
      return "fade";
  }
  return "?";
}

const char* to_string(Fit fit) {
  switch (fit) {
    case Fit::Fit:
      return "fit";
    case Fit::Fill:
      return "fill";
    case Fit::Stretch:
      return "stretch";
  }
  return "fit";
}

std::string to_string(const TimeRef& t) {
  if (const Rational* seconds = std::get_if<Rational>(&t)) {
    std::optional<std::string> decimal = to_exact_decimal(*seconds);
    return (decimal ? *decimal : seconds->to_string()) + "s";
  }
  return to_string(std::get<Timecode>(t));
}

std::optional<Rgb> parse_colour(std::string_view text) {
  if (text == "black") return Rgb{0, 0, 0};
  if (text == "white") return Rgb{255, 255, 255};
  if (text == "gray" || text == "grey") return Rgb{128, 128, 128};
  if (text == "red") return Rgb{255, 0, 0};
  if (text == "green") return Rgb{0, 128, 0};
  if (text == "blue") return Rgb{0, 0, 255};
  if (text.size() != 7 || text[0] != '#') return std::nullopt;
  uint8_t channels[3] = {};
  for (int i = 0; i < 3; ++i) {
    int hi = hex_value(text[static_cast<size_t>(1 + 2 * i)]);
    int lo = hex_value(text[static_cast<size_t>(2 + 2 * i)]);
    if (hi < 0 || lo < 0) return std::nullopt;
    channels[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return Rgb{channels[0], channels[1], channels[2]};
}

std::string to_json(const Blueprint& bp) {
  const Output& o = bp.output;
  std::string fps = o.fps.den() == 1 ? o.fps.to_string() : json_string(o.fps.to_string());
  std::string s = "{\n";
  s += "  \"version\": " + std::to_string(bp.version) + ",\n";
  s += "  \"output\": {\n";
  s += "    \"width\": " + std::to_string(o.width) + ",\n";
  s += "    \"height\": " + std::to_string(o.height) + ",\n";
  s += "    \"fps\": " + fps + ",\n";
  s += "    \"background\": " + json_string(o.background) + ",\n";
  s += "    \"mp4_layout\": " + json_string(o.mp4_layout) + ",\n";
  s += "    \"video\": {\"codec\": " + json_string(o.video.codec) +
       ", \"crf\": " + std::to_string(o.video.crf) +
       ", \"preset\": " + json_string(o.video.preset) +
       ", \"pix_fmt\": " + json_string(o.video.pix_fmt);
  if (o.video.bitrate) s += ", \"bitrate\": " + std::to_string(*o.video.bitrate);
  s += ", \"gop_seconds\": " + std::to_string(o.video.gop_seconds) + "},\n";
  s += "    \"audio\": {\"codec\": " + json_string(o.audio.codec) +
       ", \"sample_rate\": " + std::to_string(o.audio.sample_rate) +
       ", \"channels\": " + std::to_string(o.audio.channels) +
       ", \"bitrate\": " + std::to_string(o.audio.bitrate);
  if (o.audio.loudness) {
    s += ", \"loudness\": {\"target_lufs\": " + json_seconds(o.audio.loudness->target_lufs) +
         ", \"peak_db\": " + json_seconds(o.audio.loudness->peak_db) + "}";
  }
  s += "}\n";
  s += "  },\n";
  s += "  \"shots\": [";
  for (size_t i = 0; i < bp.shots.size(); ++i) {
    const Shot& shot = bp.shots[i];
    // One shot per line, so a generated 5,000-shot blueprint diffs line by line.
    const std::string& source = shot.source_text.empty() ? shot.source.string() : shot.source_text;
    s += i == 0 ? "\n" : ",\n";
    if (shot.is_colour()) {
      s += "    {\"color\": " + json_string(shot.color_text) +
           ", \"duration\": " + json_seconds(shot.duration);
      if (!shot.name.empty()) s += ", \"name\": " + json_string(shot.name);
      s += json_texts(shot.texts) + json_transition(shot.transition) + "}";
      continue;
    }
    if (shot.is_still()) {
      const std::string& image = shot.image_text.empty() ? shot.image.string() : shot.image_text;
      s += "    {\"image\": " + json_string(image) +
           ", \"duration\": " + json_seconds(shot.duration) +
           ", \"fit\": " + json_string(to_string(shot.fit));
      if (!shot.name.empty()) s += ", \"name\": " + json_string(shot.name);
      s += json_texts(shot.texts) + json_transition(shot.transition) + "}";
      continue;
    }
    s += "    {\"source\": " + json_string(source) + ", \"in\": " + json_time(shot.in) +
         ", \"out\": " + json_time(shot.out) + ", \"fit\": " + json_string(to_string(shot.fit)) +
         ", \"audio\": " + (shot.audio ? "true" : "false");
    // Written only when it is not the default, so blueprints without it read back unchanged.
    if (!shot.focus.is_center()) {
      s += ", \"focus\": [" + json_time(shot.focus.x) + ", " + json_time(shot.focus.y) + "]";
    }
    if (!shot.name.empty()) s += ", \"name\": " + json_string(shot.name);
    // Exact decimals always exist here: the parser reads them from decimal digits.
    if (shot.speed != Rational{1}) s += ", \"speed\": " + json_seconds(shot.speed);
    if (shot.freeze) s += ", \"freeze\": true";
    if (shot.gain_db != Rational{0}) s += ", \"gain_db\": " + json_seconds(shot.gain_db);
    if (!shot.sha256.empty()) s += ", \"sha256\": " + json_string(shot.sha256);
    s += json_texts(shot.texts) + json_transition(shot.transition);
    s += "}";
  }
  s += bp.shots.empty() ? "]" : "\n  ]";
  // Beds only when there are any, so blueprints without them read back unchanged.
  if (!bp.audio.empty()) {
    s += ",\n  \"audio\": [";
    for (size_t i = 0; i < bp.audio.size(); ++i) {
      const AudioClip& c = bp.audio[i];
      const std::string& source = c.source_text.empty() ? c.source.string() : c.source_text;
      s += i == 0 ? "\n" : ",\n";
      s += "    {\"source\": " + json_string(source) + ", \"at\": " + json_seconds(c.at) +
           ", \"in\": " + json_seconds(c.in);
      if (c.out) s += ", \"out\": " + json_seconds(*c.out);
      if (c.duration) s += ", \"duration\": " + json_seconds(*c.duration);
      if (c.loop) s += ", \"loop\": true";
      if (c.gain_db != Rational{0}) s += ", \"gain_db\": " + json_seconds(c.gain_db);
      if (c.fade_in != Rational{0}) s += ", \"fade_in\": " + json_seconds(c.fade_in);
      if (c.fade_out != Rational{0}) s += ", \"fade_out\": " + json_seconds(c.fade_out);
      if (c.duck) {
        s += ", \"duck\": {\"amount_db\": " + json_seconds(c.duck->amount_db) +
             ", \"threshold_db\": " + json_seconds(c.duck->threshold_db) +
             ", \"attack\": " + json_seconds(c.duck->attack) +
             ", \"release\": " + json_seconds(c.duck->release) + "}";
      }
      s += "}";
    }
    s += "\n  ]";
  }
  s += "\n}\n";
  return s;
}

}  // namespace leancut::blueprint
