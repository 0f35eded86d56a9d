"""The finding registry: one entry per code, consistent with the rules, the metrics and the advice catalogue."""

from __future__ import annotations

import pytest

from posture.advice import load_catalogue
from posture.config import Band, FindingRules, MetricsConfig
from posture.findings import (
    FINDING_CODES,
    FINDING_WORDS,
    FINDINGS,
    BandInfo,
    BodyPart,
    Direction,
    Finding,
    FindingInfo,
    band,
    bands,
    info,
)
from posture.metric_registry import METRICS
from posture.metrics import _RULES, Judgement, Scene, assess, measure, rule
from posture.reading import Reference
from tests.builders import side_pose


def test_every_finding_has_one_entry_in_the_reported_order() -> None:
    assert tuple(FINDING_CODES) == tuple(f.value for f in Finding) == tuple(i.code for i in FINDINGS.values())
    assert [f.value for f in Finding] == FINDING_CODES and "slumped" in FINDING_CODES
    assert set(FINDING_WORDS) == set(FINDING_CODES)
    assert all(type(code) is str for code in FINDING_CODES)  # plain strings: CSV columns, JSON keys


def test_every_finding_has_a_rule_and_every_band_judges_a_known_metric() -> None:
    assert set(FINDINGS) <= set(_RULES)
    for b in bands().values():
        assert set(b.metrics) <= set(METRICS), b.name


def test_the_bands_are_the_config_section_with_the_registry_defaults() -> None:
    rules = FindingRules()
    assert list(rules) == list(bands())
    for name, b in bands().items():
        assert rules[name] == getattr(rules, name) == Band(b.start, b.limit)
    assert rules.replace(forward_head_deg=Band(1.0, 2.0)).forward_head_deg == Band(1.0, 2.0)
    with pytest.raises(TypeError, match="no band"):
        FindingRules(forward_hed_deg=Band(1.0, 2.0))
    with pytest.raises(AttributeError):
        _ = rules.nonsense


def test_a_band_belongs_to_one_finding() -> None:
    found = band("slumped_head_back_deg")
    assert found is not None and found[0].code == "slumped" and not found[1].alone
    assert band("nonsense") is None
    clash = FindingInfo(
        "copycat",
        "copy",
        "Copy",
        "A copy.",
        "You have copied",
        BodyPart.TRUNK,
        Direction.FORWARD,
        "breaks",
        (BandInfo("hunched_back_deg", 1.0, 2.0, ("trunk_inclination_deg",), "trunk"),),
    )
    with pytest.raises(ValueError, match="hunched_back_deg"):
        FINDINGS.register(clash)
    assert "copycat" not in FINDINGS


def test_built_in_findings_stay() -> None:
    with pytest.raises(ValueError, match="built in"):
        FINDINGS.unregister("slumped")
    with pytest.raises(ValueError, match="already"):
        FINDINGS.register(FINDINGS["slumped"])


def test_bad_entries_are_refused() -> None:
    with pytest.raises(ValueError, match="lowercase"):
        BandInfo("Bad-Name", 1.0, 2.0, ("cva_deg",), "x")
    with pytest.raises(ValueError, match="limit must exceed"):
        BandInfo("bad", 2.0, 1.0, ("cva_deg",), "x")
    with pytest.raises(ValueError, match="no metric"):
        BandInfo("bad", 1.0, 2.0, (), "x")


def test_every_finding_opens_a_topic_of_the_catalogue() -> None:
    catalogue = load_catalogue()
    for i in FINDINGS.values():
        assert i.advice_topic in catalogue.ids
        assert catalogue.topics_for(i.code)[0] == i.advice_topic


def test_head_findings_are_head_and_neck_and_the_rest_trunk() -> None:
    head = {i.code for i in FINDINGS.values() if i.body_part is BodyPart.HEAD_NECK}
    assert head == {Finding.FORWARD_HEAD, Finding.NECK_FLEXION, Finding.LEANING_IN}


def test_only_the_forward_head_is_required_for_a_good_verdict() -> None:
    assert [i.code for i in FINDINGS.values() if i.required] == ["forward_head"]


def test_an_unknown_code_has_no_entry() -> None:
    assert info("forward_head") is FINDINGS[Finding.FORWARD_HEAD]
    assert info("nonsense") is None


def test_a_bad_finding_entry_is_refused() -> None:
    band = BandInfo("x_deg", 1.0, 2.0, ("cva_deg",), "x")
    parts = ("w", "T", "M.", "N", BodyPart.TRUNK, Direction.FORWARD, "breaks")
    with pytest.raises(ValueError, match="lowercase"):
        FindingInfo("Bad Code", *parts, (band,))
    with pytest.raises(ValueError, match="listed twice"):
        FindingInfo("twice", *parts, (band, band))


def test_a_finding_without_a_rule_and_a_rule_on_an_unknown_band_are_errors() -> None:
    raw = measure(side_pose(), MetricsConfig())
    lonely = FindingInfo(
        "lonely", "w", "T", "M.", "N", BodyPart.TRUNK, Direction.FORWARD, "breaks",
        (BandInfo("lonely_deg", 1.0, 2.0, ("cva_deg",), "cva"),),
    )  # fmt: skip
    FINDINGS.register(lonely)
    try:
        with pytest.raises(LookupError, match="lonely has no rule"):
            assess(raw, MetricsConfig())

        @rule("lonely")
        def _lonely(scene: Scene, out: Judgement) -> bool:
            out.offer(scene.condition("cva_deg", "no_such_band", Reference.EVERYONE))
            return True

        with pytest.raises(KeyError, match="no_such_band"):
            assess(raw, MetricsConfig())
    finally:
        FINDINGS.unregister("lonely")
