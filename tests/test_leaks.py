"""Leak checks: with the demo data (and one family with unmistakable names) in the database,
no public page, no e-mail a donor or a sponsor group can receive, and no log line of the main
journeys contains a household member's name, date of birth or a case narrative; no public
page shows a donor's e-mail or postal address."""

from __future__ import annotations

import datetime
import logging
import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import dateformat, timezone

from core import emails
from families.models import CaseNote, Family, HouseholdMember
from fundraising import demo as fundraising_demo
from fundraising import services as fundraising_services
from fundraising.models import Payment, Pledge
from sponsorship import demo as sponsorship_demo
from sponsorship import portal_services
from sponsorship.models import CheckIn, Membership, Sponsorship
from sponsorship.tasks import run_reminder_sweep
from tests.factories import HouseholdMemberFactory, SponsorshipFactory
from tests.fundraising.test_campaign_page import valid_data

UNMISTAKABLE = {
    "given": "Zhyxquanna",
    "family": "Vornadelliq",
    "child": "Qwilbermae",
    "narrative": "Crossed the Tumen in a storm; the broker was called Yurdakovich.",
    "location": "Safehouse Xanthelbury, room 9",
}


def _date_forms(day: datetime.date) -> list[str]:
    formats = [
        "Y-m-d",
        "d/m/Y",
        "m/d/Y",
        "j F Y",
        "F j, Y",
        "N j, Y",
        "j M Y",
        settings.DATE_FORMAT,
    ]
    return sorted({dateformat.format(day, f) for f in formats})


@pytest.fixture(scope="module")
def secrets(django_db_setup, django_db_blocker):
    """Seed the demo data once for the module (rolled back at the end) and collect, by
    decrypting through the ORM, what must never leak."""

    with django_db_blocker.unblock(), transaction.atomic():
        sponsorship_demo.seed()
        campaign = fundraising_demo.seed()
        ours = Sponsorship.objects.filter(arrival_date__isnull=False).first()
        family = SponsorshipFactory(
            group=ours.group,
            arrival_date=timezone.localdate() - datetime.timedelta(days=70),
            family__narrative=UNMISTAKABLE["narrative"],
            family__current_location=UNMISTAKABLE["location"],
            family__principal=False,
        ).family
        HouseholdMemberFactory(
            family=family,
            given_name=UNMISTAKABLE["given"],
            family_name=UNMISTAKABLE["family"],
            date_of_birth=datetime.date(1983, 7, 19),
            is_principal_applicant=True,
            relationship=HouseholdMember.Relationship.PRINCIPAL,
        )
        HouseholdMemberFactory(
            family=family,
            given_name=UNMISTAKABLE["child"],
            family_name=UNMISTAKABLE["family"],
            date_of_birth=datetime.date(2016, 11, 3),
        )
        household: set[str] = set()
        for member in HouseholdMember.objects.all():
            household.update(n for n in (member.given_name, member.family_name) if n)
            if member.date_of_birth:
                household.update(_date_forms(member.date_of_birth))
        for f in Family.objects.all():
            household.update(
                t for t in (f.narrative, f.sgbv_notes, f.medical_needs, f.current_location) if t
            )
        household.update(n.text for n in CaseNote.objects.all() if n.text)
        household.update(c.summary for c in CheckIn.objects.all() if c.summary)
        donors: set[str] = set()
        for pledge in Pledge.objects.all():
            donors.add(pledge.email)
            donors.update(line for line in pledge.address.splitlines() if line.strip())
        for payment in Payment.objects.exclude(donor_email=""):
            donors.add(payment.donor_email)
        assert UNMISTAKABLE["given"] in household and "1983-07-19" in household
        assert len(household) > 30 and len(donors) > 40
        yield {"household": household, "donors": donors, "campaign": campaign, "family": family}
        transaction.set_rollback(True)


def _found(text: str, needles: set[str]) -> list[str]:
    """Needles found in `text`, as whole words (so "Wee" is not found in "Weekly")."""
    return sorted(n for n in needles if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text))


# --- public pages -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_public_page_shows_household_data_or_donor_details(secrets, client):
    campaign = secrets["campaign"]
    pledge = Pledge.objects.filter(campaign=campaign, is_anonymous=False).first()
    pages = [
        reverse("home"),
        reverse("fundraising:index"),
        reverse("fundraising:campaign", args=[campaign.slug]),
        reverse("fundraising:progress-json", args=[campaign.slug]),
        reverse("fundraising:widget", args=[campaign.slug]),
        reverse("healthz"),
        reverse("login"),
        reverse("password_reset"),
    ]
    seen = 0
    for path in pages:
        response = client.get(path, follow=True)
        assert response.status_code == 200, path
        text = response.content.decode()
        assert not _found(text, secrets["household"]), path
        assert not _found(text, secrets["donors"]), path
        seen += len(text)
    # The donor wall is on the campaign page: names of donors who agreed, never their details.
    wall = client.get(reverse("fundraising:campaign", args=[campaign.slug])).content.decode()
    assert pledge.donor_name in wall
    # The thank-you page is the donor's own (a secret link): no household data, and no other
    # donor's details.
    thanks = client.get(reverse("fundraising:pledge-thanks", args=[pledge.public_id]))
    text = thanks.content.decode()
    assert thanks.status_code == 200
    assert not _found(text, secrets["household"])
    own = {pledge.email, *pledge.address.splitlines()}
    assert not _found(text, secrets["donors"] - own)
    assert seen > 10_000  # the pages were real pages, not empty answers


