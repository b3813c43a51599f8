"""The one helper that renders and sends e-mails (healthchecks' emails.py).

Each e-mail is a triple of templates: `templates/emails/<name>-subject.txt`,
`<name>-body.txt` and `<name>-body.html`. A leaf module: it imports no app, so every
app may use it. Callers pass ids and case codes, never a family's names: subjects go
through mail servers' logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def render(name: str, context: dict[str, Any], language: str | None = None) -> tuple[str, str, str]:
    """Return (subject, text body, html body) of e-mail `name` in `language`."""
    ctx = {"site_url": settings.SITE_URL, "charity": settings.CHARITY, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject: str = render_to_string(f"emails/{name}-subject.txt", ctx)
        text: str = render_to_string(f"emails/{name}-body.txt", ctx)
        html: str = render_to_string(f"emails/{name}-body.html", ctx)
    return " ".join(subject.split()), text, html  # one-line subject, whatever the template


def stable_message_id(key: str) -> str:
    """A Message-ID fixed by what the e-mail is for (e.g. "reminder-42").

    Sending is at-least-once in one tiny window: a worker that dies after the mail server
    accepted a message but before its row was marked sent sends it again later. With the
    same Message-ID, that resend is the same message to the recipient's mail system, which
    shows it once.
    """
    domain = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return f"<{key}@{domain or 'hanvoice.local'}>"


def send(
    name: str,
    to: Sequence[str],
    context: dict,
    *,
    language: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    message_key: str | None = None,
) -> None:
    """Render and send e-mail `name` now. Raises on delivery failure: callers record it.

    `message_key` names the row the e-mail comes from, giving it a stable Message-ID.
    """
    subject, text, html = render(name, context, language)
    headers = dict(headers or {})
    if message_key:
        headers["Message-ID"] = stable_message_id(message_key)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send(fail_silently=False)
