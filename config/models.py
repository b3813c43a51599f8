"""Organisation-wide records that belong to no single app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.encryption import EncryptedTextField


class BreachRecord(models.Model):
    """The privacy breach register (PIPEDA: record every breach of security safeguards).

    Describe what happened with case codes and pledge references, never names.
    """

    class Data(models.TextChoices):
        CASE_FILE = "case_file", _("Case files")
        DONOR = "donor", _("Donor data")
        ACCOUNT = "account", _("User accounts")
        OTHER = "other", _("Other")

    class Risk(models.TextChoices):
        LOW = "low", _("Low")
        REAL_RISK = "real_risk", _("Real risk of significant harm")

    occurred_on = models.DateField(_("occurred on"))
    discovered_on = models.DateField(_("discovered on"), default=timezone.localdate)
    data_affected = models.CharField(_("data affected"), max_length=10, choices=Data.choices)
    what_happened = EncryptedTextField(
        _("what happened"), help_text=_("Use case codes and references, never names.")
    )
    people_affected = models.PositiveIntegerField(_("people affected"), default=0)
    risk = models.CharField(_("risk assessment"), max_length=10, choices=Risk.choices)
    containment = EncryptedTextField(_("what was done to contain it"), blank=True)
    who_was_told = EncryptedTextField(
        _("who was told"),
        blank=True,
        help_text=_("Individuals, the Privacy Commissioner, IRCC, the board; and when."),
    )
    reported_to_commissioner_on = models.DateField(
        _("reported to the Privacy Commissioner on"), null=True, blank=True
    )
    individuals_notified_on = models.DateField(_("individuals notified on"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("privacy breach")
        verbose_name_plural = _("privacy breach register")
        ordering = ["-discovered_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discovered_on__gte=models.F("occurred_on")),
                name="config_breachrecord_discovered_after_occurred",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.discovered_on} · {self.get_data_affected_display()}"
