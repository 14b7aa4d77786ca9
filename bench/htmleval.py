"""Score HTML-to-text extraction on the evaluation pages of ../shared/htmleval: snippet
precision, recall and F1, and the median milliseconds per page.

    python bench/htmleval.py          # topictag, its plain fallback, trafilatura.extract defaults
    python bench/htmleval.py --all    # and every trafilatura setting tried, and jusText
    python bench/htmleval.py --data DIR

Scoring as in the set's README: a ``with`` snippet found in the text is a true positive, one
missed a false negative; a ``without`` snippet found is a false positive. Pages are read as
``topictag tag page.html`` reads them; only the conversion is timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from topictag.defaults import HTML_EXTRACTOR_OPTIONS  # noqa: E402
from topictag.htmltext import html_to_text, main_text, plain_text  # noqa: E402
from topictag.inputs import decode  # noqa: E402

DATA = ROOT.parent / "shared" / "htmleval"

Page = tuple[str, list[str], list[str]]  # markup, with, without


def load_pages(data: Path) -> list[Page]:
    """Every page of the set with its snippets, in the order of ``evaldata.json``."""
    entries = json.loads((data / "evaldata.json").read_text(encoding="utf-8"))
    pages = []
    for entry in entries.values():
        path = data / "pages" / entry["file"]
        markup, _ = decode(path.read_bytes(), str(path))
        pages.append((markup, entry["with"], entry["without"]))
    return pages


def score(convert: Callable[[str], str | None], pages: list[Page]) -> dict[str, float]:
    """Snippet precision, recall, F1 and median ms per page of ``convert`` over ``pages``."""
    hits = misses = false_hits = 0
    times = []
    for markup, wanted, unwanted in pages:
        start = time.perf_counter()
        text = convert(markup) or ""
        times.append(time.perf_counter() - start)
        found = sum(snippet in text for snippet in wanted)
        hits += found
        misses += len(wanted) - found
        false_hits += sum(snippet in text for snippet in unwanted)
    precision = hits / (hits + false_hits) if hits + false_hits else 0.0
    recall = hits / (hits + misses) if hits + misses else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ms = 1000 * statistics.median(times)
    return {"precision": precision, "recall": recall, "f1": f1, "ms": ms}


def trafilatura_blocks(**changes: bool) -> Callable[[str], str | None]:
    """topictag's block text from trafilatura with ``changes`` to its settings."""
    options = {**HTML_EXTRACTOR_OPTIONS, **changes}
    return lambda markup: main_text(markup, options)


def trafilatura_defaults(markup: str) -> str | None:
    import trafilatura

    return trafilatura.extract(markup)


def trafilatura_lines(markup: str) -> str:
    """trafilatura's text output (topictag's settings), a paragraph per line: the line
    breaks of the page's source inside a paragraph split it too."""
    import trafilatura

    text = trafilatura.extract(markup, output_format="txt", **HTML_EXTRACTOR_OPTIONS) or ""
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


def justext_paragraphs(markup: str) -> str:
    import justext

    paragraphs = justext.justext(markup, justext.get_stoplist("English"))
    return "\n\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def extractors(every: bool) -> dict[str, Callable[[str], str | None]]:
    chosen = {
        "topictag html_to_text": html_to_text,
        "plain extractor (fallback)": plain_text,
        "trafilatura.extract, its defaults": trafilatura_defaults,
    }
    if not every:
        return chosen
    return {
        **chosen,
        "text output, a paragraph per line": trafilatura_lines,
        "blocks, with comments": trafilatura_blocks(include_comments=True),
        "blocks, favor_precision": trafilatura_blocks(favor_precision=True),
        "blocks, favor_recall": trafilatura_blocks(favor_recall=True),
        "blocks, no tables": trafilatura_blocks(include_tables=False),
        "blocks, deduplicate": trafilatura_blocks(deduplicate=True),
        "jusText (English stoplist)": justext_paragraphs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the htmleval directory")
    parser.add_argument("--all", action="store_true", help="every setting tried, and jusText")
    args = parser.parse_args(argv)
    pages = load_pages(args.data)
    snippets = sum(len(w) + len(wo) for _, w, wo in pages)
    print(f"{len(pages)} pages, {snippets} snippets ({args.data})")
    print(f"{'extractor':36} {'precision':>9} {'recall':>7} {'F1':>6} {'ms/page':>8}")
    for name, convert in extractors(args.all).items():
        s = score(convert, pages)
        print(
            f"{name:36} {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f} {s['ms']:8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
