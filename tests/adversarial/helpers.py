"""The adversarial tests' own drivers: run the CLI in-process or as a process, check the answer's
shape, and watch the processes it leaves (the media they run on come from ``tests/builders.py``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

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


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[bool]:
    """A tmpfs at ``where`` with ``options``; yields False where mounting is not allowed."""
    where.mkdir(exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        yield False
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@contextlib.contextmanager
def read_only_folder(where: Path) -> Iterator[None]:
    """A folder nobody may write into: a read-only tmpfs as root, else one without write
    permission; the test is skipped as root where mounting is not allowed (root ignores
    permissions)."""
    with mounted_tmpfs(where, "ro,size=64k") as mounted:
        if not mounted:
            if os.geteuid() == 0:
                pytest.skip("root ignores folder permissions and may not mount a read-only tmpfs here")
            where.chmod(0o555)
        yield


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


def monitor_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a posture process with a data folder and a runtime folder of its own."""
    return {
        **os.environ,
        "POSTURE_DATA_DIR": str(tmp_path / "data"),
        "POSTURE_RUNTIME_DIR": tempfile.mkdtemp(prefix="psig", dir="/tmp"),
    }


def spawn_monitor(clip: Path, tmp_path: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """``posture monitor`` playing ``clip`` in a loop, as a process; (the process, its environment)."""
    env = monitor_env(tmp_path)
    proc = subprocess.Popen(
        posture_cmd("monitor", "--source", str(clip), "--loop", "--no-context", "--alerts", "console"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, env
