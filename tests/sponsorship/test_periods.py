"""Support-period arithmetic: month ends, leap years, the 36-month cap."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.dates import add_months, months_between
from sponsorship.models import Extension, Sponsorship
from sponsorship.selectors import period_summary
from tests.factories import SponsorshipFactory

D = datetime.date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 2, 29), 48, D(2028, 2, 29)),
        (D(2026, 8, 31), 4, D(2026, 12, 31)),
        (D(2026, 11, 15), 3, D(2027, 2, 15)),
    ],
)
def test_it_adds_months_clamped_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 1, 1)), st.integers(0, 36))
def test_it_counts_back_the_months_it_added(start, months):
    assert months_between(start, add_months(start, months)) == months


def _period(arrival: datetime.date, extension_months: int = 0) -> Sponsorship:
    s = Sponsorship(arrival_date=arrival)
    s.approved_extension_months = extension_months
    return s


def test_the_period_runs_twelve_months_from_arrival():
    s = _period(D(2026, 1, 31))
    assert s.committed_months == 12
    assert s.month_13_on == D(2027, 1, 31)
    assert s.support_ends_on == D(2027, 1, 30)
    assert s.current_month(D(2026, 1, 31)) == 1
    assert s.current_month(D(2026, 2, 27)) == 1
    assert s.current_month(D(2026, 2, 28)) == 2  # Jan 31 + 1 month clamps to Feb 28
    assert s.current_month(D(2027, 1, 30)) == 12
    assert s.months_remaining(D(2026, 5, 1)) == 8
    assert s.current_month(D(2026, 1, 30)) is None


def test_a_leap_day_arrival_reaches_month_13_on_28_february():
    s = _period(D(2028, 2, 29))
    assert s.month_13_on == D(2029, 2, 28)
    assert s.current_month(D(2029, 2, 27)) == 12


def test_extensions_lengthen_the_period_but_never_past_36_months():
    assert _period(D(2026, 1, 1), 6).committed_months == 18
    capped = _period(D(2026, 1, 1), 30)
    assert capped.committed_months == 36
    assert capped.month_13_on == D(2029, 1, 1)
    assert capped.current_month(D(2035, 1, 1)) == 36


def test_period_summary_says_month_n_of_m():
    s = _period(D(2026, 1, 15), 6)
    s.outcome = Sponsorship.Outcome.ACTIVE
    assert period_summary(s, D(2026, 11, 20)) == "month 11 of 18"
    assert period_summary(_period(None)) == "not arrived"


@pytest.mark.django_db
def test_only_approved_extensions_count(case_worker, program_manager):
    s = SponsorshipFactory(arrival_date=D(2025, 6, 1), matched_on=D(2025, 5, 1))
    Extension.objects.create(sponsorship=s, months=6, reason="r", requested_by=case_worker)
    assert s.committed_months == 12
    Extension.objects.filter(sponsorship=s).update(
        status="approved", decided_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    )
    assert Sponsorship.objects.with_period().get(pk=s.pk).committed_months == 18
