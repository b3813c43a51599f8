"""HanVoice's AdminSite: the staff side of the system.

It lives in `config/` so that cross-app views (the dashboard joins case management and
fundraising numbers) don't make the apps know each other.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class HanVoiceAdminSite(admin.AdminSite):
    site_header = _("HanVoice sponsorship")
    site_title = _("HanVoice staff")
    index_title = _("Program dashboard")

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)
