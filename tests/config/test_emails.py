"""The e-mail helper: a stable Message-ID per row, so a resend after a crash is one message."""

from __future__ import annotations

from email.policy import compat32

import pytest
from django.core import mail
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core import emails
from sponsorship import reminders
from sponsorship.models import Reminder
from tests.factories import PledgeFactory


def test_a_message_key_gives_the_same_message_id_every_time(settings):
    settings.SITE_URL = "https://sponsor.hanvoice.ca"
    assert emails.stable_message_id("reminder-42") == "<reminder-42@sponsor.hanvoice.ca>"
    assert emails.stable_message_id("reminder-42") == emails.stable_message_id("reminder-42")


def test_a_reminder_e_mail_carries_its_rows_message_id(sponsorship, coordinator):
    from django.utils import timezone

    milestone = sponsorship.milestones.filter(completed_on__isnull=True).latest("due_on")
    row = Reminder.objects.create(
        kind=Reminder.Kind.MILESTONE_DUE,
        subject_key=f"milestone:{milestone.pk}",
        due_on=timezone.localdate(),
        recipient=coordinator,
        sponsorship=sponsorship,
        milestone=milestone,
        group=sponsorship.group,
    )
    assert reminders.reminder_deliver(reminder_id=row.pk) == "sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == emails.stable_message_id(
        f"reminder-{row.pk}"
    )


# --- Writing headers out: compat32's result, without its Header for plain short values -------

HEADER_NAMES = ["Subject", "To", "From", "Date", "Message-ID", "Content-Type", "List-Unsubscribe"]


@given(
    name=st.sampled_from(HEADER_NAMES),
    value=st.one_of(
        st.text(max_size=120),
        st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=127), max_size=120),
        st.lists(st.text(alphabet="abcXYZ019;,.<>@=-", min_size=1, max_size=12), max_size=12).map(
            " ".join
        ),
    ),
    linesep=st.sampled_from(["\n", "\r\n"]),
)
@hypothesis_settings(max_examples=400, deadline=None)
def test_a_header_is_written_as_compat32_writes_it(name, value, linesep):
    ours, stock = emails.PLAIN_HEADERS.clone(linesep=linesep), compat32.clone(linesep=linesep)
    for fold in ("fold", "fold_binary"):
        try:
            expected = getattr(stock, fold)(name, value)
        except Exception as exc:  # noqa: BLE001 - ours must fail the same way
            with pytest.raises(type(exc)):
                getattr(ours, fold)(name, value)
        else:
            assert getattr(ours, fold)(name, value) == expected


@pytest.mark.parametrize("language", ["en", "fr", "ko"])
def test_a_whole_e_mail_is_the_same_bytes_as_with_pythons_policy(language, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    emails.send(
        "pledge-confirmation",
        ["donor@example.org"],
        {"pledge": PledgeFactory.build(reference="HV-ABCD-2345", language=language)},
        language=language,
        headers={"List-Unsubscribe": "<https://example.org/stop/abc/>"},
        message_key="donor-email-7",
    )
    message = mail.outbox[-1].message()
    assert message.policy is emails.PLAIN_HEADERS
    ours = message.as_bytes(linesep="\r\n")
    message.policy = compat32
    assert ours == message.as_bytes(linesep="\r\n")
    if language == "ko":
        assert b"=?utf-8?" in ours  # the Korean subject still encoded by compat32
