"""Staff second factor (TOTP, django-otp): enrol an authenticator app, then verify each sign-in.

A staff member signs in with e-mail and password as everyone does; when
settings.STAFF_REQUIRE_2FA is on, the admin then asks for a code from their authenticator
app. The first time, it shows a QR code to enrol one. Unverified sessions can't open the admin.
"""

from __future__ import annotations

import base64
import io

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

ENROL_NAME = "authenticator"


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("Six-digit code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the six digits your app shows, without spaces.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )

    def __init__(self, *args, device: TOTPDevice, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip()
        if not self.device.verify_token(token):
            raise forms.ValidationError(
                _("That code is not valid (or was already used). Wait for a new code and retry.")
            )
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


@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Ask for a TOTP code (enrolling a device first if the user has none)."""
    if not request.user.is_staff:
        return redirect(settings.LOGIN_REDIRECT_URL)
    if request.user.is_verified():  # type: ignore[attr-defined]  # set by django-otp's middleware
        return redirect(_safe_next(request))
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device, _ = TOTPDevice.objects.get_or_create(
            user=request.user, name=ENROL_NAME, confirmed=False
        )
    form = TokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        if enrolling:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        otp_login(request, device)
        return redirect(_safe_next(request))
    context = {
        "form": form,
        "enrolling": enrolling,
        "next": _safe_next(request),
        "qr": _qr_data_uri(device) if enrolling else None,
        "secret": base64.b32encode(device.bin_key).decode() if enrolling else None,
    }
    return render(request, "registration/otp_verify.html", context)
