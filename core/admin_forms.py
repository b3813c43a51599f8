"""Admin forms a screen reader can read (docs/accessibility.md).

Inputs in table rows (tabular inlines, editable changelists) have no <label> of their own: the
column heading says what they are. Each input is given that heading as its accessible name
(`aria-labelledby` the heading cell of templates/admin/edit_inline/tabular.html, or
`aria-label` on a changelist) and its help text as its description, so axe finds no unlabelled
field and the Nu checker no `aria-describedby` pointing at nothing.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.forms.formsets import BaseFormSet
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.translation import gettext

from core.dates import shown


class NativeDateInput(forms.DateInput):
    """The browser's date picker with the chosen date written out in words under it:
    "03/04/2026" typed into a text box was read as 4 March when 3 April was meant
    (docs/accessibility.md). The picker shows the date in the browser's own order (mm/dd/yyyy
    in an English Chromium, whatever the page's language), so the hint claims no order: it
    says the date in words ("Wednesday, March 4, 2026"), from the server for a saved value and
    from static/config/date-words.js as soon as a date is picked or typed. The admin uses it
    for every DateField (config/apps.py)."""

    input_type = "date"
    template_name = "core/widgets/date_input.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        if widget_attrs.get("id"):
            hint = f"{widget_attrs['id']}_format"
            described = widget_attrs.get("aria-describedby", "")
            widget_attrs["aria-describedby"] = f"{described} {hint}".strip()
        day = _as_date(value)
        context["widget"]["in_words"] = in_words(day) if day else ""
        return context


def in_words(day: datetime.date) -> str:
    """ "Wednesday, March 4, 2026" in the reader's language, as the browser's
    Intl.DateTimeFormat(lang, {dateStyle: "full"}) says it (date-words.js)."""
    # Translators: a weekday and a date: "Wednesday, March 4, 2026"; order them as your
    # language does ("mercredi 4 mars 2026", "2026년 3월 4일 수요일").
    return gettext("%(weekday)s, %(date)s") % {"weekday": date_format(day, "l"), "date": shown(day)}


def _as_date(value: Any) -> datetime.date | None:
    """The widget's value as a date: a date, or the ISO text of a bound form; None otherwise."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def column_id(prefix: str, name: str) -> str:
    """The id of a tabular inline's heading cell (used by the template override)."""
    return f"{prefix}-{name}-col"


def _label_row(form: forms.BaseForm, prefix: str, *, by_heading: bool) -> None:
    for name, field in form.fields.items():
        widget = field.widget
        if widget.is_hidden:
            continue
        if by_heading:
            widget.attrs["aria-labelledby"] = column_id(prefix, name)
            if field.help_text:
                widget.attrs["aria-describedby"] = f"{column_id(prefix, name)}-help"
        else:
            widget.attrs["aria-label"] = field.label or name
            field.help_text = ""  # a changelist shows no help text to point at


def _labelled_formset(formset_class: type[BaseFormSet], *, by_heading: bool) -> type[BaseFormSet]:
    def add_fields(self: BaseFormSet, form: forms.BaseForm, index: int | None) -> None:
        formset_class.add_fields(self, form, index)
        _label_row(form, self.prefix or "", by_heading=by_heading)

    return type(formset_class.__name__, (formset_class,), {"add_fields": add_fields})


class LabelledTabularInline(admin.TabularInline):
    """A TabularInline whose row inputs are named by their column heading."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return _labelled_formset(super().get_formset(request, obj, **kwargs), by_heading=True)


class LabelledChangelistMixin(admin.ModelAdmin):
    """For a ModelAdmin with list_editable: each row's inputs are named by their column."""

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> Any:
        return _labelled_formset(
            super().get_changelist_formset(request, **kwargs), by_heading=False
        )
