#include "media/filter_chain.h"

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavutil/mem.h>
}

#include "media/av_error.h"
#include "media/av_ptr.h"

namespace leancut::media {

Status link_chain_and_configure(AVFilterGraph* graph, AVFilterContext* from, AVFilterContext* to,
                                const std::string& chain) {
  FilterInOutPtr outputs{avfilter_inout_alloc()};
  FilterInOutPtr inputs{avfilter_inout_alloc()};
  if (outputs == nullptr || inputs == nullptr) {
    return make_error(ErrorCode::OverBudget, "avfilter_inout_alloc failed");
  }
  // Named from the chain's side: "in" is what feeds it (our `from`), "out" what it feeds.
  outputs->name = av_strdup("in");
  outputs->filter_ctx = from;
  outputs->pad_idx = 0;
  outputs->next = nullptr;
  inputs->name = av_strdup("out");
  inputs->filter_ctx = to;
  inputs->pad_idx = 0;
  inputs->next = nullptr;
  AVFilterInOut* in_raw = inputs.release();
  AVFilterInOut* out_raw = outputs.release();
  int err = avfilter_graph_parse_ptr(graph, chain.c_str(), &in_raw, &out_raw, nullptr);
  // parse_ptr leaves whatever it did not link in the lists; we free them either way.
  inputs.reset(in_raw);
  outputs.reset(out_raw);
  if (err < 0) return av_error(err, "avfilter_graph_parse_ptr", chain);
  err = avfilter_graph_config(graph, nullptr);
  if (err < 0) return av_error(err, "avfilter_graph_config", chain);
  return ok_status();
}

}  // namespace leancut::media
