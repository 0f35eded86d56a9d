"""Fit the verdict's limits leave-one-person-out on every labelled development source.

Every person in every source is left out in turn: the limits are chosen on everyone else (the
grid point with the best mean balanced accuracy over the other people; among ties the one whose
worst person does best; then the middle of the plateau) and scored on the person left out. That
held-out figure, not the in-sample one, is what predicts a new user's experience, and the worst
person is what a new user risks. A person who appears in two folders is left out of both at
once; every stock photo of ``scenes/sitting`` shows someone else (for the fit's mean they count
together as one group, so fifteen single photos do not outweigh a clip).

What is fitted (``FindingRules``; everything else comes from the standards, see config.py):

- side view, no baseline: ``forward_head_deg`` (neck inclination), ``hunched_back_deg`` (trunk
  inclination), ``slumped_recline_deg`` (a far recline), and the lesser slump: a recline
  (``slumped_pulled_recline_deg``) with the head not resting back (``slumped_head_forward_deg``);
- front view, against the person's baseline photo: ``head_drop_pct`` and ``leaning_in_pct``.

Each grid spans what the definitions allow (a slump is a recline with the pelvis slid forward,
about 15°-25° as measured; the hip-joint-to-shoulder-joint line of an upright sitter already
reads up to about 12° back). The grid search mirrors the uncalibrated side rule of
``posture.metrics.assess`` in numpy for speed (``fit_side``); everything it chooses is then scored
with the package itself: photos with ``assess``, clips through the whole pipeline (smoothing, the
session's habit, the detector) replayed over their cached poses, as ``posture analyze
--every-frame`` runs. Landmarks come from ``bench/dataset.py``'s cache.

Run: ``python bench/fit_rules.py``; it prints the held-out table and the limits fitted on
everyone, which are the defaults in ``posture/config.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset import (
    DEFAULT_FOOTAGE,
    ClipLabels,
    Sample,
    clip_labels,
    clip_samples,
    load_clip_poses,
    load_poses,
    photo_samples,
)

from posture.baseline import baseline_from_measurements
from posture.config import Band, Config, FindingRules, MetricsConfig
from posture.geometry import View
from posture.landmarks import Pose
from posture.metrics import OBLIQUE_JUDGE_MIN_YAW_DEG, RawMeasurement, assess, measure

__all__ = [
    "Clip",
    "Dataset",
    "HeldOut",
    "Item",
    "balanced_accuracy",
    "fit_all",
    "leave_one_person_out",
    "load_dataset",
    "rules_from",
]


@dataclass(frozen=True)
class Item:
    """One labelled photo or clip frame, with its raw measurement (and its person's baseline)."""

    sample: Sample
    raw: RawMeasurement
    baseline: dict[str, float | None] | None

    @property
    def person(self) -> str:
        return self.sample.who

    @property
    def group(self) -> str:
        """The unit of the fit's mean: a person, or all the single stock photos together."""
        return self.sample.source if self.sample.source == "scenes/sitting" else self.person


@dataclass(frozen=True)
class Clip:
    """A labelled clip's every frame: times, cached poses, labels."""

    labels: ClipLabels
    times: tuple[float, ...]
    poses: tuple[Pose | None, ...]

    @property
    def source(self) -> str:
        return self.labels.source


@dataclass(frozen=True)
class Dataset:
    items: list[Item]  # photos and the labelled frames of every clip
    clips: dict[str, Clip] = field(default_factory=dict)  # by source


def load_dataset(footage: Path = DEFAULT_FOOTAGE, model: Path | None = None) -> Dataset:
    """Every labelled photo and clip frame with its raw measurement (and baseline values)."""
    cfg = MetricsConfig()
    photos = photo_samples(footage)
    poses = load_poses([s.path for s in photos] + [s.baseline for s in photos if s.baseline], model)
    items = []
    for s in photos:
        base = None
        if s.baseline is not None:
            base = baseline_from_measurements([measure(poses[s.baseline], cfg)], str(s.baseline)).values
        items.append(Item(s, measure(poses[s.path], cfg), base))
    clips = {}
    for labels in clip_labels(footage):
        run = load_clip_poses(labels.path, model)
        times = tuple(t for t, _ in run)
        clip_poses = tuple(p for _, p in run)
        clips[labels.source] = Clip(labels, times, clip_poses)
        by_t = dict(zip(times, clip_poses, strict=True))
        items += [Item(s, measure(by_t[s.t_s], cfg), None) for s in clip_samples(labels, times)]
    return Dataset(items, clips)


def balanced_accuracy(labels: Sequence[str], verdicts: Sequence[str]) -> float:
    """Mean of the recall of poor and of good; ``uncertain`` and ``away`` count as wrong. With
    one class only (a single photo), that class's recall."""
    recalls = []
    for cls in ("poor", "good"):
        got = [v == cls for lab, v in zip(labels, verdicts, strict=True) if lab == cls]
        if got:
            recalls.append(sum(got) / len(got))
    return float(np.mean(recalls)) if recalls else float("nan")


def rules_from(limits: dict[str, float], base: FindingRules | None = None) -> FindingRules:
    """``FindingRules`` with these limits, each band keeping its width (a limit moves its start)."""
    base = base or FindingRules()
    changes = {}
    for name, limit in limits.items():
        band: Band = base[name]
        width = band.limit - band.start
        changes[name] = Band(float(limit) - width, float(limit))
    return base.replace(**changes)


def config_with(rules: FindingRules, config: Config | None = None) -> Config:
    config = config or Config()
    return dataclasses.replace(config, metrics=dataclasses.replace(config.metrics, rules=rules))


# -- the verdicts of the package itself --------------------------------------------------------------


def photo_verdicts(items: Sequence[Item], rules: FindingRules) -> list[str]:
    cfg = MetricsConfig(rules=rules)
    return [assess(it.raw, cfg, it.baseline).posture.value for it in items]


def clip_verdicts(clip: Clip, config: Config) -> dict[float, str]:
    """The clip through the whole pipeline (smoothing, the session's habit, the detector), every
    frame, uncalibrated, as ``posture analyze --every-frame`` runs it: the verdict at each time."""
    from posture.pipeline import Pipeline
    from posture.results import AnalysisResult
    from posture.sources.media import VideoInfo

    step = clip.times[1] - clip.times[0] if len(clip.times) > 1 else 1.0 / 30.0
    info = VideoInfo(0, 0, 1.0 / step, len(clip.times))
    result = AnalysisResult(clip.labels.path, info, "cached", None)
    Pipeline(config).judge(result, clip.times, clip.poses)
    return {r.t_s: r.posture.value for r in result.readings}


# -- the grid search ----------------------------------------------------------------------------------

# The limits fitted, and the grids they are looked for in (degrees; front: percent). Each spans
# what the definitions allow. Forward head: from a little past what upright people read (neck
# 2°..25°) to the clinical cut-off (a craniovertebral angle under 50° is a neck over 40°). A
# hunched back: from ISO 11226's acceptable 20° (about 15° as measured, where an upright trunk
# reads -12°..+3°) on. A far recline: past
# a supported one. The lesser slump: a recline of 15°-25° beyond upright with the pelvis slid
# forward (as measured, from 10° where an upright sitter's reading ends to 20°), with the head
# forward of upright (neck -4°..6°) or thrown back (neck extended 10°-30°).
SIDE_GRID: dict[str, np.ndarray] = {
    "forward_head_deg": np.arange(16.0, 46.0, 1.0),
    "hunched_back_deg": np.arange(15.0, 42.0, 1.0),
    "slumped_recline_deg": np.arange(28.0, 48.0, 1.0),
    "slumped_pulled_recline_deg": np.arange(10.0, 21.0, 1.0),
    "slumped_head_forward_deg": np.arange(-4.0, 7.0, 1.0),
    "slumped_head_back_deg": np.arange(10.0, 31.0, 1.0),
}
# Front: the head's drop (nose over the shoulder line, against the baseline) alone, or a lesser
# one with the neck come forward in depth; the face's growth (leaning in).
FRONT_GRID: dict[str, np.ndarray] = {
    "head_drop_pct": np.arange(6.0, 20.0, 0.5),
    "head_drop_moderate_pct": np.arange(3.0, 12.0, 0.5),
    "neck_forward_3d_delta_deg": np.arange(0.0, 8.0, 0.5),
    "leaning_in_pct": np.arange(8.0, 40.0, 1.0),
}


def _side_features(items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neck and trunk angles as everyone's limits see them (an oblique view near a profile
    corrected for foreshortening, as ``assess`` does), and whether the pose can be judged."""
    neck, trunk, judged = [], [], []
    for it in items:
        v = it.raw.values
        yaw = v.get("shoulder_yaw_deg") or 0.0
        near = it.raw.view is View.OBLIQUE and yaw >= OBLIQUE_JUDGE_MIN_YAW_DEG
        scale = float(np.sin(np.radians(yaw))) if near else 1.0
        neck.append(_true_angle(v.get("neck_inclination_deg"), scale))
        trunk.append(_true_angle(v.get("trunk_inclination_deg"), scale))
        judged.append(it.raw.problem is None and (it.raw.view is View.SIDE or near))
    n, t = np.array(neck), np.array(trunk)
    return n, t, np.array(judged) & ~np.isnan(n)


def _true_angle(x: float | None, scale: float) -> float:
    if x is None:
        return np.nan
    if scale >= 0.999:
        return float(x)
    return float(np.degrees(np.arctan(np.tan(np.radians(x)) / max(scale, 0.5))))


def side_poor(limits: dict[str, float], neck: np.ndarray, trunk: np.ndarray) -> np.ndarray:
    """The uncalibrated side rule of ``assess`` in numpy: poor when the neck reaches the
    forward-head limit, the trunk the hunched or the far-recline limit, or the trunk the lesser
    recline limit with the head forward of upright or thrown back."""
    with np.errstate(invalid="ignore"):
        reclined = -trunk >= limits["slumped_pulled_recline_deg"]
        return (
            (neck >= limits["forward_head_deg"])
            | (trunk >= limits["hunched_back_deg"])
            | (-trunk >= limits["slumped_recline_deg"])
            | (reclined & (neck >= limits["slumped_head_forward_deg"]))
            | (reclined & (-neck >= limits["slumped_head_back_deg"]))
        )


def _group_scores(poor: np.ndarray, judged: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each group's balanced accuracy (uncertain counts as wrong)."""
    out = []
    for g in np.unique(groups):
        m = groups == g
        y, p, j = labels[m], poor[m] & judged[m], judged[m]
        recalls = []
        if y.any():
            recalls.append(p[y].mean())
        if (~y).any():
            recalls.append((~p & j)[~y].mean())
        out.append(np.mean(recalls))
    return np.array(out)


# Scores this close count as equal when choosing a limit (half a point of balanced accuracy).
TIE = 0.005


def _choose(per_group: np.ndarray, *, sensitive: bool = False) -> tuple[tuple[int, ...], float]:
    """The grid point to take, from each group's score at every point (groups on axis 0).

    The best mean over the groups, where means within ``TIE`` of the best count as tied (a few
    frames of a clip's transitions are no reason to move a limit); among ties, the best worst
    group (a rule that must work for everyone), again within ``TIE``; among remaining ties, the
    middle of the plateau, or with ``sensitive`` its low end (the most sensitive limit that does
    as well).
    """
    mean = per_group.mean(axis=0)
    best = mean.max()
    tied = mean >= best - TIE
    worst = np.where(tied, per_group.min(axis=0), -1.0)
    chosen = np.argwhere(worst >= worst.max() - TIE)
    point = chosen.min(axis=0) if sensitive else np.median(chosen, axis=0).round()
    return tuple(int(i) for i in point), float(best)


def fit_side(items: Sequence[Item], *, thin: int = 3, sweeps: int = 4) -> dict[str, float]:
    """The side limits with the best mean balanced accuracy over the groups in ``items``.

    Coordinate by coordinate over ``SIDE_GRID`` (each limit's best value with the others held,
    in turn, until nothing changes), from the present defaults. Clip frames are thinned to every
    ``thin``-th (neighbouring frames say the same)."""
    kept = _thinned(items, thin)
    neck, trunk, judged = _side_features(kept)
    labels = np.array([it.sample.label == "poor" for it in kept])
    groups = np.array([it.group for it in kept])
    defaults = FindingRules()
    limits = {k: float(defaults[k].limit) for k in SIDE_GRID}
    for _ in range(sweeps):
        before = dict(limits)
        for key, grid in SIDE_GRID.items():
            per = np.stack(
                [
                    _group_scores(side_poor({**limits, key: x}, neck, trunk), judged, labels, groups)
                    for x in grid
                ],
                axis=1,
            )
            (i,), _ = _choose(per)
            limits[key] = float(grid[i])
        if limits == before:
            break
    return limits


def _thinned(items: Sequence[Item], thin: int) -> list[Item]:
    out, seen = [], {}
    for it in items:
        if it.sample.t_s is None:
            out.append(it)
            continue
        n = seen.get(it.sample.source, 0)
        seen[it.sample.source] = n + 1
        if n % thin == 0:
            out.append(it)
    return out


# The front limits taken at the sensitive end of a plateau (see ``fit_front``): the head's drop.
SENSITIVE_FRONT = ("head_drop_pct", "head_drop_moderate_pct")


def _front_features(items: Sequence[Item]) -> dict[str, np.ndarray]:
    """What the fitted front limits see (each photo against its person's baseline photo), and the
    verdict of everything that is not fitted (a sideways lean), from ``assess`` itself."""
    off = rules_from({k: 1e6 for k in FRONT_GRID})
    cols: dict[str, list[float]] = {"drop": [], "depth": [], "face": [], "other": [], "judged": []}
    for it in items:
        a = assess(it.raw, MetricsConfig(rules=off), it.baseline)
        for key, metric in (
            ("drop", "head_drop_pct"),
            ("depth", "neck_forward_3d_delta_deg"),
            ("face", "face_scale_pct"),
        ):
            x = a.metrics[metric]
            cols[key].append(np.nan if x is None else x)
        cols["other"].append(a.posture.value == "poor")
        cols["judged"].append(a.posture.value in ("good", "poor"))
    return {k: np.array(v) for k, v in cols.items()}


def front_poor(limits: dict[str, float], f: dict[str, np.ndarray]) -> np.ndarray:
    """The front rule of ``assess`` against a baseline, in numpy: the head dropped, or dropped
    moderately with the neck come forward in depth, or the face grown (leaning in)."""
    with np.errstate(invalid="ignore"):
        return (
            f["other"]
            | (f["drop"] >= limits["head_drop_pct"])
            | (
                (f["drop"] >= limits["head_drop_moderate_pct"])
                & (f["depth"] >= limits["neck_forward_3d_delta_deg"])
            )
            | (f["face"] >= limits["leaning_in_pct"])
        )


def fit_front(items: Sequence[Item], *, sweeps: int = 4) -> dict[str, float]:
    """The front limits with the best mean balanced accuracy over the groups in ``items``,
    coordinate by coordinate over ``FRONT_GRID`` like :func:`fit_side`, but taking the most
    sensitive of equally good limits: the front sets are staged, their slouches plain to see, and
    the slouches of people at work are more moderate (a limit in the middle of the gap between a
    staged slouch and good sitting misses them); the baseline keeps good sitting tight near 0."""
    f = _front_features(items)
    labels = np.array([it.sample.label == "poor" for it in items])
    groups = np.array([it.group for it in items])
    defaults = FindingRules()
    limits = {k: float(defaults[k].limit) for k in FRONT_GRID}
    for _ in range(sweeps):
        before = dict(limits)
        for key, grid in FRONT_GRID.items():
            per = np.stack(
                [_group_scores(front_poor({**limits, key: x}, f), f["judged"], labels, groups) for x in grid],
                axis=1,
            )
            (i,), _ = _choose(per, sensitive=key in SENSITIVE_FRONT)
            limits[key] = float(grid[i])
        if limits == before:
            break
    return limits


# -- leave one person out -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldOut:
    """One person's verdicts with the limits fitted on everyone else."""

    person: str
    view: str
    limits: dict[str, float]
    sources: tuple[str, ...]
    labels: tuple[str, ...]
    verdicts: tuple[str, ...]
    by_source: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # source: (labels, verdicts)

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def balanced_accuracy(self) -> float:
        return balanced_accuracy(self.labels, self.verdicts)


Fitter = Callable[[Sequence[Item]], dict[str, float]]


def leave_one_person_out(
    data: Dataset,
    *,
    config: Config | None = None,
    fit: dict[str, Fitter] | None = None,
    persons: Iterable[str] | None = None,
) -> list[HeldOut]:
    """For each person: fit the limits of their view on everyone else, then judge that person's
    photos with ``assess`` and their clips through the whole pipeline."""
    config = config or Config()
    fit = fit or {"side": fit_side, "front": fit_front}
    wanted = set(persons) if persons is not None else None
    out = []
    for view in ("side", "front"):
        pool = [it for it in data.items if it.sample.view == view]
        for person in sorted({it.person for it in pool}):
            if wanted is not None and person not in wanted:
                continue
            train = [it for it in pool if it.person != person]
            limits = fit[view](train)
            rules = rules_from(limits, config.metrics.rules)
            test = [it for it in pool if it.person == person]
            by_source = judge_person(data, test, rules, config)
            labels = tuple(lab for ls, _ in by_source.values() for lab in ls)
            verdicts = tuple(v for _, vs in by_source.values() for v in vs)
            out.append(HeldOut(person, view, limits, tuple(by_source), labels, verdicts, by_source))
    return out


def judge_person(
    data: Dataset, test: Sequence[Item], rules: FindingRules, config: Config
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """A person's (labels, verdicts) per source: photos one by one, clips as whole sessions."""
    by_source: dict[str, tuple[list[str], list[str]]] = {}
    photos = [it for it in test if it.sample.t_s is None]
    for it, v in zip(photos, photo_verdicts(photos, rules), strict=True):
        labels, verdicts = by_source.setdefault(it.sample.source, ([], []))
        labels.append(it.sample.label)
        verdicts.append(v)
    for source in sorted({it.sample.source for it in test if it.sample.t_s is not None}):
        at = clip_verdicts(data.clips[source], config_with(rules, config))
        frames = [it for it in test if it.sample.source == source]
        by_source[source] = (
            [it.sample.label for it in frames],
            [at.get(it.sample.t_s, "away") for it in frames],
        )
    return {k: (tuple(a), tuple(b)) for k, (a, b) in by_source.items()}


def per_source(held: Sequence[HeldOut]) -> dict[str, float]:
    """One balanced accuracy per source over all its held-out verdicts (a source split over
    several people is pooled, never averaged person by person)."""
    pooled: dict[str, tuple[list[str], list[str]]] = {}
    for h in held:
        for source, (labels, verdicts) in h.by_source.items():
            a, b = pooled.setdefault(source, ([], []))
            a.extend(labels)
            b.extend(verdicts)
    return {s: balanced_accuracy(a, b) for s, (a, b) in pooled.items()}


def fit_all(data: Dataset) -> dict[str, float]:
    side = fit_side([it for it in data.items if it.sample.view == "side"])
    front = fit_front([it for it in data.items if it.sample.view == "front"])
    return {**side, **front}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footage", type=Path, default=DEFAULT_FOOTAGE)
    ap.add_argument("--model", type=Path, help="a .task model (default: the bundled one)")
    args = ap.parse_args(argv)
    if not args.footage.is_dir():
        print(f"footage not found at {args.footage}", file=sys.stderr)
        return 2
    data = load_dataset(args.footage, args.model)
    held = leave_one_person_out(data)
    print("| held-out person | view | n | balanced accuracy | limits fitted on everyone else |")
    print("|---|---|---|---|---|")
    for h in held:
        lim = ", ".join(f"{k} {v:g}" for k, v in h.limits.items())
        print(f"| {h.person} | {h.view} | {h.n} | {h.balanced_accuracy:.2f} | {lim} |")
    print()
    for source, score in sorted(per_source(held).items()):
        print(f"{source}: {score:.2f}")
    print("\nfitted on everyone:", ", ".join(f"{k} = {v:g}" for k, v in fit_all(data).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
