"""Portal forms: they check shape (types, required, lengths) on the server; the services
check the rules (support period, the plan's sanity bound). Errors land next to the field."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin_forms import NativeDateInput
from sponsorship.models import CheckIn, Disbursement, FamilyIncome, PlanArea
from sponsorship.period import BASE_SUPPORT_MONTHS


class RequestTokenForm(forms.Form):
    """A one-time token in a hidden field: a reload, Back + Save again or a double click
    submits the same token, and sponsorship/submissions.py sends it to what the first
    submission wrote (docs/forms.md). Forms added to this later accept a missing token (an
    open page from before) rather than refuse it."""

    token_required = True
    request_token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, token: uuid.UUID | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["request_token"]
        field.required = self.token_required
        # Several forms share the milestone page: each hidden token needs its own id.
        field.widget.attrs["id"] = f"id_request_token_{type(self).__name__.lower()}"
        if not self.is_bound:
            self.initial.setdefault("request_token", token or uuid.uuid4())


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's refusal next to the field it names (or at the top of the form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class MilestoneCompleteForm(RequestTokenForm):
    token_required = False
    completed_on = forms.DateField(label=_("Done on"), widget=NativeDateInput)
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["completed_on"].initial = today
        self.fields["completed_on"].widget.attrs["max"] = today.isoformat()


def _responsible_choices(
    members: Sequence[tuple[int, str]], current=None
) -> list[tuple[int | str, object]]:
    """The group's members, "no one named yet" first, and a former member still named."""
    choices: list[tuple[int | str, object]] = [("", _("No one named yet"))]
    choices += list(members)
    if current is not None and current.pk not in {pk for pk, _name in members}:
        # Named before they left the group: kept as they are until someone else is named.
        name = current.get_full_name() or current.email
        choices.append((current.pk, _("%(name)s (former member)") % {"name": name}))
    return choices


