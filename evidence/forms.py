"""Portal forms for evidence: the shape of an upload (the service checks the bytes)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin_forms import NativeDateInput
from evidence.models import Document
from sponsorship.forms import RequestTokenForm


class DocumentUploadForm(RequestTokenForm):
    # A page open from before tokens still uploads (sponsorship/forms.py).
    token_required = False
    # A plain field with a select widget: a value not offered (another group's id typed in)
    # is the view's 404, not a form error that would confirm or deny the id exists.
    target = forms.CharField(label=_("Evidence of"), widget=forms.Select)
    kind = forms.ChoiceField(label=_("Kind of document"), choices=Document.Kind.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "PDF, JPEG, PNG or a phone's HEIC photo. On a phone you can take a photo of the "
            "receipt."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": "application/pdf,image/jpeg,image/png,image/heic,image/heif,image/*"}
        ),
    )

    def __init__(self, *args, targets: list[tuple[str, Any]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].widget.choices = targets


class PlanAcknowledgeForm(forms.Form):
    typed_name = forms.CharField(
        label=_("Your full name"),
        max_length=150,
        help_text=_("Typing your name is your signature: you have read this plan and agree."),
    )
    signed_on = forms.DateField(label=_("Date"), widget=NativeDateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["signed_on"].initial = today
        self.fields["signed_on"].widget.format = "%Y-%m-%d"
        self.fields["signed_on"].widget.attrs["max"] = today.isoformat()
