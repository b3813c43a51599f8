"""Admin forms a screen reader can read (docs/accessibility.md).

Inputs in table rows (tabular inlines, editable changelists) have no <label> of their own: the
column heading says what they are. Each input is given that heading as its accessible name
(`aria-labelledby` the heading cell of templates/admin/edit_inline/tabular.html, or
`aria-label` on a changelist) and its help text as its description, so axe finds no unlabelled
field and the Nu checker no `aria-describedby` pointing at nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest


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


def _labelled_formset(formset_class: type, *, by_heading: bool) -> type:
    def add_fields(self, form, index) -> None:
        formset_class.add_fields(self, form, index)
        _label_row(form, self.prefix, by_heading=by_heading)

    return type(formset_class.__name__, (formset_class,), {"add_fields": add_fields})


class LabelledTabularInline(admin.TabularInline):
    """A TabularInline whose row inputs are named by their column heading."""

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        return _labelled_formset(super().get_formset(request, obj, **kwargs), by_heading=True)


class LabelledChangelistMixin:
    """For a ModelAdmin with list_editable: each row's inputs are named by their column."""

    def get_changelist_formset(self, request: HttpRequest, **kwargs):
        return _labelled_formset(
            super().get_changelist_formset(request, **kwargs), by_heading=False
        )
