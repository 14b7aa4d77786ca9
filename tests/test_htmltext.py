"""HTML to text: blocks become paragraphs, page furniture and scripts disappear."""

from topictag.htmltext import html_to_text, looks_like_html

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
