"""The report package's parts on their own: its words, the chart helpers the cohort shares, the
page writer and the templates' filters (hand-built data, no video, no MediaPipe)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from posture.durations import clock, format_duration
from posture.findings import FINDING_CODES, FINDINGS
from posture.outputs.report.charts import chart_style, runs, svg_element, time_axis
from posture.outputs.report.page import template, write_page
from posture.outputs.report.words import finding_meaning, finding_title, metric_label, pct
from posture.summary import whole_percentages


def test_finding_words_come_from_the_registry() -> None:
    for finding, entry in FINDINGS.items():
        assert finding_title(finding) == entry.title
        assert finding_meaning(finding) == entry.meaning
    assert finding_title("forward_head") == "Head carried forward"
    # a code from a newer posture's files: its own words, and a generic meaning
    assert finding_title("twisted_trunk") == "Twisted trunk"
    assert finding_meaning("twisted_trunk") == "A posture finding reported by the analysis."


def test_metric_labels_and_shares() -> None:
    assert metric_label("neck_inclination_deg") == "Neck inclination (°)"
    assert metric_label("face_scale_pct") == "Face size vs baseline (%)"
    assert metric_label("unknown_metric") == "unknown_metric"
    assert pct(1.0, 3.0) == "33 %"
    assert pct(5.0, 0.0) == "–"


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({"good": 34.5, "poor": 28.9, "uncertain": 0.6}, {"good": 54, "poor": 45, "uncertain": 1}),
        # rounded one by one: 34 + 34 + 33 = 101 %
        ({"good": 33.5, "poor": 33.5, "uncertain": 33.0}, {"good": 34, "poor": 33, "uncertain": 33}),
        ({"a": 1.0, "b": 1.0, "c": 1.0}, {"a": 34, "b": 33, "c": 33}),  # ties: the order given
        (
            {"good": 20.35, "poor": 20.35, "away": 0.0, "uncertain": 0.3},
            {"good": 50, "poor": 49, "away": 0, "uncertain": 1},
        ),
        ({"good": 0.0, "poor": 0.0}, {"good": 0, "poor": 0}),
    ],
)
def test_whole_percentages_always_add_up_to_100(parts: dict[str, float], expected: dict[str, int]) -> None:
    shares = whole_percentages(parts)
    assert shares == expected
    assert sum(shares.values()) in (0, 100)


def test_whole_percentages_on_many_random_partitions() -> None:
    rng = np.random.default_rng(20)
    for _ in range(500):
        parts = {str(i): float(x) for i, x in enumerate(rng.exponential(size=rng.integers(2, 7)))}
        shares = whole_percentages(parts)
        total = sum(parts.values())
        assert sum(shares.values()) == 100
        assert all(abs(shares[k] - 100 * v / total) < 1 for k, v in parts.items())


def test_time_axis_switches_units_with_the_length() -> None:
    assert time_axis(179.0) == (1.0, "time since start (s)")
    assert time_axis(180.0) == (60.0, "time since start (min)")
    assert time_axis(3 * 3600.0) == (3600.0, "time since start (h)")


def test_runs_are_spans_of_the_mask_merged_when_close() -> None:
    t = np.arange(10, dtype=float)
    dur = np.ones(10)
    mask = [False, True, True, False, False, True, False, False, True, True]
    assert runs(mask, t, dur, total_s=10.0) == [(1.0, 3.0), (5.0, 6.0), (8.0, 10.0)]
    # closer than the gap (1/1000 of the session) are merged: here a 1 s gap in a 2000 s session
    assert runs([True, False, True], t[:3], dur[:3], total_s=2000.0) == [(0.0, 3.0)]


def _figure(salt: str) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with chart_style():
        fig = Figure(figsize=(3, 2))
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], label="measured")
        ax.set_title("A chart")
        ax.legend()
        return svg_element(fig, salt)


def test_svg_element_is_an_inline_sizable_element() -> None:
    svg = _figure("one")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata>" not in svg
    assert 'class="chart" role="img" style="max-width:288px"' in svg  # 3 in at 72 dpi: 216 pt
    assert not re.search(r'<svg[^>]*\swidth="', svg)  # CSS sizes it; the viewBox keeps the shape
    assert "A chart" in svg and "<text" in svg  # the shared style keeps text as text


def test_svg_ids_are_salted_so_charts_can_share_a_page() -> None:
    """The ids that other elements point at (clip paths, markers) differ from chart to chart."""

    def referenced(svg: str) -> set[str]:
        return set(re.findall(r'(?:url\(#|xlink:href="#)([^")]+)', svg))

    one, two = referenced(_figure("one")), referenced(_figure("two"))
    assert one and two
    assert not one & two


def test_write_page_to_a_path_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_text("old", encoding="utf-8")
    assert write_page("<p>été</p>\n", target) == target
    assert target.read_text(encoding="utf-8") == "<p>été</p>\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]  # no temporary file left
    with pytest.raises(OSError):
        write_page("x", tmp_path / "missing" / "page.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_write_page_to_an_open_file() -> None:
    buf = io.StringIO()
    assert write_page("<p>x</p>", buf) is None
    assert buf.getvalue() == "<p>x</p>"


@pytest.mark.parametrize("name", ["report.html.j2", "cohort.html.j2"])
def test_templates_share_the_duration_filters(name: str) -> None:
    env = template(name).environment
    assert env.filters["span"] is format_duration
    assert env.filters["clock"] is clock
    assert env.autoescape is True
    assert template(name) is template(name)  # compiled once


def test_every_finding_has_a_title_in_the_bar_chart_order() -> None:
    from posture.outputs.report.charts import bar_charts

    time_s = {"good": 50.0, "poor": 40.0, "uncertain": 0.0, "away": 10.0}
    verdicts, findings = bar_charts(time_s, dict.fromkeys(FINDING_CODES, 5.0), 100.0)
    assert "good: 50 s" in verdicts.description and "away: 10 s" in verdicts.description
    titles = [FINDINGS[f].title for f in FINDINGS]
    positions = [findings.description.index(f"{t}: 5.0 s") for t in titles]
    assert positions == sorted(positions)  # the registry's order
