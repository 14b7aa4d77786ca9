"""Turn an HTML page into the plain text of its main content, one paragraph per block.

The main text comes from trafilatura, which drops menus, footers, related-article lists and
comments: snippet F1 0.93 on the 121 English pages of ../shared/htmleval, against 0.80 for the
plain extractor below, which keeps them (``python bench/htmleval.py``). Its blocks (paragraph,
heading, list item, table row, and a line ended by ``<br>``) become paragraphs; blocks with no
letter or digit (``* * *``) are left out.

The plain extractor (standard library only) takes over when trafilatura cannot be imported,
finds nothing, or the page is a stub or a fragment (under 250 characters of text), where
trafilatura dumps the whole page as one block; and for a page over 5,000,000 characters, where
trafilatura's time and memory run away. trafilatura is imported only here, when a page is
converted, so tagging a ``.txt`` file never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from topictag.defaults import (
    HTML_EXTRACTOR_OPTIONS,
    HTML_MAX_MAIN_TEXT_CHARS,
    HTML_MIN_MAIN_TEXT,
)

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

#: Said of a page over HTML_MAX_MAIN_TEXT_CHARS.
TOO_LARGE_FOR_MAIN_TEXT = (
    f"HTML over {HTML_MAX_MAIN_TEXT_CHARS:,} characters, turned into text by the plain "
    "extractor, which keeps menus and footers"
)

#: Said once per run when HTML is converted without trafilatura.
NO_MAIN_TEXT_EXTRACTOR = (
    "trafilatura cannot be imported: HTML is turned into text by the plain extractor, which "
    "keeps menus and footers (python -c 'import trafilatura' says why)"
)

SKIP = frozenset(
    "script style noscript template svg iframe form button select option nav aside footer "
    "head object embed canvas".split()
)
BLOCK = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol section article main header table tr blockquote "
    "figcaption figure pre dd dt dl hr title address details summary".split()
)
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")
#: A page's start: an XML declaration (XHTML) and comments may come before its doctype or tag.
_HTML_START = re.compile(
    r"\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S
)
_BLOCK_TAG = re.compile(r"<(p|div|article|section|h[1-6]|li|br)\b", re.I)
_WORD = re.compile(r"[^\W_]")  # a letter or digit


def looks_like_html(text: str) -> bool:
    """True for a page or fragment of HTML markup (a doctype or html tag first, or block tags
    in text that starts with a tag)."""
    head = text[:4096]
    if _HTML_START.match(head):
        return True
    return head.lstrip().startswith("<") and len(_BLOCK_TAG.findall(head)) >= 2


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.skipping: list[str] = []

    def _flush(self) -> None:
        text = _SPACES.sub(" ", "".join(self.current)).strip()
        if text:
            self.blocks.append(text)
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIP and tag not in _VOID:
            self.skipping.append(tag)
        elif tag == "br" and not self.skipping:
            self.current.append(" ")
        elif tag in BLOCK and not self.skipping:
            self._flush()

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCK and not self.skipping:
            self._flush()

    def handle_endtag(self, tag):
        if self.skipping and tag == self.skipping[-1]:
            self.skipping.pop()
        elif tag in SKIP and tag in self.skipping:
            while self.skipping and self.skipping.pop() != tag:
                pass
        elif tag in BLOCK and not self.skipping:
            self._flush()

    def handle_data(self, data):
        if not self.skipping:
            self.current.append(data)


def html_to_text(markup: str) -> str:
    """The main text of ``markup``, one paragraph per block separated by blank lines.

    trafilatura's, unless it cannot be imported, finds nothing, or finds under
    ``HTML_MIN_MAIN_TEXT`` characters in a page whose whole text is that short (a fragment, a
    stub): there it falls back to dumping the page as one block, and the plain extractor's
    blocks are better. A page over ``HTML_MAX_MAIN_TEXT_CHARS`` goes to the plain extractor
    too (trafilatura's time and memory grow fast with the page).
    """
    if too_large_for_main_text(markup):
        return plain_text(markup)
    text = main_text(markup)
    if text is not None and len(text) >= HTML_MIN_MAIN_TEXT:
        return text
    plain = plain_text(markup)
    return plain if text is None or len(plain) < HTML_MIN_MAIN_TEXT else text


def too_large_for_main_text(markup: str) -> bool:
    """True for a page over ``HTML_MAX_MAIN_TEXT_CHARS`` characters."""
    return len(markup) > HTML_MAX_MAIN_TEXT_CHARS


def has_main_text_extractor() -> bool:
    """True when trafilatura can be imported (imports it)."""
    return _trafilatura() is not None


def main_text(markup: str, options: Mapping[str, bool] = HTML_EXTRACTOR_OPTIONS) -> str | None:
    """trafilatura's main text of ``markup``, its blocks separated by blank lines; ``None``
    when trafilatura cannot be imported or finds no text. ``options`` go to its ``extract``.

    Read from its XML output, not its text output: the text output keeps the line breaks of
    the page's source inside a paragraph, so its lines are not blocks.
    """
    trafilatura = _trafilatura()
    if trafilatura is None:
        return None
    from xml.etree import ElementTree

    xml = trafilatura.extract(markup, output_format="xml", **options)
    main = ElementTree.fromstring(xml).find("main") if xml else None
    blocks = _xml_blocks(main) if main is not None else []
    return "\n\n".join(blocks) or None


#: Elements of trafilatura's XML that are paragraphs of their own; a <code> inside a text
#: holder is inline code.
_XML_BLOCKS = frozenset("main div p head list item quote table row code".split())
_TEXT_HOLDERS = frozenset("p head item cell".split())


def _xml_blocks(main: Element) -> list[str]:
    """The paragraphs of trafilatura's ``<main>``: one per block element and per ``<lb/>``
    (it turns ``<br>`` and ``<br><br>`` alike into one ``<lb/>``, so a page that separates
    paragraphs by line breaks keeps them), a table row's cells joined by `` | ``, whitespace
    collapsed; blocks with no letter or digit (``* * *``) left out."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = _SPACES.sub(" ", "".join(current)).strip()
        if _WORD.search(text):
            blocks.append(text)
        current.clear()

    def walk(element: Element, parent: str, in_row: bool) -> None:
        tag = element.tag
        breaks = tag == "lb" or (
            tag in _XML_BLOCKS and not (tag == "code" and parent in _TEXT_HOLDERS)
        )
        if breaks and in_row:
            current.append(" ")
        elif breaks:
            flush()
        current.append(element.text or "")
        for i, child in enumerate(element):
            if tag == "row" and i:
                current.append(" | ")
            walk(child, tag, in_row or tag == "row")
        if breaks and not in_row:
            flush()
        current.append(element.tail or "")

    walk(main, "", False)
    flush()
    return blocks


def _trafilatura():
    """The trafilatura module, or ``None`` when it cannot be imported. Not cached: a failed
    import is tried again, and a test can make it fail."""
    try:
        import trafilatura
    except ImportError:
        return None
    return trafilatura


def plain_text(markup: str) -> str:
    """The text of ``markup`` by the standard library's parser: scripts, styles, navigation,
    forms, asides and footers dropped, one paragraph per block (p, div, heading, list item,
    table row...), entities decoded. Menus and related links inside the page body stay."""
    parser = _Extractor()
    parser.feed(markup)
    parser.close()
    parser._flush()
    return "\n\n".join(parser.blocks)
