#!/usr/bin/python3
"""Side-by-side benchmark: leancut vs the ffmpeg concat demuxer vs melt (MLT 7).

For each shot count N (default 10,100,1000,5000) a fixed-seed timeline of N shots
(0.5-2 s, random source — the first two from ones with the largest picture —, random in point,
in/out on exact hundredths of a second) is cut
from the ~20 clips of `leancut testmedia DIR --set bench` and rendered by each tool to
1280x720 @ 30 fps, libx264 veryfast crf 23 yuv420p gop 60, aac 128k 48 kHz stereo,
letterboxed ("fit"). Each render is measured (wall, user+sys CPU, max RSS from wait4
rusage) and its content checked: every output frame's centre code block (see
src/media/testmedia.h) is decoded and compared with the frame the time rules of
docs/blueprint.md say it must show.

    /usr/bin/python3 bench/compare.py                 # N = 10,100,1000,5000
    /usr/bin/python3 bench/compare.py --quick         # N = 10,100
    /usr/bin/python3 bench/compare.py --shots 10,100,1000 --repeat 3 --timeout 3600
    /usr/bin/python3 bench/compare.py --tools leancut --shots 1000

Everything it writes goes under bench/out/ (gitignored); results land in
bench/out/results-<timestamp>.json. A benchmark script, not a test: exit status 0 unless
the script itself fails; target PASS/FAIL lines are printed, never hidden.

Python 3 stdlib only.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
DEFAULT_BIN = REPO / "build" / "default" / "src" / "cli" / "leancut"

W, H, FPS = 1280, 720, 30
GOP = 60
SEED = 20260401
TOOLS = ("leancut", "concat", "melt")

# Code block (src/media/testmedia.h): luma 16 + 7 * (index % 32), chroma palette[source_id % 12].
PALETTE = [(48, 48), (48, 208), (208, 48), (208, 208), (48, 128), (208, 128), (128, 48),
           (128, 208), (88, 88), (88, 168), (168, 88), (168, 168)]
CROP = 8  # centre window read from each output frame (8x8 luma, 4x4 chroma)
FRAME_BYTES = CROP * CROP + 2 * (CROP // 2) * (CROP // 2)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def round_half_away(x: Fraction) -> int:
    n = abs(x)
    r = int(n + Fraction(1, 2))  # floor(|x| + 1/2)
    return r if x >= 0 else -r


def hundredths(h: int) -> str:
    """Exact decimal text of h/100 seconds (a JSON number / ffconcat time)."""
    return f"{h // 100}.{h % 100:02d}"


# ---------------------------------------------------------------------------------------------
# Test media and source frame timestamps

def prepare_media(leancut: Path, media: Path) -> list[dict]:
    media.mkdir(parents=True, exist_ok=True)
    if not (media / "manifest.json").exists() or not all(
            (media / c["file"]).exists() for c in json.loads(
                (media / "manifest.json").read_text())["clips"]):
        log(f"generating bench media in {media} (leancut testmedia --set bench)")
        subprocess.run([str(leancut), "testmedia", str(media), "--set", "bench"], check=True,
                       stdout=subprocess.DEVNULL)
    clips = json.loads((media / "manifest.json").read_text())["clips"]
    return clips


def source_frame_times(media: Path, clips: list[dict]) -> dict[str, list[Fraction]]:
    """Per clip: presentation times (s, exact, from the first video frame) of every decoded
    frame, sorted. Read once with ffprobe and cached next to the media."""
    cache = media / "frame_times.json"
    data = {}
    if cache.exists():
        data = json.loads(cache.read_text())
    changed = False
    for c in clips:
        f = media / c["file"]
        key = f"{c['file']}:{f.stat().st_size}:{int(f.stat().st_mtime)}"
        if data.get(c["file"], {}).get("key") == key:
            continue
        log(f"ffprobe frame timestamps of {c['file']}")
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
             "stream=time_base:frame=best_effort_timestamp", "-of", "json", str(f)],
            check=True, capture_output=True, text=True).stdout
        j = json.loads(out)
        tb = j["streams"][0]["time_base"]
        pts = sorted(int(fr["best_effort_timestamp"]) for fr in j["frames"]
                     if "best_effort_timestamp" in fr)
        data[c["file"]] = {"key": key, "time_base": tb, "pts": pts}
        changed = True
    if changed:
        cache.write_text(json.dumps(data))
    times = {}
    for c in clips:
        d = data[c["file"]]
        tb = Fraction(d["time_base"])
        p0 = d["pts"][0]
        times[c["file"]] = [(p - p0) * tb for p in d["pts"]]
    return times


def add_silent_audio(media: Path, clips: list[dict]) -> dict[str, Path]:
    """For the concat demuxer (every input must have the same streams): clips without audio get
    a stereo 48 kHz silent AAC track, video stream-copied. Untimed prep step, cached."""
    prep = OUT / "concat-prep"
    prep.mkdir(parents=True, exist_ok=True)
    paths = {}
    for c in clips:
        src = (media / c["file"]).resolve()
        if c.get("has_audio"):
            paths[c["file"]] = src
            continue
        dst = prep / c["file"]
        if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
            log(f"concat prep: adding a silent audio track to {c['file']}")
            tmp = dst.with_suffix(".tmp.mp4")
            subprocess.run(
                ["ffmpeg", "-y", "-v", "error", "-i", str(src), "-f", "lavfi", "-i",
                 "anullsrc=r=48000:cl=stereo", "-map", "0:v:0", "-map", "1:a:0",
                 "-c:v", "copy", "-c:a", "aac", "-b:a", "128k",
                 "-t", f"{float(c['duration_s']):.6f}", str(tmp)], check=True)
            tmp.rename(dst)
        paths[c["file"]] = dst
    return paths


# ---------------------------------------------------------------------------------------------
# Timeline

def make_timeline(n: int, clips: list[dict], seed: int) -> list[dict]:
    rng = random.Random(seed * 1_000_003 + n)
    # The first two shots come from sources with the largest picture, the rest at random. The
    # peak is reached when a shot of the largest pictures decodes while the next one, also of
    # the largest, is prefetched (two decoders' references at once, as the planner assumes):
    # every long timeline has such a pair somewhere, a 10-shot one rarely, so without this the
    # shot-count comparison would measure the source mix instead of the shot count.
    largest = max(c["width"] * c["height"] for c in clips)
    shots = []
    for i in range(n):
        c = rng.choice([c for c in clips if c["width"] * c["height"] == largest] if i < 2
                       else clips)
        length = rng.randint(50, 200)  # hundredths
        # A source's end is the end of its last frame; keep out strictly inside it.
        end_h = int(Fraction(str(c["duration_s"])) * 100) - 1
        start_h = rng.randint(0, end_h - length)
        shots.append({"clip": c, "in_h": start_h, "out_h": start_h + length})
    return shots


def expected_codes(shots: list[dict], times: dict[str, list[Fraction]]):
    """The (code, palette) every output frame must show, and each shot's [start, end) range."""
    import bisect
    exp: list[tuple[int, int]] = []
    ranges = []
    for s in shots:
        a = round_half_away(Fraction(s["in_h"], 100) * FPS)
        b = round_half_away(Fraction(s["out_h"], 100) * FPS)
        t = times[s["clip"]["file"]]
        pal = s["clip"]["source_id"] % 12
        start = len(exp)
        for f in range(a, b):
            idx = bisect.bisect_right(t, Fraction(f, FPS)) - 1  # latest frame with pts <= time
            exp.append((max(idx, 0) % 32, pal))
        ranges.append((start, len(exp)))
    return exp, ranges


