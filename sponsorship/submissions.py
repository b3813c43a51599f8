"""Portal forms that cannot write twice (docs/forms.md).

Every portal form carries a one-time token (a hidden field made when the form is shown).
`submit_once` consumes the token in the same transaction as the write: the first POST with a
token writes and records where the result is shown; any later POST with the same token
(Back then Save again, a double click, a retried request) writes nothing and is sent there.
A write that is refused (ValidationError) rolls the token back with it, so the person can
correct the form and send it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from sponsorship.models import FormSubmission


@dataclass(frozen=True)
class Submitted:
    target: str  # the URL that shows what the form wrote
    first: bool  # False: the token had been used; nothing was written this time


def submit_once(*, token: uuid.UUID | None, user, write: Callable[[], str]) -> Submitted:
    """Run `write` (which returns the URL of what it wrote) at most once per token."""
    if token is None:  # a page from before tokens, or a script: no protection to offer
        return Submitted(target=write(), first=True)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the duplicate insert fails alone
                submission = FormSubmission.objects.create(token=token, user=user)
        except IntegrityError:
            earlier = FormSubmission.objects.filter(token=token, user=user).first()
            if earlier is None or not earlier.target:
                raise ValidationError(
                    _("This form was already used. Reload the page and try again.")
                ) from None
            return Submitted(target=earlier.target, first=False)
        submission.target = write()
        submission.save(update_fields=["target"])
        return Submitted(target=submission.target, first=True)


def with_new_token(url: str) -> str:
    """`url` of a form page with a fresh token: opening the form again is a new form (the
    server-side twin of `{% new_form_token %}`, for the redirect after a save)."""
    return f"{url}?form={uuid.uuid4()}"


def page_token(request: HttpRequest, form: str = "") -> uuid.UUID | None:
    """The form token carried by the page's address (`?form=`, see templatetags/form_tokens.py):
    the same on Back or Reload. One page with several forms derives one token per form."""
    try:
        token = uuid.UUID(request.GET.get("form", ""))
    except ValueError:
        return None
    return uuid.uuid5(token, form) if form else token
