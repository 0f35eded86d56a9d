"""The hand-written limits against small learned models, under the same leave-one-person-out protocol.

The question (issue 18): would a small model learned from pose features judge new people better
than the hand-written limits of ``posture.metrics``? Each judge is fitted on everyone but one
person and scored on that person, for every person, and the one with the better *worst person*
ships. The judges, all on the same landmarks and the same side-view features (neck and trunk
inclination, the recline, the head forward while reclined, the head thrown back):

- ``limits``: the shipped rule, its six limits fitted by ``bench/fit_rules.py``;
- ``logistic``: a logistic regression over those features (scikit-learn, class-balanced, each
  person weighted alike);
- ``logistic + pitch``: the same with the head's pitch added. The pitch's zero depends on the
  camera's height, which is why ``posture`` uses it only against a person's own posture;
- ``trees``: gradient-boosted trees of depth 2 over the features, pitch included;
- the LearnOpenCV tutorial's rule, for scale.

Every judge is scored the same way. Photos one by one. Clips as whole sessions: the clip is
replayed through the pipeline with everyone's limits switched off, which leaves the session's
own part (smoothing, the habit learnt from clearly upright frames, which never depends on the
judge); a frame is poor when the judge says so on its smoothed angles or the habit does, and
uncertain when the pose cannot be judged. ``uncertain`` counts as wrong.

Run: python bench/learned.py [--footage DIR]   (needs the dev extra: scikit-learn)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset import DEFAULT_FOOTAGE, load_poses
from evaluation import learnopencv_is_good
from fit_rules import (
    SIDE_GRID,
    Dataset,
    Item,
    _side_features,
    balanced_accuracy,
    fit_side,
    load_dataset,
    rules_from,
    side_poor,
)

from posture.config import Config

FEATURES = ("neck", "lean forward", "recline", "head forward while reclined", "head back")


@dataclass(frozen=True)
class Frames:
    """The side-view frames of every person as arrays: what each judge sees."""

    person: np.ndarray
    group: np.ndarray  # the unit of the mean (scenes' single photos together)
    source: np.ndarray
    poor: np.ndarray  # the label
    neck: np.ndarray
    trunk: np.ndarray
    pitch: np.ndarray
    judged: np.ndarray  # the pose can be judged from the side
    habit_poor: np.ndarray  # poor by the session's habit alone (clips)
    tutorial: np.ndarray  # the LearnOpenCV rule's verdict
    clip: np.ndarray  # a clip frame (scored with smoothed angles and the habit)


def side_frames(data: Dataset) -> Frames:
    """Photos with their raw angles; clip frames with the smoothed angles and the habit's verdict
    of a replay with everyone's limits switched off."""

    off = rules_from({k: 1e6 for k in SIDE_GRID})
    config = dataclasses.replace(Config(), metrics=dataclasses.replace(Config().metrics, rules=off))
    readings = {src: _replay(clip, config) for src, clip in data.clips.items()}
    photos = [it for it in data.items if it.sample.t_s is None and it.sample.view == "side"]
    poses = load_poses([it.sample.path for it in photos])
    rows = []
    for it in data.items:
        if it.sample.view != "side":
            continue
        if it.sample.t_s is None:
            # As assess sees a photo: an oblique view near a profile judged on corrected angles.
            (neck,), (trunk,), (judged,) = _side_features([it])
            v = {**it.raw.values, "neck_inclination_deg": neck, "trunk_inclination_deg": trunk}
            rows.append(_row(it, v, bool(judged), False, poses[it.sample.path], clip=False))
        else:
            r, pose = readings[it.sample.source][it.sample.t_s]
            judged = r.posture.value in ("good", "poor") and r.view == "side"
            rows.append(_row(it, r.metrics, judged, r.posture.value == "poor", pose, clip=True))
    cols = list(zip(*rows, strict=True))
    return Frames(*(np.array(c) for c in cols))


def _replay(clip, config: Config) -> dict[float, tuple]:
    from posture.pipeline import Pipeline
    from posture.results import AnalysisResult
    from posture.sources.media import VideoInfo

    step = clip.times[1] - clip.times[0]
    result = AnalysisResult(clip.labels.path, VideoInfo(0, 0, 1.0 / step, len(clip.times)), "cached", None)
    Pipeline(config).judge(result, clip.times, clip.poses)
    return {r.t_s: (r, p) for r, p in zip(result.readings, result.poses, strict=True)}


def _row(it: Item, values, judged: bool, habit_poor: bool, pose, *, clip: bool) -> tuple:
    def num(key: str) -> float:
        x = values.get(key)
        return np.nan if x is None or np.isnan(x) else float(x)

    neck, trunk = num("neck_inclination_deg"), num("trunk_inclination_deg")
    good = learnopencv_is_good(pose)
    tutorial = "away" if good is None else ("good" if good else "poor")
    judged = judged and not (np.isnan(neck) or np.isnan(trunk))
    return (
        it.person,
        it.group,
        it.sample.source,
        it.sample.label == "poor",
        neck,
        trunk,
        num("head_pitch_deg"),
        judged,
        habit_poor,
        tutorial,
        clip,
    )


def features(f: Frames, m: np.ndarray, *, pitch: bool) -> np.ndarray:
    n, t = np.nan_to_num(f.neck[m]), np.nan_to_num(f.trunk[m])
    recline = np.maximum(-t, 0.0)
    cols = [n, np.maximum(t, 0.0), recline, np.maximum(n, 0.0) * recline / 20.0, np.maximum(-n, 0.0)]
    if pitch:
        cols.append(np.nan_to_num(f.pitch[m]))
    return np.column_stack(cols)


