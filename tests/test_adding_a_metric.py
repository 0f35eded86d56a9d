"""Adding a metric and a finding the documented way (docs/architecture.md, "How to add ..."): one
registry entry plus its rule each, at test time, and both show up everywhere the built-in ones do:
the timeline CSV, the frames' text, ``posture measure``, the summary, the reasons and the report."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture import geometry
from posture.config import Band, Config, FindingRules, load_config
from posture.findings import FINDINGS, BandInfo, BodyPart, Direction, FindingInfo
from posture.metric_registry import METRICS, MetricInfo, Shown, charted
from posture.metrics import Judgement, Scene, rule
from posture.pipeline import Pipeline
from posture.reading import Reference, Verdict, View
from posture.results import AnalysisResult
from tests.builders import front_pose, side_pose

# A metric: its entry, and its rule (here a function of the pose: how far the shoulders turn).
SHOULDER_TURN = MetricInfo(
    "shoulder_turn_deg",
    label="Shoulder turn",
    meaning="the shoulder line's turn away from the camera, 0° facing it",
    short="turn",
    views=frozenset({View.SIDE, View.FRONT, View.OBLIQUE}),
    chart=8,
    shown=Shown.TERMINAL | Shown.PREVIEW | Shown.FRAME,
    measure=lambda pose, min_visibility: geometry.shoulder_yaw_deg(pose),
)

# A finding: its entry (with its band) ...
TURNED_AWAY = FindingInfo(
    "turned_away",
    words="turned away",
    title="Turned away from the screen",
    meaning="Your shoulders were turned well away from the camera and the screen beside it.",
    notice="You have been turned away from the screen",
    body_part=BodyPart.TRUNK,
    direction=Direction.SIDEWAYS,
    advice_topic="movement",
    bands=(BandInfo("turned_away_deg", 40.0, 60.0, ("shoulder_turn_deg",), "shoulder turn"),),
)


# ... and its rule.
def _turned_away(scene: Scene, out: Judgement) -> bool:
    out.offer(scene.condition("shoulder_turn_deg", "turned_away_deg", Reference.EVERYONE))
    return scene.metrics.get("shoulder_turn_deg") is not None


@pytest.fixture()
def registered() -> Iterator[None]:
    METRICS.register(SHOULDER_TURN)
    FINDINGS.register(TURNED_AWAY)
    rule("turned_away")(_turned_away)
    try:
        yield
    finally:
        FINDINGS.unregister("turned_away")
        METRICS.unregister("shoulder_turn_deg")


@pytest.fixture()
def analysed(registered, tmp_path: Path, scripted) -> AnalysisResult:
    """Facing the camera for 2 s, then turned into a profile for 3 s."""
    from tests.builders import write_video

    clip = write_video(tmp_path / "clip.avi", seconds=5.0)
    config = Config().replace("detector", hold_s=1.0)
    pipeline = Pipeline(config, estimators=scripted((2.0, front_pose()), (3.0, side_pose())))
    return pipeline.analyze_video(clip)


def _turned(result: AnalysisResult):
    return [r for r in result.readings if r.findings.get("turned_away", 0.0) >= 1.0]


def test_the_metric_is_measured_and_the_finding_judged(analysed: AnalysisResult) -> None:
    turns = [r.metrics["shoulder_turn_deg"] for r in analysed.readings]
    assert turns[0] == pytest.approx(0.0, abs=1.0) and turns[-1] == pytest.approx(90.0, abs=1.0)
    turned = _turned(analysed)
    assert turned and all(r.t_s >= 2.0 for r in turned) and all(r.posture is Verdict.POOR for r in turned)
    (reason,) = turned[-1].reasons_for("turned_away")
    assert (reason.metric, reason.rule, reason.limit) == ("shoulder_turn_deg", "turned_away_deg", 60.0)
    assert turned[-1].explain().startswith("turned_away: shoulder_turn_deg 90.0 >= 60.0")
    assert [next(iter(e.findings)) for e in analysed.episodes] == ["turned_away"]


def test_the_timeline_csv_has_their_columns(analysed: AnalysisResult) -> None:
    import csv

    from posture.outputs.timeline import write_timeline

    buf = io.StringIO()
    write_timeline(analysed.readings, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert float(rows[-1]["shoulder_turn_deg"]) == pytest.approx(90.0, abs=1.0)
    assert float(rows[-1]["turned_away"]) >= 1.0 and rows[-1]["reason"].startswith("turned_away:")
    assert float(rows[0]["turned_away"]) == 0.0


def test_the_summary_and_the_terminal_name_them(analysed: AnalysisResult) -> None:
    from posture._cli.analysis import _reading_lines
    from posture.outputs.session_files import analysis_summary

    summary = analysis_summary(analysed).to_json()
    assert summary["metrics"]["shoulder_turn_deg"]["max"] == pytest.approx(90.0, abs=1.0)
    assert summary["finding_poor_s"]["turned_away"] > 2.0 and summary["top_finding"] == "turned_away"
    assert summary["finding_reasons"]["turned_away"]["limits"] == {"shoulder_turn_deg": [60.0, 60.0]}
    lines = _reading_lines("clip", analysed.readings[-1])
    assert "turn 90.0°" in lines[1] and "turned_away" in lines[2]


def test_the_frames_show_the_metric(analysed: AnalysisResult) -> None:
    import numpy as np

    from posture.outputs.overlay import OverlayState, annotate_frame, frame_texts

    last = analysed.readings[-1]
    assert frame_texts(last) == ["turn 90°"]
    drawn = np.zeros((480, 640, 3), np.uint8)
    annotate_frame(drawn, last, analysed.poses[-1], OverlayState(last.posture, "POOR", None, None))
    without = np.zeros((480, 640, 3), np.uint8)
    METRICS.unregister("shoulder_turn_deg")  # the same frame without the metric's text
    try:
        annotate_frame(without, last, analysed.poses[-1], OverlayState(last.posture, "POOR", None, None))
    finally:
        METRICS.register(SHOULDER_TURN)
    assert (drawn != without).any()


def test_their_band_is_a_setting_with_its_default(registered, tmp_path: Path) -> None:
    assert FindingRules().turned_away_deg == Band(40.0, 60.0)
    assert "turned_away_deg = [40.0, 60.0]" in FindingRules.toml()
    path = tmp_path / "posture.toml"
    path.write_text("[metrics.rules]\nturned_away_deg = [30, 45]\n", encoding="utf-8")
    assert load_config(path).metrics.rules["turned_away_deg"] == Band(30.0, 45.0)
    assert "shoulder_turn_deg" in charted(View.SIDE)


def test_registering_is_undone(registered) -> None:
    assert "turned_away" in FINDINGS and "shoulder_turn_deg" in METRICS
    FINDINGS.unregister("turned_away")
    METRICS.unregister("shoulder_turn_deg")
    try:
        assert "turned_away_deg" not in FindingRules()
        assert "shoulder_turn_deg" not in charted(View.SIDE)
    finally:
        METRICS.register(SHOULDER_TURN)
        FINDINGS.register(TURNED_AWAY)


@pytest.mark.slow
def test_the_report_charts_the_metric_and_explains_the_finding(analysed: AnalysisResult) -> None:
    from tests.builders import render, text_of

    page = render(analysed, key_frames=False)
    assert ">Shoulder turn</text>" in page  # its panel of the timeline chart ...
    assert 'id="advice-movement"' in page  # ... the advice topic its entry names
    text = text_of(page)
    assert "Line charts of shoulder tilt, shoulder turn over the session" in text  # ... described
    # its section, measured by the metric, with its advice topic; its band in the thresholds table
    assert "Turned away from the screen Your shoulders were turned" in text
    assert "Measured by shoulder turn (°)" in text
    assert "Turned away from the screen shoulder turn 40° 60°" in text
