"""Pages rendered once and served many times, with slots for what differs on every response.

The public campaign page (the same for every anonymous visitor) and the portal dashboard (the
same for one member until something it shows changes) are rendered once and kept; what differs
on every response is the CSRF token in their forms (the sign-out button, the language switcher,
the pledge form). They are rendered with `CSRF_SLOT` as the token and `fill_csrf_slot` puts the
request's own token in each slot when the page is served (docs/performance.md). One-time
tokens (the pledge form's idempotency key, the portal's form tokens) are rendered as a slot
string of the caller's choosing and `fill_token_slots` puts a new one in each.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

CSRF_SLOT = "csrf-token-slot-4b1e0c7f9a"


def render_with_csrf_slot(template_name: str, context: dict[str, Any], request: HttpRequest) -> str:
    """The page as `render` would make it, with `CSRF_SLOT` where the CSRF token goes: the
    context's `csrf_token` wins over the one the CSRF context processor would give."""
    return render_to_string(template_name, context | {"csrf_token": CSRF_SLOT}, request=request)


def fill_csrf_slot(html: str, request: HttpRequest) -> str:
    """`html` with this request's CSRF token in each slot (and the CSRF cookie set, as
    `{% csrf_token %}` would)."""
    return html.replace(CSRF_SLOT, get_token(request))


def fill_token_slots(html: str, slot: str) -> str:
    """`html` with a new random token (a UUID) in each occurrence of `slot`."""
    parts = html.split(slot)
    out = [parts[0]]
    for part in parts[1:]:
        out += [str(uuid.uuid4()), part]
    return "".join(out)
