"""Fit the verdict's thresholds leave-one-source-out on every labelled development source.

Each source is a different person, chair or camera. For each one in turn the thresholds are
chosen on all the others (the grid point that maximises the mean balanced accuracy over the
training sources; among ties the one whose worst source does best; then the middle of the plateau) and scored on the one left out: that
held-out figure, not the in-sample one, is what predicts a new user's experience. Photos of the
same person in two folders (``side_photos/chair`` and the fixtures of the same man, ``desk`` and
the fixtures of the same woman) are held out together, so no person is ever on both sides.

What is fitted (everything else in ``FindingRules`` comes from the standards, see config.py):
- side view, no baseline: the limits of ``forward_head_deg`` (neck inclination),
  ``hunched_back_deg`` (trunk inclination) and ``slumped_recline_deg`` (trunk recline);
- front view, against the person's baseline photo: ``head_drop_pct`` and ``leaning_in_pct``.

The held-out scoring runs the package's own ``measure`` and ``assess``; only the grid search
mirrors the uncalibrated side rule in numpy for speed (``fit_side``), and its choice is scored
with ``assess``. Landmarks come from ``bench/dataset.py``'s cache. Run: ``python bench/fit_rules.py``; it
prints the held-out table and the thresholds fitted on everything, which are the defaults in
``posture/config.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset import DEFAULT_FOOTAGE, Sample, chair_clip_samples, load_clip_poses, load_poses, photo_samples

from posture.baseline import baseline_from_measurements
from posture.config import Band, FindingRules, MetricsConfig
from posture.metrics import OBLIQUE_JUDGE_MIN_YAW_DEG, RawMeasurement, _unforeshortened, assess, measure

# The same man (OpenPosture) in chair/ and fixtures/, the same woman in desk/ and fixtures/.
_MAN = {
    "straight_armsfolded.jpg",
    "hunchback_left.jpg",
    "hunchback_right.jpg",
    "kneeling_right.jpg",
    "reclined_right.jpg",
}
_WOMAN = {"desk_hunch.jpeg", "desk_lean_exif.jpeg"}


def person_group(sample: Sample) -> str:
    """The leave-out unit: a source, merged with any other folder that shows the same person."""
    name = sample.path.name
    if sample.source == "side_photos/chair" or (sample.source == "side_photos/fixtures" and name in _MAN):
        return "openposture man"
    if sample.source == "side_photos/desk" or (sample.source == "side_photos/fixtures" and name in _WOMAN):
        return "openposture woman"
    if sample.source.startswith("front_webcam/"):
        return "front_webcam man"  # one man, two sessions
    return sample.source


@dataclass(frozen=True)
class Item:
    sample: Sample
    group: str
    raw: RawMeasurement
    baseline: dict[str, float | None] | None


def load_items(footage: Path = DEFAULT_FOOTAGE, model: Path | None = None) -> list[Item]:
    """Every labelled photo and clip frame with its raw measurement (and baseline values)."""
    cfg = MetricsConfig()
    photos = photo_samples(footage)
    poses = load_poses([s.path for s in photos] + [s.baseline for s in photos if s.baseline], model)
    items = []
    for s in photos:
        base = None
        if s.baseline is not None:
            base = baseline_from_measurements([measure(poses[s.baseline], cfg)], str(s.baseline)).values
        items.append(Item(s, person_group(s), measure(poses[s.path], cfg), base))
    clip = chair_clip_samples(footage)
    if clip:
        by_t = {round(t, 2): p for t, p in load_clip_poses(clip[0].path, model)}
        for s in clip:
            t = round(s.t_s or 0.0, 2)
            if t in by_t:
                items.append(Item(s, person_group(s), measure(by_t[t], cfg), None))
    return items


def balanced_accuracy(labels: Sequence[str], verdicts: Sequence[str]) -> float:
    """Mean of the recall of poor and of good; ``uncertain`` and ``away`` count as wrong."""
    recalls = []
    for cls, want in (("poor", "poor"), ("good", "good")):
        got = [v == want for lab, v in zip(labels, verdicts, strict=False) if lab == cls]
        if got:
            recalls.append(sum(got) / len(got))
    return float(np.mean(recalls)) if recalls else float("nan")


def verdicts(items: Sequence[Item], rules: FindingRules) -> list[str]:
    cfg = MetricsConfig(rules=rules)
    return [assess(it.raw, cfg, it.baseline).posture.value for it in items]


# The grids: side limits in degrees, front limits in percent. Each spans what the definitions
# allow: a slump is a recline "well past a supported one, beyond about 25-30° from vertical",
# and the hip-joint-to-shoulder-joint line of an upright sitter already reads about 10° back,
# so the recline limit is looked for between 30° and 45° as measured.
SIDE_GRID = {
    "forward_head_deg": np.arange(14.0, 40.0, 1.0),
    "hunched_back_deg": np.arange(15.0, 50.0, 1.0),
    "slumped_recline_deg": np.arange(30.0, 46.0, 1.0),
}
FRONT_GRID = {
    "head_drop_pct": np.arange(4.0, 20.0, 0.5),
    "leaning_in_pct": np.arange(8.0, 40.0, 1.0),
}


def _side_features(items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neck and trunk angles as the absolute rules see them (an oblique view near a profile
    corrected for foreshortening, as ``assess`` does), and whether the pose can be judged."""
    neck, trunk, judged = [], [], []
    for it in items:
        v = it.raw.values
        yaw = v.get("shoulder_yaw_deg") or 0.0
        near = it.raw.view.value == "oblique" and yaw >= OBLIQUE_JUDGE_MIN_YAW_DEG
        scale = float(np.sin(np.radians(yaw))) if near else 1.0
        neck.append(_num(_unforeshortened(v.get("neck_inclination_deg"), scale)))
        trunk.append(_num(_unforeshortened(v.get("trunk_inclination_deg"), scale)))
        judged.append(it.raw.problem is None and (it.raw.view.value == "side" or near))
    return np.array(neck), np.array(trunk), np.array(judged)


