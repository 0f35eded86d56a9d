"""The output folder: a run's files appear together or not at all, and never beside another run's.

Read-only and full folders are real where the machine allows it (a small tmpfs mounted as root,
or a folder without write permission as another user); a full disk is also simulated everywhere
with RLIMIT_FSIZE in a subprocess.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from posture.lifecycle import Terminated
from posture.outputs.staging import MARKER_NAME, STAGING_PREFIX, OutputFolderError, staged_output
from tests.adversarial.helpers import (
    assert_one_line_error,
    mounted_tmpfs,
    posture_cmd,
    read_only_folder,
    run_cli,
)
from tests.builders import write_video

pytestmark = pytest.mark.adversarial

OUTPUTS = {"timeline.csv", "summary.json", "events.json", "report.html"}


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.avi", seconds=2.0, fps=10.0)


def _analyze(clip: Path, out: Path, capsys, *extra: str) -> tuple[int, str, str]:
    return run_cli(["analyze", str(clip), "--out", str(out), "--quiet", "--no-history", *extra], capsys)


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.mark.mediapipe
def test_a_rerun_never_mixes_with_the_previous_run(clip: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert _analyze(clip, out, capsys, "--annotate")[0] == 0
    assert any(name.startswith("annotated.") for name in _names(out))  # the previous run's video
    (out / "notes.txt").write_text("the user's own file")  # not ours: left alone
    code, stdout, err = _analyze(clip, out, capsys)
    assert code == 0, err
    assert _names(out) == OUTPUTS | {"notes.txt", MARKER_NAME}
    assert "annotated" not in stdout


@pytest.mark.mediapipe
def test_a_failure_while_writing_leaves_the_previous_results(
    clip: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    out = tmp_path / "out"
    assert _analyze(clip, out, capsys)[0] == 0
    before = {name: (out / name).read_bytes() for name in _names(out)}

    def broken_report(*args, **kwargs):
        raise RuntimeError("the report template broke")

    import posture.outputs.report

    monkeypatch.setattr(posture.outputs.report, "write_report", broken_report)
    code, _, err = _analyze(clip, out, capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert {name: (out / name).read_bytes() for name in _names(out)} == before  # untouched, no .part


@pytest.mark.mediapipe
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_annotate_leaves_no_partial_video(
    signum: int, clip: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from posture.outputs import video

    real_write = video.VideoWriter.write
    frames = {"n": 0}

    def write_then_signal(self, image, repeat=1):
        frames["n"] += 1
        if frames["n"] == 5:  # what the handler installed by the CLI raises on SIGTERM/SIGHUP
            raise Terminated(signum)
        return real_write(self, image, repeat)

    monkeypatch.setattr(video.VideoWriter, "write", write_then_signal)
    out = tmp_path / "out"
    code, _, err = _analyze(clip, out, capsys, "--annotate")
    assert code == 128 + signum
    assert err.strip().splitlines() == [f"posture: stopped by {signal.Signals(signum).name}"]
    assert _names(out) == set()
    assert frames["n"] == 5  # the signal came while the video was being written
    assert not list(tmp_path.rglob("*.part*")) and not list(tmp_path.rglob(".annotated*"))


def test_a_staging_folder_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stale = out / f"{STAGING_PREFIX}999999999-abc"
    stale.mkdir(parents=True)
    (stale / "timeline.csv").write_text("half")
    live = out / f"{STAGING_PREFIX}{os.getpid()}-xyz"  # a run still going: kept
    live.mkdir()
    with staged_output(out) as staging:
        (staging / "timeline.csv").write_text("t_s\n")
    assert not stale.exists() and live.exists()
    assert (out / "timeline.csv").read_text() == "t_s\n"


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EDQUOT", "EFBIG", "EROFS"])
def test_a_full_or_read_only_disk_is_one_clear_error(errno_name: str, tmp_path: Path) -> None:
    import errno

    out = tmp_path / "out"
    with pytest.raises(OutputFolderError, match=str(out)), staged_output(out) as staging:
        (staging / "timeline.csv").write_text("half")
        raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))
    assert _names(out) == set()


def test_an_unrelated_error_is_not_blamed_on_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError), staged_output(tmp_path / "out"):
        raise ValueError("a bug")
    assert _names(tmp_path / "out") == set()


def test_out_is_a_file(clip: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    code, _, err = _analyze(clip, tmp_path / "file", capsys)
    assert_one_line_error(code, err)


def test_out_under_a_file(clip: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    code, _, err = _analyze(clip, tmp_path / "file" / "sub", capsys)
    assert_one_line_error(code, err)


@pytest.mark.mediapipe
def test_a_read_only_out_folder(clip: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "ro"
    with read_only_folder(out):
        code, _, err = _analyze(clip, out, capsys)
        line = assert_one_line_error(code, err)
        assert str(out) in line
        assert _names(out) == set()


@pytest.mark.mediapipe
def test_a_full_tmpfs(clip: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "full"
    with mounted_tmpfs(out, "size=24k") as mounted:
        if not mounted:
            pytest.skip("cannot mount a small tmpfs here (RLIMIT_FSIZE covers a full disk below)")
        code, _, err = _analyze(clip, out, capsys, "--annotate")
        line = assert_one_line_error(code, err)
        assert "full" in line
        assert _names(out) == set()


@pytest.mark.mediapipe
def test_a_file_size_limit_in_a_subprocess(clip: Path, tmp_path: Path) -> None:
    """RLIMIT_FSIZE: any file write past 16 KB fails with EFBIG (Python ignores SIGXFSZ)."""
    out = tmp_path / "out"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    # Nothing else can write under the limit either: a coverage run's measurement of this process
    # (COVERAGE_PROCESS_CONFIG, pytest --cov) is left out, or saving its data would fail loudly.
    env = {**{k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_CONFIG"}, "MPLBACKEND": "Agg"}
    # matplotlib (imported by mediapipe) builds its font cache on first use; whether this test runs
    # first must not matter, so the cache is built before the limit applies.
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=True, timeout=120)
    res = subprocess.run(
        posture_cmd("analyze", str(clip), "--out", str(out), "--quiet", "--no-history"),
        preexec_fn=limit,  # only sets a resource limit
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert res.returncode == 2, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "full" in lines[0] and "Traceback" not in res.stderr, res.stderr
    assert _names(out) == set()


@pytest.mark.parametrize(
    "error", [OSError(28, "No space left on device"), KeyboardInterrupt(), Terminated(15)]
)
def test_open_text_leaves_no_part_file(error: BaseException, tmp_path: Path) -> None:
    from posture.outputs.timeline import open_text

    target = tmp_path / "advice.html"
    target.write_text("the previous page")
    with pytest.raises(type(error)), open_text(target) as fh:
        fh.write("half a page")
        raise error
    assert target.read_text() == "the previous page"
    assert [p.name for p in tmp_path.iterdir()] == ["advice.html"]
