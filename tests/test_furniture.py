"""Page furniture: lines a page wraps around an article are recognised by how they open."""

import json

import pytest
from conftest import LABELS
from hypothesis import given
from hypothesis import strategies as st

from topictag.furniture import compile_furniture, furniture_rows, furniture_settings

RULE = compile_furniture(furniture_settings())

FURNITURE = [
    "Related: How Russia's shadow fleet keeps oil moving despite the price cap",
    "Related Articles",
    "RELATED STORIES: Azerbaijan boosts gas exports to Europe",
    "Read more: EU agrees 19th sanctions package",
    "ALSO READ: NUPRC says crude theft in Niger Delta fell by half",
    "See also: Russian crude transit to China via Kazakhstan",
    "Next article: Kazakhstan raises 2025 oil production target →",
    "MOST READ 1. Houthis claim attack on tanker 2. Brent slips",
    "Most read: 1. OPEC+ extends cuts into next year",
    "Tags: Red Sea · Houthis · Suez Canal",
    "Filed under: Oil, Kazakhstan, CPC",
    "Keywords: Middle Corridor, Trans-Caspian route",
    "WATCH: First tanker of the year loads Azeri crude at Ceyhan",
    "Subscribe to keep reading: Petrobras and the Amazon mouth",
    "Follow us on Telegram for live updates on Russian oil exports",
    "Home > Energy > Oil & Gas > Upstream",
    "About the author: she covers oil and OPEC from Houston.",
    "» See also: gas swaps with Iran",
]

ARTICLE_TEXT = [
    "Next door, Petronas is studying whether the gas discovery holds enough reserves.",
    "Next year the pipeline will carry 10 bcm of gas to Europe.",
    "Watchdogs said the tanker had switched off its transponder.",
    "Subscribers to the fund include three state oil companies.",
    "Topics covered at the summit included oil quotas and sanctions.",
    "Related talks in Geneva produced a ceasefire.",
    "Most read reports agree that Brent will stay above $70.",
    "Tags on the containers showed they came from Chongqing.",
    "Home gas bills rose by a fifth this winter.",
]


@pytest.mark.parametrize("text", FURNITURE)
def test_link_lists_tag_lines_and_appeals_are_furniture(text):
    assert furniture_rows([text], RULE) == [True]


@pytest.mark.parametrize("text", ARTICLE_TEXT)
def test_sentences_that_open_with_the_same_words_are_not(text):
    assert furniture_rows([text], RULE) == [False]


@given(st.text(max_size=200))
def test_a_marker_and_a_colon_make_any_short_paragraph_furniture(rest):
    assert RULE("Read more: " + rest)


@given(st.text(max_size=200))
def test_a_line_without_a_marker_never_is(rest):
    assert furniture_rows(["The minister said " + rest], RULE) == [False]


def test_no_labelled_paragraph_with_a_topic_is_furniture():
    """The rule may only remove what the guidelines give no topic: it never matches a
    paragraph labelled with one, in training, seed or development rows."""
    matched = []
    for name in ("authored.jsonl", "seeds.jsonl", "dev.jsonl"):
        for line in (LABELS / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["labels"] and RULE(row["text"]):
                matched.append(row["id"])
    assert matched == []


def test_the_markers_are_read_from_the_settings_a_model_records():
    settings = furniture_settings(markers=["breaking"], openers=[r"live\b"])
    rule = compile_furniture(json.loads(json.dumps(settings)))
    assert furniture_rows(["Breaking: gas", "Live updates", "Related: gas"], rule) == [
        True,
        True,
        False,
    ]


def test_a_long_paragraph_is_text_whatever_it_opens_with():
    """A page without paragraph breaks can open its one paragraph, the whole article, with a
    breadcrumb: past ``max_chars`` a paragraph is never furniture."""
    article = "Home > Energy > Oil. " + "Brent rose as OPEC+ held its output cuts. " * 20
    assert len(article) > RULE.max_chars
    assert furniture_rows([article, article[: RULE.max_chars]], RULE) == [False, True]
    assert compile_furniture({**furniture_settings(), "max_chars": None})(article)


@pytest.mark.parametrize("bad", [-1, "600", 6.5])
def test_a_length_limit_that_is_not_a_whole_number_is_refused(bad):
    with pytest.raises(TypeError):
        compile_furniture({**furniture_settings(), "max_chars": bad})


@pytest.mark.parametrize(
    "text",
    [
        "Read\u00a0more: EU agrees new sanctions on Russian LNG",  # no-break space
        "Read  more: EU agrees new sanctions on Russian LNG",  # two spaces
        "Read\tmore: EU agrees new sanctions on Russian LNG",
        "Editor\u2019s picks: Oil tankers wait at the Bosphorus",  # curly apostrophe
        "Editor\u2018s Picks",
        "Re\u00adlated: Gazprom raises gas exports",  # soft hyphen
        "Rel\u200bated: Gazprom raises gas exports",  # zero-width space
        "\uff32\uff45\uff4c\uff41\uff54\uff45\uff44: Gazprom raises gas exports",  # full width
        "Most\u00a0read: 1. Gas flows resume",
        "Sign\u00a0up for our energy newsletter",
    ],
)
def test_a_marker_written_with_odd_spaces_quotes_or_invisible_characters_is_still_one(text):
    assert RULE(text)


@pytest.mark.parametrize(
    "text",
    [
        "Read\u00a0more carefully, the contract shows the gas price fell.",
        "Editor\u2019s note aside, the pipeline opened on time.",
        "Related\u2019s talks with Gazprom stalled.",
        "\uff32\uff45\uff41\uff44ers say the Bosphorus was closed.",
    ],
)
def test_sentences_written_oddly_that_only_start_like_a_marker_are_not(text):
    assert not RULE(text)
