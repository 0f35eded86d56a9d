"""The labelled development sources in ../shared/footage, and their landmarks (cached).

Each source is a different person, chair or camera, and a source may hold several people: every
sample names its ``person``, the unit that ``bench/fit_rules.py`` leaves out (a person who
appears in two folders is one person; every stock photo of ``scenes/sitting`` is someone else).
Accuracy is reported per source and per person. The labels come from the footage's own label
files; where a source labels a posture without saying good or poor, the mapping below says which
(and why), following the project's definition of poor posture (README, "What counts as poor"):

- ``Hunched`` back, or a ``Forward`` neck on a straight back: poor (upper back or head forward).
- ``Reclined`` in ``side_photos/desk/``: the woman has slid down a stool or chair, trunk far
  back and pelvis forward: poor (slumped). The man's ``recline`` in ``side_photos/chair/`` and
  ``fixtures/reclined_right`` lean on the backrest: a supported recline, not poor.
- ``scenes/sitting/``: ``proper_*``, ``crossed_legs_3..4`` and the two supported recline photos
  are good; ``slouching*`` and the three slid-down ``*_recline`` photos are poor; collages,
  crowds and the ambiguous ones are left out, and so are the two front-view photos
  (``crossed_legs_1``, ``crossed_legs_2``): without a baseline the tool rightly calls a front
  view uncertain, and the front sources below score the front view with one.

``eval/`` is never read here: it is for evaluating the finished tool, not for tuning it.
Landmarks are cached under the user's cache folder (``--cache``), keyed by the model and the
file's size and modification time; no frame is ever written.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from posture.landmarks import Pose  # noqa: E402

DEFAULT_FOOTAGE = ROOT.parent / "shared" / "footage"

__all__ = [
    "CLIPS",
    "DEFAULT_FOOTAGE",
    "ClipLabels",
    "Sample",
    "clip_labels",
    "clip_samples",
    "load_clip_poses",
    "load_poses",
    "person_of",
    "photo_samples",
]


@dataclass(frozen=True)
class Sample:
    """One labelled image (or video frame) of one source."""

    source: str  # the folder or clip it comes from (the rows of the accuracy table)
    path: Path
    label: str  # "good" or "poor"
    view: str  # the view the source was filmed from: "side" or "front"
    baseline: Path | None = None  # the source's own good-posture frame (front sources)
    t_s: float | None = None  # for video frames
    person: str = ""  # who it shows: the unit left out when fitting (see ``person_of``)

    @property
    def who(self) -> str:
        return self.person or self.source


# The same man (OpenPosture) in chair/ and fixtures/, the same woman in desk/ and fixtures/.
_MAN = {
    "straight_armsfolded.jpg",
    "hunchback_left.jpg",
    "hunchback_right.jpg",
    "kneeling_right.jpg",
    "reclined_right.jpg",
}
_WOMAN = {"desk_hunch.jpeg", "desk_lean_exif.jpeg"}


def person_of(source: str, path: Path) -> str:
    """Who a photo shows. Each folder is one person (roboflow's two settings are two young men,
    front_webcam's two sessions one man), except that the OpenPosture man and woman appear in
    two folders each, and every photo of scenes/sitting shows a different person."""
    name = path.name
    if source == "side_photos/chair" or (source == "side_photos/fixtures" and name in _MAN):
        return "openposture man"
    if source == "side_photos/desk" or (source == "side_photos/fixtures" and name in _WOMAN):
        return "openposture woman"
    if source == "side_photos/fixtures":
        return f"fixtures {path.stem}"
    if source.startswith("front_webcam/"):
        return "front_webcam man"  # one man, two sessions
    if source == "scenes/sitting":
        return f"scenes {path.stem}"
    return source


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _side_label(back: str, neck: str) -> str | None:
    if back == "Hunched":
        return "poor"
    if back == "Reclined":
        return "poor"  # desk/: slid down, pelvis forward (see the module docstring)
    if back == "Straight":
        return "poor" if neck == "Forward" else "good"
    return None


FIXTURES = {
    "hunchback_left.jpg": "poor",
    "hunchback_right.jpg": "poor",
    "desk_hunch.jpeg": "poor",
    "desk_lean_exif.jpeg": "poor",  # the desk/ woman leaning back on a stool, unsupported
    "straight_armsfolded.jpg": "good",
    "bench_feet_dangling.jpg": "good",
    "kneeling_right.jpg": "good",
    "reclined_right.jpg": "good",  # leaning on the backrest
}

SCENES = {
    "proper_1.webp": "good",
    "proper_2.jpg": "good",
    "proper_3_high_angle.jpg": "good",
    "proper_4.jpg": "good",
    "sitting-position-for-good-posture.jpg": "good",
    "crossed_legs_3.jpg": "good",
    "crossed_legs_4.jpg": "good",
    "crossed_legs_4.webp": "good",
    "reclining.webp": "good",  # supported recline while typing
    "reclining_3.jpg": "good",  # a 110° backrest, supported
    "slouching.webp": "poor",
    "slouching_2.jpg": "poor",
    "bq_recline.jpg": "poor",  # slid down the chair
    "gabriel_recline.jpg": "poor",
    "sianghui_recline.jpg": "poor",
}


def photo_samples(footage: Path = DEFAULT_FOOTAGE) -> list[Sample]:
    """Every labelled photo of the development sources, each with its person."""
    return [replace(s, person=person_of(s.source, s.path)) for s in _photo_samples(footage)]


def _photo_samples(footage: Path) -> list[Sample]:
    out: list[Sample] = []
    side = footage / "side_photos"
    for row in _rows(side / "desk" / "labels.csv"):
        label = _side_label(row["actual_back"], row["actual_neck"])
        if label:
            out.append(Sample("side_photos/desk", side / "desk" / row["file"], label, "side"))
    chair = side / "chair"
    for path in sorted(chair.glob("*.jpg")):
        stem = path.stem
        if stem.startswith("hunchback"):
            label = "poor"
        elif stem.startswith(("recline", "straight", "kneeling")):
            label = "good"
        else:
            continue
        out.append(Sample("side_photos/chair", path, label, "side"))
    for name, label in FIXTURES.items():
        out.append(Sample("side_photos/fixtures", side / "fixtures" / name, label, "side"))
    rb = side / "roboflow"
    for row in _rows(rb / "labels.csv"):
        out.append(Sample(f"roboflow/{row['setting']}", rb / row["file"], row["label"], "side"))
    for name, label in SCENES.items():
        out.append(Sample("scenes/sitting", footage / "scenes" / "sitting" / name, label, "side"))
    out += _front(footage / "front_webcam", "session", "front_webcam")
    out += _front(footage / "front_photos" / "supose", "person", "supose")
    return out


def _front(folder: Path, group_key: str, prefix: str) -> list[Sample]:
    """Front sources: each session/person's first good frame (by file name) is its baseline."""
    rows = sorted(_rows(folder / "labels.csv"), key=lambda r: r["file"])
    first_good: dict[str, Path] = {}
    for row in rows:
        if row["label"] == "good":
            first_good.setdefault(row[group_key], folder / row["file"])
    out = []
    for row in rows:
        group = row[group_key]
        path = folder / row["file"]
        if path == first_good.get(group):
            continue  # the baseline itself is not scored
        out.append(Sample(f"{prefix}/{group}", path, row["label"], "front", baseline=first_good.get(group)))
    return out


# The labelled side clips, one person each: (source name, file, label file).
CLIPS = (
    ("side_video/chair_good_bad", "chair_good_bad.mp4", "chair_good_bad.labels.csv"),
    ("side_video/office_chair_postures", "office_chair_postures.mp4", "office_chair_postures.labels.csv"),
    ("side_video/desk_slump_upright", "desk_slump_upright.mp4", "desk_slump_upright.labels.csv"),
)


@dataclass(frozen=True)
class ClipLabels:
    """A clip's labels, per frame (``time_s``, ``overlay_label``) or per stretch
    (``start_s``, ``end_s``, ``label``): good, poor, or unknown (transitions, ambiguous)."""

    source: str
    path: Path
    stretches: tuple[tuple[float, float, str], ...]

    def label_at(self, t_s: float) -> str:
        for start, end, label in self.stretches:
            if start <= t_s < end:
                return label
        return "unknown"


def clip_labels(footage: Path = DEFAULT_FOOTAGE) -> list[ClipLabels]:
    """The labelled side clips that are present under ``footage``."""
    out = []
    for source, name, labels in CLIPS:
        clip, table = footage / "side_video" / name, footage / "side_video" / labels
        if not (clip.is_file() and table.is_file()):
            continue
        rows = _rows(table)
        if rows and "overlay_label" in rows[0]:  # per frame, from the burnt-in box of the upstream detector
            times = [float(r["time_s"]) for r in rows]
            step = min((b - a for a, b in itertools.pairwise(times) if b > a), default=0.04)
            mapped = {"good": "good", "bad": "poor"}
            stretches = tuple(
                (t - step / 2, t + step / 2, mapped.get(r["overlay_label"].strip().lower(), "unknown"))
                for t, r in zip(times, rows, strict=True)
            )
        else:
            stretches = tuple(
                (float(r["start_s"]), float(r["end_s"]), r["label"].strip().lower()) for r in rows
            )
        out.append(ClipLabels(source, clip, stretches))
    return out


def clip_samples(clip: ClipLabels, times: Iterable[float]) -> list[Sample]:
    """One sample per frame time of the clip whose label is good or poor."""
    out = []
    for t in times:
        label = clip.label_at(t)
        if label in ("good", "poor"):
            out.append(Sample(clip.source, clip.path, label, "side", t_s=t, person=clip.source))
    return out


# ---- landmarks, cached -------------------------------------------------------------------


def _default_cache() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("posture") / "bench-landmarks"


def _key(path: Path, model: str) -> str:
    st = path.stat()
    raw = f"{model}|{path.resolve()}|{st.st_size}|{int(st.st_mtime)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def _pose_to_json(pose: Pose | None) -> dict | None:
    if pose is None:
        return None
    return {
        "xy": pose.xy_px.round(3).tolist(),
        "vis": pose.visibility.round(4).tolist(),
        "world": None if pose.world_m is None else pose.world_m.round(5).tolist(),
        "size": list(pose.image_size),
    }


def _pose_from_json(d: dict | None) -> Pose | None:
    if d is None:
        return None
    world = None if d["world"] is None else np.array(d["world"])
    return Pose(np.array(d["xy"]), np.array(d["vis"]), world, (int(d["size"][0]), int(d["size"][1])))


def load_poses(
    paths: Iterable[Path], model: Path | None = None, cache: Path | None = None
) -> dict[Path, Pose | None]:
    """The still-image pose of each photo (the same estimate ``posture measure`` makes)."""
    from posture.pose.estimator import estimate_still, open_estimator
    from posture.sources.media import ImageSource

    cache = cache or _default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    paths = list(dict.fromkeys(paths))
    out: dict[Path, Pose | None] = {}
    todo: list[tuple[Path, Path]] = []
    with open_estimator(model, video=False) as est:
        name = est.name
        for p in paths:
            f = cache / f"{_key(p, name)}.json"
            if f.is_file():
                out[p] = _pose_from_json(json.loads(f.read_text()))
            else:
                todo.append((p, f))
        for p, f in todo:
            with ImageSource(p) as src:
                frame = next(iter(src))
            pose = estimate_still(est, frame)
            f.write_text(json.dumps(_pose_to_json(pose)))
            out[p] = pose
    return out


def load_clip_poses(
    clip: Path, model: Path | None = None, cache: Path | None = None
) -> list[tuple[float, Pose | None]]:
    """(t_s, pose) of every frame of a clip, tracked as ``posture analyze --every-frame`` does."""
    from posture.config import Config
    from posture.pose.parallel import estimate_video
    from posture.sources.media import VideoFileSource

    cache = cache or _default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    config = Config().replace("analysis", sample_fps=None, model=model)
    f = cache / f"{_key(clip, f'clip|{model}')}.json"
    if f.is_file():
        return [(t, _pose_from_json(d)) for t, d in json.loads(f.read_text())]
    with VideoFileSource(clip, None) as probe:
        info = probe.info
    run = estimate_video(clip, config.analysis, info, workers=2 if info.duration_s > 20 else 1)
    out = list(zip(run.times, run.poses, strict=False))
    f.write_text(json.dumps([(t, _pose_to_json(p)) for t, p in out]))
    return out
