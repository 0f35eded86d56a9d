"""``posture batch`` throughput: video-seconds analysed per wall-second, side by side for the local
engine with 1 and 2 workers and for Ray on this machine.

Builds an archive of short clips cut from the development footage in ../shared/footage
(``side_video/``: chair_good_bad.mp4, home_office_cuts.mp4, office_chair_postures.mp4,
desk_slump_upright.mp4; never ``eval/``) into a temporary folder (never kept),
then runs ``posture batch`` on it as its own process for each engine, alternating over rounds,
each into a fresh results folder (start-up, worker start, Ray's start and the cohort report
included, as a user would see it). The issue's target on a 2-core machine: 2 workers >= 1.7x one.
Wall-clock scaling needs the cores to be free; the CPU seconds per video second (driver and
local workers) say whether more workers added work, whatever else the machine is doing. The
peak resident memory of the largest process the local engine started (a worker with the pose
model loaded) is what ``--workers`` and the README budget per worker.

Run: python bench/batch.py [--rounds N] [--clips N] [--seconds S] [--no-ray] [--annotate]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOOTAGE = ROOT.parent / "shared" / "footage"
sys.path.insert(0, str(ROOT))

from tests.builders import cut_clip  # noqa: E402  (the tests' clip cutter, shared on purpose)

# (source, start s, output width px); each cut is --seconds long
SOURCES = (
    ("side_video/chair_good_bad.mp4", 0.0, 480),
    ("side_video/home_office_cuts.mp4", 0.0, 480),
    ("side_video/office_chair_postures.mp4", 0.0, 218),
    ("side_video/desk_slump_upright.mp4", 5.0, 480),
    ("side_video/home_office_cuts.mp4", 7.0, 480),
    ("side_video/office_chair_postures.mp4", 12.0, 218),
    ("side_video/desk_slump_upright.mp4", 30.0, 480),
    ("side_video/office_chair_postures.mp4", 25.0, 218),
)


def build(folder: Path, clips: int, seconds: float) -> float:
    total = 0.0
    for k in range(clips):
        rel, start, width = SOURCES[k % len(SOURCES)]
        total += cut_clip(FOOTAGE / rel, folder / f"rec{k:02d}.mp4", start, seconds, width)
    return total


def run(
    archive: Path, out: Path, engine: str, workers: int, extra: tuple[str, ...] = ()
) -> tuple[float, float, int, float]:
    """(wall s, video s analysed, recordings ok, CPU s) of one ``posture batch`` process. The CPU
    time counts the driver and the worker processes it waited for (not Ray's own services)."""
    cmd = [
        sys.executable, "-m", "posture", "batch", str(archive), "--out", str(out),
        "--engine", engine, "--workers", str(workers), "--quiet", *extra,
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    with (out / "cohort.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["status"] == "ok"]
    return wall, sum(float(r["duration_s"]) for r in rows), len(rows), cpu


def cpu_text(engine: str, cpu_s: float, video_s: float) -> str:
    # Ray's workers are children of its own services, not of the batch: their CPU is not seen here.
    return "n/a" if engine == "ray" else f"{cpu_s / video_s:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds (medians are reported)")
    ap.add_argument("--clips", type=int, default=8, help="recordings in the archive")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each recording")
    ap.add_argument("--no-ray", action="store_true", help="leave out the Ray engine")
    ap.add_argument("--annotate", action="store_true", help="also write each recording's annotated video")
    args = ap.parse_args(argv)
    if not FOOTAGE.is_dir():
        raise SystemExit(f"needs the footage at {FOOTAGE}")
    variants = [("local", 1), ("local", 2)]
    if not args.no_ray:
        if importlib.util.find_spec("ray") is None:
            raise SystemExit('Ray is not installed: pip install -e ".[ray]" (or pass --no-ray)')
        variants.append(("ray", 2))
    with tempfile.TemporaryDirectory(prefix="posture-bench-batch-") as tmp:
        archive = Path(tmp) / "archive"
        archive.mkdir()
        video_s = build(archive, args.clips, args.seconds)
        print(f"archive: {args.clips} recordings, {video_s:.1f} s of video; {os.cpu_count()} cores")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        walls: dict[tuple[str, int], list[float]] = {v: [] for v in variants}
        cpus: dict[tuple[str, int], list[float]] = {v: [] for v in variants}
        analysed: dict[tuple[str, int], float] = {}
        for r in range(args.rounds):
            for engine, workers in variants:
                out = Path(tmp) / f"out-{engine}-{workers}-{r}"
                wall, secs, ok, cpu = run(
                    archive, out, engine, workers, ("--annotate",) if args.annotate else ()
                )
                if ok != args.clips:
                    raise SystemExit(f"{engine} x{workers}: only {ok} of {args.clips} recordings analysed")
                walls[(engine, workers)].append(wall)
                cpus[(engine, workers)].append(cpu)
                analysed[(engine, workers)] = secs
                print(f"  round {r + 1}: {engine} x{workers}: {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        # ru_maxrss of the children: the largest of every process waited for (KiB on Linux).
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"largest process (a local worker with the pose model loaded): {peak_mb:.0f} MB resident at its peak"
        )
    base = None
    print()
    print(
        "| engine | workers | video s | wall s (median) | video-s per wall-s | vs local x1 | CPU s per video s |"
    )
    print("|---|---|---|---|---|---|---|")
    for (engine, workers), ws in walls.items():
        wall = statistics.median(ws)
        speed = analysed[(engine, workers)] / wall
        base = base or speed
        print(
            f"| {engine} | {workers} | {analysed[(engine, workers)]:.1f} | {wall:.1f} | {speed:.2f} | {speed / base:.2f}x "
            f"| {cpu_text(engine, statistics.median(cpus[(engine, workers)]), analysed[(engine, workers)])} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
