"""The words the report and the cohort page use for findings, metrics and shares.

A finding's title and meaning come from the finding registry (:mod:`posture.findings`), a metric's
label and unit from the metric registry (:mod:`posture.metric_registry`).
"""

from __future__ import annotations

from posture.findings import info
from posture.metric_registry import label as metric_label

__all__ = [
    "finding_meaning",
    "finding_title",
    "metric_label",
    "pct",
]

UNKNOWN_MEANING = "A posture finding reported by the analysis."


def finding_title(code: str) -> str:
    """The registry's title (``Head carried forward``); a code this version does not know (from a
    newer posture's files) is shown as its words, capitalised."""
    found = info(code)
    return found.title if found is not None else code.replace("_", " ").capitalize()


def finding_meaning(code: str) -> str:
    """What the finding means, in the report's words."""
    found = info(code)
    return found.meaning if found is not None else UNKNOWN_MEANING


def pct(part: float, whole: float) -> str:
    """``33 %`` of ``whole``, or ``–`` when there is no whole."""
    return f"{100.0 * part / whole:.0f} %" if whole > 0 else "–"
