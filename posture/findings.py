"""The posture problems posture reports: one registry, the only place a finding is defined.

Each :class:`Finding` carries everything the rest of the code says about it: the few words on a
status bar, the title and meaning in the report, the sentence of a notification, the body part
(which sets its ISO 11226 holding times), the advice topic it opens and the :class:`FindingRules`
bands that set its thresholds (``posture.config``). Adding a finding means adding one member and
one :class:`FindingInfo` here, the measurement that scores it (``posture.metrics``) and its advice
topic (``posture/data/advice.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

__all__ = [
    "FINDINGS",
    "FINDING_CODES",
    "FINDING_WORDS",
    "BodyPart",
    "Direction",
    "Finding",
    "FindingInfo",
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


@dataclass(frozen=True)
class FindingInfo:
    code: Finding
    words: str  # a few plain words: status bars, messages, notifications' lists
    title: str  # the report's heading
    meaning: str  # the report's explanation
    notice: str  # "<subject> has/have been <state>" for a notification, before "for <duration>."
    body_part: BodyPart
    direction: Direction
    advice_topic: str  # the topic id in the advice catalogue that this finding opens
    rules: tuple[str, ...]  # the FindingRules bands that score it


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
        rules=(
            "forward_head_deg",
            "forward_head_delta_deg",
            "head_drop_pct",
            "head_drop_moderate_pct",
            "neck_forward_3d_delta_deg",
        ),
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
        rules=("hunched_back_deg", "hunched_back_delta_deg"),
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
        rules=("neck_flexion_delta_deg",),
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
        rules=("leaning_in_pct",),
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
        rules=("side_lean_deg", "side_lean_delta_deg"),
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
        rules=(
            "slumped_recline_deg",
            "slumped_pulled_recline_deg",
            "slumped_head_forward_deg",
            "slumped_head_back_deg",
            "slumped_recline_delta_deg",
        ),
    ),
)

FINDINGS: Mapping[Finding, FindingInfo] = MappingProxyType({i.code: i for i in _INFOS})
assert tuple(FINDINGS) == tuple(Finding), "one FindingInfo per Finding, in the enum's order"

# The codes as plain strings (the timeline's columns, the JSON keys), in the order reported.
FINDING_CODES: tuple[str, ...] = tuple(f.value for f in Finding)
FINDING_WORDS: Mapping[str, str] = MappingProxyType({f.value: i.words for f, i in FINDINGS.items()})


def info(code: str | Finding) -> FindingInfo | None:
    """The registry entry for a code, or None for a code this version does not know."""
    try:
        return FINDINGS[Finding(code)]
    except ValueError:
        return None
