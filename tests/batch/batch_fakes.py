"""Stand-ins for the batch tests that need no video and no pose model.

A "recording" is a small text file named .mp4 whose content says how its analysis goes:
``ok`` (a hand-built session), ``bad`` (bad input), ``crash`` (the worker process dies),
``flaky`` (fails once, then works), ``slow SECONDS`` (sleeps, for kill tests). Every analysis
appends the video's name to ``calls.log`` beside it, so a test can count them across processes.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

from posture.analysis import AnalysisOutput
from posture.batch.task import analyse_recording
from posture.errors import NotAMediaError
from posture.outputs.staging import staged_output


def fake_run_analysis(video: Path, out_dir: Path, config: Any, **options: Any) -> AnalysisOutput:
    from posture.outputs.session_files import analysis_summary, write_outputs
    from tests.outputs.test_report import make_result, side_session

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
        if options.get("report", True):
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
