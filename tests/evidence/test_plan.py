"""The settlement plan as a PDF in the filed sections; each member signs a version (typed
name and date); a changed plan or a signature over 90 days old asks for a new one."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import logging

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


# --- who is responsible, and the stored PDF's own hash -----------------------------------------


def _name(user, first: str, last: str):
    user.first_name, user.last_name = first, last
    user.save(update_fields=["first_name", "last_name"])
    return user


def test_the_pdf_names_each_items_responsible_member_and_due_date(sponsorship, treasurer, member):
    from sponsorship.models import Membership
    from sponsorship.portal_services import milestone_set_responsible

    housing = sponsorship.milestones.get(title="Permanent housing")
    milestone_set_responsible(milestone=housing, responsible=_name(treasurer, "Tess", "Trent"))
    school = sponsorship.milestones.get(title__startswith="Language assessment")
    milestone_set_responsible(milestone=school, responsible=_name(member, "Bob", "Barker"))
    Membership.objects.filter(user=member).delete()  # Bob left the group since
    version = services.plan_version_current(sponsorship=sponsorship)
    text = _text(files.read_decrypted(version.blob_name))
    flat = " ".join(text.split())
    assert "Due Item Responsible" in flat
    housing_section = flat[flat.index("Housing") : flat.index("Orientation and community")]
    assert f"{housing.due_on.isoformat()} Permanent housing" in housing_section
    assert "Tess Trent" in housing_section
    language = flat[flat.index("Language assessment") :]
    assert "Bob Barker (former member)" in language
    assert "Not named yet" in flat  # the items no one was named for
    # Income support: its own items, then the months with their source.
    income = flat[flat.index("Income support by month") :]
    assert "Start-up funds and month-1 income support given" in income
    assert "Source:" in income and "Month From Amount" in income


def test_naming_a_responsible_member_is_a_changed_plan_to_sign_again(
    sponsorship, member, coordinator
):
    from sponsorship.portal_services import milestone_set_responsible

    first = services.plan_version_current(sponsorship=sponsorship)
    services.plan_acknowledge(
        version=first, user=member, typed_name="Bob Example", signed_on=timezone.localdate()
    )
    item = sponsorship.milestones.get(title="Permanent housing")
    milestone_set_responsible(milestone=item, responsible=coordinator)
    second = services.plan_version_current(sponsorship=sponsorship)
    assert second.content_hash != first.content_hash
    statuses = {row.membership.user: row.status for row in signature_statuses(sponsorship, second)}
    assert statuses[member] == "changed"
    milestone_set_responsible(milestone=item, responsible=member)  # someone else: changed again
    assert services.plan_version_current(sponsorship=sponsorship) not in (first, second)


def test_a_plan_naming_no_one_keeps_the_hash_its_members_signed(sponsorship):
    """The fields added later are left out of the hash while empty (evidence/plan.py): an
    existing plan (its items placed by the migration as the titles placed them before, so
    the income item under "other") hashes exactly the JSON it hashed before."""
    sponsorship.milestones.filter(area="income_support").update(area="other")
    signed = json.loads(plan_content(sponsorship).canonical())
    assert set(signed["sections"]) == {
        "reception",
        "housing",
        "health",
        "education",
        "language",
        "employment",
        "orientation",
        "other",
    }
    items = [item for section in signed["sections"].values() for item in section]
    assert items and all(set(item) == {"title", "due_on", "description"} for item in items)


def test_the_stored_pdfs_sha256_is_recorded_and_checked(sponsorship):
    version = services.plan_version_current(sponsorship=sponsorship)
    stored = files.read_decrypted(version.blob_name)
    assert version.pdf_sha256 == hashlib.sha256(stored).hexdigest()
    assert services.plan_version_pdf(version=version) == stored


def _swap_stored_pdf(version, data: bytes) -> None:
    """What a tampered store looks like: another file, validly encrypted, under the name."""
    storage = files.storage()
    storage.delete(version.blob_name)
    token = files.cipher().encrypt(data)
    with storage.open(version.blob_name, "wb") as handle:
        handle.write(token)


@pytest.mark.parametrize("tamper", ["other_pdf", "garbage"])
def test_a_tampered_stored_pdf_is_reported_not_served(client, sponsorship, member, caplog, tamper):
    version = services.plan_version_current(sponsorship=sponsorship)
    original = files.read_decrypted(version.blob_name)
    if tamper == "other_pdf":
        # An incremental update appended to the PDF: it still opens, and says something else.
        _swap_stored_pdf(version, original + b"\n% an appended revision\n")
    else:
        with files.storage().open(version.blob_name, "wb") as handle:
            handle.write(b"not what was stored")
    client.force_login(member)
    with caplog.at_level(logging.ERROR, logger="evidence.services"):
        response = client.get(reverse("evidence:plan-pdf", args=[version.public_id]))
    assert response.status_code == 500
    assert "failed its check" in response.content.decode()
    assert not response.content.startswith(b"%PDF")
    assert "Content-Disposition" not in response
    assert "integrity check" in caplog.text and sponsorship.family.case_code in caplog.text


def test_the_pack_leaves_out_a_tampered_plan_pdf_and_says_so(
    client, sponsorship, program_manager, member
):
    import zipfile

    version = services.plan_version_current(sponsorship=sponsorship)
    services.plan_acknowledge(
        version=version, user=member, typed_name="Bob Example", signed_on=timezone.localdate()
    )
    client.force_login(program_manager)
    url = reverse("admin:evidence_sponsorshipevidence_pack", args=[sponsorship.pk])
    archive = zipfile.ZipFile(io.BytesIO(client.get(url).getvalue()))
    (plan_name,) = [n for n in archive.namelist() if n.startswith("plan/")]
    assert hashlib.sha256(archive.read(plan_name)).hexdigest() == version.pdf_sha256

    _swap_stored_pdf(version, b"%PDF-1.4 a different file")
    archive = zipfile.ZipFile(io.BytesIO(client.get(url).getvalue()))
    assert not [n for n in archive.namelist() if n.startswith("plan/")]
    summary = " ".join(_text(archive.read("summary.pdf")).split())
    assert "FAILED its integrity check" in summary
