"""The registry both the findings and the metrics are: ordered, built-in entries fixed, others added and removed."""

from __future__ import annotations

import pytest

from posture.registry import Registry


def _names() -> Registry[str]:
    def no_shouting(entry: str, registry: Registry[str]) -> None:
        if entry.isupper():
            raise ValueError(f"{entry} shouts (after {len(registry)} others)")

    return Registry("word", ("a", "b"), str.lower, no_shouting)


def test_entries_keep_their_order_and_the_names_follow_the_registry() -> None:
    words = _names()
    names = words.names
    assert list(words) == ["a", "b"] and names == ("a", "b") and names[-1] == "b" and names[:1] == ("a",)
    assert repr(words) == "Registry(word: a, b)" and repr(names) == "('a', 'b')"
    words.register("c")
    assert names == ["a", "b", "c"] and len(names) == 3 and "c" in names and words["c"] == "c"
    assert names != "abc" and names != ("a", "b")
    assert words.version == 3  # each change counts (two built in, one added)
    words.unregister("c")
    assert names == ("a", "b") and "c" not in words and words.version == 4


def test_a_taken_name_a_refused_entry_a_built_in_one_and_an_unknown_one() -> None:
    words = _names()
    with pytest.raises(ValueError, match="already a word 'a'"):
        words.register("a")
    with pytest.raises(ValueError, match="shouts"):
        words.register("LOUD")
    with pytest.raises(ValueError, match="built in"):
        words.unregister("b")
    with pytest.raises(KeyError):
        words.unregister("zzz")
    with pytest.raises(TypeError):
        hash(words.names)  # it changes with the registry
