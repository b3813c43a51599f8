"""Hypothesis throws hostile input at the pledge form: never a 500, nothing stored when
invalid, everything escaped."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fundraising.forms import PledgeForm, parse_amount
from fundraising.models import Pledge
from tests.fundraising.test_campaign_page import url, valid_data

pytestmark = pytest.mark.django_db

HOSTILE = st.one_of(
    st.text(max_size=600),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=100, max_size=2000),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            '"><img src=x onerror=alert(1)>',
            "'; DROP TABLE fundraising_pledge; --",
            "Robert'); DELETE FROM auth_user; --",
            "\x00\x01\x1b[31m",
            "\u202eevil\u202c",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👪 한국어 ﷽",
            "{{ 7*7 }} {% debug %}",
        ]
    ),
)
AMOUNTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["NaN", "-0", "1e400", "9" * 500, "0.001", "Infinity", "５０", "1_000", "0x10"]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
FIELDS = ["donor_name", "email", "address", "public_message", "tribute_name", "months", "frequency"]

fuzz = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@fuzz
@given(field=st.sampled_from(FIELDS), value=HOSTILE, amount=AMOUNTS)
def test_it_survives_hostile_input(client, campaign, field, value, amount):
    cache.clear()  # the rate limit would otherwise stop hypothesis, not the form
    before = Pledge.objects.count()
    data = valid_data(**{field: value, "amount_choice": "other", "other_amount": amount})
    response = client.post(url(campaign), data)
    assert response.status_code in (200, 302, 400)
    html = response.content.decode()
    if response.status_code == 400:
        assert Pledge.objects.count() == before
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    if response.status_code == 302:
        pledge = Pledge.objects.latest("pk")
        page = client.get(response["Location"]).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page
        assert pledge.amount >= 5


@fuzz
@given(amount=AMOUNTS)
def test_it_only_accepts_amounts_between_the_limits(amount):
    try:
        value = parse_amount(amount)
    except Exception as exc:  # noqa: BLE001
        assert exc.__class__.__name__ == "ValidationError"
    else:
        assert 5 <= value <= 100000 and value == value.quantize(value.__class__("0.01"))


@fuzz
@given(data=st.dictionaries(st.sampled_from(FIELDS + ["other_amount", "idempotency_key"]), HOSTILE))
def test_it_validates_any_mapping_without_crashing(campaign, data):
    form = PledgeForm(
        data | {"idempotency_key": data.get("idempotency_key", str(uuid.uuid4()))},
        campaign=campaign,
    )
    form.is_valid()  # must not raise
