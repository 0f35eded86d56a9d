"""The runtime folder's fallback in /tmp, calibration that fails its check, and a quiet start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from posture.live.channel import ControlError
from posture.live.channel import ensure_private_folder as _ensure_private_folder
from tests.adversarial.helpers import assert_one_line_error, run_cli
from tests.builders import side_pose, write_video
from tests.fakes import Script, ScriptedEstimators

pytestmark = pytest.mark.adversarial


# -- the runtime folder (/tmp/runtime-UID/posture when XDG_RUNTIME_DIR is unset) -----------------------


def test_the_default_folder_and_its_parent_are_created_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask would leave mkdir's parents 0755
    try:
        folder = tmp_path / "runtime-uid" / "posture"
        _ensure_private_folder(folder, own_default=True)
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert folder.parent.stat().st_mode & 0o777 == 0o700


def test_an_existing_loose_default_folder_is_tightened(tmp_path: Path) -> None:
    parent = tmp_path / "runtime-uid"
    (parent / "posture").mkdir(parents=True)
    parent.chmod(0o777)
    (parent / "posture").chmod(0o755)
    _ensure_private_folder(parent / "posture", own_default=True)
    assert parent.stat().st_mode & 0o777 == 0o700
    assert (parent / "posture").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("level", ["parent", "folder"])
def test_a_symlinked_default_folder_is_refused(level: str, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    parent = tmp_path / "runtime-uid"
    if level == "parent":
        parent.symlink_to(target)
    else:
        parent.mkdir(mode=0o700)
        (parent / "posture").symlink_to(target)
    with pytest.raises(ControlError, match="symbolic link"):
        _ensure_private_folder(parent / "posture", own_default=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
@pytest.mark.parametrize("level", ["parent", "folder"])
def test_a_default_folder_owned_by_another_user_is_refused(level: str, tmp_path: Path) -> None:
    parent = tmp_path / "runtime-uid"
    (parent / "posture").mkdir(parents=True)
    os.chown(parent if level == "parent" else parent / "posture", 4242, 4242)
    with pytest.raises(ControlError, match="another user"):
        _ensure_private_folder(parent / "posture", own_default=True)


def test_a_file_in_place_of_the_folder_is_refused(tmp_path: Path) -> None:
    parent = tmp_path / "runtime-uid"
    parent.mkdir(mode=0o700)
    (parent / "posture").write_text("x")
    with pytest.raises(ControlError, match="not a folder"):
        _ensure_private_folder(parent / "posture", own_default=True)


def test_the_status_command_refuses_a_hostile_fallback(tmp_path: Path, monkeypatch, capsys) -> None:
    """End to end: no XDG_RUNTIME_DIR, and the fallback path is a symlink planted by someone else."""
    import platformdirs

    planted = tmp_path / "runtime-uid"
    planted.symlink_to(tmp_path)
    monkeypatch.delenv("POSTURE_RUNTIME_DIR")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setattr(platformdirs, "user_runtime_path", lambda *a, **k: planted / "posture")
    from posture.live.control import ControlServer

    with pytest.raises(ControlError, match="symbolic link"), ControlServer(lambda r: {}):
        pass


# -- calibrate ---------------------------------------------------------------------------------------
# The pose model is the scripted one (tests/fakes.py): the capture, its checks, the validation and
# the saved profile are the real ones, on a clip played at real speed.

GOOD = side_pose(trunk_deg=-8.0, neck_deg=8.0, pitch_deg=10.0)
SLOUCH = side_pose(trunk_deg=-5.0, neck_deg=32.0, pitch_deg=28.0)


def _calibrate(
    tmp_path: Path, capsys, script: Script, *extra: str, grey: int | None = None
) -> tuple[int, str, str, Path]:
    """``posture calibrate`` on a 6 s clip with the scripted pose model; (exit, stdout, stderr, profile)."""
    clip = write_video(tmp_path / "clip.avi", seconds=6.0, fps=10.0, grey=grey)
    profile = tmp_path / "profile.json"
    argv = ["calibrate", "--source", str(clip), "--profile", str(profile), *extra]
    code, out, err = run_cli(argv, capsys, estimators=ScriptedEstimators(script))
    return code, out, err, profile


@pytest.mark.slow
def test_calibrate_on_nobody_saves_nothing_and_says_so_once(tmp_path: Path, capsys) -> None:
    code, out, err, profile = _calibrate(tmp_path, capsys, Script(((60.0, None),)), "--seconds", "1.5")
    line = assert_one_line_error(code, err)
    assert line.startswith("posture: error: calibration not saved")
    assert not profile.exists()
    checks = [s for s in out.splitlines() if s.startswith("  ")]
    assert len(checks) == len(set(checks))  # each check line printed once, not the block again


@pytest.mark.slow
def test_calibrate_that_fails_its_validation_saves_nothing(tmp_path: Path, capsys) -> None:
    """Sat well for the capture, slouched for the check after it."""
    code, _out, err, profile = _calibrate(
        tmp_path, capsys, Script(((1.2, GOOD), (60.0, SLOUCH))), "--seconds", "1"
    )
    line = assert_one_line_error(code, err)
    assert line.startswith("posture: error: calibration not saved: Your posture reads "), line
    assert "sit as you did during calibration" in line
    assert not profile.exists()


@pytest.mark.slow
def test_calibrate_that_passes_saves_the_profile(tmp_path: Path, capsys) -> None:
    from posture.baseline import Baseline

    code, out, err, profile = _calibrate(tmp_path, capsys, Script(((60.0, GOOD),)), "--seconds", "1")
    assert code == 0, err
    assert Baseline.load(profile).values["neck_inclination_deg"] == pytest.approx(8.0, abs=0.5)
    assert "ok: Your posture reads good against the new calibration" in out


@pytest.mark.slow
@pytest.mark.parametrize("flag,expected", [([], 2.5), (["--seconds", "1"], 1.0)])
def test_calibrate_takes_its_settings_from_the_config_and_flags_win(
    flag: list[str], expected: float, tmp_path: Path, capsys
) -> None:
    """The capture lasts calibration.seconds (or --seconds) and is judged by the file's
    min_brightness: the clip (grey level 35) is darker than the default (45) allows."""
    from posture.baseline import Baseline

    cfg = tmp_path / "posture.toml"
    cfg.write_text("[calibration]\nseconds = 2.5\nmin_brightness = 30.0\n")
    code, out, err, profile = _calibrate(
        tmp_path, capsys, Script(((60.0, GOOD),)), "--config", str(cfg), *flag
    )
    assert code == 0, err
    assert f"hold still for {expected:g} s" in out
    frames = Baseline.load(profile).frames  # sampled at calibration.sample_fps, 5 a second
    assert abs(frames - 5 * expected) <= 2, frames


# -- start-up runs no program ----------------------------------------------------------------------

_AUDIT = """
import sys
spawned = []
def hook(event, args):
    if event in ("subprocess.Popen", "os.posix_spawn", "os.exec", "os.system", "os.fork"):
        spawned.append(f"{event} {args[0] if event != 'subprocess.Popen' else args[1]}")
