// Blending two output pictures: what a dissolve or a fade through a colour shows on each frame
// of a transition. Both pictures are already normalized (same size, same planar 8-bit format),
// so a blend is a weighted average, plane by plane, in the pictures' own (gamma-encoded) values,
// as an editor's dissolve is.
//
//   LEANCUT_TRY(blend_into(outgoing.get(), incoming.get(), Rational{1, 2}));  // halfway
#pragma once

#include "base/result.h"
#include "time/rational.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace leancut::media {

// dst = dst × (1 − weight) + src × weight, with `weight` in [0, 1] taken to 1/256ths (0 and 1
// are exact: dst unchanged, or a copy of src). Makes dst writable first (a copy if its buffers
// are shared). Fails when the two differ in size or format, or the format is not planar 8-bit.
Status blend_into(AVFrame* dst, const AVFrame* src, Rational weight);

}  // namespace leancut::media
