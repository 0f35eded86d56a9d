"""The finding registry: one entry per code, consistent with the rules and the advice catalogue."""

from __future__ import annotations

import dataclasses

from posture.advice import load_catalogue
from posture.config import FindingRules
from posture.findings import FINDING_CODES, FINDING_WORDS, FINDINGS, BodyPart, Finding, info


def test_every_finding_has_one_entry_in_the_reported_order() -> None:
    assert FINDING_CODES == tuple(f.value for f in Finding) == tuple(i.code.value for i in FINDINGS.values())
    assert set(FINDING_WORDS) == set(FINDING_CODES)


def test_every_band_scores_exactly_one_finding() -> None:
    bands = {f.name for f in dataclasses.fields(FindingRules)}
    named = [band for i in FINDINGS.values() for band in i.rules]
    assert sorted(named) == sorted(set(named)), "a band listed under two findings"
    assert set(named) <= bands, f"unknown bands: {set(named) - bands}"


def test_every_finding_opens_a_topic_of_the_catalogue() -> None:
    catalogue = load_catalogue()
    for i in FINDINGS.values():
        assert i.advice_topic in catalogue.ids
        assert i.advice_topic in catalogue.topics_for(i.code.value)


def test_head_findings_are_head_and_neck_and_the_rest_trunk() -> None:
    head = {i.code for i in FINDINGS.values() if i.body_part is BodyPart.HEAD_NECK}
    assert head == {Finding.FORWARD_HEAD, Finding.NECK_FLEXION, Finding.LEANING_IN}


def test_an_unknown_code_has_no_entry() -> None:
    assert info("forward_head") is FINDINGS[Finding.FORWARD_HEAD]
    assert info("nonsense") is None
