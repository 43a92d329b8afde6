// Linking a linear libavfilter chain ("scale=...,pad=...,format=yuv420p") between two filters
// we made ourselves (a buffer source and a sink, or a drawtext), then configuring the graph: the
// step the video normalizer and the audio time stretch share.
#pragma once

#include <string>

#include "base/result.h"

extern "C" {
struct AVFilterContext;
struct AVFilterGraph;
}

namespace leancut::media {

// Parses `chain` into `graph` with `from`'s output feeding its first filter and its last filter
// feeding `to`'s input, then avfilter_graph_config. Errors name the chain.
Status link_chain_and_configure(AVFilterGraph* graph, AVFilterContext* from, AVFilterContext* to,
                                const std::string& chain);

}  // namespace leancut::media
