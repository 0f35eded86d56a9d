"""Pose estimators behind one small interface, returning the project's own :class:`Pose`.

- ``LegacyPoseEstimator``: the full BlazePose model bundled in mediapipe 0.10.21, through
  ``mediapipe.solutions.pose``. The default: offline, always there.
- ``TaskPoseEstimator``: the Tasks ``PoseLandmarker`` for a user-supplied ``.task`` file, in VIDEO
  mode (strictly increasing millisecond timestamps) or IMAGE mode for independent photos.

Nothing here downloads anything: a model that is not on disk is a clear error. MediaPipe is
imported lazily, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from posture.errors import ModelUnavailableError
from posture.landmarks import N_LANDMARKS, Pose
from posture.selection import PersonSelector, desk_score
from posture.source import Frame

__all__ = [
    "MODELS_DIR",
    "LegacyPoseEstimator",
    "PoseEstimator",
    "TaskPoseEstimator",
    "bundled_model_files",
    "estimate_still",
    "find_task_models",
    "open_estimator",
]

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
_LEGACY_FILES = {
    0: "pose_landmark_lite.tflite",
    1: "pose_landmark_full.tflite",
    2: "pose_landmark_heavy.tflite",
}


class PoseEstimator(Protocol):
    name: str

    def estimate(self, frame: Frame) -> Pose | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> PoseEstimator: ...

    def __exit__(self, *exc: object) -> None: ...


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
    from posture.lean_imports import without_unused_imports

    with without_unused_imports():  # no ldconfig, gcc or fc-list at start-up (issue 11)
        import mediapipe

    return mediapipe


def _mediapipe_dir() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def bundled_model_files() -> dict[str, bool]:
    """Which legacy model files the installed mediapipe carries (for ``posture check``)."""
    root = _mediapipe_dir()
    files = {
        "pose_detection.tflite": "pose_detection",
        **{f: "pose_landmark" for f in _LEGACY_FILES.values()},
    }
    return {name: bool(root and (root / "modules" / sub / name).is_file()) for name, sub in files.items()}


def find_task_models(folder: Path = MODELS_DIR) -> list[Path]:
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


class LegacyPoseEstimator:
    """The bundled BlazePose full model via ``mediapipe.solutions.pose``.

    ``video=True`` tracks the person from frame to frame (faster, steadier); ``video=False``
    detects afresh on every image (for unrelated photos). ``smooth_landmarks`` is the graph's own
    temporal filter, tuned for a camera's full frame rate: on sampled frames it lags, the region
    it predicts misses and the detector has to run again, so samplers turn it off and smooth the
    metrics instead.
    """

    def __init__(
        self,
        *,
        video: bool,
        model_complexity: int = 1,
        min_detection_confidence: float = 0.5,
        smooth_landmarks: bool = True,
    ) -> None:
        if model_complexity not in _LEGACY_FILES:
            raise ModelUnavailableError("model complexity must be 0, 1 or 2")
        needed = _LEGACY_FILES[model_complexity]
        if not bundled_model_files().get(needed, False):
            variant = {0: "lite", 1: "full", 2: "heavy"}[model_complexity]
            raise ModelUnavailableError(
                f"the {variant} pose model ({needed}) is not bundled with this mediapipe and posture never "
                f"downloads models; get pose_landmarker_{variant}.task (see models/README.md) and pass "
                f"--model PATH.task"
            )
        mp = _import_mediapipe()
        self.name = f"mediapipe {mp.__version__} bundled {needed}"
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=not video,
            model_complexity=model_complexity,
            smooth_landmarks=smooth_landmarks,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )

    def estimate(self, frame: Frame) -> Pose | None:
        h, w = frame.image.shape[:2]
        result = self._pose.process(_to_rgb(frame))
        if result.pose_landmarks is None:
            return None
        world = result.pose_world_landmarks.landmark if result.pose_world_landmarks else None
        return _from_landmark_list(result.pose_landmarks.landmark, world, w, h)

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> LegacyPoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TaskPoseEstimator:
    """The Tasks ``PoseLandmarker`` for a ``.task`` file; several people are found and the one at
    the desk is chosen by :class:`~posture.selection.PersonSelector`."""

    def __init__(
        self, model_path: Path, *, video: bool, num_poses: int = 2, track: bool | None = None
    ) -> None:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise ModelUnavailableError(f"model file not found: {path} (see models/README.md)")
        if path.suffix != ".task":
            raise ModelUnavailableError(
                f"{path.name} is not a .task model; the Tasks API needs pose_landmarker_*.task (see models/README.md)"
            )
        mp = _import_mediapipe()
        vision = mp.tasks.vision
        options = vision.PoseLandmarkerOptions(
            base_options=mp.tasks.BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_poses=num_poses,
        )
        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise ModelUnavailableError(f"cannot load {path.name} as a pose landmarker: {exc}") from None
        self._mp = mp
        self._video = video
        self._track = video if track is None else track  # follow one person across frames
        self._last_ms = -1
        self._selector = PersonSelector()
        self.name = f"mediapipe {mp.__version__} task {path.name}"

    def estimate(self, frame: Frame) -> Pose | None:
        h, w = frame.image.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=_to_rgb(frame))
        if self._video:
            # VIDEO mode needs strictly increasing whole milliseconds.
            ms = max(round(frame.t_s * 1000.0), self._last_ms + 1)
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


def open_estimator(
    model: Path | None, *, video: bool, model_complexity: int = 1, sampled: bool = False
) -> PoseEstimator:
    """The estimator for a model choice: a ``.task`` file, or the bundled legacy model.

    ``sampled``: frames come at a reduced rate and may step back in time (to look closer
    between two samples), so no temporal filter or strictly increasing clock may be assumed.
    """
    if model is not None:
        # Sampled frames may step back in time, which VIDEO mode refuses: run them as images, but
        # keep following the same person from frame to frame.
        return TaskPoseEstimator(model, video=video and not sampled, track=video)
    return LegacyPoseEstimator(video=video, model_complexity=model_complexity, smooth_landmarks=not sampled)
