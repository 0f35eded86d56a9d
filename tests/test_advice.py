"""The prevention-advice catalogue: links, honesty about the evidence, and originality (its text
view is tested in ``tests/cli/test_advice_text.py``, its HTML page in ``tests/outputs/test_advice_page.py``)."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from posture._cli.advice_text import render_list, render_text
from posture.advice import (
    EVENT_KINDS,
    WARNING_TOPIC,
    Catalogue,
    CatalogueError,
    Topic,
    UnknownTopicError,
    load_catalogue,
    parse_catalogue,
)
from posture.errors import ExitCode, InputError
from posture.findings import FINDING_CODES

ARTICLE = Path(__file__).resolve().parents[1].parent / "shared" / "article" / "upper-back-pain-2025.md"

PUBLIC_TOPIC_IDS = {
    *FINDING_CODES,
    "breaks",
    "movement",
    "stress",
    "weight",
    "lifting",
    "warning_signs",
    "about",
}


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


def _flat(text: str) -> str:
    """Whitespace collapsed, so assertions do not depend on where the text wrapped."""
    return " ".join(text.split())


def _catalogue_texts(catalogue: Catalogue) -> list[str]:
    texts = [catalogue.source["note"]]
    for t in catalogue.topics:
        texts += [t.title, t.summary, t.body]
    return texts


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]


# --- links ------------------------------------------------------------------------------------


def test_topic_ids_are_the_public_set(cat: Catalogue) -> None:
    assert set(cat.ids) == PUBLIC_TOPIC_IDS
    assert len(cat.ids) == len(set(cat.ids))


@pytest.mark.parametrize("code", [*FINDING_CODES, *EVENT_KINDS])
def test_every_finding_and_event_links_to_existing_topics(cat: Catalogue, code: str) -> None:
    ids = cat.topics_for(code)
    assert ids, f"{code} links to no advice"
    for tid in ids:
        assert cat.topic(tid).id == tid
    if code in FINDING_CODES:
        assert ids[0] == code, "a finding's own topic comes first"


def test_sitting_bout_links_to_breaks(cat: Catalogue) -> None:
    assert "sitting_bout" in EVENT_KINDS
    assert cat.topics_for("sitting_bout")[0] == "breaks"


def test_unlinked_code_has_no_topics(cat: Catalogue) -> None:
    assert cat.topics_for("no_such_code") == ()


def test_summaries_fit_a_notification(cat: Catalogue) -> None:
    for t in cat.topics:
        assert "\n" not in t.summary and len(t.summary) <= 120, t.id
        assert t.body.strip() and "\n\n\n" not in t.body


def test_catalogue_is_cached_and_read_only(cat: Catalogue) -> None:
    assert load_catalogue() is cat
    with pytest.raises(TypeError):
        cat.links["forward_head"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        cat.source["title"] = "x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cat.topics[0].title = "x"  # type: ignore[misc]


def test_body_soft_wraps_are_joined() -> None:
    data = {
        "version": 1,
        "source": {"title": "T", "author": "A", "updated": "1 January 2025", "note": "n"},
        "topics": [
            {"id": tid, "title": tid, "summary": "s", "body": "one\ntwo\n\n- a\n  b\n- c\n"}
            for tid in (*FINDING_CODES, "breaks", "warning_signs", "about")
        ],
        "links": {code: [code] for code in FINDING_CODES} | {"sitting_bout": ["breaks"]},
    }
    about = parse_catalogue(data).topic("about")
    assert about.body == "one two\n\n- a b\n- c"
    assert about.blocks() == [("p", "one two"), ("gap", ""), ("li", "a b"), ("li", "c")]


# --- unknown topics and malformed catalogues --------------------------------------------------


def test_unknown_topic_raises_a_typed_error_listing_valid_ids(cat: Catalogue) -> None:
    with pytest.raises(UnknownTopicError) as info:
        cat.topic("posture_is_bad")
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, InputError)
    assert err.exit_code == ExitCode.BAD_INPUT
    assert err.topic_id == "posture_is_bad"
    assert err.valid_ids == cat.ids
    assert "warning_signs" in str(err) and "forward_head" in str(err)


def test_dangling_link_is_rejected(cat: Catalogue) -> None:
    links = dict(cat.links)
    links["forward_head"] = ("forward_head", "no_such_topic")
    with pytest.raises(CatalogueError, match="no_such_topic"):
        dataclasses.replace(cat, links=links)


def test_missing_event_link_is_rejected(cat: Catalogue) -> None:
    links = {k: v for k, v in cat.links.items() if k != "sitting_bout"}
    with pytest.raises(CatalogueError, match="sitting_bout"):
        dataclasses.replace(cat, links=links)


def test_a_finding_without_links_opens_its_own_topic(cat: Catalogue) -> None:
    """The finding's entry names its topic: [links] only adds the related ones after it."""
    links = {k: v for k, v in cat.links.items() if k != "slumped"}
    assert dataclasses.replace(cat, links=links).topics_for("slumped") == ("slumped",)
    assert cat.topics_for("slumped") == ("slumped", "hunched_back", "breaks")


