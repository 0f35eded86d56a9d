"""The prevention-advice catalogue: topics, which findings and events link to them, and renderers.

The advice lives in ``posture/data/advice.toml`` (package data) so that it can be reviewed and
corrected without touching code. It is written in the project's own words from the source article
named in its ``[source]`` table, which every renderer attributes. This module is pure: it reads that
file once, validates it, and renders it as plain text or as one self-contained HTML page.
"""

from __future__ import annotations

import functools
import html
import re
import sys
import textwrap
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
    "render_html",
    "render_list",
    "render_text",
]

# Event kinds (besides finding codes) that link to advice.
EVENT_KINDS: tuple[str, ...] = ("sitting_bout",)
# Topics every catalogue must have: the renderers always point to the first and lead with the second.
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


def _blocks(body: str) -> list[tuple[str, str]]:
    """A normalised body as ("p" | "li" | "gap", text) blocks, for the renderers."""
    blocks: list[tuple[str, str]] = []
    for line in body.splitlines():
        if not line.strip():
            blocks.append(("gap", ""))
        elif line.startswith(_BULLET):
            blocks.append(("li", line[len(_BULLET) :].strip()))
        else:
            blocks.append(("p", line.strip()))
    return blocks


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


def _warning_pointer() -> str:
    return f"Warning signs that need a doctor: run 'posture advice {WARNING_TOPIC}'."


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    # break_long_words=False keeps commands and ids such as "warning_signs" whole.
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _topic_lines(catalogue: Catalogue, topic: Topic, width: int) -> list[str]:
    heading = _wrap(f"{topic.title} [{topic.id}]", width)
    lines = [*heading, "=" * min(width, max(len(line) for line in heading))]
    lines += _wrap(topic.summary, width)
    lines.append("")
    for kind, text in _blocks(topic.body):
        if kind == "gap":
            lines.append("")
        elif kind == "li":
            lines += _wrap(text, width, "  - ", "    ")
        else:
            lines += _wrap(text, width)
    related = [tid for tid in catalogue.topics_for(topic.id) if tid != topic.id]
    if related:
        lines.append("")
        lines += _wrap(f"See also: {', '.join(related)}.", width)
    return lines


def render_text(catalogue: Catalogue, topic_id: str | None = None, width: int = 80) -> str:
    """All topics, or one, as plain text wrapped to ``width``, ending with the attribution line.

    A single topic also points to the warning signs (unless it is that topic); the full listing
    includes the warning signs in full. Raises UnknownTopicError for an unknown ``topic_id``.
    """
    if width < 20:
        raise ValueError(f"width must be at least 20 columns, got {width}")
    lines: list[str] = []
    if topic_id is None:
        lines += ["Posture: prevention advice", ""]
        lines += _wrap(catalogue.topic(ABOUT_TOPIC).summary, width)
        lines += _wrap(_warning_pointer(), width)
        for topic in catalogue.topics:
            lines += ["", "", *_topic_lines(catalogue, topic, width)]
        lines.append("")
    else:
        topic = catalogue.topic(topic_id)
        lines += [*_topic_lines(catalogue, topic, width), ""]
        if topic.id != WARNING_TOPIC:
            lines += [*_wrap(_warning_pointer(), width), ""]
    lines += _wrap(attribution(catalogue), width)
    return "\n".join(lines) + "\n"


def render_list(catalogue: Catalogue) -> str:
    """One line per topic (id, title, summary), then the attribution line."""
    pad = max(len(t.id) for t in catalogue.topics)
    lines = [f"{t.id:<{pad}}  {t.title}: {t.summary}" for t in catalogue.topics]
    lines += ["", attribution(catalogue)]
    return "\n".join(lines) + "\n"


_CSS = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       background: #fff; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; }
h2 { font-size: 1.2rem; margin: 0 0 .25rem; }
nav ul { columns: 2; padding-left: 1.2rem; }
section { border-top: 1px solid #d0d7de; padding: 1rem 0; }
section:target { background: #fff8c5; }
.summary { font-weight: 600; }
.id { color: #57606a; font: .85rem ui-monospace, monospace; }
.disclaimer, .warning { border-left: 4px solid #bf8700; background: #fff8e5; padding: .5rem .8rem; }
.warning { border-color: #cf222e; background: #ffebe9; }
#warning_signs { border-top: 3px solid #cf222e; }
footer { border-top: 1px solid #d0d7de; margin-top: 1rem; padding-top: .5rem; color: #57606a;
         font-size: .9rem; }
@media (prefers-color-scheme: dark) {
  body { background: #0d1117; color: #e6edf3; }
  a { color: #58a6ff; }
  .disclaimer { background: #2d2305; } .warning { background: #3c1618; }
  section:target { background: #2d2305; }
}
""".strip()


def _html_body(body: str) -> list[str]:
    out: list[str] = []
    in_list = False
    for kind, text in _blocks(body):
        if kind == "li" and not in_list:
            out.append("<ul>")
            in_list = True
        elif kind != "li" and in_list:
            out.append("</ul>")
            in_list = False
        if kind == "li":
            out.append(f"<li>{html.escape(text)}</li>")
        elif kind == "p":
            out.append(f"<p>{html.escape(text)}</p>")
    if in_list:
        out.append("</ul>")
    return out


def render_html(catalogue: Catalogue) -> str:
    """One self-contained page (inline CSS, no scripts, no network), one ``<section id>`` per topic.

    Reports and notifications link to a topic as ``#<id>``. Every piece of text is HTML-escaped.
    """
    esc = html.escape
    s = catalogue.source
    about = catalogue.topic(ABOUT_TOPIC)
    warning = catalogue.topic(WARNING_TOPIC)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Posture: prevention advice</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>Posture: prevention advice</h1>",
        f'<p class="disclaimer">{esc(about.summary)}</p>',
        f'<p class="warning">{esc(warning.summary)} '
        f'<a href="#{esc(WARNING_TOPIC)}">{esc(warning.title)}</a></p>',
        "<nav><ul>",
        *(f'<li><a href="#{esc(t.id)}">{esc(t.title)}</a></li>' for t in catalogue.topics),
        "</ul></nav>",
        "</header>",
        "<main>",
    ]
    for t in catalogue.topics:
        parts += [
            f'<section id="{esc(t.id)}">',
            f'<h2>{esc(t.title)} <a class="id" href="#{esc(t.id)}">#{esc(t.id)}</a></h2>',
            f'<p class="summary">{esc(t.summary)}</p>',
            *_html_body(t.body),
        ]
        related = [tid for tid in catalogue.topics_for(t.id) if tid != t.id]
        if related:
            links = ", ".join(
                f'<a href="#{esc(tid)}">{esc(catalogue.topic(tid).title)}</a>' for tid in related
            )
            parts.append(f"<p>See also: {links}.</p>")
        parts.append("</section>")
    parts += [
        "</main>",
        "<footer>",
        f"<p>Source: &ldquo;{esc(s['title'])}&rdquo; by {esc(s['author'])}, last updated {esc(s['updated'])}."
        f" {esc(s['note'])}</p>",
        f"<p>{esc(about.summary)}</p>",
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
