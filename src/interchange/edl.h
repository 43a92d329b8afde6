// Reading CMX3600 EDLs into the interchange model. Every problem at once, each named by its
// event and line ("event 7 (line 15): record in \"01:00:00:25\": frame 25 is out of range...").
//
//   ReadResult r = read_edl_file("cut.edl", {.fps = Rational{24}});
//
// EDLs rarely state their rate, so the caller gives it (--fps, default 24); "FCM: DROP FRAME"
// makes timecodes drop-frame (only at 30000/1001 and 60000/1001). Record timecodes place the
// events: the timeline starts at the earliest record in (global_start), holes become gaps, an
// event that overlaps the one before it on a track is a problem. Clips get no media path here:
// conform (conform.h) resolves reels and clip names. docs/interchange.md has the details.
#pragma once

#include <filesystem>
#include <string_view>

#include "interchange/model.h"

namespace leancut::interchange {

struct EdlOptions {
  Rational fps{24};  // the EDL's frame rate; 29.97 should be given as 30000/1001
};

ReadResult read_edl(std::string_view text, const EdlOptions& options,
                    const std::filesystem::path& base_dir);

// Reads the file; an unreadable file is one problem with an empty origin.
ReadResult read_edl_file(const std::filesystem::path& file, const EdlOptions& options);

}  // namespace leancut::interchange
