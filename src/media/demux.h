// Opening inputs and decoders, with the settings every reader shares: local files only (protocol
// whitelist "file"), and decoders that keep timestamps honest.
#pragma once

#include <filesystem>

#include "base/result.h"
#include "media/av_ptr.h"
#include "media/frame_pool.h"

namespace leancut::media {

// avformat_open_input, then avformat_find_stream_info (which decodes a few frames of every
// stream) when `analyze` is Always, or when the container has no header to read parameters from
// (MPEG-TS) and `analyze` is IfHeaderless. Readers of already-probed sources pass IfHeaderless:
// they open a source for every shot, and analysing an MP4 each time costs more than the cut.
enum class Analyze { Always, IfHeaderless };
Result<InputFormatPtr> open_input(const std::filesystem::path& path,
                                  Analyze analyze = Analyze::Always);

// A decoder for `stream`, opened. threads: 0 = libav's choice; frame and slice threading allowed.
// With a frame_pool, pictures come from it where the decoder allows (see frame_pool.h).
Result<CodecContextPtr> open_decoder(const AVStream* stream, int threads,
                                     const std::filesystem::path& path_for_errors,
                                     FramePool* frame_pool = nullptr);

// Clockwise degrees (0, 90, 180, 270) to turn the stored picture upright, from the stream's
// display matrix; 0 when there is none. Other angles are rounded to the nearest quarter turn.
int display_rotation(const AVStream* stream);

}  // namespace leancut::media
