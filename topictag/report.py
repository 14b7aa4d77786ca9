"""A self-contained HTML page of tag results: topics as coloured badges, evidence highlighted.

Pure string building with :func:`html.escape`; inline CSS only, no script, font or image, and a
Content-Security-Policy that forbids loading anything, so the page opens offline exactly as
written. A topic's colour comes from its position in the model's topic list, never its name.
Control characters of the text are shown as their escapes (:func:`html_text`), as on the
terminal, so the page holds none either.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from html import escape

from topictag.errors import CONTROLS, escaped, one_line
from topictag.tagger import ArticleResult, ParagraphResult

_CSS = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
  padding: 0 1rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; word-break: break-all; }
.article { border-top: 2px solid #ccc; margin-top: 2rem; padding-top: 1rem; }
.legend, .article-topics { margin: .5rem 0 1rem; }
.badge { display: inline-block; border-radius: .8rem; padding: 0 .6rem; margin: 0 .3rem .2rem 0;
  font-size: .85rem; color: #fff; white-space: nowrap; }
.badge.off { opacity: .45; }
.paragraph { display: grid; grid-template-columns: 3rem 1fr; gap: .2rem .8rem;
  margin: .8rem 0; }
.paragraph .index { color: #777; font-size: .8rem; text-align: right; }
.paragraph .text { white-space: pre-wrap; margin: 0; }
.paragraph.none .text { color: #666; }
.paragraph .badges { grid-column: 2; }
mark { border-radius: .2rem; padding: 0; color: inherit; }
.muted { color: #666; font-size: .85rem; }
.ctl { font: .85em monospace; color: #a3161b; background: #fbe3e4; border-radius: .2rem; }
"""

#: The control characters a page shows as their escapes: all of them but the line breaks
#: and tabs a paragraph keeps (shown as they are: ``white-space: pre-wrap``).
_SHOWN_ESCAPED = re.compile(
    "[" + "".join(re.escape(c) for c in sorted(CONTROLS - {"\n", "\t"})) + "]"
)


def _control(match: re.Match) -> str:
    return f'<span class="ctl">{escaped(match.group())}</span>'


def html_text(text: str) -> str:
    """``text`` as HTML content: escaped, and each control character shown as its escape
    (``\\x1b``, ``\\u202e``) in a ``ctl`` span. A browser hides them or obeys them (an override
    turns the rest of a paragraph around), and the page, printed to a terminal, would drive it.
    One character becomes one span, so a piece cut at any offsets (highlights) is escaped alone."""
    return _SHOWN_ESCAPED.sub(_control, escape(text))


def html_plain(text: str) -> str:
    """``text`` where no markup goes (an attribute's value, the page's title): one line with
    its control characters escaped, as on the terminal."""
    return escape(one_line(text))


def topic_colour(index: int, light: bool = False) -> str:
    """A distinct colour for the topic at ``index`` of the model's list (golden-angle hues)."""
    hue = round((index * 137.508) % 360)
    return f"hsl({hue}, 70%, 88%)" if light else f"hsl({hue}, 55%, 38%)"


def _badge(topic: str, index: int, score: float | None = None, on: bool = True) -> str:
    label = html_text(topic) + (f" {score:.2f}" if score is not None else "")
    cls = "badge" if on else "badge off"
    return (
        f'<span class="{cls}" data-topic="{html_plain(topic)}" '
        f'style="background: {topic_colour(index)}">{label}</span>'
    )


Mark = tuple[int, int, tuple[int, str, str]]


def _segments(length: int, marks: list[Mark]) -> list[tuple[int, int, list[tuple[int, str, str]]]]:
    """Cut [0, length) where any mark starts or ends: (start, end, notes of the marks covering
    the piece, sorted); neighbouring pieces with the same notes are joined.

    One sweep over the cuts, keeping the notes of the marks open at each: a paragraph of one
    word repeated thousands of times has thousands of marks and cuts."""
    opening: dict[int, list] = defaultdict(list)
    closing: dict[int, list] = defaultdict(list)
    for start, end, note in marks:
        if start < end:
            opening[start].append(note)
            closing[end].append(note)
    cuts = sorted({0, length, *opening, *closing})
    open_notes: Counter = Counter()
    out: list[tuple[int, int, list[tuple[int, str, str]]]] = []
    for start, end in zip(cuts, cuts[1:]):
        if start >= length:
            break
        open_notes.subtract(closing.get(start, ()))
        open_notes.update(opening.get(start, ()))
        notes = sorted(note for note, count in open_notes.items() if count > 0)
        if out and out[-1][2] == notes:
            out[-1] = (out[-1][0], end, notes)
        else:
            out.append((start, end, notes))
    return out


