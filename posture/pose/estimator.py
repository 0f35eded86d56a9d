"""The pose estimator: MediaPipe's Tasks ``PoseLandmarker``, returning the project's own :class:`Pose`.

The default model is ``posture/models/pose_landmarker_full.task``, shipped inside the package: the
Apache-2.0 BlazePose *full* files of the mediapipe 0.10.21 wheel with the image-input metadata
the Tasks API needs (``models/build_pose_task.py`` rebuilds it). A user's own ``.task`` file (the
lite or heavy model) may replace it. Video runs in VIDEO mode (strictly increasing millisecond
timestamps), photos and sampled frames in IMAGE mode.

Nothing here downloads anything: a model that is not on disk is a clear error. MediaPipe is
imported lazily, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from posture.errors import ModelUnavailableError
from posture.landmarks import N_LANDMARKS, Pose
from posture.paths import models_dir
from posture.pose.selection import PersonSelector, desk_score
from posture.sources.media import Frame

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "BUNDLED_MODEL",
    "BUNDLED_MODEL_ORIGIN",
    "EstimatorFactory",
    "PoseEstimator",
    "TaskPoseEstimator",
    "bundled_model",
    "estimate_still",
    "find_task_models",
    "open_estimator",
]

log = logging.getLogger(__name__)

BUNDLED_MODEL = "pose_landmarker_full.task"
BUNDLED_MODEL_ORIGIN = "BlazePose GHUM 3D full, the files of mediapipe 0.10.21, Apache-2.0"
_VARIANTS = {0: "lite", 1: "full", 2: "heavy"}  # analysis.model_complexity -> model name
# VIDEO-mode clock step between unsmoothed frames: after 1000 s MediaPipe's landmark filter (a
# one-euro filter, 0.05 Hz minimum cut-off) keeps about 0.3 % of the previous value.
_UNSMOOTHED_STEP_MS = 1_000_000


class PoseEstimator(Protocol):
    name: str

    def estimate(self, frame: Frame) -> Pose | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> PoseEstimator: ...

    def __exit__(self, *exc: object) -> None: ...


class EstimatorFactory(Protocol):
    """Opens a pose estimator: :func:`open_estimator`, or a scripted one in tests. Must pickle
    (a module-level function or an instance of a module-level class), since each parallel worker
    opens its own."""

    def __call__(
        self, model: Path | None, *, video: bool, model_complexity: int = 1, sampled: bool = False
    ) -> PoseEstimator: ...


def divert_native_stderr() -> None:
    """Send what C and C++ libraries write to file descriptor 2 to the null device, and give
    Python's own stderr (errors, warnings, progress bars) a descriptor of its own to the terminal.

    MediaPipe's C++ side prints start-up notes at any moment, from any thread, some buffered until
    exit; none of it means anything to a user, and only this keeps it off the terminal.
    ``POSTURE_DEBUG=1`` leaves everything as it is.
    """
    global _diverted
    if _diverted or os.environ.get("POSTURE_DEBUG") == "1":
        return
    try:
        if sys.stderr.fileno() != 2:
            return
    except (AttributeError, OSError, ValueError):  # a captured stderr (tests): nothing to divert
        return
    old = sys.stderr
    old.flush()
    terminal = os.dup(2)
    new = open(terminal, "w", buffering=1, encoding=old.encoding, errors="backslashreplace")  # noqa: SIM115
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = new
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream is old:
                handler.setStream(new)
    _diverted = True


_diverted = False  # whether divert_native_stderr() has run in this process


def _import_mediapipe() -> Any:
    divert_native_stderr()
    from posture.pose.lean_imports import without_unused_imports

    with without_unused_imports():  # no ldconfig, gcc or fc-list at start-up (issue 11)
        import mediapipe

    return mediapipe


def bundled_model() -> Traversable:
    """The pose model shipped inside the package (package data, so it is in every install)."""
    return resources.files("posture") / "models" / BUNDLED_MODEL


def find_task_models(folder: Path | None = None) -> list[Path]:
    """The ``.task`` files in ``folder`` (default: :func:`posture.paths.models_dir`)."""
    folder = models_dir() if folder is None else folder
    return sorted(folder.glob("*.task")) if folder.is_dir() else []


def _from_landmark_list(
    image_lms: Sequence[Any], world_lms: Sequence[Any] | None, width: int, height: int
) -> Pose:
    arr = np.array([(p.x * width, p.y * height, getattr(p, "visibility", 1.0) or 0.0) for p in image_lms])
    world = None
    if world_lms is not None and len(world_lms) == N_LANDMARKS:
        world = np.array([(p.x, p.y, p.z) for p in world_lms])
    return Pose(arr[:, :2], arr[:, 2], world, (width, height))


def _to_rgb(frame: Frame) -> np.ndarray:
    return np.ascontiguousarray(frame.image[:, :, ::-1])


class TaskPoseEstimator:
    """The Tasks ``PoseLandmarker``, with the bundled model or a ``.task`` file.

    ``video=True`` runs VIDEO mode: the region found in one frame is where the next is looked at
    (the detector runs only when the person is lost), and ``smooth`` applies MediaPipe's landmark
    filter over time; frames must come in time order. ``video=False`` runs IMAGE mode: each image
    is detected afresh. ``num_poses`` defaults to 1 in VIDEO mode (MediaPipe tracks only while it
    follows as many people as it may find: with 2 it runs the detector on every frame, twice as
    slow and off the legacy graph's landmarks by 6-8 px at the hips on a side-view clip) and to
    2 in IMAGE mode, where the person at the desk is chosen among those found
    (:class:`~posture.pose.selection.PersonSelector`, or the largest and most central with
    ``track=False``).
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        video: bool,
        num_poses: int | None = None,
        track: bool | None = None,
        smooth: bool = True,
        min_detection_confidence: float = 0.5,
    ) -> None:
        base = _base_options_kwargs(model_path)
        mp = _import_mediapipe()
        vision = mp.tasks.vision
        options = vision.PoseLandmarkerOptions(
            base_options=mp.tasks.BaseOptions(**base),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_poses=num_poses or (1 if video else 2),
            min_pose_detection_confidence=min_detection_confidence,
        )
        label = BUNDLED_MODEL if model_path is None else Path(model_path).name
        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise ModelUnavailableError(f"cannot load {label} as a pose landmarker: {exc}") from None
        self._mp = mp
        self._video = video
        self._track = video if track is None else track  # follow one person across frames
        self._last_ms = -1  # the last VIDEO-mode timestamp given to MediaPipe
        self._smooth = smooth  # False: timestamps far apart, so the landmark filter passes values through
        self._selector = PersonSelector()
        origin = "bundled" if model_path is None else "task"
        self.name = f"mediapipe {mp.__version__} {origin} {label}"
        log.info("pose model: %s, %s mode", self.name, "VIDEO" if video else "IMAGE")

    def estimate(self, frame: Frame) -> Pose | None:
        h, w = frame.image.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=_to_rgb(frame))
        if self._video:
            # VIDEO mode needs strictly increasing whole milliseconds.
            if self._smooth:
                ms = max(round(frame.t_s * 1000.0), self._last_ms + 1)
            else:
                ms = self._last_ms + _UNSMOOTHED_STEP_MS
            self._last_ms = ms
            result = self._landmarker.detect_for_video(image, ms)
        else:
            result = self._landmarker.detect(image)
        poses = [
            _from_landmark_list(
                lms, result.pose_world_landmarks[i] if result.pose_world_landmarks else None, w, h
            )
            for i, lms in enumerate(result.pose_landmarks)
        ]
        if not self._track:
            return max(poses, key=desk_score) if poses else None
        return self._selector.select(poses, frame.t_s)

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> TaskPoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Borders (as a fraction of the image) of the augmented copies of a still photo.
STILL_PADS = (0.0, 0.2)


