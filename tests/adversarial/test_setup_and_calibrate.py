"""The runtime folder's fallback in /tmp, calibration that fails its check, and a quiet start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from posture.geometry import View
from posture.live.channel import ControlError
from posture.live.channel import ensure_private_folder as _ensure_private_folder
from tests.adversarial.helpers import assert_one_line_error, run_cli, write_video

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


class _NoModel:
    name = "fake"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def estimate(self, frame):
        return None


@pytest.mark.slow
def test_calibrate_on_nobody_saves_nothing_and_says_so_once(tmp_path: Path, capsys, monkeypatch) -> None:
    import posture.pose.estimator

    monkeypatch.setattr(posture.pose.estimator, "open_estimator", lambda *a, **k: _NoModel())
    clip = write_video(tmp_path / "empty.avi", seconds=4.0, fps=10.0)
    profile = tmp_path / "profile.json"
    code, out, err = run_cli(
        ["calibrate", "--source", str(clip), "--seconds", "1.5", "--profile", str(profile)], capsys
    )
    line = assert_one_line_error(code, err)
    assert line.startswith("posture: error: calibration not saved")
    assert not profile.exists()
    checks = [s for s in out.splitlines() if s.startswith("  ")]
    assert len(checks) == len(set(checks))  # each check line printed once, not the block again


def _calibrate_validated_as(validation, tmp_path: Path, capsys, monkeypatch) -> tuple[int, str, Path]:
    """``posture calibrate`` on a clip with a capture that passes and a check that says ``validation``."""
    import posture.calibrate
    import posture.pose.estimator
    import posture.profile
    from posture.baseline import Baseline

    baseline = Baseline(view=View.SIDE, values={"neck_inclination_deg": 10.0}, frames=20)
    monkeypatch.setattr(posture.pose.estimator, "open_estimator", lambda *a, **k: _NoModel())
    monkeypatch.setattr(
        posture.calibrate,
        "run_calibration",
        lambda *a, **k: (baseline, posture.calibrate.CalibrationReport(True, ())),
    )
    monkeypatch.setattr(posture.profile, "validate", lambda *a, **k: validation)
    clip = write_video(tmp_path / "clip.avi", seconds=6.0, fps=10.0)
    profile = tmp_path / "profile.json"
    code, _out, err = run_cli(
        ["calibrate", "--source", str(clip), "--seconds", "1", "--profile", str(profile)], capsys
    )
    return code, err, profile


@pytest.mark.slow
def test_calibrate_that_fails_its_validation_saves_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    from posture.profile import Validation

    failed = Validation(False, "Your posture reads poor: calibrate again")
    code, err, profile = _calibrate_validated_as(failed, tmp_path, capsys, monkeypatch)
    assert assert_one_line_error(code, err) == (
        "posture: error: calibration not saved: Your posture reads poor: calibrate again"
    )
    assert not profile.exists()


@pytest.mark.slow
def test_calibrate_that_passes_saves_the_profile(tmp_path: Path, capsys, monkeypatch) -> None:
    from posture.baseline import Baseline
    from posture.profile import Validation

    code, err, profile = _calibrate_validated_as(Validation(True, "good"), tmp_path, capsys, monkeypatch)
    assert code == 0, err
    assert Baseline.load(profile).values["neck_inclination_deg"] == 10.0


@pytest.mark.slow
@pytest.mark.parametrize("flag,expected", [([], 2.5), (["--seconds", "1"], 1.0)])
def test_calibrate_takes_its_settings_from_the_config_and_flags_win(
    flag: list[str], expected: float, tmp_path: Path, capsys, monkeypatch
) -> None:
    import posture.calibrate
    import posture.pose.estimator
    import posture.profile
    from posture.baseline import Baseline

    seen = []

    def fake_run(frames, est, calibration, metrics, **kwargs):
        seen.append(calibration)
        return Baseline(view=View.SIDE, values={"neck_inclination_deg": 10.0}, frames=20), (
            posture.calibrate.CalibrationReport(True, ())
        )

    monkeypatch.setattr(posture.pose.estimator, "open_estimator", lambda *a, **k: _NoModel())
    monkeypatch.setattr(posture.calibrate, "run_calibration", fake_run)
    monkeypatch.setattr(posture.profile, "validate", lambda *a, **k: posture.profile.Validation(True, "good"))
    cfg = tmp_path / "posture.toml"
    cfg.write_text("[calibration]\nseconds = 2.5\nmin_brightness = 30.0\n")
    clip = write_video(tmp_path / "clip.avi", seconds=6.0, fps=10.0)
    argv = ["calibrate", "--source", str(clip), "--config", str(cfg), "--profile", str(tmp_path / "p.json")]
    code, out, err = run_cli(argv + flag, capsys)
    assert code == 0, err
    (calibration,) = seen
    assert calibration.seconds == expected
    assert calibration.min_brightness == 30.0
    assert f"hold still for {expected:g} s" in out


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
