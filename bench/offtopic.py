"""Topics the model gives on real web pages that are mostly about something else: the 121
English pages of ../shared/htmleval (recipes, gardening, rail notices, software how-tos,
politics, courts, science), tagged as ``topictag tag page.html`` tags them.

    python bench/offtopic.py               # the shipped model
    python bench/offtopic.py --model DIR --data DIR --list

Prints how many pages and paragraphs get each topic and how many of the tagged paragraphs a
person judged right by ``labels/GUIDELINES.md`` (``bench/offtopic_judged.json``: the page,
a hash of the paragraph's text, its labels; the pages' text is not copied here). Paragraphs
tagged but not yet judged are counted apart and shown with ``--list``, to be judged and added.
The pages were never labelled in full, so this measures false alarms, not missed topics; and
the seventh authored round was written after reading the false alarms of the model before
it (see ``labels/AUTHORED.md``), so a figure after that round is not an unseen one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from topictag import load_model  # noqa: E402
from topictag.inputs import read_file  # noqa: E402

DATA = ROOT.parent / "shared" / "htmleval"
JUDGED = Path(__file__).resolve().parent / "offtopic_judged.json"


def paragraph_key(page: str, text: str) -> tuple[str, str]:
    """How a judgment names a paragraph: its page's file name and a hash of its text."""
    return page, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_judged(path: Path) -> dict[tuple[str, str], list[str]]:
    """(page, hash) -> the labels a person gave the paragraph."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    return {(row["page"], row["sha256"]): row["labels"] for row in rows}


def tagged_paragraphs(model: str | None, data: Path) -> tuple[int, int, list[tuple]]:
    """(pages, paragraphs, [(page, text, topics) of every paragraph given a topic])."""
    tagger = load_model(model)
    pages = sorted((data / "pages").glob("*.html"))
    n_paragraphs = 0
    tagged = []
    for path in pages:
        result = tagger.tag(read_file(path).text, path.name)
        n_paragraphs += len(result.paragraphs)
        tagged += [(path.name, p.text, p.topics) for p in result.paragraphs if p.topics]
    return len(pages), n_paragraphs, tagged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model directory (default: the shipped one)")
    parser.add_argument("--data", type=Path, default=DATA, help="the htmleval directory")
    parser.add_argument("--list", action="store_true", help="show every tagged paragraph")
    args = parser.parse_args(argv)
    if not (args.data / "pages").is_dir():
        print(f"error: {args.data}: no pages/ directory (../shared/htmleval)", file=sys.stderr)
        return 1
    judged = load_judged(JUDGED)
    n_pages, n_paragraphs, tagged = tagged_paragraphs(args.model, args.data)
    right = wrong = unjudged = 0
    per_topic: Counter = Counter()
    wrong_per_topic: Counter = Counter()
    wrong_pages: set[str] = set()
    for page, text, topics in tagged:
        gold = judged.get(paragraph_key(page, text))
        per_topic.update(topics)
        mark = "?"
        if gold is None:
            unjudged += 1
        else:
            false = [t for t in topics if t not in gold]
            wrong_per_topic.update(false)
            right += not false
            wrong += bool(false)
            mark = "ok" if not false else "WRONG " + ", ".join(false)
            if false:
                wrong_pages.add(page)
        if args.list:
            print(f"{mark:<30} {page[:40]:<40} {', '.join(topics):<30} {text[:100]!r}")
    print(f"{n_pages} pages, {n_paragraphs} paragraphs; {len(tagged)} paragraphs given a topic")
    print(
        f"judged: {right} right, {wrong} with a false topic ({len(wrong_pages)} pages);"
        f" {unjudged} not yet judged"
    )
    print(f"{'topic':<20} {'tagged':>7} {'false':>7}")
    for topic in sorted(per_topic):
        print(f"{topic:<20} {per_topic[topic]:>7} {wrong_per_topic[topic]:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
