"""Every default path and setting, in one place.

Paths resolve as: explicit argument, then an environment variable, then the default below.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

#: The installed package; a normal install puts the shipped model in ``PACKAGE_DIR/model``.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository root when topictag runs from a checkout (editable install).
REPO_ROOT = PACKAGE_DIR.parent

MODEL_ENV = "TOPICTAG_MODEL"
LABELS_ENV = "TOPICTAG_LABELS"
SEEDS_ENV = "TOPICTAG_SEEDS"

#: Grid searched by grouped cross-validation inside every training fold.
#: ``C`` is the inverse regularisation of the logistic regressions; ``lexicon`` turns the
#: topic term-list features on or off; ``lexicon_scale`` multiplies those features (smaller:
#: the model leans less on the term lists and more on the n-grams; powers of two, so the
#: portable model, which folds the factor into its weights, scores bit for bit the same);
#: ``balanced`` (default True) weighs each topic's classes equally; ``furniture`` gives page
#: furniture no topic (see ``FURNITURE_MARKERS``); ``abbreviations`` (default True) reads
#: ``U.S.`` and ``US`` alike and apart from the pronoun (``topictag.normalize``). The lexicon
#: is kept on:
#: on real articles it adds about 0.03 to 0.06 macro F1 (train.py measures this every time:
#: "without_lexicon" in metrics.json). On the 3,609 training rows, grouped cross-validation
#: at C=16 gave macro F1 0.886 at scale 1, 0.889 at 1/2, 0.894 at 1/4, 0.894 at 1/8 and 0.880
#: without the lexicon, with the fewest false alarms on paragraphs without a topic at the
#: small scales; C from 8 to 32 changed it by under 0.001 (earlier rounds chose 16 from 2 to
#: 16, and the lexicon and class balance when offered without them). On the 4,375 rows of
#: the fifth round it chose C=32 and a scale of 1/8 (model/metrics.json). On the 5,426 rows
#: of the seventh, nested grouped cross-validation (``bench/selection.py``) gave 0.9051 with
#: this grid, 0.9047 choosing C and the scale per topic, and 0.9066 with C up to 128 and the
#: scale down to 1/32, for a third more search time: neither is used.
DEFAULT_GRID: dict[str, list] = {
    "C": [8.0, 16.0, 32.0],
    "abbreviations": [True],
    "furniture": [True],
    "lexicon": [True],
    "lexicon_scale": [0.125, 0.25, 0.5, 1.0],
}

#: Page furniture (``topictag.furniture``): a paragraph that opens with one of these markers,
#: followed by a colon, bar, arrow, a numbered list or nothing, is a page's link list, tag
#: line or heading, not the article's own text ("Related: ...", "Most read: 1. ...", "Tags:
#: ..."), and the model with ``furniture`` in its grid (the default) gives it no topic; the
#: labelling guidelines give such lines none, and a bag of words cannot tell a linked
#: headline from the article's own sentence. Grouped cross-validation on the 4,774 training
#: rows, shipped settings: macro F1 0.904 -> 0.912, paragraphs without a topic that got one
#: 179 -> 139; no labelled paragraph with a topic (training or development set) opens with
#: a marker. The markers are written into the model, which applies them as trained.
FURNITURE_MARKERS: tuple[str, ...] = (
    "related", "related articles?", "related stories", "related coverage", "related news",
    "related content", "related reading", "read more", "read also", "also read", "see also",
    "explore more", "next", "next article", "next story", "previous", "previous article",
    "previous story", "most read", "most popular", "most viewed", "topics", "tags", "keywords",
    "filed under", "more on this", "more on this story", "recommended", "recommended for you",
    "trending", "trending now", "latest news", "latest stories", "top stories", "editor'?s picks?",
    "watch", "video", "listen", "podcast", "about the author", "share this article",
    "advertisement", "sponsored",
)  # fmt: skip
#: Paragraphs longer than this are never furniture: the longest labelled furniture line has
#: 233 characters, and a page without paragraph breaks can open its one paragraph, the whole
#: article, with a breadcrumb.
FURNITURE_MAX_CHARS = 600
#: Openings that mark furniture whatever follows them ("Subscribe to keep reading", "Follow
#: us on Telegram", "Home > Energy > Oil & Gas").
FURNITURE_OPENERS: tuple[str, ...] = (
    r"subscribe\b", r"sign up\b", r"follow us\b", r"follow our\b", r"also in this section\b",
    r"you may also like\b", r"click here\b", r"home\s*[>›»/]",
)  # fmt: skip

#: Processes used for the evaluation folds.
N_JOBS = 2

#: Inner folds for choosing hyperparameters and thresholds.
INNER_FOLDS = 4

#: Candidate decision thresholds searched per topic.
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(2, 19))

#: Rows per chunk of batch tagging (``tag --input``): the unit of tagging, of work sent to a
#: worker process and of a Parquet row group.
CHUNK_ROWS = 1000

#: pyarrow's allocator for ``topictag tag --input`` (``ARROW_DEFAULT_MEMORY_POOL``, unless
#: already set): the C library's. Arrow's own, mimalloc, held some 30 MB more of freed memory
#: in the parent process of a corpus run (Arrow reads the variable once, at its first
#: allocation, so only the command line can set it; ``tag_corpus`` leaves the environment as is).
ARROW_MEMORY_POOL = "system"

#: Bytes of corpus per task of distributed tagging (``tag --input --scheduler``): a byte range
#: of a JSON Lines file, or Parquet row groups of about this size (uncompressed).
PARTITION_BYTES = 64 * 1024 * 1024

#: Seconds to wait for the Dask scheduler to answer and for a first worker to join it.
SCHEDULER_TIMEOUT = 30.0

#: Paragraphs longer than this many characters are cut into pieces of at most this size,
#: so a file with no paragraph breaks is still tagged in bounded memory.
MAX_PARAGRAPH_CHARS = 20_000

#: trafilatura.extract settings for an HTML page's main text (topictag.htmltext). Snippet F1 on
#: the 121 pages of ../shared/htmleval (python bench/htmleval.py --all), topictag's blocks:
#: these 0.932 (precision 0.914, recall 0.951); with comments 0.927; favor_precision 0.928;
#: favor_recall 0.930; without tables 0.925; trafilatura.extract's own defaults 0.921.
#: ``deduplicate`` (0.932 too) stays off: it remembers text across pages, so a page's text
#: would depend on the pages converted before it.
HTML_EXTRACTOR_OPTIONS: dict[str, bool] = {
    "include_comments": False,
    "include_tables": True,
    "favor_precision": False,
    "favor_recall": False,
    "deduplicate": False,
}

#: Under this many characters of main text, on a page whose whole text is as short, an HTML
#: page is converted by the plain extractor (topictag.htmltext): it is trafilatura's own
#: minimum (MIN_EXTRACTED_SIZE), below which it falls back to a baseline that can dump the
#: whole page, menus included, as one block.
HTML_MIN_MAIN_TEXT = 250

#: A page of more characters than this is converted by the plain extractor, with a warning:
#: trafilatura took 11 s and 196 MB on a generated page of 5 MB (the plain extractor 1.2 s),
#: and `topictag tag` 319 s and 1 GB on one of 30 MB (machine under heavy load). News pages are
#: far smaller (the largest of htmleval: 1.6 MB).
HTML_MAX_MAIN_TEXT_CHARS = 5_000_000

#: A file or stdin larger than this is refused as one article (a 50 MB article takes over a
#: minute and 700 MB); corpora go through ``tag --input``, which streams. It also stops an
#: endless stream such as /dev/zero.
MAX_ARTICLE_BYTES = 32 * 1024 * 1024

#: An article of more paragraphs than this is refused by ``topictag tag`` (each paragraph
#: result costs some 1.5 KB as a table and 4 KB as JSON: a 5 MB file of one million one-word
#: paragraphs took 1.5 GB and 4.2 GB), however few its bytes; corpora go through ``--input``.
MAX_ARTICLE_PARAGRAPHS = 100_000

#: ``topictag report``: the date column, the period of the time series (day, week or month)
#: and the column of the breakdown (skipped when the corpus has none, unless named).
REPORT_DATE_FIELD = "date"
REPORT_BY = "week"
REPORT_GROUP_FIELD = "source"
#: Groups drawn in the breakdown; the others are summed into one line.
REPORT_TOP_GROUPS = 20
#: Articles read for the terms that carried each topic per period, in all (evidence costs
#: some 10 ms per article): spread evenly over the topics and periods, at most
#: ``REPORT_SAMPLE_PER_PERIOD`` per topic and period.
REPORT_SAMPLE = 1000
REPORT_SAMPLE_PER_PERIOD = 200
#: Terms shown per topic and period, and example paragraphs per topic.
REPORT_TERMS = 5
REPORT_EXAMPLES = 3


def _resolve(
    explicit: str | os.PathLike | None,
    env: str,
    default: str,
    fallbacks: tuple[Path, ...] = (),
    found: Callable[[Path], bool] = Path.exists,
) -> Path:
    """``explicit``, else ``$env``, else ``default`` in the working directory if it is
    ``found``, else the first of ``fallbacks``/``default`` that exists, else ``default``
    (missing)."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(env):
        return Path(os.environ[env])
    local = Path(default)
    if found(local):
        return local
    for place in fallbacks:
        if (place / default).exists():
            return place / default
    return local


