"""Staff open the admin only after a second factor when STAFF_REQUIRE_2FA is on."""

from __future__ import annotations

import pytest
from django_otp.models import Device
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.middleware import CompiledOTPMiddleware
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _require_2fa(settings):
    settings.STAFF_REQUIRE_2FA = True


def _sign_in(client, user):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": PASSWORD, "next": "/admin/"},
    )


def _pending(client, user) -> TOTPDevice:
    """The enrolment device of `client`'s session (its secret is kept in that session)."""
    from config.otp import PENDING_KEY

    return TOTPDevice(user=user, key=client.session[PENDING_KEY])


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
    assert not TOTPDevice.objects.filter(user=case_worker).exists()  # only in the session
    device = _pending(client, case_worker)

    response = client.post("/accounts/second-factor/", {"token": _code(device), "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/second-factor/backup-codes/"  # offered next
    device = TOTPDevice.objects.get(user=case_worker)
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


@pytest.mark.django_db
def test_two_sessions_enrolling_the_same_account_never_see_the_same_secret(client, case_worker):
    from django.test import Client

    other = Client()
    _sign_in(client, case_worker)
    _sign_in(other, case_worker)
    first = client.get("/accounts/second-factor/").context["secret"]
    second = other.get("/accounts/second-factor/").context["secret"]
    assert first and second and first != second

    stolen = _pending(other, case_worker)
    response = client.post("/accounts/second-factor/", {"token": _code(stolen)})
    assert response.status_code == 200  # the other session's secret does not enrol this one
    TOTPDevice.objects.update(throttling_failure_count=0)  # as after waiting a moment
    mine = _pending(client, case_worker)
    assert client.post("/accounts/second-factor/", {"token": _code(mine)}).status_code == 302
    assert other.post("/accounts/second-factor/", {"token": _code(stolen)}).status_code == 200
    assert TOTPDevice.objects.filter(user=case_worker).count() == 1


@pytest.mark.django_db
def test_after_too_many_wrong_codes_the_page_says_to_wait(client, case_worker):
    device = TOTPDevice.objects.create(user=case_worker, name="phone", confirmed=True)
    _sign_in(client, case_worker)
    client.post("/accounts/second-factor/", {"token": "000000"})
    client.post("/accounts/second-factor/", {"token": "000001"})
    response = client.post("/accounts/second-factor/", {"token": _code(device)})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Too many wrong codes: wait" in html and "not valid" not in html


@pytest.mark.django_db
def test_backup_codes_are_shown_once_work_once_and_are_logged(client, case_worker, caplog):
    from django.test import Client

    device = TOTPDevice.objects.create(user=case_worker, name="phone", confirmed=True)
    _sign_in(client, case_worker)
    client.post("/accounts/second-factor/", {"token": _code(device)})
    made = client.post("/accounts/second-factor/backup-codes/")
    codes = made.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    again = client.get("/accounts/second-factor/backup-codes/").content.decode()
    assert not any(code in again for code in codes) and "10 unused backup codes" in again

    lost_phone = Client()
    _sign_in(lost_phone, case_worker)
    response = lost_phone.post("/accounts/second-factor/", {"token": codes[0], "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert lost_phone.get("/admin/").status_code == 200
    assert "backup code used by user" in caplog.text

    reused = Client()
    _sign_in(reused, case_worker)
    refused = reused.post("/accounts/second-factor/", {"token": codes[0]})
    assert refused.status_code == 200 and reused.get("/admin/").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("post", "/accounts/notifications/", {}),
        ("post", "/portal/inbox/read/", {}),
        ("get", "/accounts/password_change/", None),
        ("get", "/portal/", None),
        ("get", "/accounts/second-factor/backup-codes/", None),
        ("post", "/accounts/second-factor/backup-codes/", {}),
    ],
)
def test_a_password_alone_opens_no_staff_page(client, case_worker, method, url, data):
    from django_otp.plugins.otp_static.models import StaticDevice

    from sponsorship.models import NotificationPreference

    _sign_in(client, case_worker)
    response = getattr(client, method)(url, data) if data is not None else client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/second-factor/")
    assert not NotificationPreference.objects.filter(user=case_worker).exists()
    assert not StaticDevice.objects.filter(user=case_worker).exists()


def test_the_device_in_the_session_is_read_as_django_otp_reads_it(case_worker):
    """config.middleware.CompiledOTPMiddleware compiles the device read once per process:
    the same device, or none, for every persistent id django_otp would accept or refuse."""
    device = TOTPDevice.objects.create(user=case_worker, name="phone", confirmed=True)
    middleware = CompiledOTPMiddleware(lambda request: None)
    found = middleware._device_from_persistent_id(device.persistent_id)
    assert found == Device.from_persistent_id(device.persistent_id)
    assert (found.user_id, found.confirmed, found.key) == (case_worker.pk, True, device.key)
    for refused in (
        "otp_totp.totpdevice/999999",
        "otp_totp.totpdevice/x",
        "auth.user/1",
        "nothing.here/1",
        "no-slash",
    ):
        assert middleware._device_from_persistent_id(refused) is None, refused
