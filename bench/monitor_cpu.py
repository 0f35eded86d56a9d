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

With ``--tray``: the same run alternately alone, with ``posture tray --no-start`` attached to the
monitor (on an Xvfb display with a system tray when Xvfb and trayer are installed), and asked for
its status 50 times a second (50 times the tray's rate, so that the cost of the tray's polling
stands out of the noise of a shared machine), ``--rounds`` times each; the monitor's CPU must not
move by more than 0.3 points with the tray.

Run: python bench/monitor_cpu.py [--hold 5] [--json] [--tray [--rounds 2]]   (Linux: reads /proc)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FOOTAGE = ROOT.parent / "shared" / "footage"
CLIP = FOOTAGE / "side_video" / "chair_good_bad.mp4"
STRETCH_S = 20.0
PLAN = ("good", "bad", "good", "bad")  # 80 s: slouches start at 20 s and 60 s
WINDOW = (10.0, 70.0)
POLL_HZ = 50.0  # --tray: also a run with this many status requests a second, to measure one's cost


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


def _poll_status(sock: Path, hz: float, stop: threading.Event) -> None:
    """Ask the monitor for its status ``hz`` times a second, as a tray would once a second."""
    from posture.live.control import Command, ControlError, Request, send_command

    while not stop.wait(1.0 / hz):
        with contextlib.suppress(ControlError):
            send_command(Request(Command.STATUS), path=sock)


def _run_monitor(
    clip: Path,
    cfg: Path,
    tmp: str,
    duration: float,
    tray_env: dict[str, str] | None = None,
    poll_hz: float = 0.0,
) -> tuple[int, str, str, dict[float, float], float, dict[float, float]]:
    """One ``posture monitor`` run; with ``tray_env``, ``posture tray --no-start`` attached to it
    (polling it every second as the tray does); with ``poll_hz``, status requests from this process
    at that rate. Returns the exit code, stdout, stderr, the monitor's CPU seconds at the window's
    marks, its peak RSS and the tray's CPU seconds at the marks."""
    env = {**os.environ, "POSTURE_DATA_DIR": tmp, "POSTURE_RUNTIME_DIR": tmp}
    cmd = [sys.executable, "-m", "posture", "-v", "monitor", "--source", str(clip)]
    cmd += ["--duration", str(duration), "--alerts", "console", "--no-context", "--config", str(cfg)]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    tray = None
    if tray_env is not None:
        tray = subprocess.Popen(
            [sys.executable, "-m", "posture", "tray", "--no-start"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**env, **tray_env},
        )
    stop_polling = threading.Event()
    if poll_hz > 0:
        threading.Thread(
            target=_poll_status, args=(Path(tmp) / "control.sock", poll_hz, stop_polling), daemon=True
        ).start()
    marks: dict[float, float] = {}
    tray_marks: dict[float, float] = {}
    rss = 0.0
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - t0
            for mark in WINDOW:
                if mark not in marks and elapsed >= mark:
                    marks[mark] = _cpu_s(proc.pid)
                    if tray is not None and tray.poll() is None:
                        tray_marks[mark] = _cpu_s(tray.pid)
            try:
                rss = max(rss, _peak_rss_mb(proc.pid))
            except FileNotFoundError:
                break
            time.sleep(0.2)
        out, err = proc.communicate()
    finally:
        # On an error (or Ctrl-C) here, neither the monitor nor the tray may outlive the bench.
        stop_polling.set()
        for child in (proc, tray):
            if child is not None:
                _end(child)
    return proc.returncode, out, err, marks, rss, tray_marks


