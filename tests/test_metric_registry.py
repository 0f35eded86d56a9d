"""The metric registry: one entry per metric of a reading, and what the rest of the code reads from it."""

from __future__ import annotations

import pytest

from posture.findings import bands
from posture.metric_registry import (
    FORESHORTENED,
    METRIC_NAMES,
    METRICS,
    MetricInfo,
    Shown,
    charted,
    estimate_reason,
    estimate_reasons,
    label,
    metric,
    shown,
)
from posture.reading import View


def test_every_name_ends_with_its_unit_and_every_view_is_a_real_one() -> None:
    assert METRIC_NAMES[0] == "neck_inclination_deg" and len(METRIC_NAMES) == 12
    for m in METRICS.values():
        assert m.unit == {"deg": "°", "pct": "%"}[m.name.rsplit("_", 1)[1]]
        assert m.views and View.UNKNOWN not in m.views
        assert not (m.relative and m.foreshortened), (
            m.name
        )  # a change from the baseline is no angle in the picture
    with pytest.raises(ValueError, match="ends with its unit"):
        MetricInfo("neck_length", "Neck", "", "neck", frozenset({View.SIDE}))
    with pytest.raises(ValueError, match="not both"):
        MetricInfo(
            "x_deg", "X", "", "x", frozenset({View.SIDE}), measure=lambda p, v: 0.0, derive=lambda r, b: 0.0
        )


def test_why_a_metric_is_an_estimate_depends_on_the_view() -> None:
    assert metric("neck_inclination_deg").estimate_reason(View.SIDE) is None
    assert estimate_reason("neck_inclination_deg", View.OBLIQUE) == FORESHORTENED
    pitch = estimate_reason("head_pitch_deg", View.OBLIQUE)
    assert pitch.startswith(FORESHORTENED + "; it also mixes in the face's pitch")
    assert estimate_reason("face_scale_pct", View.OBLIQUE) == estimate_reason("face_scale_pct", View.FRONT)
    assert estimate_reason("from_a_newer_posture_deg", View.SIDE) == "an estimate"
    # in the registry's order, each metric with the reasons of every view it was estimated in
    reasons = estimate_reasons(
        [("face_scale_pct", View.FRONT), ("head_forward_deg", View.SIDE), ("head_forward_deg", View.OBLIQUE)]
    )
    assert (
        list(reasons) == ["head_forward_deg", "face_scale_pct"]
        and "; or foreshortened" in reasons["head_forward_deg"]
    )


def test_the_chart_panels_of_each_view() -> None:
    side = ("neck_inclination_deg", "head_forward_deg", "trunk_inclination_deg", "neck_flexion_deg")
    front = ("face_scale_pct", "head_drop_pct", "shoulder_tilt_deg")
    assert charted(View.SIDE) == side and charted(View.FRONT) == front
    assert charted(View.OBLIQUE) == charted(View.UNKNOWN) == side + front


def test_labels_and_where_values_are_shown() -> None:
    assert label("face_scale_pct") == "Face size vs baseline (%)" and label("nonsense") == "nonsense"
    assert [m.short for m in shown(Shown.PREVIEW)] == [
        "neck",
        "trunk",
        "shoulder tilt",
        "face scale",
        "head drop",
    ]
    assert [m.name for m in shown(Shown.FRAME)] == [m.name for m in shown(Shown.PREVIEW)]
    assert "cva_deg" in {m.name for m in shown(Shown.TERMINAL)} and not shown(Shown.TERMINAL)[0].relative


def test_every_metric_a_band_judges_is_in_the_registry() -> None:
    assert {name for b in bands().values() for name in b.metrics} <= set(METRICS)


def test_a_relative_metric_is_derived_from_the_raw_values_and_the_calibration() -> None:
    drop = metric("head_drop_pct")
    assert drop.value({"head_height_ratio": 0.45}, {"head_height_ratio": 0.5}) == pytest.approx(10.0)
    assert drop.value({"head_height_ratio": 0.45}, {}) is None
    assert metric("face_scale_pct").value({"face_width_frac": 0.1}, {"face_width_frac": 0.0}) is None
    assert (
        metric("neck_forward_3d_delta_deg").value(
            {"neck_sagittal_3d_deg": 12.0}, {"neck_sagittal_3d_deg": 5.0}
        )
        == 7.0
    )
    assert metric("cva_deg").value({"cva_deg": 70.0}, {}) == 70.0
