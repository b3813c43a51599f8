"""Findings of a security test of the running app (docs/security.md), each closed here."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


# --- F3: behind a load balancer, lockouts and rate limits key on the client ------------------


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 5


def _from(client_ip: str) -> dict:
    # The load balancer (10.0.0.2) appends the address it saw; a client may forge entries
    # to the left of it.
    return {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": f"203.0.113.99, {client_ip}"}


def test_bad_passwords_from_one_client_do_not_lock_out_the_user_at_another(
    client, behind_one_proxy, member
):
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": member.email, "password": "wrong-password"},
            **_from("198.51.100.1"),
        )
    locked = client.post(
        reverse("login"), {"username": member.email, "password": PASSWORD}, **_from("198.51.100.1")
    )
    assert locked.status_code in (403, 429) or "_auth_user_id" not in client.session
    other = client.__class__()
    response = other.post(
        reverse("login"), {"username": member.email, "password": PASSWORD}, **_from("192.0.2.7")
    )
    assert response.status_code == 302 and "_auth_user_id" in other.session


def test_the_pledge_rate_limit_counts_each_client_separately(client, behind_one_proxy, settings):
    from config.middleware import client_address

    class Request:
        META = _from("198.51.100.1")

    assert client_address(Request()) == "198.51.100.1"
    Request.META = {"REMOTE_ADDR": "10.0.0.2"}  # did not come through the proxy
    assert client_address(Request()) == "10.0.0.2"
    Request.META = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not-an-address"}
    assert client_address(Request()) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 0
    Request.META = _from("198.51.100.1")
    assert client_address(Request()) == "10.0.0.2"


def test_twenty_pledges_from_one_client_do_not_rate_limit_another(
    client, behind_one_proxy, settings
):
    from fundraising import demo

    campaign = demo.seed()
    settings.FUNDRAISING_PLEDGE_RATE = "3/h"
    url = reverse("fundraising:campaign", args=[campaign.slug])
    for _ in range(4):
        client.post(url, {"donor_name": "x"}, **_from("198.51.100.1"))
    limited = client.post(url, {"donor_name": "x"}, **_from("198.51.100.1"))
    other = client.post(url, {"donor_name": "x"}, **_from("192.0.2.7"))
    assert limited.status_code == 429
    assert other.status_code != 429


# --- F7: the admin sign-in is rate limited per address ---------------------------------------


def test_the_admin_sign_in_is_rate_limited_per_address(client, settings):
    settings.PORTAL_SIGN_IN_RATE = "5/m"
    settings.AXES_ENABLED = False  # the rate limit alone, whatever the accounts
    statuses = [
        client.post(
            reverse("admin:login"), {"username": f"user{n}@example.org", "password": "x"}
        ).status_code
        for n in range(7)
    ]
    assert statuses[:5] == [200] * 5
    assert statuses[-1] == 429


# --- F11: pages for signed-in people are not stored by any cache ------------------------------


def test_portal_and_account_pages_send_no_store(client, coordinator, sponsorship):
    client.force_login(coordinator)
    for url in (
        reverse("portal:dashboard"),
        reverse("portal:sponsorship", args=[sponsorship.public_id]),
        reverse("portal:checkins", args=[sponsorship.public_id]),
        reverse("notification-preferences"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


# --- F14: the breach register is no existence oracle ------------------------------------------


def test_the_breach_register_answers_non_managers_the_same_whether_a_record_exists(
    client, case_worker, program_manager
):
    from config.models import BreachRecord

    record = BreachRecord.objects.create(
        occurred_on=timezone.localdate(),
        data_affected="case_file",
        risk="low",
        what_happened="Fictional.",
        recorded_by=program_manager,
    )
    client.force_login(case_worker)
    for page in ("history", "change", "delete"):
        there = client.get(reverse(f"admin:config_breachrecord_{page}", args=[record.pk]))
        absent = client.get(reverse(f"admin:config_breachrecord_{page}", args=[record.pk + 999]))
        assert there.status_code == absent.status_code == 403, page