# ---------------------------------------------------------------------------------------------
# Per-tool inputs

def write_blueprint(path: Path, shots: list[dict], media: Path) -> None:
    lines = []
    for s in shots:
        src = json.dumps(str((media / s["clip"]["file"]).resolve()))
        lines.append(f'    {{"source": {src}, "in": {hundredths(s["in_h"])}, '
                     f'"out": {hundredths(s["out_h"])}, "fit": "fit"}}')
    doc = ('{\n  "version": 1,\n  "output": {\n'
           f'    "width": {W}, "height": {H}, "fps": {FPS}, "background": "black",\n'
           '    "video": {"codec": "h264", "preset": "veryfast", "crf": 23, '
           f'"pix_fmt": "yuv420p", "gop_seconds": {GOP // FPS}}},\n'
           '    "audio": {"codec": "aac", "sample_rate": 48000, "channels": 2, '
           '"bitrate": 128000}\n  },\n  "shots": [\n' + ",\n".join(lines) + "\n  ]\n}\n")
    path.write_text(doc)


def write_concat_list(path: Path, shots: list[dict], concat_paths: dict[str, Path]) -> None:
    out = ["ffconcat version 1.0"]
    for s in shots:
        p = str(concat_paths[s["clip"]["file"]]).replace("'", "'\\''")
        out.append(f"file '{p}'")
        out.append(f"inpoint {hundredths(s['in_h'])}")
        out.append(f"outpoint {hundredths(s['out_h'])}")
    path.write_text("\n".join(out) + "\n")


