"""``posture demo``: the clip is package data, its attribution is shown, it never touches the
history, its output goes to the cache folder or ``--out``, and ``--open`` says why it could not."""

from __future__ import annotations

import io
import itertools
import json
import os
import webbrowser
from pathlib import Path
from typing import Any

import pytest

from posture._cli import analysis as commands
from posture._cli.main import main
from posture.analysis import AnalysisOutput
from posture.detector import DetectorConfig
from posture.options import AnalysisOptions
from posture.paths import CACHE_DIR_ENV, DB_NAME, demo_out_dir
from posture.sources import demo
from tests.builders import summary_of


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(argv, stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


# -- the packaged material -------------------------------------------------------------------------


def test_clip_is_package_data_with_its_notice() -> None:
    with demo.clip_path() as path:
        assert path.is_file()
        assert path.suffix == ".mp4"
        assert path.stat().st_size < 3_000_000  # a few MB at most
        notice = (path.parent / "NOTICE").read_text(encoding="utf-8")
    assert "CC BY 4.0" in notice and "ikornproject" in notice
    assert "CC BY 4.0" in demo.ATTRIBUTION and "ikornproject" in demo.ATTRIBUTION


def test_timeline_stretches_are_long_enough_for_the_sustained_rule() -> None:
    stretches = demo.load_timeline()
    assert [s.posture for s in stretches] == ["upright", "hunched", "upright", "head_down", "upright"]
    assert stretches[0].start_s == 0.0
    for a, b in itertools.pairwise(stretches):
        assert a.end_s == b.start_s
    detector = DetectorConfig(hold_s=demo.HOLD_S)
    for s in stretches:
        if s.poor:  # held well past the onset and the hold, so the alert fires inside
            assert s.end_s - s.start_s >= detector.onset_s + demo.HOLD_S + 2.0
        else:  # long enough for the episode before to end
            assert s.end_s - s.start_s >= detector.release_time_s + 2.0
    assert stretches[0].end_s > demo.CALIBRATE_S  # calibration sees upright posture only


@pytest.mark.slow
def test_clip_decodes_with_opencv_to_its_timeline_length() -> None:
    import cv2

    with demo.clip_path() as path:
        cap = cv2.VideoCapture(str(path))
        try:
            assert cap.isOpened()
            fps = cap.get(cv2.CAP_PROP_FPS)
            frames = 0
            while cap.read()[0]:
                frames += 1
        finally:
            cap.release()
    assert frames / fps == pytest.approx(demo.load_timeline()[-1].end_s, abs=0.2)


def test_default_out_dir_is_in_the_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    assert demo_out_dir() == tmp_path / "demo"
    monkeypatch.delenv(CACHE_DIR_ENV)
    path = demo_out_dir()
    assert "posture" in path.parts and path.name == "demo"
    assert not str(path).startswith("/tmp/posture-demo-")


# -- the command, with the analysis faked (fast) ---------------------------------------------------


@pytest.fixture()
def fake_analysis(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """run_analysis replaced by one that writes a report file and records how it was called."""
    calls: list[dict[str, Any]] = []

    def fake(video: Path, out_dir: Path, config: Any, options: AnalysisOptions, **kw: Any) -> AnalysisOutput:
        assert video.is_file()
        out_dir.mkdir(parents=True, exist_ok=True)
        report = out_dir / "report.html"
        report.write_text("<html></html>")
        calls.append(
            {"video": video, "out_dir": out_dir, "hold_s": config.detector.hold_s, **vars(options), **kw}
        )
        return AnalysisOutput(summary_of(duration=64.0, poor=0.0, away=0.0), {"report": report})

    monkeypatch.setattr(commands, "run_analysis", fake)
    return calls


def test_demo_writes_into_the_cache_folder_says_where_and_credits_the_photos(
    fake_analysis: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(["demo", "--quiet"], capsys)
    assert code == 0, err
    cache = Path(os.environ[CACHE_DIR_ENV]) / "demo"
    (call,) = fake_analysis
    assert call["out_dir"] == cache
    assert call["history"] is False
    assert call["footage_credit"] == demo.ATTRIBUTION
    assert call["calibrate_first_s"] == demo.CALIBRATE_S and call["hold_s"] == demo.HOLD_S
    assert call["annotate"] is True and call["annotate_fps"] == demo.VIDEO_FPS
    assert call["credit_band_px"] == demo.CREDIT_BAND_PX
    assert f"writing into {cache}" in out
    assert demo.ATTRIBUTION in out
    assert (cache / "report.html").is_file()


def test_demo_never_writes_the_history_even_without_no_history(
    fake_analysis: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(["demo", "--out", str(tmp_path / "o"), "--quiet"], capsys)[0] == 0
    assert run(["demo", "--out", str(tmp_path / "o"), "--quiet", "--no-history"], capsys)[0] == 0
    assert [c["history"] for c in fake_analysis] == [False, False]


def test_demo_open_without_a_browser_says_where_and_why(
    fake_analysis: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(commands.sys, "platform", "linux")
    code, out, err = run(["demo", "--out", str(tmp_path / "o"), "--quiet", "--open"], capsys)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("could not open the report"))
    assert "no display" in line and "no web browser was found" in line
    assert str((tmp_path / "o" / "report.html").resolve()) in line


def test_demo_open_reports_the_browser_error(
    fake_analysis: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    def refuse(*_a: Any, **_k: Any) -> bool:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "open", refuse)
    code, out, _ = run(["demo", "--out", str(tmp_path / "o"), "--quiet", "--open"], capsys)
    assert code == 0
    assert "could not locate runnable browser" in out
    assert str((tmp_path / "o" / "report.html").resolve()) in out


def test_demo_open_with_a_browser_prints_no_complaint(
    fake_analysis: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda uri, *a, **k: opened.append(uri) or True)
    code, out, _ = run(["demo", "--out", str(tmp_path / "o"), "--quiet", "--open"], capsys)
    assert code == 0
    assert opened == [(tmp_path / "o" / "report.html").resolve().as_uri()]
    assert "could not open" not in out


# -- the real thing -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.mediapipe
def test_demo_alerts_on_each_poor_stretch_and_never_while_upright(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "demo"
    code, out, err = run(["demo", "--out", str(out_dir), "--quiet"], capsys)
    assert code == 0, err
    assert demo.ATTRIBUTION in out
    events = json.loads((out_dir / "events.json").read_text())
    alerts = [e["alert_s"] for e in events["episodes"] if e["alert_s"] is not None]
    for s in demo.load_timeline():
        inside = [t for t in alerts if s.start_s <= t < s.end_s]
        assert len(inside) == (1 if s.poor else 0), (s, alerts)
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "ikornproject" in html and "CC BY 4.0" in html
    assert any(out_dir.glob("annotated.*"))
    # the demo never goes into the history: not even the database is created
    assert not (Path(os.environ["POSTURE_DATA_DIR"]) / DB_NAME).exists()
