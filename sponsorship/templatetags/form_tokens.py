"""`{% new_form_token %}`: a fresh one-time token for a link to a portal form.

The token rides in the form page's address (`?form=...`), so Back, Reload or a refetch of
that page shows the same token, and saving it twice writes once (sponsorship/submissions.py,
docs/forms.md). Each link rendered gets a new one: opening the form again is a new form.

HTML kept between requests (the portal dashboard's content) is rendered with `SLOT` in
the context's `form_token_slot`: the tag then writes the slot, and `fresh_form_tokens` puts
a new token in each slot every time the HTML is served.
"""

from __future__ import annotations

import uuid

from django import template

from core.page_slots import fill_token_slots

register = template.Library()

SLOT = "form-token-slot-7d1f0c"


@register.simple_tag(takes_context=True)
def new_form_token(context: template.Context) -> str:
    if context.get("form_token_slot") == SLOT:
        return SLOT
    return str(uuid.uuid4())


def fresh_form_tokens(html: str) -> str:
    """`html` with a new token in each slot."""
    return fill_token_slots(html, SLOT)