def write_mlt(path: Path, shots: list[dict], media: Path) -> None:
    """One playlist; one producer per source shared by its entries; in/out are frame numbers at
    the profile rate (30 fps), out inclusive: entry = [round(in*30), round(out*30) - 1]."""
    def esc(x: str) -> str:
        return x.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    used = {}
    for s in shots:
        used.setdefault(s["clip"]["file"], s["clip"])
    x = ['<?xml version="1.0" encoding="utf-8"?>',
         '<mlt LC_NUMERIC="C" producer="main">',
         f'  <profile description="leancut bench {W}x{H} {FPS}p" width="{W}" height="{H}" '
         f'progressive="1" sample_aspect_num="1" sample_aspect_den="1" display_aspect_num="16" '
         f'display_aspect_den="9" frame_rate_num="{FPS}" frame_rate_den="1" colorspace="709"/>']
    ids = {}
    for i, (f, c) in enumerate(sorted(used.items())):
        ids[f] = f"src{i}"
        last = int(Fraction(str(c["duration_s"])) * FPS) - 1
        x.append(f'  <producer id="src{i}" in="0" out="{last}">')
        x.append(f'    <property name="resource">{esc(str((media / f).resolve()))}</property>')
        x.append(f'    <property name="length">{last + 1}</property>')
        x.append('  </producer>')
    x.append('  <playlist id="main">')
    for s in shots:
        a = round_half_away(Fraction(s["in_h"], 100) * FPS)
        b = round_half_away(Fraction(s["out_h"], 100) * FPS)
        x.append(f'    <entry producer="{ids[s["clip"]["file"]]}" in="{a}" out="{b - 1}"/>')
    x.append('  </playlist>')
    x.append('</mlt>')
    path.write_text("\n".join(x) + "\n")


# ---------------------------------------------------------------------------------------------
# Running and measuring

def run_measured(cmd: list[str], log_path: Path, timeout: float, stdout_path: Path | None = None):
    """Runs cmd; returns wall, CPU (user+sys) and max RSS (wait4 rusage) plus exit status."""
    with open(log_path, "wb") as err, open(stdout_path or os.devnull, "wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill) if timeout > 0 else None
        if timer:
            timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "max_rss_mb": ru.ru_maxrss / 1024.0,  # Linux: KiB
        "exit_code": proc.returncode,
        "timed_out": timed_out.is_set(),
    }


def cmd_leancut(leancut: Path, bp: Path, out: Path) -> list[str]:
    return [str(leancut), "render", str(bp), "-o", str(out), "--json-progress"]


def cmd_concat(lst: Path, out: Path) -> list[str]:
    vf = (f"select=concatdec_select,"
          f"scale={W}:{H}:force_original_aspect_ratio=decrease,"
          f"pad={W}:{H}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps={FPS},format=yuv420p")
    af = ("aselect=concatdec_select,aresample=48000,"
          "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo")
    return ["ffmpeg", "-y", "-hide_banner", "-nostats", "-loglevel", "warning",
            "-f", "concat", "-safe", "0", "-segment_time_metadata", "1", "-i", str(lst),
            "-map", "0:v:0", "-map", "0:a:0", "-vf", vf, "-af", af,
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", str(GOP),
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
            str(out)]


