"""The report's chart explains every verdict, on real footage: each poor stretch is shaded on the
panel of the measure that flagged it, over a value beyond a limit drawn on that same panel (issue
20: everyone's limit, the calibration's or the session's habit)."""

from __future__ import annotations

import pytest

from posture.config import Config
from posture.geometry import View
from posture.metric_registry import charted
from posture.outputs.report.charts import timeline_panels
from posture.pipeline import Pipeline
from posture.reading import Reference, Verdict

pytestmark = [pytest.mark.footage, pytest.mark.mediapipe]


@pytest.fixture(scope="module", params=["chair_good_bad.mp4", "office_chair_postures.mp4"])
def analysed(request, footage):
    config = Config()
    return config, Pipeline(config).analyze_video(footage / "side_video" / request.param)


def test_every_shaded_poor_stretch_lies_beyond_a_limit_drawn_on_its_own_panel(analysed) -> None:
    config, result = analysed
    panels = timeline_panels(result.readings, charted(View.SIDE), config.metrics.rules, None)
    assert panels and {p.metric for p in panels} >= {"neck_inclination_deg", "trunk_inclination_deg"}
    shaded = 0
    for panel in panels:
        for i in range(len(result.readings)):
            if panel.poor[i]:
                shaded += 1
                assert panel.beyond(i), (panel.metric, result.readings[i].t_s, result.readings[i].explain())
    assert shaded
    # and every poor frame is shaded somewhere: no verdict goes unexplained
    for i, r in enumerate(result.readings):
        if r.posture is Verdict.POOR:
            assert any(p.poor[i] for p in panels), (r.t_s, r.explain())


def test_a_stretch_flagged_against_the_session_s_habit_draws_the_habit_s_limit(analysed) -> None:
    """On the chair clip the first slouch is under everyone's limits: the limit that flagged it
    is this session's habit, drawn on the head-forward panel where it flagged."""
    config, result = analysed
    habit = [
        (i, reason)
        for i, r in enumerate(result.readings)
        if r.posture is Verdict.POOR
        for reason in r.reasons
        if reason.reference is Reference.HABIT and reason.reached
    ]
    if result.source.name != "chair_good_bad.mp4":
        return
    assert habit, "the chair clip's first slouch is flagged against the habit"
    panels = {
        p.metric: p for p in timeline_panels(result.readings, charted(View.SIDE), config.metrics.rules, None)
    }
    for i, reason in habit:
        lines = [line for line in panels[reason.metric].limits if line.reference is Reference.HABIT]
        assert any(line.limits[i] == pytest.approx(reason.limit) for line in lines)
