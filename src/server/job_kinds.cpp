#include "server/job_kinds.h"

#include <set>

namespace leancut::server {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Each request's known fields: anything else is refused, so a typo ("evry") is not ignored.
void refuse_unknown_fields(const json& request, const std::set<std::string>& known,
                           FieldProblems& problems) {
  for (const auto& [key, value] : request.items()) {
    if (key != "kind" && known.count(key) == 0) {
      problems.malformed.push_back({key, "unknown field"});
    }
  }
}

std::optional<std::string> required_string(const json& request, const char* key,
                                           FieldProblems& problems) {
  if (!request.contains(key)) {
    problems.malformed.push_back({key, "missing"});
    return std::nullopt;
  }
  if (!request[key].is_string() || request[key].get<std::string>().empty()) {
    problems.malformed.push_back({key, "must be a non-empty string"});
    return std::nullopt;
  }
  return request[key].get<std::string>();
}

std::optional<std::string> optional_string(const json& request, const char* key,
                                           FieldProblems& problems) {
  if (!request.contains(key)) return std::nullopt;
  if (!request[key].is_string()) {
    problems.malformed.push_back({key, "must be a string"});
    return std::nullopt;
  }
  return request[key].get<std::string>();
}

// A time in seconds (a JSON number >= 0) as the decimal text the CLI takes.
std::optional<std::string> optional_seconds(const json& request, const char* key,
                                            FieldProblems& problems) {
  if (!request.contains(key)) return std::nullopt;
  if (!request[key].is_number()) {
    problems.malformed.push_back({key, "must be a number of seconds"});
    return std::nullopt;
  }
  if (request[key].get<double>() < 0) {
    problems.invalid.push_back({key, "must not be negative"});
    return std::nullopt;
  }
  return request[key].dump();
}

}  // namespace

std::optional<ReframeJob> parse_reframe(const json& request, FieldProblems& problems) {
  refuse_unknown_fields(request, {"input", "aspect", "size", "focus"}, problems);
  ReframeJob job;
  if (auto input = required_string(request, "input", problems)) job.input = *input;
  if (auto aspect = required_string(request, "aspect", problems)) job.aspect = *aspect;
  if (auto size = optional_string(request, "size", problems)) job.size = *size;
  if (request.contains("focus")) {
    const json& f = request["focus"];
    if (f.is_string()) {
      if (f.get<std::string>() == "center") {
        job.focus = "center";
      } else {
        problems.invalid.push_back({"focus", "must be \"center\" or [x, y]"});
      }
    } else if (f.is_array() && f.size() == 2) {
      std::string text;
      for (std::size_t i = 0; i < 2; ++i) {
        const std::string path = "focus[" + std::to_string(i) + "]";
        if (!f[i].is_number()) {
          problems.malformed.push_back({path, "must be a number"});
        } else if (f[i].get<double>() < 0 || f[i].get<double>() > 1) {
          problems.invalid.push_back({path, "must be from 0 to 1"});
        }
        text += (i == 0 ? "" : ",") + f[i].dump();
      }
      job.focus = text;
    } else {
      problems.malformed.push_back({"focus", "must be \"center\" or [x, y]"});
    }
  }
  if (!problems.empty()) return std::nullopt;
  return job;
}

