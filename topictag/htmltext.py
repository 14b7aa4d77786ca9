"""Turn an HTML page into plain text paragraphs, with the standard library's HTML parser.

Scripts, styles, navigation, forms, asides and footers are dropped; block elements (p, div,
headings, list items, table rows...) become paragraphs separated by blank lines; entities are
decoded. Good enough for scraped news pages; no dependency to install.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

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
_HTML_START = re.compile(r"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_BLOCK_TAG = re.compile(r"<(p|div|article|section|h[1-6]|li|br)\b", re.I)


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
    """The readable text of ``markup``: one paragraph per block, separated by blank lines."""
    parser = _Extractor()
    parser.feed(markup)
    parser.close()
    parser._flush()
    return "\n\n".join(parser.blocks)
