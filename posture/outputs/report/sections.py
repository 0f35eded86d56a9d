"""The report's sections as plain data: headlines, episodes, findings with their advice, thresholds.

Each builder takes the analysis result, its summary and the advice catalogue and returns frozen
dataclasses of numbers and ready-made strings; :mod:`posture.outputs.report.data` assembles them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from posture.advice import ABOUT_TOPIC, Catalogue
from posture.config import Band, FindingRules
from posture.durations import clock, format_duration
from posture.findings import FINDING_CODES, FINDINGS, PoorSide
from posture.metric_registry import metric
from posture.outputs.report.words import finding_meaning, finding_title, pct
from posture.reading import View
from posture.results import AnalysisResult
from posture.summary import SessionSummary, whole_percentages

__all__ = [
    "AdviceBlock",
    "AdviceSection",
    "EpisodeFinding",
    "EpisodeRow",
    "Fact",
    "FindingSection",
    "Headline",
    "ThresholdRow",
    "advice_section",
    "episode_rows",
    "finding_sections",
    "headlines",
    "primary_topic",
    "threshold_rows",
]


@dataclass(frozen=True)
class Fact:
    """A label and its value, for the header and the "How it was measured" list."""

    label: str
    value: str


@dataclass(frozen=True)
class Headline:
    """One headline number; ``tone`` picks its colour (good, poor, away, uncertain, neutral)."""

    label: str
    value: str
    detail: str
    tone: str = "neutral"


@dataclass(frozen=True)
class EpisodeFinding:
    code: str
    label: str
    peak: float
    mean: float
    poor_s: float
    anchor: str  # "advice-<topic>" on the same page


@dataclass(frozen=True)
class EpisodeRow:
    number: int
    start_s: float
    end_s: float
    duration_s: float
    alert_s: float | None
    alert_active_s: float  # how long its alert was active (the readings' alert time within it)
    start: str
    end: str
    duration: str
    alert: str
    findings: tuple[EpisodeFinding, ...]


@dataclass(frozen=True)
class AdviceBlock:
    """A paragraph (``kind="p"``, one item) or a bullet list (``kind="ul"``)."""

    kind: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class AdviceSection:
    anchor: str
    topic_id: str
    title: str
    summary: str
    body: tuple[AdviceBlock, ...]


@dataclass(frozen=True)
class FindingSection:
    """A finding that reached its threshold at some time, with its advice."""

    code: str
    label: str
    meaning: str
    measured_by: str
    poor_s: float
    poor: str  # "2.1 s (32 % of the time present)"
    episodes: int  # sustained episodes it took part in
    advice: AdviceSection | None  # None when an earlier finding already shows the same topic
    related: tuple[Fact, ...]  # other topics: (title, `posture advice <id>`)


@dataclass(frozen=True)
class ThresholdRow:
    finding: str
    measured_by: str
    start: str  # where the severity starts rising (dead zone)
    limit: str  # the threshold: poor from here
    applies: bool  # whether this session's view and calibration use it


# --- advice -------------------------------------------------------------------------------------


def _body_blocks(body: str) -> tuple[AdviceBlock, ...]:
    """A catalogue body (one line per paragraph or ``- `` bullet) as paragraphs and lists."""
    blocks: list[AdviceBlock] = []
    bullets: list[str] = []
    for line in body.splitlines():
        text = line.strip()
        if text.startswith("- "):
            bullets.append(text[2:].strip())
            continue
        if bullets:
            blocks.append(AdviceBlock("ul", tuple(bullets)))
            bullets = []
        if text:
            blocks.append(AdviceBlock("p", (text,)))
    if bullets:
        blocks.append(AdviceBlock("ul", tuple(bullets)))
    return tuple(blocks)


def advice_section(catalogue: Catalogue, topic_id: str) -> AdviceSection:
    t = catalogue.topic(topic_id)
    return AdviceSection(f"advice-{t.id}", t.id, t.title, t.summary, _body_blocks(t.body))


def primary_topic(catalogue: Catalogue, code: str) -> str:
    topics = catalogue.topics_for(code)
    return topics[0] if topics else ABOUT_TOPIC


# --- thresholds ---------------------------------------------------------------------------------


def _views_of(metrics: Sequence[str]) -> frozenset[View]:
    """The views that show any of ``metrics``."""
    return frozenset(v for name in metrics if (m := metric(name)) is not None for v in m.views)


def _unit(name: str) -> str:
    m = metric(name)
    unit = m.unit if m is not None else ""
    return f" {unit}" if unit == "%" else unit


def threshold_rows(rules: FindingRules, calibrated: bool, views: Sequence[View]) -> tuple[ThresholdRow, ...]:
    """The finding rules as a table, marking those this session's views use: with a calibration,
    the bands measured as changes from it; without, everyone's limits (each band of the finding
    registry that flags a frame on its own)."""
    rows: list[ThresholdRow] = []
    for finding in FINDINGS.values():
        for b in finding.bands:
            if not b.alone or b.personal != calibrated:
                continue
            band: Band = rules[b.name]
            prefix = "±" if b.poor is PoorSide.EITHER else "+" if b.personal else ""
            unit = _unit(b.metrics[0])
            rows.append(
                ThresholdRow(
                    finding_title(finding.code),
                    f"change from your baseline: {b.words}" if b.personal else b.words,
                    f"{prefix}{band.start:g}{unit}",
                    f"{prefix}{band.limit:g}{unit}",
                    any(v in _views_of(b.metrics) for v in views),
                )
            )
    return tuple(rows)


# --- episodes, findings, headlines --------------------------------------------------------------


def episode_rows(result: AnalysisResult, catalogue: Catalogue) -> tuple[EpisodeRow, ...]:
    rows = []
    dur = result.durations_s()
    for number, ep in enumerate(result.episodes, start=1):
        # The same sum as summary.json's alert_s, over this episode's readings only.
        active_s = float(
            sum(
                d
                for r, d in zip(result.readings, dur, strict=True)
                if r.alert and ep.start_s <= r.t_s < ep.end_s
            )
        )
        cells = tuple(
            EpisodeFinding(
                code=code,
                label=finding_title(code),
                peak=stats.peak,
                mean=stats.mean,
                poor_s=stats.poor_s,
                anchor=f"advice-{primary_topic(catalogue, code)}",
            )
            for code, stats in ep.findings.items()
        )
        rows.append(
            EpisodeRow(
                number=number,
                start_s=ep.start_s,
                end_s=ep.end_s,
                duration_s=ep.duration_s,
                alert_s=ep.alert_s,
                alert_active_s=active_s,
                start=clock(ep.start_s),
                end=clock(ep.end_s),
                duration=format_duration(ep.duration_s),
                alert="–"
                if ep.alert_s is None
                else f"{clock(ep.alert_s)} (after {format_duration(ep.alert_s - ep.start_s)}), "
                f"active {format_duration(active_s)}",
                findings=cells,
            )
        )
    return tuple(rows)


def _measured_by(code: str, views: Sequence[View]) -> str:
    """The metrics that measure a finding on their own (those the session's views show, when
    any does): ``neck inclination (°) and head forward (°, estimate)``."""
    finding = FINDINGS.get(code)
    names = list(dict.fromkeys(n for b in finding.bands if b.alone for n in b.metrics)) if finding else []
    seen = [n for n in names if any(v in _views_of([n]) for v in views)] or names
    words = []
    for name in seen:
        m = metric(name)
        if m is None:
            continue
        notes = ", ".join(x for x in (m.unit, "estimate" if m.estimate else "") if x)
        words.append(f"{m.label[0].lower()}{m.label[1:]} ({notes})")
    return " and ".join(words)


def finding_sections(
    result: AnalysisResult, summary: SessionSummary, catalogue: Catalogue, views: Sequence[View]
) -> tuple[FindingSection, ...]:
    poor_s = summary.finding_poor_s
    present = summary.duration_s - summary.time_s.get("away", 0.0)
    occurred = [c for c in FINDING_CODES if any(r.findings.get(c, 0.0) >= 1.0 for r in result.readings)]
    extra = sorted(
        {c for r in result.readings for c, s in r.findings.items() if s >= 1.0 and c not in FINDING_CODES}
    )
    sections = []
    shown: set[str] = set()
    for code in occurred + extra:
        topic = primary_topic(catalogue, code)
        seconds = float(poor_s.get(code, 0.0))
        related = tuple(
            Fact(catalogue.topic(tid).title, f"posture advice {tid}")
            for tid in catalogue.topics_for(code)
            if tid != topic
        )
        sections.append(
            FindingSection(
                code=code,
                label=finding_title(code),
                meaning=finding_meaning(code),
                measured_by=_measured_by(code, views),
                poor_s=seconds,
                poor=f"{format_duration(seconds)} ({pct(seconds, present)} of the time present)",
                episodes=sum(1 for ep in result.episodes if code in ep.findings),
                advice=None if topic in shown else advice_section(catalogue, topic),
                related=related,
            )
        )
        shown.add(topic)
    order = {c: i for i, c in enumerate(FINDING_CODES)}
    return tuple(sorted(sections, key=lambda s: (-s.poor_s, order.get(s.code, 99))))


def headlines(summary: SessionSummary) -> tuple[Headline, ...]:
    time_s = summary.time_s
    total = summary.duration_s
    present = total - time_s.get("away", 0.0)
    top = summary.top_finding
    n_ep = summary.episodes
    # Shares of the time present that add up to 100 % (largest remainder), or "–" with nobody there.
    shares = whole_percentages({v: time_s.get(v, 0.0) for v in ("good", "poor", "uncertain")})
    share = {v: f"{shares[v]} %" if present > 0 else "–" for v in shares}
    return (
        Headline("Good posture", share["good"], f"{format_duration(time_s.get('good', 0.0))} of the time present", "good"),
        Headline("Poor posture", share["poor"], f"{format_duration(time_s.get('poor', 0.0))} of the time present", "poor"),
        Headline("Uncertain", share["uncertain"], f"{format_duration(time_s.get('uncertain', 0.0))}: landmarks too unclear to judge", "uncertain"),
        Headline("Away", pct(time_s.get("away", 0.0), total), f"{format_duration(time_s.get('away', 0.0))} of the whole session", "away"),
        Headline("Sustained episodes", str(n_ep), f"{format_duration(summary.alert_s)} with an alert active", "poor" if n_ep else "good"),
        Headline(
            "Top finding",
            finding_title(top) if top else "None",
            f"{format_duration(summary.finding_poor_s.get(top, 0.0))} over its threshold" if top else "no finding reached its threshold",
            "poor" if top else "good",
        ),
    )  # fmt: skip
