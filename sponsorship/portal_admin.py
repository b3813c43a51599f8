"""Staff invite sponsor group members from the admin: Invitations → Add (e-mail, group, role).

Saving calls `invitation_create`, which stores only a hash of the link's token and e-mails
the single-use link. Invitations are never edited: a new link is a new invitation.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from sponsorship.models import Invitation
from sponsorship.portal_services import invitation_create


class InvitationAddForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["email", "group", "role"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "group", "role", "status", "invited_by", "created_at", "expires_at"]
    list_filter = ["role", "group"]
    search_fields = ["email", "group__name"]
    list_select_related = ["group", "invited_by"]
    readonly_fields = [
        "email",
        "group",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_user",
    ]
    actions = ["send_new_link"]

    @admin.display(description=_("status"))
    def status(self, obj: Invitation) -> str:
        if obj.accepted_at:
            return str(_("accepted"))
        if obj.expires_at <= timezone.now():
            return str(_("expired"))
        return str(_("waiting"))

    def _may_invite(self, request: HttpRequest) -> bool:
        return has_role(request.user, PROGRAM_MANAGER, CASE_WORKER)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._may_invite(request)

    def has_add_permission(self, request) -> bool:
        return self._may_invite(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = InvitationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        return ["email", "group", "role"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        invitation, _token = invitation_create(
            email=form.cleaned_data["email"],
            group=form.cleaned_data["group"],
            role=form.cleaned_data["role"],
            invited_by=request.user,
        )
        form.instance = obj = invitation
        obj.pk = invitation.pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as exc:
            # Refusals the form can't see (already a member, group closed) come from the
            # service: show them and stay on the page.
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            from django.shortcuts import redirect

            return redirect(request.path)

    @admin.action(description=_("Send a new invitation link"))
    def send_new_link(self, request, queryset) -> None:
        sent = 0
        for invitation in queryset.filter(accepted_at__isnull=True).select_related("group"):
            try:
                invitation_create(
                    email=invitation.email,
                    group=invitation.group,
                    role=invitation.role,
                    invited_by=request.user,
                )
                sent += 1
            except ValidationError as exc:
                self.message_user(
                    request, f"{invitation.email}: {' '.join(exc.messages)}", messages.WARNING
                )
        self.message_user(request, _("%(n)d new link(s) sent.") % {"n": sent}, messages.SUCCESS)
