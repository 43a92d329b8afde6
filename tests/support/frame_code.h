// Checking the test media's code block (media/testmedia.h) on a rendered frame whose source was
// tagged BT.601 (the standard set's 640x360 clips are smpte170m). The output is BT.709, so the
// engine rightly converts such sources' colours to the BT.709 matrix; the code block's YUV
// numbers change with it, and media::read_frame_code, which expects the painted numbers,
// misreads them. Worse, the palette's saturated colours lie outside the RGB gamut, so the
// conversion clips them and some codes become indistinguishable (code 0 of source 1 and of
// source 7 convert to the same colour). So instead of reading a code, this checks a frame
// against the one expected: its centre must be near that frame's converted colour (ffmpeg's
// scale filter, BT.601 to BT.709, limited range) and nearer to it than to the converted colour
// of any neighbouring frame (within 3) whose colour differs.
//
//   std::string got;
//   bool ok = shows_converted_code(frame, want_index, want_source_id, &got);
//
// Thread-compatible (builds its table once, on first use, without locking).
#pragma once

#include <cstdint>
#include <string>

#include "media/av_ptr.h"
#include "media/testmedia.h"

namespace leancut::testing {

// See above. `got` (optional) describes the centre colour for failure messages.
bool shows_converted_code(const AVFrame* yuv420p, int64_t frame_index, int source_id,
                          std::string* got);

// Whether a decoded frame's tags say BT.601 (the matrix the engine converts from).
bool is_bt601(const AVFrame* frame);

}  // namespace leancut::testing
