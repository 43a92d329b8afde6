// docs/blueprint.schema.json and the parser agree on names, enums and ranges: every enum value
// and both ends of every integer range the schema allows are accepted, one step beyond is
// refused, and each object's fields are exactly the ones the parser knows. (schema_check.py
// checks the golden blueprints against the schema from the other side.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "blueprint/parse.h"

#ifndef LEANCUT_SOURCE_DIR_DEFAULT
#define LEANCUT_SOURCE_DIR_DEFAULT "."
#endif

namespace leancut::blueprint {
namespace {

using Json = nlohmann::json;

Json load_schema() {
  const char* env = std::getenv("LEANCUT_SOURCE_DIR");
  std::filesystem::path root = env != nullptr && *env != '\0' ? env : LEANCUT_SOURCE_DIR_DEFAULT;
  std::ifstream in(root / "docs/blueprint.schema.json");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return Json::parse(text.str());
  } catch (const Json::exception& e) {
    ADD_FAILURE() << "docs/blueprint.schema.json: " << e.what();
    return Json::object();
  }
}

const Json& schema() {
  static const Json s = load_schema();
  return s;
}

// Where a value sits in a document, and how to build a document around it.
struct Place {
  const char* name;
  const char* schema_pointer;  // the value's schema
  std::string (*document)(const std::string& value);
};

std::string with_shot(const std::string& shot_fields) {
  return R"({"version": 1, "shots": [{"source": "a.mp4", "in": 0, "out": 1)" + shot_fields + "}]}";
}
std::string with_output(const std::string& output_fields) {
  return R"({"version": 1, "output": {)" + output_fields +
         R"(}, "shots": [{"source": "a.mp4", "in": 0, "out": 1}]})";
}

const Place kPlaces[] = {
    {"width", "/$defs/dimension",
     [](const std::string& v) { return with_output(R"("width": )" + v); }},
    {"height", "/$defs/dimension",
     [](const std::string& v) { return with_output(R"("height": )" + v); }},
    {"fps", "/$defs/output/properties/fps/anyOf/0",
     [](const std::string& v) { return with_output(R"("fps": )" + v); }},
    {"background", "/$defs/output/properties/background/anyOf/0",
     [](const std::string& v) { return with_output(R"("background": )" + v); }},
    {"video.codec", "/$defs/video/properties/codec",
     [](const std::string& v) { return with_output(R"("video": {"codec": )" + v + "}"); }},
    {"video.crf", "/$defs/video/properties/crf",
     [](const std::string& v) { return with_output(R"("video": {"crf": )" + v + "}"); }},
    {"video.preset", "/$defs/video/properties/preset",
     [](const std::string& v) { return with_output(R"("video": {"preset": )" + v + "}"); }},
    {"video.pix_fmt", "/$defs/video/properties/pix_fmt",
     [](const std::string& v) { return with_output(R"("video": {"pix_fmt": )" + v + "}"); }},
    {"video.bitrate", "/$defs/video/properties/bitrate",
     [](const std::string& v) { return with_output(R"("video": {"bitrate": )" + v + "}"); }},
    {"video.gop_seconds", "/$defs/video/properties/gop_seconds",
     [](const std::string& v) { return with_output(R"("video": {"gop_seconds": )" + v + "}"); }},
    {"audio.codec", "/$defs/audio/properties/codec",
     [](const std::string& v) { return with_output(R"("audio": {"codec": )" + v + "}"); }},
    {"audio.sample_rate", "/$defs/audio/properties/sample_rate",
     [](const std::string& v) { return with_output(R"("audio": {"sample_rate": )" + v + "}"); }},
    {"audio.channels", "/$defs/audio/properties/channels",
     [](const std::string& v) { return with_output(R"("audio": {"channels": )" + v + "}"); }},
    {"audio.bitrate", "/$defs/audio/properties/bitrate",
     [](const std::string& v) { return with_output(R"("audio": {"bitrate": )" + v + "}"); }},
    {"fit", "/$defs/source_shot/properties/fit",
     [](const std::string& v) { return with_shot(R"(, "fit": )" + v); }},
    {"color", "/$defs/colour_shot/properties/color/anyOf/0",
     [](const std::string& v) {
       return R"({"version": 1, "shots": [{"color": )" + v + R"(, "duration": 1}]})";
     }},
    {"still fit", "/$defs/image_shot/properties/fit",
     [](const std::string& v) {
       return R"({"version": 1, "shots": [{"image": "a.png", "duration": 1, "fit": )" + v + "}]}";
     }},
    {"version", "/properties/version",
     [](const std::string& v) {
       return R"({"version": )" + v + R"(, "shots": [{"source": "a.mp4", "in": 0, "out": 1}]})";
     }},
};

bool accepted(const std::string& doc) {
  return parse_blueprint(doc, "/cuts").ok();
}

TEST(Schema, EveryEnumAndConstValueIsAccepted) {
  int checked = 0;
  for (const Place& place : kPlaces) {
    const Json& s = schema().value(Json::json_pointer(place.schema_pointer), Json::object());
    std::vector<Json> values;
    if (s.contains("enum")) values = s["enum"].get<std::vector<Json>>();
    if (s.contains("const")) values.push_back(s["const"]);
    for (const Json& v : values) {
      EXPECT_TRUE(accepted(place.document(v.dump()))) << place.name << " = " << v.dump();
      ++checked;
    }
  }
  EXPECT_GE(checked, 25);
}

TEST(Schema, IntegerRangesMatch) {
  int checked = 0;
  for (const Place& place : kPlaces) {
    const Json& s = schema().value(Json::json_pointer(place.schema_pointer), Json::object());
    if (s.value("type", "") != "integer") continue;
    int64_t step = s.value("multipleOf", int64_t{1});
    ASSERT_TRUE(s.contains("minimum")) << place.name;
    int64_t min = s["minimum"].get<int64_t>();
    EXPECT_TRUE(accepted(place.document(std::to_string(min)))) << place.name << " min";
    EXPECT_FALSE(accepted(place.document(std::to_string(min - step)))) << place.name << " min-";
    if (s.contains("maximum")) {
      int64_t max = s["maximum"].get<int64_t>();
      EXPECT_TRUE(accepted(place.document(std::to_string(max)))) << place.name << " max";
      EXPECT_FALSE(accepted(place.document(std::to_string(max + step)))) << place.name << " max+";
    }
    EXPECT_FALSE(accepted(place.document(std::to_string(min) + ".5"))) << place.name << " .5";
    EXPECT_TRUE(accepted(place.document(std::to_string(min) + ".0"))) << place.name << " .0";
    if (step > 1) {
      EXPECT_FALSE(accepted(place.document(std::to_string(min + 1)))) << place.name << " step";
    }
    ++checked;
  }
  // width, height, fps, crf, video.bitrate, gop_seconds, sample_rate, audio.bitrate; channels is
  // an enum and version a const, both covered above.
  EXPECT_EQ(checked, 8);
}

// The fields the parser lists in an unknown-field message, for an object at `doc`.
std::set<std::string> parser_fields(const std::string& doc) {
  ParseResult r = parse_blueprint(doc, "/cuts");
  EXPECT_EQ(r.diagnostics.size(), 1u) << doc;
  if (r.diagnostics.empty()) return {};
  const std::string& m = r.diagnostics[0].message;
  size_t at = m.find("known: ");
  EXPECT_NE(at, std::string::npos) << m;
  std::set<std::string> names;
  std::string list = m.substr(at + 7, m.size() - at - 8);
  std::stringstream ss(list);
  std::string name;
  while (std::getline(ss, name, ',')) names.insert(name.substr(name.find_first_not_of(' ')));
  return names;
}

std::set<std::string> schema_fields(const char* pointer) {
  std::set<std::string> names;
  const Json& s = schema().value(Json::json_pointer(pointer), Json::object());
  EXPECT_EQ(s.value("additionalProperties", true), false) << pointer;
  const Json properties = s.value("properties", Json::object());
  for (auto it = properties.begin(); it != properties.end(); ++it) {
    if (it.key() != "$schema") names.insert(it.key());
  }
  return names;
}

TEST(Schema, ObjectsHaveTheSameFields) {
  EXPECT_EQ(parser_fields(with_output("").insert(1, R"("zz": 0, )")), schema_fields(""));
  EXPECT_EQ(parser_fields(with_output(R"("zz": 0)")), schema_fields("/$defs/output"));
  EXPECT_EQ(parser_fields(with_output(R"("video": {"zz": 0})")), schema_fields("/$defs/video"));
  EXPECT_EQ(parser_fields(with_output(R"("audio": {"zz": 0})")), schema_fields("/$defs/audio"));
  EXPECT_EQ(parser_fields(with_shot(R"(, "zz": 0)")), schema_fields("/$defs/source_shot"));
  EXPECT_EQ(parser_fields(R"({"version": 1, "shots": [{"color": "red", "duration": 1, "zz": 0}]})"),
            schema_fields("/$defs/colour_shot"));
  EXPECT_EQ(
      parser_fields(R"({"version": 1, "shots": [{"image": "a.png", "duration": 1, "zz": 0}]})"),
      schema_fields("/$defs/image_shot"));
  EXPECT_EQ(parser_fields(R"({"version": 1, "shots": [{"color": "red", "duration": 1},
      {"color": "red", "duration": 1, "transition": {"type": "fade", "zz": 0}}]})"),
            schema_fields("/$defs/transition"));
}

TEST(Schema, RequiredFieldsMatch) {
  EXPECT_EQ(schema()["required"], Json({"version", "shots"}));
  EXPECT_EQ(schema()["$defs"]["source_shot"]["required"], Json({"source", "in", "out"}));
  EXPECT_EQ(schema()["$defs"]["colour_shot"]["required"], Json({"color", "duration"}));
  EXPECT_EQ(schema()["$defs"]["image_shot"]["required"], Json({"image", "duration"}));
  EXPECT_FALSE(schema()["$defs"]["output"].contains("required"));
}

}  // namespace
}  // namespace leancut::blueprint
