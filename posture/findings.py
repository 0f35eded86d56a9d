"""The posture problems posture reports: one registry, the only place a finding is defined.

Each :class:`FindingInfo` carries everything the rest of the code says about a finding: the few
words on a status bar, the title and meaning in the report, the sentence of a notification, the
body part (which sets its ISO 11226 holding times), the advice topic it opens, and its bands
(:class:`BandInfo`: the ``[metrics.rules]`` keys that set its thresholds, with their defaults
and the metrics they judge). The configuration, the sample config, the report's thresholds
table, the charts' limits, the timeline's columns and ``posture advice`` follow from the entry;
the finding's rule (how its bands are applied to a frame) is the one other piece, in
:mod:`posture.metrics`. ``docs/architecture.md`` ("How to add a finding") shows both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from posture.registry import Registry

__all__ = [
    "FINDINGS",
    "FINDING_CODES",
    "FINDING_WORDS",
    "BandInfo",
    "BodyPart",
    "Direction",
    "Finding",
    "FindingInfo",
    "PoorSide",
    "band",
    "bands",
    "bands_on",
    "info",
]


class Finding(str, Enum):
    """A posture problem, in the order findings are reported. The values are public codes."""

    FORWARD_HEAD = "forward_head"  # head carried forward of the shoulders and/or tipped down
    HUNCHED_BACK = "hunched_back"  # upper back bent forward (trunk inclined forward)
    NECK_FLEXION = "neck_flexion"  # neck bent forward relative to the trunk
    LEANING_IN = "leaning_in"  # face nearer the screen than in the user's good posture (front view)
    SIDE_LEAN = "side_lean"  # shoulders or trunk tilted sideways
    SLUMPED = "slumped"  # reclined trunk with the head pulled forward


class Direction(str, Enum):
    """Which way a finding takes the body from upright: a change of direction is a new problem
    (hunched over the desk, then slid down and reclined), with an episode of its own."""

    FORWARD = "forward"
    BACKWARD = "backward"
    SIDEWAYS = "sideways"


class BodyPart(str, Enum):
    """Which ISO 11226 holding-time curve applies: the head and neck's, or the trunk's."""

    HEAD_NECK = "head_neck"
    TRUNK = "trunk"


class PoorSide(str, Enum):
    """Which side of a band's limit is poor."""

    ABOVE = "above"  # from the limit upwards (a forward lean)
    BELOW = "below"  # from minus the limit downwards (a recline: the limit is a magnitude)
    EITHER = "either"  # beyond the limit either way (a sideways tilt)


_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class BandInfo:
    """One band of a finding: a key of ``[metrics.rules]`` (its value a
    :class:`posture.config.Band`), where the severity starts rising (``start``, the dead zone)
    and where it reaches 1.0 (``limit``, poor from there), and what it is measured on.

    ``personal``: measured as a change from the person's own value (a calibration, or the
    session's habit), else from zero against everyone's limit. ``alone``: the band flags a frame
    on its own; a band that holds only together with another of its finding's (a lesser recline
    *and* the head forward) is drawn on the charts only where it flagged.
    """

    name: str
    start: float
    limit: float
    metrics: tuple[str, ...]  # the metrics it judges (a sideways lean: the shoulders' or the trunk's)
    words: str  # what it measures, in a few words: the report's thresholds, the sample config, the charts
    personal: bool = False
    poor: PoorSide = PoorSide.ABOVE
    alone: bool = True

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"band name {self.name!r}: lowercase letters, digits and '_'")
        if not self.limit > self.start:
            raise ValueError(f"band {self.name}: the limit must exceed the start")
        if not self.metrics:
            raise ValueError(f"band {self.name}: names no metric")


@dataclass(frozen=True)
class FindingInfo:
    code: str  # the public code: the timeline's column, the JSON key, the advice anchor
    words: str  # a few plain words: status bars, messages, notifications' lists
    title: str  # the report's heading
    meaning: str  # the report's explanation
    notice: str  # "<subject> has/have been <state>" for a notification, before "for <duration>."
    body_part: BodyPart
    direction: Direction
    advice_topic: str  # the topic id in the advice catalogue that this finding opens
    bands: tuple[BandInfo, ...]  # the bands its rule applies, in the order the report lists them
    # A frame is judged good only when every finding that is ``required`` could be judged on it:
    # a view that cannot show a forward head (a front view without a calibration) is uncertain.
    required: bool = False

    def __post_init__(self) -> None:
        code = self.code.value if isinstance(self.code, Enum) else self.code
        object.__setattr__(self, "code", code)  # the plain string, also for the built-in ones
        if not _NAME.fullmatch(code):
            raise ValueError(f"finding code {code!r}: lowercase letters, digits and '_'")
        if len({b.name for b in self.bands}) != len(self.bands):
            raise ValueError(f"finding {code}: a band listed twice")


