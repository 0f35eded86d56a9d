"""cohort.html in a real browser: headless Chromium renders the charts, and every link on the page
opens the recording's report it names (at its episodes).

Skipped when Chromium is not installed, unless POSTURE_REQUIRE_BROWSER=1 (then it fails).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import pytest

from posture.batch import BatchOptions, run_batch
from posture.batch.engines import LocalEngine
from posture.config import Config
from posture.outputs.report import COLOURS
from tests.builders import hex_rgb
from tests.fakes import fake_task

if TYPE_CHECKING:
    from tests.conftest import Chromium

pytestmark = pytest.mark.browser

WINDOW = (1200, 2400)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (class, href)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append((a.get("class") or "", a["href"] or ""))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = tmp_path_factory.mktemp("archive")
    for rel, kind in {
        "alice/mon.mp4": "ok",
        "alice/tue.mp4": "ok",
        "bob/mon.mp4": "ok",
        "bob/broken.mp4": "bad",
    }.items():
        (archive / rel).parent.mkdir(parents=True, exist_ok=True)
        (archive / rel).write_text(kind, encoding="utf-8")
    out = tmp_path_factory.mktemp("results")
    with LocalEngine(2, fn=fake_task) as engine:
        result = run_batch(BatchOptions((str(archive),), out, Config()), engine=engine)
    return result.cohort_html


def test_chromium_renders_the_cohort_charts(cohort: Path, tmp_path: Path, chromium: Chromium) -> None:
    from PIL import Image

    dump = chromium.run(tmp_path / "profile-dom", "--dump-dom", cohort.as_uri())
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    assert dom.count("<svg") == 3 and dom.count('class="chart"') == 3
    for title in ("Time per verdict, per person", "Time per verdict", "Time over threshold"):
        assert title in dom
    assert dom.count('class="person"') == 2  # alice and bob
    assert "is not a video OpenCV can open" in dom

    png = tmp_path / "cohort.png"
    shot = chromium.run(
        tmp_path / "profile-shot",
        f"--screenshot={png}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        cohort.as_uri(),
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    with Image.open(png) as im:
        rgb = im.convert("RGB")
    colours = rgb.getcolors(maxcolors=1 << 24)
    assert colours is not None and len(colours) > 50, "the screenshot is (nearly) blank"
    # The charts' bars: good and poor colours, as drawn (not just as named in the CSS).
    for name in ("good", "poor"):
        ref = hex_rgb(COLOURS[name])
        n = sum(c for c, px in colours if all(abs(a - b) <= 12 for a, b in zip(px, ref, strict=False)))
        assert n > 2000, (name, n)


def test_every_link_opens_the_report_it_names(cohort: Path, tmp_path: Path, chromium: Chromium) -> None:
    dom = chromium.run(tmp_path / "profile-dom", "--dump-dom", cohort.as_uri()).stdout
    parser = _Links()
    parser.feed(dom)
    reports = [href for cls, href in parser.links if cls == "report-link"]
    episodes = [href for cls, href in parser.links if cls == "episode-link"]
    assert len(reports) == 3  # the three recordings that were analysed; the broken one has none
    assert len(episodes) == 3 and all(h.endswith("#episodes") for h in episodes)
    for _, href in parser.links:
        if href.startswith("#"):
            assert f'id="{href[1:]}"' in dom, href
            continue
        target = cohort.parent / unquote(urlsplit(href).path)
        assert target.is_file(), href
    # Follow one link as the browser would: the recording's own report, with its episodes.
    opened = chromium.run(tmp_path / "profile-link", "--dump-dom", cohort.parent.as_uri() + "/" + episodes[0])
    assert opened.returncode == 0, opened.stderr[-2000:]
    assert 'id="episodes"' in opened.stdout and "Sustained poor posture" in opened.stdout
