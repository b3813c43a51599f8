"""The public pledge form and the staff forms of the admin's intermediate pages."""

from __future__ import annotations

import copy
import functools
import re
import unicodedata
import uuid
from decimal import Decimal
from typing import TypeVar

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Fieldset, Layout
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext_lazy as _

from core.admin_forms import NativeDateInput
from core.money import format_money
from fundraising.models import Campaign, Payment, Pledge, ReceiptBranding

OTHER = "other"

# What a person may type, per page language, once compatibility forms are folded (NFKC turns
# full-width "５０" into "50") and every kind of space (no-break, narrow no-break) is a plain
# space. ASCII digits only ([0-9], not \d): no exponent, no "NaN", no sign, no other script's
# digits. English and Korean: "1,000.50"; French: "1 000,50" (a period is also read as the
# decimal mark when one or two digits follow it, as in "50.25").
_INTEGER = {
    "comma": r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+",
    "space": r"[0-9]{1,3}(?: [0-9]{3})+|[0-9]+",
}
_FORMATS = {
    "en": (_INTEGER["comma"], r"\.", ","),
    "fr": (_INTEGER["space"], r"[,.]", " "),
}
_CURRENCY = re.compile(r"^(?:CA\$|\$\s*CA|CAD|\$)\s*|\s*(?:CA\$|\$\s*CA|CAD|\$)$", re.IGNORECASE)


def min_amount() -> Decimal:
    return Decimal(str(getattr(settings, "FUNDRAISING_MIN_AMOUNT", "5")))


def max_amount() -> Decimal:
    return Decimal(str(getattr(settings, "FUNDRAISING_MAX_ONLINE_AMOUNT", "100000")))


def _normalise(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text)
    text = re.sub(r" +", " ", text.strip())
    return _CURRENCY.sub("", text).strip()


def _read(text: str, style: str) -> Decimal | None:
    """The amount `text` means in one language's format, or None if it is not that format."""
    integer, decimal_mark, group = _FORMATS[style]
    match = re.fullmatch(rf"({integer})(?:{decimal_mark}([0-9]{{1,2}}))?", text)
    if match is None:
        return None
    whole = match.group(1).replace(group, "")
    return Decimal(f"{whole}.{match.group(2) or '0'}")


def _format_style(language: str) -> str:
    return "fr" if (language or "").split("-")[0] == "fr" else "en"


def _bare_number(value: Decimal, *, places: int) -> str:
    """The page language's number format without the currency sign (the message places it)."""
    return format_money(value, places=places).replace("$", "").strip()


def parse_amount(raw: str, language: str | None = None) -> Decimal:
    """A dollar amount typed by a person in the page's language, or ValidationError.

    The one place an amount typed on the public page is read. Anything above the online limit
    gets the large-gift message, whichever format it was typed in.
    """
    text = _normalise(raw)
    style = _format_style(language or get_language() or settings.LANGUAGE_CODE)
    amount = _read(text, style)
    if amount is None:
        other = _read(text, "en" if style == "fr" else "fr")
        if other is not None and other > max_amount():
            amount = other
    if amount is None or len(text) > 40:
        raise ValidationError(
            _("Enter an amount in dollars, like 50 or 50.25 (at most two decimals)."),
            code="format",
        )
    if amount > max_amount():
        raise ValidationError(
            _("For gifts above $%(max)s, please contact us: we will help you directly.")
            % {"max": _bare_number(max_amount(), places=0)},
            code="max",
        )
    if amount < min_amount():
        raise ValidationError(
            _("The smallest gift we can accept online is $%(min)s.")
            % {"min": _bare_number(min_amount(), places=0)},
            code="min",
        )
    return amount.quantize(Decimal("0.01"))


# Bidirectional overrides can make a donor-wall name read as something else.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def no_control_characters(value: str) -> None:
    if any(
        (unicodedata.category(ch) == "Cc" and ch not in "\n\r\t") or ch in BIDI_CONTROLS
        for ch in value
    ):
        raise ValidationError(_("Remove the invisible control characters from this text."))


