"""``posture batch`` stopped by a signal, ``kill -9`` of a Ray batch, and a Ray address where
nothing listens: nothing left marked running, nothing half-written, nothing left running.

Subprocesses (slow). The recordings are the text files of ``tests/fakes.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posture.batch.manifest import Manifest, Status
from tests.adversarial.helpers import (
    ROOT,
    alive,
    assert_one_line_error,
    children_of,
    kill_all,
    run_cli,
    wait_gone,
)
from tests.builders import text_archive

pytestmark = [pytest.mark.adversarial, pytest.mark.slow]

_LOCAL_DRIVER = (
    "import sys\n"
    "from posture._cli.main import main\n"
    "import posture.batch.runner as r, posture.batch.engines as e\n"
    "from tests.fakes import fake_task\n"
    "r.LocalEngine = lambda n: e.LocalEngine(1, fn=fake_task)\n"
    "sys.exit(main(['batch', sys.argv[1], '--out', sys.argv[2], '--no-report', '--quiet']))\n"
)


def _needs_ray() -> None:
    if importlib.util.find_spec("ray") is None:
        reason = 'Ray is not installed (pip install -e ".[dev,ray]")'
        if os.environ.get("POSTURE_REQUIRE_RAY") == "1":
            pytest.fail(f"POSTURE_REQUIRE_RAY=1 but {reason}")
        pytest.skip(reason)


def _wait_for(path: Path, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    assert path.exists(), f"{path.name} never appeared"


def _finish_the_next_run(archive: Path, out: Path) -> None:
    """The slow recording turned quick, the same batch again: it ends with everything done."""
    (archive / "slow.mp4").write_text("ok\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", _LOCAL_DRIVER, str(archive), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [
        (signal.SIGTERM, 143, "posture: stopped by SIGTERM"),
        (signal.SIGINT, 130, "posture: interrupted"),
        (signal.SIGHUP, 129, "posture: stopped by SIGHUP"),
    ],
    ids=["SIGTERM", "SIGINT", "SIGHUP"],
)
def test_a_signal_marks_what_ran_interrupted_and_clears_partial(
    signum: int, code: int, line: str, tmp_path: Path
) -> None:
    archive = text_archive(tmp_path / "a", {"slow.mp4": "slow 120", "zz_quick.mp4": "ok"})
    out = tmp_path / "out"
    driver = subprocess.Popen(
        [sys.executable, "-c", _LOCAL_DRIVER, str(archive), str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    family: set[int] = set()
    try:
        _wait_for(archive / "slow.mp4.pid", driver, 60)
        family = children_of(driver.pid)
        assert any((out / ".partial").iterdir())  # the slow recording is being written
        driver.send_signal(signum)
        _, err = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            kill_all(children_of(driver.pid))
            driver.kill()
        kill_all(family)
    assert driver.returncode == code, err
    assert err.strip() == line, err
    assert not wait_gone(family, 5.0), "a worker outlived the batch"
    assert not (out / ".partial").exists()
    with Manifest(out / "manifest.sqlite3") as manifest:
        states = {s.rel: s for s in manifest.records()}
        attempts = manifest.attempts()
    assert states["slow.mp4"].status is Status.INTERRUPTED
    assert states["zz_quick.mp4"].status is Status.PENDING  # never started
    assert [a.outcome for a in attempts] == ["interrupted"]
    assert not (out / "recordings").exists() or not any((out / "recordings").iterdir())

    _finish_the_next_run(archive, out)  # it analyses it, as if nothing had happened
    with Manifest(out / "manifest.sqlite3") as manifest:
        assert all(s.status is Status.DONE for s in manifest.records())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "address", ["127.0.0.1:{port}", "ray://127.0.0.1:{port}", "localhost:99999", "nonsense"]
)
def test_a_ray_address_where_nothing_listens_fails_at_once(address: str, tmp_path: Path, capsys) -> None:
    _needs_ray()
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    started = time.monotonic()
    code, _, err = run_cli(
        [
            "batch",
            str(archive),
            "--out",
            str(tmp_path / "out"),
            "--engine",
            "ray",
            "--ray-address",
            address.format(port=_free_port()),
            "--quiet",
        ],
        capsys,
    )
    assert time.monotonic() - started < 10
    line = assert_one_line_error(code, err)
    assert "Ray" in line or "--ray-address" in line


_RAY_DRIVER = (
    "import sys; from pathlib import Path\n"
    "from posture.batch import BatchOptions, run_batch\n"
    "from posture.options import AnalysisOptions\n"
    "from posture.batch.ray_engine import RayEngine\n"
    "from posture.config import Config\n"
    "from tests.fakes import fake_task\n"
    "with RayEngine(1, fn=fake_task) as e:\n"
    "    print(e._watchdog is not None, flush=True)\n"
    "    run_batch(BatchOptions((sys.argv[1],), Path(sys.argv[2]), Config(), AnalysisOptions(report=False)), engine=e)\n"
)


def _ray_session_processes(driver_pid: int) -> set[int]:
    from posture.batch.ray_watchdog import default_ray_temp_dir, session_processes

    sessions = list(default_ray_temp_dir().glob(f"session_*_{driver_pid}"))
    return session_processes(sessions)


def _ray_driver(tmp_path: Path, kinds: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    _needs_ray()
    archive = text_archive(tmp_path / "a", kinds)
    driver = subprocess.Popen(
        [sys.executable, "-c", _RAY_DRIVER, str(archive), str(tmp_path / "out")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return driver, archive


def test_kill_9_of_a_ray_batch_leaves_no_ray_process(tmp_path: Path) -> None:
    driver, archive = _ray_driver(tmp_path, {"slow.mp4": "slow 120"})
    family: set[int] = set()
    try:
        _wait_for(archive / "slow.mp4.pid", driver, 180)  # Ray is up and a worker analyses it
        family = children_of(driver.pid) | _ray_session_processes(driver.pid)
        names = {Path(f"/proc/{p}/comm").read_text().strip() for p in family if alive(p)}
        assert any("ray::Dashboard" in n for n in names), names  # the agent that used to stay
        assert any("ray::RuntimeEnv" in n for n in names), names
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
        left = wait_gone(family, 20.0)
        assert not left, {p: Path(f"/proc/{p}/cmdline").read_bytes()[:80] for p in left if alive(p)}
    finally:
        if driver.poll() is None:
            driver.kill()
        kill_all(family | children_of(driver.pid))


def _watchdogs_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"posture.batch.ray_watchdog" in argv and str(pid).encode() in argv:
            found.add(int(entry.name))
    return found


def test_a_ray_batch_that_ends_normally_leaves_nothing_running(tmp_path: Path) -> None:
    driver, _ = _ray_driver(tmp_path, {"one.mp4": "ok"})
    try:
        out, err = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, err[-2000:]
    assert out.splitlines()[0] == "True"  # a local instance: watched
    with Manifest(tmp_path / "out" / "manifest.sqlite3") as manifest:
        assert [s.status for s in manifest.records()] == [Status.DONE]
    left = wait_gone(_ray_session_processes(driver.pid) | _watchdogs_of(driver.pid), 10.0)
    assert not left, left


def test_the_watchdog_ends_only_the_session_s_processes(tmp_path: Path) -> None:
    """Unit of the watchdog: a process with a file open in the session folder goes; one with a
    file open elsewhere, and the watchdog's own parent, stay."""
    session = tmp_path / "ray" / "session_x_1"
    (session / "logs").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    hold = "import sys, time; f = open(sys.argv[1], 'a'); time.sleep(120)"
    inside = subprocess.Popen([sys.executable, "-c", hold, str(session / "logs" / "agent.out")])
    outside = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path / "elsewhere" / "x.log")])
    watchdog = subprocess.Popen(
        [sys.executable, "-m", "posture.batch.ray_watchdog", str(os.getpid()), str(tmp_path / "ray")],
        stdin=subprocess.PIPE,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        time.sleep(1.0)  # both hold their files
        assert watchdog.stdin is not None
        watchdog.stdin.write(f"{session}\n".encode())
        watchdog.stdin.close()
        assert watchdog.wait(timeout=30) == 0
        assert inside.wait(timeout=10) is not None
        assert outside.poll() is None
    finally:
        for proc in (inside, outside, watchdog):
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()


def test_the_manifest_attempts_of_an_interrupted_run_are_not_lost(tmp_path: Path) -> None:
    """After kill -9 (no chance to mark anything), the next run says the attempt was lost."""
    archive = text_archive(tmp_path / "a", {"slow.mp4": "slow 120"})
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-c", _LOCAL_DRIVER, str(archive), str(out)], cwd=ROOT)
    family: set[int] = set()
    try:
        _wait_for(archive / "slow.mp4.pid", driver, 60)
        family = children_of(driver.pid)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
        assert not wait_gone(family, 5.0)
    finally:
        if driver.poll() is None:
            driver.kill()
        kill_all(family)
    _finish_the_next_run(archive, out)
    assert not (out / ".partial").exists()
    with contextlib.closing(sqlite3.connect(out / "manifest.sqlite3")) as db:
        assert [r[0] for r in db.execute("SELECT outcome FROM attempts ORDER BY id")] == ["lost", "done"]