# --- e-mails and the application log across the main journeys ---------------------------------


def _journeys(secrets, client: Client, capture) -> None:
    """Pledge, payment, receipt and its copy, donor sign-in link, portal check-in, invitation,
    password reset, reminder sweeps."""

    campaign = secrets["campaign"]
    with capture(execute=True):
        response = client.post(
            reverse("fundraising:campaign", args=[campaign.slug]),
            valid_data(frequency="monthly", months="12", email="leak.test@example.org"),
        )
    assert response.status_code == 302
    pledge = Pledge.objects.get(email="leak.test@example.org")
    with capture(execute=True):
        payment = fundraising_services.payment_record(
            pledge=pledge, amount=pledge.amount, received_on=timezone.localdate(), method="cash"
        )
        receipt = fundraising_services.receipt_issue(payment=payment)
        fundraising_services.receipt_send_copy(receipt=receipt)  # a copy marked DUPLICATE
        # The donor asks for a sign-in link to their own gifts (the donor-sign-in e-mail).
        fundraising_services.donor_link_request(email=pledge.email, language="en")
    # A portal check-in by the coordinator of the group that sponsors the unmistakable family.
    sponsorship = secrets["family"].sponsorships.get()
    coordinator = sponsorship.group.memberships.get(role=Membership.Role.COORDINATOR).user
    portal = Client()
    portal.force_login(coordinator)
    page = portal.get(reverse("portal:sponsorship", args=[sponsorship.public_id]))
    # Positive control: the group does see the family's name, so the needles are the real ones.
    assert _found(page.content.decode(), {UNMISTAKABLE["given"]})
    with capture(execute=True):
        response = portal.post(
            reverse("portal:checkin-create", args=[sponsorship.public_id]),
            {
                "request_token": "6f1c2a34-1111-4c5e-9d0a-1234567890ab",
                "happened_on": timezone.localdate().isoformat(),
                "kind": CheckIn.Kind.choices[0][0],
                "who": "Cora",
                "wellbeing": CheckIn.Wellbeing.choices[0][0],
                "summary": "",
                "concern_level": CheckIn.Concern.choices[-1][0],
                "concern": "Needs a doctor this week.",
            },
        )
    assert response.status_code == 302
    with capture(execute=True):
        portal_services.invitation_create(
            email="new.member@example.org",
            group=sponsorship.group,
            role=Membership.Role.MEMBER,
            invited_by=get_user_model().objects.get(email="caseworker@demo.hanvoice.test"),
        )
        Client().post(reverse("password_reset"), {"email": coordinator.email})
        run_reminder_sweep()
    # The donor sweeps: an instalment due in three days, then a lapsed pledge.
    for days in (28, 75):
        later = timezone.now() + datetime.timedelta(days=days)
        with time_machine.travel(later, tick=False), capture(execute=True):
            fundraising_services.donor_reminder_sweep()


@pytest.mark.django_db
def test_no_email_carries_household_data(
    secrets, client, monkeypatch, django_capture_on_commit_callbacks
):
    rendered: list[str] = []
    real_render = emails.render

    def spy(name, context, language=None):
        rendered.append(name)
        return real_render(name, context, language)

    monkeypatch.setattr(emails, "render", spy)
    _journeys(secrets, client, django_capture_on_commit_callbacks)

    templates = Path(settings.BASE_DIR) / "templates" / "emails"
    every_email = {p.name.removesuffix("-subject.txt") for p in templates.glob("*-subject.txt")}
    missing = every_email - set(rendered)
    assert not missing, f"e-mails no journey sent: drive them in _journeys(): {missing}"
    assert any("password" in m.subject.lower() for m in mail.outbox)  # the reset e-mail too
    assert len(mail.outbox) >= len(every_email)
    for message in mail.outbox:
        parts = [message.subject, message.body]
        parts += [content for content, _type in getattr(message, "alternatives", [])]
        for part in parts:
            assert not _found(part, secrets["household"]), message.subject


@pytest.mark.django_db
def test_no_log_line_of_the_main_journeys_carries_household_data(
    secrets, client, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    _journeys(secrets, client, django_capture_on_commit_callbacks)
    assert len(caplog.records) > 10  # the journeys did log
    logged = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {getattr(r, 'request', '')}" for r in caplog.records
    )
    assert not _found(logged, secrets["household"])
