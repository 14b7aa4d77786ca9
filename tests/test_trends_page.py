"""The corpus report page: self-contained, charts inline in the topic colours, text escaped;
opened in headless Chromium: charts drawn, no console error, no network request."""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from chromium import CHROMIUM, visit
from conftest import LABELS, write_jsonl
from hypothesis import given
from test_card import edited, measured
from test_trends import make_rows, write_parquet
from typer.testing import CliRunner

from topictag import load_model
from topictag.artifact import FORMAT
from topictag.card import figures_problem
from topictag.cli import app
from topictag.errors import CONTROLS
from topictag.report import topic_colour
from topictag.topics import load_topics
from topictag.trends import corpus_trends, model_summary
from topictag.trends_page import _header, html_page, topic_hex

TRICKY_SOURCE = '<script>alert("x")</script> & Co'
TOPICS = [t.name for t in load_topics(LABELS)]


class Tags(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def figures(tmp_path_factory, model_dir, seed_rows):
    tagger = load_model(model_dir)
    rows, _ = make_rows(400, tagger.topics, tagger.thresholds, [r["text"] for r in seed_rows])
    for row in rows[::7]:
        row["source"] = TRICKY_SOURCE
    path = write_parquet(tmp_path_factory.mktemp("page") / "corpus.parquet", rows, tagger.topics)
    return corpus_trends(path, by="week", top=6, sample=40, model=model_dir, warn=lambda m: None)


@pytest.fixture(scope="module")
def page(figures) -> str:
    return html_page(figures)


def test_page_is_self_contained(page):
    tags = Tags(page)
    names = {tag for tag, _ in tags.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "image"}
    for _, attrs in tags.tags:
        assert "src" not in attrs and "href" not in attrs
        link = attrs.get("xlink:href")
        assert link is None or link.startswith("#")
    urls = set(re.findall(r"https?://[^\"' )]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # namespaces
    assert "data:" not in page and "@import" not in page and "@font-face" not in page
    assert "default-src 'none'" in page


def test_charts_are_inline_svg_with_unique_ids_that_resolve(page):
    assert page.count("<svg") == 4
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for target in re.findall(r'(?:url\(#|xlink:href="#)([^)"]+)', page):
        assert target in ids


def test_lines_have_the_topic_colours_of_the_article_report(page, figures):
    counts = page[page.index('id="chart-counts"') : page.index('id="chart-share"')]
    for j, _ in enumerate(figures["model"]["topics"]):
        assert f"stroke: {topic_hex(j)}" in counts
    assert topic_hex(0) == "#962c2c"  # topic_colour(0) is hsl(0, 55%, 38%)
    assert topic_colour(0) == "hsl(0, 55%, 38%)"


def test_text_from_the_corpus_is_escaped(page, figures):
    tags = Tags(page)
    assert "script" not in {tag for tag, _ in tags.tags}
    shown = "".join(tags.text)
    assert any(e["group"] == TRICKY_SOURCE for ex in figures["examples"].values() for e in ex)
    assert TRICKY_SOURCE in shown


def test_the_header_gives_the_corpus_the_model_and_the_sample(page, figures):
    text = " ".join(" ".join(Tags(page).text).split())
    assert "400 (as tagged)" in text
    assert "threshold" in text and "no evaluation on real text" in text  # the test model's
    assert f"a sample of {figures['sample']['read']:,} articles read for one of" in text
    assert "not an ISO date" in text and "without a 'date'" in text
    topics = figures["model"]["topics"]
    evaluation = {
        "name": "Leave one real article out",
        "n": 66,
        "macro_f1": 0.93,
        "micro_f1": 0.86,
        "per_topic": {t: {"precision": 0.5, "recall": 0.25, "f1": 0.33} for t in topics},
    }
    evaluated = {**figures, "model": {**figures["model"], "evaluation": evaluation}}
    text = " ".join(" ".join(Tags(html_page(evaluated)).text).split())
    assert "macro F1 0.93" in text and "0.50 0.25 0.33" in text
    assert "leave one real article out, 66 paragraphs" in text


def test_the_page_is_the_same_every_time(figures, page):
    assert html_page(figures) == page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_chromium_draws_every_chart_without_errors_or_requests(page, figures, tmp_path):
    from PIL import Image

    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    seen = visit(path, "figure.chart svg", tmp_path / "profile")
    assert seen.console_errors == []
    assert seen.requests == []
    assert len(seen.boxes) == 4
    image = Image.open(io.BytesIO(seen.screenshot)).convert("RGB")
    topics = figures["model"]["topics"]
    colours = [tuple(int(topic_hex(j)[k : k + 2], 16) for k in (1, 3, 5)) for j in range(5)]
    for number, (x, y, width, height) in enumerate(seen.boxes):
        assert width > 300 and height > 100
        chart = np.asarray(image.crop((int(x), int(y), int(x + width), int(y + height))))
        pixels = chart.reshape(-1, 3).astype(int)
        inked = (pixels.sum(axis=1) < 3 * 235).mean()
        assert inked > 0.02, f"chart {number} is blank"
        if number < 2:  # the time charts: a line of every topic's colour
            for j, colour in enumerate(colours[: len(topics)]):
                near = (np.abs(pixels - np.array(colour)).max(axis=1) < 12).sum()
                assert near > 50, f"chart {number}: no line of {topics[j]}"


def test_a_time_chart_of_sixty_topics_lists_them_all_in_columns_without_warnings(figures):
    import copy
    import warnings

    from topictag.trends_page import LEGEND_ROWS, _time_chart, png

    many = copy.deepcopy(figures)
    base = figures["model"]["topics"][0]
    many["model"]["topics"] = [f"topic {i}" for i in range(60)]
    many["counts"] = {t: figures["counts"][base] for t in many["model"]["topics"]}
    fig = _time_chart(many, share=False)
    legend = fig.axes[0].get_legend()
    assert len(legend.get_texts()) == 61  # the topics and "all articles"
    assert legend._ncols == -(-61 // LEGEND_ROWS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", ["svg", "png"])
def test_source_and_topic_names_are_drawn_as_plain_text(figures, kind):
    """A "$" pair is TeX to matplotlib: "$\\frac{$" as a source stopped the report with a
    traceback. A right-to-left override drew the rest of its label backwards: it is drawn as
    its escape."""
    import copy

    from topictag.trends_page import charts, png, svg

    odd = copy.deepcopy(figures)
    names = ["$\\frac{$", "plain $5 and $6", "a\u202eevil"]
    for row, name in zip(odd["groups"]["top"], names):
        row["group"] = name
    first = odd["model"]["topics"][0]
    renamed = "$x^$"
    odd["model"]["topics"][0] = renamed
    odd["counts"][renamed] = odd["counts"].pop(first)
    odd["share"][renamed] = odd["share"].pop(first)
    for row in [*odd["groups"]["top"], odd["groups"]["other"] or {"topics": {first: 0}}]:
        row["topics"][renamed] = row["topics"].pop(first)
    drawn = charts(odd)
    if kind == "png":
        for fig in drawn.values():
            assert png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
        return
    groups = svg(drawn["groups"], "groups")
    assert "<!-- $\\frac{$ (" in groups and "<!-- plain $5 and $6 (" in groups
    assert "<!-- a\\u202eevil (" in groups and "\u202e" not in groups
    assert "<!-- $x^$ -->" in svg(drawn["counts"], "counts")


@pytest.mark.parametrize(
    ("group", "shown"),
    [
        ("Reuters", "Reuters"),
        (" Reuters", '" Reuters"'),
        ("", '""'),
        (" ", '" "'),
        (None, "(none)"),
        ("x" * 50, "x" * 39 + "…"),
        ("a\x1b]0;t\x07b\u202e", "a\\x1b]0;t\\x07b\\u202e"),
        (" \x9b", '" \\x9b"'),
        ("\x1b" * 50, "\\x1b" * 39 + "…"),
    ],
)
def test_a_group_that_would_look_like_another_or_like_none_is_quoted(group, shown):
    """ " Reuters" and "Reuters" were two rows both labelled "Reuters (1)"; "" a blank label."""
    from topictag.trends_page import group_label

    assert group_label(group) == shown


#: A source that sets the terminal's title and clears its screen (OSC, BEL, CSI; and the same
#: as C1 controls), with a bidi override: what the audit's corpus held.
HOSTILE_SOURCE = "\x1b]0;pwned\x07\x1b[2J \x9d0;x\x9c\x9b2J \u202eevil"


@pytest.fixture
def hostile_corpus(tmp_path, use_model):
    rows = [
        {"date": "2025-03-05", "source": HOSTILE_SOURCE, "text": "Gas via TurkStream rose."},
        {"date": "2025-03-06", "source": "Reuters", "text": "Oil prices fell on Monday."},
    ]
    return write_jsonl(tmp_path / "c.jsonl", rows)


def test_report_json_escapes_every_control_character_of_a_group(hostile_corpus):
    result = CliRunner().invoke(app, ["report", str(hostile_corpus), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert not CONTROLS.intersection(result.stdout.replace("\n", ""))
    figures = json.loads(result.stdout)
    assert HOSTILE_SOURCE in [g["group"] for g in figures["groups"]["top"]]


SHOWN_ESCAPED = CONTROLS - {"\n", "\t"}


def test_a_group_s_control_characters_are_shown_as_their_escapes_in_page_and_charts(
    hostile_corpus,
):
    """The source went raw into the example's meta line and the SVG comments of the groups
    chart: `topictag report c.jsonl` set the terminal's title and cleared its screen."""
    result = CliRunner().invoke(app, ["report", str(hostile_corpus)])
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert not SHOWN_ESCAPED.intersection(page)
    shown = "\\x1b]0;pwned\\x07\\x1b[2J \\x9d0;x\\x9c\\x9b2J \\u202eevil"
    assert f"<!-- {shown} (1) -->" in page  # the groups chart's label
    meta = re.findall(r'<div class="meta">(.*?)</div>', page)
    assert any(shown in line for line in meta), meta


def test_chart_labels_show_control_characters_as_their_escapes(figures):
    import copy

    from topictag.trends_page import charts

    odd = copy.deepcopy(figures)
    odd["groups"]["top"][0]["group"] = "\x1b[2Jx\x85"
    labels = [t.get_text() for t in charts(odd)["groups"].axes[0].get_yticklabels()]
    assert labels[0].startswith("\\x1b[2Jx\\x85 (")
    assert not SHOWN_ESCAPED.intersection("".join(labels))


# -- a model whose metrics.json is not as training wrote it -----------------------------------


def _with_figures(metrics: dict, topics: list[str]) -> dict:
    """``metrics`` with figures on real text for ``topics``, as a training writes them."""
    per_topic = {t: {"precision": 0.5, "recall": 0.25, "f1": 0.33, "support": 2} for t in topics}
    main = {"n": 66, "macro_f1": 0.93, "micro_f1": 0.86, "per_topic": per_topic}
    return {**metrics, "evaluation": {"leave_one_article_out": main}}


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda m: m["leave_one_article_out"].update(macro_f1="x"), "macro_f1 is 'x'"),
        (lambda m: m.update(leave_one_article_out=[1]), "leave_one_article_out is [1]"),
        (lambda m: m["leave_one_article_out"].update(per_topic=5), "per_topic is 5"),
    ],
    ids=["text-figure", "list-evaluation", "number-per-topic"],
)
def test_report_on_a_hand_edited_metrics_file_warns_once_and_leaves_the_figures_out(
    tmp_path, model_dir, edit, problem
):
    from typer.testing import CliRunner

    from topictag.cli import app

    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    metrics = _with_figures(json.loads((model / "metrics.json").read_text()), TOPICS)
    edit(metrics["evaluation"])
    (model / "metrics.json").write_text(json.dumps(metrics))
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"date": "2025-03-05", "source": "a", "text": "Gas via TurkStream."}\n')
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", str(corpus), "-m", str(model), "-o", str(out)])
    assert result.exit_code == 0, result.output
    warning = f"warning: {model / 'metrics.json'}: not as training wrote it (evaluation."
    warned = [line for line in result.stderr.splitlines() if line.startswith(warning)]
    assert len(warned) == 1 and problem in warned[0]
    assert warned[0].endswith("; its figures are left out")
    text = " ".join(" ".join(Tags(out.read_text()).text).split())
    assert "metrics.json is not as training wrote it" in text and "macro F1" not in text


@given(edited(_with_figures(measured(), TOPICS)))
def test_the_header_shows_the_figures_whole_or_leaves_them_out(figures, metrics):
    """Whatever one edit did to metrics.json, the page's header is drawn: with every figure,
    or without them and the problem named."""
    tagger = SimpleNamespace(topics=TOPICS, thresholds=[0.5] * len(TOPICS))
    with tempfile.TemporaryDirectory() as model:
        readable = {**metrics, "format": FORMAT, "artifacts": {}}  # what read_metrics needs
        (Path(model) / "metrics.json").write_text(json.dumps(readable))
        summary = model_summary(Path(model), tagger, warn=lambda m: None)
    header = _header({**figures, "model": summary}, {t: i for i, t in enumerate(TOPICS)})
    assert ("its figures are left out" in header) == (figures_problem(metrics) is not None)


def test_charts_on_a_full_disk_leave_no_directory_the_write_made(figures, tmp_path, monkeypatch):
    import errno

    from topictag import files
    from topictag.errors import WriteError
    from topictag.trends_page import write_pngs

    def full_disk(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_all", full_disk)
    charts = tmp_path / "new" / "charts"
    with pytest.raises(WriteError, match=r"charts: cannot write \(No space left on device\)"):
        write_pngs(figures, charts)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()  # there before: stays, as it was
    with pytest.raises(WriteError):
        write_pngs(figures, tmp_path / "kept")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not any(
        (tmp_path / "kept").iterdir()
    )