def single_line(value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValidationError(_("Keep this on one line."))


# The pledge form's layout shows this through {% translate %} (an HTML layout object), which
# makemessages cannot see in a .py file: name it here so that it reaches the catalogues.
gettext_noop(
    "Your gift supports the program as a whole: HanVoice decides how funds are used for the "
    "families it brings to safety."
)
gettext_noop(
    "Public on this page once HanVoice staff have reviewed it: your name (or “Anonymous”), "
    "your message and your tribute. Never public: the amount, your e-mail and your address."
)


PAY_LATER_NOTE = (
    '<p class="small" id="pay-later-note">{% load i18n %}'
    "{% translate 'You pay after pledging, by Interac e-Transfer or cheque: the next page and "
    "your confirmation e-mail explain how.' %}</p>"
)


_Copied = TypeVar("_Copied")
_Field = TypeVar("_Field", bound=forms.Field)


def _shallow_copy(obj: _Copied) -> _Copied:
    """What `copy.copy` makes of a field or a widget (a new instance with the same attributes),
    without its generic path through `__reduce_ex__`, which cost more than the rest."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def _field_copy(field: _Field, memo: dict) -> _Field:
    """The copy Django's `Field.__deepcopy__` makes (its widget and `Widget.__deepcopy__`'s, a
    choice widget's list of choices, its own error messages and validators); a choice field's
    choices are deep-copied unless it is a SharedChoiceField."""
    result = _shallow_copy(field)
    memo[id(field)] = result
    widget = result.widget = _shallow_copy(field.widget)
    widget.attrs = field.widget.attrs.copy()
    if isinstance(widget, forms.widgets.ChoiceWidget):
        widget.choices = copy.copy(field.widget.choices)
    memo[id(field.widget)] = widget
    result.error_messages = field.error_messages.copy()
    result.validators = field.validators[:]
    if isinstance(field, forms.ChoiceField) and not isinstance(field, SharedChoiceField):
        result._choices = copy.deepcopy(field._choices, memo)  # type: ignore[attr-defined]  # ChoiceField's
    return result


class QuickCopyFields(dict):
    """A form class's `base_fields`, which Django deep-copies for every form built: the same
    copies (`_field_copy`) made directly. Copying its fields through `copy.copy` was most of
    building the pledge form on every pledge POST (docs/performance.md, "Pledge POST");
    tests/fundraising/test_pledge_form_copies.py compares the copies with Django's."""

    def __deepcopy__(self, memo: dict) -> dict:
        return {name: _field_copy(field, memo) for name, field in self.items()}


class SharedChoiceField(forms.ChoiceField):
    """A choice field whose choices no form changes in place (a form may replace them): each
    form's copy shares them with the class's field instead of deep-copying and normalising
    them again. The pledge form is built on every pledge POST, and copying its five choice
    fields was a third of building it (docs/performance.md, "Pledge POST")."""

    def __deepcopy__(self, memo: dict) -> SharedChoiceField:
        return _field_copy(self, memo)


class PledgeForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    # A honeypot: hidden from people (CSS, aria-hidden, no tab stop), filled by bots.
    website = forms.CharField(label=_("Leave this field empty"), required=False, max_length=200)
    amount_choice = SharedChoiceField(label=_("Amount"), required=False, widget=forms.RadioSelect)
    other_amount = forms.CharField(
        label=_("Other amount ($)"),
        required=False,
        max_length=20,
        help_text=_("Minimum $5."),
    )
    frequency = SharedChoiceField(
        label=_("How often"),
        choices=[
            (Pledge.Frequency.ONE_TIME, _("One time")),
            (Pledge.Frequency.MONTHLY, _("Every month")),
        ],
        initial=Pledge.Frequency.ONE_TIME,
        widget=forms.RadioSelect,
    )
    months = forms.IntegerField(
        label=_("For how many months"),
        required=False,
        initial=12,
        help_text=_("From 1 to 36 months."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    donor_name = forms.CharField(
        label=_("Full name"),
        max_length=120,
        validators=[no_control_characters, single_line],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        help_text=_("For your confirmation and receipt. Never shown publicly."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    wants_receipt = forms.BooleanField(
        label=_("I would like an official tax receipt"), required=False, initial=True
    )
    address = forms.CharField(
        label=_("Postal address"),
        required=False,
        max_length=400,
        validators=[no_control_characters],
        help_text=_("Needed for a tax receipt (Canada Revenue Agency). Never shown publicly."),
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    show_name = SharedChoiceField(
        label=_("On the donor wall"),
        choices=[("show", _("Show my name")), ("anonymous", _("Give anonymously"))],
        initial="show",
        widget=forms.RadioSelect,
    )
    public_message = forms.CharField(
        label=_("Public message (optional)"),
        required=False,
        max_length=280,
        validators=[no_control_characters],
        help_text=_("Public, after review. Please do not name or describe any family."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    tribute_kind = SharedChoiceField(
        label=_("Tribute"),
        required=False,
        choices=[
            ("", _("No tribute")),
            (Pledge.Tribute.HONOUR, _("In honour of")),
            (Pledge.Tribute.MEMORY, _("In memory of")),
        ],
    )
    tribute_name = forms.CharField(
        label=_("Name of the person honoured or remembered"),
        required=False,
        max_length=120,
        help_text=_(
            "Public beside your name, after review. Not shown if you give anonymously, so that "
            "it cannot identify you."
        ),
        validators=[no_control_characters, single_line],
    )
    consent_to_contact = forms.BooleanField(
        label=_("HanVoice may contact me about this program"), required=False
    )
    # Only when card gifts are on (fundraising.card.card_enabled): see __init__.
    payment = SharedChoiceField(
        label=_("How you will pay"),
        choices=[
            ("card", _("By card, now (secure payment page by Stripe)")),
            ("later", _("Later, by Interac e-Transfer or cheque")),
        ],
        initial="card",
        required=False,
        widget=forms.RadioSelect,
    )
    cover_fee = forms.BooleanField(
        label=_("Add the card processing fee so that HanVoice receives my whole gift"),
        required=False,
    )

    def __init__(
        self,
        *args,
        campaign: Campaign,
        language: str | None = None,
        card: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.card = card
        if not card:
            del self.fields["payment"], self.fields["cover_fee"]
        self.campaign = campaign
        self.language = language or get_language() or settings.LANGUAGE_CODE
        self.suggested = campaign.suggested_amount_list()
        self.fields["amount_choice"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            (str(a), format_money(a, places=0)) for a in self.suggested
        ] + [(OTHER, _("Other"))]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())
            if len(self.suggested) > 1:
                self.initial.setdefault("amount_choice", str(self.suggested[1]))

    @functools.cached_property
    def helper(self) -> FormHelper:
        """The layout, built only when the form is rendered: a valid POST never is (the
        pledge POST builds its form on every request, docs/performance.md)."""
        card = self.card
        helper = FormHelper()
        helper.form_tag = False
        helper.layout = Layout(
            "idempotency_key",
            Div(
                Field("website", autocomplete="off", tabindex="-1"),
                css_class="hv-hp",
                aria_hidden="true",
            ),
            Fieldset(
                _("Your gift"),
                Field("amount_choice", template="fundraising/includes/_amount_buttons.html"),
                Field("other_amount", inputmode="decimal", autocomplete="off"),
                InlineRadios("frequency"),
                Div("months", css_id="months-wrapper"),
                *(["payment", "cover_fee"] if card else [HTML(PAY_LATER_NOTE)]),
            ),
            Fieldset(_("About you"), "donor_name", "email", "wants_receipt", "address"),
            Fieldset(
                _("Donor wall"),
                HTML(
                    '<p class="small" id="wall-public-note">{% load i18n %}'
                    "{% translate 'Public on this page once HanVoice staff have reviewed it: your "
                    "name (or “Anonymous”), your message and your tribute. Never public: the "
                    "amount, your e-mail and your address.' %}</p>"
                ),
                InlineRadios("show_name"),
                "public_message",
                "tribute_kind",
                "tribute_name",
            ),
            "consent_to_contact",
            HTML(
                '<p class="small text-body-secondary">{% load i18n %}'
                "{% translate 'Your gift supports the program as a whole: HanVoice decides how "
                "funds are used for the families it brings to safety.' %}</p>"
            ),
        )
        return helper

    def clean_months(self) -> int | None:
        months = self.cleaned_data.get("months")
        if months is not None and not 1 <= months <= 36:
            raise ValidationError(_("Choose between 1 and 36 months."))
        return months

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        other = (cleaned.get("other_amount") or "").strip()
        choice = cleaned.get("amount_choice") or ""
        if other or choice == OTHER:
            if not other:
                self.add_error("other_amount", _("Enter the amount you would like to give."))
            else:
                try:
                    cleaned["amount"] = parse_amount(other, self.language)
                except ValidationError as exc:
                    self.add_error("other_amount", exc)
        elif choice:
            cleaned["amount"] = parse_amount(choice, "en")  # the buttons' values: "25", "50"
        else:
            self.add_error("amount_choice", _("Choose an amount or enter another one."))
        if cleaned.get("frequency") == Pledge.Frequency.MONTHLY:
            if cleaned.get("months") is None and "months" not in self.errors:
                self.add_error("months", _("Say for how many months (1 to 36)."))
        else:
            cleaned["months"] = 1
        if cleaned.get("wants_receipt") and not (cleaned.get("address") or "").strip():
            self.add_error(
                "address",
                _("A postal address is needed for a tax receipt. Or untick the receipt box."),
            )
        cleaned["pays_by_card"] = self.card and (cleaned.get("payment") or "card") != "later"
        if cleaned.get("tribute_kind") and not (cleaned.get("tribute_name") or "").strip():
            self.add_error("tribute_name", _("Whom is your gift in honour or in memory of?"))
        return cleaned

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get("website"))


PledgeForm.base_fields = QuickCopyFields(PledgeForm.base_fields)


# Card payments come from Stripe's notifications only (docs/fundraising.md).
OFFLINE_METHODS = [(v, label) for v, label in Payment.Method.choices if v != Payment.Method.CARD]


class RecordPaymentForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01")
    )
    received_on = forms.DateField(
        label=_("Received on"), initial=timezone.localdate, widget=NativeDateInput
    )
    method = forms.ChoiceField(label=_("Method"), choices=OFFLINE_METHODS)
    method_reference = forms.CharField(
        label=_("Cheque no. / transfer reference"), required=False, max_length=60
    )


class CancelReplaceForm(forms.Form):
    reason = forms.CharField(label=_("Why is it replaced?"), max_length=200)
    donor_name = forms.CharField(
        label=_("Corrected donor name (optional)"), required=False, max_length=120
    )
    donor_address = forms.CharField(
        label=_("Corrected donor address (optional)"), required=False, widget=forms.Textarea
    )


class YearlyReceiptForm(forms.Form):
    donor_email = forms.EmailField(label=_("Donor e-mail"))
    year = forms.IntegerField(label=_("Calendar year"), min_value=2000, max_value=2100)


class DonorLookupForm(forms.Form):
    email = forms.EmailField(label=_("Donor e-mail"))


class YearEndForm(forms.Form):
    year = forms.IntegerField(
        label=_("Calendar year"),
        min_value=2000,
        max_value=2100,
        initial=lambda: timezone.localdate().year - 1,
    )


MAX_IMAGE_BYTES = 1_000_000


class ReceiptBrandingForm(forms.ModelForm):
    """Uploads stored as bytes in the row (no file storage): PNG or JPEG, checked by Pillow."""

    logo_file = forms.ImageField(label=_("Logo (PNG or JPEG)"), required=False)
    signature_file = forms.ImageField(label=_("Signature (PNG or JPEG)"), required=False)

    class Meta:
        model = ReceiptBranding
        fields: list[str] = []

    def _read(self, name: str) -> bytes | None:
        upload = self.cleaned_data.get(name)
        if not upload:
            return None
        if upload.size > MAX_IMAGE_BYTES:
            raise ValidationError({name: _("Keep the image under 1 MB.")})
        if getattr(upload, "image", None) and upload.image.format not in ("PNG", "JPEG"):
            raise ValidationError({name: _("Upload a PNG or JPEG image.")})
        upload.seek(0)
        return upload.read()

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        try:
            self.logo_bytes = self._read("logo_file")
            self.signature_bytes = self._read("signature_file")
        except ValidationError as exc:
            for field_name, errors in exc.error_dict.items():
                self.add_error(field_name, errors)
        return cleaned

    def save(self, commit: bool = True) -> ReceiptBranding:
        branding = super().save(commit=False)
        if self.logo_bytes:
            branding.logo = self.logo_bytes
        if self.signature_bytes:
            branding.signature = self.signature_bytes
        if commit:
            branding.save()
        return branding


class PaymentImportForm(forms.Form):
    source = forms.ChoiceField(
        label=_("File from"),
        choices=[
            ("bank", _("Bank or Interac e-Transfer statement (matched by HV- reference)")),
            ("canadahelps", _("CanadaHelps donation export")),
            ("benevity", _("Benevity donation export")),
        ],
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign (CanadaHelps, Benevity)"),
        queryset=Campaign.objects.all(),
        required=False,
    )
    file = forms.FileField(label=_("CSV file"), required=False)
    content = forms.CharField(required=False, widget=forms.HiddenInput)

    MAX_BYTES = 2_000_000

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        upload = cleaned.get("file")
        if upload:
            if upload.size > self.MAX_BYTES:
                raise ValidationError(_("Keep the file under 2 MB."))
            try:
                cleaned["content"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ValidationError(_("Save the file as CSV in UTF-8.")) from exc
        if not cleaned.get("content"):
            self.add_error("file", _("Choose the CSV file."))
        return cleaned
