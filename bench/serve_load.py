#!/usr/bin/python3
"""Load benchmark for `leancut serve`: N concurrent submissions of short renders or reframes.

Starts a server on a free port with a fresh data directory, makes the standard test media,
submits N (default 100) short inline renders from N threads at once, polls until every job is
final, and prints: submit latency p50/p99, how each submission was answered (202, 429, ...),
every accepted job's final state (none may be lost: each 202 must end succeeded, failed or
canceled), throughput (succeeded jobs per second, wall time), and the server's peak RSS
(VmHWM of the server process, which runs no render itself). Then SIGTERM, and a check that no
child process and no temp file is left.

    /usr/bin/python3 bench/serve_load.py                     # 100 jobs
    /usr/bin/python3 bench/serve_load.py --jobs 30 --memory 1G --max-running 2 --max-queued 200
    /usr/bin/python3 bench/serve_load.py --kind reframe      # 100 reframes to 1080x1920

--kind reframe first cuts a short 1080p clip (--seconds of b_1080p25.mp4, rendered at
1920x1080 by `leancut render`) into the media root, then submits N reframe jobs of it to 9:16,
1080x1920, at once; each job's output is 1080x1920. The peak that matters there is the whole
tree's (server + reframe children), which the script samples every 50 ms.

A benchmark, not a test: exit 0 unless the script itself fails; PASS/FAIL lines are printed.
Python 3 stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def request(method: str, url: str, body: bytes | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_rss(root: int) -> int:
    """RSS of `root` and every descendant (the server and its job processes), in bytes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            pages = int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        pid = int(proc.name)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


