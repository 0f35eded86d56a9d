"""The metrics a reading carries: one registry, the only place a metric is described.

Beside the finding registry (:mod:`posture.findings`). Each :class:`MetricInfo` says what the rest
of the code says about a metric: its public name (with the unit in its suffix: the timeline's
column, the JSON key), its label and meaning in the report, the views that show it, whether and
why it is an estimate in each view, its panel in the report's timeline chart, and where its live
value is shown (``posture measure``, the live preview, the frames). The timeline, the summary,
the report's words and charts, the overlay, the preview and the CLI read it from here, when they
run: a metric added with ``METRICS.register(MetricInfo(...))`` shows up in all of them.

A metric's rule is how it is measured: ``measure`` (a function of the pose, run by
:func:`posture.metrics.measure` in the metric's views and smoothed with the others) or ``derive``
(a function of the smoothed raw values and the calibration, run by :func:`posture.metrics.assess`).
The built-in angles are measured together, by :func:`posture.geometry.side_angles` and
:func:`~posture.geometry.front_angles`, which share the body's midline; their entries name neither.
``docs/architecture.md`` ("How to add a metric") shows an entry with its rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Flag, auto
from typing import TYPE_CHECKING

from posture.reading import View
from posture.registry import Registry

if TYPE_CHECKING:
    from posture.landmarks import Pose

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "MetricInfo",
    "Shown",
    "charted",
    "estimate_reason",
    "estimate_reasons",
    "label",
    "metric",
    "shown",
]

Values = Mapping[str, "float | None"]

UNITS = {"_deg": "°", "_pct": "%"}  # a metric's name ends with its unit


class Shown(Flag):
    """Where a metric's live value is shown, besides the files and the report (which show all)."""

    TERMINAL = auto()  # the line of values `posture measure` prints
    PREVIEW = auto()  # the live preview's list, each beside the limit of its first band
    FRAME = auto()  # drawn on frames: the annotated video, the live preview, the report's key frames


NOWHERE = Shown(0)  # in the files and the report only


# Why a metric is an estimate, in the words of the report and of `posture measure`.
FACE_PITCH = "mixes in the face's pitch (the nose's drop below the ears), which the pose model only estimates"
FORESHORTENED = (
    "foreshortened: the camera saw you at an angle (oblique view), corrected by the shoulders' turn"
)
FROM_BASELINE = "a change from your baseline, from the face and shoulders seen from the front"
UNKNOWN_ESTIMATE = "an estimate"

SIDE = frozenset({View.SIDE, View.OBLIQUE})
FRONT = frozenset({View.FRONT, View.OBLIQUE})


@dataclass(frozen=True)
class MetricInfo:
    """One metric of a reading: see the module docstring."""

    name: str  # public, with the unit as its suffix (``_deg``, ``_pct``)
    label: str  # the report's and the charts' name
    meaning: str  # what it is, in a few words
    short: str  # its word in a line of values: `posture measure`, the preview, the frames
    views: frozenset[View]  # the views that show it (in others it is None)
    estimate: str = ""  # why it is an estimate in every view ("": a measurement)
    foreshortened: bool = True  # an angle in the picture: an estimate in an oblique view
    relative: bool = False  # a change from the calibration (0 = as calibrated)
    signed: bool = False  # shown with its sign (+3°): a tilt either way, a change
    chart: int | None = None  # its panel's place in the report's timeline chart (None: only when it flagged)
    shown: Shown = NOWHERE
    # The rule, for a metric of one's own (see the module docstring): from the pose and the
    # landmarks' minimum visibility ...
    measure: Callable[[Pose, float], float | None] | None = None
    # ... or from the smoothed raw values and the calibration's.
    derive: Callable[[Values, Values], float | None] | None = None

    def __post_init__(self) -> None:
        if not self.name.endswith(tuple(UNITS)):
            raise ValueError(f"metric {self.name!r}: the name ends with its unit, one of {', '.join(UNITS)}")
        if self.measure is not None and self.derive is not None:
            raise ValueError(f"metric {self.name}: measured from the pose or derived, not both")

    @property
    def unit(self) -> str:
        return next(unit for suffix, unit in UNITS.items() if self.name.endswith(suffix))

    def estimate_reason(self, view: View) -> str | None:
        """Why this metric is an estimate in a reading of ``view``, or None where it is measured."""
        if view is View.OBLIQUE and self.foreshortened:
            return FORESHORTENED + (f"; it also {self.estimate}" if self.estimate else "")
        return self.estimate or None

    def value(self, raw: Values, baseline: Values) -> float | None:
        """Its public value from a frame's (smoothed) raw values and the calibration's."""
        if self.derive is not None:
            return self.derive(raw, baseline)
        return raw.get(self.name)


def _pct_change(value: float | None, ref: float | None) -> float | None:
    if value is None or ref is None or abs(ref) < 1e-9:
        return None
    return 100.0 * (value - ref) / abs(ref)


def _face_scale(raw: Values, base: Values) -> float | None:
    return _pct_change(raw.get("face_width_frac"), base.get("face_width_frac"))


def _head_drop(raw: Values, base: Values) -> float | None:
    change = _pct_change(raw.get("head_height_ratio"), base.get("head_height_ratio"))
    return None if change is None else -change


def _neck_forward_3d(raw: Values, base: Values) -> float | None:
    value, ref = raw.get("neck_sagittal_3d_deg"), base.get("neck_sagittal_3d_deg")
    return None if value is None or ref is None else value - ref


