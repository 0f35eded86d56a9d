"""``--out`` a folder that already holds the user's own files, and a history that cannot be written.

A run replaces only what an earlier posture run wrote there and has not changed since (the
folder's marker, ``.posture-outputs.json``, lists each file's size and hash); never a file of the
user's, never a link, never its own input. Otherwise it stops before the work with exit 2 and one
line naming the file. The pose model is the scripted fake (``tests/fakes.py``), so these run in
process in a fraction of a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posture.outputs.staging import MARKER_NAME, STAGING_PREFIX
from tests.adversarial.helpers import assert_one_line_error, run_cli
from tests.builders import write_video
from tests.fakes import Script, ScriptedEstimators

pytestmark = pytest.mark.adversarial

USERS = {
    "report.html": b"<p>my own report</p>",
    "summary.json": b'{"mine": true}',
    "timeline.csv": b"my,own\n1,2\n",
    "events.json": b"[]",
}


NOBODY = ScriptedEstimators(Script(((60.0, None),)))  # the pose model: nobody in the picture


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.avi", seconds=1.0, fps=10.0)


def _analyze(video: Path, out: Path, capsys, *extra: str, history: bool = False) -> tuple[int, str, str]:
    argv = ["analyze", str(video), "--out", str(out), "--quiet", "--workers", "1", *extra]
    return run_cli([*argv, *([] if history else ["--no-history"])], capsys, estimators=NOBODY)


def _annotated_name() -> str:
    from posture.outputs.video import default_encoder

    return f"annotated{default_encoder().suffix}"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()}


def _user_folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    out = tmp_path / "mine"
    out.mkdir()
    for name, data in files.items():
        (out / name).write_bytes(data)
    return out


def _no_leftovers(out: Path) -> None:
    assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX) or ".part-" in p.name]


@pytest.mark.parametrize("name", sorted(USERS))
def test_analyze_into_a_folder_with_the_users_file_of_that_name(
    name: str, clip: Path, tmp_path: Path, capsys
) -> None:
    out = _user_folder(tmp_path, {name: USERS[name], "notes.txt": b"mine too"})
    code, stdout, err = _analyze(clip, out, capsys)
    line = assert_one_line_error(code, err)
    assert str(out / name) in line and "not written by an earlier posture run" in line
    assert _snapshot(out) == {name: USERS[name], "notes.txt": b"mine too"}  # nothing lost or replaced
    assert stdout == ""
    _no_leftovers(out)


def test_analyze_annotate_never_replaces_the_users_video(clip: Path, tmp_path: Path, capsys) -> None:
    name = _annotated_name()
    out = _user_folder(tmp_path, {name: b"my holiday video"})
    code, _, err = _analyze(clip, out, capsys, "--annotate")
    assert str(out / name) in assert_one_line_error(code, err)
    assert _snapshot(out) == {name: b"my holiday video"}


def test_an_input_named_like_an_output_inside_out(tmp_path: Path, capsys) -> None:
    """The input is ``DIR/annotated.<suffix>``: never replaced; without --annotate it is left alone."""
    out = tmp_path / "out"
    out.mkdir()
    video = write_video(out / _annotated_name(), seconds=1.0, fps=10.0, fourcc="MJPG")
    data = video.read_bytes()
    code, _, err = _analyze(video, out, capsys, "--annotate")
    assert str(video) in assert_one_line_error(code, err)
    assert video.read_bytes() == data
    code, _, err = _analyze(video, out, capsys)
    assert code == 0, err
    assert video.read_bytes() == data
    assert {"timeline.csv", "report.html", MARKER_NAME} <= {p.name for p in out.iterdir()}


def test_an_earlier_output_analysed_again_into_its_folder_is_not_removed(
    clip: Path, tmp_path: Path, capsys
) -> None:
    """The annotated video an earlier run wrote is posture's, but as this run's input it is kept."""
    out = tmp_path / "out"
    assert _analyze(clip, out, capsys, "--annotate")[0] == 0
    video = out / _annotated_name()
    data = video.read_bytes()
    code, _, err = _analyze(video, out, capsys, "--no-report")
    assert "is the input of this run" in assert_one_line_error(code, err)
    assert video.read_bytes() == data


def test_a_rerun_replaces_its_own_files_and_removes_its_old_video(clip: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert _analyze(clip, out, capsys, "--annotate")[0] == 0
    (out / "notes.txt").write_text("mine")
    code, _, err = _analyze(clip, out, capsys, "--no-report")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MARKER_NAME, "events.json", "notes.txt", "summary.json", "timeline.csv"]
    )
    marker = json.loads((out / MARKER_NAME).read_text())
    assert sorted(marker["files"]) == ["events.json", "summary.json", "timeline.csv"]


def test_a_file_the_user_changed_since_is_not_replaced(clip: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert _analyze(clip, out, capsys)[0] == 0
    (out / "report.html").write_text("my notes on the report")
    before = _snapshot(out)
    code, _, err = _analyze(clip, out, capsys)
    assert str(out / "report.html") in assert_one_line_error(code, err)
    assert _snapshot(out) == before


def test_without_its_marker_nothing_is_posture_s(clip: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert _analyze(clip, out, capsys)[0] == 0
    (out / MARKER_NAME).unlink()
    before = _snapshot(out)
    code, _, err = _analyze(clip, out, capsys)
    assert_one_line_error(code, err)
    assert _snapshot(out) == before


@pytest.mark.parametrize(
    "content", [b"my own file", b'{"written_by": "posture", "files": []}', b"[[[[" * 100]
)
def test_a_marker_that_is_not_posture_s_is_left_alone(
    content: bytes, clip: Path, tmp_path: Path, capsys
) -> None:
    out = _user_folder(tmp_path, {MARKER_NAME: content})
    code, _, err = _analyze(clip, out, capsys)
    assert str(out / MARKER_NAME) in assert_one_line_error(code, err)
    assert _snapshot(out) == {MARKER_NAME: content}


def test_a_forged_marker_entry_does_not_vouch_for_a_changed_file(clip: Path, tmp_path: Path, capsys) -> None:
    """The marker vouches for exact content: listing a name is not enough."""
    out = _user_folder(tmp_path, {"report.html": b"mine"})
    marker = {"written_by": "posture", "files": {"report.html": [{"size": 4, "sha256": "0" * 64}]}}
    (out / MARKER_NAME).write_text(json.dumps(marker))
    code, _, err = _analyze(clip, out, capsys)
    assert str(out / "report.html") in assert_one_line_error(code, err)
    assert (out / "report.html").read_bytes() == b"mine"


def test_a_link_named_like_an_output_is_not_replaced(clip: Path, tmp_path: Path, capsys) -> None:
    elsewhere = tmp_path / "elsewhere.html"
    elsewhere.write_text("mine")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").symlink_to(elsewhere)
    code, _, err = _analyze(clip, out, capsys)
    assert str(out / "report.html") in assert_one_line_error(code, err)
    assert (out / "report.html").is_symlink() and elsewhere.read_text() == "mine"


def test_demo_out_into_the_users_folder(tmp_path: Path, capsys) -> None:
    out = _user_folder(tmp_path, USERS)
    code, _, err = run_cli(["demo", "--out", str(out), "--quiet"], capsys, estimators=NOBODY)
    assert_one_line_error(code, err)
    assert _snapshot(out) == USERS


def test_the_demos_own_cache_folder_is_replaced_marker_or_not(clip: Path, tmp_path: Path) -> None:
    """The demo's default folder is posture's own cache: outputs of a version without markers go."""
    from posture.analysis import run_analysis
    from posture.config import Config
    from posture.options import AnalysisOptions

    out = _user_folder(tmp_path, {"report.html": b"an old demo report", "annotated.webm": b"old"})
    run_analysis(
        clip, out, Config(), AnalysisOptions(workers=1, history=False, own_folder=True), estimators=NOBODY
    )
    assert (out / "report.html").read_bytes() != b"an old demo report"
    assert not (out / "annotated.webm").exists()


# -- item 17: the history cannot be written ---------------------------------------------------------


@pytest.mark.parametrize("broken", ["corrupt", "a folder in its place"])
def test_results_are_printed_then_one_history_warning(
    broken: str, clip: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("POSTURE_DATA_DIR", str(data))
    db = data / "history.sqlite3"
    if broken == "corrupt":
        db.write_bytes(b"this is not a database" * 100)
    else:
        db.mkdir()
    before = db.read_bytes() if db.is_file() else None
    out = tmp_path / "out"
    code, stdout, err = _analyze(clip, out, capsys, history=True)
    assert code == 0, err
    assert "analysed 1.0 s" in stdout and "report.html" in stdout
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("posture: warning: the results are written"), err
    assert "history" in lines[0] and "Traceback" not in err
    assert {"timeline.csv", "summary.json", "events.json", "report.html"} <= {p.name for p in out.iterdir()}
    if before is not None:
        assert db.read_bytes() == before  # the broken history is not touched either
