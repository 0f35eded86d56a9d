"""Bad numbers and flags: exit 2 and one line before any work starts (no model loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.helpers import assert_one_line_error, run_cli
from tests.builders import write_png, write_video
from tests.fakes import Script, ScriptedEstimators

pytestmark = pytest.mark.adversarial

NOT_POSITIVE = ["nan", "inf", "-inf", "0", "-1", "1e309", "-0", "NaN"]
NOT_A_NUMBER = ["abc", "", "1,5", "0x10", "--"]


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.avi")


@pytest.mark.parametrize("value", [*NOT_POSITIVE, *NOT_A_NUMBER, "1e6", "241"])
def test_analyze_fps(value: str, clip: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["analyze", str(clip), "--out", str(tmp_path / "o"), f"--fps={value}"], capsys)
    assert_one_line_error(code, err)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flag", ["--hold", "--calibrate-first"])
@pytest.mark.parametrize("value", NOT_POSITIVE)
def test_analyze_seconds(flag: str, value: str, clip: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["analyze", str(clip), "--out", str(tmp_path / "o"), f"{flag}={value}"], capsys)
    assert_one_line_error(code, err)


@pytest.mark.parametrize("value", ["0", "-1", "-1000", "abc", "1.5", ""])
def test_analyze_workers(value: str, clip: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["analyze", str(clip), "--out", str(tmp_path / "o"), f"--workers={value}"], capsys)
    assert_one_line_error(code, err)


@pytest.mark.parametrize("value", NOT_POSITIVE)
def test_monitor_duration(value: str, clip: Path, capsys) -> None:
    code, _, err = run_cli(
        ["monitor", "--source", str(clip), f"--duration={value}", "--no-history", "--no-context"], capsys
    )
    assert_one_line_error(code, err)


@pytest.mark.parametrize("value", [*NOT_POSITIVE, "601"])
def test_calibrate_seconds(value: str, clip: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(
        ["calibrate", "--source", str(clip), f"--seconds={value}", "--profile", str(tmp_path / "p.json")],
        capsys,
    )
    assert_one_line_error(code, err)
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("value", NOT_POSITIVE)
def test_record_seconds(value: str, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["record", str(tmp_path / "c.mp4"), f"--seconds={value}", "--camera", "9"], capsys)
    assert_one_line_error(code, err)


@pytest.mark.parametrize("value", ["0", "-5", "abc"])
def test_history_limit(value: str, capsys) -> None:
    code, _, err = run_cli(["history", f"--limit={value}"], capsys)
    assert_one_line_error(code, err)


@pytest.mark.parametrize("value", ["soon", "0m", "-5m", "5", "8d", "1e400h", "5 parsecs", "", "   "])
def test_pause_durations(value: str, capsys) -> None:
    code, _, err = run_cli(["pause", value], capsys)
    assert_one_line_error(code, err)


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze"],
        ["measure"],
        ["frobnicate"],
        ["analyze", "x.mp4", "--no-such-flag"],
        ["monitor", "--camera", "x"],
        ["monitor", "--camera", "0", "--source", "x.mp4"],
        ["advice", "no-such-topic"],
        ["pause", "1h", "2h"],
    ],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_are_one_line(argv: list[str], capsys) -> None:
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err)


def test_measure_16_bit_greyscale_png_is_read_not_blank(tmp_path: Path) -> None:
    """A 16-bit greyscale photo is scaled to 8 bits, not clipped to white (which read as away)."""
    import cv2
    import numpy as np
    from PIL import Image

    from posture.sources.media import load_image

    ramp = np.tile(np.linspace(0, 65535, 256, dtype=np.uint16), (32, 1))
    path = tmp_path / "grey16.png"
    cv2.imwrite(str(path), ramp)  # OpenCV writes uint16 as a 16-bit greyscale PNG
    assert Image.open(path).mode.startswith("I")
    image = load_image(path)
    assert image.dtype == np.uint8 and image.shape == (32, 256, 3)
    row = image[0, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255 and 120 <= row[128] <= 135  # the ramp survives
    assert np.all(np.diff(row) >= 0)


def test_measure_a_16_bit_png_through_the_cli(tmp_path: Path, capsys) -> None:
    import cv2
    import numpy as np

    path = tmp_path / "grey16.png"
    cv2.imwrite(str(path), np.full((48, 64), 40000, np.uint16))
    code, out, err = run_cli(["measure", str(path), "--json"], capsys)
    assert code == 0 and "Traceback" not in err
    assert '"posture"' in out


@pytest.mark.slow
def test_workers_beyond_the_cores_are_capped_with_one_line(tmp_path: Path, capsys) -> None:
    import json

    from posture.pose.parallel import available_cores

    clip = write_video(tmp_path / "clip.avi")
    out = tmp_path / "o"
    code, _, err = run_cli(
        [
            "analyze",
            str(clip),
            "--out",
            str(out),
            "--workers",
            "1000",
            "--quiet",
            "--no-report",
            "--no-history",
        ],
        capsys,
        estimators=ScriptedEstimators(Script(((60.0, None),))),
    )
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["workers"] == available_cores()
    assert [line for line in err.splitlines() if "--workers 1000" in line] == [
        f"posture: --workers 1000: this machine has {available_cores()} core(s); using {available_cores()}"
    ]


def test_measure_ok_png_still_works(tmp_path: Path, capsys) -> None:
    code, out, err = run_cli(["measure", str(write_png(tmp_path / "ok.png"))], capsys)
    assert code == 0 and "away" in out, err