def test_warning_signs_topic_is_required(cat: Catalogue) -> None:
    with pytest.raises(CatalogueError, match="warning_signs"):
        dataclasses.replace(cat, topics=tuple(t for t in cat.topics if t.id != WARNING_TOPIC))


def test_topic_ids_must_be_anchor_safe(cat: Catalogue) -> None:
    bad = Topic(id='x"><script>', title="t", summary="s", body="b")
    with pytest.raises(CatalogueError, match="bad topic id"):
        dataclasses.replace(cat, topics=(*cat.topics, bad))


# --- honesty -----------------------------------------------------------------------------------


def _unendorsed_remedy_sentences(texts: list[str]) -> list[str]:
    """Sentences that name homeopathy-like remedies without saying the tool does not recommend them."""
    remedy = re.compile(r"homeopath|homoeopath|aromatherap|oligotherap", re.IGNORECASE)
    return [
        s
        for text in texts
        for s in _sentences(text)
        if remedy.search(s) and "does not recommend" not in s.lower()
    ]


def test_remedy_check_can_fail() -> None:
    assert _unendorsed_remedy_sentences(["Homeopathy is a good complement. Walk daily."])
    assert not _unendorsed_remedy_sentences(["The tool does not recommend homeopathy."])


def test_catalogue_never_recommends_homeopathy(cat: Catalogue) -> None:
    texts = _catalogue_texts(cat)
    assert _unendorsed_remedy_sentences(texts) == []
    about = _flat(cat.topic("about").body)
    assert "does not recommend homeopathy" in about
    assert "evidence" in about


def test_medicine_and_surgery_are_left_to_a_doctor(cat: Catalogue) -> None:
    for text in _catalogue_texts(cat):
        for s in _sentences(text):
            if re.search(r"surgery|injection|painkiller|anti-inflammator", s, re.IGNORECASE):
                assert "doctor" in s, s


def test_about_is_honest_about_the_evidence_and_the_tool(cat: Catalogue) -> None:
    about = _flat(cat.topic("about").body + " " + cat.topic("about").summary)
    assert "not a diagnosis" in about
    assert "does not know why" in about
    assert "Ailneni" in about and "8 %" in about and "Sensors" in about
    breaks = _flat(cat.topic("breaks").body)
    assert "McLean" in breaks and "20 minutes" in breaks and "Buckley" in breaks


# --- originality -------------------------------------------------------------------------------

RUN = 8


def _words(text: str) -> list[str]:
    text = re.sub(r"['’`]", "", text.lower())
    return re.findall(r"[^\W_]+", text)


def _runs(words: list[str], n: int = RUN) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _copied_runs(article: str, texts: list[str], quoted: str) -> list[str]:
    """Runs of RUN words shared by the article and the catalogue (the quoted source title excepted)."""
    article_runs = _runs(_words(article))
    found = []
    for text in texts:
        if quoted:
            text = text.replace(quoted, " | ")
        for run in _runs(_words(text)):
            if run in article_runs:
                found.append(" ".join(run))
    return found


def test_originality_check_can_fail() -> None:
    article = "Pain in the upper back can have a number of causes, some of them benign."
    copied = ["Upper back pain can have a number of causes, some of them benign!"]
    assert "can have a number of causes some of" in _copied_runs(article, copied, quoted="")
    assert _copied_runs(article, ["Back pain has many causes."], quoted="") == []


def test_catalogue_copies_no_run_of_eight_words_from_the_article(cat: Catalogue) -> None:
    if not ARTICLE.is_file():
        if os.environ.get("POSTURE_REQUIRE_FOOTAGE") == "1":
            pytest.fail(f"source article missing at {ARTICLE} (POSTURE_REQUIRE_FOOTAGE=1)")
        pytest.skip(f"source article not found at {ARTICLE}; the originality check needs it")
    article = ARTICLE.read_text(encoding="utf-8")
    texts = [*_catalogue_texts(cat), render_text(cat), render_list(cat)]
    assert _copied_runs(article, texts, quoted=cat.source["title"]) == []
