"""The prevention advice as one self-contained HTML page (``posture advice --html FILE``)."""

from __future__ import annotations

import html

from posture.advice import ABOUT_TOPIC, WARNING_TOPIC, Catalogue, Topic

__all__ = ["render_html"]

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


def _html_body(topic: Topic) -> list[str]:
    out: list[str] = []
    in_list = False
    for kind, text in topic.blocks():
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
            *_html_body(t),
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
