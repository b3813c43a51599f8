"""django-axes: repeated failures lock the sign-in, the page says so and for how long, and a
program manager unlocks the account from the admin."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory


def _fail(client: Client, email: str, times: int):
    response = None
    for _ in range(times):
        response = client.post(reverse("login"), {"username": email, "password": "wrong"})
    return response


@pytest.mark.django_db
def test_it_locks_after_the_limit_and_says_how_long(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(email="member@example.org")
    response = _fail(client, "member@example.org", 3)
    assert response.status_code in (403, 429)
    html = response.content.decode()
    assert "Too many failed sign-in attempts" in html
    assert "Try again in 30 minutes" in html
    # Even the right password is refused while locked.
    response = client.post(
        reverse("login"), {"username": "member@example.org", "password": PASSWORD}
    )
    assert response.status_code in (403, 429)


@pytest.mark.django_db
def test_a_program_manager_unlocks_from_the_admin(client, settings, program_manager):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(email="member@example.org")
    _fail(client, "member@example.org", 3)
    attempt = AccessAttempt.objects.get(username="member@example.org")

    staff = Client()
    staff.force_login(program_manager)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "member@example.org" in staff.get(changelist).content.decode()
    response = staff.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()

    response = client.post(
        reverse("login"), {"username": "member@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302  # signed in again


@pytest.mark.django_db
def test_a_case_worker_cannot_unlock(case_worker):
    staff = Client()
    staff.force_login(case_worker)
    assert staff.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403