def _holds_a_model(path: Path) -> bool:
    """True for a directory holding any file of a topictag model (a whole one or not): a
    ``model/`` of another tool's in the working directory does not hide the shipped model,
    and a damaged one of ours is reported, not passed over."""
    from topictag.artifact import MODEL_FILES

    try:
        return not MODEL_FILES.isdisjoint(os.listdir(path))
    except OSError:  # missing, or not a directory
        return False


def model_dir(path: str | os.PathLike | None = None, installed: bool = True) -> Path:
    """The model directory: ``path``, else ``$TOPICTAG_MODEL``, else ``model/`` in the working
    directory if it holds a topictag model's files, else the copy installed with the package
    (``topictag/model/``), else the source checkout's. Training passes ``installed=False``: it
    writes ``model/`` in the working directory, never into an install or a checkout elsewhere.
    """
    if not installed:
        return _resolve(path, MODEL_ENV, "model")
    return _resolve(path, MODEL_ENV, "model", (PACKAGE_DIR, REPO_ROOT), found=_holds_a_model)


def labels_dir(path: str | os.PathLike | None = None) -> Path:
    """The labels directory: ``path``, else ``$TOPICTAG_LABELS``, else ``labels/`` in the
    working directory (never a checkout elsewhere: ``label`` writes there)."""
    return _resolve(path, LABELS_ENV, "labels")


def seeds_dir(path: str | os.PathLike | None = None) -> Path:
    """The seed articles: ``path``, else ``$TOPICTAG_SEEDS``, else ``seeds/`` in the working
    directory."""
    return _resolve(path, SEEDS_ENV, "seeds")