def estimate_still(estimator: PoseEstimator, frame: Frame) -> Pose | None:
    """One photo, estimated four times and averaged: as it is and mirrored, each with and without
    a 20 % border (which changes the scale the detector sees).

    A single estimate of an ear or shoulder wobbles by a few pixels, which on the short
    ear-to-shoulder segment is a few degrees; averaging four differently framed estimates
    roughly halves that. Videos don't need this: there, smoothing over time does the averaging.
    """
    import cv2

    h, w = frame.image.shape[:2]
    estimates: list[Pose] = []
    for pad in STILL_PADS:
        py, px = int(h * pad), int(w * pad)
        image = cv2.copyMakeBorder(frame.image, py, py, px, px, cv2.BORDER_REPLICATE) if pad else frame.image
        for mirrored in (False, True):
            view = np.ascontiguousarray(image[:, ::-1]) if mirrored else image
            pose = estimator.estimate(Frame(view, frame.index, frame.t_s))
            if pose is None:
                continue
            if mirrored:
                pose = pose.mirrored()
            estimates.append(Pose(pose.xy_px - (px, py), pose.visibility, pose.world_m, (w, h)))
    # Agreeing estimates only: a copy that found somebody else (or nobody) is left out.
    if len(estimates) < 2:
        return estimates[0] if estimates else None
    centre = np.median([p.xy_px[:25].mean(axis=0) for p in estimates], axis=0)
    scale = max(w, h) * 0.1
    close = [p for p in estimates if np.linalg.norm(p.xy_px[:25].mean(axis=0) - centre) <= scale]
    return Pose.mean(close or estimates)