class MilestoneAddForm(RequestTokenForm):
    """A group's own plan item. The responsible member is offered to those who may name one
    (`members` given: the coordinator); for the others the field is not there."""

    token_required = False
    title = forms.CharField(label=_("What needs doing"), max_length=150)
    # Not required: a page opened before the field existed still adds its item (as "other").
    area = forms.TypedChoiceField(
        label=_("Area of the settlement plan"),
        choices=PlanArea.choices,
        initial=PlanArea.OTHER,
        required=False,
        empty_value=PlanArea.OTHER.value,
    )
    due_on = forms.DateField(label=_("Due on"), widget=NativeDateInput)
    responsible = forms.TypedChoiceField(
        label=_("Responsible member"), coerce=int, empty_value=None, required=False
    )
    description = forms.CharField(
        label=_("Details (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, members: Sequence[tuple[int, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if members is None:
            del self.fields["responsible"]
        else:
            field = self.fields["responsible"]
            assert isinstance(field, forms.TypedChoiceField)
            field.choices = _responsible_choices(members)


class MilestoneResponsibleForm(RequestTokenForm):
    """Who answers for a plan item: one of the group's members, or no one yet. A value not
    offered (another group's member, an id typed in) is refused here, next to the field;
    the service checks membership again."""

    token_required = False
    responsible = forms.TypedChoiceField(
        label=_("Responsible member"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Changing who is responsible changes the plan: every member signs it again."),
    )

    def __init__(self, *args, members: Sequence[tuple[int, str]], current=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["responsible"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = _responsible_choices(members, current)
        if not self.is_bound and current is not None:
            self.initial["responsible"] = current.pk


class MilestoneWaiverForm(RequestTokenForm):
    token_required = False
    reason = forms.CharField(
        label=_("Why should HanVoice waive this item?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MilestoneNoteForm(RequestTokenForm):
    token_required = False
    text = forms.CharField(
        label=_("Add a note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CheckInForm(RequestTokenForm):
    happened_on = forms.DateField(label=_("Date"), widget=NativeDateInput)
    kind = forms.ChoiceField(label=_("Kind"), choices=CheckIn.Kind.choices)
    who = forms.CharField(
        label=_("Who took part"),
        max_length=200,
        help_text=_("e.g. Cora and Bob from the group, the whole family, an interpreter"),
    )
    wellbeing = forms.ChoiceField(
        label=_("How is the family doing?"),
        choices=CheckIn.Wellbeing.choices,
        widget=forms.RadioSelect,
    )
    summary = forms.CharField(
        label=_("Summary (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    concern_level = forms.ChoiceField(
        label=_("Anything for HanVoice staff?"),
        choices=CheckIn.Concern.choices,
        initial=CheckIn.Concern.NONE,
        widget=forms.RadioSelect,
        help_text=_("Urgent concerns reach the family's case worker at once."),
    )
    concern = forms.CharField(
        label=_("Describe the concern"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["happened_on"].initial = today
        self.fields["happened_on"].widget.attrs["max"] = today.isoformat()

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if (
            data.get("concern_level", CheckIn.Concern.NONE) != CheckIn.Concern.NONE
            and not (data.get("concern") or "").strip()
        ):
            self.add_error("concern", _("Describe the concern so staff can act on it."))
        return data


class DisbursementForm(RequestTokenForm):
    kind = forms.ChoiceField(label=_("What for"), choices=Disbursement.Kind.choices)
    month_number = forms.TypedChoiceField(label=_("Support month"), coerce=int)
    amount = forms.DecimalField(
        label=_("Amount (CAD)"),
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    paid_on = forms.DateField(label=_("Paid on"), widget=NativeDateInput)
    method = forms.ChoiceField(label=_("How"), choices=Disbursement.Method.choices)
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=300)

    def __init__(
        self,
        *args,
        committed_months: int = BASE_SUPPORT_MONTHS,
        current_month: int | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["month_number"].choices = [  # type: ignore[attr-defined]  # a ChoiceField  # type: ignore[attr-defined]  # a ChoiceField
            (n, _("Month %(n)s") % {"n": n}) for n in range(1, committed_months + 1)
        ]
        today = timezone.localdate()
        self.fields["paid_on"].initial = today
        self.fields["paid_on"].widget.attrs["max"] = today.isoformat()
        if current_month:
            self.fields["month_number"].initial = min(current_month, committed_months)


class FamilyIncomeForm(forms.Form):
    """One line of the family's income in a support month; each adult 18+ is a choice of
    their own (employment income is recorded for the person who earned it)."""

    month_number = forms.TypedChoiceField(label=_("Support month"), coerce=int)
    kind = forms.ChoiceField(label=_("What income"), choices=FamilyIncome.Kind.choices)
    member = forms.TypedChoiceField(
        label=_("Who"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Required for employment income; the benefits may be for the family."),
    )
    amount = forms.DecimalField(
        label=_("Net amount in the month (CAD)"),
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )

    def __init__(
        self,
        *args,
        committed_months: int = 12,
        current_month: int | None = None,
        members: Sequence[tuple[int, str]] = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["month_number"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            (n, _("Month %(n)s") % {"n": n}) for n in range(1, committed_months + 1)
        ]
        self.fields["member"].choices = [("", _("The family"))] + list(members)  # type: ignore[attr-defined]  # a ChoiceField
        if current_month:
            self.fields["month_number"].initial = min(current_month, committed_months)


class ReviewInputForm(RequestTokenForm):
    token_required = False
    text = forms.CharField(
        label=_("The group's input for this review"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "How the family is doing with income, housing, language, work, health and "
            "friends; what the group is worried about; what would help."
        ),
    )


class InvitationAcceptForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name (optional)"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common password, not only numbers."),
    )
    password2 = forms.CharField(
        label=_("The same password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("password1") and data.get("password2") != data.get("password1"):
            self.add_error("password2", _("The two passwords don't match."))
        return data
