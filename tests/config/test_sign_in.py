from __future__ import annotations

import pytest

from core.roles import CASE_WORKER
from tests.factories import PASSWORD, StaffFactory, UserFactory


@pytest.mark.django_db
def test_it_signs_in_with_the_email_address_in_any_case(client):
    UserFactory(email="Member@Example.org", username="member@example.org")
    response = client.post(
        "/accounts/login/", {"username": "MEMBER@example.ORG", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/"


@pytest.mark.django_db
def test_it_says_why_a_sign_in_failed(client):
    UserFactory(email="member@example.org")
    response = client.post(
        "/accounts/login/", {"username": "member@example.org", "password": "wrong"}
    )
    assert response.status_code == 200
    assert "don&#x27;t match" in response.content.decode()


@pytest.mark.django_db
def test_the_portal_needs_a_sign_in(client):
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_the_login_page_labels_the_email_field(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'type="email"' in html
    assert "E-mail address" in html


@pytest.mark.django_db
def test_staff_who_sign_in_on_the_sign_in_page_land_on_the_admin_dashboard(client, settings):
    settings.STAFF_REQUIRE_2FA = False
    StaffFactory(email="cw@hanvoice.test", roles=[CASE_WORKER])
    response = client.post(
        "/accounts/login/", {"username": "cw@hanvoice.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


@pytest.mark.django_db
def test_a_next_page_asked_for_still_wins(client):
    StaffFactory(email="cw@hanvoice.test", roles=[CASE_WORKER])
    response = client.post(
        "/accounts/login/?next=/accounts/notifications/",
        {"username": "cw@hanvoice.test", "password": PASSWORD},
    )
    assert response["Location"] == "/accounts/notifications/"
