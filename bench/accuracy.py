"""Accuracy of the good/poor verdict on every labelled source in ../shared/footage.

Prints, per source and per person, how many labelled frames, the balanced accuracy of
``posture`` with its shipped limits, of the LearnOpenCV tutorial's rule on the very same
landmarks, and the *held-out* figure: each person left out in turn, the limits fitted on everyone
else by ``bench/fit_rules.py``. The held-out figure, and the worst person's, predict a new user's
experience. Side sources are judged uncalibrated; front sources against each person's first good
frame, and once more without it (where ``posture`` must say uncertain). Clips run through the whole
pipeline, as ``posture analyze --every-frame`` does (smoothing, the session's habit, the detector),
replayed over their cached landmarks. ``uncertain`` counts as wrong in every figure.

Then the checks of the session's state and of the measurement:

- a session that starts badly: the slumped start of ``desk_slump_upright.mp4`` spliced before its
  upright stretch; the upright frames must be judged good;
- ``posture analyze office_chair_postures.mp4 --hold 3``: each clear slouch raises its own episode
  and alert, and no alert falls inside an upright stretch (the real model, default sampling);
- camera roll (a photo rotated by ±10° changes the inclinations by 10° ± 2°) and robustness (every
  clip in motion/ and photo in scenes/ runs without an error).

Run: python bench/accuracy.py [--footage DIR] [--quick] [--json]
The footage is never copied into the project; see ../shared/footage/SOURCES.md. eval/ is never
read: it is for evaluating the finished tool, not for tuning it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dataset import DEFAULT_FOOTAGE, load_poses  # noqa: E402
from evaluation import agreement, learnopencv_is_good, load_frame_labels  # noqa: E402
from fit_rules import (  # noqa: E402
    Clip,
    Dataset,
    HeldOut,
    balanced_accuracy,
    clip_verdicts,
    leave_one_person_out,
    load_dataset,
    per_source,
    photo_verdicts,
)

from posture.config import Config  # noqa: E402
from posture.pipeline import Pipeline  # noqa: E402
from posture.pose.estimator import estimate_still, open_estimator  # noqa: E402
from posture.sources.media import Frame, load_image  # noqa: E402

# Persons with fewer labelled frames than this (a single stock photo) are pooled by source in the
# per-person table: one photo is right or wrong, which says little about a person.
MIN_PERSON_FRAMES = 8


def _tutorial(pose: Any) -> str:
    good = learnopencv_is_good(pose)
    return "away" if good is None else ("good" if good else "poor")


def _order(source: str) -> tuple[bool, str]:
    return (source.startswith(("front", "supose")), source)


def source_rows(data: Dataset, config: Config, held: Sequence[HeldOut]) -> list[dict[str, Any]]:
    """One row per labelled source: n, posture, the LearnOpenCV rule, held out."""
    photos = [it for it in data.items if it.sample.t_s is None]
    poses = load_poses([it.sample.path for it in photos])
    held_by_source = per_source(held)
    rows = []
    for src in sorted({it.sample.source for it in data.items}, key=_order):
        sel = [it for it in data.items if it.sample.source == src]
        labels = [it.sample.label for it in sel]
        if src in data.clips:
            clip = data.clips[src]
            at = clip_verdicts(clip, config)
            ours = [at.get(it.sample.t_s, "away") for it in sel]
            by_t = dict(zip(clip.times, clip.poses, strict=True))
            tutorial = [_tutorial(by_t[it.sample.t_s]) for it in sel]
        else:
            ours = photo_verdicts(sel, config.metrics.rules)
            tutorial = [_tutorial(poses[it.sample.path]) for it in sel]
        row = {
            "source": src,
            "view": sel[0].sample.view,
            "n": len(sel),
            "posture": balanced_accuracy(labels, ours),
            "learnopencv": balanced_accuracy(labels, tutorial),
            "held_out": held_by_source.get(src),
            "uncertain": sum(v == "uncertain" for v in ours),
        }
        if sel[0].baseline is not None:
            from posture.metrics import assess

            bare = [assess(it.raw, config.metrics, None).posture.value for it in sel]
            row["uncalibrated_uncertain"] = sum(v == "uncertain" for v in bare) / len(bare)
            row["uncalibrated_wrong_way"] = sum(
                (v == "good" and lab == "poor") or (v == "poor" and lab == "good")
                for v, lab in zip(bare, labels, strict=True)
            ) / len(bare)
        rows.append(row)
    return rows


def person_rows(data: Dataset, held: Sequence[HeldOut]) -> list[dict[str, Any]]:
    """One row per person held out (persons with too few frames pooled by source), worst first."""
    photos = [it for it in data.items if it.sample.t_s is None]
    poses = load_poses([it.sample.path for it in photos])
    tutorial_by_item = {}
    for it in data.items:
        if it.sample.t_s is None:
            tutorial_by_item[id(it)] = _tutorial(poses[it.sample.path])
    for src, clip in data.clips.items():
        by_t = dict(zip(clip.times, clip.poses, strict=True))
        for it in data.items:
            if it.sample.source == src:
                tutorial_by_item[id(it)] = _tutorial(by_t[it.sample.t_s])
    groups: dict[str, list[HeldOut]] = {}
    for h in held:
        key = (
            h.person if h.n >= MIN_PERSON_FRAMES else f"{', '.join(h.sources)} (single photos of {{}} people)"
        )
        groups.setdefault(key, []).append(h)
    rows = []
    for key, hs in groups.items():
        persons = {h.person for h in hs}
        labels = [lab for h in hs for lab in h.labels]
        verdicts = [v for h in hs for v in h.verdicts]
        items = [it for it in data.items if it.person in persons]
        tutorial = [tutorial_by_item[id(it)] for it in items]
        rows.append(
            {
                "person": key.format(len(persons)),
                "view": hs[0].view,
                "n": len(labels),
                "held_out": balanced_accuracy(labels, verdicts),
                "learnopencv": balanced_accuracy([it.sample.label for it in items], tutorial),
                "pooled": len(persons) > 1,
            }
        )
    return sorted(rows, key=lambda r: r["held_out"])


def spliced_start(data: Dataset, config: Config) -> dict[str, Any]:
    """A session that starts badly: the slumped start of desk_slump_upright.mp4 (0-8.5 s) spliced
    before its upright stretch (23-45.5 s), replayed as one clip: how much of the upright stretch
    is judged good, and of the slump poor."""
    clip = data.clips.get("side_video/desk_slump_upright")
    if clip is None:
        return {}
    slump = [(t, p) for t, p in zip(clip.times, clip.poses, strict=True) if 0.0 <= t < 8.5]
    upright = [(t, p) for t, p in zip(clip.times, clip.poses, strict=True) if 23.0 <= t < 45.5]
    step = clip.times[1] - clip.times[0]
    frames = slump + upright
    times = tuple(i * step for i in range(len(frames)))
    spliced = Clip(clip.labels, times, tuple(p for _, p in frames))
    at = clip_verdicts(spliced, config)
    verdicts = [at[t] for t in times]
    n = len(slump)
    return {
        "slump_s": round(n * step, 1),
        "upright_s": round(len(upright) * step, 1),
        "slump_poor": sum(v == "poor" for v in verdicts[:n]) / n,
        "upright_good": sum(v == "good" for v in verdicts[n:]) / len(upright),
    }


def chair_clip(footage: Path, config: Config) -> dict[str, Any]:
    """Frame agreement on chair_good_bad.mp4 through the real model: every frame, and at the
    default 5 frames per second (each labelled frame by the latest reading)."""
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


# office_chair_postures.mp4: its clear slouches and upright stretches (from its label file).
OFFICE_SLOUCHES = ((4.5, 11.5), (12.5, 22.5))
OFFICE_UPRIGHT = ((0.0, 4.5), (22.5, 28.5))


def office_episodes(footage: Path, config: Config, hold_s: float = 3.0) -> dict[str, Any]:
    """``posture analyze office_chair_postures.mp4 --hold 3`` (the real model, default sampling):
    the episodes, whether each clear slouch starts one within 3 s and alerts within hold + 2.5 s,
    and whether any alert falls inside an upright stretch."""
    clip = footage / "side_video" / "office_chair_postures.mp4"
    if not clip.is_file():
        return {}
    result = Pipeline(config.replace("detector", hold_s=hold_s)).analyze_video(clip)
    episodes = [(e.start_s, e.end_s, e.alert_s) for e in result.episodes]
    slouches = []
    for a, b in OFFICE_SLOUCHES:
        own = [e for e in episodes if a - 0.5 <= e[0] <= a + 3.0]
        alert = min((e[2] for e in own if e[2] is not None), default=None)
        slouches.append(
            {
                "stretch": [a, b],
                "episode_start": None if not own else round(own[0][0], 2),
                "alert": None if alert is None else round(alert, 2),
                "ok": bool(own) and alert is not None and alert - a <= hold_s + 2.5,
            }
        )
    upright_alerts = [
        round(e[2], 2) for e in episodes if e[2] is not None and any(a <= e[2] < b for a, b in OFFICE_UPRIGHT)
    ]
    return {
        "episodes": [[round(s, 2), round(e, 2), None if a is None else round(a, 2)] for s, e, a in episodes],
        "slouches": slouches,
        "upright_alerts": upright_alerts,
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


def measure_all(footage: Path, config: Config, *, quick: bool = False) -> dict[str, Any]:
    data = load_dataset(footage)
    held = leave_one_person_out(data, config=config)
    results: dict[str, Any] = {
        "sources": source_rows(data, config, held),
        "persons": person_rows(data, held),
        "spliced_start": spliced_start(data, config),
    }
    if not quick:
        results["chair_clip"] = chair_clip(footage, config)
        results["office_hold_3"] = office_episodes(footage, config)
        results["camera_roll"] = camera_roll(footage, config)
        results["robustness"] = robustness(footage, config)
    return results


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def print_results(results: dict[str, Any]) -> None:
    print(f"# accuracy ({time.strftime('%Y-%m-%d')}, python bench/accuracy.py)\n")
    print("Balanced accuracy (uncertain counts as wrong); side sources uncalibrated, front sources")
    print("against each person's first good frame; held out: each person left out of the fit.\n")
    print("| source | view | n | posture | LearnOpenCV rule, same landmarks | held out |")
    print("|---|---|---|---|---|---|")
    for r in results["sources"]:
        print(
            f"| {r['source']} | {r['view']} | {r['n']} | {_f(r['posture'])} | {_f(r['learnopencv'])} | {_f(r['held_out'])} |"
        )
    print("\n| person (held out) | view | n | held out | LearnOpenCV rule |")
    print("|---|---|---|---|---|")
    for r in results["persons"]:
        print(f"| {r['person']} | {r['view']} | {r['n']} | {_f(r['held_out'])} | {_f(r['learnopencv'])} |")
    single = [r for r in results["persons"] if not r["pooled"]]
    if single:
        worst = single[0]
        print(
            f"\nWorst person held out: {worst['person']}, {worst['held_out']:.2f} (LearnOpenCV {worst['learnopencv']:.2f})."
        )
    fronts = [r for r in results["sources"] if "uncalibrated_uncertain" in r]
    if fronts:
        share = np.mean([r["uncalibrated_uncertain"] for r in fronts])
        wrong = max(r["uncalibrated_wrong_way"] for r in fronts)
        print(
            f"Front sources without their baseline: {share:.0%} of frames uncertain; judged the wrong way: "
            f"at most {wrong:.0%} of a source."
        )
    sp = results["spliced_start"]
    if sp:
        print(
            f"Session that starts slumped ({sp['slump_s']} s slumped, then {sp['upright_s']} s upright): "
            f"upright judged good on {sp['upright_good']:.1%} of its frames, the slump poor on {sp['slump_poor']:.1%}."
        )
    cc = results.get("chair_clip")
    if cc:
        print(
            f"chair_good_bad.mp4, uncalibrated: frame agreement {cc['every_frame_rate']:.1%} of "
            f"{cc['every_frame_n']} labelled frames (every frame), {cc['sampled_rate']:.1%} at the default "
            "5 fps (each labelled frame by the latest reading)."
        )
    office = results.get("office_hold_3")
    if office:
        for s in office["slouches"]:
            a, b = s["stretch"]
            print(
                f"office_chair_postures --hold 3, slouch {a:g}-{b:g} s: episode from {s['episode_start']} s, "
                f"alert at {s['alert']} s ({'ok' if s['ok'] else 'MISSED'})"
            )
        print(
            f"  alerts inside upright stretches: {office['upright_alerts'] or 'none'}; episodes {office['episodes']}"
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footage", type=Path, default=DEFAULT_FOOTAGE)
    ap.add_argument("--quick", action="store_true", help="only the tables and the spliced session")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.footage.is_dir():
        print(f"footage not found at {args.footage}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    results = measure_all(args.footage, Config(), quick=args.quick)
    results["seconds"] = round(time.monotonic() - t0, 1)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_results(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
