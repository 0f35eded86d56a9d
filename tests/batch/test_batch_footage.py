"""posture batch on real footage: twelve short recordings cut from ../shared/footage, killed with
SIGKILL half-way and run again, with the local engine and with Ray on this machine.

The Ray case is skipped only where Ray is not installed; POSTURE_REQUIRE_RAY=1 (CI) makes that a
failure.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posture.batch.manifest import Manifest, Status
from tests.builders import Archive, build_archive

pytestmark = [pytest.mark.footage, pytest.mark.mediapipe]

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_RAY = os.environ.get("POSTURE_REQUIRE_RAY") == "1"
KILL_AFTER_DONE = 3  # recordings complete before the kill (of 10 that can be analysed)


@pytest.fixture(scope="module")
def archive(footage: Path, tmp_path_factory: pytest.TempPathFactory) -> Archive:
    return build_archive(footage, tmp_path_factory.mktemp("archive"))


def _need_ray() -> None:
    if importlib.util.find_spec("ray") is not None:
        return
    reason = 'Ray is not installed (pip install -e ".[dev,ray]" to run the Ray engine test)'
    if REQUIRE_RAY:
        pytest.fail(f"POSTURE_REQUIRE_RAY=1 but {reason}")
    pytest.skip(reason)


def _query(db_path: Path, sql: str) -> list[tuple]:
    """Reads the manifest the running batch writes (WAL: readers never block it)."""
    if not db_path.exists():
        return []
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.OperationalError:  # not created yet
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text(encoding="ascii")
            except OSError:
                continue
            if int(stat.rsplit(") ", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _ray_leftovers(driver_pid: int) -> list[int]:
    """Processes of the Ray instance that a killed driver started: its session folder, named
    after the driver's pid, is on their command line or among their open files (Ray's agents
    rename themselves). Ray's own agents can outlive a driver killed with SIGKILL; the workers
    cannot."""
    mark = f"_{driver_pid}/"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            files = [os.readlink(fd) for fd in (entry / "fd").iterdir()] if mark not in cmd else []
        except OSError:
            continue
        if mark in cmd or any(mark in f for f in files):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_batch_killed_half_way_resumes_without_losing_or_repeating(
    engine: str, archive: Archive, tmp_path: Path
) -> None:
    if engine == "ray":
        _need_ray()
    out = tmp_path / "results"
    db = out / "manifest.sqlite3"
    cmd = [
        sys.executable,
        "-m",
        "posture",
        "batch",
        str(archive.root),
        "--out",
        str(out),
        "--people",
        str(archive.people_csv),
        "--engine",
        engine,
        "--workers",
        "2",
        "--hold",
        "1",
        "--quiet",
    ]
    first = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    leftovers: list[int] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and first.poll() is None:
            if len(_query(db, "SELECT path FROM recordings WHERE status='done'")) >= KILL_AFTER_DONE:
                break
            time.sleep(0.1)
        assert first.poll() is None, f"the batch ended before the kill: {first.communicate()}"
        workers = set(_children(first.pid)) if engine == "local" else set()
        workers |= {pid for (pid,) in _query(db, "SELECT pid FROM attempts WHERE pid IS NOT NULL")}
        os.kill(first.pid, signal.SIGKILL)
        first.communicate()
        done_before = {p for (p,) in _query(db, "SELECT path FROM recordings WHERE status='done'")}
        assert KILL_AFTER_DONE <= len(done_before) < len(archive.analysable)

        # Every worker goes with the driver: none can finish a recording behind the next run's back.
        deadline = time.monotonic() + 20
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in workers if _alive(p)], "workers outlived the killed driver"
        if engine == "ray":
            leftovers = _ray_leftovers(first.pid)

        second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    finally:
        if first.poll() is None:
            first.kill()
        for pid in leftovers:  # Ray's dashboard and runtime-env agents of the killed instance
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert second.returncode == 1, second.stderr  # 1: some recordings failed
    assert "2 failed" in second.stdout, second.stdout

    with Manifest(db) as manifest:
        states = {Path(s.path): s for s in manifest.records()}
        attempts = manifest.attempts()
    analysable = {p.resolve() for p in archive.analysable}
    bad = {p.resolve() for p in archive.bad}
    assert set(states) == analysable | bad

    # Every good recording: exactly one complete result, analysed to completion exactly once.
    for path in analysable:
        assert states[path].status is Status.DONE, (path, states[path])
        done = [a for a in attempts if a.path == str(path) and a.outcome == "done"]
        assert len(done) == 1, (path, done)
    # Nothing complete before the kill was analysed again after it.
    run2 = {a.run_id for a in attempts if a.path in done_before and a.outcome == "done"}
    again = [a for a in attempts if a.path in done_before and a.run_id not in run2]
    assert not again, again
    # The bad ones: failed, with their reason, and not retried (bad input).
    for path in bad:
        st = states[path]
        assert st.status is Status.FAILED and not st.retryable
        assert "is not a video OpenCV can open" in (st.error or ""), st.error
    assert states[archive.truncated_ok.resolve()].note and "analysed what could be read" in (
        states[archive.truncated_ok.resolve()].note or ""
    )

    stamps = sorted((out / "recordings").rglob("batch.json"))
    assert len(stamps) == len(analysable)
    assert {json.loads(s.read_text())["video"] for s in stamps} == {str(p) for p in analysable}
    for stamp in stamps:
        for name in ("timeline.csv", "summary.json", "events.json", "report.html"):
            assert (stamp.parent / name).is_file(), (stamp.parent, name)
    assert not (out / ".partial").exists()

    # cohort.csv says what each recording's summary.json says.
    with (out / "cohort.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(states)
    by_rel = {s.rel: s for s in states.values()}
    for row in rows:
        st = by_rel[row["recording"]]
        if st.status is Status.FAILED:
            assert row["status"] == "failed" and row["error"] == st.error
            continue
        summary = json.loads((out / row["result"] / "summary.json").read_text(encoding="utf-8"))
        assert row["status"] == "ok" and row["person"] == st.person
        assert float(row["duration_s"]) == summary["duration_s"]
        assert int(row["frames_analysed"]) == summary["frames_analysed"]
        assert int(row["episodes"]) == summary["episodes"]
        assert row["view"] == summary["view"]
        for verdict in ("good", "poor", "uncertain", "away"):
            assert float(row[f"share_{verdict}"]) == summary["share"][verdict]
        assert float(row["poor_share_of_present"]) == summary["poor_share_of_present"]
        tops = [item.split(":")[0] for item in row["top_findings"].split(";") if item]
        assert (tops[0] if tops else None) == summary["top_finding"]
    assert {r["person"] for r in rows} == {"alice", "bob", "deeper"}

    # A third run finds nothing to do.
    n_attempts = len(attempts)
    third = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert "0 analysed now" in third.stdout, third.stdout
    with Manifest(db) as manifest:
        assert len(manifest.attempts()) == n_attempts
