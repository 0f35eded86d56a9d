"""The prevention-advice catalogue: topics, and which findings and events link to them.

The advice lives in ``posture/data/advice.toml`` (package data) so that it can be reviewed and
corrected without touching code. It is written in the project's own words from the source article
named in its ``[source]`` table, which every place that shows it attributes (:func:`attribution`).
This module is pure: it reads that file once and validates it. It is shown as text by the command
line (``posture advice``) and as HTML by the report (:mod:`posture.outputs.report.advice_page`).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from posture.errors import InputError, PostureError
from posture.findings import FINDINGS, info

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

__all__ = [
    "ABOUT_TOPIC",
    "EVENT_KINDS",
    "WARNING_TOPIC",
    "Catalogue",
    "CatalogueError",
    "Topic",
    "UnknownTopicError",
    "attribution",
    "load_catalogue",
    "parse_catalogue",
]

# Event kinds (besides finding codes) that link to advice.
EVENT_KINDS: tuple[str, ...] = ("sitting_bout",)
# Topics every catalogue must have: every view of it points to the first and leads with the second.
WARNING_TOPIC = "warning_signs"
ABOUT_TOPIC = "about"

CATALOGUE_VERSION = 1
_SOURCE_KEYS = ("title", "author", "updated", "note")
_ID_RE = re.compile(r"[a-z][a-z0-9_]*")
_BULLET = "- "


class UnknownTopicError(InputError, ValueError):
    """An advice topic id that the catalogue does not have (a user typo: exit code 2)."""

    def __init__(self, topic_id: str, valid_ids: tuple[str, ...]) -> None:
        self.topic_id = topic_id
        self.valid_ids = valid_ids
        super().__init__(f"unknown advice topic {topic_id!r}; valid topics: {', '.join(valid_ids)}")


class CatalogueError(PostureError, ValueError):
    """The advice catalogue itself is malformed (a packaging bug, not a user error)."""


@dataclass(frozen=True)
class Topic:
    """One piece of advice: ``summary`` fits a notification, ``body`` is normalised plain text.

    In ``body``, each paragraph and each bullet (a line starting with ``"- "``) is one line, and
    an empty line separates paragraphs.
    """

    id: str
    title: str
    summary: str
    body: str

    def blocks(self) -> list[tuple[str, str]]:
        """The body as ``("p", paragraph)``, ``("li", bullet)`` and ``("gap", "")`` blocks."""
        blocks: list[tuple[str, str]] = []
        for line in self.body.splitlines():
            if not line.strip():
                blocks.append(("gap", ""))
            elif line.startswith(_BULLET):
                blocks.append(("li", line[len(_BULLET) :].strip()))
            else:
                blocks.append(("p", line.strip()))
        return blocks


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue, validated on construction so that renderers and links never dangle.

    ``source`` is the attribution (title, author, updated, note); ``links`` maps finding codes and
    event kinds to topic ids, most specific first. Both are read-only mappings, because
    ``load_catalogue`` hands the same instance to every caller.
    """

    source: Mapping[str, str]
    topics: tuple[Topic, ...]
    links: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", MappingProxyType(dict(self.source)))
        object.__setattr__(self, "topics", tuple(self.topics))
        object.__setattr__(
            self, "links", MappingProxyType({code: tuple(ids) for code, ids in self.links.items()})
        )
        _validate(self)

    @property
    def ids(self) -> tuple[str, ...]:
        """Topic ids in catalogue order."""
        return tuple(t.id for t in self.topics)

    def topic(self, topic_id: str) -> Topic:
        """The topic with this id; raises UnknownTopicError (listing the valid ids) otherwise."""
        for t in self.topics:
            if t.id == topic_id:
                return t
        raise UnknownTopicError(topic_id, self.ids)

    def topics_for(self, code: str) -> tuple[str, ...]:
        """Topic ids for a finding code or an event kind, most specific first; () for other codes.

        A finding opens its own topic (its ``advice_topic`` in :mod:`posture.findings`) first, then
        those ``[links]`` adds; every kind in ``EVENT_KINDS`` has at least one topic (checked when
        the catalogue is built), so an empty answer only means the code carries no advice.
        """
        linked = self.links.get(code, ())
        finding = info(code)
        if finding is None:
            return linked
        return (finding.advice_topic, *(t for t in linked if t != finding.advice_topic))


