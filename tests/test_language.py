"""The English check behind the tagger's non-English warning."""

import pytest

from topictag.language import english_check

ENGLISH = "The heads of the state-owned energy giants have met in Saint Petersburg to discuss gas."


@pytest.mark.parametrize(
    "text",
    [
        "Газпром и SOCAR обсудили поставки российского газа в Иран через территорию Азербайджана.",
        "Prezident İlham Əliyev Rusiya Federasiyasına rəsmi səfər çərçivəsində görüşlər keçirib və "
        "sənədlər imzalanıb.",
        "Қазақстан мұнайын Каспий арқылы тасымалдау мәселесі талқыланды деп хабарлады министрлік.",
    ],
    ids=["russian", "azerbaijani", "kazakh"],
)
def test_other_languages_are_flagged(text):
    english, reason = english_check(text)
    assert not english and reason


def test_english_passes():
    assert english_check(ENGLISH) == (True, "")


def test_short_text_is_not_judged():
    assert english_check("Газпром")[0]


def test_headlines_without_function_words_pass():
    assert english_check("US blacklists Arctic LNG 2, Novatek's flagship export project")[0]


def test_authored_corpus_reads_as_english():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "labels" / "authored.jsonl"
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    flagged = [t for t in texts if not english_check(t)[0]]
    assert len(flagged) <= len(texts) // 100, flagged[:3]
