"""The session summary's account of why each finding was flagged (``finding_reasons``)."""

from __future__ import annotations

import pytest

from posture.geometry import View
from posture.reading import Reading, Reason, Reference, Verdict
from posture.summary import finding_reasons


def _slumped(t_s: float, reference: Reference, limit: float) -> Reading:
    """A slumped frame flagged by two conditions on the same reference: recline and head forward."""
    reasons = (
        Reason("slumped", "trunk_inclination_deg", -24.0, -limit, False, reference, 1.4),
        Reason("slumped", "neck_inclination_deg", 6.0, 1.0, True, reference, 1.4),
    )
    return Reading(t_s, True, View.SIDE, {}, {"slumped": 1.4}, Verdict.POOR, reasons=reasons)


def test_a_frame_counts_once_per_reference_however_many_conditions_flagged_it() -> None:
    readings = [_slumped(0.0, Reference.EVERYONE, 20.0), _slumped(0.5, Reference.EVERYONE, 20.0)]
    readings.append(_slumped(1.0, Reference.HABIT, 18.0))
    why = finding_reasons(readings, [0.5, 0.5, 0.5])["slumped"]
    assert why["time_s"] == {"everyone": pytest.approx(1.0), "habit": pytest.approx(0.5)}
    assert why["limits"]["trunk_inclination_deg"] == [-20.0, -18.0]
    assert why["limits"]["neck_inclination_deg"] == [1.0, 1.0]


def test_findings_below_their_threshold_are_left_out() -> None:
    mild = Reading(0.0, True, View.SIDE, {}, {"slumped": 0.7}, Verdict.GOOD)
    assert finding_reasons([mild], [0.5]) == {}
