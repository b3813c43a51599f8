"""HanVoice's AdminSite: the staff side of the system (ModelAdmins are in each app's admin.py).

It lives in `config/` so that cross-app views (the dashboard joins case management and
fundraising numbers) don't make the apps know each other. Staff must have verified a
second factor (config/otp.py) when settings.STAFF_REQUIRE_2FA is on.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from config import report_views
from config.dashboard import dashboard_for
from core.auth_forms import AdminEmailAuthenticationForm


def needs_second_factor(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        settings.STAFF_REQUIRE_2FA
        and user.is_authenticated
        and user.is_staff
        # Right after a password sign-in, request.user is not yet wrapped by OTPMiddleware.
        and not getattr(user, "is_verified", lambda: False)()
    )


class HanVoiceAdminSite(admin.AdminSite):
    site_header = _("HanVoice sponsorship")
    site_title = _("HanVoice staff")
    index_title = _("Program dashboard")
    login_form = AdminEmailAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and not needs_second_factor(request))

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # Password accepted but no second factor yet: go and ask for the code.
        if needs_second_factor(request):
            target = request.GET.get("next") or reverse("admin:index")
            return redirect(f"{reverse('otp-verify')}?{urlencode({'next': target})}")
        response = super().login(request, extra_context)
        if request.method == "POST" and needs_second_factor(request):
            target = request.POST.get("next") or reverse("admin:index")
            return redirect(f"{reverse('otp-verify')}?{urlencode({'next': target})}")
        return response

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """The program dashboard (config/dashboard.py), with the usual list of models below."""

        context = {
            **self.each_context(request),
            "title": self.index_title,
            "subtitle": None,
            "app_list": self.get_app_list(request),
            "dashboard": dashboard_for(request.user),
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, self.index_template or "admin/index.html", context)

    def get_urls(self):

        def view(func, **kwargs):
            def wrapped(request: HttpRequest) -> HttpResponse:
                return func(request, site=self, **kwargs)

            return self.admin_view(wrapped)

        reports = [
            path("reports/", view(report_views.reports_index), name="reports"),
            *[
                path(
                    f"reports/{key}/", view(report_views.report_view, key=key), name=f"report-{key}"
                )
                for key in ("program", "groups", "fundraising")
            ],
        ]
        return reports + super().get_urls()
