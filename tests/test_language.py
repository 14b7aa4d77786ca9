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
