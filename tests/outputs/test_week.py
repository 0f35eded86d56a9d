"""The history page (posture history --html, the tray's today and week pages) from synthetic days."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from posture._cli.main import main
from posture.outputs.history import HistoryStore, SessionTotals, day_summaries
from posture.outputs.report.week import build_week_data, render_week, streaks, write_week
from tests.builders import PRESENT_S, WEEK, week_of_days


def local_noon(days_ago: int) -> datetime:
    return datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(
        days=days_ago
    )


def fill_history(db: Path | None = None) -> None:
    """Seven days of synthetic sessions ending today (two sessions on the last day)."""
    with HistoryStore(db) as store:
        for i, spec in enumerate(WEEK):
            if spec is None:
                continue
            share, findings, alerts, breaks = spec
            started = local_noon(len(WEEK) - 1 - i)
            sessions = 2 if i == len(WEEK) - 1 else 1
            for k in range(sessions):
                part = PRESENT_S / sessions
                totals = SessionTotals(
                    duration_s=part,
                    present_s=part,
                    poor_s=part * share,
                    good_s=part * (1 - share),
                    alerts=alerts if k == 0 else 0,
                    breaks=breaks if k == 0 else 0,
                    finding_poor_s={c: v / sessions for c, v in findings.items()},
                    top_finding=max(findings, key=findings.__getitem__),
                )
                store.insert(
                    "live", "camera 0", totals, started=started + timedelta(minutes=k), ended=None, live=False
                )
        # another kind on the last day: not the user's own sitting
        store.insert(
            "analyze",
            "clip.mp4",
            SessionTotals(duration_s=600, present_s=600, poor_s=600),
            started=local_noon(0),
            ended=None,
            live=False,
        )


def test_day_summaries_add_up_each_day(tmp_path: Path) -> None:
    fill_history()
    days = day_summaries(7, kinds=("live",))
    assert len(days) == 6  # one day without a session
    last = days[-1]
    assert last.day == local_noon(0).date() and last.sessions == 2
    assert last.present_s == pytest.approx(PRESENT_S) and last.poor_share == pytest.approx(0.08)
    assert last.alerts == 0 and last.breaks == 5 and last.finding_poor_s == {"forward_head": 100.0}
    assert days[0].top_finding == "forward_head" and days[0].alerts == 4
    assert days[0].finding_share("hunched_back") == pytest.approx(300.0 / PRESENT_S)
    everything = day_summaries(7)
    assert everything[-1].sessions == 3  # the analysed clip counts with kinds=None
    assert day_summaries(1, kinds=("live",)) == [last]


def test_streaks() -> None:
    assert streaks([]) == (0, 0)
    assert streaks([True, True, False, True]) == (1, 2)
    assert streaks([True, None, True]) == (2, 2)  # too little watched neither breaks nor extends
    assert streaks([False, True, True, True, None]) == (3, 3)


def test_week_data() -> None:
    data = build_week_data(week_of_days(), days=7, today=date(2026, 3, 10))
    assert [r.label for r in data.days] == ["Wed 4", "Thu 5", "Fri 6", "Sat 7", "Sun 8", "Mon 9", "Tue 10"]
    assert [r.good for r in data.days] == [False, False, None, True, True, True, True]
    assert (data.current_streak, data.best_streak) == (4, 4)
    assert data.trend.startswith("Improving: poor posture fell from 27% to 10%")
    assert data.top_finding == "forward_head" and data.advice is not None
    assert data.advice.topic_id == "forward_head"
    assert data.days[0].finding_shares == (("forward_head", 0.25), ("hunched_back", 300.0 / 3600.0))
    assert data.days[2].watched == "–" and data.days[2].alerts == 0
    assert len(data.charts) == 3
    assert data.period == "4–10 March 2026"
    cards = {h.label: h.value for h in data.headlines}
    assert cards["Alerts"] == "9" and cards["Breaks taken"] == "19" and cards["Good days"] == "4 of 7"


def test_the_page_charts_one_point_per_day_and_loads_nothing() -> None:
    html = render_week(build_week_data(week_of_days(), days=7, today=date(2026, 3, 10)))
    assert html.count('data-days="7"') == 3
    assert html.count("<svg") == 3
    for label in ("Wed 4", "Fri 6", "Tue 10"):
        # each chart's axis names every day (text stays text in the SVG)
        assert len(re.findall(rf">{label}<", html)) >= 3, label
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from the network
    assert "<script" not in html
    assert 'id="advice-forward_head"' in html and 'href="#advice-forward_head"' in html
    assert "4 good days in a row" in html


def test_one_day_and_an_empty_history() -> None:
    one = build_week_data(week_of_days()[-1:], days=1, today=date(2026, 3, 10))
    assert one.title == "Your day at the desk" and len(one.days) == 1 and one.kicker == "posture · today"
    html = render_week(one)
    assert html.count('data-days="1"') == 3
    empty = build_week_data([], days=7, today=date(2026, 3, 10))
    assert empty.charts == () and not empty.measured_anything and empty.top_finding is None
    text = render_week(empty)
    assert "Nothing was watched in these days" in text and "No finding went over its threshold" in text


def test_write_week_to_an_open_file_and_a_path(tmp_path: Path) -> None:
    data = build_week_data(week_of_days(), days=7, today=date(2026, 3, 10))
    buf = io.StringIO()
    assert write_week(data, buf) is None and buf.getvalue().startswith("<!DOCTYPE html>")
    path = tmp_path / "week.html"
    assert write_week(data, path) == path and path.read_text(encoding="utf-8") == buf.getvalue()


def test_cli_history_html(tmp_path: Path) -> None:
    fill_history()
    out = io.StringIO()
    target = tmp_path / "pages" / "week.html"
    assert main(["history", "--html", str(target)], stdout=out) == 0
    assert out.getvalue() == f"wrote {target}\n"
    html = target.read_text(encoding="utf-8")
    assert html.count('data-days="7"') == 3 and "Your 7 days at the desk" in html
    assert main(["history", "--html", str(tmp_path / "today.html"), "--days", "1"], stdout=out) == 0
    assert "Your day at the desk" in (tmp_path / "today.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "argv", [["--html", "x.html", "--days", "0"], ["--html", "x.html", "--days", "400"], ["--days", "3"]]
)
def test_cli_history_html_bad_input(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", *argv], stdout=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("posture: error: ") and err.count("\n") == 1
