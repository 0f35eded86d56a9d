"""Accuracy of the good/poor verdict on every labelled source in ../shared/footage.

Prints one row per source (each a different person, chair or camera): how many labelled
frames, the balanced accuracy of ``posture`` with its shipped thresholds, of the LearnOpenCV
tutorial's rule on the very same landmarks, and the leave-one-source-out figure (thresholds
fitted on all the other sources by ``bench/fit_rules.py``), which is the one that predicts a
new user's experience. Side sources are judged uncalibrated; front sources against each
person's first good frame, and once more without it (where ``posture`` must say uncertain).
``uncertain`` counts as wrong in every figure. Then two checks of the measurement itself:
camera roll (a photo rotated by ±10° changes the inclinations by 10° ± 2°) and robustness
(every clip in motion/ and photo in scenes/ runs without an error).

Run: python bench/accuracy.py [--footage DIR] [--quick] [--json]
The footage is never copied into the project; see ../shared/footage/SOURCES.md. eval/ is never
read: it is for evaluating the finished tool, not for tuning it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dataset import DEFAULT_FOOTAGE, load_clip_poses, load_poses  # noqa: E402
from fit_rules import balanced_accuracy, leave_one_source_out, load_items, rules_from  # noqa: E402

from posture.config import Config  # noqa: E402
from posture.evaluation import agreement, learnopencv_is_good, load_frame_labels  # noqa: E402
from posture.metrics import assess  # noqa: E402
from posture.pipeline import Pipeline  # noqa: E402
from posture.pose.estimator import estimate_still, open_estimator  # noqa: E402
from posture.sources.media import Frame, load_image  # noqa: E402

CLIP_SOURCE = "side_video/chair_clip"


def per_source(footage: Path, config: Config) -> list[dict[str, Any]]:
    """One row per labelled source: n, posture, the LearnOpenCV rule, leave-one-source-out."""
    items = load_items(footage)
    poses = load_poses([it.sample.path for it in items if it.sample.t_s is None])
    clip_poses = {}
    clip_items = [it for it in items if it.sample.source == CLIP_SOURCE]
    if clip_items:
        clip_poses = {round(t, 2): p for t, p in load_clip_poses(clip_items[0].sample.path)}
    held = {}
    for h in leave_one_source_out(items):
        held.setdefault(h.source, []).append(h)
    rows = []
    for src in sorted(
        {it.sample.source for it in items}, key=lambda s: (s.startswith(("front", "supose")), s)
    ):
        sel = [it for it in items if it.sample.source == src]
        labels = [it.sample.label for it in sel]
        if src == CLIP_SOURCE:
            ours = clip_verdicts(footage, config, sel)
            lo_poses = [clip_poses.get(round(it.sample.t_s or 0.0, 2)) for it in sel]
        else:
            ours = [assess(it.raw, config.metrics, it.baseline).posture.value for it in sel]
            lo_poses = [poses[it.sample.path] for it in sel]
        lo = ["good" if learnopencv_is_good(p) else "poor" if p is not None else "away" for p in lo_poses]
        hs = held.get(src, [])
        loso = float(np.average([h.balanced_accuracy for h in hs], weights=[h.n for h in hs])) if hs else None
        if src == CLIP_SOURCE and hs:
            # The clip held out through the whole pipeline, with the limits fitted without it.
            rules = rules_from(hs[0].limits)
            held_cfg = replace(config, metrics=replace(config.metrics, rules=rules))
            loso = balanced_accuracy(labels, clip_verdicts(footage, held_cfg, sel))
        row = {
            "source": src,
            "view": sel[0].sample.view,
            "n": len(sel),
            "posture": balanced_accuracy(labels, ours),
            "learnopencv": balanced_accuracy(labels, lo),
            "loso": loso,
            "uncertain": sum(v == "uncertain" for v in ours),
        }
        if sel[0].sample.baseline is not None:
            bare = [assess(it.raw, config.metrics, None).posture.value for it in sel]
            row["uncalibrated_uncertain"] = sum(v == "uncertain" for v in bare) / len(bare)
        rows.append(row)
    return rows


def clip_verdicts(footage: Path, config: Config, sel: list[Any]) -> list[str]:
    """The clip through the whole pipeline (tracking, smoothing, the habitual reference), every
    frame, uncalibrated: the verdict at each labelled frame."""
    clip = footage / "side_video" / "chair_good_bad.mp4"
    result = Pipeline(config.replace("analysis", sample_fps=None)).analyze_video(clip)
    by_t = {round(r.t_s, 2): r.posture.value for r in result.readings}
    return [by_t.get(round(it.sample.t_s or 0.0, 2), "away") for it in sel]


def chair_clip(footage: Path, config: Config) -> dict[str, Any]:
    """Frame agreement on the clip, every frame and at the default sampling."""
    clip = footage / "side_video" / "chair_good_bad.mp4"
    labels = load_frame_labels(footage / "side_video" / "chair_good_bad.labels.csv")
    every = agreement(
        Pipeline(config.replace("analysis", sample_fps=None)).analyze_video(clip).readings, labels
    )
    sampled = agreement(Pipeline(config).analyze_video(clip).readings, labels, hold=True)
    return {
        "every_frame_rate": every.rate,
        "every_frame_n": every.matched,
        "misses": [f"{t:.2f}s {lab}->{v}" for t, lab, v in every.disagreements],
        "sampled_rate": sampled.rate,
        "sampled_n": sampled.matched,
    }


def _rotate(image: np.ndarray, angle_deg: float) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(image, m, (nw, nh), borderValue=(255, 255, 255))


def camera_roll(footage: Path, config: Config) -> dict[str, Any]:
    """Change of the inclinations when the photo is rotated by ±10°: |Δ| should be 10° ± 2°."""
    names = (
        "straight_armsfolded.jpg",
        "hunchback_left.jpg",
        "hunchback_right.jpg",
        "bench_feet_dangling.jpg",
    )
    analyzer = Pipeline(config).analyzer(smoothing=False)
    deltas: list[float] = []
    rows = []
    with open_estimator(None, video=False) as est:
        for name in names:
            image = load_image(footage / "side_photos" / "fixtures" / name)
            base = analyzer.reading(0.0, analyzer.raw(estimate_still(est, Frame(image, 0, 0.0))))
            for angle in (-10.0, 10.0):
                rot = analyzer.reading(
                    0.0, analyzer.raw(estimate_still(est, Frame(_rotate(image, angle), 0, 0.0)))
                )
                for metric in ("trunk_inclination_deg", "neck_inclination_deg"):
                    a, b = base.metrics[metric], rot.metrics[metric]
                    if a is None or b is None:
                        continue
                    deltas.append(abs(b - a))
                    rows.append(f"{name} {angle:+.0f}° {metric}: {b - a:+.1f}°")
    arr = np.array(deltas)
    return {
        "n": len(deltas),
        "mean_abs_delta_deg": round(float(arr.mean()), 2) if len(arr) else None,
        "min": round(float(arr.min()), 2) if len(arr) else None,
        "max": round(float(arr.max()), 2) if len(arr) else None,
        "within_10_pm_2": bool(len(arr) and np.all(np.abs(arr - 10.0) <= 2.0)),
        "within_10_pm_2_5": bool(len(arr) and np.all(np.abs(arr - 10.0) <= 2.5)),
        "rows": rows,
    }


def robustness(footage: Path, config: Config) -> dict[str, Any]:
    """Every clip in motion/ and photo in scenes/ runs; reports frames with nobody as away."""
    clips = sorted(p for p in (footage / "motion").iterdir() if p.suffix in (".mp4", ".avi"))
    photos = sorted(p for p in (footage / "scenes").rglob("*") if p.is_file())
    errors: list[str] = []
    clip_rows = []
    for clip in clips:
        try:
            res = Pipeline(config).analyze_video(clip)
            away = sum(1 for r in res.readings if r.posture.value == "away")
            clip_rows.append(f"{clip.name}: {len(res.readings)} frames, {away} away")
        except Exception as exc:
            errors.append(f"{clip.name}: {type(exc).__name__}: {exc}")
    nobody = 0
    try:
        for res in Pipeline(config).measure_images(photos):
            nobody += int(not res.reading.person)
            if not res.reading.person and res.reading.posture.value != "away":
                errors.append(f"{res.source.name}: nobody found but verdict {res.reading.posture.value}")
    except Exception as exc:
        errors.append(f"scenes: {type(exc).__name__}: {exc}")
    return {
        "clips": len(clips),
        "photos": len(photos),
        "photos_nobody": nobody,
        "errors": errors,
        "clip_rows": clip_rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footage", type=Path, default=DEFAULT_FOOTAGE)
    ap.add_argument("--quick", action="store_true", help="only the per-source table")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.footage.is_dir():
        print(f"footage not found at {args.footage}", file=sys.stderr)
        return 2
    config = Config()
    t0 = time.monotonic()
    results: dict[str, Any] = {
        "sources": per_source(args.footage, config),
        "chair_clip": chair_clip(args.footage, config),
    }
    if not args.quick:
        results["camera_roll"] = camera_roll(args.footage, config)
        results["robustness"] = robustness(args.footage, config)
    results["seconds"] = round(time.monotonic() - t0, 1)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"# accuracy ({time.strftime('%Y-%m-%d')}, python bench/accuracy.py)\n")
    print("Balanced accuracy (uncertain counts as wrong); side sources uncalibrated, front sources")
    print("against each person's first good frame.\n")
    print("| source | view | n | posture | LearnOpenCV rule, same landmarks | leave-one-source-out |")
    print("|---|---|---|---|---|---|")
    for r in results["sources"]:
        loso = "-" if r["loso"] is None else f"{r['loso']:.2f}"
        print(
            f"| {r['source']} | {r['view']} | {r['n']} | {r['posture']:.2f} | {r['learnopencv']:.2f} | {loso} |"
        )
    fronts = [r for r in results["sources"] if "uncalibrated_uncertain" in r]
    if fronts:
        share = np.mean([r["uncalibrated_uncertain"] for r in fronts])
        print(
            f"\nFront sources without their baseline: {share:.0%} of frames uncertain (never a guessed 'good')."
        )
    cc = results["chair_clip"]
    print(
        f"\nchair_good_bad.mp4, uncalibrated: frame agreement {cc['every_frame_rate']:.1%} of "
        f"{cc['every_frame_n']} labelled frames (every frame), {cc['sampled_rate']:.1%} at the default "
        "5 fps (each labelled frame by the latest reading)."
    )
    if "camera_roll" in results:
        roll, rb = results["camera_roll"], results["robustness"]
        print(
            f"camera roll ±10°: change of trunk/neck inclination mean {roll['mean_abs_delta_deg']}°, range "
            f"{roll['min']}–{roll['max']}° (n={roll['n']}; target 10° ± 2°)"
        )
        print(
            f"robustness: {rb['clips']} motion/ clips, {rb['photos']} scenes/ photos, {len(rb['errors'])} errors; "
            f"{rb['photos_nobody']} photos with nobody → away"
        )
        for e in rb["errors"]:
            print("error:", e)
    print(f"\n({results['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
