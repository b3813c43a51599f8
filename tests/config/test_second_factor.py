"""Staff open the admin only after a second factor when STAFF_REQUIRE_2FA is on."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _require_2fa(settings):
    settings.STAFF_REQUIRE_2FA = True


def _sign_in(client, user):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": PASSWORD, "next": "/admin/"},
    )


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


@pytest.mark.django_db
def test_it_sends_a_signed_in_staff_member_to_the_second_factor(client, case_worker):
    response = _sign_in(client, case_worker)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/second-factor/")
    # Password alone does not open the admin.
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_it_enrols_an_authenticator_and_then_opens_the_admin(client, case_worker):
    _sign_in(client, case_worker)
    page = client.get("/accounts/second-factor/?next=/admin/")
    assert page.status_code == 200
    assert "data:image/svg+xml;base64," in page.content.decode()
    device = TOTPDevice.objects.get(user=case_worker)
    assert not device.confirmed

    response = client.post("/accounts/second-factor/", {"token": _code(device), "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_it_refuses_a_wrong_code_next_to_the_field(client, case_worker):
    TOTPDevice.objects.create(user=case_worker, name="phone", confirmed=True)
    _sign_in(client, case_worker)
    response = client.post("/accounts/second-factor/", {"token": "000000", "next": "/admin/"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "That code is not valid" in html
    assert 'aria-invalid="true"' in html or "is-invalid" in html
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_it_ignores_an_offsite_next(client, case_worker):
    device = TOTPDevice.objects.create(user=case_worker, name="phone", confirmed=True)
    _sign_in(client, case_worker)
    response = client.post(
        "/accounts/second-factor/", {"token": _code(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/admin/"


@pytest.mark.django_db
def test_it_lets_staff_in_without_a_code_when_the_demo_turns_it_off(client, settings, case_worker):
    settings.STAFF_REQUIRE_2FA = False
    response = _sign_in(client, case_worker)
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_admin_sign_in_asks_for_an_email_address(client):
    html = client.get("/admin/login/").content.decode()
    assert "E-mail address" in html
