// Test helper: a stand-in for `leancut render` (a shell script), so the job runner and the HTTP
// API are tested in milliseconds, without media. It takes the runner's arguments
//   render BLUEPRINT -o OUT --memory R --json-progress --report REPORT -q
// and does what the blueprint's "mode" says:
//   ok      three progress lines, OUT, a report with peak_rss_bytes 123456789, exit 0
//   slow    a progress line every 50 ms, frames advancing, until SIGTERM (exit 130)
//   stuck   one progress line, then sleeps (frames never advance)
//   crash   a line on stderr, then SIGSEGV
//   brief   ten progress lines 50 ms apart, then OUT, exit 0 (no report)
//   hog     holds 400 MB in `tail` (past any limit a small estimate gets), then exits 0
//   deaf    like slow, but ignores SIGTERM (only SIGKILL after the grace ends it)
//   big     writes 8 MB of output (past a small --max-output-bytes), then exits 0
//   pooled  like ok, with a report that has frame_pool and caches figures
// Each run appends "--memory R" to JOBDIR/../../runs.log, so tests see reservations.
// The other kinds' commands, `reframe INPUT -o OUT ...` and `frames INPUT -o DIR ...`, append
// their whole command line to JOBDIR/../../argv.log; reframe writes OUT and exits 0, frames writes
// three images (frame_000000.jpg ...) with an "image" line each, then a done line with
// peak_rss_bytes 4242.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace leancut::server::testing {

inline std::filesystem::path write_fake_render(const std::filesystem::path& dir) {
  const std::filesystem::path script = dir / "fake-render.sh";
  std::ofstream(script) << R"SH(#!/bin/sh
case "$1" in
  reframe|frames)
    echo "$*" >> "$(dirname "$4")/../../argv.log"
    if [ "$1" = reframe ]; then
      printf 'reframed' > "$4"
      echo '{"event":"done","frames":1}'
      exit 0
    fi
    mkdir -p "$4"
    for i in 0 1 2; do
      printf "image $i" > "$4/frame_00000$i.jpg"
      echo "{\"event\":\"image\",\"index\":$i,\"file\":\"frame_00000$i.jpg\"}"
    done
    echo '{"event":"done","images":3,"peak_rss_bytes":4242}'
    exit 0 ;;
esac
bp="$2"; out="$4"; memory="$6"; report="$9"
mode=$(sed -n 's/.*"mode": *"\([a-z]*\)".*/\1/p' "$bp")
echo "$memory" >> "$(dirname "$bp")/../../runs.log"
trap 'exit 130' TERM
case "$mode" in
  ok)
    for i in 1 2 3; do echo "{\"event\":\"progress\",\"frames\":$i,\"frames_total\":3}"; done
    printf 'not really a video' > "$out"
    echo '{"version":1,"peak_rss_bytes":123456789}' > "$report"
    echo '{"event":"done","frames":3}'
    exit 0 ;;
  slow)
    i=0
    while true; do
      i=$((i+1)); echo "{\"event\":\"progress\",\"frames\":$i,\"frames_total\":100000}"
      sleep 0.05
    done ;;
  stuck)
    echo '{"event":"progress","frames":7,"frames_total":30}'
    while true; do sleep 0.05; done ;;
  crash)
    echo "the decoder met a hostile file" >&2
    kill -SEGV $$ ;;
  brief)
    for i in 1 2 3 4 5 6 7 8 9 10; do
      echo "{\"event\":\"progress\",\"frames\":$i,\"frames_total\":10}"; sleep 0.05
    done
    printf 'brief' > "$out"
    exit 0 ;;
  deaf)
    trap '' TERM
    i=0
    while true; do
      i=$((i+1)); echo "{\"event\":\"progress\",\"frames\":$i,\"frames_total\":100000}"
      sleep 0.05
    done ;;
  big)
    echo '{"event":"progress","frames":1,"frames_total":2}'
    exec head -c 8000000 /dev/zero > "$out" ;;
  pooled)
    echo '{"event":"progress","frames":3,"frames_total":3}'
    printf 'not really a video' > "$out"
    echo '{"version":1,"peak_rss_bytes":1000,"frame_pool":{"acquires":100,"allocations":10},"caches":[{"name":"probes","hits":7,"misses":3}]}' > "$report"
    echo '{"event":"done","frames":3}'
    exit 0 ;;
  hog)
    echo '{"event":"progress","frames":1,"frames_total":30}'
    head -c 400000000 /dev/zero | tail -c 400000000 > /dev/null
    exit 0 ;;
esac
echo "unknown mode '$mode'" >&2
exit 3
)SH";
  ::chmod(script.c_str(), 0755);
  return script;
}

// A request as the API stores it.
inline std::string fake_request(const std::string& mode) {
  return R"({"kind":"render","blueprint":{"mode":")" + mode + R"("}})";
}

}  // namespace leancut::server::testing
