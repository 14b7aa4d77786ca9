"""The corpus report as one self-contained page, as JSON, and its charts as PNG files.

Everything is drawn from the figures of :func:`topictag.trends.corpus_trends`, so the page and
``--format json`` cannot disagree. Charts are drawn once, at build time, with matplotlib: it
is the plotting library the scientific Python world maintains and already depends on here
(numpy, pandas), it draws without a display or a browser, and its SVG backend writes plain
vector markup that goes inline into the page. Text in the charts is written as paths
(``svg.fonttype = "path"``), so the page needs no font; there is no script, and the page's
Content-Security-Policy forbids loading anything, so it opens offline exactly as written.
Topic colours are those of the article report (``topictag.report.topic_colour``).
"""

from __future__ import annotations

import colorsys
import contextlib
import io
import re
import warnings
from collections.abc import Sequence
from html import escape
from pathlib import Path

from topictag.errors import counted, one_line
from topictag.report import _CSS, _badge, highlighted, html_text, page, topic_colour
from topictag.strict_json import dumps
from topictag.tagger import ParagraphResult

_PAGE_CSS = """
body { max-width: 64rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-top: 2px solid #ccc; padding-top: 1rem; }
h3 { font-size: 1rem; margin: 1.4rem 0 .4rem; }
figure.chart { margin: 1rem 0; }
figure.chart svg { width: 100%; height: auto; display: block; }
figcaption, .note { color: #555; font-size: .85rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { padding: .15rem .6rem; text-align: left; vertical-align: top;
  border-bottom: 1px solid #eee; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem;
  margin: .5rem 0; }
dl.facts dt { color: #555; } dl.facts dd { margin: 0; word-break: break-all; }
ul.problems { background: #fff4e5; border-left: 4px solid #e8a33d; padding: .5rem 1rem .5rem 2rem; }
.example { border-left: 3px solid #ddd; margin: .8rem 0; padding: .1rem 0 .1rem .8rem; }
.example .text { white-space: pre-wrap; margin: .3rem 0; }
.example .meta { color: #666; font-size: .8rem; }
.terms td.t span { white-space: nowrap; margin-right: .6rem; }
.terms td.p { white-space: nowrap; }
figure.matrix svg { max-width: 38rem; }
"""

#: Charts in the page and in ``--png``: file stem, heading, caption.
CHARTS = {
    "counts": "Articles per topic",
    "share": "Share of all articles",
    "cooccurrence": "Topics together",
    "groups": "Topics by group",
}


def topic_hex(index: int) -> str:
    """The article report's colour of the topic at ``index``, as ``#rrggbb`` for matplotlib."""
    hue, saturation, lightness = map(float, re.findall(r"[\d.]+", topic_colour(index)))
    r, g, b = colorsys.hls_to_rgb(hue / 360, lightness / 100, saturation / 100)
    return "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (r, g, b)))


def _rc() -> dict:
    return {
        "svg.fonttype": "path",
        "svg.hashsalt": "topictag",
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "text.parse_math": False,  # a "$" in a source or topic name is text, not TeX
    }


def drawn(text: str) -> str:
    """``text`` as a chart draws it: one line, its control characters shown as their escapes
    (:func:`~topictag.errors.one_line`), as the page and the terminal show them. A label has
    no markup to contain them: an override in a source name turned the rest of it around, and
    an escape sequence went into the SVG's comments, and so to a terminal the page was
    printed on."""
    return one_line(text)


# Charts -----------------------------------------------------------------------------------


#: Topics listed in one column of a time chart's legend; more topics take more columns.
LEGEND_ROWS = 14