sys.addaudithook(hook)
from posture._cli.main import main
code = main(sys.argv[1:])
from posture.pose.estimator import _import_mediapipe
from posture.geometry import View
_import_mediapipe()
import sys as _s
assert "sounddevice" not in _s.modules or _s.modules["sounddevice"] is not None
print("SPAWNED", spawned)
"""


@pytest.mark.mediapipe
@pytest.mark.parametrize("argv", [["--help"], ["history"], ["advice", "--list"], ["status"]], ids=" ".join)
def test_start_up_and_the_mediapipe_import_run_no_program(argv: list[str], tmp_path: Path) -> None:
    """No ldconfig, gcc, ld or fc-list: sounddevice and pyplot stay out of MediaPipe's import."""
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")}  # a fresh font cache would run fc-list
    res = subprocess.run(
        [sys.executable, "-c", _AUDIT, *argv], capture_output=True, text=True, timeout=120, env=env
    )
    spawned = [line for line in res.stdout.splitlines() if line.startswith("SPAWNED")]
    assert spawned == ["SPAWNED []"], res.stdout + res.stderr


@pytest.mark.mediapipe
def test_pyplot_is_real_after_the_mediapipe_import() -> None:
    """The placeholders are removed again: the report's charts get the real matplotlib."""
    code = (
        "from posture.pose.estimator import _import_mediapipe\n"
        "_import_mediapipe()\n"
        "import sys, matplotlib\n"
        "matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "fig = plt.figure(); plt.close(fig)\n"
        "print('REAL', type(sys.modules['matplotlib.pyplot'].figure).__name__)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "REAL function" in res.stdout, res.stderr
