"""The advice as one HTML page (``posture advice --html``): an anchor per topic, the article
credited, self-contained, every text escaped."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

import pytest

from posture.advice import Catalogue, load_catalogue
from posture.outputs.report.advice_page import render_html


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


def _flat(text: str) -> str:
    return " ".join(text.split())


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.section_ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "section" and a.get("id"):
            self.section_ids.append(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])


def test_html_has_one_anchor_per_topic(cat: Catalogue) -> None:
    page = render_html(cat)
    parser = _Collector()
    parser.feed(page)
    assert parser.section_ids == list(cat.ids)
    assert {h.lstrip("#") for h in parser.hrefs} <= set(cat.ids)
    assert "script" not in parser.tags and "link" not in parser.tags  # self-contained
    assert "style" in parser.tags
    flat = _flat(page)
    assert "Francis Galineri" in flat and "19 February 2025" in flat
    assert "causes and possible treatments (2025)" in flat
    assert _flat(cat.topic("about").summary) in flat


def test_html_escapes_every_text(cat: Catalogue) -> None:
    evil = '<script>alert("x")</script> & <b>'
    topics = tuple(
        dataclasses.replace(t, title=f"{t.title} {evil}", summary=evil, body=f"{evil}\n- {evil}")
        if t.id == "forward_head"
        else t
        for t in cat.topics
    )
    source = dict(cat.source, author=evil)
    page = render_html(dataclasses.replace(cat, topics=topics, source=source))
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in page
