"""Human-readable text for tag results (the CLI's default output)."""

from __future__ import annotations

from topictag.errors import counted, one_line
from topictag.inputs import shown_source
from topictag.tagger import SCORE_DIGITS, ArticleResult


def preview(text: str, width: int = 70) -> str:
    """``text`` on one line of at most ``width`` characters, for a terminal: whitespace runs
    become one space and control characters are escaped (an article's escape sequences would
    drive the terminal)."""
    flat = one_line(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def score_and_threshold(score: float, threshold: float, tagged: bool) -> tuple[str, str]:
    """``score`` and ``threshold`` as the table shows them: to 2 decimals, or as many more
    (up to 6, as the decision compares them) as it takes for the figures to read as the
    decision went; 0.998547 is not tagged at a threshold of 1, so it is not shown as 1.00.
    A threshold finer than that is shown in full."""
    score, threshold = score + 0.0, threshold + 0.0  # -0.0 is shown as 0
    for digits in range(2, SCORE_DIGITS + 1):
        if (round(score, digits) >= round(threshold, digits)) == tagged:
            return f"{score:.{digits}f}", f"{threshold:.{digits}f}"
    return f"{score:.{SCORE_DIGITS}f}", repr(threshold)


def article_table(
    result: ArticleResult, thresholds: dict[str, float], paragraphs: bool = False
) -> str:
    """The article's topics with scores; with ``paragraphs``, each paragraph's topics too,
    and under them the evidence of each topic when the result was explained (its terms are
    words of the text, so escaped as its preview is)."""
    n = len(result.paragraphs)
    lines = [f"{one_line(shown_source(str(result.source)))}  ({counted(n, 'paragraph')})"]
    width = max((len(t) for t in result.scores), default=5)
    shown = {
        topic: score_and_threshold(score, thresholds[topic], topic in result.topics)
        for topic, score in result.scores.items()
    }
    wide = max([5, *(len(s) for s, _ in shown.values())])  # the columns stay in line
    lines.append(f"  {'topic':<{width}}  {'score':>{wide}}  threshold  tagged")
    for topic, (score, cut) in shown.items():
        mark = "yes" if topic in result.topics else ""
        lines.append(f"  {topic:<{width}}  {score:>{wide}}  {cut:>9}  {mark}".rstrip())
    lines.append("  topics: " + (", ".join(result.topics) or "(none)"))
    if paragraphs:
        lines.append("")
        for p in result.paragraphs:
            tags = ", ".join(f"{t} {p.scores[t]:.2f}" for t in p.topics) or (
                "- (page furniture)" if p.furniture else "-"
            )
            lines.append(f"  [{p.index:>3}] {tags}")
            lines.append(f"        {preview(p.text)}")
            for topic, items in p.evidence.items():
                words = (
                    ", ".join(f"{preview(e['term'])} ({e['weight']:+.2f})" for e in items) or "-"
                )
                lines.append(f"        {topic}: {words}")
    return "\n".join(lines)
