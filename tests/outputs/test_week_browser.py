"""The week page in a real browser: headless Chromium renders seven synthetic days with a clean
console, and each chart has one bar or point per day.

Skipped when Chromium is not installed, unless POSTURE_REQUIRE_BROWSER=1 (then it fails).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from posture.outputs.report.charts import COLOURS
from posture.outputs.report.week import build_week_data, write_week
from tests.builders import hex_rgb, week_of_days

if TYPE_CHECKING:
    from tests.conftest import Chromium

pytestmark = pytest.mark.browser

WINDOW = (1100, 2200)


@pytest.fixture(scope="module")
def week_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("week") / "week.html"
    write_week(build_week_data(week_of_days(), days=7, today=date(2026, 3, 10)), path)
    return path


def console_messages(chromium: Chromium, profile: Path, page: Path) -> list[str]:
    """What the page wrote on the browser's console (errors such as a failed load included)."""
    run = chromium.run(profile, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    return [line for line in run.stderr.splitlines() if "CONSOLE" in line]


def test_the_console_check_sees_an_error(tmp_path: Path, chromium: Chromium) -> None:
    """The check below can fail: a page that loads a missing file puts an error on the console."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><script>console.error("broken page")</script></body></html>')
    assert any("broken page" in m for m in console_messages(chromium, tmp_path / "p1", bad))


def test_the_week_page_renders_with_a_clean_console(
    week_page: Path, tmp_path: Path, chromium: Chromium
) -> None:
    assert console_messages(chromium, tmp_path / "profile", week_page) == []


def test_each_chart_has_the_seven_days(week_page: Path, tmp_path: Path, chromium: Chromium) -> None:
    dump = chromium.run(tmp_path / "profile-dom", "--dump-dom", week_page.as_uri())
    assert dump.returncode == 0, dump.stderr[-2000:]
    figures = re.findall(r'<figure class="day-chart" data-days="(\d+)">(.*?)</figure>', dump.stdout, re.S)
    assert len(figures) == 3
    labels = ["Wed 4", "Thu 5", "Fri 6", "Sat 7", "Sun 8", "Mon 9", "Tue 10"]
    for days, svg in figures:
        assert days == "7"
        ticks = re.findall(r"<text[^>]*>([A-Z][a-z]{2} \d{1,2})</text>", svg)
        assert ticks == labels, ticks
    # the table has one row per day
    assert dump.stdout.count('<tr class="day">') == 7


def test_the_screenshot_shows_the_bars(week_page: Path, tmp_path: Path, chromium: Chromium) -> None:
    from PIL import Image

    png = tmp_path / "week.png"
    shot = chromium.run(
        tmp_path / "profile-shot",
        f"--screenshot={png}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        week_page.as_uri(),
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    with Image.open(png) as im:
        rgb = im.convert("RGB")
    px = rgb.load()

    def count(colour: str) -> int:
        ref = hex_rgb(colour)
        return sum(
            1
            for y in range(0, rgb.height, 2)
            for x in range(0, rgb.width, 2)
            if all(abs(c - r) <= 12 for c, r in zip(px[x, y], ref, strict=True))
        )

    assert count(COLOURS["good"]) > 2000  # the good part of the bars (and the breaks)
    assert count(COLOURS["poor"]) > 500  # the poor part on top
    assert count(COLOURS["alert"]) > 200  # the alert bars
