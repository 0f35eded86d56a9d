"""One recording's analysis, as run by any engine: the same ``run_analysis`` as ``posture
analyze``, into a private folder that the driver renames into place once it is complete.

Everything here crosses process boundaries (and Ray's object store), so the task and its
outcome are small picklable dataclasses, and nothing is printed: warnings the pipeline logs
(a truncated video, say) come back as the outcome's notes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from posture.atomic import atomic_write
from posture.config import Config
from posture.errors import InputError, PostureError
from posture.options import AnalysisOptions
from posture.outputs.staging import claim

if TYPE_CHECKING:
    from posture.analysis import AnalysisOutput

__all__ = [
    "STAMP_NAME",
    "RecordingTask",
    "TaskOutcome",
    "analyse_recording",
    "publish",
    "read_stamp",
]

log = logging.getLogger(__name__)

STAMP_NAME = "batch.json"  # written last into a result: which bytes, with which options


@dataclass(frozen=True)
class RecordingTask:
    video: Path
    rel: str
    person: str
    sha256: str
    options_hash: str
    partial_dir: Path  # where the worker writes; the driver renames it to the result folder
    config: Config
    options: AnalysisOptions  # the batch's, the same for every recording, without a baseline
    baseline: Path | None = None  # this recording's (the people CSV's, a folder profile, the batch's)


@dataclass(frozen=True)
class TaskOutcome:
    video: Path
    ok: bool
    partial_dir: Path
    duration_s: float | None = None  # seconds of video analysed
    error: str | None = None  # one line
    retryable: bool = True  # False for bad input: the same bytes would fail the same way
    notes: tuple[str, ...] = field(default_factory=tuple)
    wall_s: float = 0.0
    pid: int = 0


class _Notes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


AnalyseFn = Callable[[Path, Path, Config, AnalysisOptions], "AnalysisOutput"]  # as run_analysis


def analyse_recording(task: RecordingTask, analyse: AnalyseFn | None = None) -> TaskOutcome:
    """Analyse one recording into ``task.partial_dir``; never raises for a bad recording.

    ``analyse`` is :func:`posture.analysis.run_analysis` (what ``posture analyze`` runs); tests
    pass a stand-in with the same signature."""
    if analyse is None:
        from posture.analysis import run_analysis as analyse

    started = time.monotonic()
    notes = _Notes()
    logger = logging.getLogger("posture")
    logger.addHandler(notes)
    try:
        # Its own baseline may exclude the batch's options (a profile with calibrate_first_s):
        # that recording fails, as bad input, and the others go on.
        options = dataclasses.replace(task.options, baseline=task.baseline)
        output = analyse(task.video, task.partial_dir, task.config, options)
        stamp = {
            "video": str(task.video),
            "rel": task.rel,
            "person": task.person,
            "sha256": task.sha256,
            "options_hash": task.options_hash,
            "duration_s": output.summary.duration_s,
            "notes": notes.lines,
        }
        with atomic_write(task.partial_dir / STAMP_NAME) as fh:
            fh.write(json.dumps(stamp, indent=2) + "\n")
        claim(task.partial_dir, [STAMP_NAME])  # beside the analysis's files, in the folder's marker
        return TaskOutcome(
            task.video,
            True,
            task.partial_dir,
            duration_s=output.summary.duration_s,
            notes=tuple(notes.lines),
            wall_s=time.monotonic() - started,
            pid=os.getpid(),
        )
    except Exception as exc:  # a recording's failure is data for the manifest, not a crash
        shutil.rmtree(task.partial_dir, ignore_errors=True)
        error = str(exc) if isinstance(exc, PostureError) else f"{type(exc).__name__}: {exc}"
        return TaskOutcome(
            task.video,
            False,
            task.partial_dir,
            error=" ".join(error.split()) or type(exc).__name__,
            retryable=not isinstance(exc, InputError),
            notes=tuple(notes.lines),
            wall_s=time.monotonic() - started,
            pid=os.getpid(),
        )
    finally:
        logger.removeHandler(notes)


def read_stamp(folder: Path) -> dict[str, object] | None:
    """A result folder's stamp, or None when it has none (an incomplete or foreign folder)."""
    try:
        data = json.loads((folder / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def publish(partial: Path, final: Path, trash: Path) -> None:
    """Moves a complete result into place with renames only, so the result folder is always
    either the old complete result or the new one, never a mix. The caller has checked that an
    old ``final`` holds only what a batch wrote there (``_Driver.result_problem``)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = trash / f"replaced-{uuid.uuid4().hex}"
        os.replace(final, old)
    os.replace(partial, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
