"""The one helper that renders and sends e-mails (healthchecks' emails.py).

Each e-mail is a triple of templates: `templates/emails/<name>-subject.txt`,
`<name>-body.txt` and `<name>-body.html`. A leaf module: it imports no app, so every
app may use it. Callers pass ids and case codes, never a family's names: subjects go
through mail servers' logs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import Message
from email.policy import Compat32
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

# A header value that needs no folding nor encoding: printable ASCII words with single spaces.
_PLAIN_HEADER = re.compile(r"[!-~]+(?: [!-~]+)*")


class PlainHeadersCompat32(Compat32):
    """Python's compat32 policy, which Django's messages use, writing a short ASCII header as
    it stands instead of through an `email.header.Header`.

    compat32 builds and encodes a Header for every header of every part (thirteen in a
    confirmation e-mail): 0.15 of the 0.35 ms writing one out took, a tenth of the worker's
    CPU per e-mail (docs/performance.md, "Pledge POST"). For a value of printable ASCII
    words with single spaces that fits on its line, the Header gives the value back as it
    is; anything else (non-ASCII subjects, folded parameters, long lines) goes through
    compat32 as before. tests/config/test_emails.py checks that both give the same bytes.
    """

    def _plain(self, name: str, value: object) -> bool:
        limit = self.max_line_length or 0
        return (
            isinstance(value, str)
            and (not limit or len(name) + 2 + len(value) <= limit)
            and _PLAIN_HEADER.fullmatch(value) is not None
        )

    def fold(self, name: str, value: Any) -> str:
        if self._plain(name, value):
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if self._plain(name, value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


PLAIN_HEADERS = PlainHeadersCompat32()


class _Message(EmailMultiAlternatives):
    def message(self) -> Message:
        message = super().message()
        # The generator that writes the message out (every mail backend calls as_bytes) takes
        # the top part's policy for every part.
        message.policy = PLAIN_HEADERS
        return message


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
    message = _Message(
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
