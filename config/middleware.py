"""Middleware the installed libraries don't cover: response headers, the client's address
behind proxies, the second factor for every staff page, and upload names as sent."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextlib import suppress
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

from config.sites import needs_second_factor
from core.prepared import OneIdQuery
from core.uploads import keep_names_as_sent

# Nothing here needs the camera, microphone, location, payment or USB; saying so stops an
# injected script or a compromised third-party frame from asking for them.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)


class UploadNamesMiddleware:
    """Uploads keep the file name as sent (core/uploads.py), so a name with path parts or
    control characters is refused with a message rather than quietly renamed. Before
    CsrfViewMiddleware, which is the first to read a POST's form."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            keep_names_as_sent(request)
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


def client_address(request: HttpRequest) -> str:
    """The address of the person at the other end, for sign-in lockouts and rate limits.

    Behind `TRUSTED_PROXY_COUNT` proxies, each appends the address it received from to
    X-Forwarded-For, so the client is that many entries from the right; anything further
    left was written by the client and is not trusted. A request that did not come through
    every proxy (too few entries) or an unreadable entry falls back to the socket's address.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


class NoStoreWhenSignedInMiddleware:
    """Pages served to a signed-in person (portal pages with case data, account pages) carry
    `Cache-Control: no-store`, as the admin's do: no shared or browser cache keeps a copy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


# Pages a staff member who typed only their password may still open: the second-factor page
# itself, signing in and out, password reset by e-mail, public pages and health.
PASSWORD_ONLY_STAFF_MAY_OPEN = frozenset(
    {
        "otp-verify",
        "login",
        "logout",
        "admin:login",
        "admin:logout",
        "healthz",
        "set_language",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
    }
)
PUBLIC_NAMESPACES = frozenset({"fundraising"})


class StaffSecondFactorMiddleware:
    """Every page a staff account can reach needs the second factor (docs/security.md):
    until it is given, anything but the pages above answers with a redirect to it, and a
    POST changes nothing. After django_otp's OTPMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not needs_second_factor(request):
            return None
        match = request.resolver_match
        if match is not None and (
            match.view_name in PASSWORD_ONLY_STAFF_MAY_OPEN
            or PUBLIC_NAMESPACES.intersection(match.namespaces)
        ):
            return None
        target = request.get_full_path() if request.method == "GET" else reverse("admin:index")
        return redirect(f"{reverse('otp-verify')}?{urlencode({'next': target})}")


def _device_columns(model: type[Device]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _device_query(model: type[Device]) -> OneIdQuery:
    def build(pk: int) -> QuerySet:
        return model.objects.filter(id=pk).values_list(*_device_columns(model))

    return OneIdQuery(build)


# model label -> its device read by id, compiled once per process (core/prepared.py).
_DEVICE_ROWS: dict[str, OneIdQuery] = {}


class CompiledOTPMiddleware(OTPMiddleware):
    """django_otp's OTPMiddleware, with the device named in the session read by a query
    compiled once per process (docs/performance.md, "Staff dashboard"). The same checks
    follow: the device must be the user's and confirmed (`_finalize_device`)."""

    def _device_from_persistent_id(self, persistent_id: str):
        persistent_id = self._normalize_persistent_id(persistent_id)
        with suppress(ValueError, LookupError):
            model_label, device_id = persistent_id.rsplit("/", 1)
            app_label, model_name = model_label.split(".")
            model = apps.get_model(app_label, model_name)
            if not issubclass(model, Device):
                return None
            query = _DEVICE_ROWS.get(model._meta.label_lower)
            if query is None:
                query = _DEVICE_ROWS[model._meta.label_lower] = _device_query(model)
            rows = query.rows(int(device_id))
            return (
                model.from_db(DEFAULT_DB_ALIAS, _device_columns(model), rows[0]) if rows else None
            )
        return None
