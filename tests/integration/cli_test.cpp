// The leancut binary as users and scripts see it: exit codes (src/cli/commands.h), every problem
// of a bad blueprint named with its JSON path in one run, JSON progress, and nothing left at the
// destination (nor a temp file beside it) when a render fails or is interrupted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "media/decode_helper.h"
#include "memory/cgroup.h"
#include "support/subprocess.h"
#include "support/test_media_env.h"

namespace leancut::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const void* const kMediaEnv = register_test_media_environment();

constexpr int kExitUsage = 2;
constexpr int kExitInvalid = 3;
constexpr int kExitCancelled = 130;
constexpr int kTimeoutMs = 120000;

std::string media(const std::string& file) {
  return (test_media_dir() / file).string();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (leancut_binary().empty()) GTEST_SKIP() << "LEANCUT_BINARY is not set";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("leancut-cli-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_, ec);
  }

  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

  // Files in the test folder other than the ones the test wrote itself.
  std::vector<std::string> leftovers(const std::set<std::string>& written) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      std::string name = e.path().filename().string();
      if (written.count(name) == 0) out.push_back(name);
    }
    return out;
  }

  ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), leancut_binary());
    return run_process(args, kTimeoutMs);
  }

  // A --json-progress render under held critical pressure ends one of two clean ways: the
  // ladder's clear error (exit 6) with no output, or `frames` frames, no leak and the critical
  // level visited. Returns the JSON summary in the second case; nullopt in the first, or after
  // recording a failure.
  std::optional<nlohmann::json> clean_end_under_pressure(const ProcessResult& r,
                                                         const fs::path& out, int64_t frames) {
    if (r.exit_code == 6) {
      EXPECT_THAT(r.err, HasSubstr("stayed critical"));
      EXPECT_FALSE(fs::exists(out));
      return std::nullopt;
    }
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    std::vector<std::string> lines = lines_of(r.out);
    if (r.exit_code != 0 || lines.empty()) return std::nullopt;
    nlohmann::json done = nlohmann::json::parse(lines.back(), nullptr, false);
    if (done.is_discarded()) {
      ADD_FAILURE() << "not a JSON summary: " << lines.back();
      return std::nullopt;
    }
    EXPECT_EQ(done.value("frames", int64_t{-1}), frames);
    EXPECT_EQ(done["leaks"], nlohmann::json::array()) << lines.back();
    bool critical = false;
    for (const auto& level : done["pressure"]["levels"]) {
      critical = critical || level["level"] == "critical";
    }
    EXPECT_TRUE(critical) << done["pressure"].dump();
    return done;
  }

  fs::path dir_;
};

std::string blueprint(const std::string& shots, const std::string& output_extra = "") {
  return R"({"version": 1, "output": {"width": 320, "height": 180, "fps": 30,
             "video": {"preset": "ultrafast")" +
         output_extra + R"(}}, "shots": [)" + shots + "]}";
}

// The problems every bad-blueprint test expects, in document order.
struct Problem {
  std::string path;
  std::string text;  // a part of the message
};

class CliInvalid : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    if (IsSkipped()) return;
    // Garbage with an .mp4 name.
    write("corrupt.mp4", std::string(4096, '\x5a') + "not a video");
  }
  // Checks stderr names every problem on its own line, "<file>: <path>: <message>".
  void expect_problems(const std::string& err, const fs::path& bp,
                       const std::vector<Problem>& problems) {
    std::vector<std::string> lines = lines_of(err);
    std::size_t at = 0;  // document order: each problem after the previous
    for (const Problem& p : problems) {
      const std::string prefix = bp.string() + ": " + p.path + ": ";
      bool found = false;
      for (std::size_t i = at; i < lines.size(); ++i) {
        if (lines[i].rfind(prefix, 0) == 0 && lines[i].find(p.text) != std::string::npos) {
          found = true;
          at = i + 1;
          break;
        }
      }
      EXPECT_TRUE(found) << "missing (or out of order): " << prefix << "..." << p.text
                         << "\nstderr:\n"
                         << err;
    }
  }
};

