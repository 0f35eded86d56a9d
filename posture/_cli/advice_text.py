"""``posture advice``: the prevention advice as plain text for the terminal, wrapped to a width."""

from __future__ import annotations

import textwrap

from posture.advice import ABOUT_TOPIC, WARNING_TOPIC, Catalogue, Topic, attribution

__all__ = ["render_list", "render_text"]


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
    for kind, text in topic.blocks():
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
