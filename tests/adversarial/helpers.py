"""Shared pieces of the adversarial tests: run the CLI and check the answer's shape."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from posture._cli.main import main
from posture.pose.estimator import EstimatorFactory

ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    argv: Sequence[str], capsys, *, estimators: EstimatorFactory | None = None
) -> tuple[int, str, str]:
    """The CLI in-process (with the pose model ``estimators`` opens, MediaPipe's by default);
    returns (exit code, stdout, stderr)."""
    code = main(list(argv), estimators=estimators)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *, expected: int = 2) -> str:
    """Exit ``expected``, exactly one line on stderr, no traceback; returns the line."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected, f"exit {code}, stderr: {err!r}"
    assert "Traceback" not in err, err
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    assert lines[0].startswith("posture"), lines[0]
    assert "unexpected error" not in lines[0], lines[0]
    return lines[0]


def write_video(
    path: Path, seconds: float = 2.0, fps: float = 10.0, fourcc: str = "MJPG", grey: int | None = None
) -> Path:
    """A small synthetic clip (nobody in it) for runs that must reach the outputs: its frames
    change, or are all of one ``grey`` level."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (160, 120))
    for i in range(round(seconds * fps)):
        writer.write(np.full((120, 160, 3), 40 + (i * 5) % 200 if grey is None else grey, np.uint8))
    writer.release()
    return path


def write_png(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    from PIL import Image

    Image.new("RGB", size, (90, 120, 150)).save(path)
    return path


def posture_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "posture", *args]


def children_of(pid: int) -> set[int]:
    """Every descendant process of ``pid`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_gone(pids: set[int], timeout_s: float) -> set[int]:
    """The pids still alive after up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {p for p in left if alive(p)}
    return left


def kill_all(pids: set[int]) -> None:
    """Clean-up after a failed test: nothing a test started survives it."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        kill_all(children_of(proc.pid))
        proc.kill()
    proc.wait(timeout=10)
