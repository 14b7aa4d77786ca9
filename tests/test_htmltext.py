"""HTML to text: the main text by trafilatura, one paragraph per block; the plain extractor
for fragments and when trafilatura cannot be imported."""

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import topictag.htmltext as htmltext
from topictag.htmltext import (
    has_main_text_extractor,
    html_to_text,
    looks_like_html,
    main_text,
    plain_text,
)
from topictag.paragraphs import split_paragraphs

#: Pages written for these tests, with the snippets their main text must and must not contain.
HTML_DATA = Path(__file__).parent / "data" / "html"
SNIPPETS = json.loads((HTML_DATA / "snippets.json").read_text(encoding="utf-8"))
PAGES = sorted(HTML_DATA.glob("*.html"))

#: The open benchmark beside the repository (as in CI), and a few of its real pages: a comment
#: policy, related stories, a newsletter box and a blog's sidebar to drop.
HTMLEVAL = Path(__file__).resolve().parents[2] / "shared" / "htmleval"
HTMLEVAL_PAGES = [
    "jamaicaobserver.com-attacks.html",
    "japantimes.co.jp.surgical.html",
    "kaieteurnewsonline.com-essequibo.html",
    "pythonspeed.com.docker.html",
]

PAGE = """<!DOCTYPE html>
<html><head><title>Ignored</title><style>p {color: red}</style></head>
<body>
<nav><a href="/">Home</a> | <a href="/energy">Energy</a></nav>
<article>
  <h1>Kazakh oil via BTC</h1>
  <p>Crude   shipped&nbsp;across the <b>Caspian</b>.</p>
  <div>Second<br>block</div>
  <script>alert("gas")</script>
  <ul><li>one</li><li>two</li></ul>
</article>
<aside>Related: sanctions</aside>
<footer>&copy; 2025</footer>
</body></html>"""


def test_blocks_become_paragraphs_and_furniture_is_dropped():
    assert html_to_text(PAGE).split("\n\n") == [
        "Kazakh oil via BTC",
        "Crude shipped across the Caspian.",
        "Second block",
        "one",
        "two",
    ]


def test_detection():
    assert looks_like_html(PAGE)
    assert looks_like_html("<div><p>Fragment</p><p>Two</p></div>")
    assert not looks_like_html("Oil prices < 60 dollars; gas > 300.")
    assert not looks_like_html("Plain text with one <b>bold</b> word.")


def test_unclosed_and_broken_markup_does_not_raise():
    assert html_to_text("<p>Open <b>bold <i>italic</p><div>after") == "Open bold italic\n\nafter"
    assert html_to_text("") == ""


def _check_main_text(markup: str, snippets: dict) -> None:
    text = html_to_text(markup)
    assert [s for s in snippets["with"] if s not in text] == []
    assert [s for s in snippets["without"] if s in text] == []
    # the plain extractor keeps some of that boilerplate: the reason for trafilatura
    assert any(s in plain_text(markup) for s in snippets["without"])


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_the_main_text_keeps_the_article_and_drops_menus_comments_and_related_links(path):
    _check_main_text(path.read_text(encoding="utf-8"), SNIPPETS[path.name])


@pytest.mark.parametrize("name", HTMLEVAL_PAGES)
def test_the_same_holds_on_real_pages_of_the_open_benchmark(name):
    if not (HTMLEVAL / "evaldata.json").is_file():
        pytest.skip(f"{HTMLEVAL} is not beside the repository")
    evaldata = json.loads((HTMLEVAL / "evaldata.json").read_text(encoding="utf-8"))
    (snippets,) = [entry for entry in evaldata.values() if entry["file"] == name]
    _check_main_text((HTMLEVAL / "pages" / name).read_text(encoding="utf-8"), snippets)


