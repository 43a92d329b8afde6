#!/usr/bin/python3
"""Transitions benchmark: the same N-shot 720p timeline rendered as straight cuts, with a
dissolve at every cut, and with a fade through black at every cut, side by side in one run.

A dissolve decodes two sources at once and blends two pictures per frame, so it costs CPU and
memory a cut does not; this measures how much, and that the peak still does not grow with the
number of shots (N = 100 and N = 400 by default). Shots are compare.py's seeded timeline with
every in point at least 0.5 s into its source and every out point 0.5 s before its end, so a
12-frame dissolve (6 frames each side of the cut) always has its handles.

    /usr/bin/python3 bench/transitions.py                       # N = 100, 400
    /usr/bin/python3 bench/transitions.py --shots 50 --repeat 1

Prints wall time, CPU time, peak RSS (wait4), frames out, and the ratios to the cut render.
A benchmark, not a test: exit 0 unless the script itself fails. Python 3 stdlib only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare as cmp  # noqa: E402  (shared media, timelines and measurement)

HANDLE_H = 50  # hundredths of a second kept inside each source at both ends


def timeline(n: int, clips: list[dict], seed: int) -> list[dict]:
    shots = cmp.make_timeline(n, clips, seed)
    for s in shots:
        end_h = int(float(s["clip"]["duration_s"]) * 100) - 1
        length = s["out_h"] - s["in_h"]
        s["in_h"] = min(max(s["in_h"], HANDLE_H), end_h - HANDLE_H - length)
        s["out_h"] = s["in_h"] + length
    return shots


def write(path: Path, shots: list[dict], media: Path, transition: str | None) -> None:
    cmp.write_blueprint(path, shots, media)
    if transition is None:
        return
    doc = json.loads(path.read_text())
    for shot in doc["shots"][1:]:
        shot["transition"] = json.loads(transition)
    path.write_text(json.dumps(doc, indent=1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leancut", default="build/default/src/cli/leancut")
    ap.add_argument("--shots", default="100,400")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--work", default="bench/out/transitions")
    args = ap.parse_args()

    leancut = Path(args.leancut).resolve()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    media = Path("bench/out/media")
    clips = cmp.prepare_media(leancut, media)
    kinds = {
        "cut": None,
        "dissolve": '{"type": "dissolve", "frames": 12}',
        "fade": '{"type": "fade", "frames": 12}',
    }
    rows = []
    for n in [int(x) for x in args.shots.split(",")]:
        shots = timeline(n, clips, args.seed)
        results = {}
        for kind, transition in kinds.items():
            bp = work / f"n{n}-{kind}.json"
            write(bp, shots, media, transition)
            runs = []
            for rep in range(args.repeat):
                out = work / f"n{n}-{kind}.mp4"
                cmd = [str(leancut), "render", str(bp), "-o", str(out), "--json-progress",
                       "--memory", args.memory]
                m = cmp.run_measured(cmd, work / f"n{n}-{kind}-{rep}.log", 3600,
                                     work / f"n{n}-{kind}-{rep}.jsonl")
                done = {}
                for line in (work / f"n{n}-{kind}-{rep}.jsonl").read_text().splitlines():
                    event = json.loads(line)
                    if event.get("event") == "done":
                        done = event
                m["frames"] = done.get("frames", 0)
                m["max_open_readers"] = done.get("max_open_readers", 0)
                cmp.log(f"N={n} {kind} #{rep}: exit {m['exit_code']}, {m['wall_s']:.1f} s, "
                        f"{m['cpu_s']:.1f} s CPU, {m['max_rss_mb']:.1f} MB, {m['frames']} frames")
                if out.exists():
                    out.unlink()
                runs.append(m)
            results[kind] = {
                "wall_s": statistics.median(r["wall_s"] for r in runs),
                "cpu_s": statistics.median(r["cpu_s"] for r in runs),
                "max_rss_mb": statistics.median(r["max_rss_mb"] for r in runs),
                "frames": runs[0]["frames"],
                "max_open_readers": max(r["max_open_readers"] for r in runs),
                "ok": all(r["exit_code"] == 0 for r in runs),
            }
        rows.append((n, results))

    print()
    print(f"| N | render | ok | frames | wall s | CPU s | peak RSS MB | readers | wall / cut | "
          f"CPU / cut | RSS / cut |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, results in rows:
        base = results["cut"]
        for kind, r in results.items():
            print(f"| {n} | {kind} | {'yes' if r['ok'] else 'NO'} | {r['frames']} | "
                  f"{r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['max_rss_mb']:.1f} | "
                  f"{r['max_open_readers']} | {r['wall_s'] / base['wall_s']:.2f} | "
                  f"{r['cpu_s'] / base['cpu_s']:.2f} | {r['max_rss_mb'] / base['max_rss_mb']:.2f} |")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        for kind in kinds:
            ratio = last[1][kind]["max_rss_mb"] / first[1][kind]["max_rss_mb"]
            print(f"{kind}: peak RSS at N={last[0]} / N={first[0]} = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