def highlighted(paragraph: ParagraphResult, order: dict[str, int]) -> str:
    """The paragraph's text, escaped (:func:`html_text`, piece by piece, so the offsets stay
    those of the text), with each evidence span in a ``<mark>`` coloured by its topic (the
    first in model order when several topics share a word); the mark's title gives each
    topic's term and weight."""
    text = paragraph.text
    marks: list[Mark] = []
    for topic, items in paragraph.evidence.items():
        for item in items:
            note = (order.get(topic, 0), topic, f"{topic}: {item['term']} {item['weight']:+.2f}")
            marks += [(start, end, note) for start, end in item["spans"]]
    parts = []
    for start, end, notes in _segments(len(text), marks):
        chunk = html_text(text[start:end])
        if not notes:
            parts.append(chunk)
            continue
        topics = list(dict.fromkeys(topic for _, topic, _ in notes))
        title = "; ".join(label for _, _, label in notes)
        parts.append(
            f'<mark data-topics="{html_plain("|".join(topics))}" '
            f'title="{html_plain(title)}" '
            f'style="background: {topic_colour(notes[0][0], light=True)}">{chunk}</mark>'
        )
    return "".join(parts)


def _article(result: ArticleResult, order: dict[str, int], number: int) -> str:
    topics = "".join(
        _badge(t, order.get(t, 0), result.scores.get(t), t in result.topics)
        for t in sorted(result.scores, key=lambda t: order.get(t, 0))
    )
    out = [
        f'<section class="article" id="article-{number}">',
        f"<h2>{html_text(str(result.source))}</h2>",
        f'<div class="article-topics">{topics}</div>',
        f'<p class="muted">{len(result.paragraphs)} paragraphs; tagged: '
        f"{html_text(', '.join(result.topics) or 'none')}</p>",
    ]
    for warning in result.warnings:
        out.append(f'<p class="muted">warning: {html_text(warning)}</p>')
    for p in result.paragraphs:
        badges = "".join(_badge(t, order.get(t, 0), p.scores.get(t)) for t in p.topics)
        if p.furniture:
            badges = '<span class="muted">page furniture: not tagged</span>'
        cls = "paragraph" if p.topics else "paragraph none"
        out.append(
            f'<div class="{cls}" id="article-{number}-p{p.index}">'
            f'<span class="index">{p.index}</span><p class="text">{highlighted(p, order)}</p>'
            f'<div class="badges">{badges}</div></div>'
        )
    out.append("</section>")
    return "\n".join(out)


def html_report(
    results: Sequence[ArticleResult], topics: Sequence[str], title: str = "topictag report"
) -> str:
    """One HTML document for all ``results``: a section per article. ``topics`` is the model's
    topic list, which fixes each topic's colour."""
    order = {t: i for i, t in enumerate(topics)}
    legend = "".join(_badge(t, i) for i, t in enumerate(topics))
    body = "\n".join(_article(r, order, n) for n, r in enumerate(results))
    return page(
        title,
        _CSS,
        f"<h1>{html_text(title)}</h1>\n"
        f'<div class="legend"><span class="muted">Topics of the model: </span>{legend}</div>\n'
        '<p class="muted">Badges: a paragraph\'s topics with their scores. Highlighted: the '
        "words that pushed each topic up most (hover for their weights).</p>\n"
        f"{body}",
    )


def page(title: str, css: str, body: str) -> str:
    """A self-contained HTML document: inline CSS, and a content security policy that lets the
    browser load nothing (no script, font, image or network request)."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html_plain(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