_NECK = ("neck_inclination_deg",)
_TRUNK = ("trunk_inclination_deg",)
_LATERAL = ("shoulder_tilt_deg", "trunk_side_lean_deg")

_INFOS = (
    FindingInfo(
        Finding.FORWARD_HEAD,
        words="head forward",
        title="Head carried forward",
        meaning="Your head was carried ahead of your shoulders or tipped down, so the muscles at the back of "
        "your neck and between your shoulder blades had to hold its weight.",
        notice="Your head has been forward of your shoulders",
        body_part=BodyPart.HEAD_NECK,
        direction=Direction.FORWARD,
        advice_topic="forward_head",
        bands=(
            # fitted by bench/fit_rules.py (README, "Accuracy")
            BandInfo("forward_head_deg", 21.0, 31.0, _NECK, "neck inclination (forward)"),
            BandInfo(
                "forward_head_delta_deg", 5.0, 12.0, ("head_forward_deg",), "head forward", personal=True
            ),
            BandInfo(
                "head_drop_pct", 6.0, 12.0, ("head_drop_pct",), "head drop (front, estimate)", personal=True
            ),
            # a moderate head drop counts when the neck also comes forward in depth (fitted)
            BandInfo(
                "head_drop_moderate_pct",
                1.0,
                3.0,
                ("head_drop_pct",),
                "lesser drop",
                personal=True,
                alone=False,
            ),
            BandInfo(
                "neck_forward_3d_delta_deg",
                2.0,
                5.0,
                ("neck_forward_3d_delta_deg",),
                "with the neck forward",
                personal=True,
                alone=False,
            ),
        ),
        required=True,
    ),
    FindingInfo(
        Finding.HUNCHED_BACK,
        words="upper back hunched",
        title="Upper back rounded forward",
        meaning="The line from your hips to your shoulders leaned forward of upright: your back muscles, "
        "not the chair, were holding you up.",
        notice="Your upper back has been hunched forward",
        body_part=BodyPart.TRUNK,
        direction=Direction.FORWARD,
        advice_topic="hunched_back",
        bands=(
            BandInfo("hunched_back_deg", 13.0, 23.0, _TRUNK, "trunk inclination (forward)"),
            BandInfo("hunched_back_delta_deg", 5.0, 15.0, _TRUNK, "trunk inclination", personal=True),
        ),
    ),
    FindingInfo(
        Finding.NECK_FLEXION,
        words="neck bent forward",
        title="Neck bent forward",
        meaning="Your neck was bent forward relative to your upper body, as happens when looking down at a "
        "laptop, a phone, papers or the keyboard.",
        notice="Your neck has been bent forward",
        body_part=BodyPart.HEAD_NECK,
        direction=Direction.FORWARD,
        advice_topic="neck_flexion",
        bands=(
            BandInfo(
                "neck_flexion_delta_deg", 5.0, 20.0, ("neck_flexion_deg",), "neck flexion", personal=True
            ),
        ),
    ),
    FindingInfo(
        Finding.LEANING_IN,
        words="leaning in",
        title="Leaning in towards the screen",
        meaning="Your face came closer to the camera than in your calibrated good posture, usually a sign "
        "of leaning in to read.",
        notice="You have been leaning in towards the screen",
        body_part=BodyPart.HEAD_NECK,
        direction=Direction.FORWARD,
        advice_topic="leaning_in",
        bands=(
            # fitted
            BandInfo(
                "leaning_in_pct",
                13.0,
                26.0,
                ("face_scale_pct",),
                "face size (front, estimate)",
                personal=True,
            ),
        ),
    ),
    FindingInfo(
        Finding.SIDE_LEAN,
        words="leaning sideways",
        title="Leaning to one side",
        meaning="Your shoulders or trunk were tilted sideways, loading one side of the back more than the other.",
        notice="You have been leaning to one side",
        body_part=BodyPart.TRUNK,
        direction=Direction.SIDEWAYS,
        advice_topic="side_lean",
        bands=(
            # ISO 11226: lateral tilt within ±10°
            BandInfo(
                "side_lean_deg",
                5.0,
                10.0,
                _LATERAL,
                "shoulder tilt or trunk side lean (front)",
                poor=PoorSide.EITHER,
            ),
            BandInfo(
                "side_lean_delta_deg",
                5.0,
                10.0,
                _LATERAL,
                "shoulder tilt or trunk side lean",
                personal=True,
                poor=PoorSide.EITHER,
            ),
        ),
    ),
    FindingInfo(
        Finding.SLUMPED,
        words="slumped back",
        title="Slumped down in the chair",
        meaning="You had slid down the chair, your trunk reclined well past a supported recline, "
        "a rounded, collapsed sitting posture.",
        notice="You have been slumped back with your head pushed forward",
        body_part=BodyPart.TRUNK,
        direction=Direction.BACKWARD,
        advice_topic="slumped",
        bands=(
            # a far recline whatever the head does (fitted) ...
            BandInfo("slumped_recline_deg", 25.0, 35.0, _TRUNK, "trunk reclined", poor=PoorSide.BELOW),
            # ... or the classic slump: a lesser recline with the head not resting back but still
            # forward of upright (both needed): the pelvis slid forward, the back rounded to keep
            # the eyes on the screen. A supported recline rests the head back over the shoulders.
            BandInfo(
                "slumped_pulled_recline_deg",
                10.0,
                20.0,
                _TRUNK,
                "lesser recline",
                poor=PoorSide.BELOW,
                alone=False,
            ),
            BandInfo(
                "slumped_head_forward_deg",
                -4.0,
                1.0,
                _NECK,
                "head forward while reclined",
                alone=False,
            ),
            # ... or with the head thrown back (neck extension, not acceptable without a headrest)
            BandInfo(
                "slumped_head_back_deg",
                10.0,
                20.0,
                _NECK,
                "head back while reclined",
                poor=PoorSide.BELOW,
                alone=False,
            ),
            # a supported recline of about 20° is fine
            BandInfo(
                "slumped_recline_delta_deg",
                12.0,
                25.0,
                _TRUNK,
                "trunk reclined",
                personal=True,
                poor=PoorSide.BELOW,
            ),
        ),
    ),
)