def cmd_melt(mlt: Path, out: Path, real_time: int) -> list[str]:
    return ["melt", "-quiet", str(mlt), "-consumer", f"avformat:{out}",
            "vcodec=libx264", "preset=veryfast", "crf=23", f"g={GOP}", "pix_fmt=yuv420p",
            "acodec=aac", "ab=128k", "ar=48000", "ac=2", f"real_time={real_time}",
            "terminate_on_pause=1"]


# ---------------------------------------------------------------------------------------------
# Content check

def _code_colours():
    """Every (code, palette) colour as painted (BT.601 sources keep it when the tool does not
    convert the matrix) and as BT.601 -> BT.709 conversion through RGB with gamut clipping
    turns it into (what swscale does for leancut's out_color_matrix=bt709, and melt)."""
    cands = []
    for code in range(32):
        for pal, (u, v) in enumerate(PALETTE):
            y = 16 + 7 * code
            cands.append(((y, u, v), code, pal))
            yn, un, vn = (y - 16) / 219, (u - 128) / 224, (v - 128) / 224
            r = min(max(yn + 1.402 * vn, 0.0), 1.0)
            g = min(max(yn - 0.344136 * un - 0.714136 * vn, 0.0), 1.0)
            b = min(max(yn + 1.772 * un, 0.0), 1.0)
            y2 = 0.2126 * r + 0.7152 * g + 0.0722 * b
            cands.append(((round(16 + 219 * y2), round(128 + 224 * (b - y2) / 1.8556),
                           round(128 + 224 * (r - y2) / 1.5748)), code, pal))
    return cands


CANDIDATES = _code_colours()
COLOURS = {}  # (code, palette) -> its colours
for _c, _code, _pal in CANDIDATES:
    COLOURS.setdefault((_code, _pal), []).append(_c)
MATCH_SLACK = 2    # observed may be this much further from the expected colour than the nearest
MATCH_MAX = 8      # and at most this far (max abs difference of Y, U, V medians)
UNREADABLE = 12    # farther than this from every code colour: not a code block (black, ...)


def _dist(a, b) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[2] - b[2]))


_nearest_memo: dict = {}


def nearest(o):
    """(distance, code, palette) of the code colour nearest an observed (Y, U, V)."""
    r = _nearest_memo.get(o)
    if r is None:
        r = min((_dist(o, c), code, pal) for c, code, pal in CANDIDATES)
        _nearest_memo[o] = r
    return r


def matches(o, e) -> bool:
    """Does observed colour o show the expected (code, palette) e? Exact identification, except
    for the few colours that BT.709 conversion with clipping squeezes to within MATCH_SLACK of a
    neighbour code (saturated palettes near the top/bottom of the luma range)."""
    if o is None:
        return False
    d_e = min(_dist(o, c) for c in COLOURS[e])
    return d_e <= MATCH_MAX and d_e <= nearest(o)[0] + MATCH_SLACK


