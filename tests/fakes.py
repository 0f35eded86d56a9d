"""The shared stand-ins: a scripted pose estimator, the live monitor's camera, clock, sink and
history, the batch's analysis and engine, and an OpenCV that cannot write.

The estimator is injected through its factory (``Pipeline(config, estimators=...)``,
``main(argv, estimators=...)``), never by monkeypatching; it pickles, so parallel workers (spawned
processes) can open it too. Shared by the test modules with ``tests/builders.py``.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from posture.analysis import AnalysisOutput
from posture.batch.task import analyse_recording
from posture.config import Config
from posture.errors import CameraUnavailableError, NotAMediaError
from posture.landmarks import Pose
from posture.live.monitor import Monitor
from posture.options import AnalysisOptions
from posture.outputs.staging import staged_output
from posture.sources.media import Frame


@dataclass(frozen=True)
class Script:
    """Segments of (seconds, pose or None): the pose the person holds, one segment after another."""

    segments: tuple[tuple[float, Pose | None], ...]

    def pose_at(self, t_s: float) -> Pose | None:
        end = 0.0
        for seconds, pose in self.segments:
            end += seconds
            if t_s < end - 1e-9:
                return pose
        return self.segments[-1][1] if self.segments else None


class ScriptedEstimator:
    """A pose estimator that returns the script's pose for each frame's time.

    ``script`` is a :class:`Script` or any function of the frame's time; ``calls`` lists the
    times it was asked about.
    """

    name = "scripted"

    def __init__(
        self, script: Script | Callable[[float], Pose | None], *, video: bool = True, sampled: bool = False
    ) -> None:
        self.pose_at = script.pose_at if isinstance(script, Script) else script
        self.video, self.sampled = video, sampled
        self.closed = False
        self.calls: list[float] = []

    def estimate(self, frame: Frame) -> Pose | None:
        assert not self.closed, "estimate() after close()"
        self.calls.append(frame.t_s)
        return self.pose_at(frame.t_s)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> ScriptedEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class ScriptedEstimators:
    """An estimator factory (``Pipeline(config, estimators=ScriptedEstimators(script))``)."""

    script: Script

    def __call__(
        self, model: Path | None, *, video: bool, model_complexity: int = 1, sampled: bool = False
    ) -> ScriptedEstimator:
        return ScriptedEstimator(self.script, video=video, sampled=sampled)


class ClosedVideoWriter:
    """Stands in for ``cv2.VideoWriter`` in an OpenCV build that cannot write the format."""

    def __init__(self, *args: object) -> None:
        pass

    def isOpened(self) -> bool:
        return False

    def release(self) -> None:
        pass


# -- the live monitor's parts ----------------------------------------------------------------------------

EPOCH = 1_800_000_000.0  # the fake wall clock's start (unix time)


class Clock:
    """A fake clock the monitor reads and sleeps on: ``t`` seconds, and a wall clock from EPOCH."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += max(s, 0.001)

    def wall(self) -> datetime:
        return datetime.fromtimestamp(EPOCH + self.t, tz=timezone.utc)


class FakeCamera:
    """Frames on demand; ``down`` is a list of (start, end) times when the camera is gone."""

    name = "fake camera"

    def __init__(self, clock: Clock, down: tuple[tuple[float, float], ...] = ()) -> None:
        self.clock = clock
        self.down = down
        self.is_open = False
        self.opens = 0
        self.closes = 0
        self.reads = 0

    def _gone(self) -> bool:
        return any(a <= self.clock.t < b for a, b in self.down)

    def open(self) -> None:
        if self._gone():
            raise CameraUnavailableError("camera gone")
        self.is_open = True
        self.opens += 1

    def close(self) -> None:
        self.is_open = False
        self.closes += 1

    @property
    def ended(self) -> bool:
        return False

    def read(self) -> Frame | None:
        assert self.is_open, "read from a closed camera"
        if self._gone():
            return None
        self.reads += 1
        return Frame(np.zeros((4, 4, 3), np.uint8), self.reads, self.clock.t)