def _end(child: subprocess.Popen[Any]) -> None:
    """SIGTERM (the monitor saves its session), then SIGKILL if it is still there after 30 s."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


@contextlib.contextmanager
def _display() -> Iterator[dict[str, str]]:
    """An Xvfb display with a system tray (trayer) for the tray's icon, where both are installed;
    otherwise no display (the tray then runs without an icon, polling the monitor all the same)."""
    if not (shutil.which("Xvfb") and shutil.which("trayer")):
        yield {"DISPLAY": ""}
        return
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as fh:
        env = {"DISPLAY": f":{fh.readline().strip()}"}
    host = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "left", "--widthtype", "request", "--height", "32"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    try:
        yield env
    finally:
        for p in (host, xvfb):
            p.terminate()
            p.wait(10)


def _share(marks: dict[float, float]) -> float | None:
    if len(marks) < 2:
        return None
    return (marks[WINDOW[1]] - marks[WINDOW[0]]) / (WINDOW[1] - WINDOW[0])


def _loadavg() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def compare_with_tray(args: argparse.Namespace, clip: Path, cfg: Path, tmp: str) -> int:
    """The monitor alone and with the tray attached, alternately, ``--rounds`` times each."""
    alone: list[float] = []
    with_tray: list[float] = []
    polled: list[float] = []
    tray_cpu: list[float] = []
    loads: list[str] = []
    with _display() as display:
        for _ in range(args.rounds):
            for kind in ("alone", "tray", "polled"):
                loads.append(_loadavg())
                code, _out, err, marks, _rss, tray_marks = _run_monitor(
                    clip,
                    cfg,
                    tmp,
                    args.duration,
                    display if kind == "tray" else None,
                    POLL_HZ if kind == "polled" else 0.0,
                )
                share = _share(marks)
                if code != 0 or share is None:
                    print(f"monitor failed ({code}): {err.strip()[-800:]}", file=sys.stderr)
                    return 1
                {"alone": alone, "tray": with_tray, "polled": polled}[kind].append(share)
                if kind == "tray" and _share(tray_marks) is not None:
                    tray_cpu.append(_share(tray_marks))
    loads.append(_loadavg())
    median = statistics.median
    diff = median(with_tray) - median(alone)
    per_request = (median(polled) - median(alone)) / POLL_HZ  # share of a core per status a second
    result = {
        "monitor_alone": [round(x, 4) for x in alone],
        "monitor_with_tray": [round(x, 4) for x in with_tray],
        "difference_points": round(100 * diff, 2),
        "tray_process": [round(x, 4) for x in tray_cpu],
        f"monitor_polled_{POLL_HZ:g}_hz": [round(x, 4) for x in polled],
        "cost_of_one_status_a_second_points": round(100 * per_request, 4),
        "icon": "Xvfb + trayer"
        if display.get("DISPLAY")
        else "none (no Xvfb/trayer: the tray polls without an icon)",
        "load_average_1_5_15": loads,
        "within_0_3_points": abs(diff) <= 0.003,
        "at_most_3_percent": median(with_tray) <= 0.03,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"# monitor CPU with the tray attached ({time.strftime('%Y-%m-%d')}, python bench/monitor_cpu.py --tray --rounds {args.rounds})\n"
    )
    print("| run | monitor CPU, share of one core (10-70 s) |")
    print("|---|---|")
    print(f"| monitor alone | {', '.join(f'{x:.2%}' for x in alone)} (median {median(alone):.2%}) |")
    print(
        f"| monitor with the tray attached | {', '.join(f'{x:.2%}' for x in with_tray)} (median {median(with_tray):.2%}) |"
    )
    print(f"| difference of the medians | {100 * diff:+.2f} points (target within ±0.3) |")
    print(
        f"| monitor asked its status {POLL_HZ:g} times a second | {', '.join(f'{x:.2%}' for x in polled)} "
        f"(median {median(polled):.2%}) |"
    )
    print(
        f"| what one status a second (the tray's rate) costs the monitor, from that | "
        f"{100 * per_request:+.3f} points |"
    )
    if tray_cpu:
        print(f"| the tray's own process | {', '.join(f'{x:.2%}' for x in tray_cpu)} |")
    print(
        f"\nicon: {result['icon']}; load average (1/5/15 min) before each run and after: {'; '.join(loads)}"
    )
    return 0


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
    ap.add_argument(
        "--tray",
        action="store_true",
        help="compare the monitor alone with the monitor with posture tray attached (alternating runs)",
    )
    ap.add_argument("--rounds", type=int, default=2, help="with --tray: runs of each kind (default 2)")
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
        if args.tray:
            return compare_with_tray(args, clip, cfg, tmp)
        code, out, err, marks, rss, _ = _run_monitor(clip, cfg, tmp, args.duration)
    if code != 0 or len(marks) < 2:
        print(f"monitor failed ({code}): {err.strip()[-800:]}", file=sys.stderr)
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
