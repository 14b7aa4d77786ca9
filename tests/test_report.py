"""The HTML report: self-contained, badges with scores, evidence highlighted; seen in Chromium."""

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import SEEDS
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from topictag import load_model
from topictag.cli import app
from topictag.errors import CONTROLS, escaped
from topictag.report import _segments, highlighted, html_report, topic_colour
from topictag.tagger import ArticleResult, ParagraphResult

SEED_FILES = sorted(SEEDS.glob("*.txt"))
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


VOID = {"meta", "br", "hr", "img", "link", "input", "wbr"}


class Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.badges: list[str] = []
        self.marks: list[str] = []
        self.text: list[str] = []
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag in VOID:
            return
        kind = (
            "badge"
            if "badge" in (attrs.get("class") or "").split()
            else "mark"
            if tag == "mark"
            else ""
        )
        self._open.append(kind)
        if kind == "badge":
            self.badges.append("")
        elif kind == "mark":
            self.marks.append("")

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self._open and self._open[-1] == "badge":
            self.badges[-1] += data
        elif self._open and self._open[-1] == "mark":
            self.marks[-1] += data


def paragraph(index, text, topics, evidence):
    scores = {t: 0.9 for t in topics}
    return ParagraphResult(index, 0, len(text), text, topics, scores, evidence=evidence)


TOPICS = ["alpha", "beta", "gamma"]
TRICKY = 'Sanctions <script>alert("x")</script> & "pipelines" on gas'


def tricky_result() -> ArticleResult:
    ev = {
        "alpha": [{"term": "sanctions", "weight": 1.5, "spans": [[0, 9]]}],
        "beta": [
            {"term": "pipelines", "weight": 0.5, "spans": [[41, 50]]},
            {"term": "gas", "weight": 0.4, "spans": [[55, 58]]},
        ],
    }
    return ArticleResult(
        source="<odd> & name.txt",
        topics=["alpha", "beta"],
        scores={"alpha": 0.9, "beta": 0.9, "gamma": 0.1},
        paragraphs=[paragraph(0, TRICKY, ["alpha", "beta"], ev), paragraph(1, "Nothing.", [], {})],
    )


def test_text_is_escaped_and_highlights_cover_the_evidence():
    assert TRICKY[41:50] == "pipelines" and TRICKY[55:58] == "gas"
    html = html_report([tricky_result()], TOPICS)
    page = Page(html)
    assert "script" not in [tag for tag, _ in page.tags]
    assert TRICKY in "".join(page.text)
    assert "<odd> & name.txt" in "".join(page.text)
    assert page.marks == ["Sanctions", "pipelines", "gas"]
    assert "alpha 0.90" in page.badges and "beta 0.90" in page.badges


def test_overlapping_evidence_of_two_topics_is_one_mark_per_piece():
    text = "natural gas pipeline"
    ev = {
        "alpha": [{"term": "natural gas", "weight": 1.0, "spans": [[0, 11]]}],
        "beta": [{"term": "gas pipeline", "weight": 1.0, "spans": [[8, 20]]}],
    }
    result = ArticleResult("x", ["alpha", "beta"], {}, [paragraph(0, text, ["alpha", "beta"], ev)])
    page = Page(html_report([result], TOPICS))
    assert page.marks == ["natural ", "gas", " pipeline"]
    both = [a for tag, a in page.tags if tag == "mark" and "|" in a.get("data-topics", "")]
    assert both and both[0]["data-topics"] == "alpha|beta"


def test_page_is_self_contained():
    html = html_report([tricky_result()], TOPICS)
    page = Page(html)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    for _, attrs in page.tags:
        assert not {"src", "href"} & set(attrs)
    assert "http://" not in html and "https://" not in html and "@import" not in html
    assert "default-src 'none'" in html


def test_colours_follow_the_topic_index_not_the_name():
    assert topic_colour(0) != topic_colour(1) != topic_colour(2)
    renamed = ArticleResult("x", ["one"], {"one": 0.9}, [paragraph(0, "a", ["one"], {})])
    original = ArticleResult("x", ["alpha"], {"alpha": 0.9}, [paragraph(0, "a", ["alpha"], {})])
    colour = topic_colour(0)
    assert colour in html_report([renamed], ["one", "two"])
    assert colour in html_report([original], TOPICS)