def read_output_colours(video: Path):
    """Median (Y, U, V) of the centre window per decoded output frame, or None when the window
    is not flat or far from every code colour."""
    cmd = ["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:v:0",
           "-vf", f"crop={CROP}:{CROP}:(iw-{CROP})/2:(ih-{CROP})/2", "-fps_mode", "passthrough",
           "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    out = []
    q = CROP // 2
    n = CROP * CROP
    for off in range(0, len(raw) - FRAME_BYTES + 1, FRAME_BYTES):
        fr = raw[off:off + FRAME_BYTES]
        ys = fr[:n]
        o = (statistics.median_low(ys), statistics.median_low(fr[n:n + q * q]),
             statistics.median_low(fr[n + q * q:]))
        if max(ys) - min(ys) > 12 or nearest(o)[0] > UNREADABLE:
            out.append(None)
        else:
            out.append(o)
    return out


def read_output_codes(video: Path):
    """For diagnostics: the nearest (code, palette) per frame, or None."""
    return [None if o is None else nearest(o)[1:] for o in read_output_colours(video)]


def stream_durations(video: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_type,duration,nb_frames", "-of", "json", str(video)],
                         check=True, capture_output=True, text=True).stdout
    d = {}
    for s in json.loads(out)["streams"]:
        if s["codec_type"] in ("video", "audio") and s["codec_type"] not in d:
            d[s["codec_type"]] = float(s.get("duration", "nan"))
    return d


def content_check(video: Path, exp, ranges) -> dict:
    got = read_output_colours(video)
    n_exp, n_got = len(exp), len(got)
    right = sum(1 for i in range(min(n_exp, n_got)) if matches(got[i], exp[i]))
    bad_shots = []
    first_wrong = None
    for si, (a, b) in enumerate(ranges):
        for i in range(a, b):
            if i >= n_got or not matches(got[i], exp[i]):
                bad_shots.append(si)
                if first_wrong is None:
                    first_wrong = {"shot": si, "output_frame": i, "frame_in_shot": i - a,
                                   "expected": exp[i],
                                   "got": (nearest(got[i])[1:] if got[i] else None)
                                   if i < n_got else "missing",
                                   "got_yuv": got[i] if i < n_got else None}
                break
    # Drift-tolerant view: slide each shot by up to +-M frames around the running offset
    # (tracks frames dropped/repeated earlier); a shot no offset matches at all is "missing".
    M = 15
    d = 0
    missing = []
    aligned_right = 0
    max_drift = 0
    for si, (a, b) in enumerate(ranges):
        best, best_d = 0, d
        for dd in sorted(range(d - M, d + M + 1), key=lambda x: abs(x - d)):
            m = 0
            for i in range(a, b):
                j = i + dd
                if 0 <= j < n_got and matches(got[j], exp[i]):
                    m += 1
            if m > best:
                best, best_d = m, dd
        if best == 0:
            missing.append(si)
        else:
            d = best_d
            max_drift = max(max_drift, abs(d))
        aligned_right += best
    durs = stream_durations(video)
    return {
        "frames_out": n_got,
        "frames_expected": n_exp,
        "frames_right": right,
        "frames_right_pct": 100.0 * right / n_exp if n_exp else 0.0,
        "frames_unreadable": sum(1 for g in got if g is None),
        "bad_shots": len(bad_shots),
        "bad_shot_ids": bad_shots[:50],
        "first_wrong": first_wrong,
        "aligned_right_pct": 100.0 * aligned_right / n_exp if n_exp else 0.0,
        "missing_shots": len(missing),
        "missing_shot_ids": missing[:50],
        "max_drift_frames": max_drift,
        "video_s": durs.get("video"),
        "audio_s": durs.get("audio"),
        "audio_minus_video_s": (durs["audio"] - durs["video"])
        if "audio" in durs and "video" in durs else None,
    }


# ---------------------------------------------------------------------------------------------

def render_one(tool: str, n: int, rep: int, work: Path, args, leancut: Path, exp, ranges) -> dict:
    out = work / f"{tool}-r{rep}.mp4"
    if out.exists():
        out.unlink()
    errlog = work / f"{tool}-r{rep}.log"
    stdout_path = None
    if tool == "leancut":
        stdout_path = work / f"{tool}-r{rep}.jsonl"
        cmd = cmd_leancut(leancut, work / "bp.json", out)
    elif tool == "concat":
        cmd = cmd_concat(work / "concat.txt", out)
    else:
        cmd = cmd_melt(work / "timeline.mlt", out, args.melt_real_time)
    log(f"N={n} rep {rep + 1}/{args.repeat}: {tool} ...")
    load_before = os.getloadavg()[0]
    m = run_measured(cmd, errlog, args.timeout, stdout_path)
    # Other work on the machine skews wall times: keep the 1-minute load around each run.
    m["loadavg_1m_before"], m["loadavg_1m_after"] = load_before, os.getloadavg()[0]
    m["tool"], m["n"], m["repeat"], m["command"] = tool, n, rep, cmd
    if tool == "leancut" and stdout_path and stdout_path.exists():
        lines = [ln for ln in stdout_path.read_text().splitlines() if ln.strip()]
        if lines:
            try:
                summary = json.loads(lines[-1])
                m["leancut_summary"] = summary
                m["decoded_per_output_frame"] = summary.get("decoded_per_output_frame")
                m["self_peak_rss_mb"] = (summary.get("peak_rss_bytes") or 0) / 2**20
            except json.JSONDecodeError:
                pass
        if m.get("leancut_summary", {}).get("event") != "done":
            m["warning"] = ("leancut printed no JSON summary as its last line (binary built from "
                            "a tree mid-edit?); decoded/output ratio unavailable")
            log("  WARNING: " + m["warning"])
    status = "TIMEOUT" if m["timed_out"] else ("ok" if m["exit_code"] == 0 else
                                               f"exit {m['exit_code']}")
    m["status"] = status
    if status == "ok" and out.exists():
        m["check"] = content_check(out, exp, ranges)
        c = m["check"]
        log(f"  {tool}: {m['wall_s']:.1f} s wall, {m['cpu_s']:.1f} s CPU, "
            f"{m['max_rss_mb']:.0f} MB, load {load_before:.1f}->{m['loadavg_1m_after']:.1f}; frames {c['frames_out']}/{c['frames_expected']}, "
            f"right {c['frames_right_pct']:.2f}%, bad shots {c['bad_shots']}, "
            f"missing {c['missing_shots']}")
        if args.clean:
            out.unlink()
    else:
        tail = errlog.read_text(errors="replace").strip().splitlines()[-5:]
        m["stderr_tail"] = tail
        log(f"  {tool}: {status} after {m['wall_s']:.1f} s; " + " | ".join(tail))
    return m


def median_result(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["status"] == "ok"]
    if not ok:
        return dict(runs[-1], repeats=len(runs))
    res = dict(ok[len(ok) // 2])
    for k in ("wall_s", "cpu_s", "max_rss_mb", "self_peak_rss_mb", "decoded_per_output_frame"):
        vals = [r[k] for r in ok if r.get(k) is not None]
        if vals:
            res[k] = statistics.median(vals)
    res["repeats"] = len(runs)
    res["repeats_ok"] = len(ok)
    return res


def fmt(v, spec: str, none: str = "-") -> str:
    return none if v is None else format(v, spec)


def print_table(n: int, res: dict[str, dict]) -> list[str]:
    lines = [f"N = {n} shots",
             "| tool | wall s | CPU s | peak RSS MB | frames out/expected | frames right % | "
             "bad shots | missing shots | max drift | A-V s | decoded/output | load 1m |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for tool in TOOLS:
        r = res.get(tool)
        if r is None:
            continue
        c = r.get("check")
        if r["status"] != "ok" or c is None:
            lines.append(f"| {tool} | {r['status']} ({r['wall_s']:.0f} s) | "
                         f"{r['cpu_s']:.1f} | {r['max_rss_mb']:.0f} | - | - | - | - | - | - | - | "
                         f"{r.get('loadavg_1m_before', 0):.1f} |")
            continue
        lines.append(
            f"| {tool} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['max_rss_mb']:.0f} | "
            f"{c['frames_out']}/{c['frames_expected']} | {c['frames_right_pct']:.2f} | "
            f"{c['bad_shots']}/{n} | {c['missing_shots']} | {c['max_drift_frames']} | "
            f"{fmt(c['audio_minus_video_s'], '+.3f')} | "
            f"{fmt(r.get('decoded_per_output_frame'), '.2f')} | "
            f"{r.get('loadavg_1m_before', 0):.1f}-{r.get('loadavg_1m_after', 0):.1f} |")
    for tool in TOOLS:
        if res.get(tool, {}).get("warning"):
            lines.append(f"WARNING ({tool}): {res[tool]['warning']}")
    lc = res.get("leancut")
    for other in ("melt", "concat"):
        o = res.get(other)
        if lc and o and lc["status"] == "ok" and o["status"] == "ok":
            lines.append(f"leancut/{other}: wall {lc['wall_s'] / o['wall_s']:.2f}x, "
                         f"RSS {lc['max_rss_mb'] / o['max_rss_mb']:.2f}x")
    return lines


def targets(all_res: dict[int, dict[str, dict]]) -> list[str]:
    out = []

    def line(ok, text):
        out.append(f"{'PASS' if ok is True else 'FAIL' if ok is False else 'N/A '}  {text}")

    for n, res in sorted(all_res.items()):
        lc = res.get("leancut")
        if not lc:
            continue
        c = lc.get("check")
        if lc["status"] != "ok" or not c:
            line(False, f"leancut frame-exact at N={n}: render {lc['status']}")
        else:
            exact = c["frames_out"] == c["frames_expected"] and c["frames_right"] == c[
                "frames_expected"]
            line(exact, f"leancut frame-exact at N={n}: {c['frames_right']}/"
                        f"{c['frames_expected']} right, {c['frames_out']} out, "
                        f"{c['bad_shots']} bad shots")

    def rss(n):
        r = all_res.get(n, {}).get("leancut")
        return r["max_rss_mb"] if r and r["status"] == "ok" else None
    r10, r5000, r1000 = rss(10), rss(5000), rss(1000)
    if r10 and r5000:
        line(r5000 <= 1.05 * r10, f"leancut peak RSS at 5000 ({r5000:.0f} MB) <= 1.05 x at 10 "
                                  f"({1.05 * r10:.0f} MB)")
    else:
        line(None, "leancut peak RSS at 5000 <= 1.05 x at 10: not measured")
    if r1000:
        line(r1000 <= 150, f"leancut peak RSS at 1000 ({r1000:.0f} MB) <= 150 MB")
    else:
        line(None, "leancut peak RSS at 1000 <= 150 MB: not measured")
    ns = sorted(n for n in all_res if n >= 100)
    if not ns:
        line(None, "leancut wall vs melt/concat at N >= 100: not measured")
    for n in ns:
        lc = all_res[n].get("leancut")
        for other, limit in (("melt", 0.6), ("concat", 1.0)):
            o = all_res[n].get(other)
            if not lc or not o:
                continue
            if lc["status"] != "ok" or o["status"] != "ok":
                if lc["status"] != "ok":
                    line(False, f"leancut wall <= {limit} x {other} at N={n}: leancut "
                                f"{lc['status']}")
                else:
                    line(None, f"leancut wall <= {limit} x {other} at N={n}: {other} "
                               f"{o['status']}")
                continue
            ratio = lc["wall_s"] / o["wall_s"]
            line(ratio <= limit, f"leancut wall <= {limit} x {other} at N={n}: "
                                 f"{lc['wall_s']:.1f} s / {o['wall_s']:.1f} s = {ratio:.2f}")
    return out


def tool_versions() -> dict:
    def first(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except Exception as e:  # noqa: BLE001
            return f"? ({e})"
    v = {"ffmpeg": first(["ffmpeg", "-version"]), "melt": first(["melt", "--version"])}
    x264 = subprocess.run(["bash", "-c", "dpkg-query -W -f='${Version}' libx264-164 2>/dev/null "
                           "|| true"], capture_output=True, text=True).stdout.strip()
    v["libx264 (dpkg)"] = x264 or "?"
    mlt = subprocess.run(["bash", "-c", "dpkg-query -W -f='${Version}' libmlt7 2>/dev/null "
                          "|| true"], capture_output=True, text=True).stdout.strip()
    v["libmlt7 (dpkg)"] = mlt or "?"
    cpu = "?"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        pass
    v.update({"nproc": os.cpu_count(), "cpu": cpu, "ram": mem, "os": platform.platform(),
              "python": platform.python_version()})
    return v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shots", default="10,100,1000,5000", help="comma-separated shot counts")
    ap.add_argument("--quick", action="store_true", help="same as --shots 10,100")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool and N (median if > 1)")
    ap.add_argument("--timeout", type=float, default=3 * 3600,
                    help="seconds per render before it is killed and reported as TIMEOUT "
                         "(0 = none; default 10800)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="subset of leancut,concat,melt")
    ap.add_argument("--leancut", default=str(DEFAULT_BIN),
                    help="leancut binary (copied to bench/out/bin first, so concurrent rebuilds "
                         "do not change it mid-run)")
    ap.add_argument("--media", default=str(OUT / "media"), help="bench media folder")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--melt-real-time", type=int, default=-1,
                    help="melt consumer real_time (-1: one render thread, no frame dropping; "
                         "0: render in the consumer thread)")
    ap.add_argument("--clean", action="store_true",
                    help="delete each rendered video after its content check")
    args = ap.parse_args()

    ns = [10, 100] if args.quick else [int(x) for x in args.shots.split(",") if x.strip()]
    tools = [t for t in TOOLS if t in args.tools.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")

    src_bin = Path(args.leancut)
    if not src_bin.exists():
        print(f"leancut binary {src_bin} not found: cmake --preset default && "
              f"cmake --build --preset default --target leancut", file=sys.stderr)
        return 2
    (OUT / "bin").mkdir(exist_ok=True)
    leancut = OUT / "bin" / f"leancut-{stamp}"
    shutil.copy2(src_bin, leancut)
    import hashlib
    bin_info = {"path": str(src_bin), "copy": str(leancut),
                "mtime": _dt.datetime.fromtimestamp(src_bin.stat().st_mtime).isoformat(),
                "sha256": hashlib.sha256(leancut.read_bytes()).hexdigest()}

    media = Path(args.media).resolve()
    clips = prepare_media(leancut, media)
    times = source_frame_times(media, clips)
    concat_paths = add_silent_audio(media, clips) if "concat" in tools else {}
    versions = tool_versions()
    log(f"machine: {versions['nproc']} CPUs {versions['cpu']}, {versions['ram']}; "
        f"{versions['ffmpeg']}; {versions['melt']}")

    results = {"timestamp": stamp, "argv": sys.argv, "seed": args.seed, "machine": versions,
               "leancut_binary": bin_info, "melt_real_time": args.melt_real_time,
               "concat_no_audio_handling": "clips without audio get a silent stereo 48 kHz AAC "
                                           "track (video stream-copied) in an untimed prep step",
               "runs": [], "medians": {}}
    all_res: dict[int, dict[str, dict]] = {}
    res_path = OUT / f"results-{stamp}.json"
    report = []
    for n in ns:
        work = OUT / f"run-{stamp}" / f"n{n}"
        work.mkdir(parents=True, exist_ok=True)
        shots = make_timeline(n, clips, args.seed)
        exp, ranges = expected_codes(shots, times)
        write_blueprint(work / "bp.json", shots, media)
        if "concat" in tools:
            write_concat_list(work / "concat.txt", shots, concat_paths)
        if "melt" in tools:
            write_mlt(work / "timeline.mlt", shots, media)
        (work / "expected.json").write_text(json.dumps({"codes": exp, "ranges": ranges}))
        log(f"N={n}: {len(exp)} output frames expected ({len(exp) / FPS:.1f} s)")
        per_tool: dict[str, list[dict]] = {t: [] for t in tools}
        for rep in range(args.repeat):
            for tool in tools:
                m = render_one(tool, n, rep, work, args, leancut, exp, ranges)
                per_tool[tool].append(m)
                results["runs"].append(m)
                res_path.write_text(json.dumps(results, indent=1, default=str))
        all_res[n] = {t: median_result(r) for t, r in per_tool.items()}
        results["medians"][str(n)] = all_res[n]
        table = print_table(n, all_res[n])
        report += table + [""]
        print("\n".join(table) + "\n", flush=True)
        res_path.write_text(json.dumps(results, indent=1, default=str))
    tl = targets(all_res)
    results["targets"] = tl
    res_path.write_text(json.dumps(results, indent=1, default=str))
    print("Targets:")
    print("\n".join(tl))
    print(f"\nresults: {res_path}")
    notes = ["", "notes: peak RSS = wait4 ru_maxrss of the tool process; CPU = user+sys; "
             f"melt real_time={args.melt_real_time}; concat inputs without audio got a silent "
             "track in an untimed prep step.",
             "frames right = exact (code, palette) match at the same output frame index; bad "
             "shots = shots with any wrong or missing frame at its exact position; missing "
             "shots = shots none of whose frames appear within +-15 frames of the running "
             "drift; A-V = audio minus video stream duration."]
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
