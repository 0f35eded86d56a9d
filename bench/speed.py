"""Analysis speed: ``posture analyze`` against a plain every-frame MediaPipe loop, side by side;
with ``--demo``, ``posture demo`` beside ``posture analyze`` on the demo's own clip.

The plain loop is what the LearnOpenCV posture tutorial (and most of its clones) does: read every
frame with OpenCV, convert it to RGB and run MediaPipe Pose on it (here the Tasks
``PoseLandmarker`` in VIDEO mode with the same shipped model, since ``mediapipe.solutions`` is
gone from current releases). Each variant runs
as its own process (start-up included, as a user would see it), alternating, for several rounds;
the medians are compared. Accuracy is measured in the same run and printed under the table: the
labelled chair clip's (chair_good_bad.mp4, uncalibrated) per-frame agreement with its labels, every
frame and at the default sampling; nothing checks it against a threshold.

Run: python bench/speed.py [--clip PATH] [--rounds N]
Default clip: ../shared/footage/side_video/office_chair_postures.mp4 ("the 38 s clip": 38 s,
218x386, 30 fps, side view; development footage, see ../shared/footage/SOURCES.md).

Run: python bench/speed.py --demo [--python PY] [--rounds N]
Times, alternating, each as its own process: ``posture analyze`` on the demo clip (the package's
own ``posture/data/demo/demo_desk.mp4``, 64 s; no footage needed) without and with its report, with
the demo's settings, and ``posture demo``, which also writes the annotated video. ``--python`` runs
them with another environment's interpreter: a plain install (``pip install .``, no extras) writes
VP8 WebM through OpenCV, the ``h264`` extra H.264 MP4, and the table says which was used. The load
average before and after is printed: on a shared machine, other work slows every figure.
"""

from __future__ import annotations

import argparse
import json
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
DEFAULT_CLIP = FOOTAGE / "side_video" / "office_chair_postures.mp4"
DEMO_CLIP = ROOT / "posture" / "data" / "demo" / "demo_desk.mp4"


def plain_loop(clip: str) -> int:
    """The tutorial's loop, in this process: every frame through mediapipe Pose."""
    import cv2
    import mediapipe as mp

    from posture.pose.estimator import bundled_model

    vision = mp.tasks.vision
    options = vision.PoseLandmarkerOptions(
        base_options=mp.tasks.BaseOptions(model_asset_path=str(bundled_model())),
        running_mode=vision.RunningMode.VIDEO,
    )
    cap = cv2.VideoCapture(clip)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    n = 0
    with vision.PoseLandmarker.create_from_options(options) as pose:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            pose.detect_for_video(image, round(n * 1000 / fps))
            n += 1
    cap.release()
    return n


