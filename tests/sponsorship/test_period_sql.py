"""The support period's SQL form agrees with `Period` (the one home of the rule).

The sweep, `with_period` and the staff dashboard filter and order by month 13 in SQL; these
tests generate arrival dates across month ends and 29 February, extensions in any order,
and days before and after month 13, and compare the database's answer with `Period`'s.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db.models import DateField, Value
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sponsorship.models import Extension, Sponsorship
from sponsorship.period import MAX_SUPPORT_MONTHS, Period, month_13_sql
from tests.factories import SponsorshipFactory

D = datetime.date
pytestmark = pytest.mark.django_db

# Month ends and leap days are where calendar arithmetic goes wrong: draw them often.
EDGE_DAYS = [D(2024, 2, 29), D(2028, 2, 29), D(2025, 1, 31), D(2025, 3, 31), D(2024, 8, 31)]
arrivals = st.one_of(
    st.sampled_from(EDGE_DAYS),
    st.dates(min_value=D(2020, 1, 1), max_value=D(2032, 12, 31)),
    st.builds(
        lambda y, m: (
            (D(y, m, 28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
        ),
        st.integers(2020, 2032),
        st.integers(1, 12),
    ),  # the last day of a month
)
extensions = st.lists(st.integers(1, 24), max_size=3)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def one_row(db):
    return SponsorshipFactory()


@SETTINGS
@given(arrival=arrivals, months=st.integers(0, MAX_SUPPORT_MONTHS + 5))
def test_the_sql_month_13_is_the_python_month_13(one_row, arrival, months):
    expression = month_13_sql(Value(arrival, output_field=DateField()), Value(months))
    sql = (
        Sponsorship.objects.filter(pk=one_row.pk)
        .annotate(x=expression)
        .values_list("x", flat=True)
        .get()
    )
    assert sql == Period.of(arrival, months).month_13_on


@SETTINGS
@given(
    arrival=arrivals,
    approved=extensions,
    refused=extensions,
    offset=st.integers(-60, 60),
)
def test_with_period_agrees_with_the_period_of_the_same_row(arrival, approved, refused, offset):
    user = get_user_model().objects.first() or get_user_model().objects.create(username="pm")
    s = SponsorshipFactory(arrival_date=arrival, matched_on=arrival)
    now = timezone.now()
    for months, status in [(m, "approved") for m in approved] + [(m, "refused") for m in refused]:
        Extension.objects.create(
            sponsorship=s,
            months=months,
            reason="x",
            status=status,
            requested_by=user,
            decided_at=now,
        )
    row = Sponsorship.objects.with_period().get(pk=s.pk)
    expected = Period(arrival, tuple(approved))
    assert row.period_month_13_on == expected.month_13_on == row.month_13_on
    assert row.committed_months == expected.committed_months
    # Today before and after month 13: the SQL filter the sweep uses says the same.
    today = expected.month_13_on + datetime.timedelta(days=offset)
    in_sql = (
        Sponsorship.objects.with_period().filter(pk=s.pk, period_month_13_on__lte=today).exists()
    )
    assert in_sql == (expected.month_13_on <= today)
    assert (row.current_month(today) or 0) <= MAX_SUPPORT_MONTHS


def test_periods_end_after_each_extension_in_turn():
    period = Period(D(2024, 2, 29), (6, 24))
    assert period.period_ends() == [D(2025, 2, 28), D(2025, 8, 29), D(2027, 2, 28)]
    assert period.committed_months == MAX_SUPPORT_MONTHS
    assert period.month_13_on == D(2027, 2, 28)
    assert period.base_ends_on == D(2025, 2, 27)
