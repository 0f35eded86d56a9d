"""The command line in-process: exit codes, one-line errors, outputs. Uses MediaPipe on tiny
synthetic media (no footage needed)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from posture._cli.main import main
from posture.geometry import View
from posture.outputs.timeline import timeline_columns


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(argv, stdout=out)
    err = capsys.readouterr().err
    return code, out.getvalue(), err


def _write_video(path: Path, seconds: float = 2.0, fps: float = 10.0, fourcc: str = "MJPG") -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (160, 120))
    for i in range(round(seconds * fps)):
        frame = np.full((120, 160, 3), 40 + (i * 5) % 200, np.uint8)
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture()
def no_history(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("POSTURE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_help_is_instant_and_lists_commands(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("measure", "analyze", "advice", "check"):
        assert command in out


def test_no_command_is_a_usage_error_with_the_usage_on_stderr(capsys) -> None:
    code, out, err = run([], capsys)
    assert code == 2 and out == ""
    assert err.startswith("usage: posture")
    for command in ("measure", "analyze", "demo", "check"):
        assert command in err


def test_help_does_not_import_heavy_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from posture._cli.main import main; main(['--help']);"
        "heavy = [m for m in ('mediapipe', 'cv2', 'matplotlib') if m in sys.modules];"
        "sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "random", "text"])
@pytest.mark.parametrize("command", ["measure", "analyze"])
def test_bad_input_is_one_line_exit_2(kind: str, command: str, tmp_path: Path, capsys, no_history) -> None:
    path = tmp_path / f"input.{'jpg' if command == 'measure' else 'mp4'}"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "text":
        path.write_text("this is not a picture\n" * 50)
    code, _, err = run(
        [command, str(path), *(["--out", str(tmp_path / "o")] if command == "analyze" else [])], capsys
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("posture: error:")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["tray", "--config", ""],
        ["tray", "--profile", ""],
        ["tray", "--model", ""],
        ["service", "install", "--config", ""],
        ["history", "--html", ""],
    ],
    ids=lambda argv: f"{argv[0]} {argv[-2]}",
)
def test_an_empty_path_flag_is_a_usage_error_not_the_current_folder(argv: list[str], capsys) -> None:
    from posture._cli.main import build_parser

    with pytest.raises(SystemExit) as exit:  # parsed only: a command that ran would start a tray
        build_parser().parse_args(argv)
    assert exit.value.code == 2
    assert "an empty path" in capsys.readouterr().err


def test_every_path_flag_refuses_an_empty_path() -> None:
    import argparse

    from posture._cli.main import build_parser

    def actions(parser: argparse.ArgumentParser):
        for action in parser._actions:
            yield parser.prog, action
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from actions(sub)

    plain = [
        f"{prog} {'/'.join(a.option_strings) or a.dest}"
        for prog, a in actions(build_parser())
        if a.type is Path
    ]
    assert plain == []


def test_debug_env_reraises(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POSTURE_DEBUG", "1")
    from posture.errors import SourceNotFoundError

    with pytest.raises(SourceNotFoundError):
        main(["measure", str(tmp_path / "nope.jpg")])


@pytest.mark.slow
def test_measure_json_on_an_image_without_a_person(tmp_path: Path, capsys) -> None:
    from PIL import Image

    img = tmp_path / "blank.png"
    Image.new("RGB", (200, 150), (120, 130, 140)).save(img)
    code, out, _ = run(["measure", str(img), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data == [
        {
            "source": str(img),
            "person": False,
            "view": "unknown",
            "metrics": data[0]["metrics"],
            "estimated": [],
            "findings": data[0]["findings"],
            "reasons": [],
            "posture": "away",
        }
    ]
    assert set(data[0]["findings"]) >= {
        "forward_head",
        "hunched_back",
        "neck_flexion",
        "leaning_in",
        "side_lean",
        "slumped",
    }
    assert all(v is None for v in data[0]["metrics"].values())


@pytest.mark.slow
def test_analyze_writes_timeline_summary_events(tmp_path: Path, capsys, no_history) -> None:
    video = _write_video(tmp_path / "clip.avi", seconds=2.0, fps=10.0)
    out_dir = tmp_path / "out"
    code, out, err = run(["analyze", str(video), "--out", str(out_dir), "--no-report", "--quiet"], capsys)
    assert code == 0, err
    with (out_dir / "timeline.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0].keys()) == timeline_columns()
    assert len(rows) == 10  # 5 per second of video by default
    assert {r["posture"] for r in rows} == {"away"}
    assert [float(r["t_s"]) for r in rows[:3]] == pytest.approx([0.0, 0.2, 0.4], abs=0.01)
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["frames_analysed"] == 10
    assert summary["share"]["away"] == pytest.approx(1.0)
    assert summary["sample_fps"] == 5.0
    events = json.loads((out_dir / "events.json").read_text())
    assert events["episodes"] == []
    assert "analysed 2.0 s" in out


@pytest.mark.slow
def test_verbose_turns_on_the_library_log(tmp_path: Path, capsys, no_history) -> None:
    video = _write_video(tmp_path / "clip.avi", seconds=2.0, fps=10.0)
    argv = ["analyze", str(video), "--out", str(tmp_path / "o"), "--quiet"]
    code, _out, err = run(argv, capsys)
    assert code == 0
    assert "posture: " not in err  # quiet by default
    code, _out, err = run(["-v", *argv], capsys)
    assert code == 0, err
    lines = [x for x in err.splitlines() if x.startswith("posture: ")]
    assert any("sampling 5 frames per second of video" in x for x in lines), lines
    assert any(x.startswith("posture: pose model mediapipe") for x in lines), lines
    assert any(x.startswith("posture: analysis: ") for x in lines), lines
    assert any(x.startswith("posture: report written in ") for x in lines), lines
    assert any("metrics and detector: 10 readings" in x for x in lines), lines


@pytest.mark.slow
def test_a_reused_out_keeps_nothing_of_the_earlier_run(tmp_path: Path, capsys, no_history) -> None:
    video = _write_video(tmp_path / "clip.avi", seconds=2.0, fps=10.0)
    out_dir = tmp_path / "out"
    code, _, err = run(["analyze", str(video), "--out", str(out_dir), "--annotate", "--quiet"], capsys)
    assert code == 0, err
    first = sorted(p.name for p in out_dir.iterdir())
    assert "report.html" in first and any(n.startswith("annotated.") for n in first)
    (out_dir / "notes.txt").write_text("mine")
    code, _out, err = run(["analyze", str(video), "--out", str(out_dir), "--no-report", "--quiet"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == [
        ".posture-outputs.json",  # the files posture wrote (and may replace next time)
        "events.json",
        "notes.txt",  # not posture's: left alone
        "summary.json",
        "timeline.csv",
    ]


@pytest.mark.slow
def test_analyze_sample_rate_and_every_frame(tmp_path: Path, capsys, no_history) -> None:
    video = _write_video(tmp_path / "clip.avi", seconds=2.0, fps=20.0)
    code, _, _ = run(
        ["analyze", str(video), "--out", str(tmp_path / "a"), "--no-report", "--quiet", "--fps", "2"], capsys
    )
    assert code == 0
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["frames_analysed"] == 4
    code, _, _ = run(
        ["analyze", str(video), "--out", str(tmp_path / "b"), "--no-report", "--quiet", "--every-frame"],
        capsys,
    )
    assert code == 0
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["frames_analysed"] == 40


@pytest.mark.slow
def test_truncated_video_analyses_what_it_can_and_says_so(tmp_path: Path, capsys, no_history) -> None:
    video = _write_video(tmp_path / "full.avi", seconds=6.0, fps=10.0)
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    code, _, err = run(["analyze", str(cut), "--out", str(tmp_path / "o"), "--no-report", "--quiet"], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert 0 < summary["frames_analysed"] < 60
    assert summary["video"]["truncated"] is True
    assert "analysed what could be read" in err


@pytest.mark.slow
def test_truncated_video_split_over_two_workers(tmp_path: Path, capsys) -> None:
    video = _write_video(tmp_path / "full.avi", seconds=30.0, fps=10.0)
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 4])  # the second worker's chunk lies past the real end
    code, _, err = run(
        ["analyze", str(cut), "--out", str(tmp_path / "o"), "--no-report", "--quiet", "--workers", "2"],
        capsys,
    )
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["video"]["truncated"] is True


@pytest.mark.parametrize("kind", ["image", "out-is-a-file"])
def test_analyze_refuses_early_with_one_line(kind: str, tmp_path: Path, capsys) -> None:
    from PIL import Image

    img = tmp_path / "photo.png"
    Image.new("RGB", (64, 64)).save(img)
    if kind == "image":
        argv = ["analyze", str(img), "--out", str(tmp_path / "o")]
    else:
        argv = ["analyze", str(_write_video(tmp_path / "clip.avi")), "--out", str(img)]
    code, _, err = run(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err


def test_calibrate_first_and_baseline_are_exclusive(tmp_path: Path, capsys, no_history) -> None:
    video = _write_video(tmp_path / "clip.avi")
    code, _, err = run(
        [
            "analyze",
            str(video),
            "--calibrate-first",
            "1",
            "--baseline",
            str(video),
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 2
    assert "either" in err


@pytest.mark.slow
def test_calibrate_first_without_a_person_is_a_clear_error(tmp_path: Path, capsys, no_history) -> None:
    video = _write_video(tmp_path / "clip.avi")
    code, _, err = run(
        ["analyze", str(video), "--calibrate-first", "1", "--out", str(tmp_path / "o"), "--quiet"], capsys
    )
    assert code == 2
    assert "no person found for the baseline" in err


def test_lite_model_is_refused_not_downloaded(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "posture.toml"
    cfg.write_text("[analysis]\nmodel_complexity = 0\n")
    from PIL import Image

    img = tmp_path / "blank.png"
    Image.new("RGB", (64, 64)).save(img)
    code, _, err = run(["measure", str(img), "--config", str(cfg)], capsys)
    assert code == 2
    assert "never" in err and ".task" in err


def test_missing_task_model_is_exit_2(tmp_path: Path, capsys) -> None:
    from PIL import Image

    img = tmp_path / "blank.png"
    Image.new("RGB", (64, 64)).save(img)
    code, _, err = run(["measure", str(img), "--model", str(tmp_path / "nope.task")], capsys)
    assert code == 2
    assert "model file not found" in err


def test_bad_config_is_exit_2(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "posture.toml"
    cfg.write_text("[metrics]\nno_such_key = 1\n")
    code, _, err = run(["advice", "--list"], capsys)
    assert code == 0
    from PIL import Image

    img = tmp_path / "blank.png"
    Image.new("RGB", (64, 64)).save(img)
    code, _, err = run(["measure", str(img), "--config", str(cfg)], capsys)
    assert code == 2
    assert "no_such_key" in err


def test_advice_command(capsys, tmp_path: Path) -> None:
    code, out, _ = run(["advice"], capsys)
    assert code == 0
    assert "Galineri" in out
    code, out, _ = run(["advice", "forward_head"], capsys)
    assert code == 0 and out
    code, _, err = run(["advice", "no_such_topic"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    html = tmp_path / "advice.html"
    code, _, _ = run(["advice", "--html", str(html)], capsys)
    assert code == 0
    assert 'id="warning_signs"' in html.read_text()


@pytest.mark.slow
def test_history_lists_analysed_sessions(tmp_path: Path, capsys) -> None:
    video = _write_video(tmp_path / "clip.avi")
    assert main(["analyze", str(video), "--out", str(tmp_path / "o"), "--no-report", "--quiet"]) == 0
    assert (
        main(["analyze", str(video), "--out", str(tmp_path / "p"), "--no-report", "--quiet", "--no-history"])
        == 0
    )
    capsys.readouterr()
    code, out, _ = run(["history", "--json"], capsys)  # by default: the user's own live sessions
    assert code == 0
    assert json.loads(out) == {"sessions": [], "trend": [], "hidden": {"analyze": 1}}
    code, out, _ = run(["history"], capsys)
    assert code == 0 and "clip.avi" not in out
    assert "No live sessions recorded yet" in out and "1 analyze" in out and "--all" in out
    code, out, _ = run(["history", "--json", "--all"], capsys)
    assert code == 0
    sessions = json.loads(out)["sessions"]
    assert len(sessions) == 1
    assert sessions[0]["source"].endswith("clip.avi")
    assert sessions[0]["kind"] == "analyze"
    assert sessions[0]["duration_s"] == pytest.approx(2.0, abs=0.3)
    code, out, _ = run(["history", "--all"], capsys)
    assert code == 0 and "clip.avi" in out and "Not shown" not in out


@pytest.mark.slow
def test_python_dash_m_entry_point() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "posture", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("posture ")


@pytest.mark.slow
def test_monitor_with_a_missing_camera_is_one_line_exit_2(capsys) -> None:
    code, _, err = run(
        ["monitor", "--camera", "9", "--no-history", "--no-context", "--alerts", "console"], capsys
    )
    assert code == 2
    assert err.strip().splitlines() == [
        "posture: error: camera 9 is not available (posture check lists the cameras it finds, "
        "try another with --camera N; --source FILE plays a recording instead)"
    ]


@pytest.mark.slow
def test_calibrate_checks_the_camera_before_asking_to_hold_still(capsys) -> None:
    code, out, err = run(["calibrate", "--camera", "9"], capsys)
    assert code == 2 and out == ""  # no "hold still for 8 s" for a camera that is not there
    (line,) = err.strip().splitlines()
    assert "camera 9 is not available" in line and "posture check" in line and "--source FILE" in line


def test_record_refuses_a_bad_name_before_opening_the_camera(tmp_path: Path, capsys) -> None:
    code, _, err = run(["record", str(tmp_path / "clip.gif"), "--camera", "9"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_status_without_a_monitor(capsys, monkeypatch, tmp_path: Path) -> None:
    import tempfile

    monkeypatch.setenv("POSTURE_RUNTIME_DIR", tempfile.mkdtemp(dir="/tmp"))
    code, _, err = run(["status"], capsys)
    assert code == 1
    assert "no posture monitor is running" in err
    code, _, err = run(["pause", "soon"], capsys)
    assert code == 2


def _spawn_monitor(tmp_path: Path, *, seconds: float, stdout: int):
    """``posture monitor`` in a subprocess on a synthetic clip, with private data and runtime folders."""
    import subprocess
    import sys
    import tempfile

    video = _write_video(tmp_path / "clip.avi", seconds=seconds, fps=10.0)
    env = {
        **os.environ,
        "POSTURE_RUNTIME_DIR": tempfile.mkdtemp(dir="/tmp"),
        "POSTURE_DATA_DIR": str(tmp_path / "d"),
    }
    cmd = [
        sys.executable,
        "-m",
        "posture",
        "monitor",
        "--source",
        str(video),
        "--no-context",
        "--alerts",
        "console",
    ]
    err = subprocess.PIPE if stdout == subprocess.PIPE else subprocess.DEVNULL
    return subprocess.Popen(cmd, env=env, stdout=stdout, stderr=err, text=True), env


@pytest.mark.slow
def test_monitor_on_a_file_stand_in_then_status_pause_resume_and_history(tmp_path: Path) -> None:
    """A real run: the monitor in a subprocess on a short synthetic clip, driven from here."""
    import subprocess
    import sys
    import time

    proc, env = _spawn_monitor(tmp_path, seconds=12.0, stdout=subprocess.PIPE)
    try:
        status = None
        for _ in range(100):
            time.sleep(0.2)
            res = subprocess.run(
                [sys.executable, "-m", "posture", "status"], env=env, capture_output=True, text=True
            )
            if res.returncode == 0 and "away" in res.stdout.lower():
                status = res.stdout
                break
        assert status is not None, "monitor never answered"
        res = subprocess.run(
            [sys.executable, "-m", "posture", "pause", "15m"], env=env, capture_output=True, text=True
        )
        assert res.returncode == 0 and "paused until" in res.stdout
        time.sleep(0.6)
        res = subprocess.run(
            [sys.executable, "-m", "posture", "status"], env=env, capture_output=True, text=True
        )
        assert "paused" in res.stdout.lower()
        res = subprocess.run(
            [sys.executable, "-m", "posture", "resume"], env=env, capture_output=True, text=True
        )
        assert res.returncode == 0
        proc.terminate()  # SIGTERM ends it cleanly
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "session over" in out
    assert "Traceback" not in err
    res = subprocess.run(
        [sys.executable, "-m", "posture", "history", "--json"], env=env, capture_output=True, text=True
    )
    sessions = json.loads(res.stdout)["sessions"]
    assert sessions == []  # a file played as a camera is not the user's own sitting
    res = subprocess.run(
        [sys.executable, "-m", "posture", "history", "--json", "--all"],
        env=env,
        capture_output=True,
        text=True,
    )
    sessions = json.loads(res.stdout)["sessions"]
    assert sessions[0]["kind"] == "replay" and sessions[0]["status"] == "done"


@pytest.mark.slow
def test_monitor_killed_with_sigkill_keeps_all_but_the_last_seconds(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    proc, _ = _spawn_monitor(tmp_path, seconds=30.0, stdout=subprocess.DEVNULL)
    started = time.monotonic()
    time.sleep(9.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    ran = time.monotonic() - started
    from posture.outputs.history import list_sessions

    [session] = list_sessions(db_path=tmp_path / "d" / "history.sqlite3", stale_after_s=0.0)
    assert session.status == "interrupted"
    # Flushed every 5 s: at most that (plus start-up) is lost.
    assert session.duration_s >= ran - 5.0 - 3.0


def _photo_reading(view: str, posture: str, metrics: dict[str, float], estimated: set[str]):
    from posture.metric_registry import METRIC_NAMES
    from posture.reading import Reading, Verdict

    values: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    values.update(metrics)
    return Reading(0.0, True, View(view), values, {}, Verdict(posture), estimated=frozenset(estimated))


def test_measure_says_why_each_estimate_is_one_in_its_view() -> None:
    from posture._cli.analysis import _reading_lines

    side = _photo_reading(
        "side", "poor", {"neck_inclination_deg": 35.7, "head_forward_deg": 54.3}, {"head_forward_deg"}
    )
    lines = _reading_lines("hunchback_left.jpg", side)
    assert lines[0] == "hunchback_left.jpg: poor (view: side)"
    assert lines[-1] == (
        "  ~ head forward: an estimate, mixes in the face's pitch (the nose's drop below the ears), "
        "which the pose model only estimates"
    )
    assert not any("front" in x or "oblique" in x for x in lines)
    oblique = _photo_reading(
        "oblique",
        "good",
        {"neck_inclination_deg": 20.0, "trunk_inclination_deg": 3.0},
        {"neck_inclination_deg", "trunk_inclination_deg"},
    )
    (note,) = [x for x in _reading_lines("o.jpg", oblique) if x.startswith("  ~")]
    assert note.startswith(
        "  ~ neck, trunk: estimates, foreshortened: the camera saw you at an angle (oblique view)"
    )


def test_a_front_photo_without_a_baseline_says_how_to_get_one() -> None:
    from posture._cli.analysis import _reading_lines
    from posture.paths import profile_path

    front = _photo_reading("front", "uncertain", {"shoulder_tilt_deg": 2.1}, set())
    hint = _reading_lines("fw.jpg", front)[-1]
    assert "--baseline" in hint and "posture calibrate" in hint and str(profile_path()) in hint
    assert not any("--baseline" in x for x in _reading_lines("fw.jpg", front, baseline=True))


@pytest.mark.parametrize("command", ["analyze", "demo"])
def test_out_naming_a_file_says_so_in_words(command: str, tmp_path: Path, capsys, no_history) -> None:
    existing = tmp_path / "results"
    existing.write_text("a file, not a folder")
    argv = ["demo"] if command == "demo" else ["analyze", str(_write_video(tmp_path / "clip.avi"))]
    code, _, err = run([*argv, "--out", str(existing), "--quiet"], capsys)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert "a file of that name is already there: give the name of a folder" in line
    assert "File exists" not in line
    assert existing.read_text() == "a file, not a folder"
    code, _, err = run([*argv, "--out", str(existing / "sub"), "--quiet"], capsys)
    assert code == 2 and "part of that path is a file, not a folder" in err
