"""Plain-data summaries of an analysed session, for summary.json, events.json, reports and history.

Pure: no I/O. Time shares are weighted by each reading's duration (the gap to the next reading),
so a variable sample rate does not skew them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from posture.detector import Episode, gap_limit_s
from posture.findings import FINDING_CODES
from posture.metric_registry import METRICS
from posture.reading import Reading, Verdict, View

__all__ = [
    "SUMMARY_VERSION",
    "SessionSummary",
    "durations_s",
    "events_document",
    "finding_reasons",
    "metric_stats",
    "session_summary",
    "whole_percentages",
]

SUMMARY_VERSION = 1


def durations_s(
    readings: Sequence[Reading], last_step_s: float, *, sample_step_s: float | None = None
) -> np.ndarray:
    """How long each reading stands for: the gap to the next one, as far as it counts
    (:func:`posture.detector.gap_limit_s` of the sampling's step ``sample_step_s``, by default
    ``last_step_s``); the last reading gets ``last_step_s``."""
    if not readings:
        return np.zeros(0)
    t = np.array([r.t_s for r in readings])
    limit = gap_limit_s(last_step_s if sample_step_s is None else sample_step_s)
    return np.append(np.clip(np.diff(t), 0.0, limit), last_step_s)


def whole_percentages(parts: Mapping[str, float]) -> dict[str, int]:
    """Each part's share of their sum in whole per cent, summing to exactly 100.

    Largest remainder: every share rounded down, then the points still missing go to the largest
    remainders (ties in the order given), so shown shares never add up to 99 or 101 %. All 0
    when the parts sum to 0.
    """
    total = float(sum(max(v, 0.0) for v in parts.values()))
    if total <= 0:
        return dict.fromkeys(parts, 0)
    exact = {k: 100.0 * max(v, 0.0) / total for k, v in parts.items()}
    whole = {k: int(np.floor(x + 1e-9)) for k, x in exact.items()}
    missing = 100 - sum(whole.values())
    for k in sorted(exact, key=lambda k: -(exact[k] - whole[k]))[: max(missing, 0)]:
        whole[k] += 1
    return whole


def metric_stats(readings: Sequence[Reading]) -> dict[str, dict[str, float | int]]:
    """Per-metric count, mean, median, 10th and 90th percentile, min and max over the frames
    where the metric exists."""
    out: dict[str, dict[str, float | int]] = {}
    for name, info in METRICS.items():
        xs = np.array([r.metrics[name] for r in readings if r.metrics.get(name) is not None], dtype=float)
        if xs.size == 0:
            continue
        out[name] = {
            "n": int(xs.size),
            "mean": round(float(xs.mean()), 2),
            "median": round(float(np.median(xs)), 2),
            "p10": round(float(np.percentile(xs, 10)), 2),
            "p90": round(float(np.percentile(xs, 90)), 2),
            "min": round(float(xs.min()), 2),
            "max": round(float(xs.max()), 2),
            "estimate": bool(info.estimate),  # an estimate in every view
        }
    return out


@dataclass(frozen=True, kw_only=True)
class SessionSummary:
    """What a session came to: ``summary.json``'s fields (see the README), typed.

    Times are seconds of source time; ``share`` is of the whole session, ``poor_share_of_present``
    of the time someone was there.
    """

    version: int = SUMMARY_VERSION
    duration_s: float
    frames_analysed: int
    view: View  # the view seen most
    views: dict[View, int]  # readings with a person, per view
    time_s: dict[str, float]  # per verdict
    share: dict[str, float]  # per verdict
    poor_share_of_present: float
    alert_s: float
    finding_poor_s: dict[str, float]  # time over each finding's threshold
    # per finding, the time over its threshold by what the limit was measured against
    # (``everyone``, ``calibration``, ``habit``) and the range of the limits that flagged it
    finding_reasons: dict[str, dict[str, Any]] = field(default_factory=dict)
    top_finding: str | None
    episodes: int
    metrics: dict[str, dict[str, float | int | bool]]  # per metric: n, mean, median, p10, p90, min, max

    def to_json(self) -> dict[str, Any]:
        """The JSON object, keys in the order of the fields."""
        doc = {f.name: getattr(self, f.name) for f in fields(SessionSummary)}
        doc["view"] = self.view.value
        doc["views"] = {v.value: n for v, n in self.views.items()}
        return doc


def session_summary(
    readings: Sequence[Reading],
    episodes: Sequence[Episode],
    *,
    step_s: float,
    sample_step_s: float | None = None,
) -> SessionSummary:
    """Duration, frames, share of time per verdict and per finding, metric statistics, episodes.
    ``step_s``: how long the last reading stands for; ``sample_step_s``: the sampling's step (by
    default ``step_s``), which says how far a gap between readings counts (:func:`durations_s`)."""
    dur = durations_s(readings, step_s, sample_step_s=sample_step_s)
    total = float(dur.sum())
    by_verdict = {v.value: 0.0 for v in Verdict}
    for reading, d in zip(readings, dur, strict=False):
        by_verdict[reading.posture.value] += float(d)
    present = total - by_verdict["away"]
    poor_by_finding = dict.fromkeys(FINDING_CODES, 0.0)
    for reading, d in zip(readings, dur, strict=False):
        for code, sev in reading.findings.items():
            if sev >= 1.0:
                poor_by_finding[code] += float(d)
    reasons = finding_reasons(readings, dur)
    alert_s = float(sum(d for r, d in zip(readings, dur, strict=False) if r.alert))
    views = Counter(r.view for r in readings if r.person)
    top = max(poor_by_finding.items(), key=lambda kv: kv[1]) if readings else ("", 0.0)
    return SessionSummary(
        duration_s=round(total, 2),
        frames_analysed=len(readings),
        view=views.most_common(1)[0][0] if views else View.UNKNOWN,
        views=dict(views),
        time_s={k: round(v, 2) for k, v in by_verdict.items()},
        share={k: (round(v / total, 4) if total else 0.0) for k, v in by_verdict.items()},
        poor_share_of_present=round(by_verdict["poor"] / present, 4) if present > 0 else 0.0,
        alert_s=round(alert_s, 2),
        finding_poor_s={k: round(v, 2) for k, v in poor_by_finding.items()},
        finding_reasons=reasons,
        top_finding=top[0] if top[1] > 0 else None,
        episodes=len(episodes),
        metrics=metric_stats(readings),
    )


def finding_reasons(readings: Sequence[Reading], durations: Sequence[float]) -> dict[str, dict[str, Any]]:
    """For each finding that went over its threshold: how long against each reference
    (everyone's limit, the calibration, the session's habit), and per metric that flagged it
    the range of its limits (a habit's limit moves as it learns)."""
    out: dict[str, dict[str, Any]] = {}
    for reading, d in zip(readings, durations, strict=False):
        for code, sev in reading.findings.items():
            if sev < 1.0:
                continue
            entry = out.setdefault(code, {"time_s": {}, "limits": {}})
            reasons = reading.reasons_for(code)
            for ref in {r.reference.value for r in reasons}:  # two conditions on one reference: once
                entry["time_s"][ref] = entry["time_s"].get(ref, 0.0) + float(d)
            for reason in reasons:
                lo, hi = entry["limits"].get(reason.metric, (reason.limit, reason.limit))
                entry["limits"][reason.metric] = (min(lo, reason.limit), max(hi, reason.limit))
    return {
        code: {
            "time_s": {k: round(v, 2) for k, v in e["time_s"].items()},
            "limits": {m: [round(lo, 2), round(hi, 2)] for m, (lo, hi) in e["limits"].items()},
        }
        for code, e in out.items()
    }


def events_document(
    episodes: Sequence[Episode],
    advice_for: Callable[[str], Sequence[str]],
    *,
    breaks: Sequence[float] = (),
) -> dict[str, Any]:
    """``events.json``: each sustained-poor-posture episode with its findings and advice links."""
    items = []
    for ep in episodes:
        d = ep.to_dict()
        codes = sorted(ep.findings, key=lambda c: -ep.findings[c].peak)
        links: list[str] = []
        for code in codes:
            for topic in advice_for(code):
                if topic not in links:
                    links.append(topic)
        d["advice"] = links
        items.append(d)
    return {
        "version": SUMMARY_VERSION,
        "episodes": items,
        "breaks_due_s": [round(t, 2) for t in breaks],
    }