def _base_options_kwargs(model_path: Path | None) -> dict[str, Any]:
    """``BaseOptions`` arguments for a model: the bundled one (a path when the package is on
    disk, its bytes when it is not, e.g. inside a zip) or a user's ``.task`` file."""
    if model_path is None:
        model = bundled_model()
        if not model.is_file():
            raise ModelUnavailableError(
                f"the bundled pose model {BUNDLED_MODEL} is missing from this install of posture; reinstall it"
            )
        if isinstance(model, Path):
            return {"model_asset_path": str(model)}
        return {"model_asset_buffer": model.read_bytes()}
    path = Path(model_path).expanduser()
    try:
        found = path.is_file()
    except OSError as exc:  # a name too long for the file system (is_file() raises on Python < 3.12)
        raise ModelUnavailableError(f"cannot read the model file {path}: {exc.strerror or exc}") from None
    if not found:
        raise ModelUnavailableError(f"model file not found: {path} (see models/README.md)")
    if path.suffix != ".task":
        raise ModelUnavailableError(
            f"{path.name} is not a .task model; the Tasks API needs pose_landmarker_*.task (see models/README.md)"
        )
    return {"model_asset_path": str(path)}


def open_estimator(
    model: Path | None, *, video: bool, model_complexity: int = 1, sampled: bool = False
) -> PoseEstimator:
    """The estimator for a model choice: a ``.task`` file, else the bundled full model.

    ``model_complexity`` 0 (lite) and 2 (heavy) are not shipped: they need their ``.task`` file,
    because posture never downloads a model. ``sampled``: frames come at a reduced rate and may
    step back in time (to look closer between two samples). MediaPipe's landmark filter, tuned
    for a camera's full frame rate, would lag on them and misread a step back, so it is turned off
    (the metrics are smoothed instead), as the legacy graph's ``smooth_landmarks=False`` did; the
    person is still tracked from one analysed frame to the next.
    """
    if model is None and model_complexity != 1:
        variant = _VARIANTS.get(model_complexity)
        if variant is None:
            raise ModelUnavailableError("model complexity must be 0, 1 or 2")
        raise ModelUnavailableError(
            f"the {variant} pose model is not shipped with posture, which never downloads models; get "
            f"pose_landmarker_{variant}.task (see models/README.md) and pass --model PATH.task"
        )
    return TaskPoseEstimator(model, video=video, smooth=not sampled)
