"""The history read back from disk (issue 19, items 10 and 12): rows changed by hand or by another
program are left out and named, the rest is shown; a history the user cannot write to is read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from posture import paths
from posture.outputs.history import HistoryStore, SessionTotals, read_history
from tests.adversarial.helpers import run_cli

pytestmark = pytest.mark.adversarial


def _history(n: int) -> Path:
    """``n`` finished analyze sessions of the last hour, ids 1..n."""
    now = datetime.now(timezone.utc)
    with HistoryStore() as store:
        for i in range(n):
            totals = SessionTotals(duration_s=60.0, present_s=60.0, poor_s=15.0, good_s=45.0, episodes=1)
            start = now - timedelta(minutes=50 - i)
            store.insert("analyze", f"clip{i + 1}.mp4", totals, started=start, ended=start, live=False)
    return paths.history_db_path()


CHANGES = {
    "start-yesterday": "UPDATE sessions SET started = 'yesterday' WHERE id = 2",
    "start-garbage": "UPDATE sessions SET started = 'garbage' WHERE id = 2",
    "start-a-number": "UPDATE sessions SET started = 12 WHERE id = 2",
    "duration-in-words": "UPDATE sessions SET duration_s = 'a while' WHERE id = 2",
    "duration-infinite": "UPDATE sessions SET duration_s = 9e999 WHERE id = 2",
    "present-infinite": "UPDATE sessions SET present_s = 9e999, poor_s = 9e999 WHERE id = 2",
    "share-nan": "UPDATE sessions SET poor_share = -9e999 WHERE id = 2",
    "episodes-huge": "UPDATE sessions SET episodes = 9223372036854775807 WHERE id = 2",
    "source-a-blob": "UPDATE sessions SET source = x'00ff' WHERE id = 2",
    "live-updated-garbage": "UPDATE sessions SET live = 1, updated = 'soon' WHERE id = 2",
    "kind-null-bytes": "UPDATE sessions SET kind = 'live', source = char(27) || '[2J' WHERE id = 2",
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_rows_changed_on_disk(capsys, change: str) -> None:
    db = _history(3)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute(CHANGES[change])
        conn.commit()
    code, out, err = run_cli(["history", "--all"], capsys)
    assert code == 0, err
    assert "Traceback" not in err and "\x1b" not in out
    for good in ("clip1.mp4", "clip3.mp4"):
        assert good in out
    lines = err.splitlines()
    if change == "kind-null-bytes":  # readable, only odd: shown, its escape made harmless
        assert lines == [] and "?[2J" in out
        return
    assert len(lines) == 1 and "id 2" in lines[0] and "changed on disk" in lines[0], lines
    code, out, _err = run_cli(["history", "--all", "--json"], capsys)
    assert code == 0
    json.loads(out)


def test_many_bad_rows_are_counted_not_listed(capsys) -> None:
    db = _history(30)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE sessions SET started = 'garbage'")
        conn.commit()
    listing = read_history(100, kinds=None)
    assert listing.sessions == () and len(listing.unreadable) == 30
    code, _out, err = run_cli(["history", "--all"], capsys)
    assert code == 0
    (line,) = err.splitlines()
    assert "30 session(s)" in line and "and 20 more" in line and len(line) < 200


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[bool]:
    """``folder`` made read-only for real: a read-only bind mount as root, permissions otherwise."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield True
        finally:
            folder.chmod(0o700)
        return
    if shutil.which("mount") is None:
        yield False
        return
    done = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if done.returncode != 0:
        yield False
        return
    try:
        ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True)
        yield ro.returncode == 0
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.parametrize("leftover_wal", [False, True])
def test_a_read_only_history_folder_is_read(capsys, leftover_wal: bool) -> None:
    db = _history(2)
    if leftover_wal:  # a monitor killed mid-session leaves -wal and -shm beside the database
        keep = sqlite3.connect(db)
        keep.execute("PRAGMA wal_autocheckpoint = 0")
        keep.execute("UPDATE sessions SET source = 'renamed.mp4' WHERE id = 1")
        keep.commit()
        shutil.copy(db.with_name(db.name + "-wal"), db.parent / "wal.keep")
        keep.close()
        shutil.copy(db.parent / "wal.keep", db.with_name(db.name + "-wal"))
    with _read_only(db.parent) as read_only:
        if not read_only:
            pytest.skip("cannot make a folder read-only here")
        with pytest.raises(OSError):
            (db.parent / "probe").write_text("x")
        code, out, err = run_cli(["history", "--all"], capsys)
    assert code == 0, err
    assert "clip2.mp4" in out and err == ""
