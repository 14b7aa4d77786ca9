"""Write the demo corpus of the README's report: the labelled articles with generated dates.

    python docs/demo_corpus.py demo.jsonl

One row per article of labels/*.jsonl (paragraphs joined by blank lines) and per seed article,
``{"id", "date", "source", "text"}``. The dates (January to June 2025) and the sources
("outlet 1" to "outlet 6") are drawn at random with a fixed seed: they are not the articles'
real dates or publishers, so the trends in the report are noise. Three rows have no date and
two a date that is not one, to show how the report names them.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def articles() -> dict[str, str]:
    """Article id -> text, from the label files and the seed articles."""
    paragraphs: dict[str, list[str]] = {}
    for path in sorted((ROOT / "labels").glob("*.jsonl")):
        if path.name == "seeds.jsonl":  # the seed articles are taken whole below
            continue
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                paragraphs.setdefault(row["article"], []).append(row["text"])
    out = {name: "\n\n".join(texts) for name, texts in paragraphs.items()}
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        out[path.stem] = path.read_text(encoding="utf-8")
    return out


def main(target: str) -> None:
    rng = random.Random(13)
    with open(target, "w", encoding="utf-8") as fh:
        for number, (name, text) in enumerate(articles().items()):
            day = date(2025, 1, 1) + timedelta(days=rng.randrange(181))
            row = {"id": name, "date": day.isoformat(), "source": f"outlet {rng.randint(1, 6)}"}
            if number in (40, 41, 42):
                del row["date"]
            elif number in (80, 81):
                row["date"] = "n/a"
            fh.write(json.dumps({**row, "text": text}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo.jsonl")
