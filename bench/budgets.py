#!/usr/bin/python3
"""Memory governance benchmark: the same N-shot 720p timeline under several budgets.

For each budget (default 96M,128M,256M,512M) it asks `leancut plan --json` for the estimate,
then renders with `leancut render --memory M --report R` and prints, side by side: whether the
planner accepted, the estimate, the measured peak RSS (wait4 rusage), measured/estimate, whether
the peak stayed within the budget, the settings the planner degraded, wall and CPU time, the
pressure levels visited, pool reuse, leaks, and the content check of compare.py (every frame's
code block against the time rules). Then the governance overhead: the same job with the
ledger (frame pool and every component charged; the default) and with `--no-ledger`, interleaved A/B runs, median
wall-time ratio.

    /usr/bin/python3 bench/budgets.py                         # N = 1000
    /usr/bin/python3 bench/budgets.py --shots 100 --budgets 128M,256M --overhead-repeat 3

Writes under bench/out/budgets-<timestamp>/ (gitignored). A benchmark, not a test: exit 0
unless the script itself fails; PASS/FAIL lines are printed, never hidden. Python 3 stdlib only.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare as cmp  # noqa: E402  (shared media, timelines, measurement and content check)


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper()
    return int(float(t[:-1]) * units[t[-1]]) if t[-1] in units else int(t)


def render(leancut: Path, bp: Path, out: Path, work: Path, tag: str, extra: list[str],
           timeout: float, exp, ranges) -> dict:
    report = work / f"{tag}.report.json"
    cmd = [str(leancut), "render", str(bp), "-o", str(out), "--json-progress", "--report",
           str(report)] + extra
    cmp.log(f"{tag}: {' '.join(cmd[1:])}")
    m = cmp.run_measured(cmd, work / f"{tag}.log", timeout, work / f"{tag}.jsonl")
    m["tag"] = tag
    if report.exists():
        m["report"] = json.loads(report.read_text())
    if m["exit_code"] == 0 and out.exists():
        m["check"] = cmp.content_check(out, exp, ranges)
        out.unlink()
    else:
        m["stderr_tail"] = (work / f"{tag}.log").read_text(errors="replace").splitlines()[-3:]
    c = m.get("check", {})
    cmp.log(f"  {m['wall_s']:.1f} s wall, {m['cpu_s']:.1f} s CPU, {m['max_rss_mb']:.1f} MB, exit "
            f"{m['exit_code']}, frames right {c.get('frames_right_pct', 0):.2f}%")
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--budgets", default="96M,128M,256M,512M")
    ap.add_argument("--overhead-repeat", type=int, default=2,
                    help="A/B pairs for the governance overhead (0 = skip)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--leancut", default=str(cmp.DEFAULT_BIN))
    ap.add_argument("--seed", type=int, default=cmp.SEED)
    args = ap.parse_args()

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    work = cmp.OUT / f"budgets-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    leancut = work / "leancut"
    shutil.copy2(args.leancut, leancut)  # a rebuild mid-run must not change the binary

    media = (cmp.OUT / "media").resolve()
    clips = cmp.prepare_media(leancut, media)
    times = cmp.source_frame_times(media, clips)
    shots = cmp.make_timeline(args.shots, clips, args.seed)
    exp, ranges = cmp.expected_codes(shots, times)
    bp = work / "bp.json"
    cmp.write_blueprint(bp, shots, media)
    out = work / "out.mp4"

    rows = []
    for b in [x.strip() for x in args.budgets.split(",") if x.strip()]:
        import subprocess
        p = subprocess.run([str(leancut), "plan", str(bp), "--memory", b, "--json"],
                           capture_output=True, text=True)
        plan = json.loads(p.stdout) if p.stdout.strip().startswith("{") else {}
        row = {"budget": b, "budget_bytes": parse_size(b), "plan": plan,
               "accepted": p.returncode == 0}
        if row["accepted"]:
            row["run"] = render(leancut, bp, out, work, f"budget-{b}", ["--memory", b],
                                args.timeout, exp, ranges)
        else:
            # The planner refused: render must refuse too, at once, with nothing written.
            row["run"] = render(leancut, bp, out, work, f"budget-{b}", ["--memory", b],
                                args.timeout, exp, ranges)
        rows.append(row)

    overhead = []
    for i in range(args.overhead_repeat):
        for mode, extra in (("pool", []), ("no-ledger", ["--no-ledger"])):
            m = render(leancut, bp, out, work, f"overhead-{mode}-{i}", ["--memory", "512M"] + extra,
                       args.timeout, exp, ranges)
            overhead.append({"mode": mode, "wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
                             "max_rss_mb": m["max_rss_mb"], "ok": m["exit_code"] == 0})

    print(f"\n== leancut under memory budgets: {args.shots} shots, 1280x720@30 veryfast "
          f"({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}) ==")
    print(f"{'budget':>7} {'plan':>8} {'estimate':>9} {'min':>8} {'peak RSS':>9} {'meas/est':>8} "
          f"{'within':>6} {'wall s':>7} {'CPU s':>7} {'right %':>8} {'reuse':>6} {'leaks':>5}  "
          f"pressure / degraded")
    lines = []
    for r in rows:
        m, plan = r["run"], r["plan"]
        est = plan.get("peak_bytes", 0) / 2**20
        peak = m["max_rss_mb"]
        rep = m.get("report", {})
        within = peak * 2**20 <= r["budget_bytes"]
        levels = "->".join(e["level"] for e in rep.get("pressure", {}).get("levels", []))
        line = (f"{r['budget']:>7} {'accept' if r['accepted'] else 'REFUSE':>8} {est:>8.1f}M "
                f"{plan.get('min_bytes', 0) / 2**20:>7.1f}M "
                f"{peak:>8.1f}M {peak / est if est else 0:>8.2f} "
                f"{('yes' if within else 'NO') if r['accepted'] else '-':>6} "
                f"{m['wall_s']:>7.1f} {m['cpu_s']:>7.1f} "
                f"{m.get('check', {}).get('frames_right_pct', float('nan')):>8.2f} "
                f"{rep.get('frame_pool', {}).get('reuse_rate', float('nan')):>6.2f} "
                f"{len(rep.get('leaks', [])) if rep else '-':>5}  "
                f"{levels or '-'} / {'; '.join(plan.get('changes', [])) or 'defaults'}")
        print(line)
        lines.append(line)
        if not r["accepted"]:
            print(f"{'':>7} refused: exit {m['exit_code']}: "
                  f"{' '.join(m.get('stderr_tail', []))[:160]}")
    # The ledger by account: measured peak beside the planner's estimate for it, and overdrafts
    # (charges of memory libav had already allocated that went past a limit).
    print(f"\nledger accounts, measured peak / planned (MiB), overdrafts:")
    for r in rows:
        rep = r["run"].get("report", {})
        if not r["accepted"] or not rep.get("accounts"):
            continue
        cells = []
        for a in rep["accounts"]:
            name = a["account"].split("/", 1)[-1]
            cells.append(f"{name} {a['peak_bytes'] / 2**20:.1f}/{a.get('estimate_bytes', 0) / 2**20:.1f}"
                         + (f" od {a['overdrafts']}" if a.get("overdrafts") else ""))
        print(f"{r['budget']:>7}  " + ", ".join(cells))
    if overhead:
        pool = [o["wall_s"] for o in overhead if o["mode"] == "pool" and o["ok"]]
        noledger = [o["wall_s"] for o in overhead if o["mode"] == "no-ledger" and o["ok"]]
        if pool and noledger:
            ratio = statistics.median(pool) / statistics.median(noledger)
            print(f"\ngovernance overhead (frame pool + ledger on vs --no-ledger, "
                  f"{len(pool)} interleaved pairs): median wall {statistics.median(pool):.1f} s vs "
                  f"{statistics.median(noledger):.1f} s = {ratio:.3f}x  "
                  f"[{'PASS' if ratio <= 1.05 else 'FAIL'} <= 1.05]")
            print("  peak RSS: pool " + ", ".join(f"{o['max_rss_mb']:.0f}" for o in overhead
                                                  if o["mode"] == "pool") +
                  " MB; no ledger " + ", ".join(f"{o['max_rss_mb']:.0f}" for o in overhead
                                             if o["mode"] == "no-ledger") + " MB")
    for r in rows:
        if r["accepted"]:
            est = r["plan"].get("peak_bytes", 1)
            peak = r["run"]["max_rss_mb"] * 2**20
            err = (peak - est) / est
            print(f"[{'PASS' if abs(err) <= 0.25 else 'FAIL'}] {r['budget']}: measured peak "
                  f"within +-25% of the estimate ({err:+.1%})")
            print(f"[{'PASS' if peak <= r['budget_bytes'] else 'FAIL'}] {r['budget']}: peak RSS "
                  f"<= budget")
    (work / "results.json").write_text(json.dumps({"rows": rows, "overhead": overhead},
                                                  indent=1, default=str))
    print(f"\nresults: {work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