def _validate(cat: Catalogue) -> None:
    for key in ("title", "author", "updated"):
        if not str(cat.source.get(key, "")).strip():
            raise CatalogueError(f"advice catalogue: [source] needs a non-empty {key!r}")
    seen: set[str] = set()
    for t in cat.topics:
        if not _ID_RE.fullmatch(t.id):
            raise CatalogueError(f"advice catalogue: bad topic id {t.id!r} (lowercase, digits, '_')")
        if t.id in seen:
            raise CatalogueError(f"advice catalogue: duplicate topic id {t.id!r}")
        seen.add(t.id)
        for name in ("title", "summary", "body"):
            value = getattr(t, name)
            if not isinstance(value, str) or not value.strip():
                raise CatalogueError(f"advice catalogue: topic {t.id!r} needs a non-empty {name}")
        if "\n" in t.title or "\n" in t.summary:
            raise CatalogueError(f"advice catalogue: topic {t.id!r} title and summary must be one line")
    required = (*(f.advice_topic for f in FINDINGS.values()), WARNING_TOPIC, ABOUT_TOPIC)
    missing = [tid for tid in required if tid not in seen]
    if missing:
        raise CatalogueError(f"advice catalogue: missing topics {', '.join(missing)}")
    for code in EVENT_KINDS:
        if not cat.links.get(code):
            raise CatalogueError(f"advice catalogue: no topics linked from {code!r}")
    for code, ids in cat.links.items():
        dangling = [tid for tid in ids if tid not in seen]
        if dangling:
            raise CatalogueError(f"advice catalogue: {code!r} links to unknown topics {', '.join(dangling)}")


def _normalise_body(text: str) -> str:
    """Joins the soft-wrapped lines of a TOML body into one line per paragraph or bullet."""
    out: list[str] = []
    current: str | None = None
    for raw in text.strip().splitlines():
        line = raw.strip()
        if not line:
            if current is not None:
                out.append(current)
                current = None
            if out and out[-1] != "":
                out.append("")
        elif line.startswith(_BULLET) or current is None:
            if current is not None:
                out.append(current)
            current = line
        else:
            current = f"{current} {line}"
    if current is not None:
        out.append(current)
    return "\n".join(out).strip()


def parse_catalogue(data: Mapping[str, Any]) -> Catalogue:
    """Builds a Catalogue from the parsed TOML document; raises CatalogueError when malformed."""
    if data.get("version") != CATALOGUE_VERSION:
        raise CatalogueError(f"advice catalogue: expected version = {CATALOGUE_VERSION}")
    source_raw = data.get("source")
    if not isinstance(source_raw, Mapping):
        raise CatalogueError("advice catalogue: missing [source] table")
    source = {key: " ".join(str(source_raw.get(key, "")).split()) for key in _SOURCE_KEYS}
    topics_raw = data.get("topics")
    if not isinstance(topics_raw, list) or not topics_raw:
        raise CatalogueError("advice catalogue: missing [[topics]]")
    topics = []
    for entry in topics_raw:
        if not isinstance(entry, Mapping) or set(entry) != {"id", "title", "summary", "body"}:
            raise CatalogueError(
                f"advice catalogue: a topic needs exactly id, title, summary, body: {entry!r}"
            )
        if not all(isinstance(entry[k], str) for k in entry):
            raise CatalogueError(f"advice catalogue: topic fields must be strings: {entry.get('id')!r}")
        topics.append(
            Topic(
                id=entry["id"],
                title=" ".join(entry["title"].split()),
                summary=" ".join(entry["summary"].split()),
                body=_normalise_body(entry["body"]),
            )
        )
    links_raw = data.get("links", {})
    if not isinstance(links_raw, Mapping) or not all(
        isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in links_raw.values()
    ):
        raise CatalogueError("advice catalogue: [links] maps codes to lists of topic ids")
    return Catalogue(source=source, topics=tuple(topics), links={k: tuple(v) for k, v in links_raw.items()})


@functools.lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package (read once, then cached; the result is immutable)."""
    text = (resources.files("posture") / "data" / "advice.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"advice catalogue: invalid TOML: {exc}") from exc
    return parse_catalogue(data)


def attribution(catalogue: Catalogue) -> str:
    """One line naming the source article, its author and date, for every place advice is shown."""
    s = catalogue.source
    return (
        f'Source: "{s["title"]}" by {s["author"]}, last updated {s["updated"]}. '
        "Rewritten in the posture project's own words; information, not a diagnosis."
    )
