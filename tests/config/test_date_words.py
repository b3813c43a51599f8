"""Admin date inputs say the chosen date in words (core.admin_forms.NativeDateInput): the
browser's picker shows its own order of day and month, so no hint may claim one."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.utils import translation

from core.admin_forms import NativeDateInput, in_words

APRIL_3 = datetime.date(2026, 4, 3)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "Friday, April 3, 2026"),
        ("fr", "vendredi 3 avril 2026"),
        ("ko", "2026년 4월 3일 금요일"),
    ],
)
def test_a_date_in_words_as_the_browser_says_it(language, words):
    with translation.override(language):
        assert in_words(APRIL_3) == words


class _Form(forms.Form):
    day = forms.DateField(widget=NativeDateInput)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (APRIL_3, "Friday, April 3, 2026"),  # a saved value
        ("2026-04-03", "Friday, April 3, 2026"),  # a bound form sent back with an error
        ("03/04/2026", "No date chosen"),  # not a date the input can hold
        (None, "No date chosen"),
    ],
)
def test_the_hint_under_the_input_says_the_date_in_words(value, expected):
    form = _Form(data={"day": value} if isinstance(value, str) else None, initial={"day": value})
    html = str(form["day"])
    assert 'type="date"' in html
    assert 'aria-describedby="id_day_format"' in html
    assert expected in html.split('id="id_day_format"')[1]
    assert "2026-03-04" not in html and "Year-month-day" not in html
