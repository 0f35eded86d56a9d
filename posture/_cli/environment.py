"""What ``posture check`` reports: where posture keeps things and what this machine can do.

:func:`check_environment` returns plain data, one :class:`Item` per line; the CLI prints it. An
item is ``fail`` only when something that breaks commands the user can run is wrong (no
MediaPipe, a pose model that does not load, a config file that does not parse, no way to write
an annotated video); a missing camera or notifier is a ``note`` that says which commands it
affects.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from posture import DISTRIBUTION, extra_hint
from posture.sources.camera import cameras_found

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["Item", "Probes", "Status", "check_environment", "model_items", "video_encoder"]

log = logging.getLogger(__name__)

Status = str  # "ok", "note" (works, with a limit worth knowing) or "fail" (breaks commands)


@dataclass(frozen=True)
class Item:
    label: str
    value: str
    status: Status = "ok"


def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def video_encoder() -> str | None:
    """The encoder an annotated video would be written with here (the writer's own probe, on a
    tiny file), as "name (container)", or None."""
    from posture.outputs.video import probe_encoder

    encoder = probe_encoder()
    return None if encoder is None else f"{encoder.name} ({encoder.suffix[1:]})"


def _config_items() -> list[Item]:
    from posture.config import load_config
    from posture.errors import ConfigError
    from posture.paths import config_path

    path = config_path()
    if not path.is_file():
        return [Item("config file", f"none, defaults in use (one would go at {path})")]
    try:
        config = load_config(path)
    except ConfigError as exc:
        return [Item("config file", f"{path}: {exc}", "fail")]
    items = [Item("config file", str(path))]
    model = config.analysis.model
    if model is not None:
        ok = Path(model).is_file()
        items.append(
            Item("configured model", f"{model}" + ("" if ok else " (not found)"), "ok" if ok else "fail")
        )
    return items


def model_items(model: Traversable | None = None) -> list[Item]:
    """The bundled pose model (or ``model`` in its place): there, intact, and whether it loads."""
    from posture.errors import ModelUnavailableError
    from posture.paths import models_dir
    from posture.pose.estimator import (
        BUNDLED_MODEL,
        BUNDLED_MODEL_ORIGIN,
        bundled_model,
        find_task_models,
    )

    items: list[Item] = []
    model = bundled_model() if model is None else model
    if not model.is_file():
        return [
            Item("pose model", f"{BUNDLED_MODEL} is missing from this install: reinstall posture", "fail")
        ]
    data = model.read_bytes()
    sums = (
        (model.parent / "SHA256SUMS").read_text().split() if (model.parent / "SHA256SUMS").is_file() else []
    )
    intact = hashlib.sha256(data).hexdigest() in sums
    try:
        from posture.pose.estimator import TaskPoseEstimator

        with TaskPoseEstimator(None, video=False):
            loads = True
    except ModelUnavailableError as exc:
        log.info("%s", exc)
        loads = False
    value = f"{BUNDLED_MODEL} ({BUNDLED_MODEL_ORIGIN}; {len(data) / 1e6:.1f} MB, " + (
        "checksum ok" if intact else "checksum differs from SHA256SUMS"
    )
    value += ", loads)" if loads else ", does NOT load: reinstall posture)"
    items.append(Item("pose model", value, "ok" if loads else "fail"))
    items.append(Item("pose model path", str(model)))
    folder = models_dir()
    tasks = find_task_models(folder)
    found = ", ".join(p.name for p in tasks) if tasks else "none"
    items.append(Item("models folder", f"{folder} (.task files: {found}; use one with --model PATH.task)"))
    return items


@dataclass(frozen=True)
class Probes:
    """How :func:`check_environment` looks at this machine where the machine decides the answer
    (tests give their own): the cameras, the pose model, the annotated video's encoder."""

    cameras: Callable[[], list[int]] = cameras_found
    pose_model: Callable[[], list[Item]] = model_items  # loads the model (MediaPipe): about a second
    video_encoder: Callable[[], str | None] = video_encoder


def check_environment(probes: Probes | None = None) -> list[Item]:
    """Everything ``posture check`` reports, in the order it prints it."""
    from posture.live.alerts import desktop_program, sound_command
    from posture.paths import history_db_path, runtime_dir

    items = [
        Item("python", sys.version.split()[0]),
        Item("posture", _version(DISTRIBUTION) or "not installed"),
    ]

    mediapipe = _version("mediapipe")
    try:
        from posture.pose.estimator import _import_mediapipe

        _import_mediapipe().tasks.vision.PoseLandmarker  # noqa: B018 - the API posture runs
        items.append(Item("mediapipe", f"{mediapipe} (Tasks PoseLandmarker)"))
        mediapipe_ok = True
    except (ImportError, AttributeError) as exc:
        items.append(
            Item(
                "mediapipe",
                f"{mediapipe or 'not installed'}: {exc}; pip install 'mediapipe>=0.10.32'",
                "fail",
            )
        )
        mediapipe_ok = False
    items.append(Item("opencv", _version("opencv-contrib-python") or "opencv-contrib-python not installed"))
    clash = _version("opencv-python")
    if clash is not None:
        items.append(
            Item(
                "opencv clash",
                f"opencv-python {clash} is installed beside opencv-contrib-python and they overwrite each "
                "other's cv2: pip uninstall opencv-python, then reinstall opencv-contrib-python",
                "fail",
            )
        )
    probes = probes or Probes()
    if mediapipe_ok:
        items += probes.pose_model()
    items += _config_items()

    db = history_db_path()
    items.append(
        Item("history database", f"{db}" + ("" if db.is_file() else " (created by the first session)"))
    )
    items.append(
        Item("runtime folder", f"{runtime_dir()} (status, pause and resume talk to the monitor here)")
    )

    encoder = probes.video_encoder()
    if encoder is None:
        items.append(
            Item(
                "annotated video",
                "no encoder works here: demo and analyze --annotate cannot write one; "
                + extra_hint("h264", "imageio-ffmpeg"),
                "fail",
            )
        )
    else:
        hint = (
            ""
            if encoder.startswith("ffmpeg-h264")
            else f"; {extra_hint('h264', 'imageio-ffmpeg')} for H.264 MP4"
        )
        items.append(Item("annotated video", encoder + hint))

    found = probes.cameras()
    if found:
        items.append(Item("cameras", ", ".join(str(i) for i in found)))
    else:
        items.append(
            Item(
                "cameras",
                "none found (tried 0-3): monitor and calibrate need one; analyze, measure and demo do not",
                "note",
            )
        )

    desktop = desktop_program()
    import shutil

    where = shutil.which(desktop) if desktop else None
    items.append(
        Item(
            "notifications",
            where
            or f"{desktop or 'none for ' + sys.platform} not found: desktop alerts will not show (console alerts still do)",
            "ok" if where else "note",
        )
    )
    sound = sound_command()
    items.append(
        Item(
            "sound",
            " ".join(sound)
            if sound
            else "no player and system sound found: sound alerts ring the terminal bell",
            "ok" if sound else "note",
        )
    )
    items.append(_tray_item())
    return items


def _tray_item() -> Item:
    """The tray extra and whether this session has a tray to show its icon in."""
    pystray = _version("pystray")
    if pystray is None:
        return Item(
            "tray", f"pystray not installed: posture tray needs {extra_hint('tray', 'pystray')}", "note"
        )
    from posture.live.tray_icon import tray_host

    why_not = tray_host()
    if why_not is not None:
        return Item("tray", f"pystray {pystray}; no icon here: {why_not} (the tray runs without one)", "note")
    return Item("tray", f"pystray {pystray}")
