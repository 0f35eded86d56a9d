"""``posture check``: the paths, the model, the cameras and the back-ends it reports, and the exit
status (non-zero only for what breaks a command the user can run). In-process, with the machine's
probes (cameras, pose model, video encoder) replaced where the machine's own would decide the
outcome (:class:`posture._cli.environment.Probes`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from posture._cli import environment
from posture._cli.environment import Item, Probes, check_environment, model_items
from posture._cli.info import print_check
from posture._cli.main import main

NO_CAMERA = Probes(cameras=lambda: [])
# A pose model that is there and loads, without loading MediaPipe's (for the tests about other lines)
MODEL_STUB = Probes(cameras=lambda: [], pose_model=lambda: [Item("pose model", "stub")])


def _lines(text: str) -> dict[str, str]:
    lines = {}
    for line in text.splitlines():
        label, _, value = line.partition("  ")
        lines[label.strip()] = value.strip()
    return lines


def _check(capsys: pytest.CaptureFixture[str], probes: Probes) -> tuple[int, dict[str, str], str]:
    out = io.StringIO()
    code = print_check(check_environment(probes), out)
    assert capsys.readouterr().err == ""
    return code, _lines(out.getvalue()), out.getvalue()


@pytest.fixture()
def homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("config", "data", "runtime", "models")}
    monkeypatch.setenv("POSTURE_CONFIG_DIR", str(paths["config"]))
    monkeypatch.setenv("POSTURE_DATA_DIR", str(paths["data"]))
    monkeypatch.setenv("POSTURE_RUNTIME_DIR", str(paths["runtime"]))
    monkeypatch.setenv("POSTURE_MODELS_DIR", str(paths["models"]))
    return paths


@pytest.mark.mediapipe
def test_without_a_camera_it_lists_the_paths_and_says_what_needs_one(capsys, homes) -> None:
    code, lines, text = _check(capsys, NO_CAMERA)
    assert code == 0, text
    assert str(homes["config"] / "posture.toml") in lines["config file"]
    assert "defaults in use" in lines["config file"]
    assert lines["history database"].startswith(str(homes["data"] / "history.sqlite3"))
    assert lines["runtime folder"].startswith(str(homes["runtime"]))
    assert (
        lines["models folder"].startswith(str(homes["models"]))
        and ".task files: none" in lines["models folder"]
    )
    assert "pose_landmarker_full.task" in lines["pose model"] and "checksum ok, loads" in lines["pose model"]
    assert Path(lines["pose model path"]).is_file()
    assert "Tasks PoseLandmarker" in lines["mediapipe"]
    assert "monitor and calibrate need one" in lines["cameras"] and "demo do not" in lines["cameras"]
    assert lines["status"] == "ready for analyze, measure and demo (no camera)"
    for label in ("notifications", "sound", "annotated video", "tray"):
        assert lines[label]
    assert "pystray" in lines["tray"]  # installed or how to install it


@pytest.mark.mediapipe
def test_the_command_prints_this_machines_table_and_its_status(capsys, homes) -> None:
    out = io.StringIO()
    code = main(["check"], stdout=out)
    lines = _lines(out.getvalue())
    assert {"python", "posture", "mediapipe", "pose model", "cameras", "annotated video", "status"} <= set(
        lines
    )
    assert code == (1 if "PROBLEM" in out.getvalue() else 0)
    assert lines["status"].startswith("not ready" if code else "ready")


@pytest.mark.mediapipe
def test_a_camera_makes_it_ready_and_task_files_are_listed(capsys, homes) -> None:
    homes["models"].mkdir()
    (homes["models"] / "pose_landmarker_heavy.task").write_bytes(b"x")
    code, lines, _ = _check(capsys, Probes(cameras=lambda: [0, 2]))
    assert code == 0
    assert lines["cameras"] == "0, 2"
    assert "pose_landmarker_heavy.task" in lines["models folder"]
    assert lines["status"] == "ready"


@pytest.mark.mediapipe
def test_the_config_file_in_use_is_named_and_a_broken_one_fails(capsys, homes) -> None:
    homes["config"].mkdir()
    cfg = homes["config"] / "posture.toml"
    cfg.write_text("[analysis]\nsample_fps = 2.0\n")
    code, lines, _ = _check(capsys, NO_CAMERA)
    assert code == 0 and lines["config file"] == str(cfg)

    cfg.write_text("[analysis]\nmodel = '/nowhere/pose.task'\n")
    code, lines, _ = _check(capsys, NO_CAMERA)
    assert code == 1
    assert "PROBLEM" in lines["configured model"] and lines["status"] == "not ready: fix configured model"

    cfg.write_text("[analysis\n")
    code, lines, _ = _check(capsys, NO_CAMERA)
    assert code == 1 and lines["config file"].startswith("PROBLEM")


@pytest.mark.mediapipe
def test_a_missing_pose_model_fails(capsys, homes, tmp_path) -> None:
    gone = tmp_path / "gone" / "pose_landmarker_full.task"
    code, lines, _ = _check(capsys, Probes(cameras=lambda: [], pose_model=lambda: model_items(gone)))
    assert code == 1
    assert "missing from this install" in lines["pose model"]
    assert lines["status"].startswith("not ready")


def test_no_video_encoder_fails_and_names_the_extra(capsys, homes) -> None:
    code, lines, _ = _check(
        capsys, Probes(cameras=lambda: [], pose_model=MODEL_STUB.pose_model, video_encoder=lambda: None)
    )
    assert code == 1
    assert "posture-monitor[h264]" in lines["annotated video"] and "demo" in lines["annotated video"]


def test_back_ends_follow_the_platform_tools(monkeypatch) -> None:
    from posture.live import alerts

    assert alerts.desktop_program("linux") == "notify-send"
    assert alerts.desktop_program("darwin") == "osascript"
    assert alerts.desktop_program("win32") == "powershell"
    assert alerts.desktop_program("sunos5") is None
    sound = Path(__file__)  # any existing file stands in for the system sound
    assert alerts.sound_command("linux", lambda n: f"/usr/bin/{n}", str(sound)) == [
        "/usr/bin/paplay",
        str(sound),
    ]
    assert alerts.sound_command("linux", lambda n: None, str(sound)) is None
    assert alerts.sound_command("win32", lambda n: "x", str(sound)) is None


def test_the_video_encoder_probe_names_a_working_encoder() -> None:
    from posture.outputs import video

    name = environment.video_encoder()
    assert name is not None
    expected = video.default_encoder()
    assert name == f"{expected.name} ({expected.suffix[1:]})"


def test_without_the_h264_extra_check_reports_webm_and_names_the_extra(capsys, homes, monkeypatch) -> None:
    from posture.outputs import video

    monkeypatch.setattr(video, "h264_available", lambda: False)  # as if the extra were not installed
    code, lines, _ = _check(capsys, MODEL_STUB)
    assert code == 0
    assert lines["annotated video"] == (
        'opencv-vp8 (webm); pip install "posture-monitor[h264]" (pipx: pipx inject posture-monitor imageio-ffmpeg)'
        " for H.264 MP4"
    )