ARTICLE = """<!DOCTYPE html>
<html><head><title>Kazakh oil reaches Ceyhan | Energy News</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/oil">Oil</a></li></ul></nav>
<article>
<h1>Kazakh oil reaches Ceyhan</h1>
<p>Kazakh crude shipped across the Caspian Sea reached the Turkish port of Ceyhan
through the Baku-Tbilisi-Ceyhan pipeline on Monday, the operator said.</p>
<p>Volumes are expected to grow next year as Astana looks for routes that avoid
Russian territory, officials in <b>Baku</b> and <a href="/astana">Astana</a> said.</p>
<p>The first tanker loaded 85,000 tonnes.<br>A second one is due next week.</p>
<ul><li>Route: Aktau to Baku by tanker</li><li>Then by pipeline to Ceyhan</li></ul>
<table><tr><td>2024</td><td>1.5 million tonnes</td></tr>
<tr><td>2025</td><td>2.2 million tonnes</td></tr></table>
<p>* * *</p>
<p>Analysts said the route remains costly compared with the CPC pipeline through Russia.</p>
</article>
<footer><p>&copy; 2025 Energy News. All rights reserved.</p></footer>
</body></html>"""


def test_paragraphs_are_the_extractors_blocks():
    """A paragraph whose source is broken over lines stays one; a line break, a list item and
    a table row are each a paragraph; a block without letters or digits is left out."""
    assert [p.text for p in split_paragraphs(html_to_text(ARTICLE))] == [
        "Kazakh oil reaches Ceyhan",
        "Kazakh crude shipped across the Caspian Sea reached the Turkish port of Ceyhan through "
        "the Baku-Tbilisi-Ceyhan pipeline on Monday, the operator said.",
        "Volumes are expected to grow next year as Astana looks for routes that avoid Russian "
        "territory, officials in Baku and Astana said.",
        "The first tanker loaded 85,000 tonnes.",
        "A second one is due next week.",
        "Route: Aktau to Baku by tanker",
        "Then by pipeline to Ceyhan",
        "2024 | 1.5 million tonnes",
        "2025 | 2.2 million tonnes",
        "Analysts said the route remains costly compared with the CPC pipeline through Russia.",
    ]


@pytest.mark.parametrize(
    "fragment, text",
    [
        # trafilatura finds nothing here
        ("<ul><li>Gas exports</li><li>Oil</li></ul>", "Gas exports\n\nOil"),
        # and here dumps the whole page, menu included, as one block
        (
            "<html><body><nav>Home | Oil</nav><p>Gas &amp; oil.</p><p>Next.</p></body></html>",
            "Gas & oil.\n\nNext.",
        ),
    ],
)
def test_a_fragment_or_a_stub_page_gets_the_plain_extractors_blocks(fragment, text):
    assert html_to_text(fragment) == text


def test_without_trafilatura_the_plain_extractor_converts_pages(monkeypatch):
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # import trafilatura: ImportError
    assert not has_main_text_extractor()
    assert main_text(ARTICLE) is None
    assert html_to_text(ARTICLE) == plain_text(ARTICLE)


def test_a_page_too_large_for_trafilatura_gets_the_plain_extractor(monkeypatch):
    monkeypatch.setattr(htmltext, "HTML_MAX_MAIN_TEXT_CHARS", len(ARTICLE) - 1)
    assert htmltext.too_large_for_main_text(ARTICLE)
    assert html_to_text(ARTICLE) == plain_text(ARTICLE)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(["<p>", "</p>", "<br>", "<td>", "<li>", "&amp;", "<b>"]) | st.text())
)
def test_any_markup_gives_blank_line_separated_paragraphs(parts):
    text = html_to_text("".join(parts))
    assert text == "" or all(block and block == block.strip() for block in text.split("\n\n"))


def test_an_xhtml_page_with_an_xml_declaration_is_html():
    """On stdin or in a .txt file nothing else says it is a page: its start must."""
    page = (
        '<?xml version="1.0" encoding="utf-8"?>\n<!-- saved -->\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Sanctions.</p></body></html>'
    )
    assert looks_like_html(page)
    assert not looks_like_html('<?xml version="1.0"?><rss><channel></channel></rss>')
