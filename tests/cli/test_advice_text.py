"""``posture advice`` as text: the article credited, every topic, the warning signs, the width."""

from __future__ import annotations

import pytest

from posture._cli.advice_text import render_list, render_text
from posture.advice import WARNING_TOPIC, Catalogue, UnknownTopicError, attribution, load_catalogue
from posture.findings import FINDING_CODES


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


def _flat(text: str) -> str:
    """Whitespace collapsed, so assertions do not depend on where the text wrapped."""
    return " ".join(text.split())


def test_an_unknown_topic_is_the_catalogues_typed_error(cat: Catalogue) -> None:
    with pytest.raises(UnknownTopicError):
        render_text(cat, "nope")


def test_render_text_all_attributes_the_article(cat: Catalogue) -> None:
    text = _flat(render_text(cat))
    assert "Upper back pain, causes and possible treatments (2025)" in text
    assert "Francis Galineri" in text
    assert "19 February 2025" in text
    assert text.endswith(_flat(attribution(cat)))


def test_render_text_all_includes_every_finding_topic(cat: Catalogue) -> None:
    text = _flat(render_text(cat))
    for code in FINDING_CODES:
        for tid in cat.topics_for(code):
            assert f"[{tid}]" in text
            assert _flat(cat.topic(tid).body) in text


def test_render_text_all_includes_the_warning_signs_in_full(cat: Catalogue) -> None:
    text = _flat(render_text(cat))
    assert "When to see a doctor" in text
    assert _flat(cat.topic(WARNING_TOPIC).body) in text
    for sign in (
        "losing weight",
        "5 days",
        "38 °C",
        "chest or the upper back",
        "below the knees",
        "injury to your back",
        "bowels",
        "cannot pass urine",
        "leak urine",
        "genitals or the anus",
        "cancer",
        "over 55",
        "drugs",
        "steroid",
        "chemotherapy",
        "get medical help immediately",
    ):
        assert sign in text, sign


@pytest.mark.parametrize("topic_id", load_catalogue().ids)
def test_render_one_topic_ends_with_attribution_and_points_to_warning_signs(
    cat: Catalogue, topic_id: str
) -> None:
    text = _flat(render_text(cat, topic_id))
    topic = cat.topic(topic_id)
    assert _flat(topic.summary) in text and _flat(topic.body) in text
    assert text.endswith(_flat(attribution(cat)))
    if topic_id != WARNING_TOPIC:
        assert "posture advice warning_signs" in text
        others = [t for t in cat.topics if t.id not in {topic_id, *cat.topics_for(topic_id)}]
        assert all(f"[{t.id}]" not in text for t in others)


@pytest.mark.parametrize("width", [40, 60, 80, 100])
def test_render_text_respects_width(cat: Catalogue, width: int) -> None:
    for line in render_text(cat, width=width).splitlines():
        assert len(line) <= width, line


def test_a_width_no_text_fits_in_is_refused(cat: Catalogue) -> None:
    with pytest.raises(ValueError, match="at least 20 columns"):
        render_text(cat, width=19)


def test_render_list_has_one_line_per_topic(cat: Catalogue) -> None:
    lines = render_list(cat).splitlines()
    for t, line in zip(cat.topics, lines, strict=False):
        assert line.startswith(t.id) and t.title in line and t.summary in line
    assert lines[len(cat.topics)] == ""
    assert lines[-1] == attribution(cat)
