// Reading OpenTimelineIO (.otio JSON) into the interchange model, exactly and with every problem
// at once, each named by its JSON path ("tracks.children[0].children[3]: ...").
//
//   ReadResult r = read_otio_file("cut.otio");
//
// Supported schemas: Timeline.1, Stack.1 (the timeline's tracks), Track.1 (Video, Audio),
// Clip.1, Clip.2, Gap.1, Transition.1 (SMPTE_Dissolve), ExternalReference.1, MissingReference.1,
// LinearTimeWarp.1, FreezeFrame.1, RationalTime.1, TimeRange.1; markers are ignored. Anything
// else where an item, media reference or effect belongs is an Unsupported problem naming its
// OTIO_SCHEMA and path. Media paths are resolved against `base_dir` (the .otio file's folder) but
// not checked: conform (conform.h) finds the files. docs/interchange.md has the details.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "interchange/model.h"

namespace leancut::interchange {

ReadResult read_otio(std::string_view json_text, const std::filesystem::path& base_dir);

// Reads the file; an unreadable file is one problem with an empty origin.
ReadResult read_otio_file(const std::filesystem::path& file);

// A target_url as a local path, as written: "file:///a/b%20c.mov" -> "/a/b c.mov",
// "file://localhost/a.mov" -> "/a.mov", "clips/a.mov" -> "clips/a.mov" (relative paths stay
// relative; the caller resolves them). Errors: another scheme (http://...), a file URL naming a
// remote host, bad percent-encoding.
Result<std::string> path_from_url(std::string_view url);

}  // namespace leancut::interchange