def _num(x: float | None) -> float:
    return np.nan if x is None else float(x)


def fit_side(items: Sequence[Item]) -> tuple[dict[str, float], float]:
    """The side limits that maximise the mean balanced accuracy over the groups in ``items``.

    Vectorised over the grid; it mirrors ``assess`` for an uncalibrated side view (poor when
    any limit is reached; uncertain when the view or the landmarks do not allow a judgement),
    and the result is then checked with ``assess`` itself by the caller.
    """
    neck, trunk, judged = _side_features(items)
    pulled_rec = FindingRules().slumped_pulled_recline_deg.limit
    pulled_flex = FindingRules().slumped_pulled_flexion_deg.limit
    labels = np.array([it.sample.label == "poor" for it in items])
    groups = [it.group for it in items]
    a, b, c = (SIDE_GRID[k] for k in ("forward_head_deg", "hunched_back_deg", "slumped_recline_deg"))
    per_group = []
    names = sorted(set(groups))
    for g in names:
        m = np.array([x == g for x in groups])
        y = labels[m]
        n, t, j = neck[m], trunk[m], judged[m]
        with np.errstate(invalid="ignore"):
            head = n[None, :] >= a[:, None]
            fwd = t[None, :] >= b[:, None]
            back = -t[None, :] >= c[:, None]
            pulled = (-t >= pulled_rec) & (n - t >= pulled_flex)  # the fixed "classic slump" rule
        poor = head[:, None, None, :] | fwd[None, :, None, :] | back[None, None, :, :] | pulled
        poor &= j[None, None, None, :]
        good = ~poor & j[None, None, None, :] & ~np.isnan(n)[None, None, None, :]
        recalls = []
        if y.any():
            recalls.append(poor[..., y].mean(-1))
        if (~y).any():
            recalls.append(good[..., ~y].mean(-1))
        per_group.append(np.mean(recalls, axis=0))
    idx, best = _choose(np.array(per_group))
    return {
        "forward_head_deg": a[idx[0]],
        "hunched_back_deg": b[idx[1]],
        "slumped_recline_deg": c[idx[2]],
    }, best


def _choose(per_group: np.ndarray) -> tuple[np.ndarray, float]:
    """The grid point to take, from each group's score at every point (groups on axis 0).

    The best mean over the groups; among ties, the best worst group (a rule that must work for
    everyone); among remaining ties, the middle of the plateau.
    """
    mean = per_group.mean(axis=0)
    best = mean.max()
    tied = mean >= best - 1e-9
    worst = np.where(tied, per_group.min(axis=0), -1.0)
    chosen = np.argwhere(worst >= worst.max() - 1e-9)
    return np.median(chosen, axis=0).round().astype(int), float(best)


