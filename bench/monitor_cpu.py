"""CPU and memory of the live monitor, with a real side-view clip played at real speed as the camera.

The stand-in camera is built from ../shared/footage/side_video/chair_good_bad.mp4 (630x360, real
side-view footage): its upright frames (2.1-4.9 s) and its slouched frames (5.0-6.5 s), each played
forward and back to fill 20 s stretches, good-bad-good-bad, written as Motion-JPEG like most
webcams deliver (every frame decodable on its own). The file is made in a temporary folder and never
kept. Then ``posture monitor --source CLIP --duration 75`` runs as its own process and this script
reads, from /proc:
- the steady-state CPU share of one core: process CPU time over the 60 s window after start-up
  (from 10 s to 70 s);
- the peak resident memory (VmHWM);
and, from the monitor's log, when each sustained-poor-posture alert came, against the start of
each slouched stretch plus the holding time.

Run: python bench/monitor_cpu.py [--hold 5] [--json]   (Linux: reads /proc)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOOTAGE = ROOT.parent / "shared" / "footage"
CLIP = FOOTAGE / "side_video" / "chair_good_bad.mp4"
STRETCH_S = 20.0
PLAN = ("good", "bad", "good", "bad")  # 80 s: slouches start at 20 s and 60 s
WINDOW = (10.0, 70.0)


def build_clip(
    out: Path, stretch_s: float = STRETCH_S, plan: tuple[str, ...] = PLAN, clip: Path = CLIP
) -> tuple[float, float]:
    """The good/bad stand-in clip, ``stretch_s`` seconds per stretch of ``plan``; returns (fps,
    total seconds). The tray's desktop test uses it too."""
    import cv2

    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    good, bad = [], []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if 2.2 <= t <= 4.8:
            good.append(frame)
        elif 5.1 <= t <= 6.5:
            bad.append(frame)
    cap.release()
    h, w = good[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    n = round(stretch_s * fps)
    for kind in plan:
        frames = good if kind == "good" else bad
        cycle = frames + frames[::-1]  # forward and back: no jump at the seam
        for i in range(n):
            writer.write(cycle[i % len(cycle)])
    writer.release()
    return fps, stretch_s * len(plan)


def transcode_h264(clip: Path) -> Path:
    """The stand-in as H.264 in MP4 (libx264 defaults: B-frames, a keyframe every 250 frames)."""
    import imageio_ffmpeg

    out = clip.with_suffix(".mp4")
    subprocess.run(
        [
            *(imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(clip)),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)),
        ],
        check=True,
    )
    clip.unlink()
    return out


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hold", type=float, default=5.0, help="holding time for the alert check (s)")
    ap.add_argument("--duration", type=float, default=75.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--codec",
        choices=("mjpeg", "h264"),
        default="mjpeg",
        help="the stand-in's codec: Motion-JPEG as webcams deliver, or H.264 (x264 defaults) as recorded clips are",
    )
    args = ap.parse_args(argv)
    if not CLIP.is_file():
        print(f"footage not found: {CLIP}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "standin.avi"
        build_clip(clip)
        if args.codec == "h264":
            clip = transcode_h264(clip)
        cfg = Path(tmp) / "bench.toml"
        cfg.write_text(f"[detector]\nhold_s = {args.hold}\n[policy]\ncooldown_s = 0.0\nmax_per_hour = 1000\n")
        env = {**os.environ, "POSTURE_DATA_DIR": tmp, "POSTURE_RUNTIME_DIR": tmp}
        cmd = [
            sys.executable,
            "-m",
            "posture",
            "-v",
            "monitor",
            "--source",
            str(clip),
            "--duration",
            str(args.duration),
            "--alerts",
            "console",
            "--no-context",
            "--config",
            str(cfg),
        ]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        marks: dict[float, float] = {}
        rss = 0.0
        while proc.poll() is None:
            elapsed = time.monotonic() - t0
            for mark in WINDOW:
                if mark not in marks and elapsed >= mark:
                    marks[mark] = _cpu_s(proc.pid)
            try:
                rss = max(rss, _peak_rss_mb(proc.pid))
            except FileNotFoundError:
                break
            time.sleep(0.2)
        out, err = proc.communicate()
    if proc.returncode != 0 or len(marks) < 2:
        print(f"monitor failed ({proc.returncode}): {err.strip()[-800:]}", file=sys.stderr)
        return 1
    cpu = (marks[WINDOW[1]] - marks[WINDOW[0]]) / (WINDOW[1] - WINDOW[0])
    alerts = [float(m) for m in re.findall(r"sustained poor posture at ([0-9.]+) s", err)]
    slouch_starts = [i * STRETCH_S for i, kind in enumerate(PLAN) if kind == "bad"]
    delays = []
    for start in slouch_starts:
        after = [a for a in alerts if start <= a < start + STRETCH_S]
        delays.append(round(after[0] - start, 2) if after else None)
    samples = re.search(r"(\d+) samples, the pose model ran on (\d+)", out)
    result = {
        "cpu_share_of_one_core": round(cpu, 4),
        "peak_rss_mb": round(rss, 1),
        "hold_s": args.hold,
        "alert_delays_s": delays,
        "alerts_within_hold_plus_1s": all(d is not None and d <= args.hold + 1.0 for d in delays),
        "alerts_outside_slouches": [
            a for a in alerts if not any(s <= a < s + STRETCH_S for s in slouch_starts)
        ],
        "samples": int(samples.group(1)) if samples else None,
        "pose_model_runs": int(samples.group(2)) if samples else None,
        "duration_s": args.duration,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"# monitor CPU ({time.strftime('%Y-%m-%d')}, python bench/monitor_cpu.py)\n")
    print("| measure | target | measured |")
    print("|---|---|---|")
    print(f"| steady-state CPU, share of one core ({WINDOW[0]:.0f}-{WINDOW[1]:.0f} s) | ≤ 3 % | {cpu:.2%} |")
    print(f"| peak resident memory | ≤ 300 MB | {rss:.0f} MB |")
    print(f"| alert delay after each slouch starts (hold {args.hold:g} s) | ≤ hold + 1 s | {delays} s |")
    print(f"| alerts during upright stretches | none | {result['alerts_outside_slouches'] or 'none'} |")
    print(
        f"| samples / pose-model runs in {args.duration:.0f} s | | {result['samples']} / {result['pose_model_runs']} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
