"""``posture batch`` against what a hostile or unlucky archive, results folder or manifest holds.

A tampered manifest never makes the batch write outside its results folder; a results folder
that already holds the user's files keeps them; FIFOs, devices, broken links and link loops in the
archive are failed recordings with a reason, never a hang or an abort; names that would be a
spreadsheet formula, a terminal escape or TeX stay text. Recordings are the small text files of
``tests/fakes.py`` analysed in this process (``SerialEngine``), so no video and no
pose model is needed.
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture.batch.manifest import Manifest, Status
from posture.geometry import View
from posture.outputs.staging import MARKER_NAME
from posture.outputs.timeline import csv_cell
from tests.adversarial.helpers import assert_one_line_error, mounted_tmpfs, read_only_folder, run_cli
from tests.builders import text_archive
from tests.fakes import SerialEngine, calls

pytestmark = pytest.mark.adversarial


@pytest.fixture(autouse=True)
def _in_process_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    import posture.batch.runner as runner

    monkeypatch.setattr(runner, "LocalEngine", lambda n: SerialEngine())


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Fails the test instead of hanging it (SIGALRM in the main thread)."""

    def expired(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _batch(archive: Path, out: Path, capsys, *extra: str) -> tuple[int, str, str]:
    with _deadline(60):
        return run_cli(["batch", str(archive), "--out", str(out), "--quiet", "--no-report", *extra], capsys)


def _states(out: Path) -> dict[str, object]:
    with Manifest(out / "manifest.sqlite3") as m:
        return {s.rel: s for s in m.records()}


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (content) and folder (None) below ``folder``."""
    return {
        str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


def _failure_lines(err: str) -> list[str]:
    assert "Traceback" not in err and "unexpected error" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith("posture: failed: ") for line in lines), lines
    return lines


# -- item 3: a tampered manifest --------------------------------------------------------------------


@pytest.fixture()
def victim(tmp_path: Path) -> Path:
    folder = tmp_path / "victim"
    (folder / "data").mkdir(parents=True)
    (folder / "thesis.tex").write_text("four years of work")
    (folder / "data" / "results.csv").write_text("1,2,3")
    return folder


@pytest.mark.parametrize("where", ["relative", "absolute", "inside"])
def test_a_tampered_result_folder_never_leads_outside(
    where: str, tmp_path: Path, victim: Path, capsys
) -> None:
    archive = text_archive(tmp_path / "a", {"alice/one.mp4": "ok"})
    out = tmp_path / "results"
    assert _batch(archive, out, capsys)[0] == 0
    before = _tree(victim)
    folder = {"relative": "../../victim", "absolute": str(victim), "inside": "../manifest.sqlite3/x"}[where]
    with contextlib.closing(sqlite3.connect(out / "manifest.sqlite3")) as db, db:
        db.execute("UPDATE recordings SET folder=?, sha256='changed'", (folder,))  # and analyse it again
    code, _, err = _batch(archive, out, capsys)
    assert code == 0, err
    (line,) = err.splitlines()
    assert (
        line.startswith("posture: manifest.sqlite3: ignoring the row of ")
        and "not one posture derives" in line
    )
    assert _tree(victim) == before
    assert _states(out)["alice/one.mp4"].folder == "alice/one"
    assert calls(archive / "alice") == ["one.mp4", "one.mp4"]


@pytest.mark.parametrize(
    "change",
    [
        "status='garbage'",
        "failures='many'",
        "size='big', mtime_ns=-1.5",
        "duration_s='inf'",
        "retryable=7",
        "person=x'ff'",
        "path=x'00ff'",
    ],
)
def test_every_value_read_back_is_checked(change: str, tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok", "two.mp4": "ok"})
    out = tmp_path / "results"
    assert _batch(archive, out, capsys)[0] == 0
    with contextlib.closing(sqlite3.connect(out / "manifest.sqlite3")) as db, db:
        db.execute(f"UPDATE recordings SET {change} WHERE rel='one.mp4'")
    code, _, err = _batch(archive, out, capsys)
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) <= 1 and all("ignoring the row of" in line for line in lines), err
    states = _states(out)
    assert states["one.mp4"].status is Status.DONE and states["two.mp4"].status is Status.DONE
    assert calls(archive).count("two.mp4") == 1  # the sound row is still trusted: not analysed again


def test_a_manifest_of_another_version_or_shape_is_one_line(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    out = tmp_path / "results"
    assert _batch(archive, out, capsys)[0] == 0
    with contextlib.closing(sqlite3.connect(out / "manifest.sqlite3")) as db, db:
        db.execute("UPDATE meta SET value='9999999999999999999999' WHERE key='version'")
    code, _, err = _batch(archive, out, capsys)
    assert "another version" in assert_one_line_error(code, err)
    with contextlib.closing(sqlite3.connect(out / "manifest.sqlite3")) as db, db:
        db.execute("UPDATE meta SET value='1' WHERE key='version'")
        db.execute("ALTER TABLE recordings DROP COLUMN note")
    code, _, err = _batch(archive, out, capsys)
    assert "table was changed" in assert_one_line_error(code, err)


def test_someone_elses_database_named_manifest_is_left_alone(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    out = tmp_path / "results"
    out.mkdir()
    with contextlib.closing(sqlite3.connect(out / "manifest.sqlite3")) as db, db:
        db.execute("CREATE TABLE invoices (n INTEGER)")
    before = (out / "manifest.sqlite3").read_bytes()
    code, _, err = _batch(archive, out, capsys)
    assert "not a posture batch manifest" in assert_one_line_error(code, err)
    assert (out / "manifest.sqlite3").read_bytes() == before
    assert calls(archive) == []


# -- item 14: a results folder that holds the user's own files --------------------------------------


@pytest.mark.parametrize(
    "users",
    [
        {".partial/notes.txt": "my notes"},
        {"cohort.csv": "my,own,cohort"},
        {"cohort.html": "<p>mine</p>"},
        {"recordings/one/audio.wav": "RIFF"},
        {"recordings/one": "a file where a result folder would go"},
        {MARKER_NAME: "not posture's"},
    ],
    ids=["partial", "cohort.csv", "cohort.html", "audio.wav", "file", "marker"],
)
def test_batch_into_a_folder_with_the_users_files(users: dict[str, str], tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    out = text_archive(tmp_path / "results", users)
    before = _tree(out)
    code, _, err = _batch(archive, out, capsys)
    line = assert_one_line_error(code, err)
    name = next(iter(users))
    assert str(out / name.split("/")[0]) in line  # names the file, or the folder that holds it
    assert {k: v for k, v in _tree(out).items() if k in before} == before  # nothing lost or replaced
    assert calls(archive) == []  # refused before any work


def test_a_refused_run_leaves_nothing_that_vouches_for_the_users_files(tmp_path: Path, capsys) -> None:
    """Each refusal names the next file of the user's: a refused run writes no manifest or marker
    that would make the next one take the user's cohort.csv for a batch's."""
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    out = text_archive(tmp_path / "results", {".partial/notes.txt": "mine", "cohort.csv": "my,cohort"})
    code, _, err = _batch(archive, out, capsys)
    assert str(out / ".partial") in assert_one_line_error(code, err)
    assert sorted(p.name for p in out.iterdir()) == [".lock", ".partial", "cohort.csv"]
    (tmp_path / "notes.txt").write_bytes((out / ".partial" / "notes.txt").read_bytes())
    (out / ".partial" / "notes.txt").unlink()
    (out / ".partial").rmdir()
    code, _, err = _batch(archive, out, capsys)
    assert str(out / "cohort.csv") in assert_one_line_error(code, err)
    assert (out / "cohort.csv").read_text() == "my,cohort\n"


def test_a_file_the_user_put_into_a_result_folder_is_never_deleted(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    out = tmp_path / "results"
    assert _batch(archive, out, capsys)[0] == 0
    (out / "recordings" / "one" / "audio.wav").write_bytes(b"RIFF my interview")
    code, _, err = _batch(archive, out, capsys, "--hold", "3")  # other options: analysed again
    assert str(out / "recordings" / "one" / "audio.wav") in assert_one_line_error(code, err)
    assert (out / "recordings" / "one" / "audio.wav").read_bytes() == b"RIFF my interview"
    assert not (out / ".partial").exists()


@pytest.mark.slow
def test_a_result_the_user_edited_is_not_replaced_but_its_own_are(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok", "two.mp4": "ok"})
    out = tmp_path / "results"
    assert _batch(archive, out, capsys)[0] == 0
    (out / "recordings" / "one" / "summary.json").write_text("{}")
    code, _, err = _batch(archive, out, capsys, "--hold", "3")
    assert "summary.json" in assert_one_line_error(code, err)
    (out / "recordings" / "one" / "summary.json").unlink()  # the user takes theirs away
    code, _, err = _batch(archive, out, capsys, "--hold", "3")
    assert code == 0, err
    assert calls(archive).count("one.mp4") == 2 and calls(archive).count("two.mp4") == 2


@pytest.mark.slow
def test_results_of_a_posture_before_markers_are_still_replaced(tmp_path: Path, capsys) -> None:
    """A results folder an earlier version made (no markers, no sentinel) is posture's all the same."""
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    out = tmp_path / "results"
    assert _batch(archive, out, capsys)[0] == 0
    for marker in out.rglob(MARKER_NAME):
        marker.unlink()
    (out / ".partial" / "one.0123abcd").mkdir(parents=True)  # left by a run killed with kill -9
    code, _, err = _batch(archive, out, capsys, "--hold", "3")
    assert code == 0, err
    assert calls(archive) == ["one.mp4", "one.mp4"] and not (out / ".partial").exists()


# -- item 4: formulas in cohort.csv ------------------------------------------------------------------


def test_names_that_are_formulas_are_text_in_cohort_csv(tmp_path: Path, capsys) -> None:
    names = ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "+cmd", "-2+3"]
    archive = text_archive(tmp_path / "a", {f"{n}/rec.mp4": "ok" for n in names} | {"bad.mp4": "bad"})
    people = tmp_path / "people.csv"
    people.write_text("file,person,baseline\na/bad.mp4,\"=cmd|' /C calc'!A0\",\n", encoding="utf-8")
    out = tmp_path / "results"
    code, _, err = _batch(archive, out, capsys, "--people", str(people))
    assert code == 1 and len(_failure_lines(err)) == 1
    with (out / "cohort.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            assert not cell.startswith("-") or cell.replace(".", "").lstrip("-").isdigit(), row
    persons = {row[1] for row in rows[1:]}
    assert "'=cmd|' /C calc'!A0" in persons and "'@SUM(1+1)" in persons and "'-2+3" in persons


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-3.20", "-3.20"),
        ("+1e5", "+1e5"),
        ("-.5", "-.5"),
        ("alice", "alice"),
        (-3.2, -3.2),
        (7, 7),
        ("", ""),
    ],
)
def test_csv_cell_follows_owasp_and_keeps_numbers(cell: object, written: object) -> None:
    assert csv_cell(cell) == written


