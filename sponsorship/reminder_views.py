"""The notification-preferences page: a user turns e-mail off (or on) per reminder kind.

Any signed-in user (staff or sponsor group member) manages their own preferences only, so
there is no object to hide from outsiders; anonymous visitors are sent to sign in.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from core.roles import signed_in_user
from sponsorship import reminders
from sponsorship.models import Reminder


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of my e-mails"), choices=settings.LANGUAGES)

    def __init__(self, *args, kinds: dict[str, bool], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Reminder.Kind.choices)
        for kind, enabled in kinds.items():
            self.fields[kind] = forms.BooleanField(
                label=labels[kind], required=False, initial=enabled
            )

    def email_kinds(self) -> list[str]:
        return [kind for kind, on in self.cleaned_data.items() if kind != "language" and on]


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    current = reminders.email_preferences(user)
    form = PreferencesForm(
        request.POST or None,
        kinds=current,
        initial={"language": reminders.email_language(user.pk)},
    )
    if request.method == "POST" and form.is_valid():
        reminders.notification_preferences_set(
            user=signed_in_user(request), email_kinds=form.email_kinds()
        )
        reminders.language_preference_set(
            user=signed_in_user(request), language=form.cleaned_data["language"]
        )
        messages.success(request, _("Your e-mail preferences are saved."))
        return redirect("notification-preferences")
    return render(request, "sponsorship/notification_preferences.html", {"form": form})
