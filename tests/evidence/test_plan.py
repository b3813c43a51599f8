"""The settlement plan as a PDF in the filed sections; each member signs a version (typed
name and date); a changed plan or a signature over 90 days old asks for a new one."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from evidence import files, services
from evidence.models import PlanAcknowledgement, PlanVersion
from evidence.plan import plan_content
from evidence.selectors import signature_statuses

pytestmark = pytest.mark.django_db


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_plan_pdf_has_the_filed_sections_and_income_by_month(sponsorship):
    version = services.plan_version_current(sponsorship=sponsorship)
    text = _text(files.read_decrypted(version.blob_name))
    for heading in (
        "Reception",
        "Housing",
        "Orientation",
        "Health",
        "Education",
        "Language",
        "Employment",
        "Income support by month",
    ):
        assert heading in text
    assert "Airport reception" in text and "Permanent housing" in text
    assert "Source:" in text and "financial commitment" in text
    assert sponsorship.family.case_code in text
    assert version.content_hash in text.replace("\n", "")
    # Names never: the plan is identified by the case code.
    principal = sponsorship.family.members.first()
    assert principal.given_name not in text


def test_a_version_is_reused_until_the_plan_changes(sponsorship):
    first = services.plan_version_current(sponsorship=sponsorship)
    assert services.plan_version_current(sponsorship=sponsorship) == first
    milestone = sponsorship.milestones.first()
    milestone.completed_on = timezone.localdate()  # progress is not a change of plan
    milestone.save()
    assert services.plan_version_current(sponsorship=sponsorship) == first
    milestone.due_on += datetime.timedelta(days=3)
    milestone.save()
    second = services.plan_version_current(sponsorship=sponsorship)
    assert second != first and PlanVersion.objects.count() == 2


def test_members_sign_and_staff_see_who_has_not(
    client, sponsorship, coordinator, treasurer, member
):
    url = reverse("evidence:plan-acknowledge", args=[sponsorship.public_id])
    client.force_login(member)
    response = client.post(
        url, {"typed_name": "Bob Example", "signed_on": timezone.localdate().isoformat()}
    )
    assert response.status_code == 302
    ack = PlanAcknowledgement.objects.get()
    assert ack.user == member and ack.typed_name == "Bob Example"
    version = PlanVersion.objects.get()
    signed_pdf = files.read_decrypted(version.blob_name)
    statuses = {row.membership.user: row.status for row in signature_statuses(sponsorship, version)}
    assert statuses == {member: "signed", coordinator: "missing", treasurer: "missing"}

    # The plan changes: the signature is for an earlier version.
    milestone = sponsorship.milestones.first()
    milestone.due_on += datetime.timedelta(days=1)
    milestone.save()
    new = services.plan_version_current(sponsorship=sponsorship)
    statuses = {row.membership.user: row.status for row in signature_statuses(sponsorship, new)}
    assert statuses[member] == "changed"
    assert "Signed an earlier version" in client.get(url).content.decode()
    # The signed version stays as it was, hash and bytes.
    assert PlanVersion.objects.get(pk=version.pk).content_hash == version.content_hash
    assert files.read_decrypted(version.blob_name) == signed_pdf
    assert version.content_hash in _text(signed_pdf).replace("\n", "")
    assert new.content_hash not in _text(signed_pdf).replace("\n", "")
    assert ack.version == version


def test_a_signature_older_than_90_days_asks_for_a_new_one(sponsorship, member):
    version = services.plan_version_current(sponsorship=sponsorship)
    services.plan_acknowledge(
        version=version, user=member, typed_name="Bob Example", signed_on=timezone.localdate()
    )
    later = timezone.now() + datetime.timedelta(days=91)
    with time_machine.travel(later, tick=False):
        (row,) = [
            r for r in signature_statuses(sponsorship, version) if r.membership.user == member
        ]
        assert row.status == "expired"


@pytest.mark.parametrize(
    ("typed_name", "days_ago", "message"),
    [
        ("", 0, "full name"),
        ("Bob Example", -1, "future"),
        ("Bob Example", 91, "90 days"),
    ],
)
def test_bad_signatures_are_refused(sponsorship, member, typed_name, days_ago, message):
    version = services.plan_version_current(sponsorship=sponsorship)
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    with pytest.raises(ValidationError, match=message):
        services.plan_acknowledge(
            version=version, user=member, typed_name=typed_name, signed_on=day
        )
    assert not PlanAcknowledgement.objects.exists()


def test_signing_a_plan_that_changed_meanwhile_is_refused(sponsorship, member):
    version = services.plan_version_current(sponsorship=sponsorship)
    milestone = sponsorship.milestones.first()
    milestone.due_on += datetime.timedelta(days=1)
    milestone.save()
    with pytest.raises(ValidationError, match="changed"):
        services.plan_acknowledge(
            version=version, user=member, typed_name="Bob", signed_on=timezone.localdate()
        )


def test_the_plan_pdf_is_for_the_group_and_staff_only(
    client, sponsorship, member, other_member, case_worker
):
    version = services.plan_version_current(sponsorship=sponsorship)
    url = reverse("evidence:plan-pdf", args=[version.public_id])
    client.force_login(other_member)
    assert client.get(url).status_code == 404
    for allowed in (member, case_worker):
        client.force_login(allowed)
        response = client.get(url)
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        assert response["Content-Disposition"].startswith("attachment")


def test_plan_content_hash_ignores_progress(sponsorship):
    before = plan_content(sponsorship).content_hash
    sponsorship.milestones.update(completed_on=timezone.localdate())
    assert plan_content(sponsorship).content_hash == before


def test_a_signature_sent_with_mistakes_opens_on_the_error_summary(client, sponsorship, member):
    """The portal's forms open on a summary of their mistakes, each a link to its field."""
    services.plan_version_current(sponsorship=sponsorship)
    client.force_login(member)
    url = reverse("evidence:plan-acknowledge", args=[sponsorship.public_id])
    response = client.post(url, {"typed_name": "", "signed_on": timezone.localdate()})
    assert response.status_code == 400
    html = response.content.decode()
    assert "data-error-summary" in html and "There is a problem" in html
    assert 'href="#id_typed_name"' in html
    assert not PlanAcknowledgement.objects.exists()
