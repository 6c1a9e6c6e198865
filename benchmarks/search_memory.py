"""Peak memory of a whole search: the driver, Ray's servers and every trial worker together.

Runs a command (e.g. `python -m tune.run --space cnn_dataset1`) and samples its process tree
once a second. It prints the peak of the summed PSS (shared pages, such as the memory-mapped
image cache, counted once in all) and of the summed RSS (shared pages counted in every process
that touches them), so the two together show whether trials share the cache or copy it.

    python benchmarks/search_memory.py -- python -m tune.run --space cnn_dataset1
"""

import argparse
import os
import subprocess
import sys
import time

from training import precision


def children_of(root: int) -> list[int]:
    """The root and all its descendants, read from /proc (no psutil here)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parent[int(entry)] = int(fields[1])
            except OSError:
                continue
    tree, frontier = {root}, [root]
    while frontier:
        frontier = [pid for pid, ppid in parent.items() if ppid in frontier and pid not in tree]
        tree.update(frontier)
    return sorted(tree)


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; (0, 0) if it has gone."""
    values = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("Rss", "Pss"):
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values.get("Rss", 0), values.get("Pss", 0)


def name_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0].decode(errors="replace")[:60] or "?"
    except OSError:
        return "?"


def main() -> int:
    print(
        f"CPU: {precision.cpu_capabilities()}; --precision auto "
        f"picks {precision.choose().describe()}",
        flush=True,
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to measure after --")

    start = time.monotonic()
    process = subprocess.Popen(command)
    peak_rss = peak_pss = peak_processes = 0
    peak_of = {}  # (pid, name) -> that process's own peak PSS
    while process.poll() is None:
        pids = children_of(process.pid)
        samples = [memory_kib(pid) for pid in pids]
        for pid, (_, pss) in zip(pids, samples, strict=True):
            key = (pid, name_of(pid))
            peak_of[key] = max(peak_of.get(key, 0), pss)
        peak_rss = max(peak_rss, sum(rss for rss, _ in samples))
        peak_pss = max(peak_pss, sum(pss for _, pss in samples))
        peak_processes = max(peak_processes, len(samples))
        time.sleep(args.every)
    print(
        f"exit code {process.returncode}, wall time {time.monotonic() - start:.0f} s, "
        f"up to {peak_processes} processes",
        flush=True,
    )
    print(
        f"peak PSS of the process tree: {peak_pss / 2**20:.2f} GiB (shared pages counted once)",
        flush=True,
    )
    print(
        f"peak RSS of the process tree: {peak_rss / 2**20:.2f} GiB "
        f"(shared pages counted in every process)",
        flush=True,
    )
    print(
        "largest processes by their own peak PSS (a trial worker is ray::ImplicitFunc or "
        "ray::train_trial):"
    )
    for (pid, name), pss in sorted(peak_of.items(), key=lambda item: -item[1])[:6]:
        print(f"  {pss / 2**20:6.2f} GiB  pid {pid}  {name}")
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
