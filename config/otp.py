"""Staff second factor (TOTP, django-otp): enrol an authenticator app, then verify each sign-in.

A staff member signs in with e-mail and password as everyone does; when
settings.STAFF_REQUIRE_2FA is on, every staff page then asks for a code from their
authenticator app (config/middleware.py). The first time, it shows a QR code to enrol one.

- Enrolment is bound to one session: the pending secret lives in that session only, so two
  sessions signed in with the same password never see the same secret, and the device is
  stored once a code from it has been typed.
- Backup codes (django-otp's static device): ten single-use codes, shown once when made,
  accepted instead of the app's code; each use is logged. A staff member who lost their
  phone signs in with one and enrols a new app.
- Throttling: after wrong codes django-otp makes the next attempt wait; the page says how long.
"""

from __future__ import annotations

import base64
import io
import logging
import math

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key
from django_otp.qr import write_qrcode_image

logger = logging.getLogger(__name__)

ENROL_NAME = "authenticator"
BACKUP_NAME = "backup"
BACKUP_CODES = 10
PENDING_KEY = "otp_pending_totp_key"  # the session's own enrolment secret


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("Six-digit code from your authenticator app, or a backup code"),
        regex=r"^\s*(\d{6}|[a-z2-7]{8})\s*$",
        error_messages={
            "invalid": _(
                "Enter the six digits your app shows, or one of your eight-character backup "
                "codes, without spaces."
            )
        },
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )

    def __init__(self, *args, device: TOTPDevice, backup: StaticDevice | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.device = device
        self.backup = backup
        self.used: Device | None = None

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip().lower()
        device = self.device if len(token) == 6 else self.backup
        if device is None:
            raise forms.ValidationError(_("You have no backup codes: use your app's code."))
        allowed, info = device.verify_is_allowed()
        if not allowed:
            wait = (info or {}).get("locked_until")
            seconds = math.ceil((wait - timezone.now()).total_seconds()) if wait else 1
            raise forms.ValidationError(
                _(
                    "Too many wrong codes: wait %(seconds)s seconds, then enter the code your "
                    "app shows at that moment."
                )
                % {"seconds": max(seconds, 1)}
            )
        if not device.verify_token(token):
            raise forms.ValidationError(
                _("That code is not valid (or was already used). Wait for a new code and retry.")
            )
        self.used = device
        return token


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/admin/"
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "/admin/"


def _qr_data_uri(device: TOTPDevice) -> str:
    buffer = io.BytesIO()
    write_qrcode_image(device.config_url, buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _pending_device(request: HttpRequest) -> TOTPDevice:
    """This session's enrolment device: its secret is kept in the session, never shared with
    another session of the same user; stored as unconfirmed only once a code was tried."""
    key = request.session.get(PENDING_KEY)
    if not key:
        key = request.session[PENDING_KEY] = default_key()
    existing = TOTPDevice.objects.filter(user=request.user, key=key, confirmed=False).first()
    return existing or TOTPDevice(user=request.user, name=ENROL_NAME, key=key, confirmed=False)


def _confirm_enrolment(request: HttpRequest, device: TOTPDevice) -> None:
    device.confirmed = True
    device.save()
    TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
    request.session.pop(PENDING_KEY, None)
    logger.info("second factor: authenticator enrolled for user %s", request.user.pk)


@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Ask for a TOTP or backup code (enrolling an authenticator first if there is none)."""
    if not request.user.is_staff:
        return redirect(settings.LOGIN_REDIRECT_URL)
    if request.user.is_verified():  # type: ignore[attr-defined]  # set by django-otp's middleware
        return redirect(_safe_next(request))
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    backup = StaticDevice.objects.filter(user=request.user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = _pending_device(request)
        backup = None  # a backup code only stands in for an authenticator already set up
    form = TokenForm(request.POST or None, device=device, backup=backup)
    if request.method == "POST" and form.is_valid():
        if enrolling:
            _confirm_enrolment(request, device)
        if form.used is backup and backup is not None:
            left = StaticToken.objects.filter(device=backup).count()
            logger.warning(
                "second factor: backup code used by user %s (%s left)", request.user.pk, left
            )
        otp_login(request, form.used)
        if enrolling:
            return redirect("otp-backup-codes")
        return redirect(_safe_next(request))
    context = {
        "form": form,
        "enrolling": enrolling,
        "next": _safe_next(request),
        "qr": _qr_data_uri(device) if enrolling else None,
        "secret": base64.b32encode(device.bin_key).decode() if enrolling else None,
    }
    return render(request, "registration/otp_verify.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    """Make a new set of backup codes (the old set stops working); shown once, never again."""
    if not request.user.is_staff:
        return redirect(settings.LOGIN_REDIRECT_URL)
    codes: list[str] = []
    device = StaticDevice.objects.filter(user=request.user, name=BACKUP_NAME).first()
    if request.method == "POST":
        device = device or StaticDevice.objects.create(user=request.user, name=BACKUP_NAME)
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
        logger.warning("second factor: new backup codes made for user %s", request.user.pk)
    left = device.token_set.count() if device else 0
    devices = [d for d in devices_for_user(request.user) if isinstance(d, TOTPDevice)]
    context = {"codes": codes, "left": left, "has_app": bool(devices)}
    return render(request, "registration/otp_backup_codes.html", context)
