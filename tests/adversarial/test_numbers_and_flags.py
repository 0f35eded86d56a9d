"""Numbers too large or unrepresentable, and flags accepted silently though wrong (issue 19,
items 9, 11 and 19): one line and exit 2 each, or a true answer; never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture import paths
from posture.config import Config, load_config
from posture.errors import ConfigError
from posture.live.control import ControlServer, Status
from posture.pipeline import Pipeline
from tests.adversarial.helpers import assert_one_line_error, run_cli
from tests.builders import side_pose, write_video

pytestmark = pytest.mark.adversarial

GOOD = side_pose(trunk_deg=-8.0, neck_deg=8.0, pitch_deg=10.0)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s at 10 fps."""
    return write_video(tmp_path_factory.mktemp("clip") / "clip.avi", seconds=3.0, fps=10.0)


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "posture.toml"
    path.write_text(text)
    return path


# -- item 9: numbers too large ----------------------------------------------------------------------


def test_history_limit_beyond_sqlite_integers(capsys) -> None:
    code, _out, err = run_cli(["history", "--limit", "99999999999999999999999"], capsys)
    assert "--limit" in assert_one_line_error(code, err)


@pytest.mark.parametrize(
    "text",
    [
        "[policy]\nmax_per_hour = " + "9" * 400 + "\n",
        "[policy]\ncooldown_s = " + "9" * 400 + "\n",
        "[policy]\nmax_per_hour = " + "9" * 5000 + "\n",  # past Python's int-string limit
        "[metrics.rules]\nforward_head_deg = [1, " + "9" * 400 + "]\n",
        "[metrics.rules]\nforward_head_deg = [" + "9" * 30 + ", 1]\n",
        "[detector]\ngrace_s = 1e300\n",
    ],
    ids=["int-400-digits", "float-key-400-digits", "int-5000-digits", "band-huge", "band-30-digits", "1e300"],
)
def test_config_numbers_no_setting_can_take(clip: Path, tmp_path: Path, capsys, text: str) -> None:
    config = _config(tmp_path, text)
    code, _out, err = run_cli(
        ["analyze", str(clip), "--config", str(config), "--out", str(tmp_path / "o")], capsys
    )
    line = assert_one_line_error(code, err)
    assert len(line) < 400, line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["1e-300", "nan", "inf", "-inf", "0"])
def test_batch_cpus_per_task(clip: Path, tmp_path: Path, capsys, value: str) -> None:
    out = tmp_path / "results"
    code, _out, err = run_cli(
        ["batch", str(clip), "--out", str(out), "--engine", "ray", "--cpus-per-task", value], capsys
    )
    assert "--cpus-per-task" in assert_one_line_error(code, err)
    assert not out.exists()


class _PausedFar:
    """A monitor whose pause ends where no calendar reaches (its reply is not checked like a request)."""

    def __init__(self, until_s: float) -> None:
        self.until_s = until_s

    def status(self) -> Status:
        return Status(state="paused", reason="paused by you", paused_until_s=self.until_s)

    def pause(self, until_s: float | None) -> Status:
        return self.status()

    def resume(self) -> Status:
        return self.status()


@pytest.mark.parametrize("until_s", [1e20, -1e20, 253402300800.0, -62135596801.0])
def test_status_of_a_pause_until_a_far_or_negative_time(capsys, until_s: float) -> None:
    with ControlServer(_PausedFar(until_s)):
        code, out, err = run_cli(["status"], capsys)
    assert code == 0, err
    assert "Paused until" in out and "Traceback" not in err


@contextlib.contextmanager
def _monitor_answering(reply: bytes) -> Iterator[None]:
    """Something at the control socket that answers every request with ``reply``."""
    path = paths.socket_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        server.close()
        path.unlink()


