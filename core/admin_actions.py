"""Admin-action plumbing shared by every app's admin: an intermediate form for the selected
rows, and a form-less service call per row. Refusals (ValidationError) are reported in the
service's own words, never raised."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.roles import signed_in_user


def staff_user(request: HttpRequest) -> User:
    """The signed-in staff member behind an admin request (the admin lets no one else in)."""
    return signed_in_user(request)


# The browser's date input with an ISO value (never "20/10/2026" in French) and the chosen date
# in words under it (core/admin_forms.py).


def not_in_future(day: datetime.date | None) -> None:
    if day is not None and day > timezone.localdate():
        raise ValidationError(_("This date cannot be in the future."))


def action_with_form(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    form_class: type[forms.Form],
    title: str,
    apply: Callable[[Any, dict[str, Any]], object],
    submit_label: str,
    initial: dict[str, Any] | None = None,
    explanation: str = "",
) -> HttpResponse | None:
    """Show `form_class` for the selected rows; on a valid submit call `apply(obj, data)`
    for each, reporting each refusal in the service's own words. With one row selected, a
    refusal is shown next to the field it names and the form stays open (nothing stored)."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid() and len(queryset) == 1:
            try:
                apply(queryset[0], form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                modeladmin.message_user(
                    request,
                    gettext("%(title)s: done for %(n)s.") % {"title": title, "n": 1},
                    messages.SUCCESS,
                )
                return None
        elif form.is_valid():
            done = 0
            for obj in queryset:
                try:
                    apply(obj, form.cleaned_data)
                    done += 1
                except ValidationError as exc:
                    modeladmin.message_user(
                        request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR
                    )
            if done:
                modeladmin.message_user(
                    request,
                    gettext("%(title)s: done for %(n)s.") % {"title": title, "n": done},
                    messages.SUCCESS,
                )
            return None
    else:
        form = form_class(initial=initial)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
        "submit_label": submit_label,
        "explanation": explanation,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/hanvoice/action_form.html", context)


def _form_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's refusal next to the field it names (or at the top of the form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def run_service(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    service: Callable[[Any], object],
    done_message: str,
) -> None:
    """Call a form-less service for each selected row; refusals are reported, not raised."""
    done = 0
    for obj in queryset:
        try:
            service(obj)
            done += 1
        except ValidationError as exc:
            modeladmin.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)