def test_negative_angles_stay_numbers_in_the_timeline() -> None:
    import io

    from posture.outputs.timeline import write_timeline
    from posture.reading import Reading, Verdict

    reading = Reading(
        t_s=0.0,
        person=True,
        view=View.SIDE,
        metrics={"trunk_inclination_deg": -12.0},
        findings={},
        posture=Verdict.GOOD,
    )
    buf = io.StringIO()
    write_timeline([reading], buf)
    row = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert row["trunk_inclination_deg"] == "-12.00" and row["view"] == "side"


# -- items 6, 13, 16: what is not a recording, and names that are not text -------------------------


def test_a_fifo_a_device_and_broken_links_are_failed_without_a_hang(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"ok.mp4": "ok"})
    os.mkfifo(archive / "x.mp4")
    (archive / "zero.mp4").symlink_to("/dev/zero")
    (archive / "dangling.mp4").symlink_to(archive / "gone.mp4")
    (archive / "loop.mp4").symlink_to(archive / "loop.mp4")
    out = tmp_path / "results"
    code, stdout, err = _batch(archive, out, capsys)
    assert code == 1, err  # README: exit 1 when a recording failed, with one line for each
    lines = _failure_lines(err)
    assert sorted(line.split(": ")[2] for line in lines) == ["dangling.mp4", "loop.mp4", "x.mp4", "zero.mp4"]
    text = "\n".join(lines)
    assert "a FIFO" in text and "a device" in text and "broken symbolic link" in text and "link loop" in text
    assert "5 recording(s): 1 analysed now" in stdout
    assert not (out / ".partial").exists()
    states = _states(out)
    assert states["ok.mp4"].status is Status.DONE
    assert all(states[n].status is Status.FAILED for n in ("x.mp4", "zero.mp4", "dangling.mp4", "loop.mp4"))
    assert stat.S_ISFIFO(os.lstat(archive / "x.mp4").st_mode)
    # Again: still failed, still no hang, nothing analysed twice.
    code, _, err = _batch(archive, out, capsys)
    assert code == 1 and len(_failure_lines(err)) == 4 and calls(archive) == ["ok.mp4"]