def _weights(f: Frames, m: np.ndarray) -> np.ndarray:
    """Each group weighs alike, and within it each label."""
    w = np.zeros(int(m.sum()))
    groups, labels = f.group[m], f.poor[m]
    for g in np.unique(groups):
        for label in (True, False):
            k = (groups == g) & (labels == label)
            if k.any():
                w[k] = 1.0 / k.sum()
    return w


Judge = Callable[[Frames, np.ndarray, np.ndarray], np.ndarray]  # (frames, train, test) -> poor


def limits_judge(data: Dataset) -> Judge:
    def judge(f: Frames, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        held = set(np.unique(f.person[test]))
        items = [it for it in data.items if it.sample.view == "side" and it.person not in held]
        return side_poor(fit_side(items), f.neck[test], f.trunk[test])

    return judge


def model_judge(make: Callable[[], object], *, pitch: bool) -> Judge:
    def judge(f: Frames, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        fit_on = train & f.judged & _thin(f)
        model = make()
        model.fit(features(f, fit_on, pitch=pitch), f.poor[fit_on], sample_weight=_weights(f, fit_on))
        return model.predict(features(f, test, pitch=pitch)).astype(bool)

    return judge


def _thin(f: Frames, every: int = 3) -> np.ndarray:
    """Every photo, every third clip frame (neighbouring frames say the same)."""
    keep = ~f.clip.copy()
    for src in np.unique(f.source[f.clip]):
        idx = np.flatnonzero(f.source == src)
        keep[idx[::every]] = True
    return keep


def verdicts(f: Frames, test: np.ndarray, poor: np.ndarray) -> list[str]:
    judged = f.judged[test] | f.habit_poor[test]
    final = (poor & f.judged[test]) | f.habit_poor[test]
    return ["poor" if p else ("good" if j else "uncertain") for p, j in zip(final, judged, strict=True)]


def compare(data: Dataset, judges: dict[str, Judge]) -> dict[str, dict[str, dict[str, float]]]:
    """Held out, per judge: each person's and each source's balanced accuracy."""
    f = side_frames(data)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, judge in judges.items():
        per_person, pooled = {}, {}
        for person in np.unique(f.person):
            test = f.person == person
            v = verdicts(f, test, judge(f, ~test, test))
            labels = ["poor" if p else "good" for p in f.poor[test]]
            per_person[str(person)] = (labels, v)
            for src, lab, verdict in zip(f.source[test], labels, v, strict=True):
                a, b = pooled.setdefault(str(src), ([], []))
                a.append(lab)
                b.append(verdict)
        out[name] = {
            "persons": {p: balanced_accuracy(*lv) for p, lv in per_person.items()},
            "n": {p: len(lv[0]) for p, lv in per_person.items()},
            "sources": {s: balanced_accuracy(a, b) for s, (a, b) in pooled.items()},
        }
    tutorial = {}
    for person in np.unique(f.person):
        m = f.person == person
        tutorial[str(person)] = balanced_accuracy(
            ["poor" if p else "good" for p in f.poor[m]], list(f.tutorial[m])
        )
    out["LearnOpenCV rule"] = {
        "persons": tutorial,
        "n": out[next(iter(judges))]["n"],
        "sources": {
            str(s): balanced_accuracy(
                ["poor" if p else "good" for p in f.poor[f.source == s]], list(f.tutorial[f.source == s])
            )
            for s in np.unique(f.source)
        },
    }
    return out


def worst(result: dict[str, dict[str, float]], min_frames: int = 8) -> tuple[str, float]:
    """The worst person with at least ``min_frames`` labelled frames (a single photo says little)."""
    persons = {p: s for p, s in result["persons"].items() if result["n"][p] >= min_frames}
    p = min(persons, key=persons.get)
    return p, persons[p]


def main(argv: Sequence[str] | None = None) -> int:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footage", type=Path, default=DEFAULT_FOOTAGE)
    args = ap.parse_args(argv)
    if not args.footage.is_dir():
        print(f"footage not found at {args.footage}", file=sys.stderr)
        return 2
    data = load_dataset(args.footage)
    judges: dict[str, Judge] = {
        "limits": limits_judge(data),
        "logistic": model_judge(lambda: LogisticRegression(C=1.0, max_iter=5000), pitch=False),
        "logistic + pitch": model_judge(lambda: LogisticRegression(C=1.0, max_iter=5000), pitch=True),
        "trees": model_judge(
            lambda: HistGradientBoostingClassifier(
                max_depth=2, max_iter=100, learning_rate=0.1, random_state=0
            ),
            pitch=True,
        ),
    }
    results = compare(data, judges)
    names = list(results)
    print("Side view, uncalibrated, held out (each person left out of every fit); balanced accuracy.\n")
    print("| source | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for src in sorted(results["limits"]["sources"]):
        print(f"| {src} | " + " | ".join(f"{results[n]['sources'][src]:.2f}" for n in names) + " |")
    print(
        "| **worst person** | " + " | ".join("{1:.2f} ({0})".format(*worst(results[n])) for n in names) + " |"
    )
    print(
        "| mean over persons | "
        + " | ".join(
            f"{np.mean([s for p, s in results[n]['persons'].items() if results[n]['n'][p] >= 8]):.2f}"
            for n in names
        )
        + " |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
