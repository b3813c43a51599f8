"""Admin for organisation-wide records (the privacy breach register)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from config.models import BreachRecord
from core.roles import PROGRAM_MANAGER, has_role


@admin.register(BreachRecord)
class BreachRecordAdmin(admin.ModelAdmin):
    """Only program managers (and superusers) keep the register; nothing is deleted from it."""

    list_display = (
        "discovered_on",
        "occurred_on",
        "data_affected",
        "risk",
        "people_affected",
        "reported_to_commissioner_on",
        "individuals_notified_on",
    )
    list_filter = ("data_affected", "risk")
    date_hierarchy = "discovered_on"
    readonly_fields = ("recorded_by", "recorded_at")

    def _is_manager(self, request: HttpRequest) -> bool:

        return has_role(request.user, PROGRAM_MANAGER)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_manager(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._is_manager(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._is_manager(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._is_manager(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        # Refuse before looking the record up: a non-manager gets 403 whether or not it exists.
        if not self._is_manager(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