std::optional<FramesJob> parse_frames(const json& request, FieldProblems& problems) {
  refuse_unknown_fields(request, {"input", "every", "format", "quality", "start", "end"}, problems);
  FramesJob job;
  if (auto input = required_string(request, "input", problems)) job.input = *input;
  if (!request.contains("every")) {
    problems.malformed.push_back({"every", "missing"});
  } else if (!request["every"].is_number_integer()) {
    problems.malformed.push_back({"every", "must be an integer"});
  } else if (request["every"].get<int64_t>() < 1) {
    problems.invalid.push_back({"every", "must be 1 or more"});
  } else {
    job.every = request["every"].get<int64_t>();
  }
  if (auto format = optional_string(request, "format", problems)) {
    if (*format == "jpg" || *format == "png") {
      job.format = *format;
    } else {
      problems.invalid.push_back({"format", "'" + *format + "': must be jpg or png"});
    }
  }
  if (request.contains("quality")) {
    if (!request["quality"].is_number_integer()) {
      problems.malformed.push_back({"quality", "must be an integer"});
    } else if (const int64_t q = request["quality"].get<int64_t>(); q < 1 || q > 100) {
      problems.invalid.push_back({"quality", "must be within 1..100"});
    } else {
      job.quality = static_cast<int>(q);
    }
  }
  if (auto start = optional_seconds(request, "start", problems)) job.start = *start;
  if (auto end = optional_seconds(request, "end", problems)) job.end = *end;
  const double start = request.contains("start") && request["start"].is_number()
                           ? request["start"].get<double>()
                           : 0.0;
  if (!job.end.empty() && request["end"].get<double>() <= start) {
    problems.invalid.push_back({"end", "must be after start"});
  }
  if (!problems.empty()) return std::nullopt;
  return job;
}

json stored_json(const ReframeJob& job) {
  json out = {{"kind", "reframe"},
              {"input", job.input.string()},
              {"aspect", job.aspect},
              {"focus", job.focus}};
  if (!job.size.empty()) out["size"] = job.size;
  return out;
}

json stored_json(const FramesJob& job) {
  json out = {{"kind", "frames"},
              {"input", job.input.string()},
              {"every", job.every},
              {"format", job.format},
              {"quality", job.quality}};
  if (!job.start.empty()) out["start"] = job.start;
  if (!job.end.empty()) out["end"] = job.end;
  return out;
}

std::string output_name(const std::string& kind) {
  return kind == "frames" ? "images" : "output.mp4";
}

Result<ChildCommand> child_command(const std::string& kind, const std::string& stored_request,
                                   const fs::path& dir, const std::string& program,
                                   int64_t reservation_bytes) {
  const json request = json::parse(stored_request, nullptr, false);
  const auto refuse = [&](const std::string& why) {
    return make_error(ErrorCode::InvalidInput, "the stored " + kind + " job " + why);
  };
  if (!request.is_object()) return refuse("is not a JSON object");
  const std::string out = (dir / output_name(kind)).string();
  // Every kind reports as JSON lines on stdout (the runner follows them for progress).
  ChildCommand cmd;
  if (kind == "render") {
    if (!request.contains("blueprint")) return refuse("has no blueprint");
    cmd.blueprint = request["blueprint"].dump(2) + "\n";
    cmd.argv = {program,
                "render",
                (dir / "blueprint.json").string(),
                "-o",
                out,
                "--memory",
                std::to_string(reservation_bytes),
                "--json-progress",
                "--report",
                (dir / "report.json").string(),
                "-q"};
    return cmd;
  }
  if (!request.contains("input") || !request["input"].is_string()) return refuse("has no input");
  const std::string input = request["input"].get<std::string>();
  if (kind == "reframe") {
    cmd.argv = {program,
                "reframe",
                input,
                "-o",
                out,
                "--aspect",
                request.value("aspect", ""),
                "--focus",
                request.value("focus", "center"),
                "--memory",
                std::to_string(reservation_bytes),
                "--json-progress",
                "--report",
                (dir / "report.json").string(),
                "-q"};
    if (request.contains("size")) {
      cmd.argv.insert(cmd.argv.end(), {"--size", request.value("size", "")});
    }
    return cmd;
  }
  if (kind == "frames") {
    // frames streams one picture at a time and has no budget of its own to plan: the child's
    // hard limit is its only memory bound.
    cmd.argv = {program,
                "frames",
                input,
                "-o",
                out,
                "--every",
                std::to_string(request.value("every", int64_t{1})),
                "--format",
                request.value("format", "jpg"),
                "--quality",
                std::to_string(request.value("quality", 85)),
                "--json"};
    if (request.contains("start"))
      cmd.argv.insert(cmd.argv.end(), {"--start", request.value("start", "")});
    if (request.contains("end"))
      cmd.argv.insert(cmd.argv.end(), {"--end", request.value("end", "")});
    cmd.takes_extra_args = false;
    return cmd;
  }
  return refuse("is of an unknown kind");
}

}  // namespace leancut::server