// Problems the parser finds and problems only the media show, in ONE blueprint: all of them must
// be reported in one run (docs/blueprint.md: "reports every problem at once").
TEST_F(CliInvalid, RenderReportsEveryProblemInOneRunAndWritesNothing) {
  const fs::path bp = write("bad.json", blueprint(R"(
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 0, "out": 1},
    {"source": "missing.mp4", "in": 0, "out": 1},
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 9, "out": 10.5},
    {"source": "corrupt.mp4", "in": 0, "out": 1},
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 3, "out": 2},
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 0, "out": 1, "speed": 9},
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": true, "out": 1})",
                                                  R"(, "codec": "vp9")"));
  const fs::path out = dir_ / "out.mp4";
  ProcessResult r = run({"render", bp.string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.exit_code, kExitInvalid) << r.err;
  expect_problems(r.err, bp,
                  {{"output.video.codec", "vp9"},
                   {"shots[1].source", "missing.mp4: no such file"},
                   {"shots[2].out", "10.5s is past the end of "},
                   {"shots[3].source", "corrupt.mp4"},
                   {"shots[4].out", "must be after in"},
                   {"shots[5].speed", "must be between 0.25 and 4, got 9"},
                   {"shots[6].in", "got true"}});
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(leftovers({"bad.json", "corrupt.mp4"}), ::testing::IsEmpty());
}

// The same split in two: what the parser sees alone, then what the media show alone.
TEST_F(CliInvalid, RenderReportsEveryParseProblem) {
  const fs::path bp = write("bad.json", blueprint(R"(
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 3, "out": 2},
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 0, "out": 1, "speed": 9},
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": true, "out": 1})",
                                                  R"(, "codec": "vp9")"));
  const fs::path out = dir_ / "out.mp4";
  ProcessResult r = run({"render", bp.string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.exit_code, kExitInvalid) << r.err;
  expect_problems(r.err, bp,
                  {{"output.video.codec", "vp9"},
                   {"shots[0].out", "2s must be after in (3s)"},
                   {"shots[1].speed", "must be between 0.25 and 4, got 9"},
                   {"shots[2].in", "got true"}});
  EXPECT_THAT(r.err, HasSubstr("4 problems"));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(leftovers({"bad.json", "corrupt.mp4"}), ::testing::IsEmpty());
}

TEST_F(CliInvalid, RenderReportsEveryMediaProblem) {
  const fs::path bp = write("bad.json", blueprint(R"(
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 0, "out": 1},
    {"source": "missing.mp4", "in": 0, "out": 1},
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 9, "out": 10.5},
    {"source": "corrupt.mp4", "in": 0, "out": 1},
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": "00:00:03:06", "out": 3})"));
  const fs::path out = dir_ / "out.mp4";
  ProcessResult r = run({"render", bp.string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.exit_code, kExitInvalid) << r.err;
  expect_problems(r.err, bp,
                  {{"shots[1].source", "missing.mp4: no such file"},
                   {"shots[2].out", "10.5s is past the end of "},
                   {"shots[3].source", "corrupt.mp4"},
                   {"shots[4].out", "3s must be after in (3.2s)"}});
  for (const std::string& line : lines_of(r.err)) {
    if (line.find("shots[2].out: 10.5s is past the end of ") != std::string::npos) {
      EXPECT_TRUE(line.ends_with("a_720p30.mp4 (10s)")) << line;
    }
  }
  EXPECT_THAT(r.err, HasSubstr("4 problems"));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(leftovers({"bad.json", "corrupt.mp4"}), ::testing::IsEmpty());
}

