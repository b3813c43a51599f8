"""Hypothesis throws hostile input at every portal form (and sign-in, password reset,
invitation acceptance): never a 500, nothing stored when the form is refused, everything
escaped in what comes back."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sponsorship import portal_services
from sponsorship.models import CheckIn, Disbursement, Membership, Milestone, Review

pytestmark = pytest.mark.django_db

HOSTILE = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=100, max_size=6000),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            '"><img src=x onerror=alert(1)>',
            "'; DROP TABLE sponsorship_checkin; --",
            "1 OR 1=1; DELETE FROM auth_user; --",
            "\x00\x01\x1b[31m\r\n",
            "\u202eevil\u202c",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👪 한국어 ﷽",
            "{{ 7*7 }} {% debug %}",
            "9" * 400,
            "-1e400",
            "NaN",
            "2026-02-30",
            "",
        ]
    ),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
)

fuzz = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _state(sponsorship) -> tuple:
    """Everything a portal form could write, to compare before and after a refused form."""
    return (
        CheckIn.objects.count(),
        Disbursement.objects.count(),
        list(Milestone.objects.filter(sponsorship=sponsorship).order_by("pk").values()),
        list(Review.objects.filter(sponsorship=sponsorship).order_by("pk").values()),
        get_user_model().objects.count(),
        Membership.objects.count(),
    )


def _post(client: Client, url: str, data: dict, sponsorship) -> None:
    cache.clear()  # the rate limits would otherwise stop hypothesis, not the form
    before = _state(sponsorship)
    response = client.post(url, data)
    assert response.status_code < 500
    html = response.content.decode(errors="replace")
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    if response.status_code != 302:  # refused: nothing stored
        assert _state(sponsorship) == before, response.status_code


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _today() -> str:
    return timezone.localdate().isoformat()


@fuzz
@given(field=st.sampled_from(["who", "summary", "concern", "happened_on", "kind"]), value=HOSTILE)
def test_it_survives_hostile_check_ins(sponsorship, member, field, value):
    data = {
        "request_token": str(uuid.uuid4()),
        "happened_on": _today(),
        "kind": CheckIn.Kind.choices[0][0],
        "who": "Bob",
        "wellbeing": CheckIn.Wellbeing.choices[0][0],
        "concern_level": CheckIn.Concern.NONE,
        field: value,
    }
    url = reverse("portal:checkin-create", args=[sponsorship.public_id])
    _post(_signed_in(member), url, data, sponsorship)


@fuzz
@given(field=st.sampled_from(["amount", "note", "month_number", "paid_on", "kind"]), value=HOSTILE)
def test_it_survives_hostile_disbursements(sponsorship, treasurer, field, value):
    data = {
        "request_token": str(uuid.uuid4()),
        "kind": Disbursement.Kind.choices[0][0],
        "month_number": "1",
        "amount": "100.00",
        "paid_on": _today(),
        "method": Disbursement.Method.choices[0][0],
        "note": "",
        field: value,
    }
    url = reverse("portal:disbursement-create", args=[sponsorship.public_id])
    _post(_signed_in(treasurer), url, data, sponsorship)


MILESTONE_FORMS = [
    ("portal:milestone-complete", {"completed_on": "TODAY", "note": ""}),
    ("portal:milestone-note", {"text": "ok"}),
    ("portal:milestone-waiver", {"reason": "ok"}),
]


@fuzz
@given(form=st.sampled_from(MILESTONE_FORMS), value=HOSTILE, which=st.integers(0, 1))
def test_it_survives_hostile_milestone_input(sponsorship, coordinator, form, value, which):
    name, defaults = form
    data = {k: _today() if v == "TODAY" else v for k, v in defaults.items()}
    data[list(data)[which % len(data)]] = value
    milestone = sponsorship.milestones.filter(completed_on__isnull=True).first()
    url = reverse(name, args=[milestone.public_id])
    _post(_signed_in(coordinator), url, data, sponsorship)


@fuzz
@given(field=st.sampled_from(["title", "due_on", "description"]), value=HOSTILE)
def test_it_survives_hostile_plan_items(sponsorship, coordinator, field, value):
    data = {"title": "Library card", "due_on": _today(), "description": "", field: value}
    url = reverse("portal:milestone-add", args=[sponsorship.public_id])
    _post(_signed_in(coordinator), url, data, sponsorship)


@fuzz
@given(value=HOSTILE)
def test_it_survives_hostile_review_input(sponsorship, coordinator, value):
    review = sponsorship.reviews.first()
    url = reverse("portal:review-input", args=[review.public_id])
    _post(_signed_in(coordinator), url, {"text": value}, sponsorship)


@fuzz
@given(field=st.sampled_from(["first_name", "last_name", "password1", "password2"]), value=HOSTILE)
def test_it_survives_hostile_invitation_acceptance(sponsorship, case_worker, field, value):

    _invitation, token = portal_services.invitation_create(
        email=f"{uuid.uuid4().hex}@example.org",
        group=sponsorship.group,
        role=Membership.Role.MEMBER,
        invited_by=case_worker,
    )
    password = "a long and private passphrase 2026"
    data = {"first_name": "Ana", "last_name": "", "password1": password, "password2": password}
    data[field] = value
    url = reverse("portal:invitation-accept", args=[token])
    _post(Client(), url, data, sponsorship)


@fuzz
@given(username=HOSTILE, password=HOSTILE)
def test_it_survives_hostile_sign_ins(sponsorship, username, password):
    _post(Client(), reverse("login"), {"username": username, "password": password}, sponsorship)


@fuzz
@given(email=HOSTILE)
def test_it_survives_hostile_password_resets(sponsorship, email):
    _post(Client(), reverse("password_reset"), {"email": email}, sponsorship)