def fit_front(items: Sequence[Item], base: FindingRules) -> tuple[dict[str, float], float]:
    """The front limits, by a plain grid over ``assess`` (the front sets are small)."""
    names = sorted({it.group for it in items})
    drops, leans = FRONT_GRID["head_drop_pct"], FRONT_GRID["leaning_in_pct"]
    per_group = np.zeros((len(names), len(drops), len(leans)))
    for i, d in enumerate(drops):
        for k, lean in enumerate(leans):
            rules = dataclasses.replace(
                base, head_drop_pct=Band(d / 2, d), leaning_in_pct=Band(lean / 2, lean)
            )
            v = verdicts(items, rules)
            for gi, g in enumerate(names):
                sel = [n for n, it in enumerate(items) if it.group == g]
                per_group[gi, i, k] = balanced_accuracy(
                    [items[n].sample.label for n in sel], [v[n] for n in sel]
                )
    idx, best = _choose(per_group)
    d, lean = drops[idx[0]], leans[idx[1]]
    return {"head_drop_pct": float(d), "leaning_in_pct": float(lean)}, best


def rules_from(limits: dict[str, float], base: FindingRules | None = None) -> FindingRules:
    base = base or FindingRules()
    changes: dict[str, Band] = {}
    for name, limit in limits.items():
        width = 10.0 if name.endswith("_deg") else limit / 2
        changes[name] = Band(float(limit) - width, float(limit))
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class HeldOut:
    source: str
    n: int
    balanced_accuracy: float
    limits: dict[str, float]


def leave_one_source_out(items: Sequence[Item]) -> list[HeldOut]:
    """For each group: fit on the others and judge the held-out group; then one balanced
    accuracy per source over all its held-out verdicts (a source split over several groups, as
    the fixtures are, is pooled, never averaged fold by fold)."""
    labels: dict[str, list[str]] = {}
    verdict_by_source: dict[str, list[str]] = {}
    limits_by_source: dict[str, dict[str, float]] = {}
    side = [it for it in items if it.sample.view == "side"]
    front = [it for it in items if it.sample.view == "front"]
    for pool, fit in ((side, "side"), (front, "front")):
        for g in sorted({it.group for it in pool}):
            train = [it for it in pool if it.group != g]
            test = [it for it in pool if it.group == g]
            if fit == "side":
                limits, _ = fit_side(train)
            else:
                limits, _ = fit_front(train, FindingRules())
            v = verdicts(test, rules_from(limits))
            for it, verdict in zip(test, v, strict=True):
                src = it.sample.source
                labels.setdefault(src, []).append(it.sample.label)
                verdict_by_source.setdefault(src, []).append(verdict)
                limits_by_source[src] = limits
    return [
        HeldOut(
            src,
            len(labels[src]),
            balanced_accuracy(labels[src], verdict_by_source[src]),
            limits_by_source[src],
        )
        for src in labels
    ]


def fit_all(items: Sequence[Item]) -> dict[str, float]:
    side, _ = fit_side([it for it in items if it.sample.view == "side"])
    front, _ = fit_front([it for it in items if it.sample.view == "front"], FindingRules())
    return {**side, **front}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footage", type=Path, default=DEFAULT_FOOTAGE)
    ap.add_argument("--model", type=Path, help="a .task model (default: the bundled one)")
    args = ap.parse_args(argv)
    if not args.footage.is_dir():
        print(f"footage not found at {args.footage}", file=sys.stderr)
        return 2
    items = load_items(args.footage, args.model)
    print("| held-out source | n | balanced accuracy | limits fitted on the other sources |")
    print("|---|---|---|---|")
    for h in leave_one_source_out(items):
        lim = ", ".join(f"{k} {v:g}" for k, v in h.limits.items())
        print(f"| {h.source} | {h.n} | {h.balanced_accuracy:.2f} | {lim} |")
    print("\nfitted on every source:", ", ".join(f"{k} = {v:g}" for k, v in fit_all(items).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