TEST_F(CliInvalid, ZeroShotsIsAnError) {
  const fs::path bp = write("empty.json", blueprint(""));
  const fs::path out = dir_ / "out.mp4";
  ProcessResult r = run({"render", bp.string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.exit_code, kExitInvalid) << r.err;
  expect_problems(r.err, bp, {{"shots", "at least one"}});
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliInvalid, ValidateListsTheSameProblems) {
  const fs::path bp = write("bad.json", blueprint(R"(
    {"source": "missing.mp4", "in": 0, "out": 1},
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 9, "out": 10.5},
    {"source": "corrupt.mp4", "in": 0, "out": 1})"));
  ProcessResult render = run({"render", bp.string(), "-o", (dir_ / "out.mp4").string(), "-q"});
  ProcessResult validate = run({"validate", bp.string()});
  EXPECT_EQ(validate.exit_code, kExitInvalid) << validate.err;
  EXPECT_EQ(render.exit_code, kExitInvalid) << render.err;
  auto diagnostics = [&](const std::string& err) {
    std::vector<std::string> out;
    for (const std::string& line : lines_of(err)) {
      if (line.rfind(bp.string() + ": shots[", 0) == 0) out.push_back(line);
    }
    return out;
  };
  EXPECT_EQ(diagnostics(validate.err).size(), 3u) << validate.err;
  EXPECT_EQ(diagnostics(validate.err), diagnostics(render.err));

  ProcessResult json = run({"validate", bp.string(), "--json"});
  EXPECT_EQ(json.exit_code, kExitInvalid);
  nlohmann::json j = nlohmann::json::parse(json.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << json.out;
  EXPECT_EQ(j.value("valid", true), false);
  ASSERT_TRUE(j.contains("errors") && j["errors"].is_array()) << json.out;
  std::vector<std::string> paths;
  for (const auto& e : j["errors"]) paths.push_back(e.value("path", std::string("?")));
  EXPECT_THAT(paths, ::testing::ElementsAre("shots[0].source", "shots[1].out", "shots[2].source"));
}

TEST_F(Cli, ValidateAcceptsAGoodBlueprint) {
  const fs::path bp = write("good.json", blueprint(R"(
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 0, "out": 1.5},
    {"source": ")" + media("h_ntsc.mp4") + R"(", "in": "00:00:01;00", "out": 2})"));
  ProcessResult r = run({"validate", bp.string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j.value("valid", false), true);
  // 45 frames, then round(2 * 30) - round(30 * 1001 / 30000 * 30) = 60 - 30 = 30.
  EXPECT_EQ(j.value("frames", int64_t{-1}), 75);
}

TEST_F(Cli, JsonProgressEndsWithADoneObject) {
  const fs::path bp = write("good.json", blueprint(R"(
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 0, "out": 1},
    {"source": ")" + media("c_360p24.mp4") + R"(", "in": 2, "out": 3})"));
  const fs::path out = dir_ / "out.mp4";
  ProcessResult r = run({"render", bp.string(), "-o", out.string(), "--json-progress"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = lines_of(r.out);
  ASSERT_FALSE(lines.empty()) << r.err;
  for (const std::string& line : lines) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    if (!j.is_discarded()) {
      EXPECT_TRUE(j.contains("event")) << line;
    }
  }
  nlohmann::json done = nlohmann::json::parse(lines.back(), nullptr, false);
  ASSERT_FALSE(done.is_discarded());
  EXPECT_EQ(done.value("event", ""), "done") << lines.back();
  EXPECT_EQ(done.value("frames", int64_t{-1}), 60);
  EXPECT_EQ(done.value("shots", int64_t{-1}), 2);
  EXPECT_TRUE(fs::exists(out));
  EXPECT_THAT(leftovers({"good.json", "out.mp4"}), ::testing::IsEmpty());
}

TEST_F(Cli, UnknownOutputExtensionIsAUsageError) {
  const fs::path bp = write("good.json", blueprint(R"(
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 0, "out": 1})"));
  const fs::path out = dir_ / "out.xyz";
  ProcessResult r = run({"render", bp.string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.exit_code, kExitUsage) << r.err;
  EXPECT_THAT(r.err, HasSubstr("out.xyz"));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(leftovers({"good.json"}), ::testing::IsEmpty());
}

TEST_F(Cli, MissingOutputFolderIsAnOutputError) {
  const fs::path bp = write("good.json", blueprint(R"(
    {"source": ")" + media("a_720p30.mp4") + R"(", "in": 0, "out": 1})"));
  const fs::path out = dir_ / "no-such-folder" / "out.mp4";
  ProcessResult r = run({"render", bp.string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.exit_code, 5) << r.err;  // kExitOutput
  EXPECT_THAT(r.err, HasSubstr("no-such-folder"));
  EXPECT_THAT(leftovers({"good.json"}), ::testing::IsEmpty());
}

// SIGINT mid-render: the job stops, exits 130, and leaves neither the destination nor its temp
// file. The render is long (a minute of 720p at a slow preset) so it is surely still running
// when the first progress line arrives.
TEST_F(Cli, InterruptedRenderLeavesNothingBehind) {
  std::string shots;
  for (int i = 0; i < 12; ++i) {
    if (i > 0) shots += ",";
    shots += R"({"source": ")" + media(i % 2 == 0 ? "a_720p30.mp4" : "b_1080p25.mp4") +
             R"(", "in": 0, "out": 5})";
  }
  const fs::path bp = write("long.json", R"({"version": 1, "output": {"width": 1280,
      "height": 720, "video": {"preset": "slow"}}, "shots": [)" +
                                             shots + "]}");
  const fs::path out = dir_ / "out.mp4";
  Child child =
      // A budget big enough for any build: under ASan the RSS before the job alone is large.
      Child::spawn({leancut_binary(), "render", bp.string(), "-o", out.string(), "--json-progress",
                    "--memory", "8G"});
  ASSERT_TRUE(child.running());
  bool progressing = false;
  while (auto line = child.read_stdout_line(60000)) {
    nlohmann::json j = nlohmann::json::parse(*line, nullptr, false);
    if (j.is_object() && j.value("event", "") == "progress") {
      progressing = true;
      EXPECT_LT(j.value("frames", int64_t{-1}), j.value("frames_total", int64_t{0}) / 2)
          << "the render is half done already: make it longer. " << *line;
      break;
    }
  }
  ASSERT_TRUE(progressing) << "no progress line";
  child.signal(SIGINT);
  ProcessResult r = child.wait(60000);
  EXPECT_FALSE(r.timed_out) << "SIGINT did not stop the render";
  EXPECT_EQ(r.exit_code, kExitCancelled) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(leftovers({"long.json"}), ::testing::IsEmpty());
}

TEST_F(Cli, ProbeReportsTheTransportStreamsFirstFrameAt10Seconds) {
  ProcessResult r = run({"probe", media("j_offset.ts"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_TRUE(j.contains("video") && j["video"].is_object()) << r.out;
  EXPECT_NEAR(j["video"].value("first_frame_time", -1.0), 10.0, 1e-3);
  EXPECT_NEAR(j["video"].value("duration", -1.0), 8.0, 1e-3);  // editor time, not 18 s
  ProcessResult text = run({"probe", media("j_offset.ts")});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("first frame at container time 10s"));
}

// --- The planner from the command line: `leancut plan` and the refusal of `leancut render`. ---

constexpr int kExitOverBudget = 6;

// Two short shots of different sizes: small enough to render in a moment.
std::string small_blueprint() {
  return blueprint(R"(
    {"source": ")" +
                   media("a_720p30.mp4") + R"(", "in": 0, "out": 1},
    {"source": ")" +
                   media("c_360p24.mp4") + R"(", "in": 2, "out": 3})");
}

// Six shots cut from two sources: each source is probed once (two misses) and the other four
// shots are answered by the probe cache, as the summary and the report both say.
TEST_F(Cli, ProbesEachSourceOnceThroughTheCache) {
  std::string shots;
  for (int i = 0; i < 6; ++i) {
    const char* clip = i % 2 == 0 ? "a_720p30.mp4" : "c_360p24.mp4";
    shots += std::string(i > 0 ? "," : "") + R"({"source": ")" + media(clip) + R"(", "in": )" +
             std::to_string(i) + R"(, "out": )" + std::to_string(i) + ".2}";
  }
  const fs::path bp = write("six.json", blueprint(shots));
  const fs::path out = dir_ / "out.mp4";
  const fs::path report = dir_ / "report.json";
  ProcessResult r = run(
      {"render", bp.string(), "-o", out.string(), "--json-progress", "--report", report.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  std::vector<std::string> lines = lines_of(r.out);
  ASSERT_FALSE(lines.empty());
  nlohmann::json done = nlohmann::json::parse(lines.back(), nullptr, false);
  ASSERT_FALSE(done.is_discarded()) << lines.back();
  std::ifstream f(report);
  nlohmann::json rep = nlohmann::json::parse(f, nullptr, false);
  ASSERT_FALSE(rep.is_discarded());
  for (const nlohmann::json* caches : {&done["caches"], &rep["caches"]}) {
    ASSERT_TRUE(caches->is_array() && caches->size() == 1) << caches->dump();
    const nlohmann::json& probes = (*caches)[0];
    EXPECT_EQ(probes.value("name", ""), "probes");
    EXPECT_EQ(probes.value("misses", -1), 2) << probes.dump();
    EXPECT_EQ(probes.value("hits", -1), 4) << probes.dump();
    EXPECT_EQ(probes.value("entries", -1), 2) << probes.dump();
    EXPECT_GT(probes.value("bytes", 0), 0) << probes.dump();
    EXPECT_NEAR(probes.value("hit_rate", 0.0), 4.0 / 6.0, 1e-9) << probes.dump();
  }
}

TEST_F(Cli, PlanJsonIsOneObjectWhosePartsSumToThePeak) {
  const fs::path bp = write("plan.json", small_blueprint());
  ProcessResult r = run({"plan", bp.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  // The whole of stdout is one JSON object (a second object or a text line would not parse).
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "not one JSON object:\n" << r.out;
  ASSERT_TRUE(j.is_object()) << r.out;
  for (const char* key : {"peak_bytes", "min_bytes", "budget_bytes"}) {
    ASSERT_TRUE(j.contains(key) && j[key].is_number_integer()) << key << "\n" << r.out;
  }
  ASSERT_TRUE(j.contains("fits") && j["fits"].is_boolean()) << r.out;
  ASSERT_TRUE(j.contains("settings") && j["settings"].is_object()) << r.out;
  ASSERT_TRUE(j.contains("parts") && j["parts"].is_array()) << r.out;
  ASSERT_TRUE(j.contains("changes") && j["changes"].is_array()) << r.out;

  const auto peak = j["peak_bytes"].get<int64_t>();
  const auto min = j["min_bytes"].get<int64_t>();
  const auto budget = j["budget_bytes"].get<int64_t>();
  EXPECT_GT(min, 0);
  EXPECT_GE(peak, min);
  // The default --memory is 256M (the cgroup or MemTotal may make it less).
  EXPECT_GT(budget, 0);
  EXPECT_LE(budget, int64_t{256} << 20);
  EXPECT_EQ(j["fits"].get<bool>(), peak <= budget);
  EXPECT_TRUE(j["fits"].get<bool>()) << "a 2-second render should fit in 256 MiB:\n" << r.out;

  const nlohmann::json& s = j["settings"];
  for (const char* key : {"encoder_threads", "encoder_lookahead", "decoded_queue_frames",
                          "video_out_queue_frames", "frame_pool_idle_bytes"}) {
    EXPECT_TRUE(s.contains(key) && s[key].is_number_integer()) << key << "\n" << r.out;
  }
  for (const char* key : {"encoder_slice_threads", "prefetch"}) {
    EXPECT_TRUE(s.contains(key) && s[key].is_boolean()) << key << "\n" << r.out;
  }
  if (s.value("encoder_threads", 0) < 1) ADD_FAILURE() << "no encoder thread:\n" << r.out;

  int64_t sum = 0;
  std::set<std::string> names;
  for (const nlohmann::json& part : j["parts"]) {
    ASSERT_TRUE(part.is_object()) << part.dump();
    ASSERT_TRUE(part.contains("name") && part["name"].is_string()) << part.dump();
    ASSERT_TRUE(part.contains("bytes") && part["bytes"].is_number_integer()) << part.dump();
    ASSERT_TRUE(part.contains("how") && part["how"].is_string()) << part.dump();
    EXPECT_GE(part["bytes"].get<int64_t>(), 0) << part.dump();
    sum += part["bytes"].get<int64_t>();
    names.insert(part["name"].get<std::string>());
  }
  EXPECT_EQ(sum, peak) << r.out;
  for (const char* name : {"baseline", "decoded_frames", "x264", "slack"}) {
    EXPECT_EQ(names.count(name), 1u) << name << "\n" << r.out;
  }
}

TEST_F(Cli, PlanRefusesABudgetBelowItsMinimum) {
  const fs::path bp = write("plan.json", small_blueprint());
  ProcessResult r = run({"plan", bp.string(), "--memory", "1M"});
  EXPECT_EQ(r.exit_code, kExitOverBudget) << r.err << r.out;
  EXPECT_THAT(r.out + r.err, HasSubstr("needs at least"));
  EXPECT_THAT(r.out + r.err, HasSubstr("1.0 MiB (--memory)"));

  ProcessResult json = run({"plan", bp.string(), "--memory", "1M", "--json"});
  EXPECT_EQ(json.exit_code, kExitOverBudget) << json.err << json.out;
  nlohmann::json j = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << json.out;
  EXPECT_EQ(j.value("fits", true), false) << json.out;
  EXPECT_EQ(j.value("budget_bytes", int64_t{0}), int64_t{1} << 20) << json.out;
  EXPECT_GT(j.value("min_bytes", int64_t{0}), int64_t{1} << 20) << json.out;
  // Everything it could take, taken.
  EXPECT_EQ(j.value("peak_bytes", int64_t{-1}), j.value("min_bytes", int64_t{0})) << json.out;
  EXPECT_FALSE(j["changes"].empty()) << json.out;
  EXPECT_THAT(leftovers({"plan.json"}), ::testing::IsEmpty());
}

// Refused before anything opens: exit 6, the least budget named, and nothing in the folder (no
// output, no temp or partial file).
TEST_F(Cli, RenderRefusesABudgetItCannotFitAndWritesNothing) {
  const fs::path bp = write("small.json", small_blueprint());
  const fs::path out = dir_ / "out.mp4";
  ProcessResult r = run({"render", bp.string(), "-o", out.string(), "--memory", "1M"});
  EXPECT_EQ(r.exit_code, kExitOverBudget) << r.err << r.out;
  EXPECT_THAT(r.err, HasSubstr("needs at least"));
  EXPECT_THAT(r.err, HasSubstr("the budget is 1.0 MiB (--memory)"));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(leftovers({"small.json"}), ::testing::IsEmpty());

  // The same with JSON progress: one error event that says so.
  ProcessResult json =
      run({"render", bp.string(), "-o", out.string(), "--memory", "1M", "--json-progress"});
  EXPECT_EQ(json.exit_code, kExitOverBudget) << json.err << json.out;
  EXPECT_THAT(json.err, HasSubstr("needs at least"));
  std::vector<std::string> lines = lines_of(json.out);
  ASSERT_FALSE(lines.empty()) << json.err;
  nlohmann::json last = nlohmann::json::parse(lines.back(), nullptr, false);
  ASSERT_FALSE(last.is_discarded()) << lines.back();
  EXPECT_EQ(last.value("event", ""), "error") << lines.back();
  EXPECT_THAT(last.value("message", ""), HasSubstr("needs at least")) << lines.back();
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(leftovers({"small.json"}), ::testing::IsEmpty());

  // With --report, the report is the one file written: the refusal, the plan, the stages run.
  const fs::path report = dir_ / "report.json";
  ProcessResult rep = run(
      {"render", bp.string(), "-o", out.string(), "--memory", "1M", "--report", report.string()});
  EXPECT_EQ(rep.exit_code, kExitOverBudget) << rep.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(leftovers({"small.json", "report.json"}), ::testing::IsEmpty());
  std::ifstream f(report);
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j.value("ok", true), false);
  EXPECT_EQ(j["error"].value("code", ""), "over budget") << j.dump();
  EXPECT_THAT(j["error"].value("message", ""), HasSubstr("needs at least"));
  EXPECT_EQ(j["plan"].value("fits", true), false);
  std::vector<std::string> names;
  for (const auto& stage : j["stages"]) names.push_back(stage.value("name", ""));
  EXPECT_EQ(names, (std::vector<std::string>{"parse", "probe", "plan"}));
  EXPECT_EQ(j["leaks"], nlohmann::json::array());
}

TEST_F(Cli, RenderWithinABudgetReportsNoLeaks) {
  const fs::path bp = write("small.json", small_blueprint());
  const fs::path out = dir_ / "out.mp4";
  ProcessResult r =
      run({"render", bp.string(), "-o", out.string(), "--memory", "512M", "--json-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  std::vector<std::string> lines = lines_of(r.out);
  ASSERT_FALSE(lines.empty()) << r.err;
  nlohmann::json done = nlohmann::json::parse(lines.back(), nullptr, false);
  ASSERT_FALSE(done.is_discarded()) << lines.back();
  EXPECT_EQ(done.value("event", ""), "done") << lines.back();
  EXPECT_EQ(done.value("frames", int64_t{-1}), 60);
  EXPECT_EQ(done.value("memory_budget_bytes", int64_t{0}), int64_t{512} << 20);
  ASSERT_TRUE(done.contains("within_budget") && done["within_budget"].is_boolean()) << lines.back();
  EXPECT_TRUE(done["within_budget"].get<bool>()) << lines.back();
  ASSERT_TRUE(done.contains("leaks")) << lines.back();
  EXPECT_EQ(done["leaks"], nlohmann::json::array()) << lines.back();
  EXPECT_TRUE(fs::exists(out));
  EXPECT_THAT(leftovers({"small.json", "out.mp4"}), ::testing::IsEmpty());
}

// Pressure held critical (as a stressed machine would report it): every ladder step is taken and
// the render either completes with all its frames and no leak, or stops with the ladder's clear
// error and nothing written. Never a crash. (The give-up deadline itself is tested with a fake
// clock in tests/memory/ladder_test.cpp.)
TEST_F(Cli, HeldCriticalPressureTakesTheLadderAndEndsCleanly) {
  const fs::path bp = write("small.json", small_blueprint());
  const fs::path out = dir_ / "out.mp4";
  const fs::path report = dir_ / "report.json";
  ProcessResult r = run({"render", bp.string(), "-o", out.string(), "--simulate-pressure",
                         "ledger=0.97", "--json-progress", "--report", report.string()});
  std::optional<nlohmann::json> done = clean_end_under_pressure(r, out, 60);
  if (!done) return;
  const nlohmann::json& pressure = (*done)["pressure"];
  for (const char* step :
       {"trim_pools", "evict_caches", "release_allocator", "shrink_queues", "backpressure"}) {
    EXPECT_GE(pressure["steps"][step].value("runs", int64_t{0}), 1) << step << pressure.dump();
  }

  // The report: every stage, in order, and the same verdicts.
  std::ifstream f(report);
  ASSERT_TRUE(f) << report;
  nlohmann::json rep = nlohmann::json::parse(f, nullptr, false);
  ASSERT_FALSE(rep.is_discarded());
  std::vector<std::string> names;
  for (const auto& stage : rep["stages"]) {
    names.push_back(stage.value("name", ""));
    EXPECT_GE(stage.value("seconds", -1.0), 0.0);
    EXPECT_GT(stage.value("rss_peak_bytes", int64_t{0}), 0);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"parse", "probe", "plan", "render", "finalize", "cleanup"}));
  EXPECT_EQ(rep["leaks"], nlohmann::json::array());
  EXPECT_TRUE(rep.value("ok", false));
  EXPECT_GT(rep["untracked"].value("bytes", int64_t{0}), 0);
  // Each component account, measured beside what the planner expected of it.
  std::vector<std::string> accounts;
  for (const auto& a : rep["accounts"]) {
    accounts.push_back(a.value("account", ""));
    EXPECT_GT(a.value("peak_bytes", int64_t{0}), 0) << a.dump();
    EXPECT_GT(a.value("estimate_bytes", int64_t{0}), 0) << a.dump();
    EXPECT_EQ(a.value("current_bytes", int64_t{-1}), 0) << a.dump();
  }
  EXPECT_EQ(accounts, (std::vector<std::string>{"process/job", "process/job/decoded_frames",
                                                "process/job/encoder_input", "process/job/packets",
                                                "process/job/io_buffers"}));
  EXPECT_FALSE(fs::exists(report.string() + ".partial"));
}

// --- Under a real limit ------------------------------------------------------------------------

// A cgroup made for one test (v1 or v2, under this process's own group for the controller) with
// the given settings, removed again at the end. Null when the hierarchy is not writable here (not
// root, no cgroupfs) or a setting is refused.
class TestCgroup {
 public:
  using Settings = std::vector<std::pair<std::string, std::string>>;
  // `v1` / `v2`: the files to write for each version ("memory.limit_in_bytes" vs "memory.max").
  static std::unique_ptr<TestCgroup> create(const memory::CgroupDir& controller, const Settings& v1,
                                            const Settings& v2) {
    if (controller.version == memory::CgroupVersion::None) return nullptr;
    const bool is_v1 = controller.version == memory::CgroupVersion::V1;
    const fs::path dir = controller.group / ("leancut-test-" + std::to_string(::getpid()));
    std::error_code ec;
    if (!fs::create_directory(dir, ec) || ec) return nullptr;
    auto group = std::unique_ptr<TestCgroup>(new TestCgroup(dir, is_v1));
    for (const auto& [file, value] : is_v1 ? v1 : v2) {
      if (!group->put(file.c_str(), value)) return nullptr;  // the destructor removes it
    }
    return group;
  }
  static std::unique_ptr<TestCgroup> with_memory_limit(int64_t bytes) {
    const std::string b = std::to_string(bytes);
    return create(memory::resolve_cgroup(memory::SysRoot{}).memory, {{"memory.limit_in_bytes", b}},
                  {{"memory.max", b}});
  }
  static std::unique_ptr<TestCgroup> with_cpu_quota(int64_t quota_us, int64_t period_us) {
    return create(memory::resolve_cgroup(memory::SysRoot{}).cpu,
                  {{"cpu.cfs_period_us", std::to_string(period_us)},
                   {"cpu.cfs_quota_us", std::to_string(quota_us)}},
                  {{"cpu.max", std::to_string(quota_us) + " " + std::to_string(period_us)}});
  }
  // argv that runs `command` inside this group: the shell joins it, then becomes the command.
  std::vector<std::string> wrap(const std::vector<std::string>& command) const {
    std::vector<std::string> argv = {
        "/bin/sh", "-c",
        "echo $$ > '" + (dir_ / "cgroup.procs").string() + "' && exec \"$0\" \"$@\""};
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }
  ~TestCgroup() {
    std::error_code ec;
    fs::remove(dir_, ec);  // rmdir: empty once its processes are gone
  }
  TestCgroup(const TestCgroup&) = delete;
  TestCgroup& operator=(const TestCgroup&) = delete;

  const fs::path& dir() const { return dir_; }
  bool v1() const { return v1_; }
  // A key's value from a "key value" file (memory.oom_control, memory.events); nullopt if absent.
  std::optional<int64_t> field(const char* file, const std::string& key) const {
    std::ifstream in(dir_ / file);
    std::string k;
    int64_t v = 0;
    while (in >> k >> v) {
      if (k == key) return v;
    }
    return std::nullopt;
  }
  std::optional<int64_t> value(const char* file) const {
    std::ifstream in(dir_ / file);
    int64_t v = 0;
    if (in >> v) return v;
    return std::nullopt;
  }

 private:
  TestCgroup(fs::path dir, bool v1) : dir_(std::move(dir)), v1_(v1) {}
  bool put(const char* file, const std::string& text) const {
    std::ofstream out(dir_ / file);
    out << text;
    out.flush();
    return static_cast<bool>(out);
  }

  fs::path dir_;
  bool v1_;
};

#ifdef __SANITIZE_ADDRESS__
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

// The issue's stress test: a render inside a memory cgroup with a hard limit (the kernel's, not
// leancut's) and pressure held critical. It must finish with every frame or stop with the
// ladder's clear error; never a signal (the OOM killer's SIGKILL) and never an OOM kill in the
// group. The planner must see the cgroup's limit as the budget. Where no cgroup can be made
// (not root), the same render runs under setrlimit(RLIMIT_AS) instead.
TEST_F(Cli, RenderUnderAHardLimitWithPressureHeldHighEndsCleanly) {
  const fs::path bp = write("small.json", small_blueprint());
  const fs::path out = dir_ / "out.mp4";
  // ASan's shadow memory and quarantine make the same render several times larger.
  const int64_t limit = (kAsan ? 1024 : 112) * int64_t{1} << 20;
  std::vector<std::string> render = {
      leancut_binary(), "render", bp.string(),           "-o",          out.string(),
      "--memory",       "64G",    "--simulate-pressure", "ledger=0.97", "--json-progress"};
  std::unique_ptr<TestCgroup> group = TestCgroup::with_memory_limit(limit);
  std::vector<std::string> argv;
  if (group) {
    // The child joins the group before it becomes leancut: every byte it ever maps is charged.
    argv = group->wrap(render);
  } else {
    if (kAsan) GTEST_SKIP() << "no writable memory cgroup, and RLIMIT_AS cannot work under ASan";
    std::printf("no writable memory cgroup here: using setrlimit(RLIMIT_AS) at 2 GiB instead\n");
    argv = {"/bin/sh", "-c", "ulimit -v 2097152 && exec \"$0\" \"$@\""};
    argv.insert(argv.end(), render.begin(), render.end());
  }
  ProcessResult r = run_process(argv, kTimeoutMs);

  ASSERT_FALSE(r.timed_out) << r.err;
  ASSERT_EQ(r.term_signal, 0) << "killed by signal " << r.term_signal << "\n" << r.err;
  if (group) {
    if (auto kills =
            group->field(group->v1() ? "memory.oom_control" : "memory.events", "oom_kill")) {
      EXPECT_EQ(*kills, 0) << "the kernel OOM-killed a process in the group";
    }
    if (group->v1()) {
      const std::optional<int64_t> peak = group->value("memory.max_usage_in_bytes");
      ASSERT_TRUE(peak.has_value());
      EXPECT_LE(*peak, limit);
      std::printf("cgroup v1 limit %lld MiB: the group peaked at %.1f MiB (failcnt %lld)\n",
                  static_cast<long long>(limit >> 20), static_cast<double>(*peak) / (1 << 20),
                  static_cast<long long>(group->value("memory.failcnt").value_or(-1)));
    }
  }
  std::optional<nlohmann::json> done = clean_end_under_pressure(r, out, 60);
  if (!done) {
    EXPECT_THAT(leftovers({"small.json"}), ::testing::IsEmpty());
    return;
  }
  EXPECT_LE(done->value("peak_rss_bytes", int64_t{0}), limit);
  if (group) {
    EXPECT_EQ((*done)["plan"].value("budget_from", ""), "cgroup") << (*done)["plan"].dump();
    EXPECT_EQ((*done)["plan"].value("budget_bytes", int64_t{0}), limit) << (*done)["plan"].dump();
  }
  // The file is whole: every frame decodes at the output's size.
  auto decoded = media::testing::decode_file(out);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_NE(decoded->video(), nullptr);
  EXPECT_EQ(decoded->video()->frames, 60);
  EXPECT_EQ(decoded->video()->width, 320);
  EXPECT_EQ(decoded->video()->height, 180);
  EXPECT_THAT(leftovers({"small.json", "out.mp4"}), ::testing::IsEmpty());
}

// Threads follow the cgroup's CPU quota, not the host's cores: inside a group limited to one CPU
// the planner counts one CPU and gives x264 one thread.
TEST_F(Cli, ThreadsFollowTheCgroupCpuQuota) {
  const fs::path bp = write("small.json", small_blueprint());
  std::unique_ptr<TestCgroup> group = TestCgroup::with_cpu_quota(100'000, 100'000);
  if (!group) GTEST_SKIP() << "no writable cpu cgroup here (not root?)";
  ProcessResult r =
      run_process(group->wrap({leancut_binary(), "plan", bp.string(), "--json"}), kTimeoutMs);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j.value("cpu_count", 0), 1) << r.out;
  EXPECT_EQ(j["settings"].value("encoder_threads", 0), 1) << r.out;

  // Outside it, on a host with more CPUs than that, more.
  if (::sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
    ProcessResult host = run({"plan", bp.string(), "--json"});
    nlohmann::json h = nlohmann::json::parse(host.out, nullptr, false);
    ASSERT_FALSE(h.is_discarded()) << host.out;
    EXPECT_GE(h.value("cpu_count", 0), 2) << host.out;
  }
}

}  // namespace
}  // namespace leancut::testing
