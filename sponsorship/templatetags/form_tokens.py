"""`{% new_form_token %}`: a fresh one-time token for a link to a portal form.

The token rides in the form page's address (`?form=...`), so Back, Reload or a refetch of
that page shows the same token, and saving it twice writes once (sponsorship/submissions.py,
docs/forms.md). Each link rendered gets a new one: opening the form again is a new form.
"""

from __future__ import annotations

import uuid

from django import template

register = template.Library()


@register.simple_tag
def new_form_token() -> str:
    return str(uuid.uuid4())
