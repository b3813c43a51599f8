"""HanVoice's AdminSite: the staff side of the system (ModelAdmins are in each app's admin.py).

It lives in `config/` so that cross-app views (the dashboard joins case management and
fundraising numbers) don't make the apps know each other. Staff must have verified a
second factor (config/otp.py) when settings.STAFF_REQUIRE_2FA is on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import get_script_prefix, path, reverse
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import is_ratelimited
from django_ratelimit.exceptions import Ratelimited

from config import report_views
from config.dashboard import dashboard_for
from core.auth_forms import AdminEmailAuthenticationForm
from core.roles import role_names

# (signature...) -> an app list or its rendered HTML. What the admin shows of its models
# depends only on the signature, never on a particular user, so entries never go stale; the
# registry of models is fixed at start-up. Bounded: a few roles, three languages.
_APP_LISTS: dict[tuple, Any] = {}
APP_LISTS_MAX = 256


def _signature(request: HttpRequest, site: admin.AdminSite) -> tuple:
    """Everything the ModelAdmins' permission checks read: the account's flags, its
    permissions (every backend's), its role names (core.roles), the state of the rows a
    ModelAdmin's check reads (its `app_list_state()`, e.g. "a receipt branding exists"), and
    the language and script prefix the names and URLs are rendered in. Once per request."""
    user = request.user
    memo = getattr(request, "_hv_app_signature", None)
    if memo is not None and memo[0] is user:  # not after a sign-out in the same request
        return memo[1]
    states = tuple(
        model_admin.app_list_state()
        for model_admin in site._registry.values()
        if hasattr(model_admin, "app_list_state")
    )
    found = (
        user.is_active,
        user.is_staff,
        user.is_superuser,
        frozenset(user.get_all_permissions()),
        role_names(user) if isinstance(user, User) else frozenset(),
        states,
        get_language(),
        get_script_prefix(),
    )
    request._hv_app_signature = (user, found)  # type: ignore[attr-defined]
    return found


def _remember(key: tuple, value: Any) -> None:
    if len(_APP_LISTS) >= APP_LISTS_MAX:
        _APP_LISTS.clear()
    _APP_LISTS[key] = value


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
        # The same per-address limit as /accounts/login/ (settings.PORTAL_SIGN_IN_RATE).
        if is_ratelimited(
            request,
            group="admin-sign-in",
            key="ip",
            rate=getattr(settings, "PORTAL_SIGN_IN_RATE", "10/m"),
            method="POST",
            increment=True,
        ):
            raise Ratelimited
        # Password accepted but no second factor yet: go and ask for the code.
        if needs_second_factor(request):
            target = request.GET.get("next") or reverse("admin:index")
            return redirect(f"{reverse('otp-verify')}?{urlencode({'next': target})}")
        response = super().login(request, extra_context)
        if request.method == "POST" and needs_second_factor(request):
            target = request.POST.get("next") or reverse("admin:index")
            return redirect(f"{reverse('otp-verify')}?{urlencode({'next': target})}")
        return response

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list:
        """The models the user may reach, as the admin builds them, kept in this process
        per permission signature (see `_signature`): the index and every admin page's
        sidebar ask for it, and building it checks four permissions and reverses several
        URLs for each of some sixty models (docs/performance.md)."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        key = ("list", *_signature(request, self))
        found = _APP_LISTS.get(key)
        if found is None:
            found = super().get_app_list(request)
            _remember(key, found)
        return found

    def app_list_html(self, request: HttpRequest) -> SafeString:
        """The index's list of models, rendered once per permission signature and page."""
        key = ("html", request.path, *_signature(request, self))
        found = _APP_LISTS.get(key)
        if found is None:
            found = render_to_string(
                "admin/app_list.html",
                {"app_list": self.get_app_list(request), "show_changelinks": True},
                request,
            )
            _remember(key, found)
        return found

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """The program dashboard (config/dashboard.py), with the usual list of models below."""

        context = {
            **self.each_context(request),
            "title": self.index_title,
            "subtitle": None,
            "app_list": self.get_app_list(request),
            "app_list_html": self.app_list_html(request),
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
