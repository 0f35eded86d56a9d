"""report.html in a real browser: headless Chromium renders it, screenshots it and dumps its DOM.

Skipped when Chromium is not installed, unless POSTURE_REQUIRE_BROWSER=1 (then it fails).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from posture.outputs.report import COLOURS, write_report
from posture.outputs.session_files import analysis_summary
from tests.builders import hex_rgb, make_result, side_session

if TYPE_CHECKING:
    from tests.conftest import Chromium

pytestmark = pytest.mark.browser

WINDOW = (1200, 2400)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    readings, episodes = side_session()
    result = make_result(readings, episodes, source=Path("desk_session.mp4"))
    folder = tmp_path_factory.mktemp("report")
    path = write_report(result, analysis_summary(result), folder / "report.html", key_frames=False)
    assert path is not None
    return path


def test_chromium_renders_the_charts(report: Path, tmp_path: Path, chromium: Chromium) -> None:
    from PIL import Image

    png = tmp_path / "report.png"
    shot = chromium.run(
        tmp_path / "profile-shot",
        f"--screenshot={png}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        report.as_uri(),
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png.is_file() and png.stat().st_size > 10_000

    with Image.open(png) as im:
        rgb = im.convert("RGB")
    assert rgb.size == WINDOW
    everything = rgb.getcolors(maxcolors=1 << 24)
    assert everything is not None and len(everything) > 50, "the screenshot is (nearly) blank"

    # The chart region: the rows where the chart's line colour appears (links use another blue).
    line = hex_rgb(COLOURS["line"])
    px = rgb.load()
    rows = [
        y
        for y in range(0, rgb.height, 2)
        if sum(
            1
            for x in range(0, rgb.width, 2)
            if all(abs(c - ref) <= 40 for c, ref in zip(px[x, y], line, strict=False))
        )
        >= 3
    ]
    assert rows, "no chart line found in the screenshot"
    top, bottom = min(rows), max(rows)
    assert bottom - top >= 200, (top, bottom)
    region = rgb.crop((0, top, rgb.width, bottom + 1))
    colours = region.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 30, "the chart region has only a few colours"
    # The poor/alert shading and the threshold line tint the region as well.
    reds = sum(n for n, (r, g, b) in colours if r > 180 and g < 200 and b < 200 and r - b > 40)
    assert reds > 500


def test_chromium_dom_contains_the_svg_charts(report: Path, tmp_path: Path, chromium: Chromium) -> None:
    dump = chromium.run(tmp_path / "profile-dom", "--dump-dom", report.as_uri())
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    assert dom.count("<svg") == 3
    assert 'class="chart"' in dom
    assert "<path" in dom and "<text" in dom
    for title in ("Neck and upper back over time", "Time per verdict", "Time over threshold"):
        assert title in dom
    assert 'id="advice-forward_head"' in dom and 'id="advice-warning_signs"' in dom