def charts(figures: dict) -> dict:
    """The matplotlib ``Figure`` of each chart (no ``groups`` without a breakdown)."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        out = {
            "counts": _time_chart(figures, share=False),
            "share": _time_chart(figures, share=True),
            "cooccurrence": _cooccurrence_chart(figures),
        }
        if figures.get("groups"):
            out["groups"] = _groups_chart(figures)
    return out


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


def _time_chart(figures: dict, share: bool):
    import numpy as np
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    topics = figures["model"]["topics"]
    periods = figures["periods"]
    columns = -(-(len(topics) + 1) // LEGEND_ROWS)  # the legend's, beside the plot
    fig = Figure(figsize=(9 + 1.8 * (columns - 1), 3.2), layout="constrained")
    ax = fig.add_subplot()
    if not periods:
        _empty(ax, "no dated articles")
        return fig
    x = np.array([p["start"] for p in periods], dtype="datetime64[D]")
    marker = "o" if len(x) <= 60 else None
    top = 0.0
    for j, topic in enumerate(topics):
        if share:
            y = np.array([np.nan if s is None else 100 * s for s in figures["share"][topic]])
        else:
            y = np.array(figures["counts"][topic], dtype=float)
        ax.plot(
            x, y, color=topic_hex(j), label=drawn(topic), linewidth=1.8, marker=marker, markersize=3
        )
        top = max(top, float(np.nanmax(y)) if np.isfinite(y).any() else 0.0)
    if not share:
        totals = np.array([p["articles"] for p in periods], dtype=float)
        ax.plot(x, totals, color="#888", linestyle="--", linewidth=1.2, label="all articles")
        top = max(top, float(totals.max()))
    ax.set_ylim(0, top * 1.08 if top > 0 else 1)
    ax.set_ylabel(
        f"% of the {figures['by']}'s articles" if share else f"articles per {figures['by']}"
    )
    if len(x) == 1:
        day = np.timedelta64(1, "D") * {"day": 1, "week": 7, "month": 30}[figures["by"]]
        ax.set_xlim(x[0] - day, x[0] + day)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, ncols=columns)
    return fig


def _matrix(ax, shades, labels, xlabels, ylabels, colours_x=None, colours_y=None) -> None:
    """A shaded matrix with a number in every cell."""
    import numpy as np

    # pcolormesh, not imshow: imshow embeds a raster image (a data: URL the page's policy
    # refuses); a mesh is drawn as vector shapes.
    ax.pcolormesh(
        np.asarray(shades, dtype=float),
        cmap="Blues",
        vmin=0,
        vmax=1,
        edgecolors="white",
        linewidth=1,
    )
    ax.set_xlim(0, len(xlabels))
    ax.set_ylim(len(ylabels), 0)
    for (i, j), value in _cells(labels):
        dark = shades[i][j] > 0.55
        ax.text(
            j + 0.5,
            i + 0.5,
            value,
            ha="center",
            va="center",
            fontsize=8,
            color="white" if dark else "#222",
        )
    xlabels, ylabels = [drawn(x) for x in xlabels], [drawn(y) for y in ylabels]
    ax.set_xticks([j + 0.5 for j in range(len(xlabels))], xlabels, rotation=30, ha="right")
    ax.set_yticks([i + 0.5 for i in range(len(ylabels))], ylabels)
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    for ticks, colours in ((ax.get_xticklabels(), colours_x), (ax.get_yticklabels(), colours_y)):
        for tick, colour in zip(ticks, colours or []):
            tick.set_color(colour)


def _cells(labels: Sequence[Sequence[str]]):
    for i, row in enumerate(labels):
        for j, value in enumerate(row):
            yield (i, j), value


def _cooccurrence_chart(figures: dict):
    from matplotlib.figure import Figure

    topics = figures["model"]["topics"]
    matrix = figures["cooccurrence"]
    size = 1.6 + 0.75 * len(topics)
    fig = Figure(figsize=(size + 1.2, size), layout="constrained")
    ax = fig.add_subplot()
    shades = [
        [(value / row[i]) if row[i] else 0.0 for value in row] for i, row in enumerate(matrix)
    ]
    labels = [[f"{value:,}" for value in row] for row in matrix]
    colours = [topic_hex(j) for j in range(len(topics))]
    _matrix(ax, shades, labels, topics, topics, colours, colours)
    return fig


def group_label(group: str | None) -> str:
    """A group as the page and its charts show it: at most 40 characters, then its control
    characters escaped (``\\x1b``, as :func:`~topictag.errors.one_line` does); "(none)" for no
    value, and in quotes when empty or with space around it, which would look like another
    group or none."""
    if group is None:
        return "(none)"
    visible = one_line(group)
    shown = visible if len(group) <= 40 else one_line(group[:39]) + "…"
    return f'"{shown}"' if visible != visible.strip() or not group else shown


def _groups_chart(figures: dict):
    from matplotlib.figure import Figure

    topics = figures["model"]["topics"]
    groups = figures["groups"]
    rows = list(groups["top"])
    if groups["other"]:
        rows.append(
            {"group": f"other ({counted(groups['other']['groups'], 'group')})", **groups["other"]}
        )
    fig = Figure(
        figsize=(2.2 + 1.1 * len(topics), 1.2 + 0.28 * max(len(rows), 1)), layout="constrained"
    )
    ax = fig.add_subplot()
    if not rows:
        _empty(ax, "no articles")
        return fig
    shades = [
        [(r["topics"][t] / r["articles"]) if r["articles"] else 0.0 for t in topics] for r in rows
    ]
    labels = [[f"{r['topics'][t]:,}" for t in topics] for r in rows]
    names = [f"{group_label(r['group'])} ({r['articles']:,})" for r in rows]
    _matrix(ax, shades, labels, topics, names, [topic_hex(j) for j in range(len(topics))])
    return fig


def svg(fig, name: str) -> str:
    """A figure as inline SVG markup (no XML prologue), with ids unique to ``name``."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({**_rc(), "svg.hashsalt": f"topictag-{name}"}):
        with _layout_warnings_quiet():
            fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)  # RDF: Creator, license
    # Every inline SVG shares the page's id namespace: give this one's ids a prefix.
    text = re.sub(r'id="([^"]+)"', rf'id="{name}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", text)
    text = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{name}-\1"', text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{escape(CHARTS[name])}" ', 1)


def png(fig) -> bytes:
    """A figure as PNG, 150 dots per inch, for slides."""
    buffer = io.BytesIO()
    with _layout_warnings_quiet():
        fig.savefig(buffer, format="png", dpi=150, metadata={"Software": None})
    return buffer.getvalue()


@contextlib.contextmanager
def _layout_warnings_quiet():
    """matplotlib warns (with its source path) when a chart of very many topics leaves its
    layout no room, and for each glyph its font lacks (a source named in Chinese is drawn in
    boxes); the chart is drawn all the same, and the page shows the names as text."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*layout not applied", category=UserWarning)
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        yield


def write_pngs(figures: dict, directory: str | Path) -> list[Path]:
    """Each chart as ``DIRECTORY/NAME.png`` (the directory is made if needed): every chart is
    written or none is, so a full disk leaves the charts of the last report, not a mix, and
    no directory this call made."""
    from topictag.errors import WriteError
    from topictag.files import cannot_write, make_dirs, remove_made, write_atomic_set

    directory = Path(directory)
    contents = {directory / f"{name}.png": png(fig) for name, fig in charts(figures).items()}
    made: list[Path] = []
    try:
        made = make_dirs(directory)
        write_atomic_set(contents)
    except BaseException as exc:
        remove_made(made)
        if isinstance(exc, OSError):
            raise WriteError(cannot_write(directory, exc)) from None
        raise
    return list(contents)


def write_text(path: str | Path, text: str) -> None:
    """Write the page or the JSON whole or not at all (temporary file, then rename)."""
    from topictag.errors import WriteError
    from topictag.files import cannot_write, write_atomic

    try:
        write_atomic(Path(path), text.encode("utf-8"))
    except OSError as exc:
        raise WriteError(cannot_write(path, exc)) from None


def json_text(figures: dict) -> str:
    """The figures as JSON: what ``--format json`` writes."""
    return dumps(figures, indent=2) + "\n"


# The page ---------------------------------------------------------------------------------


def _figure(fig, name: str, caption: str) -> str:
    kind = "chart matrix" if name in ("cooccurrence", "groups") else "chart"
    return (
        f'<figure class="{kind}" id="chart-{name}">{svg(fig, name)}'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _number(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def _header(figures: dict, order: dict[str, int]) -> str:
    corpus, dates, model, sample = (
        figures["corpus"],
        figures["dates"],
        figures["model"],
        figures["sample"],
    )
    span = (
        f"{corpus['first_date']} to {corpus['last_date']}"
        if corpus["first_date"]
        else "no dated articles"
    )
    tagged = "tagged by this report with the model below" if corpus["tagged_here"] else "as tagged"
    facts = [
        ("corpus", html_text(corpus["path"])),
        (
            "articles",
            f"{corpus['rows']:,} ({tagged}); {corpus['without_topic']:,} without any topic",
        ),
        ("dates", f"{html_text(dates['field'])}: {span}, counted by {figures['by']}"),
        ("model", html_text(model["path"])),
    ]
    evaluation = model["evaluation"]
    rows = []
    for topic in model["topics"]:
        figure = (evaluation or {}).get("per_topic", {}).get(topic, {})
        rows.append(
            f"<tr><td>{_badge(topic, order[topic])}</td>"
            f'<td class="n">{model["thresholds"][topic]:.2f}</td>'
            f'<td class="n">{_number(figure.get("precision"))}</td>'
            f'<td class="n">{_number(figure.get("recall"))}</td>'
            f'<td class="n">{_number(figure.get("f1"))}</td></tr>'
        )
    if evaluation:
        rows.append(
            f"<tr><td>macro F1</td><td></td><td></td><td></td>"
            f'<td class="n"><b>{_number(evaluation.get("macro_f1"))}</b></td></tr>'
        )
        measured = (
            f"Precision, recall and F1 on real text: {html_text(evaluation['name'].lower())}, "
            f"{evaluation.get('n')} paragraphs (the model's metrics.json)."
        )
        if evaluation.get("stale"):
            measured = f"<b>{html_text(evaluation['stale'])}</b> {measured}"
    elif model.get("figures_problem"):
        measured = (
            f"The model's metrics.json is not as training wrote it "
            f"({html_text(model['figures_problem'])}): its figures are left out."
        )
    else:
        measured = "The model's metrics.json has no evaluation on real text."
    table = (
        '<table class="model"><tr><th>topic</th><th class="n">threshold</th>'
        '<th class="n">precision</th><th class="n">recall</th><th class="n">F1</th></tr>'
        + "".join(rows)
        + "</table>"
    )
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    from topictag.trends import problems

    notes = problems(figures)
    listed = (
        '<ul class="problems">' + "".join(f"<li>{html_text(n)}</li>" for n in notes) + "</ul>"
        if notes
        else ""
    )
    read = (
        f"Terms and examples come from a sample of {counted(sample['read'], 'article')} read "
        f"for one of their topics (up to {sample['per_topic_period']:,} per topic and period"
        + (
            f", the latest {sample['periods_read']:,} of the "
            f"{counted(sample['periods_sampled'], 'period')} with a tagged article"
            if sample["periods_read"] < sample["periods_sampled"]
            else ""
        )
        + f"; --sample {sample['requested']:,})."
    )
    return f'<dl class="facts">{dl}</dl>{table}<p class="note">{measured} {read}</p>{listed}'


def _terms_section(figures: dict, order: dict[str, int]) -> str:
    where = figures["dates"]["rows_are"]
    parts = []
    for topic, items in figures["terms"].items():
        head = f"<h3>{_badge(topic, order[topic])}</h3>"
        if not items:
            parts.append(head + '<p class="note">No article of this topic was read.</p>')
            continue
        rows = []
        for item in items:
            terms = "".join(
                f'<span title="mean weight per article read; among the evidence of '
                f'{t["articles"]} of {item["read"]}">{html_text(t["term"])} '
                f'<span class="muted">{t["weight"]:+.2f} ({t["articles"]}/{item["read"]})</span>'
                f"</span>"
                for t in item["terms"]
            )
            articles = "" if item["articles"] is None else f"{item['articles']:,}"
            rows.append(
                f'<tr><td class="p">{html_text(item["period"])}</td><td class="n">{articles}</td>'
                f'<td class="n">{item["read"]:,}</td><td class="t">{terms}</td></tr>'
            )
        table = (
            '<table class="terms"><tr><th>period</th><th class="n">articles</th>'
            '<th class="n">read</th><th>terms (mean weight, read articles with it)</th></tr>'
            + "".join(rows)
            + "</table>"
        )
        examples = []
        for example in figures["examples"].get(topic, []):
            paragraph = ParagraphResult(
                example["paragraph"],
                0,
                len(example["text"]),
                example["text"],
                [topic],
                {topic: example["score"]},
                evidence={topic: example["evidence"]},
            )
            meta = " · ".join(
                html_text(str(x))
                for x in (
                    example["where"],
                    example["date"],
                    None if example["group"] is None else group_label(example["group"]),
                    f"paragraph {example['paragraph']}",
                    f"score {example['score']:.2f}",
                )
                if x is not None
            )
            examples.append(
                f'<div class="example"><div class="meta">{meta}</div>'
                f'<p class="text">{highlighted(paragraph, order)}</p></div>'
            )
        parts.append(
            head
            + table
            + (
                f"<h4>Examples ({where} numbers of the corpus)</h4>" + "".join(examples)
                if examples
                else ""
            )
        )
    return "\n".join(parts)


def html_page(figures: dict, title: str | None = None) -> str:
    """The report: header (corpus, model, thresholds, problems), the charts, the terms that
    carried each topic per period and example paragraphs with their evidence highlighted."""
    topics = figures["model"]["topics"]
    order = {t: i for i, t in enumerate(topics)}
    title = title or f"topictag report: {Path(figures['corpus']['path']).name}"
    drawn = charts(figures)
    legend = "".join(_badge(t, i) for i, t in enumerate(topics))
    by = figures["by"]
    body = [
        f"<h1>{html_text(title)}</h1>",
        _header(figures, order),
        f'<div class="legend"><span class="muted">Topics: </span>{legend}</div>',
        f'<h2 id="time">{CHARTS["counts"]}</h2>',
        _figure(
            drawn["counts"],
            "counts",
            f"Articles tagged with each topic per {by} (an article can have several topics); "
            f"dashed: all articles. A {by} without articles counts 0; the first and the last "
            f"{by} may be partly covered by the corpus.",
        ),
        _figure(
            drawn["share"],
            "share",
            f"The same as a share of all articles of the {by}; no point for a {by} without "
            "articles.",
        ),
        f'<h2 id="together">{CHARTS["cooccurrence"]}</h2>',
        _figure(
            drawn["cooccurrence"],
            "cooccurrence",
            "Articles tagged with both topics (the diagonal: with the topic). Shade: the share "
            "of the row topic's articles.",
        ),
    ]
    groups = figures.get("groups")
    if groups:
        shown, field = len(groups["top"]), html_text(groups["field"])
        body += [
            f'<h2 id="groups">Topics by {field}</h2>',
            _figure(
                drawn["groups"],
                "groups",
                f"Articles per topic for the {shown:,} {field} values with the "
                f"most articles (of {groups['groups']:,})"
                + ("; the others summed" if groups["other"] else "")
                + ". Shade: the share of the row's articles.",
            ),
        ]
    body += [
        '<h2 id="terms">What carried each topic</h2>',
        '<p class="note">The terms that pushed each topic up most in the articles read, per '
        f"{by}, newest first: each article is read at its paragraph that scored highest for "
        "the topic, and a term's weight is what it adds to the topic's log-odds, "
        "averaged over the articles read. Examples: the read paragraphs that scored highest, "
        "with their evidence highlighted (hover for weights).</p>",
        _terms_section(figures, order),
    ]
    return page(title, _CSS + _PAGE_CSS, "\n".join(body))
