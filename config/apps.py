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
        from core.roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="hanvoice-role-permissions")


class HanVoiceAdminConfig(admin_apps.AdminConfig):
    """The admin with HanVoice's own site (dashboard index, second factor for staff)."""

    default = False
    default_site = "config.sites.HanVoiceAdminSite"


class LockoutsConfig(AxesAppConfig):
    """django-axes under a name staff read in their language ("Axes" is the library's)."""

    verbose_name = _("Sign-in lockouts")