def test_a_glob_and_a_single_path_find_the_fifo_too(tmp_path: Path, capsys) -> None:
    archive = tmp_path / "a"
    archive.mkdir()
    os.mkfifo(archive / "x.mp4")
    out = tmp_path / "results"
    with _deadline(60):
        for spec in (str(archive / "*.mp4"), str(archive / "x.mp4")):
            code, _, err = run_cli(["batch", spec, "--out", str(out), "--quiet"], capsys)
            assert code == 1 and len(_failure_lines(err)) == 1, err


def test_a_name_that_is_not_utf8_is_a_failed_recording(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"ok.mp4": "ok"})
    Path(os.fsdecode(os.fsencode(archive) + b"/\xff\xfe.mp4")).write_text("ok\n")
    out = tmp_path / "results"
    code, stdout, err = _batch(archive, out, capsys)
    assert code == 1, err
    (line,) = _failure_lines(err)
    assert (
        line == "posture: failed: \ufffd\ufffd.mp4: its name is not valid UTF-8 text; rename it to analyse it"
    )
    assert "2 recording(s): 1 analysed now" in stdout
    with (out / "cohort.csv").open(encoding="utf-8") as fh:
        assert {r["recording"]: r["status"] for r in csv.DictReader(fh)} == {
            "ok.mp4": "ok",
            "\ufffd\ufffd.mp4": "failed",
        }