@pytest.mark.parametrize(
    "reply",
    [b"[" * 200_000 + b"]" * 200_000 + b"\n", b'{"ok": true, "x": ' + b"9" * 5000 + b"}\n", b"\xff\n"],
    ids=["nested-200000", "int-5000-digits", "not-utf8"],
)
def test_a_monitor_answering_garbage(capsys, reply: bytes) -> None:
    """Not the user's mistake but the monitor's: exit 1, with its one line."""
    with _monitor_answering(reply):
        code, _out, err = run_cli(["status"], capsys)
    assert "unreadable answer" in assert_one_line_error(code, err, expected=1)


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_pause_of_hundreds_of_digits_is_too_long_not_zero(capsys, digits: int) -> None:
    code, _out, err = run_cli(["pause", "9" * digits + "m"], capsys)
    line = assert_one_line_error(code, err)
    assert "longer than 7 days" in line and len(line) < 200


# -- item 11: accepted silently though wrong ---------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "CLIP", "--out", ""],
        ["batch", "CLIP", "--out", " "],
        ["demo", "--out", ""],
        ["monitor", "--camera", "0", "--source", "CLIP"],
        ["monitor", "--camera", "1", "--source", "CLIP"],
        ["calibrate", "--camera", "0", "--source", "CLIP"],
        ["monitor", "--loop", "--duration", "1"],
        ["batch", "CLIP", "--out", "OUT", "--calibrate-first", "nan"],
        ["batch", "CLIP", "--out", "OUT", "--calibrate-first", "inf"],
        ["batch", "CLIP", "--out", "OUT", "--calibrate-first", "-3"],
        ["analyze", "CLIP", "--out", "OUT", "--calibrate-first", "nan"],
        ["analyze", "CLIP", "--out", "OUT", "--fps", "0.0001"],
        ["analyze", "CLIP", "--out", "OUT", "--fps", "1e308"],
    ],
)
def test_refused_in_one_line(clip: Path, tmp_path: Path, capsys, argv: list[str]) -> None:
    argv = [str(clip) if a == "CLIP" else str(tmp_path / "out") if a == "OUT" else a for a in argv]
    code, _out, err = run_cli(argv, capsys)
    assert_one_line_error(code, err)
    assert not (tmp_path / "out").exists()
    assert not paths.history_db_path().exists()


@pytest.mark.parametrize("fps", ["1e-300", "1e308", "0.001", "241"])
def test_a_sampling_rate_no_video_has(tmp_path: Path, fps: str) -> None:
    with pytest.raises(ConfigError, match=r"analysis\.sample_fps must be"):
        load_config(_config(tmp_path, f"[analysis]\nsample_fps = {fps}\n"))


@pytest.mark.parametrize("fps", [0.01, 0.1, 0.3])
def test_a_sample_step_longer_than_the_clip_never_makes_it_longer(clip: Path, scripted, fps: float) -> None:
    """One frame every 100 s of a 3 s clip stands for the 3 s, not for 100 (nor 10,000)."""
    from posture.outputs.history import SessionTotals
    from posture.outputs.session_files import analysis_summary

    config = Config().replace("analysis", sample_fps=fps)
    result = Pipeline(config, estimators=scripted((10.0, GOOD))).analyze_video(clip)
    summary = analysis_summary(result)
    assert 0 < summary.duration_s <= 3.0 + 1e-6
    assert SessionTotals.from_summary(summary).duration_s <= 3.0 + 1e-6


@pytest.mark.slow
@pytest.mark.mediapipe
def test_analyze_at_a_rate_of_one_frame_in_100_s_stores_the_clip_length(
    clip: Path, tmp_path: Path, capsys
) -> None:
    code, out, err = run_cli(
        ["analyze", str(clip), "--fps", "0.01", "--out", str(tmp_path / "o"), "--quiet"], capsys
    )
    assert code == 0, err
    assert out.startswith("analysed 3.0 s"), out
    code, out, err = run_cli(["history", "--all", "--json"], capsys)
    (session,) = json.loads(out)["sessions"]
    assert 0 < session["duration_s"] <= 3.0