class CollectSink:
    """An alert sink that keeps what it is sent."""

    def __init__(self) -> None:
        self.sent = []

    def send(self, note) -> None:
        self.sent.append(note)


class FakeHistory:
    """The history's live session (a SessionRecord), kept in memory."""

    def __init__(self) -> None:
        self.session_id = None
        self.updates = []
        self.finished = None

    def start(self, source: str) -> int:
        self.session_id = 1
        return 1

    def update(self, totals) -> None:
        self.updates.append(totals)

    def finish(self, totals) -> None:
        self.finished = totals


def fake_monitor(script, *, duration=120.0, hold=20.0, down=(), history=None, context=None, config=None):
    """A Monitor on a fake camera, clock, sink and the scripted estimator: (monitor, camera, sink, clock)."""
    clock = Clock()
    camera = FakeCamera(clock, down)
    # The fake camera's frames are all alike; these tests script the poses, so look every time.
    config = (config or Config()).replace("detector", hold_s=hold).replace("change_gate", enabled=False)
    sink = CollectSink()
    monitor = Monitor(
        config,
        camera,
        ScriptedEstimator(script),
        sinks=[sink],
        duration_s=duration,
        clock=clock,
        wall=clock.wall,
        sleep=clock.sleep,
        history=history,
        context=context,
    )
    return monitor, camera, sink, clock


# -- batch: recordings that need no video and no pose model --------------------------------------------
# A "recording" is a small text file named .mp4 whose content says how its analysis goes: ``ok`` (a
# hand-built session), ``bad`` (bad input), ``crash`` (the worker process dies), ``flaky`` (fails
# once, then works), ``slow SECONDS`` (sleeps, for kill tests). Every analysis appends the video's
# name to ``calls.log`` beside it, so a test can count them across processes.


def fake_run_analysis(video: Path, out_dir: Path, config: Any, options: AnalysisOptions) -> AnalysisOutput:
    from posture.outputs.session_files import analysis_summary, write_outputs
    from tests.builders import make_result, side_session

    words = video.read_text(encoding="utf-8").split()
    with (video.parent / "calls.log").open("a", encoding="utf-8") as fh:
        fh.write(f"{video.name} {os.getpid()}\n")
    kind = words[0] if words else "bad"
    if kind == "bad":
        raise NotAMediaError(f"{video} is not a video OpenCV can open")
    if kind == "crash":
        os._exit(3)
    if kind == "flaky":
        marker = video.with_suffix(".failed-once")
        if not marker.exists():
            marker.touch()
            raise RuntimeError("a passing hiccup")
    if kind == "slow":
        (video.parent / f"{video.name}.pid").write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(float(words[1]))
    readings, episodes = side_session()
    result = make_result(readings, episodes, source=video)
    summary = analysis_summary(result)
    with staged_output(out_dir) as staging:  # as run_analysis: the files and their marker
        files = write_outputs(result, summary, staging)
        if options.report:
            from posture.outputs.report import write_report

            write_report(result, summary, staging / "report.html", files.files, key_frames=False)
    return AnalysisOutput(summary, {k: out_dir / v.name for k, v in files.files.items()})


fake_task = functools.partial(analyse_recording, analyse=fake_run_analysis)


def calls(folder: Path) -> list[str]:
    log = folder / "calls.log"
    return [line.split()[0] for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []


class SerialEngine:
    """An engine that analyses each recording in this process, one after another (no worker
    processes to start: for fast tests of the driver). Same protocol as ``LocalEngine``."""

    name = "serial"
    workers = 1

    def __init__(self, fn: Any = fake_task) -> None:
        self._fn = fn

    def __enter__(self) -> SerialEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def run(self, tasks: Any, on_start: Any) -> Any:
        for task in tasks:
            on_start(task)
            yield self._fn(task)
