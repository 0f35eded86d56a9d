#!/usr/bin/env python3
"""Build the demo clip that ``posture demo`` analyses, from real photos of one person at a desk.

What it makes
    ``posture/data/demo/demo_desk.mp4`` (package data, so the demo works from any install) and
    ``demo_desk.json`` beside it (the stretches below, read by tests and by ``--check``): a
    time-lapse of one person's session at a desk, seen from the side, made of real photos, each
    held for a few seconds, with a caption band under the picture naming the source and licence::

        upright -> hunched over the laptop -> upright -> head forward and down (laptop, phone) -> upright

    Each poor stretch lasts 14 s: longer than the demo's 5 s holding time (``posture demo`` runs
    with ``--hold 5`` and calibrates on the first 6 s), so the sustained rule fires on it; each
    upright stretch is long enough (>= 8 s) for the episode before it to end.

Source and licence (the only input)
    ``../shared/footage/side_photos/roboflow/`` setting A: photos by Roboflow user "ikornproject"
    (Roboflow Universe "sitting-posture", via PSVedant/smart-posture-corrector @ f581649), licensed
    CC BY 4.0. Only photos whose label in ``labels.csv`` is clear are used (checked on every run):
    upright photos labelled ``good``, the others ``poor``, all from the same setting (one person).
    Nothing else from ``../shared/footage`` is read, and nothing under ``eval/``.

Requirements
    numpy and OpenCV (runtime dependencies of posture) and an ffmpeg with libx264: the one inside
    ``imageio-ffmpeg`` (``pip install imageio-ffmpeg``), or ``--ffmpeg PATH``. H.264 in MP4 is what
    OpenCV's bundled FFmpeg decodes on every platform. ``--check`` also needs posture itself
    (``pip install -e .``) with its pose model.

How to run (from the repository root)
    python samples/make_demo_clip.py            # writes the clip and its timeline
    python samples/make_demo_clip.py --check    # then runs posture's analysis over it
    python samples/make_demo_clip.py --check-only

The check analyses the clip exactly as ``posture demo`` does (calibrated on the first 6 s, 5 s
hold) and also without calibration, and fails unless each poor stretch raises an alert inside it
and no alert falls inside an upright stretch.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FOOTAGE = ROOT.parent / "shared" / "footage" / "side_photos" / "roboflow"
OUT_DIR = ROOT / "posture" / "data" / "demo"
CLIP = OUT_DIR / "demo_desk.mp4"
TIMELINE = OUT_DIR / "demo_desk.json"

FPS = 10
SIZE_PX = 640  # the photos are 640x640 (the Roboflow export stretched them); kept as they are
BAND_PX = 48  # caption band under the picture (= posture.sources.demo.CREDIT_BAND_PX; a test checks)
SETTING = "A"  # one person: patterned shirt, white desk

# (posture, [(photo, seconds held), ...]): what the person does, in order.
STRETCHES: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (
    ("upright", (("rb_006.jpg", 6.0), ("rb_011.jpg", 4.0), ("rb_047.jpg", 4.0))),
    ("hunched", (("rb_017.jpg", 5.0), ("rb_046.jpg", 5.0), ("rb_065.jpg", 4.0))),
    ("upright", (("rb_047.jpg", 5.0), ("rb_006.jpg", 5.0), ("rb_011.jpg", 4.0))),
    ("head_down", (("rb_016.jpg", 5.0), ("rb_018.jpg", 5.0), ("rb_028.jpg", 4.0))),
    ("upright", (("rb_006.jpg", 4.0), ("rb_011.jpg", 4.0))),
)
EXPECTED_LABEL = {"upright": "good", "hunched": "poor", "head_down": "poor"}
CAPTION = (
    "Real photos (time-lapse): Roboflow user ikornproject, sitting-posture dataset",
    "CC BY 4.0  -  arranged by the posture project for its demo",
)
X264 = [
    "-c:v",
    "libx264",
    "-preset",
    "veryslow",
    "-tune",
    "stillimage",
    "-crf",
    "26",
    "-g",
    "50",
    "-pix_fmt",
    "yuv420p",
    "-threads",
    "1",
    "-movflags",
    "+faststart",
    "-map_metadata",
    "-1",
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
]


def check_sources(folder: Path) -> None:
    """Every photo used exists, is from the one setting and carries the label its stretch needs."""
    labels_csv = folder / "labels.csv"
    if not labels_csv.is_file():
        raise SystemExit(f"{labels_csv} not found: the footage must be at ../shared/footage beside the clone")
    with labels_csv.open(newline="") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    for posture, photos in STRETCHES:
        for name, _seconds in photos:
            row = rows.get(name)
            if row is None or row["setting"] != SETTING or row["label"] != EXPECTED_LABEL[posture]:
                raise SystemExit(f"{name} is not a {EXPECTED_LABEL[posture]} photo of setting {SETTING}")


def caption_band() -> np.ndarray:
    band = np.full((BAND_PX, SIZE_PX, 3), 32, np.uint8)
    for i, line in enumerate(CAPTION):
        cv2.putText(
            band, line, (10, 19 + 20 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA
        )
    return band


def frames(folder: Path):
    """Every frame of the clip, in order (BGR, SIZE_PX wide, SIZE_PX + BAND_PX high)."""
    band = caption_band()
    for _posture, photos in STRETCHES:
        for name, seconds in photos:
            photo = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
            if photo is None:
                raise SystemExit(f"cannot read {folder / name}")
            if photo.shape[:2] != (SIZE_PX, SIZE_PX):
                photo = cv2.resize(photo, (SIZE_PX, SIZE_PX), interpolation=cv2.INTER_AREA)
            frame = np.vstack([photo, band])
            for _ in range(round(seconds * FPS)):
                yield frame


def timeline() -> dict:
    stretches, t = [], 0.0
    for posture, photos in STRETCHES:
        length = sum(s for _n, s in photos)
        stretches.append(
            {"start_s": t, "end_s": t + length, "posture": posture, "photos": [n for n, _ in photos]}
        )
        t += length
    return {
        "clip": CLIP.name,
        "fps": FPS,
        "duration_s": t,
        "source": "side_photos/roboflow (setting A), Roboflow user ikornproject, CC BY 4.0",
        "stretches": stretches,
    }


def find_ffmpeg(given: str | None) -> str:
    if given:
        return given
    try:
        import imageio_ffmpeg
    except ImportError:
        raise SystemExit(
            "needs an ffmpeg with libx264: pip install imageio-ffmpeg, or pass --ffmpeg PATH"
        ) from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def write_clip(folder: Path, ffmpeg: str) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    tmp = CLIP.with_suffix(".part.mp4")
    size = f"{SIZE_PX}x{SIZE_PX + BAND_PX}"
    cmd = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", size, "-r", str(FPS)]
    cmd += ["-i", "-", *X264, str(tmp)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        for frame in frames(folder):
            proc.stdin.write(frame.tobytes())
    finally:
        proc.stdin.close()
    if proc.wait() != 0:
        tmp.unlink(missing_ok=True)
        raise SystemExit(f"ffmpeg failed (exit {proc.returncode})")
    shutil.move(str(tmp), CLIP)
    TIMELINE.write_text(json.dumps(timeline(), indent=2) + "\n", encoding="utf-8")
    cap = cv2.VideoCapture(str(CLIP))
    decoded = 0
    while cap.read()[0]:
        decoded += 1
    cap.release()
    expected = round(timeline()["duration_s"] * FPS)
    print(f"wrote {CLIP} ({CLIP.stat().st_size / 1e6:.2f} MB, {expected} frames; OpenCV decodes {decoded})")
    if decoded != expected:
        raise SystemExit("OpenCV does not decode every frame of the clip")


def check_clip() -> bool:
    """Analyse the clip as ``posture demo`` does (and uncalibrated) and hold it to the stretches."""
    from posture.config import load_config
    from posture.pipeline import Pipeline
    from posture.sources import demo

    stretches = demo.load_timeline()
    config = load_config(None).replace("detector", hold_s=demo.HOLD_S)
    ok = True
    for label, calibrate in (
        ("calibrated on the first 6 s (as posture demo)", demo.CALIBRATE_S),
        ("uncalibrated", None),
    ):
        with demo.clip_path() as path:
            result = Pipeline(config).analyze_video(path, calibrate_first_s=calibrate)
        alerts = [e.t_s for e in result.events if e.kind == "alert"]
        print(f"\n{label}: {len(alerts)} alert(s) at {', '.join(f'{t:.1f} s' for t in alerts) or '-'}")
        for ep in result.episodes:
            print(
                f"  episode {ep.start_s:5.1f}-{ep.end_s:5.1f} s, alert at {ep.alert_s:.1f} s: {', '.join(ep.findings)}"
            )
        for s in stretches:
            inside = [t for t in alerts if s.start_s <= t < s.end_s]
            good = (len(inside) == 1) if s.poor else not inside
            ok &= good
            print(
                f"  {s.start_s:4.0f}-{s.end_s:4.0f} s {s.posture:9s} alerts {len(inside)}  {'ok' if good else 'FAIL'}"
            )
        ok &= all(any(s.start_s <= t < s.end_s for s in stretches) for t in alerts)
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--footage", type=Path, default=FOOTAGE, help=f"the Roboflow photos (default {FOOTAGE})")
    ap.add_argument("--ffmpeg", help="an ffmpeg with libx264 (default: imageio-ffmpeg's)")
    ap.add_argument("--check", action="store_true", help="after writing, analyse the clip with posture")
    ap.add_argument("--check-only", action="store_true", help="analyse the existing clip only")
    args = ap.parse_args(argv)
    if not args.check_only:
        check_sources(args.footage)
        write_clip(args.footage, find_ffmpeg(args.ffmpeg))
    if args.check or args.check_only:
        if not check_clip():
            print("\nthe clip does not raise the alerts its stretches promise", file=sys.stderr)
            return 1
        print("\nok: one alert in each poor stretch, none while upright")
    return 0


if __name__ == "__main__":
    sys.exit(main())