def test_escape_sequences_in_names_never_reach_the_terminal(tmp_path: Path, capsys) -> None:
    name = "\x1b]0;pwned\x07\x1b[31mred"
    archive = text_archive(tmp_path / "a", {f"{name}/bad.mp4": "bad", "ok.mp4": "ok"})
    out = tmp_path / "results"
    code, stdout, err = _batch(archive, out, capsys)
    assert code == 1
    (line,) = _failure_lines(err)
    assert "\x1b" not in err + stdout and "\x07" not in err + stdout
    assert "?]0;pwned??[31mred/bad.mp4" in line


@pytest.mark.slow
def test_a_person_named_like_tex_is_drawn_as_text(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"$\\foo$/one.mp4": "ok", "$x^{2$/two.mp4": "ok"})
    out = tmp_path / "results"
    code, _, err = run_cli(["batch", str(archive), "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    html = (out / "cohort.html").read_text(encoding="utf-8")
    assert "$\\foo$" in html and "$x^{2$" in html


def test_an_unreadable_or_corrupt_recording_in_a_mixed_archive(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"ok.mp4": "ok", "corrupt.mp4": "bad"})
    (archive / "locked.mp4").write_text("ok\n")
    (archive / "locked.mp4").chmod(0)
    out = tmp_path / "results"
    code, _, err = _batch(archive, out, capsys)
    assert code == 1
    failed = {line.split(": ")[2] for line in _failure_lines(err)}
    assert "corrupt.mp4" in failed
    if os.geteuid() != 0:  # root reads it all the same
        assert "locked.mp4" in failed
    with (out / "cohort.csv").open(encoding="utf-8") as fh:
        statuses = {r["recording"]: r["status"] for r in csv.DictReader(fh)}
    assert statuses["ok.mp4"] == "ok" and statuses["corrupt.mp4"] == "failed"


def test_a_summary_changed_on_disk_is_a_failed_row_not_a_crash(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok", "two.mp4": "ok"})
    out = tmp_path / "results"
    assert _batch(archive, out, capsys)[0] == 0
    (out / "recordings" / "one" / "summary.json").write_text('{"duration_s": "=cmd", "episodes": 1e999}')
    (out / "recordings" / "two" / "events.json").write_text('{"episodes": [{"start_s": "soon"}]}')
    code, _, err = _batch(archive, out, capsys)
    assert code == 0, err  # nothing failed in this run; the cohort says what it could not read
    with (out / "cohort.csv").open(encoding="utf-8") as fh:
        rows = {r["recording"]: r for r in csv.DictReader(fh)}
    assert rows["one.mp4"]["status"] == "failed" and "unreadable" in rows["one.mp4"]["error"]
    assert rows["two.mp4"]["status"] == "ok"


# -- a results folder that is read-only or fills up ---------------------------------------------------


def test_a_read_only_results_folder_is_one_line(tmp_path: Path, capsys) -> None:
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    out = tmp_path / "ro"
    with read_only_folder(out):
        code, _, err = _batch(archive, out, capsys)
        assert str(out) in assert_one_line_error(code, err)
        assert list(out.iterdir()) == []
    assert calls(archive) == []


@pytest.mark.parametrize("inodes", range(3, 12))
def test_a_results_folder_that_fills_up_at_any_step_is_one_line(inodes: int, tmp_path: Path, capsys) -> None:
    """A tmpfs with room for only ``inodes`` files: the lock, the manifest, the marker, the
    .partial folder, the recording's result or the cohort summary is the one that finds it full."""
    archive = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    out = tmp_path / "full"
    with mounted_tmpfs(out, f"size=1m,nr_inodes={inodes}") as mounted:
        if not mounted:
            pytest.skip("cannot mount a small tmpfs here")
        code, _, err = _batch(archive, out, capsys)
        if code == 1:  # the recording's result did not fit: a failed recording, said as such
            assert err.startswith("posture: failed: one.mp4: ") and err.count("\n") == 1 and "full" in err
        elif code != 0:
            line = assert_one_line_error(code, err)
            assert str(out) in line and "not a posture batch manifest" not in line
        assert not (out / ".partial").exists()