_ALL = Shown.TERMINAL | Shown.PREVIEW | Shown.FRAME

_INFOS = (
    # side view, against the image vertical (geometry.side_angles)
    MetricInfo(
        "neck_inclination_deg",
        "Neck inclination",
        "shoulders→ears against the vertical, + forward",
        "neck",
        SIDE,
        chart=1,
        shown=_ALL,
    ),
    MetricInfo(
        "trunk_inclination_deg",
        "Trunk inclination",
        "hips→shoulders against the vertical, + forward",
        "trunk",
        SIDE,
        chart=3,
        shown=_ALL,
    ),
    MetricInfo(
        "neck_flexion_deg",
        "Neck flexion",
        "neck inclination minus trunk inclination",
        "neck flexion",
        SIDE,
        chart=4,
        shown=Shown.TERMINAL,
    ),
    MetricInfo(
        "cva_deg",
        "Craniovertebral angle",
        "90° minus the neck inclination",
        "CVA",
        SIDE,
        shown=Shown.TERMINAL,
    ),
    MetricInfo(
        "head_pitch_deg",
        "Head pitch",
        "nose below the ears against the face's height, + looking down (estimate)",
        "head pitch",
        SIDE,
        estimate=FACE_PITCH,
    ),
    MetricInfo(
        "head_forward_deg",
        "Head forward",
        "neck lean plus half the face's downward pitch (estimate)",
        "head forward",
        SIDE,
        estimate=FACE_PITCH,
        chart=2,
        shown=Shown.TERMINAL,
    ),
    # front view, against the image axes (geometry.front_angles)
    MetricInfo(
        "shoulder_tilt_deg",
        "Shoulder tilt",
        "shoulder line against the horizontal",
        "shoulder tilt",
        FRONT,
        signed=True,
        chart=7,
        shown=_ALL,
    ),
    MetricInfo(
        "head_roll_deg",
        "Head roll",
        "ear line against the horizontal",
        "head roll",
        FRONT,
        shown=Shown.TERMINAL,
    ),
    MetricInfo(
        "trunk_side_lean_deg",
        "Trunk side lean",
        "hips→shoulders sideways against the vertical",
        "trunk side lean",
        FRONT,
    ),
    # front view, changes from the calibration
    MetricInfo(
        "face_scale_pct",
        "Face size vs baseline",
        "face width change from your calibrated posture",
        "face scale",
        FRONT,
        estimate=FROM_BASELINE,
        foreshortened=False,
        relative=True,
        signed=True,
        chart=5,
        shown=_ALL,
        derive=_face_scale,
    ),
    MetricInfo(
        "head_drop_pct",
        "Head drop vs baseline",
        "fall of the nose towards the shoulder line",
        "head drop",
        FRONT,
        estimate=FROM_BASELINE,
        foreshortened=False,
        relative=True,
        signed=True,
        chart=6,
        shown=_ALL,
        derive=_head_drop,
    ),
    MetricInfo(
        "neck_forward_3d_delta_deg",
        "Neck forward (3-D)",
        "change from the baseline, from 3-D landmarks",
        "neck forward 3-D",
        FRONT,
        estimate=FROM_BASELINE,
        foreshortened=False,
        relative=True,
        signed=True,
        derive=_neck_forward_3d,
    ),
)

# Every metric, in the order of the timeline's columns. Add one with METRICS.register(MetricInfo(...)):
# see docs/architecture.md, "How to add a metric".
METRICS: Registry[MetricInfo] = Registry("metric", _INFOS, lambda m: m.name)
METRIC_NAMES: Sequence[str] = METRICS.names


def metric(name: str) -> MetricInfo | None:
    """The registry entry for a metric, or None for a name this version does not know."""
    return METRICS.get(name)


def label(name: str) -> str:
    """``Neck inclination (°)``: a metric's label with its unit (the name itself when unknown)."""
    found = metric(name)
    return f"{found.label} ({found.unit})" if found is not None else name


def estimate_reason(name: str, view: View) -> str:
    """Why ``name`` is an estimate in a reading of ``view`` (a reading says which metrics are)."""
    found = metric(name)
    reason = found.estimate_reason(view) if found is not None else None
    return reason or UNKNOWN_ESTIMATE


def estimate_reasons(estimated: Iterable[tuple[str, View]]) -> dict[str, str]:
    """Each estimated metric (of ``(metric, view)`` pairs) with the reasons of the views it was
    estimated in, in the registry's order: what the report's and ``posture measure``'s notes say."""
    by_metric: dict[str, list[str]] = {}
    for name, view in estimated:
        reasons = by_metric.setdefault(name, [])
        reason = estimate_reason(name, view)
        if reason not in reasons:
            reasons.append(reason)
    order = list(METRICS)
    ranked = sorted(by_metric, key=lambda m: (order.index(m) if m in order else len(order), m))
    return {m: "; or ".join(by_metric[m]) for m in ranked}


def charted(view: View) -> tuple[str, ...]:
    """The metrics the report's timeline chart draws for a session seen mostly from ``view``, in
    panel order: those the view shows (all of them for an oblique or unknown view)."""
    panels = sorted((m for m in METRICS.values() if m.chart is not None), key=lambda m: m.chart or 0)
    if view in (View.SIDE, View.FRONT):
        panels = [m for m in panels if view in m.views]
    return tuple(m.name for m in panels)


def shown(where: Shown) -> tuple[MetricInfo, ...]:
    """The metrics shown ``where``, in the registry's order."""
    return tuple(m for m in METRICS.values() if where in m.shown)