_SERVERS: list[subprocess.Popen] = []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "build/default/src/cli/leancut"))
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--memory", default="1G", help="the server's --memory")
    ap.add_argument("--max-running", default="2")
    ap.add_argument("--max-queued", default="1000")
    ap.add_argument("--kind", choices=("render", "reframe"), default="render")
    ap.add_argument("--seconds", type=float, default=1.0,
                    help="length of each render (reframe: of the 1080p clip)")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="an extra argument for `leancut serve` (repeatable)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="leancut-serve-load-"))
    media = work / "media"
    subprocess.run([args.binary, "testmedia", str(media)], check=True, stdout=subprocess.DEVNULL)
    if args.kind == "reframe":
        cut = {"version": 1, "output": {"width": 1920, "height": 1080, "fps": 25},
               "shots": [{"source": str(media / "b_1080p25.mp4"), "in": 0, "out": args.seconds}]}
        (work / "cut.json").write_text(json.dumps(cut))
        subprocess.run([args.binary, "render", str(work / "cut.json"), "-o",
                        str(media / "short_1080p.mp4"), "-q"], check=True,
                       stdout=subprocess.DEVNULL)
    server = subprocess.Popen(  # noqa: SIM115 (killed in __main__'s finally if anything fails)
        [args.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(work / "data"),
         "--media-root", str(media), "--memory", args.memory, "--max-running", args.max_running,
         "--max-queued", args.max_queued, *args.server_arg],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _SERVERS.append(server)
    line = server.stdout.readline()
    m = re.search(r"listening on (http://[0-9.]+:[0-9]+)", line)
    if not m:
        print("the server did not start:", line)
        server.kill()
        return 1
    base = m.group(1)
    bp = {"version": 1,
          "output": {"width": 320, "height": 180, "fps": 30, "video": {"preset": "ultrafast"}},
          "shots": [{"source": "a_720p30.mp4", "in": 0, "out": args.seconds}]}
    body = json.dumps({"kind": "render", "blueprint": bp}).encode()
    if args.kind == "reframe":
        body = json.dumps({"kind": "reframe", "input": "short_1080p.mp4", "aspect": "9:16",
                           "size": "1080x1920"}).encode()

    # The whole tree's RSS (server + running renders), sampled every 50 ms while the load runs.
    tree_peak = [0]
    sampling = threading.Event()

    def sample_tree() -> None:
        while not sampling.is_set():
            tree_peak[0] = max(tree_peak[0], tree_rss(server.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample_tree, daemon=True)
    sampler.start()

    answers: list[tuple[int, dict, float]] = [None] * args.jobs  # type: ignore[list-item]
    barrier = threading.Barrier(args.jobs)

    def submit(i: int) -> None:
        barrier.wait()
        t0 = time.monotonic()
        try:
            status, reply = request("POST", base + "/v1/jobs", body)
        except OSError as e:  # reset, refused, timed out: no answer at all (status 0)
            status, reply = 0, {"error": str(e)}
        answers[i] = (status, reply, time.monotonic() - t0)

    t_start = time.monotonic()
    threads = [threading.Thread(target=submit, args=(i,)) for i in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = sorted(a[2] for a in answers)
    by_status: dict[int, int] = {}
    for a in answers:
        by_status[a[0]] = by_status.get(a[0], 0) + 1
    accepted = [a[1]["id"] for a in answers if a[0] == 202]
    estimates = sorted({a[1]["estimate_bytes"] for a in answers if a[0] == 202})

    final: dict[str, str] = {}
    peaks: list[int] = []
    deadline = time.monotonic() + 1800
    while len(final) < len(accepted) and time.monotonic() < deadline:
        for job_id in accepted:
            if job_id in final:
                continue
            _, j = request("GET", f"{base}/v1/jobs/{job_id}")
            if j.get("state") in ("succeeded", "failed", "canceled"):
                final[job_id] = j["state"]
                if "peak_bytes" in j:
                    peaks.append(j["peak_bytes"])
        time.sleep(0.5)
    wall = time.monotonic() - t_start
    sampling.set()
    sampler.join()
    peak = vm_hwm(server.pid)
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)

    outcomes: dict[str, int] = {}
    for s in final.values():
        outcomes[s] = outcomes.get(s, 0) + 1
    lost = len(accepted) - len(final)
    leftovers = [str(p) for p in (work / "data").rglob("*") if ".partial" in p.name]
    children = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(work) in (proc / "cmdline").read_text(errors="replace"):
                    children.append(proc.name)
            except OSError:
                pass

    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else latencies * 99
    print(f"submissions: {args.jobs}, answers {dict(sorted(by_status.items()))} "
          "(0: no HTTP answer: connection reset, refused or timed out)")
    errors = sorted({a[1].get("error", "") for a in answers if a[0] == 0})
    if errors:
        print(f"unanswered submissions' errors: {errors}")
    print(f"submit latency: p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms")
    print(f"outcomes: {outcomes}, not final after the deadline: {lost}")
    ok = outcomes.get("succeeded", 0)
    print(f"throughput: {ok} {args.kind}s in {wall:.1f} s = {ok / wall:.2f} jobs/s")
    if estimates and peaks:
        print(f"each job: estimate {estimates[0] / 1048576:.1f}"
              f"{'' if len(estimates) == 1 else '-' + format(estimates[-1] / 1048576, '.1f')} MiB, "
              f"measured peak RSS (its report) max {max(peaks) / 1048576:.1f} MiB, "
              f"median {statistics.median(peaks) / 1048576:.1f} MiB")
    print(f"server peak RSS: {peak / 1048576:.1f} MiB (VmHWM); server + renders, sampled "
          f"every 50 ms: {tree_peak[0] / 1048576:.1f} MiB at the peak")
    print(f"machine: {os.cpu_count()} CPUs, load average at the end "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(("PASS" if lost == 0 else "FAIL") + ": every accepted job reached a final state")
    print(("PASS" if not children and not leftovers else "FAIL") +
          f": after SIGTERM, {len(children)} children and {len(leftovers)} temp files left")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        # Whatever happened, no server of ours outlives the script (a crashed run once left one).
        for child in _SERVERS:
            if child.poll() is None:
                child.kill()
                child.wait()