@pytest.fixture
def report(use_model, tmp_path) -> Path:
    result = CliRunner().invoke(
        app, ["tag", str(SEED_FILES[2]), str(SEED_FILES[3]), "--format", "html"]
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "report.html"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def test_cli_html_is_one_page_with_a_section_per_article(report):
    html = report.read_text(encoding="utf-8")
    assert html.count("<!DOCTYPE html>") == 1 and html.count("</html>") == 1
    page = Page(html)
    sections = [a for tag, a in page.tags if tag == "section"]
    assert len(sections) == 2
    assert str(SEED_FILES[2]) in "".join(page.text)
    assert page.marks and len(page.badges) > len(load_model().topics)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_chromium_renders_badges_and_highlights(report, tmp_path):
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = report.resolve().as_uri()
    dom = subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=60, check=True
    )
    rendered = Page(dom.stdout)
    expected = Page(report.read_text(encoding="utf-8"))
    assert rendered.badges == expected.badges and rendered.badges
    assert rendered.marks == expected.marks and rendered.marks
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, "--window-size=1200,1600", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


NOTES = st.sampled_from([(0, "gas", "gas: gas +1.00"), (1, "oil", "oil: oil +0.50"), (3, "x", "x")])
MARKS = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), NOTES), max_size=12).map(
    lambda marks: [(min(a, b), max(a, b), n) for a, b, n in marks]
)


@given(st.integers(0, 40), MARKS)
def test_highlight_segments_follow_their_definition(length, marks):
    """Each piece of [0, length) carries the notes of exactly the marks covering it, pieces
    tile the text, and neighbours differ (the sweep gives what the definition says)."""
    pieces = _segments(length, marks)
    assert [a for a, _, _ in pieces[1:]] == [b for _, b, _ in pieces[:-1]]
    if length:
        assert pieces[0][0] == 0 and pieces[-1][1] == length
    for (_, _, before), (_, _, after) in zip(pieces, pieces[1:]):
        assert before != after
    for start, end, notes in pieces:
        for position in range(start, min(end, length)):
            assert notes == sorted({n for s, e, n in marks if s <= position < e})


def test_a_paragraph_of_one_word_repeated_is_highlighted_mark_by_mark():
    """Thousands of marks (one per repetition): each becomes its own highlighted word."""
    words = 5000
    text = "gas " * words
    note = (0, "gas", "gas: gas +1.00")
    marks = [(4 * i, 4 * i + 3, note) for i in range(words)]
    pieces = _segments(len(text), marks)
    assert len(pieces) == 2 * words
    assert [n for _, _, n in pieces[:2]] == [[note], []]


SHOWN_ESCAPED = CONTROLS - {"\n", "\t"}


class AllText(HTMLParser):
    """Every piece of text of a fragment, in order, whatever element holds it."""

    def __init__(self, html: str):
        super().__init__()
        self.text = ""
        self.feed(html)

    def handle_data(self, data):
        self.text += data


@given(
    st.text(),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=6),
)
def test_highlighted_text_shows_every_control_character_escaped_at_its_place(text, spans):
    """Escaped piece by piece after the cut at the highlights, so no offset moves: the page
    reads as the text with each control character (but line break and tab) as its escape."""
    spans = [[min(a, b), min(max(a, b), len(text))] for a, b in spans]
    evidence = {"alpha": [{"term": "x", "weight": 1.0, "spans": spans}]} if spans else {}
    html = highlighted(paragraph(0, text, ["alpha"], evidence), {"alpha": 0})
    assert not SHOWN_ESCAPED.intersection(html)
    assert AllText(html).text == "".join(escaped(c) if c in SHOWN_ESCAPED else c for c in text)


def test_control_characters_of_a_text_and_its_name_are_shown_as_their_escapes():
    """html.escape left them raw: ESC [8m, an OSC title, C1 CSI and a bidi override went to
    the browser (which hides or obeys them) and to a terminal the page was printed on."""
    text = "Oil\x1b[8mpipeline exports \u202eevil \x9b2J rose\n\tsecond line"
    rose = text.index("rose")
    ev = {
        "alpha": [{"term": "oil\x1b[8mpipeline", "weight": 1.0, "spans": [[0, 15]]}],
        "beta": [{"term": "rose", "weight": 0.5, "spans": [[rose, rose + 4]]}],
    }
    result = ArticleResult(
        source="a\x1b]0;pwned\x07.txt",
        topics=["alpha", "beta"],
        scores={"alpha": 0.9, "beta": 0.9, "gamma": 0.1},
        paragraphs=[paragraph(0, text, ["alpha", "beta"], ev)],
        warnings=["odd \x85 warning"],
    )
    html = html_report([result], TOPICS)
    assert not SHOWN_ESCAPED.intersection(html)
    ctl = '<span class="ctl">{}</span>'.format
    assert f"<h2>a{ctl(chr(92) + 'x1b')}]0;pwned{ctl(chr(92) + 'x07')}.txt</h2>" in html
    assert f">Oil{ctl(chr(92) + 'x1b')}[8mpipeline</mark>" in html
    assert 'title="alpha: oil\\x1b[8mpipeline +1.00"' in html
    assert ">rose</mark>\n\tsecond line" in html
    shown = "".join(Page(html).text)
    assert "exports \\u202eevil \\x9b2J rose" in shown and "odd \\x85 warning" in shown
