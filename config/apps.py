from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ConfigConfig(AppConfig):
    """The project itself as an app: cross-app management commands (seed_demo,
    send_reminders, apply_retention) live here, because only config may join the apps."""

    name = "config"
    default = True
    verbose_name = "HanVoice"

    def ready(self) -> None:
        # Imported here: these modules need the app registry, which is ready only now.
        from config import checks  # noqa: F401 - registers the deployment checks
        from config.dashboard import connect_signals
        from core.roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="hanvoice-role-permissions")
        connect_signals()  # the dashboard's summary is dropped when what it counts changes


class HanVoiceAdminConfig(admin_apps.AdminConfig):
    """The admin with HanVoice's own site (dashboard index, second factor for staff)."""

    default = False
    default_site = "config.sites.HanVoiceAdminSite"

    def ready(self) -> None:
        # Every date in the admin is the browser's date input with its format shown, not a
        # free text box (set before the ModelAdmins are made, which copy these defaults).
        # Imported here: the admin's options module needs the app registry, ready only now.
        from django.contrib.admin import options
        from django.db import models

        from core.admin_forms import NativeDateInput

        options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.DateField] = {"widget": NativeDateInput}
        super().ready()


class LockoutsConfig(AxesAppConfig):
    """django-axes under a name staff read in their language ("Axes" is the library's)."""

    verbose_name = _("Sign-in lockouts")
