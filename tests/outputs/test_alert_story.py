"""One alert story on real footage: timeline.csv, events.json, summary.json, the report's chart and
its cards tell the same alert times, to the frame (issue 20).

Run on the demo clip with the demo's settings and on ``side_video/chair_good_bad.mp4`` with a
short fixed hold (it is 6.5 s long), through ``run_analysis`` as ``analyze`` and ``demo`` run it.
"""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import numpy as np
import pytest

from posture.analysis import run_analysis
from posture.config import Config
from posture.durations import format_duration
from posture.geometry import View
from posture.options import AnalysisOptions
from posture.outputs.report.charts import COLOURS, runs
from posture.reading import Reading, Verdict
from posture.sources import demo

pytestmark = [pytest.mark.footage, pytest.mark.mediapipe]

TOLERANCE_S = 5e-4  # the files round times to 3 decimals


def _analyse(clip: Path, out: Path, config: Config, calibrate_first_s: float | None = None) -> Path:
    options = AnalysisOptions(calibrate_first_s=calibrate_first_s, history=False, key_frames=False)
    run_analysis(clip, out, config, options)
    return out


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    with demo.clip_path() as clip:
        config = Config().replace("detector", hold_s=demo.HOLD_S)
        return _analyse(clip, out, config, calibrate_first_s=demo.CALIBRATE_S)


@pytest.fixture(scope="module")
def chair_run(tmp_path_factory: pytest.TempPathFactory, footage: Path) -> Path:
    clip = footage / "side_video" / "chair_good_bad.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} not found")
    out = tmp_path_factory.mktemp("chair") / "out"
    return _analyse(clip, out, Config().replace("detector", hold_s=0.4))


def _timeline(out: Path) -> list[dict[str, str]]:
    with (out / "timeline.csv").open() as fh:
        return list(csv.DictReader(fh))


def _durations(rows: list[dict[str, str]], step_s: float) -> np.ndarray:
    """Each row's share of time, as summary.json counts it (posture.summary.durations_s)."""
    t = np.array([float(r["t_s"]) for r in rows])
    return np.clip(np.diff(t, append=t[-1] + step_s), 0.0, 5 * step_s)


def _card(page: str, label: str) -> tuple[str, str]:
    """(value, detail) of the report's card with that label."""
    m = re.search(
        rf'<div class="label">{re.escape(label)}</div>\s*<div class="value[^"]*">([^<]*)</div>\s*'
        rf'<div class="detail">([^<]*)</div>',
        page,
    )
    assert m, f"no card {label!r}"
    return html.unescape(m.group(1)), html.unescape(m.group(2))


def _check_one_story(out: Path) -> list[tuple[float, float]]:
    rows = _timeline(out)
    events = json.loads((out / "events.json").read_text())["episodes"]
    summary = json.loads((out / "summary.json").read_text())
    page = (out / "report.html").read_text()
    spans = [(e["alert_s"], e["end_s"]) for e in events if e["alert_s"] is not None]

    # timeline.csv against events.json, frame by frame: an alert only inside an alert span.
    for row in rows:
        t = float(row["t_s"])
        inside = any(a - TOLERANCE_S <= t < b - TOLERANCE_S for a, b in spans)
        expected = inside and row["posture"] != "away"
        assert row["alert"] == str(int(expected)), (row["t_s"], row["posture"], row["alert"], spans)

    # summary.json: the alert time is the timeline's, and (nobody left) each span's length.
    dur = _durations(rows, 1.0 / summary["sample_fps"])
    alert_s = float(sum(d for r, d in zip(rows, dur, strict=True) if r["alert"] == "1"))
    assert summary["alert_s"] == pytest.approx(alert_s, abs=0.01)
    assert summary["alert_s"] == pytest.approx(sum(b - a for a, b in spans), abs=0.01)
    assert summary["episodes"] == len(events)

    # The chart shades one alert band per episode, exactly its span (the same runs the chart
    # draws), and no poor stripe inside it.
    readings = [
        Reading(
            float(r["t_s"]),
            r["person"] == "1",
            View(r["view"]),
            {},
            {},
            Verdict(r["posture"]),
            r["alert"] == "1",
        )
        for r in rows
    ]
    t = np.array([r.t_s for r in readings])
    total = float(t[-1] + dur[-1] - t[0])
    drawn = runs([r.alert for r in readings], t - t[0], dur, total)
    assert len(drawn) == len(spans)
    assert np.allclose(drawn, spans, atol=TOLERANCE_S), (drawn, spans)
    poor = runs([r.posture is Verdict.POOR and not r.alert for r in readings], t - t[0], dur, total)
    assert not [
        (p, a) for p in poor for a in drawn if p[0] < a[1] - TOLERANCE_S and a[0] < p[1] - TOLERANCE_S
    ]
    (chart,) = [svg for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S) if "over time" in svg]
    svg_alert_bands = len(re.findall(rf'style="fill: {COLOURS["alert"]}; opacity: 0\.3"', chart))
    panels = chart.count('<g id="axes_')
    assert svg_alert_bands == len(spans) * panels

    # The cards: the alert time the summary has, episodes that add up to it, shares of 100 %.
    value, detail = _card(page, "Sustained episodes")
    assert value == str(len(events))
    assert detail == f"{format_duration(summary['alert_s'])} with an alert active"
    active = [html.unescape(m) for m in re.findall(r"\), active ([^<]+)</td>", page)]
    assert active == [format_duration(b - a) for a, b in spans]
    shares = [
        int(_card(page, label)[0].rstrip(" %")) for label in ("Good posture", "Poor posture", "Uncertain")
    ]
    assert sum(shares) == 100
    return spans


def test_the_demo_tells_one_alert_story(demo_run: Path) -> None:
    spans = _check_one_story(demo_run)
    # One alert in each poor stretch of the clip (hunched 14-28 s, head down 42-56 s), none after.
    assert len(spans) == 2
    assert 14.0 <= spans[0][0] < spans[0][1] <= 30.0 and 42.0 <= spans[1][0] < spans[1][1] <= 57.0


def test_the_chair_clip_tells_one_alert_story(chair_run: Path) -> None:
    spans = _check_one_story(chair_run)
    assert spans, "the chair clip's slouches alert with a 0.4 s hold"
