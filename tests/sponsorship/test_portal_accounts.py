"""Joining and signing in: invitations from the admin, accepting them, forgotten passwords,
rate limits (429) and the lockout page."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sponsorship import portal_services
from sponsorship.models import Invitation, Membership
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _invite(group, case_worker, email="new@example.org", role="member"):
    return portal_services.invitation_create(
        email=email, group=group, role=role, invited_by=case_worker
    )


def test_staff_invite_from_the_admin_and_the_email_carries_the_link(
    client, case_worker, group, django_capture_on_commit_callbacks
):
    client.force_login(case_worker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:sponsorship_invitation_add"),
            {"email": "Volunteer@Example.org", "group": group.pk, "role": "coordinator"},
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "volunteer@example.org",
        "coordinator",
        case_worker,
    )
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "/portal/invitations/" in body and group.name in body
    assert mail.outbox[0].to == ["volunteer@example.org"]


def test_the_admin_refuses_inviting_an_existing_member(client, case_worker, group, member):
    client.force_login(case_worker)
    response = client.post(
        reverse("admin:sponsorship_invitation_add"),
        {"email": member.email, "group": group.pk, "role": "member"},
        follow=True,
    )
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()


def test_fundraising_staff_cannot_invite(client, fundraiser, group):
    client.force_login(fundraiser)
    response = client.get(reverse("admin:sponsorship_invitation_add"))
    assert response.status_code == 403


def test_an_invitee_sets_a_password_joins_and_is_signed_in(client, group, case_worker):
    _invitation, token = _invite(group, case_worker)
    url = reverse("portal:invitation-accept", args=[token])
    page = client.get(url).content.decode()
    assert group.name in page and "new@example.org" in page
    response = client.post(
        url,
        {
            "first_name": "Nari",
            "last_name": "",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    user = get_user_model().objects.get(email="new@example.org")
    assert Membership.objects.filter(user=user, group=group, role="member").exists()
    assert client.get(reverse("portal:dashboard")).wsgi_request.user == user
    # Single use: the link is spent.
    client.logout()
    assert client.get(url).status_code == 410


def test_mismatched_or_weak_passwords_are_refused_next_to_the_field(client, group, case_worker):
    _invitation, token = _invite(group, case_worker)
    url = reverse("portal:invitation-accept", args=[token])
    response = client.post(
        url,
        {"first_name": "N", "password1": "a long passphrase 42", "password2": "different one 42"},
    )
    assert "don&#x27;t match" in response.content.decode()
    response = client.post(url, {"first_name": "N", "password1": "12345", "password2": "12345"})
    assert "too short" in response.content.decode()
    assert not get_user_model().objects.filter(email="new@example.org").exists()


def test_an_unknown_or_expired_link_says_what_to_do(client, group, case_worker, time_machine):
    assert client.get(reverse("portal:invitation-accept", args=["nope"])).status_code == 404
    _invitation, token = _invite(group, case_worker)
    time_machine.move_to(timezone.now() + datetime.timedelta(days=7, minutes=1))
    response = client.get(reverse("portal:invitation-accept", args=[token]))
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_an_existing_account_is_asked_to_sign_in_first(client, group, case_worker, other_member):
    _invitation, token = _invite(group, case_worker, email=other_member.email)
    url = reverse("portal:invitation-accept", args=[token])
    assert "Sign in, then open" in client.get(url).content.decode()
    client.force_login(other_member)
    assert client.post(url).status_code == 302
    assert Membership.objects.filter(user=other_member, group=group).exists()


def test_invitation_links_are_rate_limited_per_address(client, settings):
    settings.PORTAL_INVITATION_RATE = "3/m"
    for _ in range(3):
        assert client.get(reverse("portal:invitation-accept", args=["guess"])).status_code == 404
    response = client.get(reverse("portal:invitation-accept", args=["guess"]))
    assert response.status_code == 429
    assert "Please wait a moment" in response.content.decode()


# --- sign in, forgotten password --------------------------------------------------------------


def test_sign_in_posts_are_rate_limited_with_a_polite_page(client, settings, member):
    settings.PORTAL_SIGN_IN_RATE = "2/m"
    settings.AXES_ENABLED = False
    for _ in range(2):
        client.post(reverse("login"), {"username": member.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": member.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Please wait a moment" in response.content.decode()
    assert client.get(reverse("login")).status_code == 200  # reading the page is not limited


def test_repeated_failures_show_the_friendly_lockout_page(client, member):
    for _ in range(5):
        client.post(reverse("login"), {"username": member.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": member.email, "password": PASSWORD})
    html = response.content.decode()
    assert response.status_code in {403, 429}
    assert "Too many failed sign-in attempts" in html and "Reset my password" in html


def test_forgot_password_sends_a_link_that_sets_a_new_password(
    client, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("password_reset"), {"email": "BOB@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []  # nothing is sent inside the request...
    for callback in queued:  # ...the Celery task sends it after commit
        callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Choose a new password for the HanVoice sponsor portal"
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", message.body).group(1)
    response = client.get(link, follow=True)
    assert "Choose a new password" in response.content.decode()
    response = client.post(
        response.redirect_chain[-1][0],
        {"new_password1": "brand new passphrase 7", "new_password2": "brand new passphrase 7"},
        follow=True,
    )
    assert "Your password has been changed" in response.content.decode()
    member.refresh_from_db()
    assert member.check_password("brand new passphrase 7")


def test_forgot_password_says_the_same_for_unknown_addresses(
    client, member, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(
            reverse("password_reset"), {"email": "nobody@example.org"}, follow=True
        )
    assert "Check your e-mail" in response.content.decode()
    assert mail.outbox == [] and len(queued) == 1
    # Known and unknown addresses cost the request the same work: no account look-up at all.
    with django_capture_on_commit_callbacks() as known, django_assert_num_queries(0):
        client.post(reverse("password_reset"), {"email": member.email})
    with django_capture_on_commit_callbacks() as unknown, django_assert_num_queries(0):
        client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert len(known) == len(unknown) == 1


def test_password_reset_posts_are_rate_limited(client, settings):
    settings.PORTAL_PASSWORD_RESET_RATE = "2/m"
    for _ in range(2):
        client.post(reverse("password_reset"), {"email": "a@example.org"})
    assert client.post(reverse("password_reset"), {"email": "a@example.org"}).status_code == 429


@pytest.mark.parametrize(
    "name", ["password_reset", "password_reset_done", "login", "password_reset_complete"]
)
def test_account_pages_extend_the_site_layout_with_one_heading(client, name):
    html = client.get(reverse(name)).content.decode()
    assert html.count("<h1") == 1 and "Skip to main content" in html