def _timed(cmd: list[str], cpu: list[float] | None = None) -> float:
    """Wall seconds of ``cmd`` as its own process; its CPU seconds (user + system, its children
    included) are appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # Outside the checkout, so `python -m posture` runs the environment's install, not this folder.
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir())
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    if cpu is not None:
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed


def demo_speed(py: str, rounds: int) -> dict[str, object]:
    """``posture demo`` beside ``posture analyze`` on the demo clip, with the demo's settings."""
    settings = ["--calibrate-first", "6", "--hold", "5", "--no-history", "--quiet"]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        analyze = [py, "-m", "posture", "analyze", str(DEMO_CLIP), *settings]
        variants = {
            "posture analyze --no-report": [*analyze, "--no-report", "--out", f"{tmp}/analyze"],
            "posture analyze (with its report)": [*analyze, "--out", f"{tmp}/report"],
            "posture demo (report and annotated video)": [
                py,
                "-m",
                "posture",
                "demo",
                "--out",
                f"{tmp}/demo",
                "--quiet",
            ],
        }
        wall: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, cmd in variants.items():  # alternating, so machine load affects all alike
                wall[name].append(_timed(cmd, cpu[name]))
        video = next(Path(f"{tmp}/demo").glob("annotated.*"))
        summary = json.loads(Path(f"{tmp}/demo/summary.json").read_text())
    return {
        "python": py,
        "clip_s": summary["video"]["stated_duration_s"],
        "rounds": rounds,
        "median_wall_s": {k: round(statistics.median(v), 2) for k, v in wall.items()},
        "range_wall_s": {k: [round(min(v), 2), round(max(v), 2)] for k, v in wall.items()},
        "median_cpu_s": {k: round(statistics.median(v), 2) for k, v in cpu.items()},
        "annotated_video": video.name,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def print_demo(result: dict[str, object]) -> None:
    encoder = (
        "VP8 WebM (OpenCV, a plain install)"
        if str(result["annotated_video"]).endswith(".webm")
        else "H.264 MP4 (the h264 extra)"
    )
    print(
        f"# demo speed ({time.strftime('%Y-%m-%d')}, python bench/speed.py --demo, {result['rounds']} rounds, "
        f"median wall time)\n"
    )
    print(
        f"clip: posture/data/demo/demo_desk.mp4, {result['clip_s']:.1f} s of video; annotated video: {encoder}\n"
    )
    print("| run (demo clip, demo settings) | wall time: median (min-max) | CPU time |")
    print("|---|---|---|")
    for name, t in result["median_wall_s"].items():  # type: ignore[attr-defined]
        lo, hi = result["range_wall_s"][name]  # type: ignore[index]
        print(f"| {name} | {t:.1f} s ({lo:.1f}-{hi:.1f}) | {result['median_cpu_s'][name]:.1f} s |")  # type: ignore[index]
    before, after = result["load_average_before"], result["load_average_after"]
    print(
        f"\nload average (1, 5, 15 min) before: {', '.join(map(str, before))}; "  # type: ignore[arg-type]
        f"after: {', '.join(map(str, after))} on {os.cpu_count()} cores"  # type: ignore[arg-type]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--demo", action="store_true", help="posture demo beside posture analyze on the demo clip"
    )
    ap.add_argument("--python", default=sys.executable, help="the interpreter whose posture --demo runs")
    ap.add_argument("--plain-loop", metavar="CLIP", help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.plain_loop:
        print(plain_loop(args.plain_loop))
        return 0
    if args.demo:
        demo = demo_speed(args.python, args.rounds)
        if args.json:
            print(json.dumps(demo, indent=2))
        else:
            print_demo(demo)
        return 0
    args.clip = args.clip.resolve()  # the runs below start in the temporary folder
    if not args.clip.is_file():
        print(f"clip not found: {args.clip}", file=sys.stderr)
        return 2
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        posture = [py, "-m", "posture", "analyze", str(args.clip), "--no-report", "--no-history", "--quiet"]
        variants = {
            "plain every-frame loop": [py, str(Path(__file__).resolve()), "--plain-loop", str(args.clip)],
            "posture analyze (default)": [*posture, "--out", f"{tmp}/default"],
            "posture analyze --every-frame": [*posture, "--every-frame", "--out", f"{tmp}/every"],
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, cmd in variants.items():  # alternating, so machine load affects all alike
                times[name].append(_timed(cmd))
        default_summary = json.loads(Path(f"{tmp}/default/summary.json").read_text())
        every_summary = json.loads(Path(f"{tmp}/every/summary.json").read_text())

    sys.path.insert(0, str(ROOT))
    from bench.accuracy import chair_clip
    from posture.config import Config

    acc = chair_clip(FOOTAGE, Config())
    med = {name: statistics.median(ts) for name, ts in times.items()}
    plain = med["plain every-frame loop"]
    result = {
        "clip": str(args.clip),
        "clip_s": default_summary["video"]["stated_duration_s"],
        "rounds": args.rounds,
        "median_s": {k: round(v, 2) for k, v in med.items()},
        "speedup_default": round(plain / med["posture analyze (default)"], 2),
        "speedup_every_frame": round(plain / med["posture analyze --every-frame"], 2),
        "frames_default": default_summary["frames_analysed"],
        "frames_every": every_summary["frames_analysed"],
        "workers": default_summary["workers"],
        "chair_every_frame_agreement": round(acc["every_frame_rate"], 4),
        "chair_default_agreement": round(acc["sampled_rate"], 4),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"# speed ({time.strftime('%Y-%m-%d')}, python bench/speed.py, {args.rounds} rounds, median wall time)\n"
    )
    print(f"clip: {args.clip.name}, {result['clip_s']:.1f} s of video\n")
    print("| run | frames analysed | wall time | vs plain loop | x real time |")
    print("|---|---|---|---|---|")
    frames = {
        "posture analyze (default)": result["frames_default"],
        "posture analyze --every-frame": result["frames_every"],
    }
    for name, t in med.items():
        ratio = plain / t
        print(
            f"| {name} | {frames.get(name, 'all')} | {t:.1f} s | {ratio:.2f}x | {result['clip_s'] / t:.1f}x |"
        )
    print(
        f"\naccuracy in the same run (chair_good_bad.mp4, uncalibrated): every frame {acc['every_frame_rate']:.1%}, "
        f"default 5 fps + refinement {acc['sampled_rate']:.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