def _check(entry: FindingInfo, findings: Registry[FindingInfo]) -> None:
    """A new finding's bands are keys of ``[metrics.rules]``: no other finding may use their names."""
    taken = {b.name for f in findings.values() for b in f.bands}
    clash = [b.name for b in entry.bands if b.name in taken]
    if clash:
        raise ValueError(f"finding {entry.code}: bands {', '.join(clash)} belong to another finding")


# Every finding, in the order findings are reported. Add one with FINDINGS.register(FindingInfo(...))
# (and its rule, posture.metrics.rule): see docs/architecture.md, "How to add a finding".
FINDINGS: Registry[FindingInfo] = Registry("finding", _INFOS, lambda i: i.code, _check)
assert tuple(FINDINGS) == tuple(f.value for f in Finding), "one FindingInfo per Finding, in the enum's order"

# The codes as plain strings (the timeline's columns, the JSON keys), in the order reported.
FINDING_CODES: Sequence[str] = FINDINGS.names


class _Words(Mapping[str, str]):
    """Each finding's few words, by code, as the registry is now."""

    def __getitem__(self, code: str) -> str:
        return FINDINGS[code].words

    def __iter__(self) -> Iterator[str]:
        return iter(FINDINGS)

    def __len__(self) -> int:
        return len(FINDINGS)


FINDING_WORDS: Mapping[str, str] = _Words()


def info(code: str) -> FindingInfo | None:
    """The registry entry for a code, or None for a code this version does not know."""
    return FINDINGS.get(code)


_owners: tuple[int, dict[str, tuple[FindingInfo, BandInfo]]] = (-1, {})  # (registry version, table)


def _band_owners() -> dict[str, tuple[FindingInfo, BandInfo]]:
    global _owners
    if _owners[0] != FINDINGS.version:
        _owners = (FINDINGS.version, {b.name: (f, b) for f in FINDINGS.values() for b in f.bands})
    return _owners[1]


def bands() -> dict[str, BandInfo]:
    """Every band of every finding by name (the keys of ``[metrics.rules]``), in the order reported."""
    return {name: b for name, (_, b) in _band_owners().items()}


def band(name: str) -> tuple[FindingInfo, BandInfo] | None:
    """The band ``name`` with the finding it belongs to, or None for a name no finding has."""
    return _band_owners().get(name)


def bands_on(metric: str) -> tuple[tuple[FindingInfo, BandInfo], ...]:
    """The bands that judge ``metric``, each with its finding, in the order reported."""
    return tuple((f, b) for f in FINDINGS.values() for b in f.bands if metric in b.metrics)
